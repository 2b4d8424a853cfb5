"""The workers' numpy network against the driver's torch SharedModel and torch autograd."""

import numpy as np
import pytest
import torch

from a3c.catalog import ModelPlan
from a3c.core.losses import actor_critic_loss
from a3c.core.numpy_model import NumpyActorCritic
from a3c.models import build_model
from a3c.spaces import ActionSpec


def mlp_plan(obs_size, num_actions, hiddens, activation="tanh", share_layers=True):
    model = {"fcnet_hiddens": hiddens, "fcnet_activation": activation, "vf_share_layers": share_layers}
    return ModelPlan.of((obs_size,), ActionSpec("categorical", (num_actions,)), model)


def twin_models(hiddens, activation, share_layers=True, obs_size=5, num_actions=3):
    torch.manual_seed(0)
    model_config = {"fcnet_hiddens": hiddens, "fcnet_activation": activation, "vf_share_layers": share_layers}
    model = build_model(obs_size, num_actions, model_config)
    with torch.no_grad():  # larger heads than the init, so every term of the gradient matters
        model.policy_head.weight.mul_(100)
    numpy_model = NumpyActorCritic(mlp_plan(obs_size, num_actions, hiddens, activation, share_layers))
    numpy_model.set_flat_weights(model.get_flat_weights())
    return model, numpy_model


@pytest.mark.parametrize("share_layers", [True, False])
def test_the_numpy_model_reads_the_torch_models_parameters_in_their_order(share_layers):
    config = {"fcnet_hiddens": [256, 256], "fcnet_activation": "tanh", "vf_share_layers": share_layers}
    model = build_model(4, 2, config)
    numpy_model = NumpyActorCritic(mlp_plan(4, 2, [256, 256], "tanh", share_layers))
    assert numpy_model.layout == [(name, tuple(p.shape)) for name, p in model.named_parameters()]


def test_a_separate_value_trunk_doubles_the_trunk_and_says_so():
    shared = build_model(4, 2, {"fcnet_hiddens": [64, 64], "fcnet_activation": "tanh", "vf_share_layers": True})
    separate = build_model(4, 2, {"fcnet_hiddens": [64, 64], "fcnet_activation": "tanh", "vf_share_layers": False})
    trunk = (4 * 64 + 64) + (64 * 64 + 64)
    assert separate.num_params() - shared.num_params() == trunk
    assert separate.describe() == "Constructing fcnet [64, 64] tanh, separate value network"


def test_separate_trunks_do_not_leak_value_gradients_into_the_policy_trunk():
    model, numpy_model = twin_models([8], "tanh", share_layers=False)
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(7, 5)).astype(np.float32)
    # no policy term, no entropy: only the value loss has a gradient
    result = numpy_model.loss_and_grad(obs, np.zeros(7, dtype=np.int64), np.zeros(7, np.float32), np.ones(7), 1.0, 0.0)
    policy_trunk = 5 * 8 + 8
    assert not result.grad[:policy_trunk].any() and result.grad[policy_trunk : 2 * policy_trunk].any()


@pytest.mark.parametrize("share_layers", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("hiddens", [[8], [16, 7]])
def test_forward_matches_torch(hiddens, activation, share_layers):
    model, numpy_model = twin_models(hiddens, activation, share_layers)
    obs = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    logits, values = numpy_model.forward(obs)
    with torch.no_grad():
        ref_logits, ref_values = model(torch.from_numpy(obs))
    np.testing.assert_allclose(logits, ref_logits.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(values, ref_values.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("share_layers", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("hiddens", [[8], [16, 7]])
@pytest.mark.parametrize("coeffs", [(0.5, 0.01), (1.0, 0.0), (0.0, 0.3)])
def test_loss_gradient_matches_torch_autograd(hiddens, activation, coeffs, share_layers):
    vf_coeff, ent_coeff = coeffs
    model, numpy_model = twin_models(hiddens, activation, share_layers)
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(11, 5)).astype(np.float32)
    actions = rng.integers(0, 3, size=11)
    advantages = rng.normal(size=11).astype(np.float32)
    targets = rng.normal(size=11).astype(np.float32) * 3

    result = numpy_model.loss_and_grad(obs, actions, advantages, targets, vf_coeff, ent_coeff)

    model.zero_grad()
    logits, values = model(torch.from_numpy(obs))
    loss, stats = actor_critic_loss(
        logits,
        values,
        torch.from_numpy(actions),
        torch.from_numpy(advantages),
        torch.from_numpy(targets),
        vf_coeff,
        ent_coeff,
    )
    loss.backward()
    np.testing.assert_allclose(result.grad, model.get_flat_grad(), rtol=1e-4, atol=1e-6)
    assert result.policy_loss == pytest.approx(stats.policy_loss, rel=1e-5)
    assert result.value_loss == pytest.approx(stats.value_loss, rel=1e-5)
    assert result.entropy == pytest.approx(stats.entropy, rel=1e-5)


def test_wrong_number_of_weights_is_an_error():
    with pytest.raises(ValueError, match="expected"):
        NumpyActorCritic(mlp_plan(4, 2, [8])).set_flat_weights(np.zeros(3, dtype=np.float32))


def test_sampling_from_log_probs_follows_the_distribution():
    from a3c.core.numpy_model import log_softmax, sample_from_log_probs

    logits = np.array([[0.3, -1.2, 2.0]], dtype=np.float32)
    probs = np.exp(log_softmax(logits))[0]
    grid = (np.arange(10_000) + 0.5) / 10_000  # evenly spread uniforms: frequencies are exact to 1e-4
    actions = sample_from_log_probs(np.repeat(log_softmax(logits), grid.size, axis=0), grid)
    np.testing.assert_allclose(np.bincount(actions, minlength=3) / grid.size, probs, atol=2e-4)
    # a uniform of (almost) 1 never yields an action past the last one, even with rounding
    assert sample_from_log_probs(log_softmax(logits), np.array([1.0 - 1e-12]))[0] == 2


@pytest.mark.parametrize("hiddens", [[], [8], [16, 8], [5, 7, 3]])
@pytest.mark.parametrize("share_layers", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_fused_acting_network_equals_the_two_trunks_after_every_weight_change(hiddens, share_layers, activation):
    """forward() runs both trunks as one block-diagonal network; the loss runs them apart."""
    numpy_model = NumpyActorCritic(mlp_plan(6, 3, hiddens, activation, share_layers))
    rng = np.random.default_rng(2)
    for _ in range(3):  # the fused buffers are refilled, not rebuilt, at each set_flat_weights
        numpy_model.set_flat_weights(rng.normal(size=numpy_model.num_params).astype(np.float32))
        obs = rng.normal(size=(5, 6)).astype(np.float32)
        params, values = numpy_model.forward(obs)
        ref_params, ref_values = numpy_model._heads(*numpy_model._features(obs))
        np.testing.assert_allclose(params, ref_params, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(values, ref_values, rtol=1e-5, atol=1e-5)
