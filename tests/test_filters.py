"""The observation filter: exact running statistics, merged from every worker into the driver."""

import numpy as np
import pytest

from a3c import A2CAgent, A3CAgent, PPOAgent
from a3c.filters import MeanStdFilter, NoFilter, ReturnNormalizer, RunningStat, state_for_workers

SMALL = {"model": {"fcnet_hiddens": [16]}, "seed": 3, "observation_filter": "MeanStdFilter"}


def test_running_stat_merge_equals_stats_of_all_the_data():
    rng = np.random.default_rng(0)
    parts = [rng.normal(loc=i, scale=i + 1, size=(n, 3)) for i, n in enumerate([1, 7, 50, 2])]
    merged = RunningStat((3,))
    for part in parts:
        stat = RunningStat((3,))
        for row in part:  # one row at a time, as a worker pushes them
            stat.push(row[None])
        merged.merge(stat)
    everything = np.concatenate(parts)
    assert merged.count == len(everything)
    np.testing.assert_allclose(merged.mean, everything.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(merged.std, everything.std(axis=0, ddof=1), rtol=1e-10)


def test_filter_normalizes_and_clips():
    obs_filter = MeanStdFilter((2,), clip=10.0)
    data = np.random.default_rng(1).normal(loc=[5, -2], scale=[2, 0.1], size=(500, 2))
    obs_filter.update(data)
    obs_filter.take_delta()
    out = obs_filter(data, update=False)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0, ddof=1), 1, rtol=1e-4)
    assert np.abs(obs_filter(np.array([[1e6, 0.0]]), update=False)).max() == 10.0


def test_a_rollout_normalizes_with_the_statistics_it_started_with_until_its_delta_is_taken():
    obs_filter = MeanStdFilter((1,))
    obs_filter.sync({"count": 10, "mean": np.array([1.0]), "m2": np.array([9.0])})
    first = obs_filter(np.array([[4.0]]))  # (4 - 1) / std 1
    obs_filter(np.full((50, 1), 100.0))  # seen, but not folded in yet
    np.testing.assert_allclose(obs_filter(np.array([[4.0]]), update=False), first)
    np.testing.assert_allclose(first, [[3.0]], rtol=1e-6)
    assert obs_filter.take_delta()["count"] == 51 and obs_filter.stat.count == 61
    assert obs_filter(np.array([[4.0]]), update=False)[0, 0] < 0  # the mean moved past 4


def test_a_merge_into_the_statistics_in_place_is_seen_by_the_next_call():
    """The driver merges workers' deltas into its filter's RunningStat in place."""
    obs_filter = MeanStdFilter((1,))
    np.testing.assert_allclose(obs_filter(np.array([[3.0]]), update=False), [[3.0]])
    delta = RunningStat((1,))
    delta.push(np.array([[1.0], [3.0]]))
    obs_filter.stat.merge(delta)
    np.testing.assert_allclose(obs_filter(np.array([[3.0]]), update=False), [[1 / np.sqrt(2)]], rtol=1e-6)


@pytest.mark.parametrize("cls", [A3CAgent, A2CAgent, PPOAgent])
def test_driver_merges_every_observation_the_workers_saw_exactly_once(cls):
    agent = cls({**SMALL, "num_workers": 3, "execution": "local", "num_envs_per_worker": 1}, "CartPole-v0")
    agent.config["grads_per_step"] = 9
    for _ in range(2):
        result = agent.train()
    master = agent.obs_filter.stat
    assert master.count == result.timesteps_total
    assert np.all(master.std > 0) and np.all(np.isfinite(master.mean))


def test_workers_adopt_the_merged_statistics_with_the_weights():
    agent = A2CAgent({**SMALL, "num_workers": 2, "execution": "local", "grads_per_step": 2}, "CartPole-v0")
    agent.train()
    master = agent.obs_filter.stat.state()
    worker = agent.pool.workers[0]
    worker.set_weights(agent.learner.weights(), agent._filter_state())
    np.testing.assert_array_equal(worker.obs_filter.stat.mean, master["mean"])
    assert worker.obs_filter.stat.count == master["count"]


def test_the_driver_sends_no_statistics_when_nothing_is_normalized_and_each_one_that_is():
    assert state_for_workers(NoFilter(), None) is None
    returns = ReturnNormalizer(gamma=0.99)
    returns(np.ones((4, 2), np.float32), np.zeros((4, 2), bool))
    sent = state_for_workers(NoFilter(), returns)
    assert sent["obs"] is None and sent["returns"]["count"] == returns.stat.count > 0
    observations = MeanStdFilter((3,))
    observations.update(np.arange(6, dtype=np.float32).reshape(2, 3))
    observations.take_delta()  # folds the queued rows into the statistics, as a worker's task ends
    sent = state_for_workers(observations, None)
    assert sent["returns"] is None and sent["obs"]["count"] == observations.stat.count == 2


def test_filter_statistics_survive_a_checkpoint(tmp_path):
    agent = A3CAgent({**SMALL, "num_workers": 2, "execution": "local", "grads_per_step": 10}, "CartPole-v0")
    agent.train()
    restored = A3CAgent.from_checkpoint(agent.save(tmp_path))
    assert restored.obs_filter.stat.count == agent.obs_filter.stat.count
    np.testing.assert_array_equal(restored.obs_filter.stat.m2, agent.obs_filter.stat.m2)
    from a3c.evaluation import SavedPolicy

    policy = SavedPolicy(tmp_path)
    assert policy.obs_filter.stat.count == agent.obs_filter.stat.count
    assert len(policy.evaluate(episodes=2, seed=0).rewards) == 2


def test_update_with_no_rows_changes_nothing():
    """A vector env step where every copy was resetting brings no observation to learn from."""
    from a3c.filters import MeanStdFilter

    obs_filter = MeanStdFilter((3,))
    obs_filter.update(np.ones((4, 3)))
    before = obs_filter.take_delta()
    obs_filter.update(np.zeros((0, 3)))
    assert obs_filter.stat.count == 4 and np.isfinite(obs_filter.stat.mean).all()
    assert obs_filter.take_delta()["count"] == 0 and before["count"] == 4


def test_return_normalizer_divides_rewards_by_the_std_of_discounted_returns():
    from a3c.filters import ReturnNormalizer

    rng = np.random.default_rng(0)
    rewards = rng.normal(5.0, 2.0, size=(50, 3))
    dones = rng.random((50, 3)) < 0.1
    normalizer = ReturnNormalizer(gamma=0.9)
    scaled = normalizer(rewards, dones)
    # slow reference: each environment's discounted return, restarted after every episode end
    returns = []
    for i in range(3):
        running = 0.0
        for t in range(50):
            running = running * 0.9 + rewards[t, i]
            returns.append(running)
            if dones[t, i]:
                running = 0.0
    np.testing.assert_allclose(scaled, rewards / np.std(returns, ddof=1), rtol=1e-5)
    assert normalizer.take_delta()["count"] == 150 and normalizer.take_delta()["count"] == 0
    # the same rewards in two rollouts: the running returns carry over the cut
    halves = ReturnNormalizer(gamma=0.9)
    halves(rewards[:23], dones[:23])
    halves(rewards[23:], dones[23:])
    assert halves.stat.count == 150
    assert halves.stat.mean == pytest.approx(normalizer.stat.mean) and halves.stat.m2 == pytest.approx(
        normalizer.stat.m2
    )


def test_return_statistics_of_several_workers_merge_into_the_driver():
    from a3c.filters import ReturnNormalizer

    rng = np.random.default_rng(1)
    driver, workers = ReturnNormalizer(0.99), [ReturnNormalizer(0.99) for _ in range(3)]
    for worker in workers:
        worker(rng.normal(size=(20, 2)), np.zeros((20, 2), dtype=bool))
        driver.stat.merge(RunningStat.from_state(worker.take_delta()))
    assert driver.stat.count == 120
    for worker in workers:
        worker.sync(driver.stat.state())
        assert worker.scale(np.array([1.0])) == driver.scale(np.array([1.0]))


def test_normalize_rewards_keeps_reported_rewards_and_round_trips_through_a_checkpoint(tmp_path):
    from a3c import A3CAgent

    config = {"num_workers": 2, "execution": "local", "seed": 0, "grads_per_step": 10, "normalize_rewards": True}
    agent = A3CAgent({**config, "model": {"fcnet_hiddens": [8]}}, "Pendulum-v1")
    result = agent.train()
    assert agent.return_filter.stat.count == result.timesteps_this_iter
    restored = A3CAgent.from_checkpoint(agent.save(tmp_path))
    assert restored.return_filter.stat.count == agent.return_filter.stat.count
