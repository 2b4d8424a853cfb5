"""The actor-critic loss, written as in the paper: averaged over the batch, entropy subtracted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.distributions import Categorical


def as_distribution(policy: Any) -> Any:
    """Logits [B, A] mean a categorical policy; anything with log_prob() and entropy() is used as is."""
    return Categorical(logits=policy) if isinstance(policy, torch.Tensor) else policy


@dataclass
class LossStats:
    """What the learner reports about one batch's loss."""

    policy_loss: float
    value_loss: float
    entropy: float


def actor_critic_loss(
    policy: Any,
    values: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    value_targets: torch.Tensor,
    vf_loss_coeff: float,
    entropy_coeff: float,
) -> tuple[torch.Tensor, LossStats]:
    """A2C/A3C loss: pg_loss + vf_loss_coeff * v_loss - entropy_coeff * entropy (batch means).

    `policy`: logits of a categorical, or an a3c.models.ActionDistribution for any action space.
    """
    dist = as_distribution(policy)
    log_probs = dist.log_prob(actions)
    pg_loss = -(log_probs * advantages).mean()
    v_loss = 0.5 * ((value_targets - values) ** 2).mean()
    entropy = dist.entropy().mean()
    loss = pg_loss + vf_loss_coeff * v_loss - entropy_coeff * entropy
    return loss, LossStats(pg_loss.item(), v_loss.item(), entropy.item())


@dataclass
class PPOStats:
    """What PPO reports about one minibatch."""

    policy_loss: float
    value_loss: float
    entropy: float
    approx_kl: float
    clip_fraction: float


def ppo_loss(
    policy: Any,
    values: torch.Tensor,
    actions: torch.Tensor,
    old_logp: torch.Tensor,
    old_values: torch.Tensor,
    advantages: torch.Tensor,
    value_targets: torch.Tensor,
    clip_param: float,
    vf_clip_param: float | None,
    vf_loss_coeff: float,
    entropy_coeff: float,
) -> tuple[torch.Tensor, PPOStats]:
    """Clipped surrogate (Schulman et al. 2017) + optionally clipped value loss - entropy bonus."""
    dist = as_distribution(policy)
    log_ratio = dist.log_prob(actions) - old_logp
    ratio = log_ratio.exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip_param, 1 + clip_param) * advantages)
    pg_loss = -surrogate.mean()
    v_loss_unclipped = (values - value_targets) ** 2
    if vf_clip_param is not None:
        values_clipped = old_values + (values - old_values).clamp(-vf_clip_param, vf_clip_param)
        v_loss = 0.5 * torch.max(v_loss_unclipped, (values_clipped - value_targets) ** 2).mean()
    else:
        v_loss = 0.5 * v_loss_unclipped.mean()
    entropy = dist.entropy().mean()
    loss = pg_loss + vf_loss_coeff * v_loss - entropy_coeff * entropy
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean().item()  # the low-variance k3 estimator
        clip_fraction = ((ratio - 1).abs() > clip_param).float().mean().item()
    return loss, PPOStats(pg_loss.item(), v_loss.item(), entropy.item(), approx_kl, clip_fraction)


def explained_variance(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """1 - Var(targets - predictions) / Var(targets): 1 is perfect, 0 no better than the mean."""
    variance = targets.var()
    if variance.item() == 0:
        return float("nan")
    return float(1 - (targets - predictions).var() / variance)
