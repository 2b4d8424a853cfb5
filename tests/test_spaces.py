"""Observation encodings and action specs for every gymnasium space we drive; clear errors for the rest."""

import gymnasium as gym
import numpy as np
import pytest

from a3c import A3CAgent, EnvError
from a3c.spaces import SpaceError, make_action_spec, make_obs_encoder, spaces_of


def test_discrete_observations_are_one_hot():
    encoder = make_obs_encoder(gym.spaces.Discrete(5, start=2))
    np.testing.assert_array_equal(encoder(4), [0, 0, 1, 0, 0])
    assert encoder.shape == (5,)


def test_multi_discrete_and_multi_binary_observations():
    encoder = make_obs_encoder(gym.spaces.MultiDiscrete([2, 3]))
    np.testing.assert_array_equal(encoder(np.array([1, 2])), [0, 1, 0, 0, 1])
    binary = make_obs_encoder(gym.spaces.MultiBinary(3))
    np.testing.assert_array_equal(binary(np.array([1, 0, 1], dtype=np.int8)), [1, 0, 1])


def test_dict_and_tuple_observations_are_encoded_part_by_part_and_concatenated():
    space = gym.spaces.Dict(
        {
            "pos": gym.spaces.Box(-np.inf, np.inf, (2,)),
            "room": gym.spaces.Discrete(3),
            "bits": gym.spaces.MultiBinary(2),
        }
    )
    encoder = make_obs_encoder(space)
    obs = {"pos": np.array([0.5, -1.0], dtype=np.float32), "room": 2, "bits": np.array([1, 0])}
    # gymnasium sorts Dict keys: bits, pos, room
    np.testing.assert_array_equal(encoder(obs), [1, 0, 0.5, -1.0, 0, 0, 1])
    tuple_encoder = make_obs_encoder(gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Box(0, 1, (1,)))))
    np.testing.assert_allclose(tuple_encoder((1, np.array([1.0]))), [0, 1, 1.0])  # Box [0, 1] scaled to [-1, 1]


def test_images_are_detected_and_kept_uint8_channels_first():
    hwc = make_obs_encoder(gym.spaces.Box(0, 255, (10, 12, 3), np.uint8))
    assert hwc.is_image and hwc.shape == (3, 10, 12)
    frame = np.arange(360, dtype=np.uint8).reshape(10, 12, 3)
    out = hwc(frame)
    assert out.dtype == np.uint8 and out[2, 4, 5] == frame[4, 5, 2]
    assert make_obs_encoder(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)).shape == (4, 84, 84)
    assert make_obs_encoder(gym.spaces.Box(0, 255, (84, 84), np.uint8)).shape == (1, 84, 84)
    assert not make_obs_encoder(gym.spaces.Box(0, 255, (3, 3), np.uint8)).is_image  # too small: a flat vector


def test_action_specs_and_what_the_env_receives():
    box = make_action_spec(gym.spaces.Box(-2.0, 2.0, (1,)))
    assert box.kind == "gaussian" and box.param_size == 1
    sent = box.to_env(np.array([3.5], dtype=np.float32))
    assert sent.shape == (1,) and sent[0] == 2.0  # clipped to the bounds when sent to the env
    multi = make_action_spec(gym.spaces.MultiDiscrete([3, 2]))
    assert multi.param_size == 5 and multi.action_shape == (2,)
    bern = make_action_spec(gym.spaces.MultiBinary(4))
    assert bern.kind == "bernoulli" and gym.spaces.MultiBinary(4).contains(bern.to_env(np.array([1, 0, 1, 1])))
    shifted = make_action_spec(gym.spaces.Discrete(3, start=-1))
    assert shifted.to_env(np.int64(0)) == -1


def test_a_gaussians_starting_std_is_half_the_boxs_half_range_unless_configured():
    from a3c.models import ActorCritic

    box = make_action_spec(gym.spaces.Box(np.array([-1.0, -2.0, -np.inf]), np.array([1.0, 2.0, np.inf])))
    np.testing.assert_allclose(np.exp(box.initial_log_std()), [0.5, 1.0, 1.0])  # unbounded: std 1
    model = {"fcnet_hiddens": [8], "fcnet_activation": "tanh", "vf_share_layers": True}
    default = ActorCritic((2,), box, {**model, "log_std_init": None})
    np.testing.assert_allclose(default.log_std.log_std.detach().numpy(), box.initial_log_std())
    configured = ActorCritic((2,), box, {**model, "log_std_init": -0.3})
    np.testing.assert_allclose(configured.log_std.log_std.detach().numpy(), [-0.3] * 3)


class TextEnv(gym.Env):
    observation_space = gym.spaces.Text(5)
    action_space = gym.spaces.Discrete(2)


class GraphActionEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.Graph(node_space=gym.spaces.Discrete(2), edge_space=None)


def test_unsupported_spaces_are_a_clear_error_before_any_actor_starts():
    with pytest.raises(EnvError, match=r"observation space Text.*not supported; supported: Box, Discrete"):
        A3CAgent({"num_workers": 4}, lambda config: TextEnv())
    with pytest.raises(EnvError, match=r"action space Graph.*not supported; supported: Discrete, MultiDiscrete"):
        A3CAgent({"num_workers": 4}, lambda config: GraphActionEnv())
    with pytest.raises(SpaceError, match="Text"):
        spaces_of(TextEnv())


def test_a_missing_environment_family_names_the_extra_to_install():
    import importlib.util

    if importlib.util.find_spec("Box2D") is not None:
        pytest.skip("box2d is installed here: nothing is missing")
    with pytest.raises(EnvError, match=r"LunarLander-v3.*install the 'box2d' extra"):
        A3CAgent({"num_workers": 0}, "LunarLander-v3")
