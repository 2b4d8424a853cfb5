"""A network of your own, trained from the command line and from Python (docs/guides/custom-model.md).

    PYTHONPATH=examples a3c train CartPole-v1 --set model.custom_model=custom_model:ResidualMLP \\
        --set model.custom_model_config='{"width": 64}' --iterations 30
    python examples/custom_model.py

"module:Class" is imported in the driver and in every Ray worker (the module must be importable
there: PYTHONPATH, or an installed package); `a3c.register_model("name", cls)` names a class in
Python instead, and the agent sends it to its workers.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualMLP(nn.Module):
    """A residual MLP trunk shared by a policy head and a value head."""

    def __init__(self, obs_shape: tuple[int, ...], num_outputs: int, model_config: dict):
        super().__init__()
        width = model_config["custom_model_config"].get("width", 64)
        self.inp = nn.Linear(obs_shape[0], width)
        self.block = nn.Sequential(nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, width))
        self.policy = nn.Linear(width, num_outputs)
        self.value = nn.Linear(width, 1)
        nn.init.normal_(self.policy.weight, std=0.01)  # a near-uniform policy to start from
        nn.init.zeros_(self.policy.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.inp(obs)
        x = torch.tanh(x + self.block(x))
        return self.policy(x), self.value(x).squeeze(-1)


if __name__ == "__main__":
    from a3c import A3CAgent, register_model

    register_model("residual_mlp", ResidualMLP)
    config = {"num_workers": 2, "seed": 0, "model": {"custom_model": "residual_mlp", "custom_model_config": {}}}
    with A3CAgent(config, "CartPole-v1") as agent:
        for _ in range(30):
            result = agent.train()
        print(f"iteration {result.training_iteration}: episode_reward_mean {result.episode_reward_mean:.1f}")
