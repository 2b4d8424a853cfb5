"""Generalized advantage estimation over partial rollouts, with gymnasium's two kinds of "done".

Arrays are time-major, shape [T, N] (T steps of N environments). Three things end a sum:
- `terminated[t]`: the episode really ended; the value after it is zero.
- `truncated[t]`: a time limit cut the episode; bootstrap from `final_values[t]`, the value of
  the observation the environment returned before it was reset.
- the end of the rollout: bootstrap from `last_values`, the value of the next observation.
"""

from __future__ import annotations

import numpy as np


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    final_values: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (advantages, value targets), both [T, N] float32."""
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool) & ~terminated
    # Everything but the backward recursion is one array op over the whole rollout.
    next_values = np.concatenate([values[1:], np.asarray(last_values, dtype=np.float64)[None]])
    bootstrap = np.where(terminated, 0.0, np.where(truncated, final_values, next_values))
    deltas = rewards + gamma * bootstrap - values
    carry = gamma * lam * ~(terminated | truncated)
    if rewards.shape[1:] == (1,):
        advantages = _backward_sum_one_column(deltas[:, 0].tolist(), carry[:, 0].tolist()).reshape(-1, 1)
    else:
        advantages = np.zeros_like(rewards)
        next_advantage = np.zeros_like(deltas[0])
        for t in reversed(range(rewards.shape[0])):
            next_advantage = advantages[t] = deltas[t] + carry[t] * next_advantage
    return advantages.astype(np.float32), (advantages + values).astype(np.float32)


def _backward_sum_one_column(deltas: list[float], carry: list[float]) -> np.ndarray:
    """The recursion A[t] = delta[t] + carry[t] * A[t + 1] in Python floats, for one environment
    (the tutorial's workers): a numpy op per step on a 1-element row costs more than the sum."""
    sums, next_advantage = [0.0] * len(deltas), 0.0
    for t in range(len(deltas) - 1, -1, -1):
        next_advantage = sums[t] = deltas[t] + carry[t] * next_advantage
    return np.array(sums, dtype=np.float64)


def normalize_advantages(advantages: np.ndarray) -> np.ndarray:
    """Zero mean, unit std within the batch: keeps the policy step independent of reward scale."""
    if advantages.size < 2:
        return advantages
    return ((advantages - advantages.mean()) / (advantages.std() + 1e-8)).astype(np.float32)
