"""Tiny environments that each need one part of the model catalog, for learnability tests."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class TargetEnv(gym.Env):
    """Continuous actions: observe a target in [-1, 1], act a number; reward -(action - target)^2.

    One step per episode. A random Gaussian policy scores about -1.3; the optimum is 0."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target = self.np_random.uniform(-1, 1, size=1).astype(np.float32)
        return self.target.copy(), {}

    def step(self, action):
        reward = -float(((np.asarray(action) - self.target) ** 2).sum())
        return self.target.copy(), reward, True, False, {}


class CueEnv(gym.Env):
    """Memory: a cue (+1 or -1) is shown at the first step only; at the last of `length` steps the
    action must name it (+1 reward, else -1). The observation says when the last step comes, not
    what the cue was: a feed-forward policy averages 0, a recurrent one can reach +1."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.length = (config or {}).get("length", 4)

    def _obs(self):
        cue = self.cue if self.t == 0 else 0.0
        return np.array([cue, float(self.t == self.length - 1)], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cue = float(self.np_random.choice([-1.0, 1.0]))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        if self.t == self.length - 1:
            return self._obs(), 1.0 if (int(action) == 1) == (self.cue > 0) else -1.0, True, False, {}
        self.t += 1
        return self._obs(), 0.0, False, False, {}


class SideEnv(gym.Env):
    """Images: a 10x10 grayscale frame with one bright 2x2 square; act 0 if it is in the left half,
    1 if in the right. One step per episode, reward 1 when right. Chance is 0.5."""

    observation_space = gym.spaces.Box(0, 255, (10, 10), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.frame = np.zeros((10, 10), dtype=np.uint8)
        row, col = self.np_random.integers(0, 9), self.np_random.integers(0, 9)
        self.frame[row : row + 2, col : col + 2] = 255
        self.side = int(col >= 4.5)
        return self.frame.copy(), {}

    def step(self, action):
        return self.frame.copy(), float(int(action) == self.side), True, False, {}


class ActionsEnv(gym.Env):
    """Dict observations (a Box and a Discrete) and a MultiBinary or MultiDiscrete action, ten steps an
    episode, reward 1 for each action entry equal to the observed Discrete (mod its size): for export tests."""

    observation_space = gym.spaces.Dict(
        {"x": gym.spaces.Box(-1.0, 1.0, (3,), np.float32), "k": gym.spaces.Discrete(3, start=1)}
    )

    def __init__(self, actions: str = "multi_binary"):
        self.action_space = gym.spaces.MultiBinary(3) if actions == "multi_binary" else gym.spaces.MultiDiscrete([2, 3])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(int(self.np_random.integers(2**31)))
        self.obs = self.observation_space.sample()
        return self.obs, {}

    def step(self, action):
        reward = float(np.sum(np.asarray(action) == self.obs["k"] % 2))
        self.obs = self.observation_space.sample()
        return self.obs, reward, False, False, {}


class BreaksEnv(gym.Env):
    """Runs fine for `after` steps in this process, then every step raises (a copy rebuilt after the
    error breaks too: the count is the process's): a failure at run time, built from a good id and
    env_config. Episodes of 10 steps, reward 1 a step."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)
    steps_in_process = 0

    def __init__(self, after: int = 100):
        self.after = after

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        BreaksEnv.steps_in_process += 1
        if BreaksEnv.steps_in_process > self.after:
            raise RuntimeError("the simulator broke")
        return np.zeros(1, dtype=np.float32), 1.0, False, False, {}


# Ids for what needs one (SavedPolicy and `a3c export` rebuild the env by id): "toy_envs:a3c-tests/Side-v0".
gym.register("a3c-tests/Side-v0", entry_point=SideEnv, max_episode_steps=1)
gym.register("a3c-tests/Actions-v0", entry_point=ActionsEnv, max_episode_steps=10)
gym.register("a3c-tests/Breaks-v0", entry_point=BreaksEnv, max_episode_steps=10)
