"""The benchmark: a3c against the physical limit and against Stable-Baselines3, in one run.

    make bench            # full run (35-60 min): writes benchmarks/results/latest.{json,md}
    make bench-quick      # --quick: one seed, short caps, under 5 minutes: benchmarks/results/quick/
    .venv/bin/python benchmarks/run.py --smoke --out /tmp/x   # every section at its smallest (what CI runs)
    .venv/bin/python benchmarks/run.py --sections floor tutorial   # the tutorial against Ray's own floor
    .venv/bin/python benchmarks/run.py --sections pong             # Pong's share of two cores (make extras)

Sections, each printed as a markdown table as soon as it is measured:
  limit        raw gymnasium env.step rate per core (random actions); one policy forward pass
  throughput   A3C train() loop on CartPole-v0: env steps/s, gradients/s, driver wait/apply/
               dispatch per gradient, peak memory of all processes; workers x batch_size grid,
               plus the tuned configs; Stable-Baselines3 A2C's env steps/s with zoo settings
  floor        a bare Ray loop of the tutorial's round trips: 16 actors (num_cpus=0) that return the
               array they were sent, 10,000 x wait-any-then-relaunch with arrays the size of the
               tutorial's weights, inline as a3c sends them: what Ray alone costs the tutorial
  tutorial     examples/tutorial.py's CartPole-v0 part (16 workers, batch 16, 100 iterations), and
               its training time per gradient over the floor's time per round trip (same run)
  pong         ALE/Pong-v5: raw steps/s of one worker's vector env (8 envs, random actions, the same
               preprocessing) in one process, and A3C's agent steps/s learning with the defaults:
               the fraction of two cores' raw rate (needs the atari extra; skipped without it)
  cartpole     time to solve CartPole-v0 (mean of last 100 episodes >= 195) from construction
  mountaincar  time to solve MountainCar-v0 (>= -110), capped per run

Every ratio in latest.json is computed from figures of this same run. Run it on an otherwise idle
machine: the figures are wall-clock rates on shared cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# "The mean of the last 100 episodes", for every entrant, ours and Stable-Baselines3's: the library's one rule.
from a3c.run import EPISODE_WINDOW, reached_target

ROOT = Path(__file__).resolve().parents[1]
TUNED = ROOT / "examples" / "tuned"
SECTIONS = ("limit", "floor", "throughput", "tutorial", "pong", "cartpole", "mountaincar")
CARTPOLE_TARGET, MOUNTAINCAR_TARGET = 195.0, -110.0
TUTORIAL_ITERATIONS = 100  # the tutorial's loop: 100 train() calls of grads_per_step gradients


def by_size(args: argparse.Namespace, full: Any, quick: Any, smoke: Any) -> Any:
    """A knob's value for this run's size: full, --quick (minutes) or --smoke (seconds: CI's check
    that every section still runs against today's code; its figures mean nothing)."""
    return smoke if args.smoke else quick if args.quick else full


# rl-baselines3-zoo hyperparameters, copied from the zoo's hyperparams/ppo.yml and hyperparams/a2c.yml
# as of commit 22e3ff2 (2026-04-23, rl_zoo3 2.9.0a2; the files last changed in eec15dc). Keys as the
# zoo spells them: n_envs, n_timesteps (the budget that sets the zoo's "lin_" schedules), normalize
# (VecNormalize on observations and rewards, its gamma the algorithm's), policy, policy_kwargs (torch
# classes by name, resolved in sb3_model), env_wrapper + frame_stack (the zoo's `atari` entry:
# AtariWrapper, VecFrameStack), kwargs (the algorithm's own; ("lin", v) is the zoo's lin_<v>).
# The zoo has CartPole-v1's settings (issue 5 used them for v0 too), HalfCheetah-v4's (used for v5:
# same dynamics and spaces) and `atari` for every Atari game.
_CARTPOLE_PPO = {
    "n_envs": 8,
    "n_timesteps": 100_000,
    "normalize": False,
    "kwargs": {
        "n_steps": 32,
        "batch_size": 256,
        "gae_lambda": 0.8,
        "gamma": 0.98,
        "n_epochs": 20,
        "ent_coef": 0.0,
        "learning_rate": ("lin", 1e-3),
        "clip_range": ("lin", 0.2),
    },
}
_CARTPOLE_A2C = {"n_envs": 8, "n_timesteps": 500_000, "normalize": False, "kwargs": {"ent_coef": 0.0}}
_ATARI = {"policy": "CnnPolicy", "env_wrapper": "AtariWrapper", "frame_stack": 4, "n_timesteps": 10_000_000}
SB3_ZOO: dict[str, dict[str, Any]] = {
    "sb3_ppo/CartPole-v0": _CARTPOLE_PPO,
    "sb3_a2c/CartPole-v0": _CARTPOLE_A2C,
    "sb3_ppo/CartPole-v1": _CARTPOLE_PPO,
    "sb3_a2c/CartPole-v1": _CARTPOLE_A2C,
    "sb3_ppo/MountainCar-v0": {
        "n_envs": 16,
        "n_timesteps": 1_000_000,
        "normalize": True,
        "kwargs": {"n_steps": 16, "gae_lambda": 0.98, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0},
    },
    "sb3_a2c/MountainCar-v0": {"n_envs": 16, "n_timesteps": 1_000_000, "normalize": True, "kwargs": {"ent_coef": 0.0}},
    "sb3_ppo/LunarLander-v3": {
        "n_envs": 16,
        "n_timesteps": 1_000_000,
        "normalize": False,
        "kwargs": {
            "n_steps": 1024,
            "batch_size": 64,
            "gae_lambda": 0.98,
            "gamma": 0.999,
            "n_epochs": 4,
            "ent_coef": 0.01,
        },
    },
    "sb3_a2c/LunarLander-v3": {
        "n_envs": 8,
        "n_timesteps": 200_000,
        "normalize": False,
        "kwargs": {"gamma": 0.995, "n_steps": 5, "learning_rate": ("lin", 0.00083), "ent_coef": 0.00001},
    },
    "sb3_ppo/Pendulum-v1": {
        "n_envs": 4,
        "n_timesteps": 100_000,
        "normalize": False,
        "kwargs": {
            "n_steps": 1024,
            "gae_lambda": 0.95,
            "gamma": 0.9,
            "n_epochs": 10,
            "ent_coef": 0.0,
            "learning_rate": 1e-3,
            "clip_range": 0.2,
            "use_sde": True,
            "sde_sample_freq": 4,
        },
    },
    "sb3_a2c/Pendulum-v1": {
        "n_envs": 8,
        "n_timesteps": 1_000_000,
        "normalize": True,
        "policy_kwargs": {"log_std_init": -2, "ortho_init": False},
        "kwargs": {
            "ent_coef": 0.0,
            "max_grad_norm": 0.5,
            "n_steps": 8,
            "gae_lambda": 0.9,
            "vf_coef": 0.4,
            "gamma": 0.9,
            "use_rms_prop": True,
            "normalize_advantage": False,
            "learning_rate": ("lin", 7e-4),
            "use_sde": True,
        },
    },
    "sb3_ppo/HalfCheetah-v5": {
        "n_envs": 1,
        "n_timesteps": 1_000_000,
        "normalize": True,
        "policy_kwargs": {
            "log_std_init": -2,
            "ortho_init": False,
            "activation_fn": "ReLU",
            "net_arch": {"pi": [256, 256], "vf": [256, 256]},
        },
        "kwargs": {
            "batch_size": 64,
            "n_steps": 512,
            "gamma": 0.98,
            "learning_rate": 2.0633e-05,
            "ent_coef": 0.000401762,
            "clip_range": 0.1,
            "n_epochs": 20,
            "gae_lambda": 0.92,
            "max_grad_norm": 0.8,
            "vf_coef": 0.58096,
        },
    },
    "sb3_a2c/HalfCheetah-v5": {"n_envs": 1, "n_timesteps": 1_000_000, "normalize": True, "kwargs": {}},
    "sb3_ppo/ALE/Pong-v5": {
        **_ATARI,
        "n_envs": 8,
        "normalize": False,
        "kwargs": {
            "n_steps": 128,
            "n_epochs": 4,
            "batch_size": 256,
            "learning_rate": ("lin", 2.5e-4),
            "clip_range": ("lin", 0.1),
            "vf_coef": 0.5,
            "ent_coef": 0.01,
        },
    },
    "sb3_a2c/ALE/Pong-v5": {
        **_ATARI,
        "n_envs": 16,
        "normalize": False,
        "policy_kwargs": {"optimizer_class": "RMSpropTFLike", "optimizer_kwargs": {"eps": 1e-5}},
        "kwargs": {"ent_coef": 0.01, "vf_coef": 0.25},
    },
}
# Stable-Baselines3's own defaults, as `PPO("MlpPolicy", env_id)` builds them: one environment, no
# normalization, the algorithm's default arguments (constant learning rate: no budget).
SB3_DEFAULTS: dict[str, Any] = {"n_envs": 1, "n_timesteps": None, "normalize": False, "kwargs": {}}
LINEAR_SCHEDULE_KEYS = ("learning_rate", "clip_range")


def tuned_config(name: str) -> dict[str, Any]:
    return yaml.safe_load((TUNED / f"{name}.yaml").read_text())


# -- measuring helpers -------------------------------------------------------------------------


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


def a3c_throughput(config: dict[str, Any], seconds: float, env: str = "CartPole-v0") -> dict[str, float]:
    """Run A3C's train() for `seconds` after one untimed warm-up iteration."""
    from a3c import A3CAgent

    with PeakMemory() as memory:
        agent = A3CAgent({"seed": 1, **config}, env)
        try:
            agent.train()
            timers = {"wait_time_s": 0.0, "apply_time_s": 0.0, "dispatch_time_s": 0.0}
            grads = steps = 0
            cpu_before = cpu_seconds_by_role()
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                result = agent.train()
                grads += result.info["learner"]["num_grads_applied"]
                steps += result.timesteps_this_iter
                for key in timers:
                    timers[key] += result.info["timers"][key]
            elapsed = time.perf_counter() - start
            cpu_after = cpu_seconds_by_role()
        finally:
            agent.stop()
    cpu_ms = {role: (cpu_after[role] - cpu_before[role]) / grads * 1e3 for role in cpu_before}
    return {
        "cpu_ms_per_grad": cpu_ms,
        "env_steps_per_s": steps / elapsed,
        "grads_per_s": grads / elapsed,
        **{key.replace("_time_s", "_ms_per_grad"): value / grads * 1e3 for key, value in timers.items()},
        "peak_memory_mib": memory.peak_mib,
    }


def ray_floor(round_trips: int, size: int, actors: int = 16) -> float:
    """Seconds for `round_trips` of the tutorial's Ray traffic with no work in it.

    `actors` Ray actors (num_cpus=0, as the tutorial's workers) each return the float32 array they
    were sent; the driver keeps one call in flight per actor, waits for any one (ray.wait,
    num_returns=1), gets it and relaunches that actor with a fresh copy of its array: the calls
    A3C's driver makes per gradient, with arrays of the weights' size, inline (a3c's limit).
    """
    import ray

    @ray.remote(num_cpus=0)
    class Echo:
        def echo(self, array: np.ndarray, version: int) -> tuple[np.ndarray, int]:
            return np.array(array, copy=True), version

    echoes = [Echo.remote() for _ in range(actors)]
    try:
        ray.get([echo.echo.remote(np.zeros(1, np.float32), 0) for echo in echoes])  # all started
        weights = np.zeros(size, dtype=np.float32)
        in_flight = {echo.echo.remote(weights.copy(), 0): i for i, echo in enumerate(echoes)}
        start = time.perf_counter()
        for version in range(round_trips):
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            index = in_flight.pop(ready[0])
            ray.get(ready[0])
            in_flight[echoes[index].echo.remote(weights.copy(), version)] = index
        elapsed = time.perf_counter() - start
        ray.get(list(in_flight))
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

    env = make_native_vector_env("ALE/Pong-v5", {}, num_envs, True)
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


def _resolve_policy_kwargs(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The zoo's policy_kwargs with classes named by string (activation_fn, optimizer_class) resolved."""
    import torch
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

    resolved = dict(policy_kwargs)
    if "activation_fn" in resolved:
        resolved["activation_fn"] = getattr(torch.nn, resolved["activation_fn"])
    if "optimizer_class" in resolved:
        resolved["optimizer_class"] = {"RMSpropTFLike": RMSpropTFLike}[resolved["optimizer_class"]]
    return resolved


def sb3_settings(algo: str, env_id: str, zoo: bool = True) -> dict[str, Any]:
    """rl-baselines3-zoo's settings for (algo, env_id), or SB3's own defaults when zoo is False."""
    return SB3_ZOO[f"{algo}/{env_id}"] if zoo else SB3_DEFAULTS


def has_linear_schedule(settings: dict[str, Any]) -> bool:
    return any(isinstance(settings["kwargs"].get(key), tuple) for key in LINEAR_SCHEDULE_KEYS)


def sb3_model(algo: str, env_id: str, seed: int, zoo: bool = True) -> tuple[Any, int | None]:
    """A Stable-Baselines3 model with rl-baselines3-zoo settings (or SB3's defaults), torch at one thread;
    and the zoo's training budget (None for the defaults)."""
    import torch

    torch.set_num_threads(1)
    from stable_baselines3 import A2C, PPO  # main() checked that the bench extras are installed
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    from a3c.envs import check_env_id

    settings = sb3_settings(algo, env_id, zoo)
    kwargs = dict(settings["kwargs"])
    for key in LINEAR_SCHEDULE_KEYS:
        if isinstance(kwargs.get(key), tuple):
            start_value = kwargs[key][1]
            kwargs[key] = lambda progress, v=start_value: progress * v  # zoo's lin_<v>
    if "policy_kwargs" in settings:
        kwargs["policy_kwargs"] = _resolve_policy_kwargs(settings["policy_kwargs"])
    wrapper_class, env_kwargs = None, None
    if settings.get("env_wrapper") == "AtariWrapper":
        from stable_baselines3.common.atari_wrappers import AtariWrapper

        # ALE/*-v5 skips 4 frames itself: AtariWrapper does the skipping (and max-pooling), as our
        # Atari preprocessing does, so one agent step is 4 frames for every entrant.
        wrapper_class, env_kwargs = AtariWrapper, {"frameskip": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = make_vec_env(
            check_env_id(env_id),  # registers the ALE games for Atari ids
            n_envs=settings["n_envs"],
            seed=seed,
            wrapper_class=wrapper_class,
            env_kwargs=env_kwargs,
        )
        if settings["normalize"]:
            env = VecNormalize(env, gamma=kwargs.get("gamma", 0.99))
        if settings.get("frame_stack"):
            env = VecFrameStack(env, settings["frame_stack"])
    cls = {"sb3_ppo": PPO, "sb3_a2c": A2C}[algo]
    policy = settings.get("policy", "MlpPolicy")
    return cls(policy, env, seed=seed, device="cpu", verbose=0, **kwargs), settings["n_timesteps"]


def sb3_throughput(algo: str, env_id: str, timesteps: int) -> float:
    model, _ = sb3_model(algo, env_id, seed=1)
    model.learn(2_000)
    start = time.perf_counter()
    model.learn(timesteps, reset_num_timesteps=False)
    return timesteps / (time.perf_counter() - start)


def reached(row: dict[str, float], target: float | None) -> bool:
    """Whether a progress row (ours or Stable-Baselines3's) has reached the target: a3c.run's rule."""
    return reached_target(row["episode_reward_mean"], int(row["episodes_total"]), target)


def sb3_train(
    algo: str,
    env_id: str,
    seed: int,
    should_end: Callable[[float, int, float | None], bool],
    target: float | None,
    zoo: bool = True,
) -> dict[str, Any]:
    """Train from construction until should_end(wall_s, env_steps, solved_wall_s) says so (or the zoo's
    budget, for settings with linear schedules, which that budget sets); progress rows as run_one's:
    one per env step on which an episode ended (the 100-episode mean changes only then)."""
    from stable_baselines3.common.callbacks import BaseCallback

    start = time.perf_counter()
    model, budget = sb3_model(algo, env_id, seed, zoo)
    rows: list[dict[str, float]] = []
    solved: dict[str, float] = {}

    class Watch(BaseCallback):
        episodes = 0

        def _on_step(self) -> bool:
            wall = time.perf_counter() - start
            finished = [info["episode"]["r"] for info in self.locals["infos"] if "episode" in info]
            if finished:
                # SB3 adds this step's episodes to ep_info_buffer only after the callback: add them here
                self.episodes += len(finished)
                window = [e["r"] for e in self.model.ep_info_buffer] + finished
                mean = float(np.mean(window[-EPISODE_WINDOW:]))
                row = {
                    "timesteps_total": self.num_timesteps,
                    "wall_s": wall,
                    "episode_reward_mean": mean,
                    "episodes_total": self.episodes,
                }
                rows.append(row)
                if not solved and reached(row, target):
                    solved.update(wall_s=wall, steps=self.num_timesteps)
            return not should_end(wall, self.num_timesteps, solved.get("wall_s"))

    # The zoo's budget sets its linear schedules; with constant ones (and SB3's defaults) training
    # goes on past the budget until should_end, as MEASUREMENTS.md's A2C figures did.
    total = budget if budget is not None and has_linear_schedule(sb3_settings(algo, env_id, zoo)) else 10**9
    model.learn(total, callback=Watch())
    return {"rows": rows, "env_steps": model.num_timesteps, "wall_s": time.perf_counter() - start}


def sb3_solve(algo: str, env_id: str, seed: int, target: float, cap_s: float) -> dict[str, Any]:
    """Train from construction until the mean of the last 100 episodes reaches `target` or `cap_s`."""
    run = sb3_train(algo, env_id, seed, lambda wall, _steps, solved: solved is not None or wall >= cap_s, target)
    first = next((row for row in run["rows"] if reached(row, target)), None)
    return {
        "solved_s": None if first is None else first["wall_s"],
        "solved_steps": None if first is None else first["timesteps_total"],
        "final_reward": run["rows"][-1]["episode_reward_mean"] if run["rows"] else float("nan"),
        "env_steps": run["env_steps"],
        "wall_s": run["wall_s"],
    }


def ours_solve(
    agent: str, config: dict[str, Any], env_id: str, seed: int, target: float, cap_s: float
) -> dict[str, Any]:
    from a3c.comparison import run_one

    record = run_one(agent, env_id, seed, {"episode_reward_mean": target, "time_total_s": cap_s}, config)
    last = record.rows[-1] if record.rows else {}
    return {
        "solved_s": record.solved_wall_s,
        "solved_steps": record.solved_steps,
        "final_reward": last.get("episode_reward_mean"),
        "env_steps": last.get("timesteps_total"),
        "wall_s": last.get("wall_s"),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    times = [r["solved_s"] for r in runs if r["solved_s"] is not None]
    steps = [r["solved_steps"] for r in runs if r["solved_steps"] is not None]
    return {
        "solved": len(times),
        "seeds": len(runs),
        "median_s": statistics.median(times) if len(times) == len(runs) else None,
        "min_s": min(times) if times else None,
        "max_s": max(times) if times else None,
        "median_steps": statistics.median(steps) if steps else None,
        "runs": runs,
    }


# -- report ------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{unit}"


def show(value: float | int | None) -> str:
    """A ratio as latest.md lists it: null, an int as is, a float to 3 decimals."""
    if value is None:
        return "null"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


class Report:
    """Collects figures, prints each table as it is measured, saves JSON after every section."""

    def __init__(self, out_dir: Path, args: argparse.Namespace):
        self.out_dir = out_dir
        self.lines: list[str] = []
        self.data: dict[str, Any] = {
            "date": datetime.now().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "size": "smoke" if args.smoke else "quick" if args.quick else "full",
            "machine": machine(),
        }

    def table(self, title: str, header: list[str], rows: list[list[str]], note: str = "") -> None:
        block = [f"### {title}", ""]
        if note:
            block += [note, ""]
        block += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        block += ["| " + " | ".join(row) + " |" for row in rows]
        text = "\n".join(block) + "\n"
        print("\n" + text, flush=True)
        self.lines.append(text)

    def save(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.data.update(ratios(self.data))
        ordered = {key: self.data[key] for key in RATIO_KEYS} | {
            k: v for k, v in self.data.items() if k not in RATIO_KEYS
        }
        tmp = self.out_dir / "latest.json.tmp"
        tmp.write_text(json.dumps(ordered, indent=2, default=float) + "\n")
        tmp.replace(self.out_dir / "latest.json")
        machine_line = self.data["machine"]
        head = [
            f"Measured {self.data['date']} on {machine_line['cpu_model']} ({machine_line['cores']} cores), "
            f"Python {machine_line['python']}.",
            "",
            f"Command: `{self.data['command']}`",
            "",
            "Ratios (targets in BENCHMARKS.md):",
            "",
        ]
        head += [f"- `{key}`: {show(self.data[key])}" for key in RATIO_KEYS]
        (self.out_dir / "latest.md").write_text("\n".join(head) + "\n\n" + "\n".join(self.lines))


RATIO_KEYS = (
    "tutorial_wall_s",
    "tutorial_to_floor_ratio",
    "pong_fraction_of_two_cores",
    "throughput_ratio_vs_sb3_a2c",
    "fraction_of_env_limit",
    "oversubscription_ratio",
    "cartpole_solve_time_ratio_vs_sb3_ppo",
    "mountaincar_solved_seeds",
    "mountaincar_solve_time_ratio_vs_sb3_ppo",
)


def ratios(data: dict[str, Any]) -> dict[str, Any]:
    """The headline ratios, from this run's figures only; None where something was not measured."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or b == 0 else a / b

    out: dict[str, Any] = dict.fromkeys(RATIO_KEYS)
    tput = data.get("throughput", {})
    best_two = tput.get("a3c_two_workers_best", {}).get("env_steps_per_s")
    out["throughput_ratio_vs_sb3_a2c"] = ratio(best_two, tput.get("sb3_a2c_env_steps_per_s"))
    limit = data.get("limit", {}).get("CartPole-v0_steps_per_s_per_core")
    out["fraction_of_env_limit"] = ratio(best_two, None if limit is None else limit * 2)
    grid = tput.get("grid", [])
    fewer = [r["env_steps_per_s"] for r in grid if r["batch_size"] == 16 and r["num_workers"] < 16]
    sixteen = [r["env_steps_per_s"] for r in grid if r["batch_size"] == 16 and r["num_workers"] == 16]
    out["oversubscription_ratio"] = ratio(sixteen[0] if sixteen else None, max(fewer) if fewer else None)
    tutorial = data.get("tutorial", {}).get("runs", [])
    out["tutorial_wall_s"] = statistics.median([r["wall_s"] for r in tutorial]) if tutorial else None
    floor = data.get("floor")
    if floor and tutorial and all("train_s" in r for r in tutorial):
        per_gradient = statistics.median([r["train_s"] / r["gradients"] for r in tutorial])
        out["tutorial_to_floor_ratio"] = ratio(per_gradient, statistics.median(floor["runs_s"]) / floor["round_trips"])
    out["pong_fraction_of_two_cores"] = data.get("pong", {}).get("fraction")
    cart = data.get("cartpole", {})
    ours = [
        cart[k]["median_s"] for k in ("a3c_tuned", "a3c_throughput", "a3c_default") if cart.get(k, {}).get("median_s")
    ]
    out["cartpole_solve_time_ratio_vs_sb3_ppo"] = ratio(
        min(ours) if ours else None, cart.get("sb3_ppo", {}).get("median_s")
    )
    mountain = data.get("mountaincar", {})
    if "a3c_tuned" in mountain:
        out["mountaincar_solved_seeds"] = mountain["a3c_tuned"]["solved"]
        out["mountaincar_solve_time_ratio_vs_sb3_ppo"] = ratio(
            mountain["a3c_tuned"]["median_s"], mountain.get("sb3_ppo", {}).get("median_s")
        )
    return out


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import gymnasium
    import ray
    import torch

    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "gymnasium": gymnasium.__version__,
    }


# -- the sections ------------------------------------------------------------------------------


def run_limit(report: Report, args: argparse.Namespace) -> None:
    seconds = by_size(args, 3.0, 1.0, 0.1)
    rates = {env: env_step_rate(env, seconds) for env in ("CartPole-v0", "MountainCar-v0")}
    forward = {batch: forward_cost_us(batch, by_size(args, 2000, 2000, 20)) for batch in (1, 16)}
    report.data["limit"] = {f"{env}_steps_per_s_per_core": rate for env, rate in rates.items()}
    report.data["limit"]["forward_us"] = {str(b): v for b, v in forward.items()}
    rows = [[f"{env} raw env.step, random actions, one core", f"{rate:,.0f} steps/s"] for env, rate in rates.items()]
    rows += [
        [
            f"forward pass, {v['network']}, batch {b}: numpy (our workers) / torch",
            f"{v['numpy_us']:.0f} / {v['torch_us']:.0f} us",
        ]
        for b, v in forward.items()
    ]
    report.table("The limit", ["what", "figure"], rows)


def run_throughput(report: Report, args: argparse.Namespace) -> None:
    seconds = by_size(args, 8.0, 3.0, 0.2)
    workers = by_size(args, [1, 2, 4, 16], [2, 16], [2])
    batches = by_size(args, [16, 64], [16], [16])
    grid = []
    for batch in batches:
        for n in workers:
            r = a3c_throughput({"num_workers": n, "batch_size": batch, "num_envs_per_worker": 1}, seconds)
            grid.append({"num_workers": n, "batch_size": batch, "num_envs_per_worker": 1, **r})
            print(f"  throughput workers={n} batch={batch}: {r['env_steps_per_s']:,.0f} steps/s", flush=True)
    tuned_rows = []
    for name in by_size(args, ("cartpole", "cartpole_throughput"), ("cartpole", "cartpole_throughput"), ("cartpole",)):
        tuned = tuned_config(name)
        tuned_rows.append(
            {
                "num_workers": tuned["num_workers"],
                "batch_size": tuned["batch_size"],
                "num_envs_per_worker": tuned["num_envs_per_worker"],
                "config": f"examples/tuned/{name}.yaml",
                **a3c_throughput(tuned, seconds),
            }
        )
    sb3 = sb3_throughput("sb3_a2c", "CartPole-v0", by_size(args, 40_000, 10_000, 500))
    two = [r for r in [*grid, *tuned_rows] if r["num_workers"] == 2]
    best_two = max(two, key=lambda r: r["env_steps_per_s"])
    report.data["throughput"] = {
        "seconds_per_cell": seconds,
        "grid": grid,
        "tuned": tuned_rows,
        "a3c_two_workers_best": best_two,
        "sb3_a2c_env_steps_per_s": sb3,
    }
    rows = [
        [
            str(r["num_workers"]),
            str(r["batch_size"]),
            str(r["num_envs_per_worker"]),
            f"{r['env_steps_per_s']:,.0f}",
            f"{r['grads_per_s']:,.0f}",
            f"{r['wait_ms_per_grad']:.2f} / {r['apply_ms_per_grad']:.2f} / {r['dispatch_ms_per_grad']:.2f}",
            " / ".join(f"{r['cpu_ms_per_grad'][k]:.2f}" for k in ("driver", "workers", "ray_system")),
            f"{r['peak_memory_mib']:,.0f}",
        ]
        for r in [*grid, *tuned_rows]
    ]
    rows.append(["SB3 A2C (zoo: 8 envs, ent_coef 0)", "-", "8", f"{sb3:,.0f}", "-", "-", "-", "-"])
    report.table(
        "Throughput on CartPole-v0 (2 cores)",
        [
            "workers",
            "batch_size",
            "envs/worker",
            "env steps/s",
            "gradients/s",
            "driver ms/grad wait / apply / dispatch",
            "CPU ms/grad driver / workers / Ray servers",
            "peak MiB, all processes",
        ],
        rows,
        note=f"Each cell: {seconds:.0f} s of A3C train() after one warm-up iteration. The last two A3C rows "
        "are examples/tuned/cartpole.yaml and examples/tuned/cartpole_throughput.yaml.",
    )


def run_floor(report: Report, args: argparse.Namespace) -> None:
    round_trips = by_size(args, TUTORIAL_ITERATIONS, TUTORIAL_ITERATIONS, 2) * 100  # 100: grads_per_step
    size = tutorial_parameter_count()
    runs = [ray_floor(round_trips, size) for _ in range(by_size(args, 3, 1, 1))]
    for seconds in runs:
        print(f"  floor: {round_trips:,} round trips in {seconds:.1f} s", flush=True)
    report.data["floor"] = {"round_trips": round_trips, "float32_each_way": size, "runs_s": runs}
    report.table(
        "Ray's floor for the tutorial: the same round trips with no work in them",
        ["round trips", "float32 each way", "seconds per run", "ms per round trip (median)"],
        [
            [
                f"{round_trips:,}",
                f"{size:,}",
                " / ".join(f"{r:.1f}" for r in runs),
                f"{statistics.median(runs) / round_trips * 1e3:.3f}",
            ]
        ],
        note="16 actors (num_cpus=0) echo the array they were sent; the driver waits for any one and "
        "relaunches it (benchmarks/run.py ray_floor). The tutorial section divides by this.",
    )


def run_tutorial(report: Report, args: argparse.Namespace) -> None:
    from a3c import DEFAULT_CONFIG, A3CAgent

    iterations = by_size(args, TUTORIAL_ITERATIONS, TUTORIAL_ITERATIONS, 2)
    runs = []
    for seed in by_size(args, args.seeds_list, [0], [0]):
        config = DEFAULT_CONFIG.copy()
        config["num_workers"], config["batch_size"], config["seed"] = 16, 16, seed
        start = time.perf_counter()
        agent = A3CAgent(config, "CartPole-v0")
        built = time.perf_counter() - start
        cpu_before = cpu_seconds_by_role()
        for _ in range(iterations):
            result = agent.train()
        wall = time.perf_counter() - start
        cpu_after = cpu_seconds_by_role()
        grads = iterations * config["grads_per_step"]
        agent.stop()
        cpu_ms = {role: (cpu_after[role] - cpu_before[role]) / grads * 1e3 for role in cpu_before}
        runs.append(
            {
                "seed": seed,
                "wall_s": wall,
                "build_s": built,
                "train_s": wall - built,
                "gradients": grads,
                "final_reward": result.episode_reward_mean,
                "cpu_ms_per_grad": cpu_ms,
            }
        )
        print(f"  tutorial seed {seed}: {wall:.1f} s, reward {result.episode_reward_mean:.1f}", flush=True)
    report.data["tutorial"] = {"runs": runs}
    floor = report.data.get("floor")
    floor_ms = statistics.median(floor["runs_s"]) / floor["round_trips"] * 1e3 if floor else None
    rows = [
        [
            str(r["seed"]),
            f"{r['wall_s']:.1f}",
            f"{r['build_s']:.1f}",
            f"{r['train_s']:.1f}",
            fmt(None if floor_ms is None else r["train_s"] / r["gradients"] * 1e3 / floor_ms, 2, "x"),
            f"{r['final_reward']:.1f}",
            " / ".join(f"{r['cpu_ms_per_grad'][k]:.2f}" for k in ("driver", "workers", "ray_system")),
        ]
        for r in runs
    ]
    report.table(
        f"The tutorial (16 workers, batch 16, {iterations} iterations of 100 gradients, CartPole-v0)",
        [
            "seed",
            "wall s from construction",
            "of which actor start-up s",
            "training s",
            "training per gradient / floor per round trip",
            "final episode_reward_mean",
            "CPU ms/grad driver / workers / Ray servers",
        ],
        rows,
        note="The ratio needs the floor section in the same run (target: at most 1.5x).",
    )


def run_pong(report: Report, args: argparse.Namespace) -> None:
    try:
        import ale_py  # noqa: F401
    except ImportError:
        print("  pong: skipped (the atari extra is not installed: make extras)", flush=True)
        return
    from a3c import DEFAULT_CONFIG
    from a3c.config import default_envs_per_worker

    num_envs = default_envs_per_worker(DEFAULT_CONFIG["num_workers"])  # what each default worker steps
    seconds = by_size(args, 60.0, 20.0, 0.5)
    raw = pong_raw_rate(by_size(args, 10.0, 5.0, 0.5), num_envs)
    learning = a3c_throughput({"grads_per_step": by_size(args, 20, 20, 2)}, seconds, env="ALE/Pong-v5")
    fraction = learning["env_steps_per_s"] / (2 * raw)
    report.data["pong"] = {"raw_steps_per_s_one_process": raw, "num_envs": num_envs, **learning, "fraction": fraction}
    report.table(
        "ALE/Pong-v5: learning against two cores' raw rate",
        ["what", "figure"],
        [
            [f"raw agent steps/s, one process, {num_envs}-env vector env, random actions", f"{raw:,.0f}"],
            [
                f"A3C learning with the defaults ({seconds:.0f} s after a warm-up iteration)",
                f"{learning['env_steps_per_s']:,.0f} agent steps/s, {learning['grads_per_s']:,.1f} gradients/s",
            ],
            [
                "driver ms/grad wait / apply / dispatch",
                f"{learning['wait_ms_per_grad']:.2f} / {learning['apply_ms_per_grad']:.2f} / "
                f"{learning['dispatch_ms_per_grad']:.2f}",
            ],
            ["fraction of two cores' raw rate (target: at least 0.5)", f"{fraction:.2f}"],
        ],
        note="Agent steps: 4 emulator frames each in both (frame skip 4), 84x84 grayscale, 4 stacked frames.",
    )


def solve_section(
    report: Report,
    args: argparse.Namespace,
    env_id: str,
    target: float,
    cap_s: float,
    entrants: dict[str, Callable[[int], dict[str, Any]]],
    key: str,
) -> None:
    seeds = by_size(args, args.seeds_list, [0], [0])
    results: dict[str, Any] = {"target": target, "cap_s": cap_s}
    for name, run in entrants.items():
        runs = []
        for seed in seeds:
            outcome = {"seed": seed, **run(seed)}
            runs.append(outcome)
            print(
                f"  {env_id} {name} seed {seed}: solved {fmt(outcome['solved_s'], 1, ' s')} "
                f"(final {fmt(outcome['final_reward'])}, {outcome['env_steps']:,} steps)",
                flush=True,
            )
        results[name] = summarize(runs)
        report.data[key] = results
        report.save()
    rows = []
    for name in entrants:
        s = results[name]
        span = f"[{fmt(s['min_s'])}-{fmt(s['max_s'])}]" if s["min_s"] is not None else ""
        finals = ", ".join(fmt(r["final_reward"]) for r in s["runs"])
        rows.append(
            [name, f"{s['solved']}/{s['seeds']}", f"{fmt(s['median_s'])} {span}", fmt(s["median_steps"], 0), finals]
        )
    report.table(
        f"Time to solve {env_id} (mean of last 100 episodes >= {target:g}), wall clock from construction",
        ["agent", "solved", "seconds, median [min-max]", "env steps (median)", "final reward per seed"],
        rows,
        note=f"Capped at {cap_s:.0f} s per run; a median is shown only when every seed solved.",
    )


def run_cartpole(report: Report, args: argparse.Namespace) -> None:
    cap = by_size(args, args.cartpole_cap_s, 60.0, 1.0)
    env, target = "CartPole-v0", CARTPOLE_TARGET
    entrants: dict[str, Callable[[int], dict[str, Any]]] = {
        "a3c_tuned": lambda s: ours_solve("a3c", tuned_config("cartpole"), env, s, target, cap),
        "a3c_throughput": lambda s: ours_solve("a3c", tuned_config("cartpole_throughput"), env, s, target, cap),
        "a3c_default": lambda s: ours_solve("a3c", {}, env, s, target, cap),
        "ppo": lambda s: ours_solve("ppo", {}, env, s, target, cap),
        "a2c": lambda s: ours_solve("a2c", {}, env, s, target, cap),
        "sb3_ppo": lambda s: sb3_solve("sb3_ppo", env, s, target, cap),
        "sb3_a2c": lambda s: sb3_solve("sb3_a2c", env, s, target, cap),
    }
    if args.quick or args.smoke:
        entrants = {k: v for k, v in entrants.items() if k in ("a3c_tuned", "sb3_ppo")}
    solve_section(report, args, env, target, cap, entrants, "cartpole")


def run_mountaincar(report: Report, args: argparse.Namespace) -> None:
    cap = by_size(args, args.mountaincar_cap_s, 45.0, 1.0)
    env, target = "MountainCar-v0", MOUNTAINCAR_TARGET
    entrants: dict[str, Callable[[int], dict[str, Any]]] = {
        "a3c_tuned": lambda s: ours_solve("a3c", tuned_config("mountaincar"), env, s, target, cap),
        "sb3_ppo": lambda s: sb3_solve("sb3_ppo", env, s, target, cap),
        "sb3_a2c": lambda s: sb3_solve("sb3_a2c", env, s, target, cap),
    }
    if args.quick or args.smoke:
        entrants.pop("sb3_a2c")
    solve_section(report, args, env, target, cap, entrants, "mountaincar")


def start_ray() -> None:
    """One quiet Ray for every run of a benchmark, started before the first agent so that no entrant's
    time includes it: the library's own start (a private local Ray on loopback, never another
    session's cluster, unless RAY_ADDRESS names one)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    a3c_logger = logging.getLogger("a3c")  # warnings only: a handler of ours keeps the agents' INFO lines off
    a3c_logger.addHandler(logging.StreamHandler(sys.stderr))
    a3c_logger.setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    from a3c.execution.ray_pool import ensure_ray

    ensure_ray(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="one seed, fewer cells, short caps (under 5 minutes)")
    size.add_argument(
        "--smoke", action="store_true", help="every section at its smallest, seconds each: checks that it runs (CI)"
    )
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to measure")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per solve-time entry (full mode)")
    parser.add_argument("--cartpole-cap-s", type=float, default=120.0, help="time cap per CartPole run")
    parser.add_argument("--mountaincar-cap-s", type=float, default=600.0, help="time cap per MountainCar run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where latest.json and latest.md go (default benchmarks/results; with --quick, benchmarks/results/quick)",
    )
    args = parser.parse_args()
    if args.out is None:  # a quick run never overwrites the full run's figures
        args.out = ROOT / "benchmarks" / "results" / ("smoke" if args.smoke else "quick" if args.quick else "")
    args.seeds_list = list(range(args.seeds))
    try:
        import psutil  # noqa: F401
        import stable_baselines3  # noqa: F401
    except ImportError as error:
        sys.exit(
            f"benchmarks/run.py needs the bench extras ({error.name} is missing): run `make bench`, "
            "or .venv/bin/pip install -e '.[bench]'"
        )
    start_ray()
    report = Report(args.out, args)
    started = time.perf_counter()
    runners = {
        "limit": run_limit,
        "floor": run_floor,
        "throughput": run_throughput,
        "tutorial": run_tutorial,
        "pong": run_pong,
        "cartpole": run_cartpole,
        "mountaincar": run_mountaincar,
    }
    for section in SECTIONS:
        if section in args.sections:
            print(f"== {section} ({time.perf_counter() - started:.0f} s into the run)", flush=True)
            runners[section](report, args)
            report.save()
    report.data["total_wall_s"] = time.perf_counter() - started
    report.save()
    print("\nRatios:", json.dumps({k: report.data[k] for k in RATIO_KEYS}, indent=2))
    print(f"Wrote {args.out / 'latest.json'} and {args.out / 'latest.md'} in {report.data['total_wall_s']:.0f} s")


if __name__ == "__main__":
    main()
