"""The actor-critic loss against a hand computation."""

import math

import numpy as np
import pytest
import torch

from a3c.core.losses import actor_critic_loss
from a3c.core.returns import normalize_advantages


def test_loss_matches_hand_computation():
    logits = torch.tensor([[0.0, math.log(3.0)], [math.log(2.0), 0.0]])  # probs [.25,.75], [2/3,1/3]
    values = torch.tensor([1.0, -1.0])
    actions = torch.tensor([1, 0])
    advantages = torch.tensor([2.0, -1.0])
    targets = torch.tensor([2.0, 1.0])
    loss, stats = actor_critic_loss(logits, values, actions, advantages, targets, vf_loss_coeff=0.5, entropy_coeff=0.1)

    pg = -(math.log(0.75) * 2.0 + math.log(2 / 3) * -1.0) / 2
    vf = 0.5 * ((2.0 - 1.0) ** 2 + (1.0 - -1.0) ** 2) / 2

    def entropy(ps):
        return -sum(p * math.log(p) for p in ps)

    ent = (entropy([0.25, 0.75]) + entropy([2 / 3, 1 / 3])) / 2
    assert stats.policy_loss == pytest.approx(pg, rel=1e-5)
    assert stats.value_loss == pytest.approx(vf, rel=1e-5)
    assert stats.entropy == pytest.approx(ent, rel=1e-5)
    assert loss.item() == pytest.approx(pg + 0.5 * vf - 0.1 * ent, rel=1e-5)


def test_loss_is_a_mean_so_it_does_not_grow_with_batch_size():
    torch.manual_seed(0)
    logits, values = torch.randn(8, 3), torch.randn(8)
    actions, adv, targets = torch.randint(0, 3, (8,)), torch.randn(8), torch.randn(8)
    small, _ = actor_critic_loss(logits, values, actions, adv, targets, 0.5, 0.01)
    doubled, _ = actor_critic_loss(
        logits.repeat(2, 1), values.repeat(2), actions.repeat(2), adv.repeat(2), targets.repeat(2), 0.5, 0.01
    )
    assert doubled.item() == pytest.approx(small.item(), rel=1e-6)


def test_entropy_bonus_lowers_the_loss():
    logits, values = torch.zeros(4, 2), torch.zeros(4)
    args = (torch.zeros(4, dtype=torch.long), torch.zeros(4), torch.zeros(4), 0.5)
    without, _ = actor_critic_loss(logits, values, *args, entropy_coeff=0.0)
    with_bonus, _ = actor_critic_loss(logits, values, *args, entropy_coeff=0.1)
    assert with_bonus.item() == pytest.approx(without.item() - 0.1 * math.log(2), rel=1e-6)


def test_normalize_gives_zero_mean_unit_std():
    out = normalize_advantages(np.array([1.0, 2.0, 3.0, 10.0], dtype=np.float32))
    assert out.mean() == pytest.approx(0.0, abs=1e-6)
    assert out.std() == pytest.approx(1.0, rel=1e-4)
