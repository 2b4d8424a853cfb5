"""A3C driver-loop throughput on CartPole-v0: gradients and env steps per second, and where the
driver's time goes (wait / apply / dispatch per gradient), for several worker counts.

    .venv/bin/python benchmarks/throughput.py [--workers 1 2 4 16] [--batch-size 16] [--iterations 10]

One warm-up iteration per configuration is not timed. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import logging
import time

import ray

from a3c import A3CAgent


def measure(workers: int, batch_size: int, iterations: int) -> dict[str, float]:
    agent = A3CAgent({"num_workers": workers, "batch_size": batch_size, "seed": 1}, "CartPole-v0")
    agent.train()
    timers = {"wait_time_s": 0.0, "apply_time_s": 0.0, "dispatch_time_s": 0.0}
    grads = steps = 0
    start = time.perf_counter()
    for _ in range(iterations):
        result = agent.train()
        grads += result.info["learner"]["num_grads_applied"]
        steps += result.timesteps_this_iter
        for key in timers:
            timers[key] += result.info["timers"][key]
    elapsed = time.perf_counter() - start
    agent.stop()
    return {
        "grads_per_s": grads / elapsed,
        "steps_per_s": steps / elapsed,
        **{key.replace("_time_s", "_ms"): value / grads * 1e3 for key, value in timers.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 16])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("a3c").setLevel(logging.WARNING)
    ray.init()
    print("| workers | gradients/s | env steps/s | wait ms/grad | apply ms/grad | dispatch ms/grad |")
    print("|---|---|---|---|---|---|")
    for workers in args.workers:
        r = measure(workers, args.batch_size, args.iterations)
        print(
            f"| {workers} | {r['grads_per_s']:.0f} | {r['steps_per_s']:.0f} | {r['wait_ms']:.2f} "
            f"| {r['apply_ms']:.2f} | {r['dispatch_ms']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
