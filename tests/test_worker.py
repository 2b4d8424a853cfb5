"""The worker protocol, in process: weights in, gradient and episode stats out."""

import numpy as np
import pytest

from a3c.config import A3C_SCHEMA, resolve_config
from a3c.envs import STANDARD_ATARI, AtariFrames, make_env, make_native_vector_env
from a3c.models import build_model
from a3c.worker import RolloutWorker


def make_worker(**overrides):
    """A worker holding the weights of a freshly initialized SharedModel, as the driver sends them."""
    config = resolve_config(
        {"seed": 0, "num_envs_per_worker": 1, "model": {"fcnet_hiddens": [16, 16]}, **overrides}, A3C_SCHEMA
    )
    worker = RolloutWorker("CartPole-v0", config, worker_index=1)
    worker.set_weights(build_model(4, 2, config["model"]).get_flat_weights())
    return worker


def test_weights_round_trip():
    worker = make_worker()
    weights = np.arange(worker.policy.num_params, dtype=np.float32) / 1e4
    worker.set_weights(weights)
    np.testing.assert_array_equal(worker.get_weights(), weights)


def test_compute_gradients_returns_a_gradient_of_the_model_and_the_steps_taken():
    worker = make_worker(batch_size=7, num_envs_per_worker=3)
    result = worker.compute_gradients(worker.get_weights(), weights_version=5)
    assert result.grad.shape == (worker.policy.num_params,)
    assert result.grad.dtype == np.float32
    assert np.isfinite(result.grad).all() and np.abs(result.grad).sum() > 0
    assert result.num_steps == 21 and result.weights_version == 5
    assert result.entropy > 0


def test_episodes_continue_across_tasks():
    worker = make_worker(batch_size=5)
    weights = worker.get_weights()
    lengths: list[int] = []
    for _ in range(80):
        lengths += worker.compute_gradients(weights).episode_lengths
    # 400 steps in 5-step tasks: episodes longer than one task exist only if episodes carry over.
    assert sum(lengths) <= 400 and max(lengths) > 5


def test_truncated_episode_is_bootstrapped_not_terminated():
    worker = make_worker(batch_size=4, env_config={"max_episode_steps": 3})
    rollout = worker.sample()
    assert rollout.truncated[2, 0] and not rollout.terminated[2, 0]
    assert rollout.final_values[2, 0] != 0.0
    assert rollout.episode_lengths == [3]


@pytest.mark.parametrize("envs, vectorize", [(1, False), (3, False), (4, True)])
def test_episode_stats_count_every_step_once_across_rollouts(envs, vectorize):
    """One loop for both ways of stepping: every transition lands in exactly one episode's stats or in
    the episode still running, whether episodes end inside a rollout or run across several."""
    worker = make_worker(batch_size=7, num_envs_per_worker=envs, vectorize_envs=vectorize)
    assert (worker.vector_env is not None) == vectorize
    rewards, lengths, steps = [], [], 0
    for _ in range(30):
        rollout = worker.sample()
        rewards += rollout.episode_rewards
        lengths += rollout.episode_lengths
        steps += rollout.num_steps
    assert rewards == lengths and len(lengths) > 3 and max(lengths) > 7  # CartPole pays 1 a step
    assert sum(lengths) + worker.running_lengths.sum() == steps
    assert worker.running_rewards.sum() == worker.running_lengths.sum()


def test_sampling_is_reproducible_with_a_seed():
    a, b = make_worker(), make_worker()
    np.testing.assert_array_equal(a.sample().actions, b.sample().actions)


def test_vectorized_cartpole_marks_autoreset_steps_invalid_and_drops_them():
    worker = make_worker(batch_size=60, num_envs_per_worker=8)
    assert worker.vector_env is not None  # gymnasium ships a numpy CartPole: used for several envs
    rollout = worker.sample()
    done = rollout.terminated | rollout.truncated
    expected_valid = np.ones_like(done)
    expected_valid[1:] = ~done[:-1]  # the step after an episode ends is the env resetting itself
    np.testing.assert_array_equal(rollout.valid, expected_valid)
    assert (rollout.rewards[rollout.valid] == 1.0).all() and (rollout.rewards[~rollout.valid] == 0.0).all()
    assert rollout.num_steps == expected_valid.sum() < 60 * 8
    batch = worker.sample_batch()
    rows = batch.rows()
    assert rows["obs"].shape[0] == batch.num_steps == rows["advantages"].shape[0] == rows["actions"].shape[0]
    assert batch.num_steps == batch.valid.sum() < batch.valid.size


def test_vectorized_truncation_is_bootstrapped_from_the_final_observation():
    worker = make_worker(batch_size=5, num_envs_per_worker=4, env_config={"max_episode_steps": 3})
    rollout = worker.sample()
    assert rollout.truncated[2].all() and not rollout.terminated[2].any()
    assert (rollout.final_values[2] != 0.0).all()
    assert not rollout.valid[3].any() and rollout.valid[4].all()
    assert rollout.episode_lengths == [3, 3, 3, 3]


def test_vectorized_and_one_by_one_stepping_play_the_same_game():
    lengths = {}
    for vectorize in (True, False):
        worker = make_worker(batch_size=250, num_envs_per_worker=16, vectorize_envs=vectorize)
        assert (worker.vector_env is not None) == vectorize
        lengths[vectorize] = worker.sample().episode_lengths
    means = {k: np.mean(v) for k, v in lengths.items()}
    assert min(len(v) for v in lengths.values()) > 100
    assert abs(means[True] - means[False]) < 0.15 * means[False], means


def test_atari_vector_env_reports_the_games_scores_and_is_not_used_without_preprocessing():
    """ale_py's AtariVectorEnv clips rewards by default: reported scores would be wrong for every game
    but Pong. It always preprocesses, so raw frames (atari_preprocessing off) must not come from it."""
    pytest.importorskip("ale_py")
    vector_env = make_native_vector_env("ALE/SpaceInvaders-v5", {}, 2)
    vector_env.reset(seed=0)
    rng = np.random.default_rng(0)
    rewards = np.concatenate([vector_env.step(rng.integers(0, 6, 2))[1] for _ in range(400)])
    vector_env.close()
    assert rewards.max() >= 5, "an alien is worth 5 to 30 points; clipped, every reward would be <= 1"
    assert make_native_vector_env("ALE/SpaceInvaders-v5", {}, 2, atari=None) is None
    assert make_native_vector_env("ALE/SpaceInvaders-v5", {"frameskip": 1}, 2) is None  # the wrappers' skip


@pytest.mark.parametrize("frames", [STANDARD_ATARI, AtariFrames(screen_size=42, frame_stack=1)])
def test_a_pong_worker_with_several_envs_steps_ales_vector_env_with_one_envs_observations(frames):
    pytest.importorskip("ale_py")
    settings = {"atari_screen_size": frames.screen_size, "atari_frame_stack": frames.frame_stack}
    config = resolve_config({"seed": 0, "num_envs_per_worker": 2, "batch_size": 4, **settings}, A3C_SCHEMA)
    worker = RolloutWorker("ALE/Pong-v5", config, worker_index=1)
    assert worker.vector_env is not None, "the fast path must not fall back silently"
    assert worker.vector_env.single_observation_space == make_env("ALE/Pong-v5", {}, frames).observation_space
    spaces = worker.spaces
    worker.set_weights(build_model(spaces.encoder.shape, spaces.action, config["model"], True).get_flat_weights())
    size, stack = frames.screen_size, frames.frame_stack
    assert worker.sample().obs.shape == (4, 2, stack, size, size)  # [T, N, stacked frames, size, size]


def test_the_a3c_lstm_anchors_input_one_42_pixel_frame_into_an_lstm_samples_from_pong():
    """universe-starter-agent's and RLlib's pong-a3c input: one 42x42 frame, memory from the LSTM."""
    pytest.importorskip("ale_py")
    config = resolve_config(
        {
            "seed": 0,
            "num_envs_per_worker": 2,
            "batch_size": 4,
            "atari_screen_size": 42,
            "atari_frame_stack": 1,
            "model": {"use_lstm": True, "lstm_cell_size": 32},
        },
        A3C_SCHEMA,
    )
    worker = RolloutWorker("ALE/Pong-v5", config, worker_index=1)
    assert worker.spaces.obs_shape == (1, 42, 42)
    spaces = worker.spaces
    worker.set_weights(build_model(spaces.encoder.shape, spaces.action, config["model"], True).get_flat_weights())
    rollout = worker.sample()
    assert rollout.obs.shape == (4, 2, 1, 42, 42)
    assert rollout.state_in is not None


def test_the_atari_frames_come_from_the_config_and_a_checkpoint_from_before_the_keys_restores_84x4():
    from a3c.config import upgrade_saved_config

    assert AtariFrames.from_config(resolve_config({}, A3C_SCHEMA)) == STANDARD_ATARI == AtariFrames(84, 4)
    assert AtariFrames.from_config(upgrade_saved_config({})) == AtariFrames(84, 4)
    saved = {"atari_screen_size": 42, "atari_frame_stack": 1}
    assert AtariFrames.from_config(upgrade_saved_config(saved)) == AtariFrames(42, 1)
    assert AtariFrames.from_config(upgrade_saved_config({"atari_preprocessing": False})) is None


def test_reward_scale_scales_what_the_losses_see_not_the_reported_rewards():
    batches = []
    for scale in (1.0, 0.5):
        worker = make_worker(batch_size=60, reward_scale=scale)
        worker.set_weights(np.zeros(worker.policy.num_params, dtype=np.float32))  # V = 0 everywhere
        batches.append(worker.sample_batch())
    np.testing.assert_allclose(batches[1].value_targets, 0.5 * batches[0].value_targets, rtol=1e-6)
    assert batches[1].episode_rewards == batches[0].episode_rewards and batches[0].episode_rewards


def test_workers_keep_freed_memory_where_glibc_allows_it():
    """The Ray worker tunes glibc's malloc (a3c.execution.allocator); a second call is harmless."""
    import platform

    from a3c.execution.allocator import keep_freed_memory

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        assert keep_freed_memory() is False
        return
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True
