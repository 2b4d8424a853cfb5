"""A custom environment with Dict observations, registered with gymnasium, trained from the CLI.

    PYTHONPATH=examples a3c train custom_env:a3c-examples/Rooms-v0 --iterations 20
    a3c evaluate runs/<that run> --episodes 20

"module:Env-v0" is gymnasium's own syntax: the module is imported first (in the driver and in every
Ray worker), which registers the environment. The observation is a Dict of a Box, a Discrete and a
MultiBinary: each part is encoded (scaled, one-hot, 0/1) and concatenated for the network.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class RoomsEnv(gym.Env):
    """Observe a position (Box), the room you are in (Discrete) and two switches (MultiBinary); the
    reward is 1 when the action names the room. One step per episode: chance scores 1/3."""

    metadata = {"render_modes": ["rgb_array"]}
    observation_space = gym.spaces.Dict(
        {
            "position": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            "room": gym.spaces.Discrete(3),
            "switches": gym.spaces.MultiBinary(2),
        }
    )
    action_space = gym.spaces.Discrete(3)

    def __init__(self, render_mode: str | None = None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(int(self.np_random.integers(2**31)))
        self.obs = self.observation_space.sample()
        return self.obs, {}

    def step(self, action):
        return self.obs, float(int(action) == int(self.obs["room"])), True, False, {}

    def render(self):
        """Three rooms side by side, the current one lit."""
        frame = np.zeros((32, 96, 3), dtype=np.uint8)
        room = int(self.obs["room"])
        frame[:, room * 32 : (room + 1) * 32] = (255, 200, 0)
        return frame


gym.register("a3c-examples/Rooms-v0", entry_point=RoomsEnv, max_episode_steps=1)
