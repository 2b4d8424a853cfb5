"""Building environments by id or callable, and checking they are ones our models can drive."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

EnvSpec = str | Callable[[dict[str, Any]], gym.Env]


class EnvError(ValueError):
    """The environment cannot be built, or its spaces are not ones the agents support."""


@dataclass(frozen=True)
class SpaceInfo:
    """What the driver needs to know of an environment to build a matching model."""

    obs_shape: tuple[int, ...]
    num_actions: int

    @property
    def obs_size(self) -> int:
        return int(np.prod(self.obs_shape))

    def to_dict(self) -> dict[str, Any]:
        return {"obs_shape": list(self.obs_shape), "num_actions": self.num_actions}


def env_name(env: EnvSpec) -> str:
    return env if isinstance(env, str) else getattr(env, "__name__", type(env).__name__)


def check_env_id(env_id: str) -> None:
    """Raise EnvError naming close matches when gymnasium does not know `env_id`."""
    if env_id in gym.registry:
        return
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise EnvError(f"unknown gymnasium environment '{env_id}'{hint}")


def make_env(env: EnvSpec, env_config: dict[str, Any] | None = None) -> gym.Env:
    """Build one environment: a registered id (env_config as make() kwargs) or a callable(env_config)."""
    env_config = dict(env_config or {})
    if isinstance(env, str):
        check_env_id(env)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is out of date.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            try:
                return gym.make(env, **env_config)
            except TypeError as error:
                raise EnvError(f"cannot build '{env}' with env_config {env_config}: {error}") from None
    if callable(env):
        built = env(env_config)
        if not isinstance(built, gym.Env):
            raise EnvError(f"the env callable must return a gymnasium.Env, got {type(built).__name__}")
        return built
    raise EnvError(f"env must be a gymnasium id or a callable returning an env, got {type(env).__name__}")


def make_native_vector_env(env: EnvSpec, env_config: dict[str, Any], num_envs: int) -> Any | None:
    """gymnasium's own numpy-vectorized `env` (one array op steps all copies), or None if it has none.

    Only registered ids whose `vector_entry_point` builds a numpy env with next-step autoreset
    qualify (CartPole); everything else is stepped one `env.step` at a time.
    """
    if not isinstance(env, str) or env not in gym.registry or gym.spec(env).vector_entry_point is None:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is out of date.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            vector_env = gym.make_vec(env, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_config)
        except Exception:  # noqa: BLE001 - e.g. a JAX implementation without jax installed
            return None
    autoreset = vector_env.metadata.get("autoreset_mode")
    if getattr(autoreset, "name", autoreset) != "NEXT_STEP" or not isinstance(
        vector_env.single_observation_space, gym.spaces.Box
    ):
        vector_env.close()
        return None
    return vector_env


def space_info(env: gym.Env) -> SpaceInfo:
    """Check the spaces: a Box observation and a Discrete action are what the models handle.

    A vector env is described by the spaces of one copy.
    """
    observation_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    if not isinstance(observation_space, gym.spaces.Box):
        raise EnvError(f"observation space must be a Box, got {observation_space}")
    if not isinstance(action_space, gym.spaces.Discrete):
        raise EnvError(f"action space must be Discrete, got {action_space}")
    return SpaceInfo(tuple(int(d) for d in observation_space.shape), int(action_space.n))


class Preprocessor:
    """Flatten observations to float32 and, for a Box bounded in every dimension, scale to [-1, 1].

    Unscaled, MountainCar's velocity (|v| <= 0.07) barely moves a freshly initialized network; a
    Box with any unbounded dimension (CartPole) is passed through, as the original tutorial did.
    """

    def __init__(self, space: gym.spaces.Box, scale: bool = True):
        low = np.asarray(space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(space.high, dtype=np.float64).reshape(-1)
        self.scales = bool(scale and np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low))
        self.center = ((high + low) / 2).astype(np.float32) if self.scales else None
        self.half_range = ((high - low) / 2).astype(np.float32) if self.scales else None

    def describe(self) -> str:
        if self.scales:
            return "Using observation preprocessor: scale the bounded Box to [-1, 1]."
        return "Not using any observation preprocessor."

    def __call__(self, obs: Any) -> np.ndarray:
        flat = np.asarray(obs, dtype=np.float32).reshape(-1)
        if self.scales:
            return (flat - self.center) / self.half_range
        return flat

    def batch(self, obs: Any) -> np.ndarray:
        """The same for a batch of observations [N, ...] -> [N, obs_size]."""
        rows = np.asarray(obs, dtype=np.float32)
        rows = rows.reshape(rows.shape[0], -1)
        if self.scales:
            return (rows - self.center) / self.half_range
        return rows
