"""Play a saved policy: no training, no Ray, no torch, just the checkpoint's weights in numpy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from a3c.checkpoint import CheckpointError, read_checkpoint, resolve_checkpoint
from a3c.core.numpy_model import NumpyActorCritic, sample_actions
from a3c.envs import Preprocessor, make_env, space_info
from a3c.filters import MeanStdFilter, NoFilter, RunningStat


@dataclass
class EvaluationResult:
    rewards: list[float]
    lengths: list[int]

    @property
    def summary(self) -> dict[str, float]:
        r = np.asarray(self.rewards)
        return {"mean": float(r.mean()), "std": float(r.std()), "min": float(r.min()), "max": float(r.max())}


class SavedPolicy:
    """The policy stored in a checkpoint, with the preprocessing it was trained with."""

    def __init__(self, path: str | Path, best: bool = False):
        self.path = resolve_checkpoint(path, best)
        checkpoint = read_checkpoint(self.path)
        state = checkpoint.state
        self.env_id = state.get("env")
        if self.env_id is None:
            raise CheckpointError("this checkpoint's environment was a Python callable: evaluate it from Python")
        config = state["config"]
        self.env_config: dict[str, Any] = config.get("env_config", {})
        self.scale_observations = bool(config.get("scale_observations", True))
        spaces = state["spaces"]
        obs_size = int(np.prod(spaces["obs_shape"]))
        self.network = NumpyActorCritic.from_model_config(obs_size, spaces["num_actions"], config["model"])
        self.network.set_flat_weights(checkpoint.tensors["weights"].astype(np.float32))
        self.spaces = spaces
        self.obs_filter: MeanStdFilter | NoFilter = NoFilter()
        if "filter.mean" in checkpoint.tensors:
            self.obs_filter = MeanStdFilter(tuple(checkpoint.tensors["filter.mean"].shape))
            self.obs_filter.stat = RunningStat.from_state(
                {
                    "count": state["extra"]["filter_count"],
                    "mean": checkpoint.tensors["filter.mean"],
                    "m2": checkpoint.tensors["filter.m2"],
                }
            )

    def _observe(self, preprocess: Preprocessor, obs: object) -> np.ndarray:
        return self.obs_filter(preprocess(obs)[None], update=False)

    def make_env(self, render_mode: str | None = None):
        env_config = dict(self.env_config)
        if render_mode is not None:
            env_config["render_mode"] = render_mode
        env = make_env(self.env_id, env_config)
        found = space_info(env).to_dict()
        if found != self.spaces:
            raise CheckpointError(f"environment {self.env_id} has spaces {found}, the checkpoint {self.spaces}")
        return env

    def evaluate(
        self, episodes: int = 10, deterministic: bool = False, seed: int | None = None, render_to: Path | None = None
    ) -> EvaluationResult:
        """Play `episodes` episodes; with `render_to`, the first one is also written as a GIF."""
        rng = np.random.default_rng(seed)
        env = self.make_env()
        preprocess = Preprocessor(env.observation_space, self.scale_observations)
        rewards, lengths = [], []
        for episode in range(episodes):
            obs, _ = env.reset(seed=None if seed is None else seed + episode)
            total, steps, done = 0.0, 0, False
            while not done:
                logits, _ = self.network.forward(self._observe(preprocess, obs))
                action = int(np.argmax(logits[0])) if deterministic else int(sample_actions(logits, rng)[0])
                obs, reward, terminated, truncated, _ = env.step(action)
                total, steps, done = total + float(reward), steps + 1, terminated or truncated
            rewards.append(total)
            lengths.append(steps)
        env.close()
        if render_to is not None:
            self.render_gif(render_to, deterministic, seed, rng)
        return EvaluationResult(rewards, lengths)

    def render_gif(self, path: Path, deterministic: bool, seed: int | None, rng: np.random.Generator) -> int:
        """Write one episode as an animated GIF; return the number of frames."""
        from PIL import Image

        env = self.make_env(render_mode="rgb_array")
        preprocess = Preprocessor(env.observation_space, self.scale_observations)
        obs, _ = env.reset(seed=seed)
        frames = [Image.fromarray(env.render())]
        done = False
        while not done:
            logits, _ = self.network.forward(self._observe(preprocess, obs))
            action = int(np.argmax(logits[0])) if deterministic else int(sample_actions(logits, rng)[0])
            obs, _, terminated, truncated, _ = env.step(action)
            frames.append(Image.fromarray(env.render()))
            done = terminated or truncated
        env.close()
        tmp = path.with_name(f".{path.name}.tmp")
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=33, loop=0)
        tmp.replace(path)
        return len(frames)
