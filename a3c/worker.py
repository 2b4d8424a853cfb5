"""RolloutWorker: environments plus a policy copy; samples partial rollouts and computes gradients.

A plain class with no Ray import: the driver runs it in process (`num_workers=0`, tests) or makes
it a Ray actor in exactly one place (`a3c.execution.ray_pool`). Episodes continue across tasks:
a rollout of `batch_size` steps picks up where the previous one stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from a3c.core.numpy_model import NumpyActorCritic, log_softmax, sample_from_log_probs
from a3c.core.returns import compute_gae, normalize_advantages
from a3c.envs import EnvError, EnvSpec, Preprocessor, env_name, make_env, make_native_vector_env, space_info
from a3c.filters import make_filter


@dataclass
class Rollout:
    """A partial rollout of T steps in N environments, time-major, with its episode stats."""

    obs: np.ndarray  # [T, N, obs_size]
    actions: np.ndarray  # [T, N]
    logp: np.ndarray  # [T, N]: log-probability of each action under the sampling policy
    rewards: np.ndarray  # [T, N]
    values: np.ndarray  # [T, N]
    terminated: np.ndarray  # [T, N]
    truncated: np.ndarray  # [T, N]
    final_values: np.ndarray  # [T, N]: value of the last observation of a truncated episode
    last_values: np.ndarray  # [N]: value of the observation after the rollout
    episode_rewards: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    num_env_errors: int = 0
    # [T, N] or None (all valid): False where a next-step-autoreset vector env was resetting
    # (that step's action was ignored; it is no transition and is dropped after GAE).
    valid: np.ndarray | None = None

    @property
    def num_steps(self) -> int:
        return int(self.rewards.size if self.valid is None else self.valid.sum())

    @classmethod
    def empty(cls, steps: int, num_envs: int, obs_size: int) -> Rollout:
        """Zeroed buffers for `steps` steps of `num_envs` environments, filled in by the worker."""

        def zeros(dtype: type = np.float32) -> np.ndarray:
            return np.zeros((steps, num_envs), dtype=dtype)

        return cls(
            obs=np.zeros((steps, num_envs, obs_size), dtype=np.float32),
            actions=zeros(np.int64),
            logp=zeros(),
            rewards=zeros(),
            values=zeros(),
            terminated=zeros(bool),
            truncated=zeros(bool),
            final_values=zeros(),
            last_values=np.zeros(num_envs, dtype=np.float32),
        )


@dataclass
class TrainBatch:
    """A rollout flattened to [B] rows with its advantages: what a loss is computed on."""

    obs: np.ndarray
    actions: np.ndarray
    logp: np.ndarray
    values: np.ndarray
    advantages: np.ndarray
    value_targets: np.ndarray
    episode_rewards: list[float]
    episode_lengths: list[int]
    filter_delta: dict[str, Any] | None = None
    num_env_errors: int = 0

    @property
    def num_steps(self) -> int:
        return int(self.actions.shape[0])

    @staticmethod
    def concat(batches: list[TrainBatch]) -> TrainBatch:
        """One batch of all rows; filter deltas are merged by the driver from each part, not here."""
        return TrainBatch(
            *(np.concatenate([getattr(b, name) for b in batches]) for name in _ARRAY_FIELDS),
            [r for b in batches for r in b.episode_rewards],
            [n for b in batches for n in b.episode_lengths],
            num_env_errors=sum(b.num_env_errors for b in batches),
        )


_ARRAY_FIELDS = ("obs", "actions", "logp", "values", "advantages", "value_targets")


@dataclass
class GradientResult:
    """What a worker returns for one A3C task: the gradient and what it was computed from."""

    grad: np.ndarray
    weights_version: int
    num_steps: int
    policy_loss: float
    value_loss: float
    entropy: float
    episode_rewards: list[float]
    episode_lengths: list[int]
    filter_delta: dict[str, Any] | None = None
    num_env_errors: int = 0


# An environment whose reset raises this many times in a row (rebuilt after each) is broken.
MAX_RESET_FAILURES = 3


def worker_seed(seed: int | None, worker_index: int) -> int | None:
    return None if seed is None else seed + 10_007 * worker_index


class RolloutWorker:
    """Steps `num_envs_per_worker` environments with the weights it was last sent."""

    def __init__(self, env: EnvSpec, config: dict[str, Any], worker_index: int = 0):
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        self.config = config
        self.worker_index = worker_index
        seed = worker_seed(config["seed"], worker_index)
        self.rng = np.random.default_rng(seed)
        self.env_spec = env
        num_envs = config["num_envs_per_worker"]
        self.vector_env = None
        if num_envs > 1 and config.get("vectorize_envs", True):
            self.vector_env = make_native_vector_env(env, config["env_config"], num_envs)
        self.envs = [] if self.vector_env else [make_env(env, config["env_config"]) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.num_env_errors = 0
        probe = self.vector_env or self.envs[0]
        self.spaces = space_info(probe)
        self.preprocess = Preprocessor(
            getattr(probe, "single_observation_space", probe.observation_space), config["scale_observations"]
        )
        self.policy = NumpyActorCritic.from_model_config(self.spaces.obs_size, self.spaces.num_actions, config["model"])
        self.obs_filter = make_filter(config["observation_filter"], (self.spaces.obs_size,))
        if self.vector_env is not None:
            self.obs = self._reset_vector(seed)
        else:
            self.obs = np.stack([self._reset(i, None if seed is None else seed + i) for i in range(num_envs)])
        self.running_rewards = np.zeros(num_envs)
        self.running_lengths = np.zeros(num_envs, dtype=np.int64)

    def _reset_vector(self, seed: int | None = None) -> np.ndarray:
        """Reset every copy of the vector env, rebuilding it when reset raises, like `_reset`."""
        self.prev_done = np.zeros(self.num_envs, dtype=bool)
        return self._reset_with_retries(
            lambda: self.preprocess.batch(self.vector_env.reset(seed=seed)[0]), self._rebuild_vector
        )

    def _rebuild_vector(self) -> None:
        try:
            self.vector_env.close()
        except Exception:  # noqa: BLE001 - closing a broken environment may fail too
            pass
        self.vector_env = make_native_vector_env(self.env_spec, self.config["env_config"], self.num_envs)

    def _reset(self, index: int, seed: int | None = None) -> np.ndarray:
        """Reset one environment; if reset raises, rebuild it and try again, then give up clearly."""
        return self._reset_with_retries(
            lambda: self.preprocess(self.envs[index].reset(seed=seed)[0]), lambda: self._rebuild(index)
        )

    def _reset_with_retries(self, reset: Callable[[], np.ndarray], rebuild: Callable[[], None]) -> np.ndarray:
        for _ in range(MAX_RESET_FAILURES):
            try:
                return reset()
            except Exception as error:  # noqa: BLE001 - a user's environment may raise anything
                self.num_env_errors += 1
                last_error = error
                rebuild()
        raise EnvError(
            f"environment {env_name(self.env_spec)} failed on every reset "
            f"({MAX_RESET_FAILURES} tries, rebuilt after each): {last_error!r}"
        )

    def _rebuild(self, index: int) -> None:
        try:
            self.envs[index].close()
        except Exception:  # noqa: BLE001 - closing a broken environment may fail too
            pass
        self.envs[index] = make_env(self.env_spec, self.config["env_config"])

    # -- the worker protocol ------------------------------------------------------------------

    def set_weights(self, flat: np.ndarray, filter_state: dict[str, Any] | None = None) -> None:
        """Adopt the driver's weights (and its merged observation filter, if it sends one)."""
        self.policy.set_flat_weights(np.asarray(flat, dtype=np.float32))
        if filter_state is not None:
            self.obs_filter.sync(filter_state)

    def get_weights(self) -> np.ndarray:
        return self.policy.flat.copy()

    def sample(self) -> Rollout:
        """Run `batch_size` steps in every environment with the current weights."""
        if self.vector_env is not None:
            return self._sample_vector()
        steps, num_envs = self.config["batch_size"], len(self.envs)
        rollout = Rollout.empty(steps, num_envs, self.spaces.obs_size)
        truncated, final_values = rollout.truncated, rollout.final_values
        step_errors = 0
        uniforms = self.rng.random((steps, num_envs))
        for t in range(steps):
            step_actions = self._policy_step(rollout, t, uniforms[t])
            for i, env in enumerate(self.envs):
                try:
                    next_obs, reward, term, trunc, _ = env.step(int(step_actions[i]))
                except Exception as error:  # noqa: BLE001 - drop the episode, rebuild the environment, go on
                    step_errors += 1
                    if step_errors == steps * num_envs:
                        raise EnvError(
                            f"environment {env_name(self.env_spec)} failed on every step of a rollout "
                            f"({step_errors} steps, rebuilt after each): {error!r}"
                        ) from None
                    self.num_env_errors += 1
                    truncated[t, i], final_values[t, i] = True, rollout.values[t, i]  # cut here, bootstrap from V
                    self.running_rewards[i], self.running_lengths[i] = 0.0, 0
                    self._rebuild(i)
                    self.obs[i] = self._reset(i)
                    continue
                rollout.rewards[t, i], rollout.terminated[t, i], truncated[t, i] = reward, term, trunc
                self.running_rewards[i] += reward
                self.running_lengths[i] += 1
                next_obs = self.preprocess(next_obs)
                if term or trunc:
                    if trunc and not term:
                        final_values[t, i] = self.policy.forward(self.obs_filter(next_obs[None], update=False))[1][0]
                    rollout.episode_rewards.append(float(self.running_rewards[i]))
                    rollout.episode_lengths.append(int(self.running_lengths[i]))
                    self.running_rewards[i], self.running_lengths[i] = 0.0, 0
                    next_obs = self.preprocess(env.reset()[0])
                self.obs[i] = next_obs
        return self._finish(rollout)

    def _policy_step(
        self, rollout: Rollout, t: int, uniforms: np.ndarray, live: np.ndarray | None = None
    ) -> np.ndarray:
        """Sample actions for the current observations and record step t's input, action, log-prob, value.

        The observation filter learns from the observations of real steps only (`live`).
        """
        self.obs_filter.update(self.obs if live is None else self.obs[live])
        policy_input = self.obs_filter(self.obs, update=False)
        logits, step_values = self.policy.forward(policy_input)
        log_probs = log_softmax(logits)
        step_actions = sample_from_log_probs(log_probs, uniforms)
        rollout.obs[t], rollout.actions[t], rollout.values[t] = policy_input, step_actions, step_values
        rollout.logp[t] = log_probs[np.arange(len(step_actions)), step_actions]
        return step_actions

    def _finish(self, rollout: Rollout) -> Rollout:
        """Bootstrap value of the next observations, and the env errors counted during the rollout."""
        rollout.last_values = self.policy.forward(self.obs_filter(self.obs, update=False))[1]
        rollout.num_env_errors = self._take_env_errors()
        return rollout

    def _sample_vector(self) -> Rollout:
        """`sample` for a numpy-vectorized env: one array step for all copies, next-step autoreset.

        A copy that ended at step t is reset by the env at step t+1 (its action ignored, reward 0):
        that step is marked invalid. On truncation the observation returned is the final one, so
        its value bootstraps the cut episode directly.
        """
        steps, num_envs = self.config["batch_size"], self.num_envs
        rollout = Rollout.empty(steps, num_envs, self.spaces.obs_size)
        rollout.valid = valid = np.ones((steps, num_envs), dtype=bool)
        uniforms = self.rng.random((steps, num_envs))
        for t in range(steps):
            valid[t] = live = ~self.prev_done
            step_actions = self._policy_step(rollout, t, uniforms[t], live)
            try:
                next_obs, reward, term, trunc, _ = self.vector_env.step(step_actions)
            except Exception:  # noqa: BLE001 - cut every episode here, rebuild, go on
                self.num_env_errors += 1
                rollout.truncated[t], rollout.final_values[t] = live, rollout.values[t]
                self.running_rewards[:], self.running_lengths[:] = 0.0, 0
                self._rebuild_vector()
                self.obs = self._reset_vector()
                continue
            rollout.rewards[t], rollout.terminated[t], rollout.truncated[t] = reward, term, trunc
            self.running_rewards += np.where(live, reward, 0.0)
            self.running_lengths += live
            next_obs = self.preprocess.batch(next_obs)
            done = np.asarray(term | trunc, dtype=bool)
            cut = np.asarray(trunc & ~term, dtype=bool)
            if cut.any():
                rollout.final_values[t, cut] = self.policy.forward(self.obs_filter(next_obs[cut], update=False))[1]
            for i in np.flatnonzero(done):
                rollout.episode_rewards.append(float(self.running_rewards[i]))
                rollout.episode_lengths.append(int(self.running_lengths[i]))
            self.running_rewards[done], self.running_lengths[done] = 0.0, 0
            self.prev_done = done
            self.obs = next_obs
        return self._finish(rollout)

    def _take_env_errors(self) -> int:
        count, self.num_env_errors = self.num_env_errors, 0
        return count

    def sample_batch(self, weights: np.ndarray | None = None, filter_state: dict[str, Any] | None = None) -> TrainBatch:
        """Sample (with `weights`, if given) and compute GAE advantages and value targets."""
        if weights is not None:
            self.set_weights(weights, filter_state)
        rollout = self.sample()
        advantages, targets = compute_gae(
            rollout.rewards * np.float32(self.config.get("reward_scale", 1.0)),
            rollout.values,
            rollout.terminated,
            rollout.truncated,
            rollout.final_values,
            rollout.last_values,
            self.config["gamma"],
            self.config["lambda"],
        )
        keep = slice(None) if rollout.valid is None else rollout.valid.reshape(-1)
        return TrainBatch(
            rollout.obs.reshape(rollout.rewards.size, -1)[keep],
            rollout.actions.reshape(-1)[keep],
            rollout.logp.reshape(-1)[keep],
            rollout.values.reshape(-1)[keep],
            advantages.reshape(-1)[keep],
            targets.reshape(-1)[keep],
            rollout.episode_rewards,
            rollout.episode_lengths,
            self.obs_filter.take_delta(),
            rollout.num_env_errors,
        )

    def compute_gradients(
        self, weights: np.ndarray, weights_version: int = 0, filter_state: dict[str, Any] | None = None
    ) -> GradientResult:
        """Sample with `weights` and return the gradient of the A3C loss on that rollout."""
        batch = self.sample_batch(weights, filter_state)
        advantages = batch.advantages
        if self.config["normalize_advantages"]:
            advantages = normalize_advantages(advantages)
        result = self.policy.loss_and_grad(
            batch.obs,
            batch.actions,
            advantages,
            batch.value_targets,
            self.config["vf_loss_coeff"],
            self.config["entropy_coeff"],
        )
        return GradientResult(
            grad=result.grad,
            weights_version=weights_version,
            num_steps=batch.num_steps,
            policy_loss=result.policy_loss,
            value_loss=result.value_loss,
            entropy=result.entropy,
            episode_rewards=batch.episode_rewards,
            episode_lengths=batch.episode_lengths,
            filter_delta=batch.filter_delta,
            num_env_errors=batch.num_env_errors,
        )

    def ping(self) -> int:
        return self.worker_index

    def pid(self) -> int:
        """The worker's process id (for monitoring, and for fault-injection tests)."""
        return os.getpid()
