"""The numpy action distributions against torch.distributions, and the numpy network's gradient
against torch autograd for every action distribution."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from a3c.catalog import ModelPlan
from a3c.core.distributions import make_distribution
from a3c.core.losses import actor_critic_loss
from a3c.core.numpy_model import NumpyActorCritic
from a3c.models import ActionDistribution, build_model
from a3c.spaces import make_action_spec

SPACES = {
    "categorical": gym.spaces.Discrete(4),
    "multi_categorical": gym.spaces.MultiDiscrete([3, 2, 4]),
    "bernoulli": gym.spaces.MultiBinary(3),
    "gaussian": gym.spaces.Box(-1.0, 1.0, (2,)),
}
MODEL = {"fcnet_hiddens": [16, 8], "fcnet_activation": "tanh", "vf_share_layers": True, "log_std_init": -0.3}


def random_inputs(spec, rows=64, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.normal(size=(rows, spec.param_size)).astype(np.float32) * 2
    log_std = rng.normal(size=spec.param_size).astype(np.float32) * 0.3 if spec.kind == "gaussian" else None
    return rng, params, log_std


@pytest.mark.parametrize("kind", SPACES)
def test_log_prob_and_entropy_match_torch(kind):
    spec = make_action_spec(SPACES[kind])
    dist = make_distribution(spec)
    rng, params, log_std = random_inputs(spec)
    actions = dist.sample(params, log_std, rng)
    reference = ActionDistribution(
        spec, torch.from_numpy(params), None if log_std is None else torch.from_numpy(log_std)
    )
    np.testing.assert_allclose(
        dist.log_prob(params, log_std, actions),
        reference.log_prob(torch.from_numpy(actions)).numpy(),
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(dist.entropy(params, log_std), reference.entropy().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", SPACES)
def test_sampling_follows_the_distribution(kind):
    """The empirical mean of many samples from one row is the distribution's mean."""
    spec = make_action_spec(SPACES[kind])
    dist = make_distribution(spec)
    _, params, log_std = random_inputs(spec, rows=1)
    many = np.repeat(params, 40_000, axis=0)
    samples = dist.sample(many, log_std, np.random.default_rng(1)).astype(np.float64)
    reference = ActionDistribution(
        spec, torch.from_numpy(params), None if log_std is None else torch.from_numpy(log_std)
    )
    if kind == "categorical":
        expected = np.arange(spec.param_size) @ reference.parts[0].probs[0].numpy()
        observed = samples.mean()
    elif kind == "multi_categorical":
        expected = [np.arange(p.probs.shape[-1]) @ p.probs[0].numpy() for p in reference.parts]
        observed = samples.mean(axis=0)
    else:
        expected, observed = reference.dist.mean[0].numpy(), samples.mean(axis=0)
    np.testing.assert_allclose(observed, expected, atol=0.03)
    np.testing.assert_array_equal(dist.mode(params, log_std).shape[0], 1)


@pytest.mark.parametrize("kind", SPACES)
@pytest.mark.parametrize("share_layers", [True, False])
def test_numpy_gradient_matches_autograd_for_every_distribution(kind, share_layers):
    spec = make_action_spec(SPACES[kind])
    torch.manual_seed(0)
    model_config = {**MODEL, "vf_share_layers": share_layers}
    model = build_model(5, spec, model_config)
    with torch.no_grad():
        model.policy_head.weight.mul_(50)
    net = NumpyActorCritic(ModelPlan.of((5,), spec, model_config))
    net.set_flat_weights(model.get_flat_weights())
    assert net.num_params == model.num_params()
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(9, 5)).astype(np.float32)
    params, _ = net.forward(obs)
    actions = net.distribution.sample(params, net.log_std, rng)
    advantages = rng.normal(size=9).astype(np.float32)
    targets = rng.normal(size=9).astype(np.float32)
    result = net.loss_and_grad(obs, actions, advantages, targets, 0.5, 0.02)

    dist_params, values = model(torch.from_numpy(obs))
    dist = ActionDistribution(spec, dist_params, model.extra_param())
    loss, stats = actor_critic_loss(
        dist, values, torch.from_numpy(actions), torch.from_numpy(advantages), torch.from_numpy(targets), 0.5, 0.02
    )
    model.zero_grad()
    loss.backward()
    np.testing.assert_allclose(result.grad, model.get_flat_grad(), rtol=1e-4, atol=1e-6)
    assert result.policy_loss == pytest.approx(stats.policy_loss, rel=1e-4, abs=1e-6)
    assert result.entropy == pytest.approx(stats.entropy, rel=1e-4)


@pytest.mark.parametrize("kind", SPACES)
def test_choose_gives_the_actions_and_their_log_probabilities(kind):
    spec = make_action_spec(SPACES[kind])
    dist = make_distribution(spec)
    _, params, log_std = random_inputs(spec, rows=16)
    actions, logp = dist.choose(params, log_std, np.random.default_rng(5))
    np.testing.assert_allclose(logp, dist.log_prob(params, log_std, actions), rtol=1e-5, atol=1e-6)
    modes, _ = dist.choose(params, log_std, None)
    np.testing.assert_array_equal(modes, dist.mode(params, log_std))


def test_one_row_is_sampled_like_a_batch_from_the_same_uniform():
    from a3c.core.distributions import _choose_one, log_softmax, sample_from_log_probs

    rng = np.random.default_rng(11)
    for _ in range(300):
        logits = rng.normal(0, 3, size=(1, int(rng.integers(2, 7)))).astype(np.float32)
        uniform = float(rng.random())
        action, logp = _choose_one(logits[0].tolist(), uniform)
        log_probs = log_softmax(logits)
        assert action[0] == sample_from_log_probs(log_probs, np.array([uniform]))[0]
        assert logp[0] == pytest.approx(float(log_probs[0, action[0]]), abs=1e-5)
