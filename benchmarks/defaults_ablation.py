"""What each default buys (issue 13): A3C with the defaults, and with one choice changed, on one row
of the suite, through the suite's own runner (same stop rule, same measures, real Ray).

    .venv/bin/python benchmarks/defaults_ablation.py --env CartPole-v1 --seeds 2
    .venv/bin/python benchmarks/defaults_ablation.py --env Pendulum-v1 --variants defaults "entropy 0.01"
    .venv/bin/python benchmarks/defaults_ablation.py --algo a2c --variants defaults "4 workers x 1 env"
    .venv/bin/python benchmarks/defaults_ablation.py --env LunarLander-v3 --seed-list 2,0 --variants "gamma 0.995"

A variant is the defaults plus the keys in VARIANTS. "previous defaults" are the ones before
2026-11-26 (CartPole-v0-tuned: gamma 0.98, lr annealed to 5e-5 over 100k env steps, one shared
256-256 trunk, no normalization, entropy 0.01, 4 workers of one environment each). The entropy
variants were measured with 4 workers of one environment, the defaults until the evening of
2026-11-26 (now 2 workers of 8); the LunarLander-v3 rows of BENCHMARKS.md ("time, not
steadiness") with 2 workers of 8. Prints one line per run, seed-major so drift of the
machine's speed hits every variant alike.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite  # noqa: E402
from run import fmt, start_ray  # noqa: E402

PREVIOUS_DEFAULTS: dict[str, Any] = {
    "gamma": 0.98,
    "lr_decay_steps": 100_000,
    "entropy_coeff": 0.01,
    "normalize_rewards": False,
    "observation_filter": "NoFilter",
    "model": {"fcnet_hiddens": [256, 256], "vf_share_layers": True},
    "num_envs_per_worker": 1,  # num_workers was 4: not here, where the tutorial's 16 must win
}
ENTROPY_BEFORE = {"entropy_coeff": 0.01}
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "previous defaults": {**PREVIOUS_DEFAULTS, "num_workers": 4},
    "4 workers x 1 env": {"num_workers": 4, "num_envs_per_worker": 1},
    "4 workers x 4 envs": {"num_workers": 4},
    # The same as "defaults" since cfcd8a8 made 1.4e-3 A3C's MLP rate; kept so BENCHMARKS.md's commands still run.
    "2 workers x 8 envs, lr 1.4e-3": {"lr": 1.4e-3},
    "entropy 0.01": ENTROPY_BEFORE,
    "entropy 0": {"entropy_coeff": 0.0},
    "entropy 1e-4": {"entropy_coeff": 1e-4},  # the A3C paper's for continuous control
    "entropy 0.01, normalize_advantages": {**ENTROPY_BEFORE, "normalize_advantages": True},
    "entropy 0.01, grad_clip 0.5": {**ENTROPY_BEFORE, "grad_clip": 0.5},
    "entropy 0.01, lr to 7e-5 over 1M steps": {**ENTROPY_BEFORE, "lr_decay_steps": 1_000_000, "lr_final": 7e-5},
    "no reward normalization": {"normalize_rewards": False},
    "no observation filter": {"observation_filter": "NoFilter"},
    "shared trunk": {"model": {"vf_share_layers": True}},
    "lr 3e-4": {"lr": 3e-4},
    "lr 7e-4": {"lr": 7e-4},
    "lr 1e-3": {"lr": 1e-3},
    "batch 16": {"batch_size": 16},
    "batch 16, lr 7e-4": {"batch_size": 16, "lr": 7e-4},  # A3C's for A2C
    "batch 8, lr 1e-3": {"batch_size": 8, "lr": 1e-3},  # A2C's for A3C
    "batch 32": {"batch_size": 32},
    "batch 32, lr 3e-4": {"batch_size": 32, "lr": 3e-4},
    "grad_clip 0.5": {"grad_clip": 0.5},
    "gamma 0.995": {"gamma": 0.995},
    "entropy 0.01, gamma 0.995": {**ENTROPY_BEFORE, "gamma": 0.995},
    "lstm": {"model": {"use_lstm": True}},  # an LSTM on the MLP encoder takes the MLP's lr
    "lstm, lr 7e-4": {"model": {"use_lstm": True}, "lr": 7e-4},
    "log_std 0 (before 2026-11-27)": {"model": {"log_std_init": 0.0}},
    "log_std -0.5": {"model": {"log_std_init": -0.5}},
    "log_std -1": {"model": {"log_std_init": -1.0}},
}


def seed_list(text: str) -> list[int]:
    """'2,0' -> [2, 0] (argparse names this function in its error for anything else)."""
    return [int(seed) for seed in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPole-v1", choices=[r.env_id for r in suite.ROWS])
    parser.add_argument("--algo", default="a3c", choices=("a3c", "a2c"), help="A3C or A2C (PPO has its own defaults)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0 .. SEEDS-1")
    parser.add_argument("--seed-list", type=seed_list, help="these seeds instead, in this order, e.g. 2,0")
    parser.add_argument(
        "--override",
        type=json.loads,
        default={},
        help='JSON keys under every variant, e.g. \'{"num_workers": 4, "num_envs_per_worker": 1}\' for the '
        "defaults of the first suite run (commit 2bccecd)",
    )
    parser.add_argument("--cap", type=float, default=None, help="seconds per run (default: the suite row's cap)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME")
    args = parser.parse_args()
    row = next(r for r in suite.ROWS if r.env_id == args.env)
    rule = suite.StopRule(args.cap or row.cap_s, row.max_env_steps, 1.0)
    start_ray()
    print(f"| variant | seed | threshold {row.threshold} at | env steps to it | final | best | drop | env steps |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in args.seed_list or range(args.seeds):
        for name in args.variants:
            entrant = suite.Entrant(name, args.algo, {**args.override, **VARIANTS[name]})
            trained = suite.ours_train(entrant, row, seed, rule)
            out = suite.outcome(trained["rows"], row, trained["env_steps"], trained["wall_s"])
            drop = out["collapse_drop"]
            print(
                f"| {name} | {seed} | {fmt(out['solved_s'], 1, ' s')} | {fmt(out['solved_steps'], 0)} "
                f"| {fmt(out['final_reward'])} | {fmt(out['best_reward'])} "
                f"| {'-' if drop is None or math.isnan(drop) else f'{drop:.1f}'} | {out['env_steps']:,} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
