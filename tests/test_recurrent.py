"""Recurrent policies: the state is carried across partial rollouts, zeroed where an episode ends
(also inside a rollout), and the gradient runs through the rollout from the state it started in;
whether the environments are stepped one by one or as gymnasium's vector env (next-step autoreset:
an invalid step between episodes, replayed by the sequence, left out of the loss)."""

import numpy as np
import pytest
import torch

from a3c.config import A3C_SCHEMA, resolve_config
from a3c.models import ActionDistribution
from a3c.worker import RolloutWorker

LSTM_MODEL = {"fcnet_hiddens": [8], "use_lstm": True, "lstm_cell_size": 6}


def lstm_worker(**overrides):
    config = resolve_config(
        {"seed": 3, "model": LSTM_MODEL, "batch_size": 7, "num_envs_per_worker": 2, **overrides}, A3C_SCHEMA
    )
    worker = RolloutWorker("CartPole-v1", config, worker_index=1)
    rng = np.random.default_rng(0)
    worker.set_weights(rng.normal(scale=0.5, size=worker.policy.num_params).astype(np.float32))
    return worker


STEPPING = pytest.mark.parametrize("vector", [False, True], ids=["one_by_one", "vector_env"])


@STEPPING
def test_the_state_carries_across_rollouts_and_is_zeroed_where_an_episode_ends(vector):
    worker = lstm_worker(env_config={"max_episode_steps": 5}, vectorize_envs=vector)
    assert worker.policy.recurrent and (worker.vector_env is not None) == vector
    first = worker.sample()
    assert not first.state_in[0].any()  # a fresh worker starts from zeros
    assert first.resets[0].all()  # ... and every environment starts an episode
    second = worker.sample()
    # the second rollout starts from the state the first ended in, not from zeros
    assert second.state_in[0].any()
    done = first.terminated | first.truncated
    if not vector:  # a new episode begins right after one ends
        np.testing.assert_array_equal(first.resets[1:], done[:-1])
        np.testing.assert_array_equal(second.resets[0], done[-1])
    else:  # ... after the autoreset step, which is no transition
        assert done.any()
        np.testing.assert_array_equal(first.valid[1:], ~done[:-1])
        np.testing.assert_array_equal(first.resets[2:], done[:-2])
        np.testing.assert_array_equal(second.resets[0], done[-2])


def replay(worker, rollout):
    """Run the rollout again in one piece, from its starting state, through forward_sequence."""
    net = worker.policy.net
    state = tuple(torch.from_numpy(s) for s in rollout.state_in)
    params, values, _ = net.forward_sequence(torch.from_numpy(rollout.obs), state, torch.from_numpy(rollout.resets))
    return params, values


@STEPPING
def test_replaying_a_rollout_in_one_piece_gives_what_was_computed_step_by_step(vector):
    worker = lstm_worker(env_config={"max_episode_steps": 4}, vectorize_envs=vector)
    worker.sample()
    rollout = worker.sample()  # starts mid-episode, crosses episode ends
    assert rollout.resets[1:].any()
    with torch.no_grad():
        params, values = replay(worker, rollout)
        dist = ActionDistribution(worker.spaces.action, params.reshape(-1, 2))
        logp = dist.log_prob(torch.from_numpy(rollout.actions.reshape(-1))).reshape(rollout.logp.shape)
    np.testing.assert_allclose(values.numpy(), rollout.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logp.numpy(), rollout.logp, rtol=1e-5, atol=1e-6)


def reference_gradient(worker, batch, vf_coeff, ent_coeff):
    """Slow reference: each environment's sequence on its own, one LSTMCell step at a time, the
    state replaced by zeros (not multiplied) at an episode start, the losses of valid steps summed
    then averaged (an invalid step still runs through the LSTM)."""
    net = worker.policy.net
    net.zero_grad()
    steps, envs = batch.valid.shape
    total = 0.0
    for i in range(envs):
        h = torch.from_numpy(batch.state_in[0][i : i + 1])
        c = torch.from_numpy(batch.state_in[1][i : i + 1])
        for t in range(steps):
            if batch.resets[t, i]:
                h, c = torch.zeros_like(h), torch.zeros_like(c)
            features = net.trunk(torch.from_numpy(batch.obs[t, i : i + 1]))
            h, c = net.lstm(features, (h, c))
            if not batch.valid[t, i]:
                continue
            logits, value = net.policy_head(h), net.value_head(h)[:, 0]
            dist = torch.distributions.Categorical(logits=logits)
            action = torch.from_numpy(batch.actions[t, i : i + 1])
            total = (
                total
                + (
                    -dist.log_prob(action) * float(batch.advantages[t, i])
                    + vf_coeff * 0.5 * (float(batch.value_targets[t, i]) - value) ** 2
                    - ent_coeff * dist.entropy()
                ).sum()
            )
    (total / batch.valid.sum()).backward()
    return net.get_flat_grad().copy()


@STEPPING
def test_the_rollout_gradient_equals_the_step_by_step_reference(vector):
    worker = lstm_worker(env_config={"max_episode_steps": 4}, vectorize_envs=vector)
    worker.sample()
    weights = worker.get_weights()
    batch = worker.sample_batch()
    assert batch.resets.any() and batch.state_in[0].any()
    assert batch.valid.all() != vector, "the vector env's autoreset steps are in the batch, marked invalid"
    result = worker.policy.loss_and_grad(batch.loss_inputs(batch.advantages), 0.5, 0.01)
    worker.set_weights(weights)
    expected = reference_gradient(worker, batch, 0.5, 0.01)
    np.testing.assert_allclose(result.grad, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("agent", ["a3c", "ppo", "a2c"])
def test_compute_action_takes_and_returns_the_state(agent):
    from a3c.agents import AGENTS

    trainer = AGENTS[agent]({"num_workers": 0, "seed": 0, "model": LSTM_MODEL}, "CartPole-v1")
    action, state = trainer.compute_action(np.zeros(4, dtype=np.float32))
    assert action in (0, 1) and state[0].shape == (1, 6)
    _, next_state = trainer.compute_action(np.ones(4, dtype=np.float32), state)
    assert not np.allclose(next_state[0], state[0])
    trainer.stop()
