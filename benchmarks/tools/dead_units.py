"""How much of a policy network is alive: per ReLU layer, the share of units that output zero for
every observation of a batch, and how far the policy's logits move across that batch.

A unit that is zero for every observation passes no gradient on them; a network
whose logits are the same for every observation acts the same everywhere. This is how issue 13
found that Adam at the MLP rates killed the conv net on ALE/Pong-v5 (BENCHMARKS.md, Pong).

    python -m benchmarks.tools.dead_units RUN_DIR/checkpoints/checkpoint_000100.safetensors ... --init

The observations come from the checkpoint's own environment, as `a3c evaluate` builds it
(`SavedPolicy`: its env_config, Atari preprocessing and saved observation filter), under random
actions: `--steps` steps, every 10th kept. A conv layer's cell also gives the share of whole filters that are
zero at every position (units of a live filter can be off just where the frame is blank
background). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from a3c.checkpoint import CheckpointError
from a3c.evaluation import SavedPolicy
from a3c.models import ActorCritic


def observation_batch(saved: SavedPolicy, steps: int, seed: int) -> np.ndarray:
    """Every 10th encoded observation of `steps` random-action steps in the checkpoint's environment."""
    env = saved.make_env()
    try:
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        kept = []
        for t in range(steps):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if t % 10 == 0:
                kept.append(saved.spaces.encoder(obs))
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()
    return np.stack(kept)


def alive_stats(model: ActorCritic, obs: torch.Tensor) -> dict[str, object]:
    """Per ReLU of the policy's trunk: the share of units zero for every observation (and for a conv
    layer, of whole filters zero everywhere for every observation); the logits' std; the entropy."""
    outputs: list[torch.Tensor] = []
    hooks = [
        layer.register_forward_hook(lambda _m, _i, out: outputs.append(out))
        for layer in model.trunk
        if isinstance(layer, torch.nn.ReLU)
    ]
    try:
        with torch.no_grad():
            logits, _ = model(obs)
    finally:
        for hook in hooks:
            hook.remove()
    cells = []
    for out in outputs:
        units = float((out.flatten(1).amax(0) <= 0).float().mean())
        if out.dim() == 4:  # [batch, filters, height, width]
            filters = float((out.amax(dim=(0, 2, 3)) <= 0).float().mean())
            cells.append(f"{units:.0%} (filters {filters:.0%})")
        else:
            cells.append(f"{units:.0%}")
    row: dict[str, object] = {"dead": cells, "logit_std": float(logits.std(0).mean())}
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
    rows, batches = [], {}
    for path in args.checkpoints:
        try:
            saved = SavedPolicy(path)
        except CheckpointError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        if saved.model_config["use_lstm"]:
            print(f"{path}: an LSTM policy; only feed-forward ones can be read here", file=sys.stderr)
            return 2
        # what decides the observations a run's policy saw
        key = json.dumps([saved.env_id, saved.env_config, repr(saved.atari), saved.scale_observations])
        if key not in batches:
            batches[key] = observation_batch(saved, args.steps, args.seed)
        obs = torch.from_numpy(saved.obs_filter(batches[key], update=False))
        shape, action, is_image = saved.spaces.encoder.shape, saved.spaces.action, saved.spaces.encoder.is_image
        if args.init and not rows:
            torch.manual_seed(0)
            fresh = ActorCritic(shape, action, saved.model_config, is_image)
            rows.append((f"(initial weights, seed 0, as {path.name})", 0, alive_stats(fresh, obs)))
        model = ActorCritic(shape, action, saved.model_config, is_image)
        model.set_flat_weights(saved.weights)
        rows.append((str(path), saved.timesteps_total, alive_stats(model, obs)))
    layers = max(len(row["dead"]) for _, _, row in rows)
    envs = sorted({json.loads(key)[0] for key in batches})
    print(f"observations: every 10th of {args.steps} random-action steps of {', '.join(envs)}\n")
    columns = [f"dead, ReLU {i + 1}" for i in range(layers)] + ["logits' std across observations", "mean entropy"]
    print("| checkpoint | env steps | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for name, steps, row in rows:
        dead = row["dead"] + ["-"] * (layers - len(row["dead"]))
        entropy = f"{row['entropy']:.3f}" if "entropy" in row else "-"
        print(f"| {name} | {steps:,} | " + " | ".join([*dead, f"{row['logit_std']:.4f}", entropy]) + " |")
    if layers == 0:
        print("\nno ReLU layers in these policies' trunks (tanh MLPs have no dead units)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
