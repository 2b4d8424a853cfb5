"""How work reaches workers: a small pool protocol, and the in-process pool that runs it serially.

The A3C driver only speaks this protocol (put, submit, wait_any), so the same scheduling code runs
on Ray actors (`RayPool`) and in process (`LocalPool`). `LocalPool` runs tasks in the order they
were submitted, each with the arguments it was given at submit time: deterministic, and it
reproduces A3C's policy lag exactly (with N workers a gradient is N - 1 updates old).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# LocalPool's "node": its workers run in the driver's process.
LOCAL_NODE = "local"


@dataclass
class WorkerLost:
    """wait_any's result when a worker died, raised or hung: its task is lost (no gradient),
    and a replacement worker now stands idle at the same index."""

    reason: str


class WorkerPool(Protocol):
    """Submit method calls to numbered workers; collect whichever finishes first."""

    num_workers: int

    def put(self, value: np.ndarray, num_readers: int = 1) -> Any:
        """Snapshot a value for `num_readers` tasks; the handle is passed to each of them."""

    def submit(self, worker_index: int, method: str, *args: Any) -> None:
        """Start `worker.method(*args)`; at most one task per worker at a time."""

    def wait_any(self) -> tuple[int, Any]:
        """Block until one task finishes; return (worker_index, its result)."""

    def call_all(self, method: str, *args: Any) -> list[Any]:
        """Call `method` on every worker and wait for all results, in worker order."""

    def num_in_flight(self) -> int: ...

    def num_restarts(self) -> int: ...

    def workers_per_node(self) -> dict[str, int]:
        """Where the live workers run: node id -> count."""

    def idle_workers(self) -> list[int]: ...

    def drain(self) -> None:
        """Forget the tasks in flight (their results were computed from weights now replaced)."""

    def stop(self) -> None: ...


class LocalPool:
    """Workers in this process; tasks run FIFO when a result is waited for."""

    def __init__(self, workers: list[Any]):
        self.workers = workers
        self.num_workers = len(workers)
        self.queue: deque[tuple[int, str, tuple[Any, ...]]] = deque()

    def put(self, value: np.ndarray, num_readers: int = 1) -> np.ndarray:
        return np.array(value, copy=True)

    def submit(self, worker_index: int, method: str, *args: Any) -> None:
        if any(index == worker_index for index, _, _ in self.queue):
            raise RuntimeError(f"worker {worker_index} already has a task in flight")
        self.queue.append((worker_index, method, args))

    def wait_any(self) -> tuple[int, Any]:
        if not self.queue:
            raise RuntimeError("wait_any() with no task in flight")
        worker_index, method, args = self.queue.popleft()
        return worker_index, getattr(self.workers[worker_index], method)(*args)

    def call_all(self, method: str, *args: Any) -> list[Any]:
        return [getattr(worker, method)(*args) for worker in self.workers]

    def num_in_flight(self) -> int:
        return len(self.queue)

    def num_restarts(self) -> int:
        return 0

    def workers_per_node(self) -> dict[str, int]:
        return {LOCAL_NODE: self.num_workers}

    def idle_workers(self) -> list[int]:
        busy = {index for index, _, _ in self.queue}
        return [i for i in range(self.num_workers) if i not in busy]

    def drain(self) -> None:
        self.queue.clear()

    def stop(self) -> None:
        self.queue.clear()
