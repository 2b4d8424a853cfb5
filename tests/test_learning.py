"""Learnability: with the shipped defaults, A3C clearly improves on CartPole-v0.

Runs the real driver loop with 4 workers in process (execution="local"), so the result depends on
the algorithm and its defaults, not on machine load.
"""

from a3c import A3CAgent


def test_cartpole_learns_with_the_default_config():
    agent = A3CAgent({"seed": 0, "execution": "local"}, "CartPole-v0")
    assert (agent.config["num_workers"], agent.config["num_envs_per_worker"]) == (2, 8)
    first = result = agent.train()
    for _ in range(9):
        if result.episode_reward_mean >= 150:
            break
        result = agent.train()
    agent.stop()
    # A random policy averages about 22.
    assert result.episode_reward_mean >= 150, (first.episode_reward_mean, result.episode_reward_mean)
    assert result.episode_reward_mean > first.episode_reward_mean
    # Each gradient: 16 steps of a worker's 8 environments (fewer by the vector env's autoreset steps).
    assert 0.9 <= result.timesteps_total / (100 * 16 * 8 * result.training_iteration) <= 1


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
