"""GAE against a slow, obviously-correct reference, including truncation and rollout cuts."""

import numpy as np
import pytest

from a3c.core.returns import compute_gae


def reference_gae(rewards, values, terminated, truncated, final_values, last_value, gamma, lam):
    """One environment, written as the definition: sum of discounted TD errors within an episode."""
    steps = len(rewards)

    def value_after(t):
        if terminated[t]:
            return 0.0
        if truncated[t]:
            return final_values[t]
        return values[t + 1] if t + 1 < steps else last_value

    deltas = [rewards[t] + gamma * value_after(t) - values[t] for t in range(steps)]
    advantages = []
    for t in range(steps):
        total, weight = 0.0, 1.0
        for k in range(t, steps):
            total += weight * deltas[k]
            if terminated[k] or truncated[k]:
                break
            weight *= gamma * lam
        advantages.append(total)
    return np.array(advantages), np.array(advantages) + np.array(values)


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("envs", [1, 3])  # one environment takes a path of its own (Python floats)
def test_gae_matches_reference_with_terminations_truncations_and_cuts(lam, seed, envs):
    rng = np.random.default_rng(seed)
    steps, gamma = 12, 0.97
    rewards = rng.normal(size=(steps, envs))
    values = rng.normal(size=(steps, envs))
    terminated = rng.random((steps, envs)) < 0.15
    truncated = rng.random((steps, envs)) < 0.15
    final_values = rng.normal(size=(steps, envs))
    last_values = rng.normal(size=envs)
    adv, targets = compute_gae(rewards, values, terminated, truncated, final_values, last_values, gamma, lam)
    for i in range(envs):
        ref_adv, ref_targets = reference_gae(
            rewards[:, i],
            values[:, i],
            terminated[:, i],
            truncated[:, i] & ~terminated[:, i],
            final_values[:, i],
            last_values[i],
            gamma,
            lam,
        )
        np.testing.assert_allclose(adv[:, i], ref_adv, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(targets[:, i], ref_targets, rtol=1e-5, atol=1e-5)


def test_lambda_one_gives_discounted_returns_bootstrapped_at_the_cut():
    rewards = np.ones((3, 1))
    values = np.zeros((3, 1))
    no = np.zeros((3, 1), dtype=bool)
    _, targets = compute_gae(rewards, values, no, no, np.zeros((3, 1)), np.array([10.0]), 0.5, 1.0)
    np.testing.assert_allclose(targets[:, 0], [1 + 0.5 + 0.25 + 0.125 * 10, 1 + 0.5 + 0.25 * 10, 1 + 0.5 * 10])


def test_termination_ends_the_return_but_truncation_bootstraps():
    rewards = np.ones((1, 2))
    values = np.zeros((1, 2))
    terminated = np.array([[True, False]])
    truncated = np.array([[False, True]])
    final_values = np.array([[5.0, 5.0]])
    _, targets = compute_gae(rewards, values, terminated, truncated, final_values, np.array([99.0, 99.0]), 0.9, 0.95)
    np.testing.assert_allclose(targets[0], [1.0, 1.0 + 0.9 * 5.0])
