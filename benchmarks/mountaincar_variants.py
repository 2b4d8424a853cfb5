"""Which parts of examples/tuned/mountaincar.yaml matter: variants of it, time to solve MountainCar-v0.

    .venv/bin/python benchmarks/mountaincar_variants.py [--variants shipped shared-trunk ...]
        [--seeds 0 1 2] [--cap-s 150]

Each run trains A3C on MountainCar-v0 from agent construction until the mean of the last 100
episodes reaches -110 or the cap; one row per variant: seeds solved, seconds to solve per seed, the
last 100-episode mean of the runs that did not. Takes up to variants x seeds x cap seconds (all
five with 3 seeds at 150 s: under 40 minutes). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import copy
import logging
from typing import Any

from run import tuned_config  # this folder is on sys.path when the script runs

SHIPPED = tuned_config("mountaincar")

# The config this file replaced (a shared 256-256 trunk, standardized advantages): 1/3 in 300 s.
PREVIOUS = {
    "num_workers": 2,
    "num_envs_per_worker": 32,
    "batch_size": 8,
    "gamma": 0.99,
    "lambda": 0.98,
    "entropy_coeff": 0.0,
    "normalize_advantages": True,
    "observation_filter": "MeanStdFilter",
    "reward_scale": 0.01,
    "lr": 0.001,
    "lr_final": 0.0001,
    "lr_decay_steps": 1_500_000,
    "grads_per_step": 10,
}


def variant(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(base)
    for key, value in changes.items():
        if key.startswith("model_"):
            config.setdefault("model", {})[key.removeprefix("model_")] = value
        else:
            config[key] = value
    return config


VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": SHIPPED,
    "shared-trunk": variant(SHIPPED, model_vf_share_layers=True),
    "constant-lr-7e-4": variant(SHIPPED, lr=7e-4, lr_decay_steps=0),
    "previous": PREVIOUS,
    "previous+separate-trunk": variant(PREVIOUS, model_vf_share_layers=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cap-s", type=float, default=150.0)
    args = parser.parse_args()
    logging.getLogger("a3c").setLevel(logging.WARNING)

    from a3c.comparison import run_one

    rows = []
    for name in args.variants:
        solved, unsolved = [], []
        for seed in args.seeds:
            stop = {"episode_reward_mean": -110.0, "time_total_s": args.cap_s}
            record = run_one("a3c", "MountainCar-v0", seed, stop, VARIANTS[name])
            if record.solved_wall_s is not None:
                solved.append(f"{record.solved_wall_s:.1f}")
            else:
                unsolved.append(f"{record.rows[-1]['episode_reward_mean']:.1f}")
            print(f"  {name} seed {seed}: {solved[-1] + ' s' if record.solved_wall_s else 'not solved'}", flush=True)
        times, means = ", ".join(solved) or "-", ", ".join(unsolved) or "-"
        rows.append(f"| {name} | {len(solved)}/{len(args.seeds)} | {times} | {means} |")
    print(f"\nMountainCar-v0, A3C, seeds {args.seeds}, cap {args.cap_s:.0f} s per run")
    print("| variant | solved | seconds to solve | last 100-episode mean of the unsolved |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
