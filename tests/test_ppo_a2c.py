"""PPO's loss against a hand computation, A2C's averaging, and both agents through the same API."""

import copy
import math

import numpy as np
import pytest
import torch

from a3c import A2CAgent, PPOAgent
from a3c.agents.a2c import average_gradients
from a3c.catalog import available_cores, default_learner_threads
from a3c.config import ConfigError
from a3c.core.losses import explained_variance, ppo_loss
from a3c.core.schedules import linear_anneal
from a3c.worker import GradientResult

SMALL = {"model": {"fcnet_hiddens": [16]}, "seed": 3}


def test_ppo_loss_matches_hand_computation():
    # Two rows, two actions. Row 0: ratio 1.5 (clipped to 1.2, A > 0); row 1: ratio 0.5 (A < 0: min picks 0.5*A).
    probs = torch.tensor([[0.25, 0.75], [0.5, 0.5]])
    logits = probs.log()
    actions = torch.tensor([1, 0])
    old_logp = torch.tensor([math.log(0.5), math.log(1.0)])
    advantages = torch.tensor([2.0, -1.0])
    values, old_values, targets = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]), torch.tensor([3.0, -1.0])
    loss, stats = ppo_loss(
        logits,
        values,
        actions,
        old_logp,
        old_values,
        advantages,
        targets,
        clip_param=0.2,
        vf_clip_param=0.5,
        vf_loss_coeff=0.5,
        entropy_coeff=0.1,
    )
    ratios = [0.75 / 0.5, 0.5 / 1.0]
    surrogate = [min(1.5 * 2.0, 1.2 * 2.0), min(0.5 * -1.0, 0.8 * -1.0)]
    pg = -sum(surrogate) / 2
    # Value clipping: row 0 moves 1.0 from old value 0, clipped to 0.5: max((1-3)^2, (0.5-3)^2) = 6.25.
    vf = 0.5 * (max((1 - 3) ** 2, (0.5 - 3) ** 2) + max((0 + 1) ** 2, (0 + 1) ** 2)) / 2
    entropy = (-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)) + math.log(2)) / 2
    kl = sum((r - 1) - math.log(r) for r in ratios) / 2
    assert stats.policy_loss == pytest.approx(pg, rel=1e-5)
    assert stats.value_loss == pytest.approx(vf, rel=1e-5)
    assert stats.entropy == pytest.approx(entropy, rel=1e-5)
    assert stats.approx_kl == pytest.approx(kl, rel=1e-5)
    assert stats.clip_fraction == 1.0
    assert loss.item() == pytest.approx(pg + 0.5 * vf - 0.1 * entropy, rel=1e-5)


def test_explained_variance():
    targets = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(targets, targets) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), targets) == pytest.approx(0.0)


def gradient(values, steps=8):
    return GradientResult(np.array(values, dtype=np.float32), 0, steps, 0.0, 0.0, 0.0, [], [])


def test_average_gradients_is_the_step_weighted_mean():
    np.testing.assert_allclose(average_gradients([gradient([1, 2]), gradient([3, 6])]), [2, 4])
    np.testing.assert_allclose(average_gradients([gradient([0, 0], 1), gradient([4, 8], 3)]), [3, 6])


def test_a2c_applies_the_average_of_gradients_computed_on_the_same_weights():
    config = {**SMALL, "num_workers": 3, "num_envs_per_worker": 1, "execution": "local", "grads_per_step": 3}
    agent = A2CAgent(config, "CartPole-v0")
    twins = copy.deepcopy(agent.pool.workers)
    weights = agent.learner.weights().copy()
    expected = average_gradients([w.compute_gradients(weights, 0) for w in twins])
    applied = []
    original = agent.learner.apply_gradient
    agent.learner.apply_gradient = lambda grad: applied.append(np.array(grad)) or original(grad)
    result = agent.train()
    assert len(applied) == 1, "one synchronous round of 3 workers"
    np.testing.assert_allclose(applied[0], expected, rtol=1e-6)
    assert result.timesteps_this_iter == 3 * agent.config["batch_size"]
    assert result.info["learner"]["policy_lag_mean"] == 0.0


def test_ppo_update_reports_its_statistics_and_counts_steps():
    agent = PPOAgent(
        {
            **SMALL,
            "num_workers": 0,
            "num_envs_per_worker": 2,
            "vectorize_envs": False,  # exact counts: no next-step autoreset steps to drop
            "batch_size": 16,
            "train_batch_size": 64,
            "sgd_minibatch_size": 32,
            "num_sgd_iter": 3,
        },
        "CartPole-v0",
    )
    before = agent.learner.weights().copy()
    result = agent.train()
    assert result.timesteps_this_iter == 64
    learner = result.info["learner"]
    assert learner["num_sgd_steps"] == 3 * 2
    for key in ["approx_kl", "clip_fraction", "explained_variance", "policy_loss", "value_loss", "entropy"]:
        assert np.isfinite(learner[key])
    timers = result.info["timers"]
    assert 0 < timers["sample_time_s"] and 0 < timers["learn_time_s"]
    assert timers["sample_time_s"] + timers["learn_time_s"] <= result.time_this_iter_s
    assert not np.array_equal(before, agent.learner.weights())


def test_ppo_updates_on_one_round_of_rollouts_whatever_episodes_end_in_it():
    """A vector env's autoreset slot holds no transition; counting transitions alone made a round
    fall short and sampled a second one, doubling most updates' batches."""
    config = {**SMALL, "num_workers": 0, "num_envs_per_worker": 4, "batch_size": 32, "train_batch_size": 128}
    agent = PPOAgent(config, "CartPole-v1")
    try:
        results = [agent.train() for _ in range(6)]
    finally:
        agent.stop()
    assert sum(r.episodes_this_iter for r in results) > 0  # episodes ended, autoreset slots were dropped
    assert all(128 - 4 * 8 <= r.timesteps_this_iter <= 128 for r in results), [r.timesteps_this_iter for r in results]


def test_ppo_keeps_a_batchs_remainder_as_a_shorter_last_minibatch():
    config = {**SMALL, "num_workers": 0, "num_envs_per_worker": 4, "batch_size": 32, "train_batch_size": 128}
    agent = PPOAgent({**config, "sgd_minibatch_size": 64, "num_sgd_iter": 2}, "CartPole-v1")
    try:
        results = [agent.train() for _ in range(6)]
    finally:
        agent.stop()
    for r in results:  # 2 epochs of ceil(rows / 64) minibatches: every row learned from, 128 or a few short
        assert r.info["learner"]["num_sgd_steps"] == 2 * math.ceil(r.timesteps_this_iter / 64)
    assert any(r.timesteps_this_iter < 128 for r in results)


def test_linear_anneal_goes_from_start_to_final_over_the_decay_steps_then_holds():
    assert linear_anneal(0.1, 0.0, 0, 10**9) == 0.1  # no decay steps: constant
    assert linear_anneal(0.1, 0.02, 100, 0) == 0.1
    assert linear_anneal(0.1, 0.02, 100, -5) == 0.1
    assert linear_anneal(0.1, 0.02, 100, 25) == pytest.approx(0.08)
    assert linear_anneal(0.1, 0.02, 100, 100) == pytest.approx(0.02)
    assert linear_anneal(0.1, 0.02, 100, 10**6) == pytest.approx(0.02)


# PPO on the driver in exact steps (64 per update, 6 minibatches of 32), for the schedule tests.
SCHEDULED = {
    **SMALL,
    "num_workers": 0,
    "num_envs_per_worker": 2,
    "vectorize_envs": False,
    "batch_size": 32,
    "train_batch_size": 64,
    "sgd_minibatch_size": 32,
    "num_sgd_iter": 3,
}


def test_ppo_anneals_its_clip_range_with_the_lr_and_the_loss_clips_at_it():
    config = {
        **SCHEDULED,
        "lr": 1e-3,
        "lr_final": 1e-4,
        "clip_param": 0.2,
        "clip_param_final": 1e-6,
        "lr_decay_steps": 128,
    }
    agent = PPOAgent(config, "CartPole-v0")
    try:
        learners = [agent.train().info["learner"] for _ in range(4)]
    finally:
        agent.stop()
    clips = [learner["cur_clip_param"] for learner in learners]
    assert clips == pytest.approx([0.2, 0.1000005, 1e-6, 1e-6])
    assert [learner["cur_lr"] for learner in learners] == pytest.approx([1e-3, 5.5e-4, 1e-4, 1e-4])
    # A range of 1e-6 clips every row but the first minibatch's (ratio exactly 1): 5 of 6 minibatches.
    assert learners[0]["clip_fraction"] < 0.3 < 0.7 < learners[3]["clip_fraction"]
    with pytest.raises(ConfigError, match="clip_param_final.*lr_decay_steps"):
        PPOAgent({**config, "lr_decay_steps": 0}, "CartPole-v0")


def test_ppo_anneals_its_entropy_bonus_on_its_own_schedule_and_the_loss_uses_it():
    config = {**SCHEDULED, "lr": 1e-2}

    def learners(extra: dict) -> list[dict]:
        agent = PPOAgent({**config, **extra}, "CartPole-v0")
        try:
            return [agent.train().info["learner"] for _ in range(6)]
        finally:
            agent.stop()

    annealed = learners({"entropy_coeff": 0.0, "entropy_coeff_final": 10.0, "entropy_decay_steps": 128})
    constant = learners({"entropy_coeff": 0.0})
    assert [learner["cur_entropy_coeff"] for learner in annealed] == pytest.approx([0, 5, 10, 10, 10, 10])
    assert [learner["cur_lr"] for learner in annealed] == pytest.approx([1e-2] * 6)  # the lr keeps its own
    assert [learner["cur_entropy_coeff"] for learner in constant] == [0.0] * 6
    # The same seed and the same first update; then the bonus holds the policy at uniform (ln 2 = 0.693)
    # while the unbonused one sharpens (seeds 3-6: 0.691-0.693 against 0.595-0.661 after 6 updates).
    assert annealed[0]["entropy"] == pytest.approx(constant[0]["entropy"])
    assert annealed[-1]["entropy"] > 0.685 > 0.675 > constant[-1]["entropy"]
    with pytest.raises(ConfigError, match="entropy_coeff_final.*entropy_decay_steps"):
        PPOAgent({**config, "entropy_coeff_final": 0.001}, "CartPole-v0")


def test_ppo_first_minibatch_is_on_policy():
    """Before any SGD step the sampled log-probs equal the learner's: ratio 1, KL 0, no clipping."""
    agent = PPOAgent(
        {
            **SMALL,
            "num_workers": 0,
            "num_envs_per_worker": 1,
            "batch_size": 32,
            "train_batch_size": 32,
            "sgd_minibatch_size": 32,
            "num_sgd_iter": 1,
        },
        "CartPole-v0",
    )
    result = agent.train()
    assert result.info["learner"]["approx_kl"] == pytest.approx(0.0, abs=1e-6)
    assert result.info["learner"]["clip_fraction"] == 0.0


def test_recurrent_ppo_replays_the_vector_envs_autoreset_steps_and_learns_from_transitions_only():
    """gymnasium's vector env marks the step between two episodes invalid: the LSTM's sequence runs
    through it, the minibatch's rows (and so the loss) leave it out, and the replay is on-policy."""
    lstm = {"fcnet_hiddens": [16], "use_lstm": True, "lstm_cell_size": 8}
    config = {"num_workers": 0, "num_envs_per_worker": 2, "batch_size": 16, "train_batch_size": 32}
    config |= {"sgd_minibatch_size": 32, "num_sgd_iter": 1, "env_config": {"max_episode_steps": 5}}
    agent = PPOAgent({**SMALL, **config, "model": lstm}, "CartPole-v0")
    try:
        batch = agent._collect()
        assert 0 < batch.num_steps < batch.valid.size, "episodes of 5 steps end inside the rollouts"
        minibatches = list(agent._minibatches(batch))
        assert sum(len(m["actions"]) for m in minibatches) == batch.num_steps
        first = minibatches[0]
        with torch.no_grad():
            dist, values = agent.learner.forward(first["seq_obs"], first["state"], first["seq_resets"], first["keep"])
        torch.testing.assert_close(dist.log_prob(first["actions"]), first["logp"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(values, first["values"], rtol=1e-5, atol=1e-5)
    finally:
        agent.stop()


@pytest.mark.parametrize("cls", [PPOAgent, A2CAgent])
def test_same_api_and_checkpoints_as_a3c(cls, tmp_path):
    agent = cls({**SMALL, "num_workers": 2, "execution": "local"}, "CartPole-v0")
    result = agent.train()
    assert result.training_iteration == 1 and result.timesteps_total > 0
    restored = cls.from_checkpoint(agent.save(tmp_path))
    np.testing.assert_array_equal(restored.learner.weights(), agent.learner.weights())
    assert restored.timesteps_total == result.timesteps_total
    with pytest.raises(Exception, match="unknown config key 'clip_parm'.*clip_param"):
        PPOAgent({"clip_parm": 0.1}, "CartPole-v0")


@pytest.mark.parametrize("chosen", [None, 3])
def test_ppo_runs_its_epochs_on_the_cores_its_workers_left_for_images_and_gives_the_threads_back(chosen):
    from toy_envs import SideEnv

    assert [default_learner_threads(True, 1, 8), default_learner_threads(True, 4, 2)] == [2, 2]
    assert [default_learner_threads(True, 0, 8), default_learner_threads(False, 4, 8)] == [1, 1]
    assert default_learner_threads(True, 64) == available_cores() >= 1
    seen = []

    class Recording(PPOAgent):
        def _sgd(self, batch, clip_param, entropy_coeff):
            seen.append(torch.get_num_threads())
            return super()._sgd(batch, clip_param, entropy_coeff)

    config = {"seed": 0, "num_workers": 1, "execution": "local", "num_learner_threads": chosen}
    config.update(batch_size=4, train_batch_size=8, sgd_minibatch_size=8, num_sgd_iter=1)
    agent = Recording({**config, "model": {"conv_fc_hiddens": [8], "conv_filters": [[4, 3, 2]]}}, lambda c: SideEnv())
    try:
        result = agent.train()
    finally:
        agent.stop()
    assert seen == [min(2, available_cores()) if chosen is None else chosen]
    assert seen == [result.info["learner"]["num_learner_threads"]]
    assert torch.get_num_threads() == 1  # the driver's one thread beside its workers, everywhere else


def test_ppo_gives_the_threads_back_when_an_epoch_fails():
    from a3c.agents.ppo import torch_threads

    with pytest.raises(RuntimeError, match="boom"), torch_threads(3):
        assert torch.get_num_threads() == 3
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 1


def test_ppo_learns_cartpole():
    agent = PPOAgent({"seed": 0, "num_workers": 2, "execution": "local"}, "CartPole-v0")
    for _ in range(80):  # 20k env steps
        result = agent.train()
    assert result.episode_reward_mean >= 100, result.episode_reward_mean
