"""RolloutWorker: environments plus a policy copy; samples partial rollouts and computes gradients.

A plain class with no Ray import: the driver runs it in process (`num_workers=0`, tests) or makes
it a Ray actor in exactly one place (`a3c.execution.ray_pool`). Episodes continue across tasks:
a rollout of `batch_size` steps picks up where the previous one stopped, and so does a recurrent
policy's state (zeroed where an episode ends, also inside a rollout).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from a3c.core.returns import compute_gae, normalize_advantages
from a3c.envs import EnvError, EnvSpec, check_spaces, env_name, is_atari, make_env, make_native_vector_env
from a3c.filters import ReturnNormalizer, make_filter
from a3c.policy import LossInputs, State, make_policy, reset_state

logger = logging.getLogger("a3c")


@dataclass
class Rollout:
    """A partial rollout of T steps in N environments, time-major, with its episode stats."""

    obs: np.ndarray  # [T, N, *obs_shape]: the policy's input (encoded, filtered)
    actions: np.ndarray  # [T, N, *action_shape]
    logp: np.ndarray  # [T, N]: log-probability of each action under the sampling policy
    rewards: np.ndarray  # [T, N]
    values: np.ndarray  # [T, N]
    terminated: np.ndarray  # [T, N]
    truncated: np.ndarray  # [T, N]
    final_values: np.ndarray  # [T, N]: value of the last observation of a truncated episode
    resets: np.ndarray  # [T, N]: an episode starts at step t (a recurrent state is zeroed before it)
    last_values: np.ndarray  # [N]: value of the observation after the rollout
    state_in: State = None  # the recurrent state the rollout started from
    episode_rewards: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    num_env_errors: int = 0
    # [T, N] or None (all valid): False where a next-step-autoreset vector env was resetting
    # (that step's action was ignored; it is no transition and is left out of the loss).
    valid: np.ndarray | None = None

    @property
    def num_steps(self) -> int:
        return int(self.rewards.size if self.valid is None else self.valid.sum())

    @classmethod
    def empty(
        cls,
        steps: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: type = np.float32,
        action_shape: tuple[int, ...] = (),
        action_dtype: type = np.int64,
    ) -> Rollout:
        """Zeroed buffers for `steps` steps of `num_envs` environments, filled in by the worker."""

        def zeros(dtype: type = np.float32) -> np.ndarray:
            return np.zeros((steps, num_envs), dtype=dtype)

        return cls(
            obs=np.zeros((steps, num_envs, *obs_shape), dtype=obs_dtype),
            actions=np.zeros((steps, num_envs, *action_shape), dtype=action_dtype),
            logp=zeros(),
            rewards=zeros(),
            values=zeros(),
            terminated=zeros(bool),
            truncated=zeros(bool),
            final_values=zeros(),
            resets=zeros(bool),
            last_values=np.zeros(num_envs, dtype=np.float32),
        )


@dataclass
class TrainBatch:
    """A rollout with its advantages, time-major [T, N, ...]: what a loss is computed on.

    `valid` marks the steps that are transitions (see Rollout.valid); `resets` and `state_in` let
    a recurrent policy replay the rollout from the state it started in.
    """

    obs: np.ndarray
    actions: np.ndarray
    logp: np.ndarray
    values: np.ndarray
    advantages: np.ndarray
    value_targets: np.ndarray
    valid: np.ndarray
    resets: np.ndarray
    state_in: State
    episode_rewards: list[float]
    episode_lengths: list[int]
    filter_delta: dict[str, Any] | None = None
    num_env_errors: int = 0

    ARRAYS = ("obs", "actions", "logp", "values", "advantages", "value_targets", "valid", "resets")

    @property
    def num_steps(self) -> int:
        return int(self.valid.sum())

    def rows(self) -> dict[str, np.ndarray]:
        """The valid steps as flat rows [B, ...] (feed-forward losses)."""
        keep = self.valid.reshape(-1)
        return {
            name: getattr(self, name).reshape(keep.size, *getattr(self, name).shape[2:])[keep]
            for name in self.ARRAYS
            if name not in ("valid", "resets")
        }

    def loss_inputs(self, advantages: np.ndarray) -> LossInputs:
        return LossInputs(
            self.obs, self.actions, advantages, self.value_targets, self.valid, self.resets, self.state_in
        )

    @staticmethod
    def concat(batches: list[TrainBatch]) -> TrainBatch:
        """One batch with every part's environments side by side (axis 1); filter deltas are merged
        by the driver from each part, not here."""
        states = [b.state_in for b in batches]
        state_in = None if states[0] is None else tuple(np.concatenate(parts) for parts in zip(*states, strict=True))
        return TrainBatch(
            **{name: np.concatenate([getattr(b, name) for b in batches], axis=1) for name in TrainBatch.ARRAYS},
            state_in=state_in,
            episode_rewards=[r for b in batches for r in b.episode_rewards],
            episode_lengths=[n for b in batches for n in b.episode_lengths],
            num_env_errors=sum(b.num_env_errors for b in batches),
        )


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

    def __init__(
        self, env: EnvSpec, config: dict[str, Any], worker_index: int = 0, custom_models: dict[str, Any] | None = None
    ):
        """`custom_models`: classes registered by name in the driver (a3c.register_model), for a worker
        in another process."""
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        if custom_models:
            from a3c.custom_models import restore_registry

            restore_registry(custom_models)
        self.config = config
        self.worker_index = worker_index
        seed = worker_seed(config["seed"], worker_index)
        self.rng = np.random.default_rng(seed)
        self.env_spec = env
        self.atari_preprocessing = config.get("atari_preprocessing", True)
        clip = config.get("clip_rewards")
        self.clip_rewards = (self.atari_preprocessing and is_atari(env)) if clip is None else clip
        num_envs = config["num_envs_per_worker"]
        self.num_envs = num_envs
        self.num_env_errors = 0
        first = self._make_env()
        self.spaces = check_spaces(first, config["scale_observations"])
        self.encoder = self.spaces.encoder
        self.policy = make_policy(self.spaces, config["model"])
        self.vector_env = None
        if num_envs > 1 and config.get("vectorize_envs", True) and not self.policy.recurrent:
            self.vector_env = make_native_vector_env(env, config["env_config"], num_envs, self.atari_preprocessing)
        if self.vector_env is not None and self.vector_env.single_observation_space != first.observation_space:
            logger.warning(
                "%s: the vectorized env's observations (%s) differ from one env's (%s); stepping one at a time",
                env_name(env),
                self.vector_env.single_observation_space,
                first.observation_space,
            )
            self.vector_env.close()
            self.vector_env = None
        if self.vector_env is not None:
            first.close()
            self.envs = []
        else:
            self.envs = [first] + [self._make_env() for _ in range(num_envs - 1)]
        self.obs_filter = make_filter(config["observation_filter"], (self.encoder.size,), self.encoder.is_image)
        self.return_filter = ReturnNormalizer(config["gamma"]) if config.get("normalize_rewards") else None
        self.state = self.policy.initial_state(num_envs)
        self.episode_start = np.ones(num_envs, dtype=bool)
        if self.vector_env is not None:
            self.obs = self._reset_vector(seed)
        else:
            self.obs = np.stack([self._reset(i, None if seed is None else seed + i) for i in range(num_envs)])
        self.running_rewards = np.zeros(num_envs)
        self.running_lengths = np.zeros(num_envs, dtype=np.int64)

    def _make_env(self) -> Any:
        return make_env(self.env_spec, self.config["env_config"], self.atari_preprocessing)

    def _reset_vector(self, seed: int | None = None) -> np.ndarray:
        """Reset every copy of the vector env, rebuilding it when reset raises, like `_reset`."""
        self.prev_done = np.zeros(self.num_envs, dtype=bool)
        return self._reset_with_retries(
            lambda: self.encoder.batch(self.vector_env.reset(seed=seed)[0]), self._rebuild_vector
        )

    def _rebuild_vector(self) -> None:
        try:
            self.vector_env.close()
        except Exception:  # noqa: BLE001 - closing a broken environment may fail too
            pass
        self.vector_env = make_native_vector_env(
            self.env_spec, self.config["env_config"], self.num_envs, self.atari_preprocessing
        )

    def _reset(self, index: int, seed: int | None = None) -> np.ndarray:
        """Reset one environment; if reset raises, rebuild it and try again, then give up clearly."""
        return self._reset_with_retries(
            lambda: self.encoder(self.envs[index].reset(seed=seed)[0]), lambda: self._rebuild(index)
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
        self.envs[index] = self._make_env()

    # -- the worker protocol ------------------------------------------------------------------

    def set_weights(self, flat: np.ndarray, filter_state: dict[str, Any] | None = None) -> None:
        """Adopt the driver's weights (and its merged observation filter, if it sends one)."""
        self.policy.set_flat_weights(np.asarray(flat, dtype=np.float32))
        if filter_state is not None:
            if filter_state.get("obs") is not None:
                self.obs_filter.sync(filter_state["obs"])
            if filter_state.get("returns") is not None and self.return_filter is not None:
                self.return_filter.sync(filter_state["returns"])

    def get_weights(self) -> np.ndarray:
        return self.policy.flat.copy()

    def _empty_rollout(self) -> Rollout:
        action = self.spaces.action
        rollout = Rollout.empty(
            self.config["batch_size"],
            self.num_envs,
            self.encoder.shape,
            self.encoder.dtype,
            action.action_shape,
            action.action_dtype,
        )
        rollout.state_in = self.state
        return rollout

    def _state_row(self, index: int) -> State:
        return None if self.state is None else tuple(s[index : index + 1] for s in self.state)

    def sample(self) -> Rollout:
        """Run `batch_size` steps in every environment with the current weights."""
        if self.vector_env is not None:
            return self._sample_vector()
        rollout = self._empty_rollout()
        steps, num_envs = rollout.rewards.shape
        truncated, final_values = rollout.truncated, rollout.final_values
        to_env = self.spaces.action.to_env
        step_errors = 0
        for t in range(steps):
            step_actions = self._policy_step(rollout, t)
            for i, env in enumerate(self.envs):
                try:
                    next_obs, reward, term, trunc, _ = env.step(to_env(step_actions[i]))
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
                    self.episode_start[i] = True
                    continue
                rollout.rewards[t, i], rollout.terminated[t, i], truncated[t, i] = reward, term, trunc
                self.running_rewards[i] += reward
                self.running_lengths[i] += 1
                next_obs = self.encoder(next_obs)
                if term or trunc:
                    if trunc and not term:
                        final_obs = self.obs_filter(next_obs[None], update=False)
                        final_values[t, i] = self.policy.value(final_obs, self._state_row(i))[0]
                    rollout.episode_rewards.append(float(self.running_rewards[i]))
                    rollout.episode_lengths.append(int(self.running_lengths[i]))
                    self.running_rewards[i], self.running_lengths[i] = 0.0, 0
                    next_obs = self.encoder(env.reset()[0])
                self.episode_start[i] = term or trunc
                self.obs[i] = next_obs
        return self._finish(rollout)

    def _policy_step(self, rollout: Rollout, t: int, live: np.ndarray | None = None) -> np.ndarray:
        """Sample actions for the current observations and record step t's input, action, log-prob, value.

        The observation filter learns from the observations of real steps only (`live`).
        """
        self.obs_filter.update(self.obs if live is None else self.obs[live])
        policy_input = self.obs_filter(self.obs, update=False)
        rollout.resets[t] = self.episode_start
        self.state = reset_state(self.state, self.episode_start)
        step_actions, logp, step_values, self.state = self.policy.act(policy_input, self.state, self.rng)
        rollout.obs[t], rollout.actions[t], rollout.values[t], rollout.logp[t] = (
            policy_input,
            step_actions,
            step_values,
            logp,
        )
        return step_actions

    def _finish(self, rollout: Rollout) -> Rollout:
        """Bootstrap value of the next observations, and the env errors counted during the rollout."""
        state = reset_state(self.state, self.episode_start)
        rollout.last_values = self.policy.value(self.obs_filter(self.obs, update=False), state)
        rollout.num_env_errors = self._take_env_errors()
        return rollout

    def _sample_vector(self) -> Rollout:
        """`sample` for a numpy-vectorized env: one array step for all copies, next-step autoreset.

        A copy that ended at step t is reset by the env at step t+1 (its action ignored, reward 0):
        that step is marked invalid. On truncation the observation returned is the final one, so
        its value bootstraps the cut episode directly. Feed-forward policies only.
        """
        rollout = self._empty_rollout()
        steps = rollout.rewards.shape[0]
        rollout.valid = valid = np.ones(rollout.rewards.shape, dtype=bool)
        for t in range(steps):
            valid[t] = live = ~self.prev_done
            step_actions = self._policy_step(rollout, t, live)
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
            next_obs = self.encoder.batch(next_obs)
            done = np.asarray(term | trunc, dtype=bool)
            cut = np.asarray(trunc & ~term, dtype=bool)
            if cut.any():
                rollout.final_values[t, cut] = self.policy.value(self.obs_filter(next_obs[cut], update=False), None)
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
        rewards = np.clip(rollout.rewards, -1.0, 1.0) if self.clip_rewards else rollout.rewards
        if self.return_filter is not None:
            rewards = self.return_filter(rewards, rollout.terminated | rollout.truncated, rollout.valid)
        advantages, targets = compute_gae(
            rewards * np.float32(self.config.get("reward_scale", 1.0)),
            rollout.values,
            rollout.terminated,
            rollout.truncated,
            rollout.final_values,
            rollout.last_values,
            self.config["gamma"],
            self.config["lambda"],
        )
        valid = rollout.valid if rollout.valid is not None else np.ones(rollout.rewards.shape, dtype=bool)
        return TrainBatch(
            obs=rollout.obs,
            actions=rollout.actions,
            logp=rollout.logp,
            values=rollout.values,
            advantages=advantages,
            value_targets=targets,
            valid=valid,
            resets=rollout.resets,
            state_in=rollout.state_in,
            episode_rewards=rollout.episode_rewards,
            episode_lengths=rollout.episode_lengths,
            filter_delta=self._take_filter_deltas(),
            num_env_errors=rollout.num_env_errors,
        )

    def _take_filter_deltas(self) -> dict[str, Any] | None:
        """What the observation filter and the return normalizer learned since the last task."""
        deltas = {
            "obs": self.obs_filter.take_delta(),
            "returns": None if self.return_filter is None else self.return_filter.take_delta(),
        }
        return deltas if any(value is not None for value in deltas.values()) else None

    def compute_gradients(
        self, weights: np.ndarray, weights_version: int = 0, filter_state: dict[str, Any] | None = None
    ) -> GradientResult:
        """Sample with `weights` and return the gradient of the A3C loss on that rollout."""
        batch = self.sample_batch(weights, filter_state)
        advantages = batch.advantages
        if self.config["normalize_advantages"]:
            advantages = advantages.copy()
            advantages[batch.valid] = normalize_advantages(advantages[batch.valid])
        result = self.policy.loss_and_grad(
            batch.loss_inputs(advantages), self.config["vf_loss_coeff"], self.config["entropy_coeff"]
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
