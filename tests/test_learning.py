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


def test_tuned_cartpole_config_solves_with_vectorized_envs():
    """examples/tuned/cartpole.yaml (the benchmark's tuned entry) solves CartPole-v0 in process."""
    from pathlib import Path

    import yaml

    config = yaml.safe_load((Path(__file__).parents[1] / "examples" / "tuned" / "cartpole.yaml").read_text())
    agent = A3CAgent({**config, "seed": 1, "execution": "local"}, "CartPole-v0")
    assert all(worker.vector_env is not None for worker in agent.pool.workers)
    best = 0.0
    for _ in range(80):
        result = agent.train()
        best = max(best, result.episode_reward_mean)
        if best >= 195:
            break
    assert best >= 195, (best, result.timesteps_total)
    assert result.timesteps_total <= 400_000
