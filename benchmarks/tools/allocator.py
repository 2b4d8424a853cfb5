"""One worker's gradients per second in process, with and without a3c.execution.allocator.

    python -m benchmarks.tools.allocator [--seconds 1.5] [--rounds 2]

Each cell runs in a fresh process (malloc settings are per process and cannot be undone): a
RolloutWorker builds each named config's env and network, warms up, and computes gradients for
`--seconds` (best of 3). Ray is not involved: this isolates the worker's own CPU cost.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFIGS = {
    "defaults (1 env, batch 16)": ("CartPole-v0", None),
    "cartpole.yaml": ("CartPole-v0", "cartpole"),
    "cartpole_throughput.yaml": ("CartPole-v0", "cartpole_throughput"),
    "mountaincar.yaml": ("MountainCar-v0", "mountaincar"),
}


def measure(env_id: str, named: str | None, keep_memory: bool, seconds: float) -> float:
    """In this process: the best of 3 gradient rates of one worker."""
    from a3c.config import A3C_SCHEMA, resolve_config
    from a3c.execution.allocator import keep_freed_memory
    from a3c.worker import RolloutWorker
    from benchmarks.entrants import tuned_config

    if keep_memory and not keep_freed_memory():
        sys.exit("no glibc malloc here: nothing to compare")
    overrides = {"num_envs_per_worker": 1} if named is None else tuned_config(named)
    worker = RolloutWorker(env_id, resolve_config(overrides, A3C_SCHEMA), 1)
    weights = worker.get_weights()
    for _ in range(20):
        worker.compute_gradients(weights)
    best = 0.0
    for _ in range(3):
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            worker.compute_gradients(weights)
            count += 1
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs per config, interleaved")
    parser.add_argument("--cell", nargs=3, help=argparse.SUPPRESS)  # internal: env named on|off
    args = parser.parse_args()
    if args.cell:
        env_id, named, switch = args.cell
        print(measure(env_id, None if named == "-" else named, switch == "on", args.seconds))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print("| config | gradients/s, default malloc | with keep_freed_memory | ratio |")
    print("|---|---|---|---|")
    for label, (env_id, named) in CONFIGS.items():
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for switch in ("off", "on"):
                cell = [env_id, named or "-", switch]
                command = [sys.executable, "-m", "benchmarks.tools.allocator", "--seconds", str(args.seconds)]
                out = subprocess.run(
                    [*command, "--cell", *cell], capture_output=True, text=True, env=env, check=True, cwd=ROOT
                )
                rates[switch].append(float(out.stdout.strip().splitlines()[-1]))
        off, on = max(rates["off"]), max(rates["on"])
        print(f"| {label} | {off:,.0f} | {on:,.0f} | {on / off:.2f} |", flush=True)


if __name__ == "__main__":
    main()
