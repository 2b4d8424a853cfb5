"""SharedModel: a fully connected trunk shared by a policy head and a value head.

The driver holds this torch model and its optimizer. Weights travel to workers as one flat float32
vector; workers compute with `a3c.core.numpy_model.NumpyActorCritic`, the same network in numpy,
so worker processes never import torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from a3c.core.numpy_model import network_options

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class SharedModel(nn.Module):
    """Shared trunk, policy logits head, scalar value head; orthogonal init as in CleanRL.

    With `share_layers=False` the value head gets a trunk of its own (RLlib's vf_share_layers=False,
    SB3's default): the value loss then cannot pull the policy's features around, which matters
    when value targets are large or shift fast (MountainCar-v0).
    """

    def __init__(
        self, obs_size: int, num_actions: int, hiddens: list[int], activation: str = "tanh", share_layers: bool = True
    ):
        super().__init__()
        self.obs_size = obs_size
        self.num_actions = num_actions
        self.hiddens = list(hiddens)
        self.activation = activation
        self.share_layers = share_layers
        self.trunk = _mlp(obs_size, hiddens, activation)
        self.value_trunk = None if share_layers else _mlp(obs_size, hiddens, activation)
        width = hiddens[-1]
        self.policy_head = _init(nn.Linear(width, num_actions), 0.01)
        self.value_head = _init(nn.Linear(width, 1), 1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(obs)
        value_features = features if self.value_trunk is None else self.value_trunk(obs)
        return self.policy_head(features), self.value_head(value_features).squeeze(-1)

    def describe(self) -> str:
        separate = "" if self.share_layers else ", separate value network"
        return f"Constructing fcnet {self.hiddens} {self.activation}{separate}"

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def get_flat_weights(self) -> np.ndarray:
        return nn.utils.parameters_to_vector(self.parameters()).detach().numpy().astype(np.float32, copy=True)

    def set_flat_weights(self, flat: np.ndarray) -> None:
        with torch.no_grad():
            nn.utils.vector_to_parameters(torch.as_tensor(np.asarray(flat, dtype=np.float32)), self.parameters())

    def get_flat_grad(self) -> np.ndarray:
        grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in self.parameters()]
        return torch.cat(grads).numpy().astype(np.float32, copy=False)


def _mlp(obs_size: int, hiddens: list[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = obs_size
    for hidden in hiddens:
        layers += [_init(nn.Linear(width, hidden), np.sqrt(2)), ACTIVATIONS[activation]()]
        width = hidden
    return nn.Sequential(*layers)


def _init(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def build_model(obs_size: int, num_actions: int, model_config: dict) -> SharedModel:
    return SharedModel(obs_size, num_actions, **network_options(model_config))
