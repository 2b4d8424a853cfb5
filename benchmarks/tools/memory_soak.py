"""Does a long run grow in memory? A3C on CartPole-v0 with 16 workers, RSS sampled as it trains.

    python -m benchmarks.tools.memory_soak [--minutes 30] [--workers 16]

Prints, for the driver and each worker process, the resident memory one minute in (after start-up
and the first allocations) and at the end, and whether the end is within 10% of the one-minute
figure. Memory is read from /proc/PID/status (VmRSS), so this runs on Linux.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import ray

from a3c import A3CAgent


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--baseline-s", type=float, default=60.0, help="when the first RSS reading is taken (after start-up)"
    )
    args = parser.parse_args()
    if args.baseline_s >= args.minutes * 60:
        parser.error("--baseline-s must come before the end of the run (--minutes)")
    logging.getLogger("a3c").setLevel(logging.WARNING)
    agent = A3CAgent({"num_workers": args.workers, "batch_size": 16, "seed": 0}, "CartPole-v0")
    pids = {"driver": os.getpid()}
    pids.update({f"worker {i + 1}": pid for i, pid in enumerate(ray.get([a.pid.remote() for a in agent.pool.actors]))})
    start = time.monotonic()
    baseline: dict[str, float] | None = None
    iterations = 0
    while time.monotonic() - start < args.minutes * 60:
        result = agent.train()
        iterations += 1
        if baseline is None and time.monotonic() - start >= args.baseline_s:
            baseline = {name: rss_mib(pid) for name, pid in pids.items()}
        if iterations % 100 == 0:
            driver = rss_mib(pids["driver"])
            print(
                f"{(time.monotonic() - start) / 60:5.1f} min  iteration {iterations}  "
                f"reward {result.episode_reward_mean:6.1f}  driver RSS {driver:7.1f} MiB",
                flush=True,
            )
    final = {name: rss_mib(pid) for name, pid in pids.items()}
    restarts = result.info["num_worker_restarts"]
    agent.stop()
    if baseline is None:  # the run ended inside its first iteration after --baseline-s
        baseline = final
    print(
        f"\n{args.minutes:.0f} min, {iterations} iterations, {result.timesteps_total:,} env steps, "
        f"{restarts} worker restarts"
    )
    print(f"| process | RSS after {args.baseline_s:g} s (MiB) | RSS at end (MiB) | growth | within 10% |")
    print("|---|---|---|---|---|")
    for name in pids:
        growth = final[name] / baseline[name] - 1
        verdict = "yes" if growth <= 0.10 else "NO"
        print(f"| {name} | {baseline[name]:.1f} | {final[name]:.1f} | {growth:+.1%} | {verdict} |")


if __name__ == "__main__":
    main()
