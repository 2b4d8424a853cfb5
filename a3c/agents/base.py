"""Agent: the bookkeeping every algorithm shares, done once (template methods, as in old RLlib).

Subclasses set `schema` and implement `_train()`, which does one iteration's work and returns
learner stats; `train()` wraps it with counters, timing and episode statistics.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from a3c.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_name,
    describe_mismatch,
    read_checkpoint,
    write_checkpoint,
)
from a3c.config import ConfigError, Option, resolve_config
from a3c.core.numpy_model import NumpyActorCritic, sample_actions
from a3c.envs import EnvSpec, Preprocessor, check_env_id, env_name, make_env, space_info
from a3c.errors import TrainingError
from a3c.execution.pool import LocalPool, WorkerPool
from a3c.filters import MeanStdFilter, RunningStat, make_filter
from a3c.models import SharedModel, build_model
from a3c.result import EpisodeTracker, TrainResult
from a3c.worker import RolloutWorker

logger = logging.getLogger("a3c")


def _ensure_console_logging() -> None:
    """Show what the agent builds, as the tutorial did, unless the user configured logging."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def loss_summary(results: list[Any], grad_norms: list[float]) -> dict[str, float]:
    """Batch-mean learner stats over the worker results (GradientResult) behind one iteration."""
    return {
        "policy_loss": float(np.mean([r.policy_loss for r in results])),
        "value_loss": float(np.mean([r.value_loss for r in results])),
        "entropy": float(np.mean([r.entropy for r in results])),
        "grad_norm": float(np.mean(grad_norms)),
    }


class Learner:
    """The one true policy and its optimizer, as one flat parameter vector.

    One flat tensor makes each update a single fused Adam step and each weight broadcast a single
    array: the driver's time per gradient is what bounds A3C's throughput. The torch SharedModel
    is synced from it only when someone asks for named weights.
    """

    def __init__(
        self,
        model: SharedModel,
        lr: float,
        grad_clip: float | None,
        lr_final: float | None = None,
        lr_decay_steps: int = 0,
    ):
        self.model = model
        self.flat = torch.nn.Parameter(torch.from_numpy(model.get_flat_weights()))
        self.optimizer = torch.optim.Adam([self.flat], lr=lr, fused=True)
        self.grad_clip = grad_clip
        self.lr_start = lr
        self.lr_final = lr if lr_final is None else lr_final
        self.lr_decay_steps = lr_decay_steps

    def update_lr(self, timesteps: int) -> float:
        """Anneal linearly from lr to lr_final over lr_decay_steps env steps; return the lr in use."""
        if self.lr_decay_steps > 0:
            fraction = min(1.0, timesteps / self.lr_decay_steps)
            lr = self.lr_start + fraction * (self.lr_final - self.lr_start)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        return float(self.optimizer.param_groups[0]["lr"])

    def apply_gradient(self, flat_grad: np.ndarray) -> float:
        """Apply one flat gradient, clipped to grad_clip; return its global norm before clipping."""
        self.flat.grad = torch.from_numpy(np.array(flat_grad, dtype=np.float32))  # own copy: Ray's is read-only
        return self.clip_and_step()

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """SharedModel's forward pass on the flat weights, differentiable (for PPO's SGD)."""
        params, offset = {}, 0
        for name, param in self.model.named_parameters():
            params[name] = self.flat[offset : offset + param.numel()].view_as(param)
            offset += param.numel()
        return torch.func.functional_call(self.model, params, (obs,))

    def clip_and_step(self) -> float:
        grad = self.flat.grad
        norm = float(torch.linalg.vector_norm(grad))
        if self.grad_clip is not None and norm > self.grad_clip:
            grad.mul_(self.grad_clip / (norm + 1e-6))
        self.optimizer.step()
        return norm

    def weights(self) -> np.ndarray:
        """The current weights, as a view: copy (or ray.put) before the next update."""
        return self.flat.detach().numpy()

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Optimizer moments as arrays, and its scalar settings, for a checkpoint."""
        state = self.optimizer.state.get(self.flat, {})
        tensors = {f"adam.{key}": value.detach().numpy().copy().reshape(-1) for key, value in state.items()}
        return tensors, {"lr": self.optimizer.param_groups[0]["lr"]}

    def load_state(self, tensors: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
        moments = {key[len("adam.") :]: value for key, value in tensors.items() if key.startswith("adam.")}
        if moments:
            self.optimizer.state[self.flat] = {
                key: torch.from_numpy(value.copy()).reshape(() if key == "step" else self.flat.shape)
                for key, value in moments.items()
            }
        for group in self.optimizer.param_groups:
            group["lr"] = float(scalars["lr"])

    def load_weights(self, flat: np.ndarray) -> None:
        with torch.no_grad():
            self.flat.copy_(torch.from_numpy(np.asarray(flat, dtype=np.float32)))

    def sync_model(self) -> SharedModel:
        self.model.set_flat_weights(self.weights())
        return self.model


class Agent:
    """Build from (config, env); `train()` runs one iteration and returns a TrainResult."""

    schema: dict[str, Option] = {}
    algorithm = "base"

    def __init__(self, config: dict[str, Any] | None = None, env: EnvSpec = "CartPole-v0"):
        _ensure_console_logging()
        self.config = resolve_config(config, self.schema)
        if isinstance(env, str):
            check_env_id(env)
        elif not callable(env):
            raise ConfigError(f"env must be a gymnasium id or a callable, got {type(env).__name__}")
        self.env = env
        self.env_name = env_name(env)
        probe = make_env(env, self.config["env_config"])
        self.spaces = space_info(probe)
        self.preprocess = Preprocessor(probe.observation_space, self.config["scale_observations"])
        probe.close()
        logger.info("Observation shape is %s", self.spaces.obs_shape)
        logger.info(self.preprocess.describe())
        if self.config["seed"] is not None:
            torch.manual_seed(self.config["seed"])
        torch.set_num_threads(1)
        self.model = build_model(self.spaces.obs_size, self.spaces.num_actions, self.config["model"])
        logger.info("%s (%d parameters)", self.model.describe(), self.model.num_params())
        self.learner = Learner(
            self.model,
            self.config["lr"],
            self.config["grad_clip"],
            self.config["lr_final"],
            self.config["lr_decay_steps"],
        )
        self.episodes = EpisodeTracker()
        self.obs_filter = make_filter(self.config["observation_filter"], (self.spaces.obs_size,))
        self.iteration = 0
        self.timesteps_total = 0
        self.time_total_s = 0.0
        self.weights_version = 0
        self.num_bad_gradients = 0
        self.num_env_errors = 0
        self.pool = self._make_pool()
        self._action_policy = NumpyActorCritic.from_model_config(
            self.spaces.obs_size, self.spaces.num_actions, self.config["model"]
        )
        self._action_rng = np.random.default_rng(self.config["seed"])

    def _make_pool(self) -> WorkerPool:
        num_workers = self.config["num_workers"]
        if num_workers == 0:
            return LocalPool([RolloutWorker(self.env, self.config, worker_index=0)])
        if self.config["execution"] == "local":
            return LocalPool([RolloutWorker(self.env, self.config, worker_index=i + 1) for i in range(num_workers)])
        from a3c.execution.ray_pool import RayPool, ensure_ray

        ensure_ray(self.config["ray_address"])
        return RayPool(self.env, self.config, num_workers)

    def _filter_state(self) -> dict[str, Any] | None:
        """The merged observation statistics, sent to workers with the weights."""
        return self.obs_filter.stat.state() if isinstance(self.obs_filter, MeanStdFilter) else None

    def _record(self, result: Any) -> None:
        """Take in a worker result's episodes and observation-filter delta."""
        self.episodes.add(result.episode_rewards, result.episode_lengths)
        self.num_env_errors += result.num_env_errors
        if result.filter_delta is not None and isinstance(self.obs_filter, MeanStdFilter):
            self.obs_filter.stat.merge(RunningStat.from_state(result.filter_delta))

    def _apply(self, flat_grad: np.ndarray | None = None) -> float | None:
        """Apply a worker gradient (or, with None, the one backpropagated into the learner).

        A gradient with NaN or inf is rejected, not applied, and counted; past max_bad_gradients
        training stops with an error naming the usual causes. Returns the norm, or None if rejected.
        """
        grad = flat_grad if flat_grad is not None else self.learner.flat.grad.numpy()
        if np.all(np.isfinite(grad)):
            if flat_grad is None:
                return self.learner.clip_and_step()
            return self.learner.apply_gradient(flat_grad)
        self.num_bad_gradients += 1
        logger.warning("rejected a gradient with NaN/inf values (%d so far)", self.num_bad_gradients)
        if self.num_bad_gradients > self.config["max_bad_gradients"]:
            lr = self.learner.optimizer.param_groups[0]["lr"]
            raise TrainingError(
                f"{self.num_bad_gradients} gradients had NaN or inf values (max_bad_gradients="
                f"{self.config['max_bad_gradients']}): the learning rate (lr={lr:g}) may be too high, "
                "or the observations badly scaled (try observation_filter='MeanStdFilter')"
            )
        return None

    def _train(self) -> tuple[int, dict[str, Any]]:
        """One iteration: return (env steps sampled, info dict). Record episodes in self.episodes."""
        raise NotImplementedError

    def train(self) -> TrainResult:
        start = time.perf_counter()
        self.episodes.episodes_this_iter = 0
        steps, info = self._train()
        elapsed = time.perf_counter() - start
        self.iteration += 1
        self.timesteps_total += steps
        self.time_total_s += elapsed
        return TrainResult(
            **self.episodes.summary(),
            episodes_this_iter=self.episodes.episodes_this_iter,
            episodes_total=self.episodes.episodes_total,
            timesteps_this_iter=steps,
            timesteps_total=self.timesteps_total,
            training_iteration=self.iteration,
            time_this_iter_s=elapsed,
            time_total_s=self.time_total_s,
            info={
                **info,
                "num_worker_restarts": self.pool.num_restarts(),
                "workers_per_node": self.pool.workers_per_node(),
                "num_bad_gradients": self.num_bad_gradients,
                "num_env_errors": self.num_env_errors,
            },
        )

    def compute_action(self, obs: Any, explore: bool = True) -> int:
        """One action for one raw observation from the newest policy (no Ray involved)."""
        self._action_policy.set_flat_weights(self.learner.weights())
        logits, _ = self._action_policy.forward(self.obs_filter(self.preprocess(obs)[None], update=False))
        if explore:
            return int(sample_actions(logits, self._action_rng)[0])
        return int(np.argmax(logits[0]))

    def get_weights(self) -> dict[str, np.ndarray]:
        """Named weights of the SharedModel (its state_dict as numpy arrays)."""
        model = self.learner.sync_model()
        return {name: t.detach().numpy().copy() for name, t in model.state_dict().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict({name: torch.as_tensor(np.asarray(w)) for name, w in weights.items()})
        self._replace_weights(self.model.get_flat_weights())

    def _replace_weights(self, flat: np.ndarray) -> None:
        """Swap in new weights; gradients still in flight were computed on the old ones: drop them."""
        if self.pool is not None:
            self.pool.drain()
        self.learner.load_weights(flat)
        self.weights_version += 1

    # -- checkpoints ------------------------------------------------------------------------

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """State beyond weights and optimizer: the observation filter's statistics."""
        if not isinstance(self.obs_filter, MeanStdFilter):
            return {}, {}
        stat = self.obs_filter.stat
        return {"filter.mean": stat.mean, "filter.m2": stat.m2}, {"filter_count": stat.count}

    def _load_extra_state(self, tensors: dict[str, np.ndarray], state: dict[str, Any]) -> None:
        if isinstance(self.obs_filter, MeanStdFilter) and "filter.mean" in tensors:
            self.obs_filter.stat = RunningStat.from_state(
                {"count": state["filter_count"], "mean": tensors["filter.mean"], "m2": tensors["filter.m2"]}
            )

    def checkpoint(self) -> Checkpoint:
        adam_tensors, adam_scalars = self.learner.state()
        extra_tensors, extra_state = self._extra_state()
        state = {
            "algorithm": self.algorithm,
            "env": self.env if isinstance(self.env, str) else None,
            "env_name": self.env_name,
            "config": json.loads(json.dumps(self.config, default=repr)),
            "spaces": self.spaces.to_dict(),
            "counters": {
                "training_iteration": self.iteration,
                "timesteps_total": self.timesteps_total,
                "time_total_s": self.time_total_s,
                "weights_version": self.weights_version,
            },
            "episodes": self.episodes.state(),
            "optimizer": adam_scalars,
            "extra": extra_state,
        }
        return Checkpoint({"weights": self.learner.weights().copy(), **adam_tensors, **extra_tensors}, state)

    def save(self, directory: str | Path) -> Path:
        """Write a checkpoint into `directory` (atomically); return the file's path."""
        return write_checkpoint(Path(directory) / checkpoint_name(self.iteration), self.checkpoint())

    def restore(self, path: str | Path) -> None:
        """Continue from a checkpoint: weights, optimizer moments, counters and episode stats."""
        checkpoint = read_checkpoint(path)
        state = checkpoint.state
        if state.get("algorithm") != self.algorithm:
            raise CheckpointError(f"checkpoint is of a {state.get('algorithm')!r} agent, this is {self.algorithm!r}")
        problems = describe_mismatch(self.spaces.to_dict(), state.get("spaces", {}), "environment")
        problems += describe_mismatch(self.config["model"], state.get("config", {}).get("model", {}), "model")
        weights = checkpoint.tensors.get("weights")
        if not problems and (weights is None or weights.shape != self.learner.flat.shape):
            problems.append(f"weights: checkpoint has {None if weights is None else weights.shape}")
        if problems:
            raise CheckpointError("checkpoint does not fit this agent: " + "; ".join(problems))
        self._replace_weights(weights)
        self.learner.load_state(checkpoint.tensors, state["optimizer"])
        counters = state["counters"]
        self.iteration = int(counters["training_iteration"])
        self.timesteps_total = int(counters["timesteps_total"])
        self.time_total_s = float(counters["time_total_s"])
        self.weights_version = int(counters["weights_version"])
        self.episodes.load_state(state["episodes"])
        self._load_extra_state(checkpoint.tensors, state.get("extra", {}))

    @classmethod
    def from_checkpoint(cls, path: str | Path, env: EnvSpec | None = None, **overrides: Any) -> Agent:
        """Build an agent with a checkpoint's config (plus `overrides`) and restore it."""
        state = read_checkpoint(path).state
        env = env if env is not None else state.get("env")
        if env is None:
            raise CheckpointError("this checkpoint's environment was a callable: pass env= to rebuild it")
        config = {**state["config"], **overrides}
        agent = cls(config, env)
        agent.restore(path)
        return agent

    def stop(self) -> None:
        """Free the workers (and their processes); the agent can no longer train."""
        if self.pool is not None:
            self.pool.stop()
            self.pool = None  # type: ignore[assignment]

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
