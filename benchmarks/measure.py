"""What the throughput sections measure with: process roles, CPU seconds and peak memory of every
process, the raw environment rate, one forward pass, A3C's train() rate, Ray's bare round trip, and
Pong's raw vector-env rate. Each returns numbers; benchmarks/speed.py makes the tables.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from a3c.result import TrainResult
from a3c.run import Callback, Run, TimeLimit


class PeakMemory:
    """Peak summed RSS of this process and every Ray process, sampled in a background thread."""

    def __init__(self, interval_s: float = 0.25):
        import psutil

        self.psutil, self.interval_s, self.peak_bytes = psutil, interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        total = 0
        for proc in self.psutil.process_iter(["pid", "name", "cmdline", "memory_info"]):
            try:
                if process_role(proc.info) is not None:
                    total += proc.info["memory_info"].rss
            except (self.psutil.Error, TypeError, AttributeError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._total())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


def process_role(info: dict[str, Any]) -> str | None:
    """'driver' (this process), 'workers' (Ray worker processes), 'ray_system' (Ray's servers) or None."""
    name, cmd = info["name"] or "", " ".join(info["cmdline"] or [])
    if info["pid"] == os.getpid():
        return "driver"
    if name.startswith("ray::") or "default_worker.py" in cmd:
        return "workers"
    if "ray" in name or "ray" in cmd or name in ("gcs_server", "raylet"):
        return "ray_system"
    return None


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU seconds used so far by this driver, by Ray's worker processes, and by Ray's own servers."""
    import psutil

    totals = {"driver": 0.0, "workers": 0.0, "ray_system": 0.0}
    for proc in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        try:
            role, times = process_role(proc.info), proc.info["cpu_times"]
            if role is not None:
                totals[role] += times.user + times.system
        except (psutil.Error, TypeError, AttributeError):
            continue
    return totals


def env_step_rate(env_id: str, seconds: float) -> float:
    """Raw env.step rate of one environment in this process, random actions, resets included."""
    import gymnasium as gym

    from a3c.envs import check_env_id

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(check_env_id(env_id))  # registers the ALE games for Atari ids
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=100_000)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for action in actions[:1000]:
            _, _, terminated, truncated, _ = env.step(int(action))
            if terminated or truncated:
                env.reset()
        steps += 1000
    return steps / (time.perf_counter() - start)


def forward_cost_us(batch: int, repeats: int = 2000) -> dict[str, float]:
    """One forward pass of the tutorial's network (the defaults on CartPole-v0): numpy and torch.

    Both are built the way the agent builds them (spaces probed from the environment, the default
    model config), so a change of defaults or of the model API shows here instead of breaking it."""
    import gymnasium as gym
    import torch

    from a3c.config import A3C_SCHEMA, default_config
    from a3c.envs import check_spaces
    from a3c.models import ActorCritic
    from a3c.policy import NumpyPolicy

    torch.set_num_threads(1)
    model_config = default_config(A3C_SCHEMA)["model"]
    spaces = check_spaces(gym.make("CartPole-v0"))
    obs = np.random.default_rng(0).normal(size=(batch, spaces.obs_size)).astype(np.float32)
    model = ActorCritic(spaces.encoder.shape, spaces.action, model_config)
    numpy_policy = NumpyPolicy(spaces, model_config)
    numpy_policy.set_flat_weights(model.get_flat_weights())

    def timed(fn: Callable[[], object]) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats * 1e6

    with torch.no_grad():
        tensor = torch.from_numpy(obs)
        return {
            "numpy_us": timed(lambda: numpy_policy.net.forward(obs)),
            "torch_us": timed(lambda: model(tensor)),
            "network": model.describe().removeprefix("Constructing "),
        }


class _Totals(Callback):
    """Sums what each iteration of a timed run did: env steps, gradients applied (A3C), the driver's
    timers (whichever the agent reports: A3C's wait/apply/dispatch, PPO's sample/learn)."""

    def __init__(self) -> None:
        self.grads = self.steps = 0
        self.timers: dict[str, float] = {}

    def on_iteration(self, run: Run, result: TrainResult) -> bool:
        self.grads += result.info["learner"].get("num_grads_applied", 0)
        self.steps += result.timesteps_this_iter
        for key, seconds in result.info.get("timers", {}).items():
            self.timers[key] = self.timers.get(key, 0.0) + seconds
        return False


def agent_throughput(
    config: dict[str, Any], seconds: float, env: str = "CartPole-v0", agent: str = "a3c"
) -> dict[str, Any]:
    """An agent's train() (A3C unless `agent` says "ppo") for `seconds` (a3c.run.Run, no run directory)
    after one untimed warm-up iteration: env steps/s and, per gradient (A3C) or per 1,000 env steps
    (PPO), CPU by process and the driver's timers."""
    from a3c.agents import AGENTS

    totals = _Totals()
    with PeakMemory() as memory:
        trainer = AGENTS[agent]({"seed": 1, **config}, env)
        try:
            first = trainer.train()
            cpu_before = cpu_seconds_by_role()
            start = time.perf_counter()
            stop = TimeLimit(seconds, wall=True)
            Run(trainer, None, stop, callbacks=[totals], catch_ctrl_c=False, started_at=start).run()
            elapsed = time.perf_counter() - start
            cpu_after = cpu_seconds_by_role()
        finally:
            trainer.stop()
    per, unit = (totals.grads, "grad") if agent != "ppo" else (totals.steps / 1000, "1k_steps")
    cpu_ms = {role: (cpu_after[role] - cpu_before[role]) / per * 1e3 for role in cpu_before}
    return {
        f"cpu_ms_per_{unit}": cpu_ms,
        "env_steps_per_s": totals.steps / elapsed,
        "grads_per_s": totals.grads / elapsed,
        **{key.replace("_time_s", f"_ms_per_{unit}"): value / per * 1e3 for key, value in totals.timers.items()},
        "peak_memory_mib": memory.peak_mib,
        **{key: value for key, value in first.info["learner"].items() if key == "num_learner_threads"},
    }


class Echo:
    """A Ray actor (`ray.remote(num_cpus=0)(Echo)`) that does no work: it returns the array it was sent."""

    def echo(self, array: np.ndarray, version: int, filter_state: Any = None) -> tuple[np.ndarray, int]:
        return np.array(array, copy=True), version


def wait_any_round_trips(
    submit: Callable[[int, int], Any], num_actors: int, round_trips: int, warm_up: int = 0, cpu: bool = False
) -> tuple[float, dict[str, float] | None]:
    """The tutorial's scheduling: one call in flight per actor (`submit(actor_index, version)` makes
    it), wait for any one (ray.wait, num_returns=1), get it and relaunch that actor.

    `warm_up` round trips run before the clock. Returns the timed round trips' seconds and, with
    `cpu` (needs psutil), the CPU seconds each role used in them (cpu_seconds_by_role)."""
    import ray

    in_flight = {submit(index, 0): index for index in range(num_actors)}

    def round_trip(version: int) -> None:
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        index = in_flight.pop(ready[0])
        ray.get(ready[0])
        in_flight[submit(index, version)] = index

    for _ in range(warm_up):
        round_trip(0)
    cpu_before, start = cpu_seconds_by_role() if cpu else None, time.perf_counter()
    for version in range(round_trips):
        round_trip(version)
    elapsed = time.perf_counter() - start
    used = None if cpu_before is None else {k: v - cpu_before[k] for k, v in cpu_seconds_by_role().items()}
    ray.get(list(in_flight))
    return elapsed, used


def ray_floor(round_trips: int, size: int, actors: int = 16) -> float:
    """Seconds for `round_trips` of the tutorial's Ray traffic with no work in it.

    `actors` Ray actors (num_cpus=0, as the tutorial's workers) each return the float32 array they
    were sent; the driver keeps one call in flight per actor, waits for any one (ray.wait,
    num_returns=1), gets it and relaunches that actor with a fresh copy of its array: the calls
    A3C's driver makes per gradient, with arrays of the weights' size, inline (a3c's limit).
    """
    import ray

    echoes = [ray.remote(num_cpus=0)(Echo).remote() for _ in range(actors)]
    try:
        ray.get([echo.echo.remote(np.zeros(1, np.float32), 0) for echo in echoes])  # all started
        weights = np.zeros(size, dtype=np.float32)
        elapsed, _ = wait_any_round_trips(
            lambda index, version: echoes[index].echo.remote(weights.copy(), version), actors, round_trips
        )
        return elapsed
    finally:
        for echo in echoes:
            ray.kill(echo)


def tutorial_parameter_count() -> int:
    """The size of the tutorial's weight vector (and gradient) with today's defaults."""
    import gymnasium as gym

    from a3c.config import A3C_SCHEMA, default_config
    from a3c.envs import check_spaces
    from a3c.models import ActorCritic

    spaces = check_spaces(gym.make("CartPole-v0"))
    return ActorCritic(spaces.encoder.shape, spaces.action, default_config(A3C_SCHEMA)["model"]).num_params()


def pong_raw_rate(seconds: float, num_envs: int) -> float:
    """Agent steps/s of one worker's Atari vector env (a3c's own, the defaults' preprocessing) under
    random actions in this process, with one thread, as a worker runs it."""
    from threadpoolctl import threadpool_limits

    from a3c.envs import make_native_vector_env

    env = make_native_vector_env("ALE/Pong-v5", {}, num_envs)
    if env is None:
        raise RuntimeError("a3c builds no vector env for ALE/Pong-v5 here")
    try:
        rng = np.random.default_rng(0)
        env.reset(seed=0)
        steps, start = 0, time.perf_counter()
        with threadpool_limits(1):
            while time.perf_counter() - start < seconds:
                env.step(rng.integers(env.single_action_space.n, size=num_envs))
                steps += num_envs
        return steps / (time.perf_counter() - start)
    finally:
        env.close()
