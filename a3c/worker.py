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
from a3c.envs import AtariFrames, EnvSpec, check_spaces, env_name, is_atari, make_env, make_native_vector_env
from a3c.errors import EnvironmentFailure
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
    # [T, N] or None (none): True where an environment raised and its episode was cut (no episode stats).
    failed: np.ndarray | None = None

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


@dataclass
class StepEnds:
    """What stepping the environments at one step leaves to the sampling loop when anything ended: the
    rows whose episode ended (or was cut by an error), those truncated (not terminated) with their
    final observations, and how many environments raised."""

    ended: list[int] = field(default_factory=list)
    truncated: list[int] = field(default_factory=list)
    final_obs: list[np.ndarray] = field(default_factory=list)
    failures: int = 0
    error: Exception | None = None


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
        self.atari = AtariFrames.from_config(config)
        clip = config.get("clip_rewards")
        self.clip_rewards = (self.atari is not None and is_atari(env)) if clip is None else clip
        num_envs = config["num_envs_per_worker"]
        self.num_envs = num_envs
        self.num_env_errors = 0
        first = self._make_env()
        self.spaces = check_spaces(first, config["scale_observations"])
        self.encoder = self.spaces.encoder
        self.to_env = self.spaces.action.to_env
        self.policy = make_policy(self.spaces, config["model"])
        self.vector_env = None
        if num_envs > 1 and config.get("vectorize_envs", True):
            self.vector_env = make_native_vector_env(env, config["env_config"], num_envs, self.atari)
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
        return make_env(self.env_spec, self.config["env_config"], self.atari)

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
        self.vector_env = make_native_vector_env(self.env_spec, self.config["env_config"], self.num_envs, self.atari)

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
        raise EnvironmentFailure(
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

    def sample(self) -> Rollout:
        """Run `batch_size` steps in every environment with the current weights.

        One loop for both ways of stepping N environments: one by one (`_step_one_by_one`; an episode
        that ends is reset within the step) or as one numpy vector env (`_step_vector`; next-step
        autoreset: a copy that ended at step t resets itself at step t+1, which is no transition and
        is marked invalid). Everything else is shared: acting and recording (`_policy_step`), the
        bootstrap value of a truncated episode's final observation, cutting episodes where an
        environment raised, and the episode stats (`_count_episodes`, once per rollout).
        """
        rollout = self._empty_rollout()
        steps = rollout.rewards.shape[0]
        vector = self.vector_env is not None
        step_envs = self._step_vector if vector else self._step_one_by_one
        if vector:
            rollout.valid = np.ones(rollout.rewards.shape, dtype=bool)
        live = None
        failed_steps = 0
        episode_ends: list[tuple[int, int]] = []  # (step, env), in step order
        for t in range(steps):
            if vector:
                rollout.valid[t] = live = ~self.prev_done
            step_actions = self._policy_step(rollout, t, live)
            ends = step_envs(step_actions, rollout, t)
            if ends is None:  # no episode ended, nothing raised: most steps
                continue
            episode_ends += [(t, i) for i in ends.ended]
            if ends.truncated:
                self._bootstrap(rollout, t, np.array(ends.truncated), np.stack(ends.final_obs))
            failed_steps += ends.failures
            if ends.failures and failed_steps == steps * (1 if vector else self.num_envs):
                raise EnvironmentFailure(
                    f"environment {env_name(self.env_spec)} failed on every step of a rollout "
                    f"({failed_steps} steps, rebuilt after each): {ends.error!r}"
                )
        self._count_episodes(rollout, episode_ends)
        return self._finish(rollout)

    def _step_one_by_one(self, step_actions: np.ndarray, rollout: Rollout, t: int) -> StepEnds | None:
        """Step each environment; reset one whose episode ended at once. Writes step t's rewards and
        episode ends into `rollout`, the next observations into `self.obs`."""
        ends = None
        for i, env in enumerate(self.envs):
            try:
                next_obs, reward, term, trunc, _ = env.step(self.to_env(step_actions[i]))
            except Exception as error:  # noqa: BLE001 - drop the episode, rebuild the environment, go on
                self._cut(rollout, t, np.array([i]))
                self.num_env_errors += 1
                self._rebuild(i)
                self.obs[i] = self._reset(i)
                self.episode_start[i] = True
                ends = ends or StepEnds()
                ends.failures, ends.error = ends.failures + 1, error
                ends.ended.append(i)
                continue
            rollout.rewards[t, i], rollout.terminated[t, i], rollout.truncated[t, i] = reward, term, trunc
            next_obs = self.encoder(next_obs)
            if term or trunc:
                ends = ends or StepEnds()
                ends.ended.append(i)
                if trunc and not term:
                    ends.truncated.append(i)
                    ends.final_obs.append(next_obs)
                next_obs = self.encoder(env.reset()[0])
            self.episode_start[i] = term or trunc
            self.obs[i] = next_obs
        return ends

    def _step_vector(self, step_actions: np.ndarray, rollout: Rollout, t: int) -> StepEnds | None:
        """One array step of the vector env (next-step autoreset: on truncation the observation
        returned is the final one, and the copy resets itself at the next step)."""
        live = rollout.valid[t]
        try:
            next_obs, reward, term, trunc, _ = self.vector_env.step(step_actions)
        except Exception as error:  # noqa: BLE001 - cut every episode here, rebuild, go on
            cut = np.flatnonzero(live)
            self._cut(rollout, t, cut)
            self.num_env_errors += 1
            self._rebuild_vector()
            self.obs = self._reset_vector()
            self.episode_start = np.ones(self.num_envs, dtype=bool)
            return StepEnds(list(cut), failures=1, error=error)
        rollout.rewards[t], rollout.terminated[t], rollout.truncated[t] = reward, term, trunc
        next_obs = self.encoder.batch(next_obs)
        self.prev_done = np.asarray(term | trunc, dtype=bool)
        self.episode_start = ~live  # a copy that was resetting at this step starts an episode at the next
        self.obs = next_obs
        if not self.prev_done.any():
            return None
        cut = np.flatnonzero(trunc & ~term)
        return StepEnds(list(np.flatnonzero(self.prev_done)), list(cut), list(next_obs[cut]))

    def _bootstrap(self, rollout: Rollout, t: int, rows: np.ndarray, final_obs: np.ndarray) -> None:
        """The value of truncated episodes' final observations (with the state they were acted on in),
        which their returns bootstrap from."""
        state = None if self.state is None else tuple(s[rows] for s in self.state)
        rollout.final_values[t, rows] = self.policy.value(self.obs_filter(final_obs, update=False), state)

    def _cut(self, rollout: Rollout, t: int, rows: np.ndarray) -> None:
        """End the episodes of `rows` at step t because their environment raised: truncated, bootstrapped
        from the value of the observation they stand at, and left out of the episode stats."""
        rollout.truncated[t, rows], rollout.final_values[t, rows] = True, rollout.values[t, rows]
        if rollout.failed is None:
            rollout.failed = np.zeros(rollout.rewards.shape, dtype=bool)
        rollout.failed[t, rows] = True

    def _count_episodes(self, rollout: Rollout, episode_ends: list[tuple[int, int]]) -> None:
        """Each finished episode's total reward and length (counted across rollouts), in step order;
        episodes cut by an environment error are dropped. Once per rollout, not at every step: most
        rollouts end no episode, and then this is a sum per environment."""
        counted = rollout.valid  # None: every step is a transition
        rewards = rollout.rewards if counted is None else np.where(counted, rollout.rewards, 0.0)
        if not episode_ends:
            self.running_rewards += rewards.sum(axis=0, dtype=np.float64)
            self.running_lengths += rewards.shape[0] if counted is None else counted.sum(axis=0)
            return
        start = np.zeros(self.num_envs, dtype=np.int64)
        for t, i in episode_ends:
            if rollout.failed is None or not rollout.failed[t, i]:
                span = slice(start[i], t + 1)
                length = t + 1 - start[i] if counted is None else counted[span, i].sum()
                total = self.running_rewards[i] + rewards[span, i].sum(dtype=np.float64)
                rollout.episode_rewards.append(float(total))
                rollout.episode_lengths.append(int(self.running_lengths[i] + length))
            self.running_rewards[i], self.running_lengths[i] = 0.0, 0
            start[i] = t + 1
        after = np.arange(rewards.shape[0])[:, None] >= start  # the steps of episodes still running
        self.running_rewards += np.where(after, rewards, 0.0).sum(axis=0)
        self.running_lengths += (after if counted is None else after & counted).sum(axis=0)

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
