"""The worker pool on Ray: RolloutWorker made a Ray actor, where each actor runs, and the pool that
waits on whichever finishes first and replaces a worker that failed. Starting or joining Ray is
a3c.execution.ray_runtime's; Ray Tune is a3c.tune's."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import Counter, deque
from typing import Any

import numpy as np
import ray
from threadpoolctl import threadpool_limits

from a3c.envs import EnvSpec, env_name
from a3c.errors import WorkerFailureError
from a3c.execution.allocator import keep_freed_memory
from a3c.execution.pool import WorkerLost
from a3c.execution.ray_private import soft_node_affinity
from a3c.execution.ray_runtime import nodes_with_cpus
from a3c.worker import RolloutWorker

logger = logging.getLogger("a3c")

# Workers run at a lower CPU priority than the driver: with more workers than cores, every worker
# has a task ready, and at equal priority the driver (which applies every gradient and relaunches
# every task) would get 1/(workers + 1) of the CPU and starve them all.
WORKER_NICENESS = 5

# How long a new worker may take to start (process, imports, environment) before it counts as failed.
STARTUP_TIMEOUT_S = 120.0

# How long stop() waits for Ray to report killed actors dead (a bound; it is usually milliseconds).
KILL_TIMEOUT_S = 60.0


class NiceRolloutWorker(RolloutWorker):
    """RolloutWorker that lowers its own scheduling priority, uses one BLAS thread and keeps freed
    memory for reuse (a3c.execution.allocator: fewer page faults in large gradients).

    One thread per worker: 16 actors on 2 cores must not each run a pool of BLAS threads. Limiting
    it here, in the process, rather than with a Ray runtime_env (OMP_NUM_THREADS=1) saves ~0.15 s
    per actor start (16 actors: 9.4 s -> 7.1 s measured) and works on any cluster.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        try:
            os.nice(WORKER_NICENESS)
        except OSError:  # not permitted on this system: run at normal priority
            pass
        self.thread_limits = threadpool_limits(1)
        keep_freed_memory()
        self.ray_node_id = ray.get_runtime_context().get_node_id()
        super().__init__(*args, **kwargs)

    def node_id(self) -> str:
        """The Ray node this worker runs on (read once, at start): the pool's answer to "where"."""
        return self.ray_node_id

    # An environment that raised is rebuilt inside the except block that caught the error, so the
    # error is at hand there: keep the last one, for the driver's report (RayPool._report_env_errors).
    def _rebuild(self, index: int) -> None:
        self._note_env_error()
        super()._rebuild(index)

    def _rebuild_vector(self) -> None:
        self._note_env_error()
        super()._rebuild_vector()

    def _note_env_error(self) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.last_env_error = repr(error)[:300]

    def sample_batch(self, *args: Any, **kwargs: Any) -> Any:
        return self._with_env_error(super().sample_batch(*args, **kwargs))

    def compute_gradients(self, *args: Any, **kwargs: Any) -> Any:
        return self._with_env_error(super().compute_gradients(*args, **kwargs))

    def _with_env_error(self, result: Any) -> Any:
        try:
            result.env_error = getattr(self, "last_env_error", None)
        except AttributeError:  # a result class with __slots__: the report goes without the message
            pass
        return result

    def until_killed(self) -> None:
        """Never returns: the driver holds its result to learn when a killed actor is really gone."""
        threading.Event().wait()


RemoteRolloutWorker = ray.remote(NiceRolloutWorker)


def _registered_models(config: dict[str, Any]) -> dict[str, Any]:
    """A custom model registered by name in the driver goes to each worker with its config (Ray pickles
    the class); one named by import path is imported by the worker itself, on whichever node it runs."""
    if not config["model"].get("custom_model"):
        return {}
    from a3c.custom_models import registered_models

    return registered_models(config["model"])


def kill_actors(actors: list[Any]) -> None:
    """Force-kill actors, holding their handles until Ray reports each one gone.

    Dropping an actor's last handle ends it too, but gently: the worker runs its whole teardown and
    interpreter exit while its background threads still run, and now and then (3 of the 17 workers
    that exited that way in one tutorial run; none of hundreds force-killed) a thread of Ray's core
    worker locks an abseil Mutex already destroyed. The garbage in the freed Mutex word switches on
    abseil's lock-event trace: "[mutex.cc : 452] RAW: Lock blocking 0x... @ 0x...", then "Lock
    returning" and "Unlock". ray.kill alone races the handles dropped right after it; holding them
    until the forced kill has happened (the process exits at once, no teardown) settles the race.
    """
    until_gone = []
    for actor in actors:
        try:
            until_gone.append(actor.until_killed.remote())
            ray.kill(actor)
        except Exception:  # noqa: BLE001 - an actor already gone is what we want
            pass
    ray.wait(until_gone, num_returns=len(until_gone), timeout=KILL_TIMEOUT_S)
    for ref in until_gone:  # their results are errors by design: read them so Ray does not report them
        try:
            ray.get(ref, timeout=0)
        except Exception:  # noqa: BLE001
            pass


def _warn_if_objects_not_inline() -> None:
    import a3c

    if a3c.RAY_STARTED_WITHOUT_INLINE_SIZE:
        logger.warning(
            "Ray was started before a3c was imported, so weights and gradients travel through Ray's "
            "object store instead of inside each call: about half the updates per second on 2 cores. "
            "Import a3c before ray.init(), or set RAY_max_direct_call_object_size=4194304 for ray.init()."
        )


def resolve_placement(config: dict[str, Any]) -> str:
    """'GROUP' inside a placement group (a Ray Tune trial's), else config's 'SPREAD' or 'PACK'.

    auto is SPREAD when more than one alive node offers CPUs, else PACK.
    """
    if ray.util.get_current_placement_group() is not None:
        return "GROUP"
    strategy = config["placement_strategy"]
    if strategy == "auto":
        strategy = "SPREAD" if len(nodes_with_cpus()) > 1 else "PACK"
    return strategy


def worker_actor_options(config: dict[str, Any], placement: str | None = None, node: str | None = None) -> dict:
    """Ray actor options for one worker: its CPU request and where it may run.

    GROUP: inside the current placement group (any bundle with room). SPREAD: on `node`, chosen by
    the pool. PACK: on the driver's node. Both ask softly and spill over when the node is full or
    gone, so a worker never waits forever for a node that cannot take it.
    """
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    options: dict[str, Any] = {}
    if config["num_cpus_per_worker"] is not None:
        options["num_cpus"] = config["num_cpus_per_worker"]
    placement = placement or resolve_placement(config)
    if placement == "GROUP":
        group = ray.util.get_current_placement_group()
        options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
            group, placement_group_capture_child_tasks=True
        )
    elif placement == "SPREAD" and node is None:
        options["scheduling_strategy"] = "SPREAD"
    else:
        target = node if placement == "SPREAD" else ray.get_runtime_context().get_node_id()
        options["scheduling_strategy"] = soft_node_affinity(target)
    return options


def least_loaded_node(cpus: dict[str, float], workers_on: list[str | None], avoid: str | None = None) -> str | None:
    """The node where one more worker means the fewest workers per CPU (ties: the first listed).

    Spreads workers over nodes in proportion to their CPUs. `avoid` (the node a worker just died
    on, possibly not yet declared dead) is skipped unless it is the only node.
    """
    candidates = {node: cpu for node, cpu in cpus.items() if node != avoid} or cpus
    if not candidates:
        return None
    load = Counter(workers_on)
    return min(candidates, key=lambda node: (load[node] + 1) / candidates[node])


class RayPool:
    """`num_workers` RolloutWorker actors; one task per actor at a time; first-done-first-served.

    Faults: a worker whose task raised, whose process died, or whose task ran longer than
    `worker_timeout_s` is killed and replaced by a fresh actor (after a back-off that doubles with
    each failure of the same worker); past `max_worker_restarts` for one worker, WorkerFailureError.
    """

    def __init__(self, env: EnvSpec, config: dict[str, Any], num_workers: int):
        self.env = env
        self.config = config
        self.num_workers = num_workers
        self.placement = resolve_placement(config)
        self.custom_models = _registered_models(config)
        self.node_ids: list[str | None] = [None] * num_workers  # planned, then as each worker reports
        self.actors = [self._make_actor(i) for i in range(num_workers)]
        self.in_flight: dict[ray.ObjectRef, int] = {}
        self.submitted_at: dict[ray.ObjectRef, float] = {}
        self.lost: deque[tuple[int, WorkerLost]] = deque()
        self.restarts = [0] * num_workers
        self.env_errors = [0] * num_workers
        _warn_if_objects_not_inline()
        # Fail here, not at the first train(), if a worker cannot build its environment.
        try:
            self.node_ids = ray.get([actor.node_id.remote() for actor in self.actors])
        except ray.exceptions.RayError as error:
            self.stop()
            raise WorkerFailureError(f"workers could not start: {_describe(error)}") from None

    def _make_actor(self, index: int, avoid: str | None = None) -> Any:
        node = None
        if self.placement == "SPREAD":
            node = least_loaded_node(nodes_with_cpus(), self.node_ids, avoid)
            self.node_ids[index] = node
        options = worker_actor_options(self.config, self.placement, node)
        return RemoteRolloutWorker.options(**options).remote(
            self.env, self.config, worker_index=index + 1, custom_models=self.custom_models
        )

    def workers_per_node(self) -> dict[str, int]:
        """Ray node id -> number of live workers there (a worker lost with its node is replaced elsewhere)."""
        return dict(Counter(node for node in self.node_ids if node is not None))

    def _replace(self, index: int, reason: str) -> WorkerLost:
        """Kill worker `index` and start a fresh actor in its place; its task in flight, if any, is lost.

        Whoever notices the failure (wait_any, call_all, drain) replaces the worker at once, so
        `actors` never holds a known-dead actor, and a dead actor's task still in flight is dropped
        here rather than found later and blamed on its replacement.
        """
        if self._drop_tasks_of(index):
            self.lost.append((index, WorkerLost(reason)))  # wait_any reports it: the scheduler re-dispatches
        self.restarts[index] += 1
        failures = self.restarts[index]
        if failures > self.config["max_worker_restarts"]:
            raise WorkerFailureError(
                f"worker {index + 1} failed {failures} times (max_worker_restarts="
                f"{self.config['max_worker_restarts']}); last failure: {reason}"
            )
        name = f"worker {index + 1} ({env_name(self.env)})"
        logger.warning("%s %s; replacing it (restart %d of this worker)", name, reason, failures)
        kill_actors([self.actors[index]])
        lost_on, self.node_ids[index] = self.node_ids[index], None
        time.sleep(min(0.1 * 2 ** (failures - 1), 5.0))
        self.actors[index] = self._make_actor(index, avoid=lost_on)
        # Wait until the replacement is up, so its start-up does not count against worker_timeout_s.
        # Bounded: a replacement Ray cannot place (no node left with room) counts as one more failure.
        try:
            self.node_ids[index] = ray.get(
                self.actors[index].node_id.remote(),
                timeout=max(STARTUP_TIMEOUT_S, self.config["worker_timeout_s"] or 0),
            )
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as error:
            return self._replace(index, f"replacement could not start: {error.__class__.__name__}")
        return WorkerLost(reason)

    def _drop_tasks_of(self, index: int) -> bool:
        """Forget worker `index`'s tasks in flight (its actor is being replaced); True if it had one."""
        refs = [ref for ref, owner in self.in_flight.items() if owner == index]
        for ref in refs:
            self._pop(ref)
        return bool(refs)

    def num_restarts(self) -> int:
        return sum(self.restarts)

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
        self.submitted_at[ref] = time.monotonic()

    def _pop(self, ref: ray.ObjectRef) -> int:
        self.submitted_at.pop(ref, None)
        return self.in_flight.pop(ref)

    def wait_any(self) -> tuple[int, Any]:
        """The first result, or (index, WorkerLost) for a worker that failed and was replaced."""
        timeout = self.config["worker_timeout_s"]
        while not self.lost:
            if not self.in_flight:
                raise RuntimeError("wait_any() with no task in flight")
            wait_s = None
            if timeout is not None:
                oldest = min(self.submitted_at.values())
                wait_s = max(0.0, oldest + timeout - time.monotonic())
            ready, _ = ray.wait(list(self.in_flight), num_returns=1, timeout=wait_s)
            if ready:
                index = self._pop(ready[0])
                try:
                    result = ray.get(ready[0])
                except ray.exceptions.RayError as error:
                    return index, self._replace(index, _describe(error))
                self._report_env_errors(index, result)
                return index, result
            now = time.monotonic()
            for ref in [r for r, t in self.submitted_at.items() if now - t >= timeout]:
                index = self._pop(ref)
                self.lost.append((index, self._replace(index, f"did not answer within worker_timeout_s={timeout}")))
        return self.lost.popleft()

    def call_all(self, method: str, *args: Any) -> list[Any]:
        """Every worker's result, in order; a failed worker is replaced and asked again."""
        results: list[Any] = [None] * self.num_workers
        pending = list(range(self.num_workers))
        while pending:
            refs = {index: getattr(self.actors[index], method).remote(*args) for index in pending}
            pending = []
            for index, ref in refs.items():
                try:
                    results[index] = ray.get(ref, timeout=self.config["worker_timeout_s"])
                    self._report_env_errors(index, results[index])
                except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as error:
                    self._replace(index, _describe(error))
                    pending.append(index)
        return results

    def _report_env_errors(self, index: int, result: Any) -> None:
        """Say when a worker's environment raised (the worker cut the episode and rebuilt it): at the
        first error of each worker, then at 2, 4, 8, ... so a flaky environment cannot flood the output."""
        count = getattr(result, "num_env_errors", 0)
        if not count:
            return
        before, self.env_errors[index] = self.env_errors[index], self.env_errors[index] + count
        if (self.env_errors[index]).bit_length() > before.bit_length():
            logger.warning(
                "worker %d (%s): the environment raised %s during a rollout; the episode was cut there and the "
                "environment rebuilt (errors in this worker so far: %d)",
                index + 1,
                env_name(self.env),
                getattr(result, "env_error", None) or "an error",
                self.env_errors[index],
            )

    def num_in_flight(self) -> int:
        return len(self.in_flight)

    def idle_workers(self) -> list[int]:
        busy = set(self.in_flight.values()) | {index for index, _ in self.lost}
        return [i for i in range(self.num_workers) if i not in busy]

    def drain(self) -> None:
        """Wait out the tasks in flight and drop their results; replace a worker whose task failed."""
        for ref in list(self.in_flight):
            index = self._pop(ref)
            try:
                ray.get(ref, timeout=self.config["worker_timeout_s"])
            except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as error:
                self._replace(index, _describe(error))
        self.in_flight.clear()
        self.submitted_at.clear()
        self.lost.clear()

    def stop(self) -> None:
        """Kill every actor, dead or alive; safe to call twice."""
        kill_actors(self.actors)
        self.actors, self.in_flight, self.submitted_at, self.node_ids = [], {}, {}, []
        self.lost.clear()


def _describe(error: Exception) -> str:
    if isinstance(error, ray.exceptions.GetTimeoutError):
        return "timed out"
    if isinstance(error, ray.exceptions.RayActorError):
        if getattr(error, "actor_init_failed", False):  # its constructor raised: say what it raised
            lines = [line for line in str(error).strip().splitlines() if line.strip()]
            return f"could not be created: {lines[-1][:300] if lines else type(error).__name__}"
        return "died (its process exited or was killed)"
    first_line = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    return f"raised: {first_line[:200]}"
