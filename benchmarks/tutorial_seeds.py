"""The tutorial's config (16 workers, batch 16, 100 iterations) on real Ray, over several seeds.

    .venv/bin/python benchmarks/tutorial_seeds.py [--env CartPole-v0] [--seeds 1 2 3] [--iterations 100]
    .venv/bin/python benchmarks/tutorial_seeds.py --compare-previous   # also the defaults before 2026-11-26

Prints one row per seed: final and best mean episode reward, the first iteration at which the
mean of the last 100 episodes reached the target, env steps, and wall time counted from agent
construction (actor start-up included).
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import ray
from defaults_ablation import PREVIOUS_DEFAULTS  # the defaults before 2026-11-26

from a3c import DEFAULT_CONFIG, A3CAgent


def run(env: str, seed: int, iterations: int, target: float, overrides: dict) -> dict:
    config = DEFAULT_CONFIG.copy()
    config.update({"num_workers": 16, "batch_size": 16, "seed": seed, **overrides})
    start = time.perf_counter()
    agent = A3CAgent(config, env)
    built = time.perf_counter() - start
    best, first = float("-inf"), None
    for i in range(iterations):
        result = agent.train()
        best = max(best, result.episode_reward_mean)
        if first is None and result.episode_reward_mean >= target:
            first = i + 1
    wall = time.perf_counter() - start
    agent.stop()
    timers = result.info["timers"]
    return {
        "seed": seed,
        "final": result.episode_reward_mean,
        "best": best,
        "first_solved_iter": first,
        "steps": result.timesteps_total,
        "build_s": built,
        "wall_s": wall,
        "steps_per_s": result.timesteps_total / result.time_total_s,
        "wait_apply_dispatch_s_last_iter": (timers["wait_time_s"], timers["apply_time_s"], timers["dispatch_time_s"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v0")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--target", type=float, default=None, help="default: 195 on CartPole, -110 on MountainCar")
    parser.add_argument(
        "--compare-previous", action="store_true", help="also run the defaults before 2026-11-26, interleaved"
    )
    parser.add_argument("--override", type=json.loads, default={}, help="config keys as JSON, over the tutorial's")
    args = parser.parse_args()
    target = args.target if args.target is not None else (195.0 if "CartPole" in args.env else -110.0)
    logging.getLogger("a3c").setLevel(logging.WARNING)
    ray.init()
    variants = {"defaults": args.override} | ({"previous defaults": PREVIOUS_DEFAULTS} if args.compare_previous else {})
    rows = [
        {"defaults": name, **run(args.env, seed, args.iterations, target, overrides)}
        for seed in args.seeds
        for name, overrides in variants.items()
    ]
    print(f"\n{args.env}, tutorial config, {args.iterations} iterations, target {target}")
    print(
        "| defaults | seed | final reward | best | first iteration >= target | env steps | build s | wall s | steps/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['defaults']} | {r['seed']} | {r['final']:.1f} | {r['best']:.1f} | {r['first_solved_iter']} "
            f"| {r['steps']} | {r['build_s']:.1f} | {r['wall_s']:.1f} | {r['steps_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
