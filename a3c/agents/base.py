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
from torch.optim.adam import adam as adam_update

from a3c.catalog import plan_model
from a3c.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_name,
    describe_mismatch,
    read_checkpoint,
    resolve_checkpoint,
    write_checkpoint,
)
from a3c.config import ConfigError, Option, resolve_config, resolve_model, upgrade_saved_config
from a3c.core.schedules import linear_anneal
from a3c.envs import AtariFrames, EnvSpec, check_env_id, check_spaces, env_name, is_atari, make_env
from a3c.errors import TrainingError
from a3c.execution.pool import LocalPool, WorkerPool
from a3c.filters import (
    MeanStdFilter,
    ReturnNormalizer,
    RunningStat,
    make_filter,
    saved_filter_stat,
    state_for_workers,
)
from a3c.models import ActionDistribution, PolicyNetwork, build_network
from a3c.policy import State, make_policy
from a3c.result import EpisodeTracker, TrainResult
from a3c.spaces import upgrade_spaces_dict
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


class FlatAdam:
    """Adam (torch's own functional update, `torch.optim.adam.adam`, fused) on one flat parameter vector.

    The same arithmetic as `torch.optim.Adam([flat], fused=True)` without the optimizer's per-step
    bookkeeping (hooks, parameter groups, state lookups), which cost more than the update itself for
    the tutorial's 9,155 weights: the driver applies every gradient, so this runs 10,000 times per
    tutorial. Its state is the three tensors a checkpoint keeps under the same names as before.
    """

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.param = param
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.state: dict[str, torch.Tensor] = {
            "step": torch.zeros((), dtype=torch.float32),
            "exp_avg": torch.zeros_like(param),
            "exp_avg_sq": torch.zeros_like(param),
        }

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        adam_update(
            [self.param],
            [grad],
            [self.state["exp_avg"]],
            [self.state["exp_avg_sq"]],
            [],
            [self.state["step"]],
            fused=True,
            amsgrad=False,
            beta1=self.betas[0],
            beta2=self.betas[1],
            lr=self.lr,
            weight_decay=0.0,
            eps=self.eps,
            maximize=False,
        )

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        for key, value in tensors.items():
            self.state[key] = value.reshape(self.state[key].shape).to(self.state[key].dtype).clone()


class Learner:
    """The one true policy and its optimizer, as one flat parameter vector.

    One flat tensor makes each update a single fused Adam step and each weight broadcast a single
    array: the driver's time per gradient is what bounds A3C's throughput. The torch ActorCritic
    is synced from it only when someone asks for named weights.
    """

    def __init__(
        self,
        model: PolicyNetwork,
        lr: float,
        grad_clip: float | None,
        lr_final: float | None = None,
        lr_decay_steps: int = 0,
    ):
        self.model = model
        self.flat = torch.nn.Parameter(torch.from_numpy(model.get_flat_weights()))
        self.optimizer = FlatAdam(self.flat, lr)
        self.grad_clip = grad_clip
        self.lr_start = lr
        self.lr_final = lr if lr_final is None else lr_final
        self.lr_decay_steps = lr_decay_steps

    @property
    def lr(self) -> float:
        """The learning rate the next update uses."""
        return float(self.optimizer.lr)

    def update_lr(self, timesteps: int) -> float:
        """Set the config's rate for `timesteps` env steps (lr, annealed linearly to lr_final over
        lr_decay_steps) and return it. The config is the one source: a restore under a changed lr
        (PBT's perturbed trial, `from_checkpoint(path, lr=...)`) takes the new rate."""
        self.optimizer.lr = linear_anneal(self.lr_start, self.lr_final, self.lr_decay_steps, timesteps)
        return self.optimizer.lr

    def apply_gradient(self, flat_grad: np.ndarray) -> float:
        """Apply one flat gradient, clipped to grad_clip; return its global norm before clipping."""
        grad = np.array(flat_grad, dtype=np.float32)  # own copy: Ray's is read-only, and clipping scales it
        return self._clip_and_step(grad, torch.from_numpy(grad))

    def step_backpropagated(self) -> float:
        """Apply the gradient a loss backpropagated into `flat.grad` (PPO's minibatches), then clear it."""
        grad = self.flat.grad
        self.flat.grad = None
        return self._clip_and_step(grad.numpy(), grad)

    def _clip_and_step(self, grad: np.ndarray, grad_tensor: torch.Tensor) -> float:
        """Clip `grad` in place to grad_clip and step; the two arguments share memory. The norm is
        numpy's (a dot product): torch's vector_norm cost five times more at this size."""
        squares = np.dot(grad, grad)
        if not np.isfinite(squares):  # finite values whose squares overflow float32 (the caller checked)
            squares = np.dot(grad.astype(np.float64), grad.astype(np.float64))
        norm = float(np.sqrt(squares))
        if self.grad_clip is not None and norm > self.grad_clip:
            grad *= self.grad_clip / (norm + 1e-6)
        self.optimizer.step(grad_tensor)
        return norm

    def _views(self) -> dict[str, torch.Tensor]:
        """The model's parameters as views into the flat vector (gradients flow into flat.grad). One
        split, not a slice per parameter: its backward writes the flat gradient once, where each slice's
        filled a zero vector of the whole size and added it (7% of PPO's epochs on Pong, in profile)."""
        named = list(self.model.named_parameters())
        chunks = self.flat.split([param.numel() for _, param in named])
        return {name: chunk.view_as(param) for (name, param), chunk in zip(named, chunks, strict=True)}

    def forward(
        self,
        obs: torch.Tensor,
        state: tuple[torch.Tensor, ...] | None = None,
        resets: torch.Tensor | None = None,
        keep: torch.Tensor | None = None,
    ) -> tuple[ActionDistribution, torch.Tensor]:
        """The action distribution and values for a batch [B, ...] (or, with a state, sequences
        [T, N, ...] flattened to T * N rows, of which only the `keep` rows are returned: a sequence
        runs through every step, the loss sees only transitions), differentiable in the flat weights
        (PPO's SGD)."""
        params = self._views()
        if state is None:
            dist_params, values = torch.func.functional_call(self.model, params, (obs,))
        else:
            dist_params, values, _ = torch.func.functional_call(
                self.model, params, (obs,), {"state": state, "resets": resets}
            )
        dist_params, values = dist_params.reshape(-1, dist_params.shape[-1]), values.reshape(-1)
        if keep is not None:
            dist_params, values = dist_params[keep], values[keep]
        log_std = params.get("log_std.log_std")
        return ActionDistribution(self.model.action, dist_params, log_std), values

    def weights(self) -> np.ndarray:
        """The current weights, as a view: copy (or ray.put) before the next update."""
        return self.flat.detach().numpy()

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Optimizer moments as arrays, and its scalar settings, for a checkpoint (the lr is there
        for a reader; `Agent.restore` sets the config's)."""
        state = self.optimizer.state
        tensors = {f"adam.{key}": value.detach().numpy().copy().reshape(-1) for key, value in state.items()}
        return tensors, {"lr": self.lr}

    def load_state(self, tensors: dict[str, np.ndarray]) -> None:
        """Optimizer moments from a checkpoint. Its saved lr is not loaded: the caller sets the
        config's with update_lr."""
        moments = {key[len("adam.") :]: value for key, value in tensors.items() if key.startswith("adam.")}
        if moments:
            self.optimizer.load({key: torch.from_numpy(np.asarray(value)) for key, value in moments.items()})

    def load_weights(self, flat: np.ndarray) -> None:
        with torch.no_grad():
            self.flat.copy_(torch.from_numpy(np.asarray(flat, dtype=np.float32)))

    def sync_model(self) -> PolicyNetwork:
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
        self._probe_spaces()
        self.plan = plan_model(self.spaces, self.config["model"], self.algorithm)
        if self.config["lr"] is None:
            self.config["lr"] = self.plan.lr
        if self.config["seed"] is not None:
            torch.manual_seed(self.config["seed"])
        torch.set_num_threads(1)
        self.model = build_network(self.plan)  # a custom model is checked here, before any actor starts
        logger.info("%s (%d parameters)", self.model.describe(), self.model.num_params())
        self.learner = Learner(
            self.model,
            self.config["lr"],
            self.config["grad_clip"],
            self.config["lr_final"],
            self.config["lr_decay_steps"],
        )
        self.episodes = EpisodeTracker()
        self.obs_filter = make_filter(
            self.config["observation_filter"], (self.spaces.obs_size,), self.spaces.encoder.is_image
        )
        self.return_filter = ReturnNormalizer(self.config["gamma"]) if self.config["normalize_rewards"] else None
        self.iteration = 0
        self.timesteps_total = 0
        self.time_total_s = 0.0
        self.weights_version = 0
        self.num_bad_gradients = 0
        self.num_env_errors = 0
        self.pool = self._make_pool()
        self._action_policy = make_policy(self.spaces, self.config["model"])
        self._action_rng = np.random.default_rng(self.config["seed"])

    def _probe_spaces(self) -> None:
        """Build one environment to learn its spaces (checked before any actor starts) and say what
        the agent will build from them."""
        config = self.config
        atari = AtariFrames.from_config(config)
        probe = make_env(self.env, config["env_config"], atari)
        try:
            self.spaces = check_spaces(probe, config["scale_observations"])
        finally:
            probe.close()
        if self.spaces.encoder.is_image and config["observation_filter"] == "MeanStdFilter":
            raise ConfigError("config['observation_filter'] must be 'NoFilter' or 'auto' for image observations")
        logger.info("Observation shape is %s", self.spaces.obs_shape)
        logger.info(self.spaces.encoder.describe())
        if atari is not None and is_atari(self.env):
            logger.info(
                "Atari preprocessing (gymnasium's wrappers; ale_py's vector env for several per worker): no-op "
                "starts, frame skip 4 with max-pooling, %s; rewards clipped to [-1, 1] in the loss "
                "(config['atari_preprocessing'] = False turns it off).",
                atari.describe(),
            )
        if self.spaces.action.kind != "categorical":
            logger.info(self.spaces.action.describe())

    def _make_pool(self) -> WorkerPool:
        num_workers = self.config["num_workers"]
        envs = self.config["num_envs_per_worker"]
        stepped = f"{envs} environment{'s' * (envs != 1)}"
        workers = f"{num_workers} worker{'s' * (num_workers != 1)}"
        logger.info(
            f"the driver steps {stepped} (num_workers 0)"
            if num_workers == 0
            else f"{workers}, {stepped} each (num_workers, num_envs_per_worker)"
        )
        if num_workers == 0:
            return LocalPool([RolloutWorker(self.env, self.config, worker_index=0)])
        if self.config["execution"] == "local":
            return LocalPool([RolloutWorker(self.env, self.config, worker_index=i + 1) for i in range(num_workers)])
        from a3c.execution.ray_pool import RayPool
        from a3c.execution.ray_runtime import ensure_ray

        ensure_ray(self.config["ray_address"])
        return RayPool(self.env, self.config, num_workers)

    def _filter_state(self) -> dict[str, Any] | None:
        """The merged observation and return statistics, sent to workers with the weights."""
        return state_for_workers(self.obs_filter, self.return_filter)

    def _record(self, result: Any) -> None:
        """Take in a worker result's episodes and its filters' deltas."""
        self.episodes.add(result.episode_rewards, result.episode_lengths)
        self.num_env_errors += result.num_env_errors
        deltas = result.filter_delta or {}
        if deltas.get("obs") is not None and isinstance(self.obs_filter, MeanStdFilter):
            self.obs_filter.stat.merge(RunningStat.from_state(deltas["obs"]))
        if deltas.get("returns") is not None and self.return_filter is not None:
            self.return_filter.stat.merge(RunningStat.from_state(deltas["returns"]))

    def _apply(self, flat_grad: np.ndarray | None = None) -> float | None:
        """Apply a worker gradient (or, with None, the one backpropagated into the learner).

        A gradient with NaN or inf is rejected, not applied, and counted; past max_bad_gradients
        training stops with an error naming the usual causes. Returns the norm, or None if rejected.
        """
        grad = flat_grad if flat_grad is not None else self.learner.flat.grad.numpy()
        if np.all(np.isfinite(grad)):
            if flat_grad is None:
                return self.learner.step_backpropagated()
            return self.learner.apply_gradient(flat_grad)
        self.learner.flat.grad = None
        self.num_bad_gradients += 1
        logger.warning("rejected a gradient with NaN/inf values (%d so far)", self.num_bad_gradients)
        if self.num_bad_gradients > self.config["max_bad_gradients"]:
            lr = self.learner.lr
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
        """One iteration (A3C and A2C: `grads_per_step` gradients applied; PPO: one update on
        `train_batch_size` steps, in rounds of every worker's rollout); returns counters, timing, the
        last 100 episodes' statistics and, in `info`, the learner's and the workers' stats."""
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

    def compute_action(self, obs: Any, state: State = None, explore: bool = True) -> Any:
        """One action for one raw observation from the newest policy (no Ray involved), in the form
        the environment accepts. A recurrent policy takes and returns its state:
        `action, state = agent.compute_action(obs, state)` (None starts an episode)."""
        policy = self._action_policy
        policy.set_flat_weights(self.learner.weights())
        if policy.recurrent and state is None:
            state = policy.initial_state(1)
        encoded = self.obs_filter(self.spaces.encoder(obs)[None], update=False)
        actions, _, _, state = policy.act(encoded, state, self._action_rng if explore else None)
        action = self.spaces.action.to_env(actions[0])
        return (action, state) if policy.recurrent else action

    def get_weights(self) -> dict[str, np.ndarray]:
        """Named weights of the ActorCritic (its state_dict as numpy arrays)."""
        model = self.learner.sync_model()
        return {name: t.detach().numpy().copy() for name, t in model.state_dict().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Replace the weights with named arrays, as `get_weights` returns them. Gradients still in
        flight were computed on the old weights: they are dropped, not applied."""
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
        """State beyond weights and optimizer: the observation filter's and return normalizer's statistics."""
        tensors: dict[str, np.ndarray] = {}
        state: dict[str, Any] = {}
        if isinstance(self.obs_filter, MeanStdFilter):
            stat = self.obs_filter.stat
            tensors.update({"filter.mean": stat.mean, "filter.m2": stat.m2})
            state["filter_count"] = stat.count
        if self.return_filter is not None:
            stat = self.return_filter.stat
            state["returns"] = {"count": stat.count, "mean": float(stat.mean), "m2": float(stat.m2)}
        return tensors, state

    def _load_extra_state(self, tensors: dict[str, np.ndarray], state: dict[str, Any]) -> None:
        if isinstance(self.obs_filter, MeanStdFilter) and "filter.mean" in tensors:
            self.obs_filter.stat = saved_filter_stat(tensors, state)
        if self.return_filter is not None and "returns" in state:
            self.return_filter.stat = RunningStat.from_state(state["returns"])

    def checkpoint(self) -> Checkpoint:
        """What `save` writes, in memory: weights, optimizer moments, filter statistics, counters,
        episode window, config and the environment's spaces (to refuse a restore that does not fit)."""
        adam_tensors, adam_scalars = self.learner.state()
        extra_tensors, extra_state = self._extra_state()
        state = {
            "algorithm": self.algorithm,
            "env": self.env if isinstance(self.env, str) else None,
            "env_name": self.env_name,
            "config": json.loads(json.dumps(self.config, default=repr)),
            "spaces": self.spaces.to_dict(),
            "parameters": self.parameter_layout(),
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

    def parameter_layout(self) -> list[tuple[str, list[int]]]:
        """(name, shape) of each parameter, in the order they lie in the flat weight vector."""
        return [(name, list(param.shape)) for name, param in self.model.named_parameters()]

    def save(self, directory: str | Path) -> Path:
        """Write a checkpoint into `directory` (atomically); return the file's path."""
        return write_checkpoint(Path(directory) / checkpoint_name(self.iteration), self.checkpoint())

    def restore(self, path: str | Path) -> None:
        """Continue from a checkpoint: weights, optimizer moments, counters and episode stats."""
        checkpoint = read_checkpoint(path)
        state = checkpoint.state
        if state.get("algorithm") != self.algorithm:
            raise CheckpointError(f"checkpoint is of a {state.get('algorithm')!r} agent, this is {self.algorithm!r}")
        saved_spaces = upgrade_spaces_dict(state.get("spaces", {}))
        problems = describe_mismatch(self.spaces.to_dict(), saved_spaces, "environment")
        saved_model = resolve_model(upgrade_saved_config(state.get("config", {}))["model"])
        problems += describe_mismatch(self.config["model"], saved_model, "model")
        if not problems and "parameters" in state:  # format 2 names every parameter of the flat vector
            problems = describe_mismatch(
                dict(self.parameter_layout()), {name: shape for name, shape in state["parameters"]}, "parameter"
            )
        weights = checkpoint.tensors.get("weights")
        if not problems and (weights is None or weights.shape != self.learner.flat.shape):
            problems.append(f"weights: checkpoint has {None if weights is None else weights.shape}")
        if problems:
            raise CheckpointError("checkpoint does not fit this agent: " + "; ".join(problems))
        self._replace_weights(weights)
        self.learner.load_state(checkpoint.tensors)
        counters = state["counters"]
        self.iteration = int(counters["training_iteration"])
        self.timesteps_total = int(counters["timesteps_total"])
        self.learner.update_lr(self.timesteps_total)
        self.time_total_s = float(counters["time_total_s"])
        self.weights_version = int(counters["weights_version"])
        self.episodes.load_state(state["episodes"])
        self._load_extra_state(checkpoint.tensors, state.get("extra", {}))

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, env: EnvSpec | None = None, best: bool = False, **overrides: Any
    ) -> Agent:
        """Build an agent with a checkpoint's config (plus `overrides`) and restore it.

        `path`: a checkpoint file, or a run directory, its checkpoints/ or checkpoints/index.json
        (the newest checkpoint; with `best`, the best one by episode_reward_mean).
        """
        path = resolve_checkpoint(path, best)
        state = read_checkpoint(path).state
        env = env if env is not None else state.get("env")
        if env is None:
            raise CheckpointError("this checkpoint's environment was a callable: pass env= to rebuild it")
        config = {**upgrade_saved_config(state["config"]), **overrides}
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
