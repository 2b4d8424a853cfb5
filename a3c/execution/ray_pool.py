"""The only module that imports Ray: RolloutWorker made a Ray actor, and the pool over them."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import ray

from a3c.envs import EnvSpec
from a3c.worker import RolloutWorker

logger = logging.getLogger("a3c")

# One thread per worker: 16 actors on 2 cores must not each start a pool of BLAS/OpenMP threads.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

# Workers run at a lower CPU priority than the driver: with more workers than cores, every worker
# has a task ready, and at equal priority the driver (which applies every gradient and relaunches
# every task) would get 1/(workers + 1) of the CPU and starve them all.
WORKER_NICENESS = 5


class NiceRolloutWorker(RolloutWorker):
    """RolloutWorker that lowers its own scheduling priority first."""

    def __init__(self, *args: Any, **kwargs: Any):
        try:
            os.nice(WORKER_NICENESS)
        except OSError:  # not permitted on this system: run at normal priority
            pass
        super().__init__(*args, **kwargs)


RemoteRolloutWorker = ray.remote(NiceRolloutWorker)


def ensure_ray(address: str | None = None) -> bool:
    """Start (or join) Ray unless the user already did; return True when we started it.

    A local cluster we start ourselves listens on loopback and runs no dashboard; token
    authentication stays as Ray configures it (on by default for local clusters since 2.59).
    """
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, "logging_level": logging.WARNING}
    if address is None:
        kwargs["_node_ip_address"] = "127.0.0.1"
    ray.init(address=address, runtime_env={"env_vars": WORKER_ENV}, **kwargs)
    return True


class RayPool:
    """`num_workers` RolloutWorker actors; one task per actor at a time; first-done-first-served."""

    def __init__(self, env: EnvSpec, config: dict[str, Any], num_workers: int):
        self.num_workers = num_workers
        options: dict[str, Any] = {"runtime_env": {"env_vars": WORKER_ENV}}
        self.actors = [
            RemoteRolloutWorker.options(**options).remote(env, config, worker_index=i + 1) for i in range(num_workers)
        ]
        self.in_flight: dict[ray.ObjectRef, int] = {}
        # Fail here, not at the first train(), if a worker cannot build its environment.
        ray.get([actor.ping.remote() for actor in self.actors])

    def put(self, value: np.ndarray, num_readers: int = 1) -> ray.ObjectRef | np.ndarray:
        """One copy in the object store for several readers; a single reader gets it by value.

        A value passed by value travels inside the task call (see RAY_max_direct_call_object_size
        in a3c/__init__.py) and skips the shared-memory store's bookkeeping.
        """
        if num_readers > 1:
            return ray.put(value)
        return np.array(value, copy=True)

    def submit(self, worker_index: int, method: str, *args: Any) -> None:
        if worker_index in self.in_flight.values():
            raise RuntimeError(f"worker {worker_index} already has a task in flight")
        ref = getattr(self.actors[worker_index], method).remote(*args)
        self.in_flight[ref] = worker_index

    def wait_any(self) -> tuple[int, Any]:
        if not self.in_flight:
            raise RuntimeError("wait_any() with no task in flight")
        [ready], _ = ray.wait(list(self.in_flight), num_returns=1)
        worker_index = self.in_flight.pop(ready)
        return worker_index, ray.get(ready)

    def call_all(self, method: str, *args: Any) -> list[Any]:
        return ray.get([getattr(actor, method).remote(*args) for actor in self.actors])

    def num_in_flight(self) -> int:
        return len(self.in_flight)

    def idle_workers(self) -> list[int]:
        busy = set(self.in_flight.values())
        return [i for i in range(self.num_workers) if i not in busy]

    def drain(self) -> None:
        """Wait out the tasks in flight and drop their results."""
        for ref in list(self.in_flight):
            try:
                ray.get(ref)
            except ray.exceptions.RayError:
                pass
        self.in_flight.clear()

    def stop(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors, self.in_flight = [], {}
