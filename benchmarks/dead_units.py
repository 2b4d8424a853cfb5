"""How much of a policy network is alive: per ReLU layer, the share of units that output zero for
every observation of a batch, and how far the policy's logits move across that batch.

A unit that is zero for every observation passes no gradient on them; a network
whose logits are the same for every observation acts the same everywhere. This is how issue 13
found that Adam at the MLP rates killed the conv net on ALE/Pong-v5 (BENCHMARKS.md, Pong).

    .venv/bin/python benchmarks/dead_units.py RUN_DIR/checkpoints/checkpoint_000100.safetensors ... --init

The observations come from the checkpoint's own environment (its config's env_config and Atari
preprocessing) under random actions: `--steps` steps, every 10th kept, through the run's saved
observation filter if it had one. A conv layer's cell also gives the share of whole filters that are
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from a3c.checkpoint import read_checkpoint  # noqa: E402
from a3c.config import resolve_model, upgrade_saved_config  # noqa: E402
from a3c.envs import check_spaces, make_env  # noqa: E402
from a3c.filters import MeanStdFilter, RunningStat  # noqa: E402
from a3c.models import ActorCritic  # noqa: E402

# What decides the observations a run's policy saw, besides its env id.
OBS_KEYS = ("env_config", "atari_preprocessing", "scale_observations")


def observation_batch(env_id: str, config: dict, steps: int, seed: int) -> tuple[np.ndarray, object]:
    """Every 10th encoded observation of `steps` random-action steps, and the env's checked spaces."""
    env = make_env(env_id, config.get("env_config", {}), config.get("atari_preprocessing", True))
    try:
        spaces = check_spaces(env, config.get("scale_observations", True))
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
    return np.stack(kept), spaces


def filtered(obs: np.ndarray, tensors: dict, extra: dict) -> np.ndarray:
    """`obs` as the run's policy saw them: through its saved MeanStdFilter, if it had one."""
    if "filter.mean" not in tensors:
        return obs
    stats = {"count": extra["filter_count"], "mean": tensors["filter.mean"], "m2": tensors["filter.m2"]}
    obs_filter = MeanStdFilter(obs.shape[1:])
    obs_filter.stat = RunningStat.from_state(stats)
    return obs_filter(obs, update=False)


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
        checkpoint = read_checkpoint(path)
        state = checkpoint.state
        config = upgrade_saved_config(state["config"])
        model_config = resolve_model(config["model"])
        if state.get("env") is None or model_config["use_lstm"]:
            print(f"{path}: only checkpoints of a registered env id without an LSTM can be read here", file=sys.stderr)
            return 2
        key = json.dumps([state["env"], *(config.get(k) for k in OBS_KEYS)], sort_keys=True, default=str)
        if key not in batches:
            batches[key] = observation_batch(state["env"], config, args.steps, args.seed)
        raw, spaces = batches[key]
        shape, action, is_image = spaces.encoder.shape, spaces.action, spaces.encoder.is_image
        obs = torch.from_numpy(filtered(raw, checkpoint.tensors, state.get("extra", {})))
        if args.init and not rows:
            torch.manual_seed(0)
            fresh = ActorCritic(shape, action, model_config, is_image)
            rows.append((f"(initial weights, seed 0, as {path.name})", 0, alive_stats(fresh, obs)))
        model = ActorCritic(shape, action, model_config, is_image)
        model.set_flat_weights(checkpoint.tensors["weights"])
        rows.append((str(path), int(state["counters"]["timesteps_total"]), alive_stats(model, obs)))
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
