"""The asynchronous driver loop, run in process: deterministic, with the lag of N real workers."""

import numpy as np
import pytest

from a3c import A3CAgent

SMALL = {"model": {"fcnet_hiddens": [16]}, "seed": 3, "grads_per_step": 10, "batch_size": 8, "num_envs_per_worker": 1}


def local_agent(**overrides):
    return A3CAgent({**SMALL, "execution": "local", "num_workers": 4, **overrides}, "CartPole-v0")


def test_one_iteration_applies_grads_per_step_gradients_and_counts_steps():
    agent = local_agent()
    result = agent.train()
    assert result.info["learner"]["num_grads_applied"] == 10
    assert result.timesteps_this_iter == 10 * 8 == result.timesteps_total
    assert result.training_iteration == 1
    assert result.info["weights_version"] == 10
    second = agent.train()
    assert second.timesteps_total == 160 and second.training_iteration == 2
    assert second.time_total_s >= second.time_this_iter_s > 0


def test_in_process_runs_are_deterministic():
    a, b = local_agent(), local_agent()
    for _ in range(2):
        ra, rb = a.train(), b.train()
    for name, weights in a.get_weights().items():
        np.testing.assert_array_equal(weights, b.get_weights()[name])
    assert ra.to_dict()["episodes_total"] == rb.to_dict()["episodes_total"]


def test_policy_lag_is_that_of_n_workers_and_tasks_carry_over_between_iterations():
    agent = local_agent(num_workers=4)
    first = agent.train()
    # The very first gradients were computed on version 0 while the driver moved on.
    assert first.info["learner"]["policy_lag_max"] == 3
    assert agent.pool.num_in_flight() == 4, "no worker may idle at an iteration boundary"
    second = agent.train()
    assert second.info["learner"]["policy_lag_mean"] == 3.0


def test_zero_workers_samples_and_learns_in_the_driver():
    agent = A3CAgent({**SMALL, "num_workers": 0}, "CartPole-v0")
    result = agent.train()
    assert result.info["learner"]["policy_lag_max"] == 0
    assert result.timesteps_this_iter == 80


def test_result_has_every_documented_field():
    result = local_agent().train()
    fields = result.to_dict()
    for key in [
        "episode_reward_mean",
        "episode_reward_min",
        "episode_reward_max",
        "episode_len_mean",
        "episodes_this_iter",
        "episodes_total",
        "timesteps_this_iter",
        "timesteps_total",
        "training_iteration",
        "time_this_iter_s",
        "time_total_s",
        "info",
    ]:
        assert key in fields
    assert result["episode_reward_mean"] == result.episode_reward_mean
    for key in ["policy_loss", "value_loss", "entropy", "grad_norm", "policy_lag_mean"]:
        assert np.isfinite(result.info["learner"][key])
    assert set(result.info["timers"]) == {"wait_time_s", "apply_time_s", "dispatch_time_s"}


def test_set_weights_then_get_weights_round_trips_and_compute_action_uses_them():
    agent = local_agent()
    weights = {name: np.zeros_like(w) for name, w in agent.get_weights().items()}
    weights["policy_head.bias"] = np.array([0.0, 50.0], dtype=np.float32)
    agent.set_weights(weights)
    assert all(agent.compute_action(np.zeros(4)) == 1 for _ in range(20))
    assert agent.compute_action(np.zeros(4), explore=False) == 1


def test_gradients_are_clipped_to_grad_clip_and_the_unclipped_norm_is_reported():
    from a3c.agents.base import Learner
    from a3c.models import build_model

    model = build_model(4, 2, {"fcnet_hiddens": [8], "fcnet_activation": "tanh"})
    learner = Learner(model, lr=1e-3, grad_clip=2.0)
    grad = np.full(model.num_params(), 3.0, dtype=np.float32)
    norm = learner.apply_gradient(grad)
    assert norm == pytest.approx(float(np.linalg.norm(grad)), rel=1e-6)
    # Adam's first moment starts at zero, so after a step it is (1 - beta1) * the gradient applied
    first = learner.optimizer.state["exp_avg"].numpy().copy()
    applied = first / 0.1
    assert abs(np.linalg.norm(applied) - 2.0) < 1e-4
    np.testing.assert_allclose(grad, 3.0)  # the caller's array is not scaled in place
    small = np.full(model.num_params(), 1e-3, dtype=np.float32)
    learner.apply_gradient(small)
    applied = (learner.optimizer.state["exp_avg"].numpy() - 0.9 * first) / 0.1
    np.testing.assert_allclose(applied, small, rtol=1e-3)
