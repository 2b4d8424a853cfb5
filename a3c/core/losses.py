"""The actor-critic loss, written as in the paper: averaged over the batch, entropy subtracted."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import Categorical


@dataclass
class LossStats:
    """What the learner reports about one batch's loss."""

    policy_loss: float
    value_loss: float
    entropy: float


def actor_critic_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    value_targets: torch.Tensor,
    vf_loss_coeff: float,
    entropy_coeff: float,
) -> tuple[torch.Tensor, LossStats]:
    """A2C/A3C loss: pg_loss + vf_loss_coeff * v_loss - entropy_coeff * entropy (batch means)."""
    dist = Categorical(logits=logits)
    log_probs = dist.log_prob(actions)
    pg_loss = -(log_probs * advantages).mean()
    v_loss = 0.5 * ((value_targets - values) ** 2).mean()
    entropy = dist.entropy().mean()
    loss = pg_loss + vf_loss_coeff * v_loss - entropy_coeff * entropy
    return loss, LossStats(pg_loss.item(), v_loss.item(), entropy.item())
