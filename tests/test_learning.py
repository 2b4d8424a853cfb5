"""Learnability: with the shipped defaults, A3C clearly improves on CartPole-v0.

Runs the real driver loop with 4 workers in process (execution="local"), so the result depends on
the algorithm and its defaults, not on machine load.
"""

from a3c import A3CAgent


def test_cartpole_improves_with_default_config():
    agent = A3CAgent({"num_workers": 4, "batch_size": 16, "seed": 0, "execution": "local"}, "CartPole-v0")
    first = agent.train()
    for _ in range(14):
        result = agent.train()
    # A random policy averages about 22; the first iteration is close to that.
    assert first.episode_reward_mean < 40
    assert result.episode_reward_mean >= 100, result.episode_reward_mean
    assert result.timesteps_total == 15 * 100 * 16
