"""What a HalfCheetah-v5 policy does: one greedy episode's return, how much of it the cheetah spends
on its back, and how often the Gaussian's mean lies past the action bounds.

Issue 13's HalfCheetah-v5 row misses 1,500 in about a third of A3C's runs, every miss a plateau near
1,100. This tells a run that runs upright from one that flipped over and pushes itself along on its
back (the torso's pitch, observation 1, more than pi/2 from level), and shows whether the policy's
means have gone past the Box's bounds, where every sample is clipped to the same action and the
policy gradient of that dimension is noise (BENCHMARKS.md, "HalfCheetah-v5's plateau: on its back").

    python -m benchmarks.tools.halfcheetah_probe --seeds 3   # A3C's defaults, probed at 300k, 600k, 1M
    python -m benchmarks.tools.halfcheetah_probe --seeds 3 --override '{"entropy_coeff": 0.0}'
    python -m benchmarks.tools.halfcheetah_probe RUN_DIR/checkpoints/checkpoint_000050.safetensors

Training runs through real Ray with the library's defaults (plus --override), saves a checkpoint at
each mark in a temporary directory and probes it as `a3c evaluate` loads it (`SavedPolicy`: the
saved observation filter). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ENV_ID = "HalfCheetah-v5"
PITCH = 1  # HalfCheetah's observation: qpos[1:] first, so index 1 is the torso's angle about the y axis


def probe(saved: Any, seed: int = 0) -> dict[str, Any]:
    """One episode with the Gaussian's mean (clipped to the Box, as the env sees it): its return, the
    share of steps on its back, and per action dimension the share of steps whose mean is past a bound."""
    env = saved.make_env()
    low, high = env.action_space.low, env.action_space.high
    pitches: list[float] = []
    past: list[np.ndarray] = []

    def record(obs: np.ndarray, mean: np.ndarray) -> None:
        pitches.append(float(obs[PITCH]))
        past.append((mean < low) | (mean > high))

    total, _ = saved.play(env, deterministic=True, rng=np.random.default_rng(seed), seed=seed, on_step=record)
    env.close()
    on_back = np.abs(np.asarray(pitches)) > np.pi / 2
    return {"greedy_return": total, "on_back": float(on_back.mean()), "past_bounds": np.mean(past, axis=0).tolist()}


def row(label: str, steps: int, mean_100: float | None, found: dict[str, Any]) -> str:
    past = " ".join(f"{share:.2f}" for share in found["past_bounds"])
    mean = "-" if mean_100 is None else f"{mean_100:,.1f}"
    return f"| {label} | {steps:,} | {mean} | {found['greedy_return']:,.1f} | {found['on_back']:.2f} | {past} |"


def train_and_probe(seed: int, override: dict[str, Any], marks: list[int], scratch: Path) -> list[str]:
    from a3c import A3CAgent
    from a3c.evaluation import SavedPolicy

    config = {**override, "seed": seed}
    lines = []
    with A3CAgent(config, ENV_ID) as agent:
        for mark in marks:
            mean_100 = None
            while agent.timesteps_total < mark:
                mean_100 = agent.train().episode_reward_mean
            path = agent.save(scratch / f"seed{seed}_{mark}")
            found = probe(SavedPolicy(path))
            lines.append(row(f"seed {seed}", agent.timesteps_total, mean_100, found))
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", help="checkpoints to probe (a3c train's .safetensors files)")
    parser.add_argument("--seeds", type=int, default=0, help="train A3C with seeds 0 .. SEEDS-1 and probe each")
    parser.add_argument("--override", type=json.loads, default={}, help="JSON config keys over the defaults")
    parser.add_argument(
        "--marks",
        type=lambda text: sorted({int(x) for x in text.split(",")}),
        default=[300_000, 600_000, 1_000_000],
        help="env steps at which to probe, comma-separated (default 300000,600000,1000000)",
    )
    args = parser.parse_args()
    if not args.checkpoints and not args.seeds:
        parser.error("give checkpoints to probe, or --seeds N to train and probe")
    header = [
        "| run | env steps | 100-episode mean | greedy return | share on its back "
        "| share of the mean past a bound, per dim |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(header), flush=True)
    lines = []
    if args.checkpoints:
        from a3c.evaluation import SavedPolicy

        for path in args.checkpoints:
            saved = SavedPolicy(path)
            lines.append(row(path, saved.timesteps_total, None, probe(saved)))
            print(lines[-1], flush=True)
    if args.seeds:
        from benchmarks.entrants import start_ray

        start_ray()
        with tempfile.TemporaryDirectory() as scratch:
            for seed in range(args.seeds):
                lines += train_and_probe(seed, args.override, args.marks, Path(scratch))
    print("\n" + "\n".join(header + lines))


if __name__ == "__main__":
    main()
