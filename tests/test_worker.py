"""The worker protocol, in process: weights in, gradient and episode stats out."""

import numpy as np

from a3c.config import A3C_SCHEMA, resolve_config
from a3c.models import build_model
from a3c.worker import RolloutWorker


def make_worker(**overrides):
    """A worker holding the weights of a freshly initialized SharedModel, as the driver sends them."""
    config = resolve_config({"seed": 0, "model": {"fcnet_hiddens": [16, 16]}, **overrides}, A3C_SCHEMA)
    worker = RolloutWorker("CartPole-v0", config, worker_index=1)
    worker.set_weights(build_model(4, 2, config["model"]).get_flat_weights())
    return worker


def test_weights_round_trip():
    worker = make_worker()
    weights = np.arange(worker.policy.num_params, dtype=np.float32) / 1e4
    worker.set_weights(weights)
    np.testing.assert_array_equal(worker.get_weights(), weights)


def test_compute_gradients_returns_a_gradient_of_the_model_and_the_steps_taken():
    worker = make_worker(batch_size=7, num_envs_per_worker=3)
    result = worker.compute_gradients(worker.get_weights(), weights_version=5)
    assert result.grad.shape == (worker.policy.num_params,)
    assert result.grad.dtype == np.float32
    assert np.isfinite(result.grad).all() and np.abs(result.grad).sum() > 0
    assert result.num_steps == 21 and result.weights_version == 5
    assert result.entropy > 0


def test_episodes_continue_across_tasks():
    worker = make_worker(batch_size=5)
    weights = worker.get_weights()
    lengths: list[int] = []
    for _ in range(80):
        lengths += worker.compute_gradients(weights).episode_lengths
    # 400 steps in 5-step tasks: episodes longer than one task exist only if episodes carry over.
    assert sum(lengths) <= 400 and max(lengths) > 5


def test_truncated_episode_is_bootstrapped_not_terminated():
    worker = make_worker(batch_size=4, env_config={"max_episode_steps": 3})
    rollout = worker.sample()
    assert rollout.truncated[2, 0] and not rollout.terminated[2, 0]
    assert rollout.final_values[2, 0] != 0.0
    assert rollout.episode_lengths == [3]


def test_sampling_is_reproducible_with_a_seed():
    a, b = make_worker(), make_worker()
    np.testing.assert_array_equal(a.sample().actions, b.sample().actions)
