"""Building environments by id or callable, and checking they are ones our models can drive."""

from __future__ import annotations

import difflib
import importlib
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from a3c.config import COMMON_SCHEMA
from a3c.spaces import SpaceError, Spaces, spaces_of

EnvSpec = str | Callable[[dict[str, Any]], gym.Env]

# Environment families that need an optional extra: the module gymnasium imports -> the extra.
EXTRAS = {"ale_py": "atari", "Box2D": "box2d", "box2d": "box2d", "mujoco": "mujoco"}
FAMILY_OF_ENTRY_POINT = {"ale_py": "atari", "gymnasium.envs.box2d": "box2d", "gymnasium.envs.mujoco": "mujoco"}


class EnvError(ValueError):
    """The environment cannot be built, or its spaces are not ones the agents support: bad input. An
    environment that was built but fails while it runs is an a3c.errors.EnvironmentFailure."""


@dataclass(frozen=True)
class AtariFrames:
    """What the Atari preprocessing hands the network: square grayscale frames of `screen_size` pixels,
    the last `frame_stack` of them stacked. The standard (Mnih et al.) is 84 and 4; the A3C LSTM
    anchors (universe-starter-agent, RLlib's pong-a3c) feed one 42x42 frame to a recurrent policy."""

    screen_size: int
    frame_stack: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AtariFrames | None:
        """The preprocessing a config asks for (a resolved one, or a checkpoint's after
        `upgrade_saved_config`); None when `atari_preprocessing` is off (raw frames)."""
        if not config["atari_preprocessing"]:
            return None
        return cls(config["atari_screen_size"], config["atari_frame_stack"])

    def describe(self) -> str:
        stacked = "one frame" if self.frame_stack == 1 else f"{self.frame_stack} stacked frames"
        return f"{self.screen_size}x{self.screen_size} grayscale, {stacked}"


# The config's defaults: the preprocessing of an env built without a config (a3c evaluate, tests).
STANDARD_ATARI = AtariFrames(COMMON_SCHEMA["atari_screen_size"].default, COMMON_SCHEMA["atari_frame_stack"].default)


def install_hint(extra: str) -> str:
    return f"install the '{extra}' extra: pip install -e '.[{extra}]' (or: make extras)"


def _load_atari() -> bool:
    """Register the ALE environments (gymnasium 1.x registers them when ale_py is imported)."""
    try:
        ale_py = importlib.import_module("ale_py")
    except ImportError:
        return False
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no version banner from every env built
    gym.register_envs(ale_py)
    return True


def is_atari(env: EnvSpec) -> bool:
    if not isinstance(env, str):
        return False
    env_id = check_env_id(env)
    return "ale_py" in str(gym.spec(env_id).entry_point)


def _looks_like_atari(env_id: str) -> bool:
    return env_id.startswith("ALE/") or "NoFrameskip" in env_id


def check_spaces(env: gym.Env, scale_observations: bool = True) -> Spaces:
    """The env's spaces, checked; EnvError naming an unsupported space."""
    try:
        return spaces_of(env, scale_observations)
    except SpaceError as error:
        raise EnvError(str(error)) from None


def env_name(env: EnvSpec) -> str:
    return env if isinstance(env, str) else getattr(env, "__name__", type(env).__name__)


def check_env_id(env_id: str) -> str:
    """The registered id for `env_id`; EnvError naming close matches when gymnasium does not know it.

    "package.module:Env-v0" (gymnasium's own syntax) imports the module first, so that a custom
    environment registered there can be named on the command line, and in every Ray worker.
    """
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise EnvError(f"cannot import module '{module}' for environment '{env_id}': {error}") from None
    if name in gym.registry:
        return name
    if _looks_like_atari(name):
        if not _load_atari():
            raise EnvError(f"'{name}' is an Atari game: {install_hint('atari')}")
        if name in gym.registry:
            return name
    close = difflib.get_close_matches(name, list(gym.registry), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise EnvError(f"unknown gymnasium environment '{name}'{hint}")


def make_env(
    env: EnvSpec, env_config: dict[str, Any] | None = None, atari: AtariFrames | None = STANDARD_ATARI
) -> gym.Env:
    """Build one environment: a registered id (env_config as make() kwargs) or a callable(env_config).

    An Atari id gets the preprocessing `atari` describes from gymnasium's own wrappers (see
    `wrap_atari`); None: raw frames.
    """
    env_config = dict(env_config or {})
    if isinstance(env, str):
        env = check_env_id(env)
        # _load_atari also when ale_py was imported elsewhere: it quiets the ALE banner
        preprocess = atari is not None and is_atari(env) and _load_atari()
        if preprocess:
            env_config.setdefault("frameskip", 1)  # AtariPreprocessing skips (and max-pools) frames itself
        if str(gym.spec(env).entry_point).startswith("gymnasium.envs.mujoco"):
            _route_mujoco_warnings()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is out of date.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            try:
                built = gym.make(env, **env_config)
            except TypeError as error:
                raise EnvError(f"cannot build '{env}' with env_config {env_config}: {error}") from None
            except (gym.error.DependencyNotInstalled, ImportError) as error:
                raise EnvError(f"'{env}' needs a package that is not installed: {_missing_hint(env, error)}") from None
        if not preprocess:
            return built
        try:
            return wrap_atari(built, atari)
        except gym.error.DependencyNotInstalled:
            raise EnvError(f"'{env}' needs a package that is not installed: {install_hint('atari')}") from None
    if callable(env):
        built = env(env_config)
        if not isinstance(built, gym.Env):
            raise EnvError(f"the env callable must return a gymnasium.Env, got {type(built).__name__}")
        return built
    raise EnvError(f"env must be a gymnasium id or a callable returning an env, got {type(env).__name__}")


def _route_mujoco_warnings() -> None:
    """MuJoCo 4 prints a deprecation line for an attribute of gymnasium's own model files each time an
    env is built: nothing a user can act on. Other MuJoCo warnings go to Python's warnings, once each."""
    try:
        import mujoco
    except ImportError:  # gym.make says which extra is missing
        return
    except Exception as error:  # noqa: BLE001 - e.g. MUJOCO_GL names an OpenGL library that is not there
        gl = os.environ.get("MUJOCO_GL")
        raise EnvError(f"MuJoCo cannot load (MUJOCO_GL={gl!r}): {type(error).__name__}: {error}") from None

    def handler(message: str) -> None:
        if "is deprecated" not in message:
            warnings.warn(f"MuJoCo: {message.strip()}", RuntimeWarning, stacklevel=2)

    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(handler)


def _missing_hint(env_id: str, error: Exception) -> str:
    entry_point = str(gym.spec(env_id).entry_point)
    for prefix, extra in FAMILY_OF_ENTRY_POINT.items():
        if entry_point.startswith(prefix):
            return install_hint(extra)
    missing = getattr(error, "name", None) or str(error).splitlines()[0]
    extra = EXTRAS.get(str(missing).split(".")[0])
    return install_hint(extra) if extra else str(missing)


def wrap_atari(env: gym.Env, frames: AtariFrames = STANDARD_ATARI) -> gym.Env:
    """The Atari preprocessing (Mnih et al.), from gymnasium's own wrappers: up to 30 no-op starts,
    frame skip 4 with max-pooling over the last two frames, grayscale frames of `frames.screen_size`
    pixels, `frames.frame_stack` of them stacked (uint8 [4, 84, 84] by default). Rewards are clipped
    in the loss by the worker (`clip_rewards`), so the reported episode reward stays the game's score."""
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    env = AtariPreprocessing(
        env, noop_max=30, frame_skip=4, screen_size=frames.screen_size, grayscale_obs=True, scale_obs=False
    )
    return FrameStackObservation(env, frames.frame_stack)


# ale_py's AtariVectorEnv preprocesses as `wrap_atari` does (no-op starts, frame skip 4 with max-pooling,
# grayscale frames of the size asked for, stacked). These make the rest match one wrapped env: rewards stay raw (the
# losses clip them, per clip_rewards; reported scores must be the game's), no FIRE at reset (the
# wrappers press none), and one thread per worker, as everywhere else.
ATARI_VECTOR_SETTINGS = {"reward_clipping": False, "use_fire_reset": False, "num_threads": 1}


def make_native_vector_env(
    env: EnvSpec, env_config: dict[str, Any], num_envs: int, atari: AtariFrames | None = STANDARD_ATARI
) -> Any | None:
    """gymnasium's own numpy-vectorized `env` (one array op steps all copies), or None if it has none.

    Only registered ids whose `vector_entry_point` builds a numpy env with next-step autoreset
    qualify (CartPole; Atari with its preprocessing on); everything else is stepped one `env.step`
    at a time.
    """
    if not isinstance(env, str):
        return None
    env = check_env_id(env)
    if gym.spec(env).vector_entry_point is None:
        return None
    if is_atari(env):
        # AtariVectorEnv always preprocesses (raw frames come one env at a time), and its frameskip is
        # the wrappers' skip, not the emulator's that a user's env_config sets for the wrapped env
        if atari is None or "frameskip" in env_config:
            return None
        frames = {"img_height": atari.screen_size, "img_width": atari.screen_size, "stack_num": atari.frame_stack}
        env_config = {**ATARI_VECTOR_SETTINGS, **frames, **env_config}
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
