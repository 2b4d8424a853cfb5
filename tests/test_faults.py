"""Fault injection on a real local Ray: killed, failing and hanging workers; NaN gradients."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import ray

from a3c import A2CAgent, A3CAgent
from a3c.errors import TrainingError, WorkerFailureError

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # env classes below travel by value

SMALL = {"model": {"fcnet_hiddens": [32]}, "grads_per_step": 30, "seed": 0}


def flaky_config(trigger: Path, mode: str, **overrides) -> dict:
    """Two workers on FlakyCartPole, misbehaving in `mode` while `trigger` exists."""
    return {**SMALL, "num_workers": 2, "env_config": {"trigger": str(trigger), "mode": mode}, **overrides}


class FlakyCartPole(gym.Wrapper):
    """CartPole that raises, hangs or returns NaN rewards when a trigger file exists."""

    def __init__(self, env_config):
        super().__init__(gym.make("CartPole-v1"))
        self.trigger = Path(env_config["trigger"])
        self.mode = env_config["mode"]

    def step(self, action):
        if self.trigger.exists():
            if self.mode == "raise":
                raise RuntimeError("injected environment failure")
            if self.mode == "exit_once":  # the worker process dies, as if killed
                self.trigger.unlink()
                os._exit(1)
            if self.mode == "raise_once":
                self.trigger.unlink()
                raise RuntimeError("injected environment failure")
            if self.mode == "hang":
                time.sleep(3600)
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.mode == "nan" and self.trigger.exists():
            reward = float("nan")
        return obs, reward, terminated, truncated, info


def test_sigkilled_workers_are_replaced_and_training_still_learns(ray_session):
    agent = A3CAgent({"num_workers": 3, "seed": 1, "grads_per_step": 100, "batch_size": 16}, "CartPole-v0")
    agent.train()
    for round_ in range(2):
        pids = ray_session.get([actor.pid.remote() for actor in agent.pool.actors])
        victim = pids[round_ % 3]
        timer = threading.Timer(0.2, os.kill, (victim, signal.SIGKILL))
        timer.start()  # the kill lands while train() is waiting on in-flight tasks
        result = agent.train()
        timer.join()
        assert result.info["learner"]["num_grads_applied"] == 100
    assert result.info["num_worker_restarts"] >= 1
    for _ in range(25):
        result = agent.train()
    agent.stop()
    assert result.info["num_worker_restarts"] >= 1
    assert result.episode_reward_mean >= 100, result.episode_reward_mean


def test_a_worker_that_keeps_failing_stops_training_with_a_clear_error(ray_session, tmp_path):
    trigger = tmp_path / "fail"
    agent = A3CAgent(flaky_config(trigger, "raise", max_worker_restarts=2), FlakyCartPole)
    agent.train()
    trigger.touch()
    with pytest.raises(
        WorkerFailureError, match=r"failed 3 times \(max_worker_restarts=2\).*injected environment failure"
    ):
        for _ in range(10):
            agent.train()
    agent.stop()


def test_a_worker_that_failed_once_is_replaced_and_counted(ray_session, tmp_path):
    trigger = tmp_path / "fail"
    agent = A2CAgent(flaky_config(trigger, "exit_once"), FlakyCartPole)
    trigger.touch()
    result = agent.train()
    agent.stop()
    assert result.info["num_worker_restarts"] == 1
    assert result.timesteps_this_iter == (30 // 2) * 2 * agent.config["batch_size"]


def test_a_hanging_worker_is_noticed_and_replaced(ray_session, tmp_path):
    trigger = tmp_path / "hang"
    agent = A3CAgent(flaky_config(trigger, "hang", worker_timeout_s=3.0), FlakyCartPole)
    agent.train()
    trigger.touch()
    threading.Timer(1.0, trigger.unlink).start()  # both workers hang once; their replacements run normally
    start = time.monotonic()
    result = agent.train()
    agent.stop()
    assert time.monotonic() - start < 60
    assert result.info["num_worker_restarts"] >= 1
    assert result.info["learner"]["num_grads_applied"] == 30


def test_nan_gradients_are_rejected_counted_and_stop_training_past_the_limit(tmp_path):
    trigger = tmp_path / "nan"
    agent = A3CAgent(flaky_config(trigger, "nan", execution="local", max_bad_gradients=5), FlakyCartPole)
    agent.train()
    weights = agent.learner.weights().copy()
    trigger.touch()
    with pytest.raises(TrainingError, match="NaN or inf.*learning rate.*observation_filter"):
        agent.train()
    assert agent.num_bad_gradients == 6
    np.testing.assert_array_equal(agent.learner.weights(), weights)  # nothing bad was applied
    assert np.all(np.isfinite(agent.learner.weights()))


class BrokenResetCartPole(gym.Wrapper):
    """CartPole whose reset raises every time once the trigger file exists."""

    def __init__(self, env_config):
        super().__init__(gym.make("CartPole-v1"))
        self.trigger = Path(env_config["trigger"])

    def reset(self, **kwargs):
        if self.trigger.exists():
            raise RuntimeError("injected reset failure")
        return self.env.reset(**kwargs)


def test_an_environment_that_raises_in_step_is_rebuilt_and_its_episode_dropped(tmp_path):
    trigger = tmp_path / "fail"
    agent = A3CAgent(flaky_config(trigger, "raise_once", execution="local"), FlakyCartPole)
    agent.train()
    old_envs = [env for worker in agent.pool.workers for env in worker.envs]
    trigger.touch()
    result = agent.train()
    assert result.info["num_env_errors"] == 1
    assert result.info["learner"]["num_grads_applied"] == 30
    new_envs = [env for worker in agent.pool.workers for env in worker.envs]
    assert sum(a is not b for a, b in zip(old_envs, new_envs, strict=True)) == 1, "exactly one env was rebuilt"
    assert agent.train().info["num_env_errors"] == 1, "training goes on without new errors"


def test_an_environment_that_fails_on_every_reset_is_a_clear_error(tmp_path):
    from a3c import EnvError

    trigger = tmp_path / "fail"
    trigger.touch()
    with pytest.raises(EnvError, match="failed on every reset.*injected reset failure"):
        A3CAgent({**SMALL, "num_workers": 0, "env_config": {"trigger": str(trigger)}}, BrokenResetCartPole)
