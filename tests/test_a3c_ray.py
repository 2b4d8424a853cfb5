"""The asynchronous driver on a real local Ray cluster with several worker actors."""

import gymnasium as gym
import numpy as np
import pytest

from a3c import DEFAULT_CONFIG, A3CAgent

SMALL = {"model": {"fcnet_hiddens": [32]}, "grads_per_step": 20}


@pytest.fixture(scope="module")
def tutorial_agents(ray_session):
    """Both tutorial agents built before either trains, in one Ray session, as in the notebook."""
    config = DEFAULT_CONFIG.copy()
    config["num_workers"] = 4
    config["batch_size"] = 16
    config["num_envs_per_worker"] = 1  # as the tutorial's 16 workers get by default, with fewer actors
    config_ = config.copy()
    agents = A3CAgent(config, "CartPole-v0"), A3CAgent(config_, "MountainCar-v0")
    yield agents
    for agent in agents:
        agent.stop()


def test_tutorial_flow_trains_both_environments(tutorial_agents):
    cartpole, mountaincar = tutorial_agents
    lag_max = 0
    for _ in range(2):
        result = cartpole.train()
        result_ = mountaincar.train()
        lag_max = max(lag_max, result.info["learner"]["policy_lag_max"])
    grads = DEFAULT_CONFIG["grads_per_step"]
    assert result.timesteps_total == 2 * grads * 16
    assert result_.timesteps_total == 2 * grads * 16
    assert result.episodes_total > 0 and 8 <= result.episode_reward_mean <= 200
    assert result_.info["learner"]["num_grads_applied"] == grads
    # Several workers really ran concurrently: gradients arrive computed on older weights (the first
    # iteration sends the same weights to all four workers, so at least three gradients are late).
    assert lag_max >= 1


def test_every_worker_keeps_a_task_in_flight_between_iterations(tutorial_agents):
    cartpole, _ = tutorial_agents
    cartpole.train()
    assert cartpole.pool.num_in_flight() == 4


def test_env_can_be_a_callable_given_env_config(ray_session):
    def make_short_cartpole(env_config):
        return gym.make("CartPole-v1", max_episode_steps=env_config["limit"])

    agent = A3CAgent({**SMALL, "num_workers": 2, "env_config": {"limit": 5}, "batch_size": 10}, make_short_cartpole)
    result = agent.train()
    agent.stop()
    assert result.episode_reward_max <= 5 and result.episode_len_mean <= 5


def test_stop_frees_the_actors(ray_session):
    agent = A3CAgent({**SMALL, "num_workers": 2}, "CartPole-v0")
    actors = list(agent.pool.actors)
    agent.train()
    agent.stop()
    with pytest.raises(ray_session.exceptions.RayActorError):
        ray_session.get(actors[0].ping.remote(), timeout=30)


def test_weights_from_ray_training_are_usable_in_process(ray_session):
    agent = A3CAgent({**SMALL, "num_workers": 2, "seed": 1}, "CartPole-v0")
    agent.train()
    weights = agent.get_weights()
    agent.stop()
    local = A3CAgent({**SMALL, "num_workers": 0}, "CartPole-v0")
    local.set_weights(weights)
    for name, value in local.get_weights().items():
        np.testing.assert_array_equal(value, weights[name])


def test_ray_started_before_importing_a3c_is_reported():
    """Weights then go through the object store (half the speed): the user is told how to fix it."""
    import subprocess
    import sys

    code = (
        'import ray; ray.init(address="local", include_dashboard=False, num_cpus=1)\n'
        "import a3c; from a3c import A3CAgent\n"
        "A3CAgent({'num_workers': 1, 'model': {'fcnet_hiddens': [8]}}, 'CartPole-v0').stop()\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "RAY_max_direct_call_object_size"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Import a3c before ray.init()" in out.stdout + out.stderr


def _builds_only_in_the_driver(driver_pid):
    import os

    def make(env_config):
        if os.getpid() != driver_pid:
            raise RuntimeError("this environment cannot be built on a worker")
        return gym.make("CartPole-v1")

    return make


def test_a_worker_whose_environment_cannot_be_built_says_why(ray_session):
    import os

    from a3c.errors import WorkerFailureError

    with pytest.raises(WorkerFailureError, match="could not be created: .*cannot be built on a worker"):
        A3CAgent({**SMALL, "num_workers": 1}, _builds_only_in_the_driver(os.getpid()))
