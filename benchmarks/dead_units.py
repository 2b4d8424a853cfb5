"""How much of a policy network is alive: per ReLU layer, the share of units that output zero for
every observation of a batch, and how far the policy's logits move across that batch.

A unit that is zero for every observation passes no gradient, so it never comes back; a network
whose logits are the same for every observation acts the same everywhere. This is how issue 13
found that Adam at the MLP rates killed the conv net on ALE/Pong-v5 (BENCHMARKS.md, Pong).

    .venv/bin/python benchmarks/dead_units.py RUN_DIR/checkpoints/checkpoint_000100.safetensors ... --init

The observations come from the checkpoint's own environment (its config's env_config and Atari
preprocessing) under random actions: `--steps` steps, every 10th kept. For flat observations under
the MeanStdFilter they are fed raw, so read those rows as rough. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from a3c.checkpoint import read_checkpoint  # noqa: E402
from a3c.config import resolve_model, upgrade_saved_config  # noqa: E402
from a3c.envs import check_spaces, make_env  # noqa: E402
from a3c.models import ActorCritic  # noqa: E402


def random_observations(env_id: str, config: dict, steps: int, seed: int) -> tuple[torch.Tensor, object]:
    """Every 10th encoded observation of `steps` random-action steps, and the env's checked spaces."""
    env = make_env(env_id, config["env_config"], config["atari_preprocessing"])
    try:
        spaces = check_spaces(env, config["scale_observations"])
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        kept = []
        for t in range(steps):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if t % 10 == 0:
                kept.append(spaces.encoder(obs))
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()
    return torch.from_numpy(np.stack(kept)), spaces


def alive_stats(model: ActorCritic, obs: torch.Tensor) -> dict[str, object]:
    """Dead share per ReLU of the policy's trunk, the logits' std across `obs`, the mean entropy."""
    outputs: list[torch.Tensor] = []
    hooks = [
        layer.register_forward_hook(lambda _m, _i, out: outputs.append(out.flatten(1)))
        for layer in model.trunk
        if isinstance(layer, torch.nn.ReLU)
    ]
    try:
        with torch.no_grad():
            logits, _ = model(obs)
    finally:
        for hook in hooks:
            hook.remove()
    row: dict[str, object] = {"dead": [float((out.max(0).values <= 0).float().mean()) for out in outputs]}
    row["logit_std"] = float(logits.std(0).mean())
    if model.action.kind == "categorical":
        logp = torch.log_softmax(logits, -1)
        row["entropy"] = float(-(logp.exp() * logp).sum(-1).mean())
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint files or run directories")
    parser.add_argument("--init", action="store_true", help="also a row for a freshly initialized network")
    parser.add_argument("--steps", type=int, default=2400, help="random-action steps to draw observations from")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, observations = [], {}
    for path in args.checkpoints:
        checkpoint = read_checkpoint(path)
        state = checkpoint.state
        config = upgrade_saved_config(state["config"])
        if state["env"] not in observations:
            observations[state["env"]] = random_observations(state["env"], config, args.steps, args.seed)
        obs, spaces = observations[state["env"]]
        model_config = resolve_model(config["model"])
        shape, action, is_image = spaces.encoder.shape, spaces.action, spaces.encoder.is_image
        if args.init and not rows:
            torch.manual_seed(0)
            rows.append(("(initial weights)", 0, alive_stats(ActorCritic(shape, action, model_config, is_image), obs)))
        model = ActorCritic(shape, action, model_config, is_image)
        model.set_flat_weights(checkpoint.tensors["weights"])
        steps = int(state["counters"]["timesteps_total"])
        rows.append((str(path), steps, alive_stats(model, obs)))
    layers = max(len(r[2]["dead"]) for r in rows)
    if layers == 0:
        print("no ReLU layers in the policy's trunk (tanh MLPs have no dead units)")
    print(f"observations: every 10th of {args.steps} random-action steps of {', '.join(map(str, observations))}\n")
    head = "| checkpoint | env steps | " + " | ".join(f"dead, ReLU {i + 1}" for i in range(layers))
    print(head + " | logits' std across observations | mean entropy |")
    print("|---|---|" + "---|" * layers + "---|---|")
    for name, steps, row in rows:
        dead = " | ".join(f"{d:.0%}" for d in row["dead"])
        entropy = f"{row['entropy']:.3f}" if "entropy" in row else "-"
        print(f"| {name} | {steps:,} | {dead} | {row['logit_std']:.4f} | {entropy} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
