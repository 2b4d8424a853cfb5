"""Who trains in a benchmark, behind one interface: `Entrant.train(env_id, seed, stop, run_dir)`.

Ours (a3c, a2c, ppo) train through a3c.run.Run: its stop rules, its run directory (the layout `a3c
train` writes). Stable-Baselines3 (sb3_ppo, sb3_a2c, with its own defaults or rl-baselines3-zoo's
settings from benchmarks/zoo/) is stopped by the same a3c.run stop rules, its finished episodes go
through a3c's own EpisodeTracker (the same 100-episode window), and its rows are written by
a3c.runlog into the same progress.csv / result.json / config.json. So every entrant's run directory
reads the same, and "reached the threshold" is a3c.run.reached_target for all of them.

Wall clock counts from before the model is built (our actors' start-up, SB3's env construction).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from a3c.run import Progress, StopRule, first_stop, reached_target

ROOT = Path(__file__).resolve().parents[1]
TUNED = ROOT / "examples" / "tuned"
ZOO = Path(__file__).resolve().parent / "zoo"
OURS = ("a3c", "a2c", "ppo")
SB3 = {"sb3_ppo": "ppo", "sb3_a2c": "a2c"}  # entrant agent -> the zoo's file (benchmarks/zoo/ALGO.json)
# Stable-Baselines3's own defaults, as `PPO("MlpPolicy", env_id)` builds them: one environment, no
# normalization, the algorithm's default arguments (constant learning rate: no budget).
SB3_DEFAULTS: dict[str, Any] = {"n_envs": 1, "n_timesteps": None, "normalize": False, "kwargs": {}}
LINEAR_SCHEDULE_KEYS = ("learning_rate", "clip_range")


class AfterTarget(StopRule):
    """Stop once a run has trained `factor` times as long again as it took to first reach `target`
    (a3c.run.reached_target: a full 100-episode window), so that part of the run is life after solving;
    factor 0 stops on reaching it. One instance per run: it remembers when that run first reached it."""

    def __init__(self, target: float, factor: float):
        self.target, self.factor = target, factor
        self.reached_wall_s: float | None = None

    def reason(self, progress: Progress) -> str | None:
        if self.reached_wall_s is None and reached_target(
            progress.episode_reward_mean, progress.episodes_total, self.target
        ):
            self.reached_wall_s = progress.wall_s
        if self.reached_wall_s is None or progress.wall_s < self.reached_wall_s * (1.0 + self.factor):
            return None
        return f"{self.factor:g}x its time to {self.target:g} after reaching it"


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, nested dicts (a config's "model") merged key by key."""
    merged = dict(base)
    for key, value in over.items():
        merged[key] = (
            deep_merge(merged[key], value) if isinstance(merged.get(key), dict) and isinstance(value, dict) else value
        )
    return merged


def tuned_config(name: str) -> dict[str, Any]:
    """examples/tuned/NAME.yaml."""
    return yaml.safe_load((TUNED / f"{name}.yaml").read_text())


def zoo_settings(agent: str, env_id: str) -> dict[str, Any] | None:
    """rl-baselines3-zoo's settings for an SB3 entrant on `env_id` (benchmarks/zoo/), None if it has none."""
    table = json.loads((ZOO / f"{SB3[agent]}.json").read_text())
    return table.get(table["_same_as"].get(env_id, env_id))


@dataclass(frozen=True)
class Entrant:
    """One entrant of a suite: `agent` (a3c / a2c / ppo, or sb3_ppo / sb3_a2c) with, for ours, a config
    (examples/tuned/`tuned`.yaml under `config`), for SB3, its defaults or (`zoo`) the zoo's settings.
    An `optional` entrant runs only when `--entrants` names it, outside the suite's time budget."""

    name: str
    agent: str
    config: dict[str, Any] = field(default_factory=dict)
    tuned: str | None = None
    zoo: bool = False
    optional: bool = False

    @classmethod
    def from_dict(cls, name: str, spec: dict[str, Any]) -> Entrant:
        known = {"agent", "config", "tuned", "zoo", "optional"}
        if set(spec) - known or spec.get("agent") not in (*OURS, *SB3):
            raise ValueError(f"entrant {name!r}: {spec} (keys {sorted(known)}; agent one of {[*OURS, *SB3]})")
        return cls(
            name,
            spec["agent"],
            spec.get("config", {}),
            spec.get("tuned"),
            spec.get("zoo", False),
            spec.get("optional", False),
        )

    @property
    def is_sb3(self) -> bool:
        return self.agent in SB3

    def runs_on(self, env_id: str) -> bool:
        """A zoo entrant runs only where the zoo has settings."""
        return not self.zoo or zoo_settings(self.agent, env_id) is not None

    def resolved_config(self) -> dict[str, Any]:
        return deep_merge(tuned_config(self.tuned) if self.tuned else {}, self.config)

    def train(self, env_id: str, seed: int, stop: list[StopRule], run_dir: Path) -> None:
        """Train from construction until a rule of `stop` ends the run, writing `run_dir`."""
        if self.is_sb3:
            sb3_train(self.agent, env_id, seed, stop, run_dir, self.zoo)
        else:
            ours_train(self.agent, self.resolved_config(), env_id, seed, stop, run_dir)


def ours_train(agent: str, config: dict[str, Any], env_id: str, seed: int, stop: list[StopRule], run_dir: Path) -> None:
    """One of our agents through a3c.run.Run (no periodic checkpoints: the final one only)."""
    from a3c.agents import AGENTS
    from a3c.run import Run

    start = time.perf_counter()
    trainer = AGENTS[agent]({**config, "seed": seed}, env_id)
    try:
        Run(trainer, run_dir, stop, checkpoint_every=0, catch_ctrl_c=False, started_at=start).run()
    finally:
        trainer.stop()


# -- Stable-Baselines3 ---------------------------------------------------------------------------------


def sb3_settings(agent: str, env_id: str, zoo: bool) -> dict[str, Any]:
    if not zoo:
        return SB3_DEFAULTS
    settings = zoo_settings(agent, env_id)
    if settings is None:
        raise ValueError(f"rl-baselines3-zoo has no {agent} settings for {env_id} (benchmarks/zoo/{SB3[agent]}.json)")
    return settings


def has_linear_schedule(settings: dict[str, Any]) -> bool:
    return any(str(settings["kwargs"].get(key, "")).startswith("lin_") for key in LINEAR_SCHEDULE_KEYS)


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


def sb3_model(agent: str, env_id: str, seed: int, zoo: bool = True) -> Any:
    """A Stable-Baselines3 model with the zoo's settings (or SB3's defaults), torch at one thread."""
    import torch

    torch.set_num_threads(1)
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    from a3c.envs import check_env_id

    settings = sb3_settings(agent, env_id, zoo)
    kwargs = dict(settings["kwargs"])
    for key in LINEAR_SCHEDULE_KEYS:
        if str(kwargs.get(key, "")).startswith("lin_"):
            start_value = float(kwargs[key].removeprefix("lin_"))
            kwargs[key] = lambda progress, v=start_value: progress * v  # the zoo's lin_<v>
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
    cls = {"sb3_ppo": PPO, "sb3_a2c": A2C}[agent]
    return cls(settings.get("policy", "MlpPolicy"), env, seed=seed, device="cpu", verbose=0, **kwargs)


def sb3_train(agent: str, env_id: str, seed: int, stop: list[StopRule], run_dir: Path, zoo: bool = True) -> None:
    """Train from construction until a rule of `stop` ends the run (checked after every env step), or
    the zoo's budget where its linear schedules need one. A progress row per env step on which an
    episode ended (the 100-episode mean changes only then), and one at the end."""
    from stable_baselines3.common.callbacks import BaseCallback

    from a3c.result import EpisodeTracker, TrainResult
    from a3c.runlog import RunLogger, write_json_atomic

    start = time.perf_counter()
    settings = sb3_settings(agent, env_id, zoo)
    model = sb3_model(agent, env_id, seed, zoo)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "config.json", {"agent": agent, "env": env_id, "seed": seed, "zoo": zoo, **settings})
    logger = RunLogger(run_dir, tensorboard=False)
    episodes = EpisodeTracker()

    class Watch(BaseCallback):
        rows, logged_steps, logged_wall = 0, 0, 0.0

        def log_row(self, wall: float) -> None:
            self.rows += 1
            result = TrainResult(
                **episodes.summary(),
                episodes_this_iter=episodes.episodes_this_iter,
                episodes_total=episodes.episodes_total,
                timesteps_this_iter=self.num_timesteps - self.logged_steps,
                timesteps_total=self.num_timesteps,
                training_iteration=self.rows,
                time_this_iter_s=wall - self.logged_wall,
                time_total_s=wall,
            )
            logger.log(result, {"wall_s": wall})
            episodes.episodes_this_iter, self.logged_steps, self.logged_wall = 0, self.num_timesteps, wall

        def _on_step(self) -> bool:
            wall = time.perf_counter() - start
            finished = [info["episode"] for info in self.locals["infos"] if "episode" in info]
            if finished:
                episodes.add([float(e["r"]) for e in finished], [int(e["l"]) for e in finished])
                self.log_row(wall)
            mean = episodes.summary()["episode_reward_mean"]
            progress = Progress(self.rows, self.num_timesteps, wall, wall, mean, episodes.episodes_total)
            return first_stop(stop, progress) is None

        def _on_training_end(self) -> None:
            if self.num_timesteps > self.logged_steps:
                self.log_row(time.perf_counter() - start)

    # The zoo's budget sets its linear schedules; with constant ones (and SB3's defaults) training
    # goes on past the budget until a stop rule ends it.
    total = settings["n_timesteps"] if has_linear_schedule(settings) else 10**9
    try:
        model.learn(total, callback=Watch())
    finally:
        logger.close()
        model.get_env().close()


def sb3_throughput(agent: str, env_id: str, timesteps: int) -> float:
    """Env steps/s of SB3 with the zoo's settings, after 2,000 steps of warm-up."""
    model = sb3_model(agent, env_id, seed=1)
    model.learn(2_000)
    start = time.perf_counter()
    model.learn(timesteps, reset_num_timesteps=False)
    return timesteps / (time.perf_counter() - start)


def missing_sb3() -> str | None:
    """None if Stable-Baselines3 is installed, else one line naming the extra to install."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        return "the Stable-Baselines3 entrants: install the 'bench' extra: pip install -e '.[bench]' (or: make suite)"
    return None


def start_ray() -> None:
    """One quiet Ray for every run of a benchmark, started before the first entrant so that no entrant's
    time includes it: the library's own start (a private local Ray on loopback, never another
    session's cluster, unless RAY_ADDRESS names one)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    a3c_logger = logging.getLogger("a3c")  # warnings only: a handler of ours keeps the agents' INFO lines off
    a3c_logger.addHandler(logging.StreamHandler(sys.stderr))
    a3c_logger.setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    from a3c.execution.ray_runtime import ensure_ray

    ensure_ray(None)
