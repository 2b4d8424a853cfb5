"""Fault injection on a real local Ray: killed, failing and hanging workers; NaN gradients."""

import os
import signal
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import ray

from a3c import A2CAgent, A3CAgent
from a3c.errors import TrainingError, WorkerFailureError

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # env classes below travel by value

SMALL = {"model": {"fcnet_hiddens": [32]}, "grads_per_step": 30, "seed": 0, "num_envs_per_worker": 1}


def flaky_config(trigger: Path, mode: str, env_config: dict | None = None, **overrides) -> dict:
    """Two workers on FlakyCartPole, misbehaving in `mode` once `trigger` exists ("hang_once_each": both)."""
    env_config = {"trigger": str(trigger), "mode": mode, "slots": 2, **(env_config or {})}
    return {**SMALL, "num_workers": 2, "env_config": env_config, **overrides}


def consume(trigger: Path) -> bool:
    """True for exactly one caller, across processes: the one whose unlink removed `trigger`."""
    try:
        trigger.unlink()
        return True
    except FileNotFoundError:
        return False


def claim_slot(trigger: Path, slots: int) -> bool:
    """True for at most `slots` callers, across processes: each creates one slot file, holding its pid."""
    mine = Path(f"{trigger}.{os.getpid()}.tmp")
    mine.write_text(str(os.getpid()))
    try:
        for slot in range(slots):
            try:
                os.link(mine, f"{trigger}.slot{slot}")  # atomic: the file appears with the pid in it
                return True
            except FileExistsError:
                continue
        return False
    finally:
        mine.unlink()


class FlakyCartPole(gym.Wrapper):
    """CartPole that misbehaves once a trigger file exists, from inside the worker's task.

    Modes: "raise" (every step raises), "raise_once", "exit_once" (the process exits), "sigkill_once"
    (the process SIGKILLs itself), "hang_once_each" (each of the first `slots` processes to step
    hangs; later ones, such as replacements, run normally) and "nan" (NaN rewards). The "_once"
    modes act in exactly one process: the one that consumes the trigger. Every fault thus lands
    while a task is in flight, whatever the machine's speed.
    """

    def __init__(self, env_config):
        super().__init__(gym.make(env_config.get("env_id", "CartPole-v1")))
        self.trigger = Path(env_config["trigger"])
        self.mode = env_config["mode"]
        self.slots = env_config.get("slots", 0)

    def step(self, action):
        if self.trigger.exists():
            if self.mode == "raise":
                raise RuntimeError("injected environment failure")
            if self.mode == "exit_once" and consume(self.trigger):  # the worker process dies, as if killed
                os._exit(1)
            if self.mode == "sigkill_once" and consume(self.trigger):
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "raise_once" and consume(self.trigger):
                raise RuntimeError("injected environment failure")
            if self.mode == "hang_once_each" and claim_slot(self.trigger, self.slots):
                time.sleep(3600)
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.mode == "nan" and self.trigger.exists():
            reward = float("nan")
        return obs, reward, terminated, truncated, info


def test_sigkilled_workers_are_replaced_and_training_still_learns(ray_session, tmp_path):
    trigger = tmp_path / "kill"
    env_config = {"trigger": str(trigger), "mode": "sigkill_once", "env_id": "CartPole-v0"}
    config = {"num_workers": 3, "num_envs_per_worker": 1, "seed": 1, "grads_per_step": 100, "batch_size": 16}
    agent = A3CAgent({**config, "env_config": env_config}, FlakyCartPole)
    agent.train()
    for _ in range(2):
        trigger.touch()  # the next worker to step SIGKILLs its own process, in the middle of its task
        result = agent.train()
        assert not trigger.exists(), "workers stepped after the trigger, so one of them was killed mid-task"
        assert result.info["learner"]["num_grads_applied"] == 100, "the killed worker's task is not counted"
    # The claim is that learning goes on after the kills: the mean reaches 100 within the budget (4 calls
    # alone, 4 under three busy loops on 2 cores; 200 by call 13-17). Not where it stands at the budget's
    # end: one CI run in several saw 52.6 at call 27 where the runs above stand at 200, an asynchronous
    # run's variance (the order gradients land in) that says nothing about the pool.
    means = []
    for _ in range(25):
        result = agent.train()
        means.append(result.episode_reward_mean)
        if result.episode_reward_mean >= 100:
            break
    agent.stop()
    assert result.info["num_worker_restarts"] == 2, "each killed worker was replaced, once (and no other died)"
    assert result.episode_reward_mean >= 100, f"means after the kills, one per train() call: {means}"


def test_a_worker_dead_between_train_calls_is_replaced_where_it_is_found(ray_session, tmp_path):
    """A worker that dies between train() calls, its task unfinished: the pool is whole again at the
    next call that reaches the workers, and the lost task is not blamed on the replacement."""
    trigger = tmp_path / "hang"
    hung_slot = Path(f"{trigger}.slot0")
    agent = A3CAgent(flaky_config(trigger, "hang_once_each", env_config={"slots": 1}), FlakyCartPole)
    agent.train()
    trigger.touch()
    agent.train()  # one worker hangs mid-task; the other computes all 30 gradients
    os.kill(int(hung_slot.read_text()), signal.SIGKILL)  # dies between two train() calls, its task in flight
    assert int(hung_slot.read_text()) not in agent.pool.call_all("pid"), "a direct call replaced the dead worker"
    result = agent.train()
    assert result.info["num_worker_restarts"] == 1, "the dead worker's lost task is not blamed on its replacement"
    assert result.info["learner"]["num_grads_applied"] == 30

    hung_slot.unlink()  # the next worker to step hangs again
    agent.train()
    os.kill(int(hung_slot.read_text()), signal.SIGKILL)
    agent.set_weights(agent.get_weights())  # drops the tasks in flight: the dead worker is found and replaced
    assert agent.pool.num_restarts() == 2
    assert agent.train().info["learner"]["num_grads_applied"] == 30

    hung_slot.unlink()
    agent.train()
    os.kill(int(hung_slot.read_text()), signal.SIGKILL)
    assert agent.compute_action(np.zeros(4, dtype=np.float32)) in (0, 1)
    assert agent.save(tmp_path).is_file()
    agent.stop()  # kills the live actor; the dead one is no error
    agent.stop()


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
    agent = A3CAgent(flaky_config(trigger, "hang_once_each", worker_timeout_s=3.0), FlakyCartPole)
    agent.train()
    # Both workers hang at their next step, so train() cannot collect its 30 gradients before
    # worker_timeout_s; their replacements find no slot left and run normally.
    trigger.touch()
    start = time.monotonic()
    result = agent.train()
    agent.stop()
    assert time.monotonic() - start < 60, "noticed after worker_timeout_s (3 s) plus the replacements' start"
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
    from a3c import EnvError, EnvironmentFailure

    trigger = tmp_path / "fail"
    trigger.touch()
    with pytest.raises(EnvironmentFailure, match="failed on every reset.*injected reset failure") as raised:
        A3CAgent({**SMALL, "num_workers": 0, "env_config": {"trigger": str(trigger)}}, BrokenResetCartPole)
    assert not isinstance(raised.value, EnvError), "the environment was built fine: not bad input"


def test_an_environment_that_breaks_during_a_run_stops_it_as_a_failure_not_bad_input():
    """Every step raising (rebuilt after each) is an EnvironmentFailure; the steps before it trained."""
    from toy_envs import BreaksEnv

    from a3c import EnvError, EnvironmentFailure

    BreaksEnv.steps_in_process = 0
    agent = A3CAgent({**SMALL, "num_workers": 0, "grads_per_step": 5, "batch_size": 8}, lambda c: BreaksEnv(after=60))
    assert agent.train().timesteps_this_iter == 40
    with pytest.raises(EnvironmentFailure, match="failed on every step of a rollout.*the simulator broke") as raised:
        agent.train()
    assert not isinstance(raised.value, (EnvError, ValueError))
