"""What an environment's spaces are, checked once: how observations are encoded for the network and
which distribution its actions follow.

Observations are encoded without parameters: a Box is flattened (and scaled to [-1, 1] when bounded
in every dimension), Discrete and MultiDiscrete become one-hot, MultiBinary a 0/1 vector, Dict and
Tuple the concatenation of their parts. An image (a uint8 Box shaped H x W, H x W x C or C x H x W
with C <= 4) stays uint8, channels first, until the network. Actions are Discrete (categorical),
MultiDiscrete (independent categoricals), MultiBinary (Bernoulli) or Box (diagonal Gaussian).
Anything else is refused before any actor starts, naming the space and what is supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

SUPPORTED_OBSERVATIONS = "Box, Discrete, MultiBinary, MultiDiscrete, or a Dict/Tuple of these"
SUPPORTED_ACTIONS = "Discrete, MultiDiscrete, MultiBinary or Box"
MAX_CHANNELS = 4


class SpaceError(ValueError):
    """A space the agents cannot drive (raised as EnvError by a3c.envs)."""


# -- observations ------------------------------------------------------------------------------


class ObsEncoder:
    """Turns one raw observation into the network's input; `shape` and `dtype` of that input."""

    shape: tuple[int, ...]
    dtype: type = np.float32
    is_image = False

    def __call__(self, obs: Any) -> np.ndarray:
        raise NotImplementedError

    def batch(self, observations: Any) -> np.ndarray:
        """[N, *shape] from N raw observations (a list, or a stacked array from a vector env)."""
        return np.stack([self(obs) for obs in observations])

    def describe(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


class BoxEncoder(ObsEncoder):
    """Flatten to float32; scale to [-1, 1] when bounded in every dimension (and `scale` is on).

    Unscaled, MountainCar's velocity (|v| <= 0.07) barely moves a freshly initialized network; a
    Box with any unbounded dimension (CartPole) is passed through, as the original tutorial did.
    """

    def __init__(self, space: gym.spaces.Box, scale: bool = True):
        low = np.asarray(space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(space.high, dtype=np.float64).reshape(-1)
        self.space_shape = tuple(int(d) for d in space.shape)
        self.shape = (low.size,)
        self.scales = bool(scale and np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low))
        self.center = ((high + low) / 2).astype(np.float32) if self.scales else None
        self.half_range = ((high - low) / 2).astype(np.float32) if self.scales else None

    def __call__(self, obs: Any) -> np.ndarray:
        flat = np.asarray(obs, dtype=np.float32).reshape(-1)
        return (flat - self.center) / self.half_range if self.scales else flat

    def batch(self, observations: Any) -> np.ndarray:
        rows = np.asarray(observations, dtype=np.float32)
        rows = rows.reshape(rows.shape[0], -1)
        return (rows - self.center) / self.half_range if self.scales else rows

    def describe(self) -> str:
        if self.scales:
            return "Using observation preprocessor: scale the bounded Box to [-1, 1]."
        return "Not using any observation preprocessor."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "box", "shape": list(self.space_shape)}


class OneHotEncoder(ObsEncoder):
    """Discrete(n) (one block) or MultiDiscrete(nvec) (one block per entry) as one-hot float32."""

    def __init__(self, nvec: list[int], start: list[int], kind: str):
        self.nvec = np.asarray(nvec, dtype=np.int64)
        self.start = np.asarray(start, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.nvec)[:-1]])
        self.shape = (int(self.nvec.sum()),)
        self.kind = kind

    def __call__(self, obs: Any) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.float32)
        out[self.offsets + (np.asarray(obs, dtype=np.int64).reshape(-1) - self.start)] = 1.0
        return out

    def describe(self) -> str:
        return f"Using observation preprocessor: one-hot ({self.shape[0]} values)."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "nvec": self.nvec.tolist()}


class BinaryEncoder(ObsEncoder):
    """MultiBinary as a 0/1 float32 vector."""

    def __init__(self, space: gym.spaces.MultiBinary):
        self.shape = (int(np.prod(space.shape)),)

    def __call__(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=np.float32).reshape(-1)

    def describe(self) -> str:
        return "Using observation preprocessor: MultiBinary as 0/1 values."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "multi_binary", "size": self.shape[0]}


class ConcatEncoder(ObsEncoder):
    """Dict or Tuple: each part encoded, then concatenated (Dict parts in gymnasium's key order)."""

    def __init__(self, parts: list[tuple[Any, ObsEncoder]], kind: str):
        self.parts = parts
        self.kind = kind
        self.shape = (sum(encoder.size for _, encoder in parts),)

    def __call__(self, obs: Any) -> np.ndarray:
        return np.concatenate([encoder(obs[key]) for key, encoder in self.parts])

    def describe(self) -> str:
        return f"Using observation preprocessor: {self.kind} of {len(self.parts)} parts, each encoded, concatenated."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "parts": {str(key): encoder.to_dict() for key, encoder in self.parts}}


class ImageEncoder(ObsEncoder):
    """uint8 images kept uint8, channels first [C, H, W]; the network scales them to [0, 1]."""

    dtype = np.uint8
    is_image = True

    def __init__(self, space_shape: tuple[int, ...], layout: str):
        self.space_shape = space_shape
        self.layout = layout  # "HW", "HWC" or "CHW"
        if layout == "HW":
            self.shape = (1, *space_shape)
        elif layout == "HWC":
            self.shape = (space_shape[2], space_shape[0], space_shape[1])
        else:
            self.shape = space_shape

    def __call__(self, obs: Any) -> np.ndarray:
        image = np.asarray(obs, dtype=np.uint8)
        if self.layout == "HW":
            return image[None]
        if self.layout == "HWC":
            return np.ascontiguousarray(image.transpose(2, 0, 1))
        return image

    def batch(self, observations: Any) -> np.ndarray:
        images = np.asarray(observations, dtype=np.uint8)
        if self.layout == "HW":
            return images[:, None]
        if self.layout == "HWC":
            return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
        return images

    def describe(self) -> str:
        c, h, w = self.shape
        return f"Using observation preprocessor: image {h}x{w}x{c} kept uint8, channels first."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "image", "shape": list(self.space_shape), "layout": self.layout}


def image_layout(space: gym.spaces.Box) -> str | None:
    """ "HW", "HWC" or "CHW" for a uint8 Box that looks like an image, else None."""
    shape = space.shape
    if space.dtype != np.uint8 or len(shape) not in (2, 3) or min(shape) < 1:
        return None
    if len(shape) == 2:
        return "HW" if min(shape) >= 8 else None
    if shape[2] <= MAX_CHANNELS and min(shape[:2]) >= 8:
        return "HWC"
    if shape[0] <= MAX_CHANNELS and min(shape[1:]) >= 8:
        return "CHW"
    return None


def make_obs_encoder(space: gym.Space, scale: bool = True, where: str = "observation space") -> ObsEncoder:
    """The encoder for `space`; SpaceError naming the space when it is not one we drive."""
    if isinstance(space, gym.spaces.Box):
        layout = image_layout(space)
        if layout is not None:
            return ImageEncoder(tuple(int(d) for d in space.shape), layout)
        return BoxEncoder(space, scale)
    if isinstance(space, gym.spaces.Discrete):
        return OneHotEncoder([int(space.n)], [int(space.start)], "discrete")
    if isinstance(space, gym.spaces.MultiDiscrete):
        if space.nvec.ndim != 1:
            raise SpaceError(f"{where}: MultiDiscrete with a {space.nvec.ndim}-d nvec is not supported, got {space}")
        start = getattr(space, "start", np.zeros_like(space.nvec))
        return OneHotEncoder(space.nvec.tolist(), np.asarray(start).tolist(), "multi_discrete")
    if isinstance(space, gym.spaces.MultiBinary):
        return BinaryEncoder(space)
    if isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
        items = space.spaces.items() if isinstance(space, gym.spaces.Dict) else enumerate(space.spaces)
        parts = []
        for key, part in items:
            encoder = make_obs_encoder(part, scale, f"{where}[{key!r}]")
            if encoder.is_image:
                raise SpaceError(f"{where}[{key!r}]: images inside a Dict/Tuple are not supported yet, got {part}")
            parts.append((key, encoder))
        if not parts:
            raise SpaceError(f"{where}: an empty {type(space).__name__} has nothing to observe")
        return ConcatEncoder(parts, "dict" if isinstance(space, gym.spaces.Dict) else "tuple")
    raise SpaceError(f"{where} {space} ({type(space).__name__}) is not supported; supported: {SUPPORTED_OBSERVATIONS}")


# -- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """The action distribution an action space calls for, and how a sample goes back to the env.

    kind: "categorical" (sizes = (n,)), "multi_categorical" (sizes = nvec), "bernoulli"
    (sizes = (n,)) or "gaussian" (sizes = (dim,), with the Box's bounds and shape).
    """

    kind: str
    sizes: tuple[int, ...]
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    shape: tuple[int, ...] = ()
    start: tuple[int, ...] | None = None

    @property
    def param_size(self) -> int:
        """Outputs of the policy head: logits, or the Gaussian's mean (its log-std is a parameter)."""
        return int(sum(self.sizes)) if self.kind == "multi_categorical" else int(self.sizes[0])

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Shape of one action as the rollout stores it ((): one integer for categorical)."""
        return (
            ()
            if self.kind == "categorical"
            else (len(self.sizes) if self.kind == "multi_categorical" else self.sizes[0],)
        )

    @property
    def action_dtype(self) -> type:
        return np.float32 if self.kind == "gaussian" else np.int64

    def initial_log_std(self) -> np.ndarray:
        """A Gaussian's starting log-std per dimension: half the Box's half-range (1 where unbounded).

        Measured on 2026-11-27 (BENCHMARKS.md, "A Gaussian's starting std"): with a std of 1 on
        HalfCheetah-v5's [-1, 1], a third of the samples are clipped and 0 of 3 seeds reached 1,500;
        at 0.5, 7 of 11 runs did. On Pendulum-v1's [-2, 2] a std of 1 was faster than 0.61 or 0.37.
        """
        half_range = (np.asarray(self.high, np.float64) - np.asarray(self.low, np.float64)) / 2
        bounded = np.isfinite(half_range) & (half_range > 0)
        return np.log(np.where(bounded, 0.5 * half_range, 1.0)).astype(np.float32)

    def to_env(self, action: np.ndarray) -> Any:
        """What the environment accepts: an int, an int array, or the Gaussian sample clipped to the Box."""
        if self.kind == "categorical":
            return int(action) + (self.start[0] if self.start else 0)
        if self.kind == "gaussian":
            clipped = np.clip(action, np.asarray(self.low, np.float32), np.asarray(self.high, np.float32))
            return clipped.astype(np.float32).reshape(self.shape)
        if self.kind == "multi_categorical" and self.start:
            return np.asarray(action, dtype=np.int64) + np.asarray(self.start, dtype=np.int64)
        return np.asarray(action, dtype=np.int64).reshape(self.shape) if self.shape else np.asarray(action)

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"Action distribution: categorical over {self.sizes[0]} actions."
        if self.kind == "multi_categorical":
            return f"Action distribution: {len(self.sizes)} independent categoricals {list(self.sizes)}."
        if self.kind == "bernoulli":
            return f"Action distribution: {self.sizes[0]} independent Bernoulli."
        return f"Action distribution: diagonal Gaussian ({self.sizes[0]} dims, learned log-std, clipped to the Box)."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sizes": list(self.sizes)}


def make_action_spec(space: gym.Space) -> ActionSpec:
    if isinstance(space, gym.spaces.Discrete):
        return ActionSpec("categorical", (int(space.n),), start=(int(space.start),))
    if isinstance(space, gym.spaces.MultiDiscrete):
        if space.nvec.ndim != 1:
            raise SpaceError(f"action space MultiDiscrete with a {space.nvec.ndim}-d nvec is not supported")
        start = getattr(space, "start", None)
        start_tuple = tuple(int(s) for s in np.asarray(start)) if start is not None and np.any(start) else None
        return ActionSpec("multi_categorical", tuple(int(n) for n in space.nvec), start=start_tuple)
    if isinstance(space, gym.spaces.MultiBinary):
        return ActionSpec("bernoulli", (int(np.prod(space.shape)),), shape=tuple(int(d) for d in space.shape))
    if isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating):
        low = np.asarray(space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(space.high, dtype=np.float64).reshape(-1)
        return ActionSpec(
            "gaussian",
            (low.size,),
            tuple(float(v) for v in low),
            tuple(float(v) for v in high),
            tuple(int(d) for d in space.shape),
        )
    raise SpaceError(f"action space {space} ({type(space).__name__}) is not supported; supported: {SUPPORTED_ACTIONS}")


@dataclass(frozen=True)
class Spaces:
    """An environment's observation encoder and action spec, with the raw shape for the tutorial's log line."""

    encoder: ObsEncoder
    action: ActionSpec
    obs_shape: tuple[int, ...]

    @property
    def obs_size(self) -> int:
        return self.encoder.size

    def to_dict(self) -> dict[str, Any]:
        return {"observation": self.encoder.to_dict(), "action": self.action.to_dict()}


def spaces_of(env: gym.Env, scale_observations: bool = True) -> Spaces:
    """Check an env's spaces once (a vector env: those of one copy); SpaceError if unsupported."""
    observation_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    encoder = make_obs_encoder(observation_space, scale_observations)
    shape = tuple(int(d) for d in getattr(observation_space, "shape", None) or encoder.shape)
    return Spaces(encoder, make_action_spec(action_space), shape)


def upgrade_spaces_dict(spaces: dict[str, Any]) -> dict[str, Any]:
    """Checkpoint format 1 stored {"obs_shape", "num_actions"}: a Box and a Discrete."""
    if "obs_shape" in spaces:
        return {
            "observation": {"kind": "box", "shape": list(spaces["obs_shape"])},
            "action": {"kind": "categorical", "sizes": [int(spaces["num_actions"])]},
        }
    return spaces
