"""Where the tutorial's time goes beyond Ray's floor: CPU per round trip, by process role, for the
same wait-any loop with more and more of a real A3C task in it.

    python -m benchmarks.tools.ray_task_cost [--round-trips 3000] [--actors 16]

Every variant runs the tutorial's scheduling (`--actors` actors of num_cpus=0, one call in flight
each, `ray.wait(num_returns=1)`, relaunch that actor with a fresh copy of the weights) on the
tutorial's network (CartPole-v0, the defaults) and reports wall ms and CPU ms per round trip of the
driver, the actor processes and Ray's own servers:

1. echo: a bare actor returns the array it was sent with the version (the speed benchmark's floor)
2. our actor, echo: RolloutWorker's Ray actor (niceness, one BLAS thread, the allocator) does the
   same, called with what A3C sends (weights, version, the filters' statistics)
3. our actor, empty result: the same call returns a GradientResult of zeros (what A3C returns, no work)
4. our actor, compute_gradients: the real task (16 steps x 1 env, loss and gradient)

and, for reference, compute_gradients called in this process (no Ray). CPU time counts what each
process did, whatever else the machine does; the wall column moves with other load.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import a3c  # noqa: F401 - sets Ray's inline object size before Ray starts
from a3c.config import A3C_SCHEMA, resolve_config
from a3c.execution.ray_pool import NiceRolloutWorker, kill_actors
from a3c.filters import state_for_workers
from a3c.worker import GradientResult, RolloutWorker
from benchmarks.measure import Echo, wait_any_round_trips

ENV = "CartPole-v0"
ROLES = ("driver", "workers", "ray_system")


class ProbeWorker(NiceRolloutWorker, Echo):
    """The tutorial's worker actor with two calls that skip the work (Echo's `echo`, and `empty_result`):
    what Ray costs with our process set-up and our types."""

    def empty_result(self, weights: np.ndarray, version: int, filter_state: Any = None) -> GradientResult:
        return GradientResult(
            grad=np.zeros_like(weights),
            weights_version=version,
            num_steps=16,
            policy_loss=0.0,
            value_loss=0.0,
            entropy=0.0,
            episode_rewards=[],
            episode_lengths=[],
        )


def tutorial_config() -> dict[str, Any]:
    return resolve_config({"num_workers": 16, "batch_size": 16, "seed": 0}, A3C_SCHEMA)


def task_inputs(config: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any] | None, float]:
    """The weights and filter statistics A3C sends, and compute_gradients' CPU ms in this process."""
    worker = RolloutWorker(ENV, config, 1)
    weights = (np.random.default_rng(0).normal(size=worker.policy.num_params) * 0.1).astype(np.float32)
    filters = state_for_workers(worker.obs_filter, worker.return_filter)  # as the agent sends them
    for _ in range(20):  # warm-up
        worker.compute_gradients(weights, 0, filters)
    start, calls = time.process_time(), 500
    for _ in range(calls):
        worker.compute_gradients(weights, 0, filters)
    return weights, filters, (time.process_time() - start) / calls * 1e3


def wait_any_loop(actors: list[Any], method: str, weights: np.ndarray, filters: Any, round_trips: int) -> dict:
    """The tutorial's scheduling on `actors`, calling `method`: wall and CPU ms per round trip by role."""
    import ray

    def call(index: int, version: int) -> Any:
        return getattr(actors[index], method).remote(np.array(weights, copy=True), version, filters)

    # Every actor started and warm before the clock: a wait-any loop would otherwise cycle among the
    # first actors up while the others' processes start, and time their start-up.
    for _ in range(3):
        ray.get([call(index, 0) for index in range(len(actors))])
    wall, cpu = wait_any_round_trips(call, len(actors), round_trips, warm_up=2 * len(actors), cpu=True)
    return {"wall_ms": wall / round_trips * 1e3, **{f"{role}_ms": cpu[role] / round_trips * 1e3 for role in ROLES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=3000, help="timed round trips per variant (default 3000)")
    parser.add_argument("--actors", type=int, default=16, help="actors, as the tutorial's workers (default 16)")
    args = parser.parse_args()

    import ray
    import torch
    from threadpoolctl import threadpool_limits

    from a3c.execution.ray_runtime import ensure_ray

    torch.set_num_threads(1)
    threadpool_limits(1)
    config = tutorial_config()
    weights, filters, in_process_ms = task_inputs(config)
    ensure_ray(None)

    remote_echo = ray.remote(num_cpus=0)(Echo)
    remote_probe = ray.remote(num_cpus=0)(ProbeWorker)
    variants = [
        ("1. echo (the floor)", lambda: [remote_echo.remote() for _ in range(args.actors)], "echo"),
        ("2. our actor, echo", None, "echo"),
        ("3. our actor, empty GradientResult", None, "empty_result"),
        ("4. our actor, compute_gradients", None, "compute_gradients"),
    ]
    rows = []
    probes: list[Any] = []
    try:
        for name, make, method in variants:
            if make is not None:
                actors = make()
            else:
                if not probes:
                    probes = [remote_probe.remote(ENV, config, worker_index=i + 1) for i in range(args.actors)]
                actors = probes
            rows.append((name, wait_any_loop(actors, method, weights, filters, args.round_trips)))
            if make is not None:
                for actor in actors:
                    ray.kill(actor)
            print(f"  {name}: done", flush=True)
    finally:
        kill_actors(probes)
    print(
        f"\n{args.actors} actors, {args.round_trips:,} round trips per variant, {weights.size:,} float32 each way "
        f"({ENV}, the tutorial's network)\n"
    )
    print("| variant | wall ms per round trip | CPU ms per round trip: driver / actors / Ray servers | CPU ms in all |")
    print("|---|---|---|---|")
    for name, row in rows:
        total = sum(row[f"{role}_ms"] for role in ROLES)
        cpu = " / ".join(f"{row[f'{role}_ms']:.3f}" for role in ROLES)
        print(f"| {name} | {row['wall_ms']:.3f} | {cpu} | {total:.3f} |")
    print(f"| compute_gradients in this process (no Ray) | | {in_process_ms:.3f} (one process) | |")
    ray.shutdown()


if __name__ == "__main__":
    main()
