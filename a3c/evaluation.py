"""Play a saved policy: no training, no Ray; no torch for an MLP (its weights run in numpy).

`SavedPolicy.compute_action` is the Python reference of a policy: `a3c export` writes graphs that
are checked against it (a3c.export)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from a3c.checkpoint import CheckpointError, read_checkpoint, resolve_checkpoint
from a3c.config import resolve_model, upgrade_saved_config
from a3c.envs import AtariFrames, check_spaces, make_env
from a3c.errors import EnvironmentFailure
from a3c.filters import MeanStdFilter, NoFilter, saved_filter_stat
from a3c.policy import Policy, State, make_policy
from a3c.spaces import Spaces, upgrade_spaces_dict


@dataclass
class EvaluationResult:
    """Each played episode's total reward and length; `summary` gives the reward's mean, std, min and max.
    `rendered`: the GIF's episode (reward, frames), played after the others and not in them."""

    rewards: list[float]
    lengths: list[int]
    rendered: tuple[float, int] | None = None

    @property
    def summary(self) -> dict[str, float]:
        """Mean, std, min and max of the episode rewards."""
        r = np.asarray(self.rewards)
        return {"mean": float(r.mean()), "std": float(r.std()), "min": float(r.min()), "max": float(r.max())}


def play_episode(
    env: gym.Env,
    spaces: Spaces,
    policy: Policy,
    obs_filter: Callable[..., np.ndarray],
    rng: np.random.Generator | None,
    seed: int | None = None,
    frames: list[np.ndarray] | None = None,
    on_step: Callable[[Any, np.ndarray], None] | None = None,
) -> tuple[float, int]:
    """One episode with `policy` (rng None: deterministic, the mode or the Gaussian's mean): (total
    reward, steps). With `frames`, each rendered frame is appended to it; `on_step(obs, action)` sees
    each raw observation and the action chosen for it, before the action is clipped or shifted into
    the env's space (a benchmark's probe of the policy)."""
    obs, _ = env.reset(seed=seed)
    state = policy.initial_state(1)
    if frames is not None:
        frames.append(env.render())
    total, steps, done = 0.0, 0, False
    while not done:
        encoded = obs_filter(spaces.encoder(obs)[None], update=False)
        actions, _, _, state = policy.act(encoded, state, rng)
        if on_step is not None:
            on_step(obs, actions[0])
        obs, reward, terminated, truncated, _ = env.step(spaces.action.to_env(actions[0]))
        if frames is not None:
            frames.append(env.render())
        total, steps, done = total + float(reward), steps + 1, terminated or truncated
    return total, steps


def evaluate_agent(agent: Any, episodes: int, seed: int | None = None) -> EvaluationResult:
    """Play `episodes` episodes with a training agent's current policy, deterministically, on an
    environment of its own (not the workers'), with the observation filter frozen: the periodic
    evaluation of a run (a3c.run), as Stable-Baselines3's EvalCallback does it."""
    config = agent.config
    policy = make_policy(agent.spaces, config["model"])
    policy.set_flat_weights(agent.learner.weights().copy())
    env = make_env(agent.env, config["env_config"], AtariFrames.from_config(config))
    rewards, lengths = [], []
    try:
        for episode in range(episodes):
            played = play_episode(
                env, agent.spaces, policy, agent.obs_filter, None, None if seed is None else seed + episode
            )
            rewards.append(played[0])
            lengths.append(played[1])
    finally:
        env.close()
    return EvaluationResult(rewards, lengths)


class SavedPolicy:
    """The policy stored in a checkpoint, with the preprocessing it was trained with: play it without
    training, without Ray, and for an MLP without torch (its weights run in numpy).

    `path`: a checkpoint file, or a run directory, its checkpoints/ or checkpoints/index.json (the
    newest checkpoint; with `best`, the best one by reward). The checkpoint's environment must be a
    gymnasium id (a callable cannot be stored).
    """

    def __init__(self, path: str | Path, best: bool = False):
        self.path = resolve_checkpoint(path, best)
        checkpoint = read_checkpoint(self.path)
        state = checkpoint.state
        self.env_id = state.get("env")
        if self.env_id is None:
            raise CheckpointError("this checkpoint's environment was a Python callable: evaluate it from Python")
        config = upgrade_saved_config(state["config"])
        self.env_config: dict[str, Any] = config.get("env_config", {})
        self.scale_observations = bool(config["scale_observations"])
        self.atari = AtariFrames.from_config(config)
        self.saved_spaces = upgrade_spaces_dict(state["spaces"])
        env = self.make_env()
        self.spaces = check_spaces(env, self.scale_observations)
        env.close()
        self.model_config = resolve_model(config["model"])
        self.policy = make_policy(self.spaces, self.model_config)
        self.weights = checkpoint.tensors["weights"].astype(np.float32)
        if self.weights.shape != (self.policy.num_params,):
            raise CheckpointError(
                f"checkpoint has {self.weights.size} weights, its model needs {self.policy.num_params}"
            )
        self.policy.set_flat_weights(self.weights)
        self.timesteps_total = int(state.get("counters", {}).get("timesteps_total", 0))
        self.obs_filter: MeanStdFilter | NoFilter = NoFilter()
        stat = saved_filter_stat(checkpoint.tensors, state.get("extra", {}))
        if stat is not None:
            self.obs_filter = MeanStdFilter(tuple(stat.mean.shape))
            self.obs_filter.stat = stat
        self.rng = np.random.default_rng()

    @property
    def recurrent(self) -> bool:
        return self.policy.recurrent

    def initial_state(self) -> State:
        """The state before an episode's first step (None for a feed-forward policy)."""
        return self.policy.initial_state(1)

    def compute_action(self, obs: Any, state: State = None, deterministic: bool = False) -> Any:
        """The action for one raw observation, in the form the environment accepts (a Gaussian's clipped
        to the Box). deterministic: the mode (argmax; the Gaussian's mean), else a sample. A recurrent
        policy takes and returns its state: `action, state = policy.compute_action(obs, state)` (None
        starts an episode)."""
        if self.policy.recurrent and state is None:
            state = self.initial_state()
        action, state = self._act(obs, state, None if deterministic else self.rng)
        action = self.spaces.action.to_env(action)
        return (action, state) if self.policy.recurrent else action

    def _act(self, obs: Any, state: State, rng: np.random.Generator | None) -> tuple[np.ndarray, State]:
        encoded = self.obs_filter(self.spaces.encoder(obs)[None], update=False)
        actions, _, _, state = self.policy.act(encoded, state, rng)
        return actions[0], state

    def make_env(self, render_mode: str | None = None) -> gym.Env:
        """The checkpoint's environment with its saved `env_config` and preprocessing; CheckpointError
        if the environment's spaces are no longer those the policy was trained on."""
        env_config = dict(self.env_config)
        if render_mode is not None:
            env_config["render_mode"] = render_mode
        env = make_env(self.env_id, env_config, self.atari)
        found = check_spaces(env, self.scale_observations).to_dict()
        if found != self.saved_spaces:
            raise CheckpointError(f"environment {self.env_id} has spaces {found}, the checkpoint {self.saved_spaces}")
        return env

    def play(
        self,
        env: gym.Env,
        deterministic: bool,
        rng: np.random.Generator,
        seed: int | None = None,
        frames: list[np.ndarray] | None = None,
        on_step: Callable[[Any, np.ndarray], None] | None = None,
    ) -> tuple[float, int]:
        """One episode: (total reward, steps); see play_episode."""
        return play_episode(
            env, self.spaces, self.policy, self.obs_filter, None if deterministic else rng, seed, frames, on_step
        )

    def evaluate(
        self, episodes: int = 10, deterministic: bool = False, seed: int | None = None, render_to: Path | None = None
    ) -> EvaluationResult:
        """Play `episodes` episodes (deterministic: the mode, or the Gaussian's mean); with
        `render_to`, one more episode is written as a GIF."""
        rng = np.random.default_rng(seed)
        env = self.make_env()
        rewards, lengths = [], []
        for episode in range(episodes):
            total, steps = self.play(env, deterministic, rng, None if seed is None else seed + episode)
            rewards.append(total)
            lengths.append(steps)
        env.close()
        rendered = None if render_to is None else self.render_gif(render_to, deterministic, seed, rng)
        return EvaluationResult(rewards, lengths, rendered)

    def render_gif(
        self, path: Path, deterministic: bool, seed: int | None, rng: np.random.Generator
    ) -> tuple[float, int]:
        """Write one episode as an animated GIF; return its reward and number of frames."""
        from PIL import Image

        env = self.make_env(render_mode="rgb_array")
        frames: list[np.ndarray] = []
        try:
            reward, _ = self.play(env, deterministic, rng, seed, frames)
        except Exception as error:  # noqa: BLE001 - renderers fail in many ways (no OpenGL, no display)
            raise EnvironmentFailure(
                f"cannot render {self.env_id}: {type(error).__name__}: {str(error).strip()[:300]} (MuJoCo without a "
                "display: set MUJOCO_GL=egl, or install OSMesa and set MUJOCO_GL=osmesa)"
            ) from None
        finally:
            env.close()
        images = [Image.fromarray(frame) for frame in frames]
        tmp = path.with_name(f".{path.name}.tmp")
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=33, loop=0)
        tmp.replace(path)
        return reward, len(images)
