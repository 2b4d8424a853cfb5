"""Observation filters: running mean/std normalization shared by all workers (RLlib's MeanStdFilter).

Each worker normalizes with its copy of the statistics and records what it saw since its last
sync (the delta). The driver merges every delta into the master statistics and sends the master
back with the next weights, so all workers converge on one normalization, and no observation is
counted twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FILTERS = ("NoFilter", "MeanStdFilter")

# RunningStat.state(): statistics of up to this many numbers are sent as lists, not arrays.
SMALL_STAT_SIZE = 256


def clip_in_place(values: np.ndarray, bound: float) -> np.ndarray:
    """`values` clipped to [-bound, bound] in place (and returned): np.clip's dispatch costs more than
    the arithmetic on the small arrays the filters clip at every step."""
    np.minimum(values, bound, out=values)
    np.maximum(values, -bound, out=values)
    return values


class RunningStat:
    """Count, mean and sum of squared deviations, mergeable (Chan et al.'s parallel update)."""

    def __init__(self, shape: tuple[int, ...]):
        self.count = 0
        self.mean = np.zeros(shape, dtype=np.float64)
        self.m2 = np.zeros(shape, dtype=np.float64)

    def push(self, rows: np.ndarray) -> None:
        self.merge(RunningStat.of(rows, self.mean.shape))

    @classmethod
    def of(cls, rows: np.ndarray, shape: tuple[int, ...]) -> RunningStat:
        """The statistics of `rows` [B, *shape] alone (merge them into others; computed once)."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, *shape)
        stat = cls(shape)
        stat.count = rows.shape[0]
        if stat.count:
            stat.mean = rows.sum(axis=0) / stat.count  # not rows.mean(): its dispatch costs more here
            deviations = rows - stat.mean
            stat.m2 = (deviations * deviations).sum(axis=0)
        return stat

    def merge(self, other: RunningStat) -> None:
        if other.count == 0:
            return
        total = self.count + other.count
        delta = other.mean - self.mean
        self.mean = self.mean + delta * other.count / total
        self.m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / total
        self.count = total

    @property
    def std(self) -> np.ndarray:
        if self.count < 2:
            return np.ones_like(self.mean)
        return np.sqrt(self.m2 / (self.count - 1))

    def state(self) -> dict[str, Any]:
        """count, mean and m2, for another process (a worker's delta, the driver's merged statistics).

        Small statistics travel as Python floats and lists: every task carries them both ways, and Ray
        serializes a small array out of band at more cost than its numbers (~17 us per result for a
        4-dimensional observation). Large ones stay arrays (copies)."""
        if self.mean.size <= SMALL_STAT_SIZE:
            return {"count": self.count, "mean": self.mean.tolist(), "m2": self.m2.tolist()}
        return {"count": self.count, "mean": self.mean.copy(), "m2": self.m2.copy()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RunningStat:
        stat = cls(np.asarray(state["mean"]).shape)
        stat.count = int(state["count"])
        stat.mean = np.array(state["mean"], dtype=np.float64)
        stat.m2 = np.array(state["m2"], dtype=np.float64)
        return stat


class MeanStdFilter:
    """(obs - mean) / std, clipped to +-clip.

    Observations seen are queued and folded into the statistics once per task (`take_delta`), not
    per step: a step then costs one subtract, multiply and clip against cached statistics, which is
    what 16 workers on 2 cores can afford (per-step merging cost the tutorial 10-15% of its steps/s).
    The statistics a rollout normalizes with are the ones synced at its start, as the workers'
    copies were in old RLlib between syncs.
    """

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0):
        self.stat = RunningStat(shape)
        self.delta = RunningStat(shape)
        self.clip = clip
        self._pending: list[np.ndarray] = []

    @property
    def stat(self) -> RunningStat:
        return self._stat

    @stat.setter
    def stat(self, value: RunningStat) -> None:
        self._stat = value
        self._cached_count = -1  # a merge in place changes the count; a replacement lands here

    def __call__(self, obs: np.ndarray, update: bool = True) -> np.ndarray:
        if update:
            self.update(obs)
        if self.stat.count != self._cached_count:  # merged into or replaced since the last call
            self._cached_count = self.stat.count
            self._mean = self.stat.mean.astype(np.float32)
            self._inv_std = (1.0 / (self.stat.std + 1e-8)).astype(np.float32)
        # In float32 with in-place ops: this runs once per environment step, where each numpy call's
        # overhead counts more than its arithmetic.
        normalized = np.subtract(obs, self._mean, dtype=np.float32)
        normalized *= self._inv_std
        return clip_in_place(normalized, self.clip)

    def update(self, rows: np.ndarray) -> None:
        """Learn from observations [B, ...] without normalizing them (folded in at `take_delta`)."""
        self._pending.append(np.array(rows, copy=True).reshape(-1, *self.stat.mean.shape))

    def _flush(self) -> None:
        if self._pending:
            seen = RunningStat.of(np.concatenate(self._pending), self.stat.mean.shape)
            self._pending = []
            self.stat.merge(seen)
            self.delta.merge(seen)

    def take_delta(self) -> dict[str, Any]:
        """What this copy saw since the last call (also folded into its own statistics); resets it."""
        self._flush()
        state = self.delta.state()
        self.delta = RunningStat(self.stat.mean.shape)
        return state

    def sync(self, master_state: dict[str, Any]) -> None:
        """Adopt the master statistics (which already include every delta this copy sent)."""
        self.stat = RunningStat.from_state(master_state)


class NoFilter:
    """Pass observations through."""

    def __call__(self, obs: np.ndarray, update: bool = True) -> np.ndarray:
        return obs

    def update(self, rows: np.ndarray) -> None:
        pass

    def take_delta(self) -> None:
        return None

    def sync(self, master_state: dict[str, Any] | None) -> None:
        pass


def saved_filter_stat(tensors: dict[str, np.ndarray], extra: dict[str, Any]) -> RunningStat | None:
    """The observation filter's statistics in a checkpoint (as Agent._extra_state writes them), or None."""
    if "filter.mean" not in tensors:
        return None
    return RunningStat.from_state(
        {"count": extra["filter_count"], "mean": tensors["filter.mean"], "m2": tensors["filter.m2"]}
    )


def filter_name(name: str, is_image: bool) -> str:
    """What config['observation_filter'] means for these observations: 'auto' normalizes all but
    images (uint8 pixels are scaled by the network, and a per-pixel mean would cost more than a step)."""
    if name == "auto":
        return "NoFilter" if is_image else "MeanStdFilter"
    return name


def make_filter(name: str, shape: tuple[int, ...], is_image: bool = False) -> MeanStdFilter | NoFilter:
    if filter_name(name, is_image) == "MeanStdFilter":
        return MeanStdFilter(shape)
    return NoFilter()


class ReturnNormalizer:
    """Rewards divided by the running std of the discounted return (SB3's VecNormalize norm_reward).

    Keeps value targets near unit scale whatever the environment's reward scale (-16 per step on
    Pendulum, +1 on CartPole, hundreds on LunarLander), so one learning rate and one value-loss
    weight serve them all. Each worker tracks its environments' discounted returns and the
    statistics of those returns; the driver merges every worker's delta, as for MeanStdFilter.
    Reported episode rewards are never scaled.
    """

    def __init__(self, gamma: float, clip: float = 10.0):
        self.gamma = gamma
        self.clip = clip
        self.stat = RunningStat(())
        self.delta = RunningStat(())
        self.running: np.ndarray | None = None  # discounted return so far, per environment

    def __call__(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Learn from a rollout's rewards [T, N] (episodes end where `dones`), return them scaled."""
        if self.running is None or self.running.shape != rewards.shape[1:]:
            self.running = np.zeros(rewards.shape[1:], dtype=np.float64)
        returns = np.empty(rewards.shape, dtype=np.float64)
        carry = np.where(dones, 0.0, self.gamma)  # what of the return so far survives each step
        running = self.running * self.gamma
        for t in range(rewards.shape[0]):
            returns[t] = running = running + rewards[t]
            running = running * carry[t]
        self.running = np.where(dones[-1], 0.0, returns[-1]) if len(returns) else self.running
        seen = RunningStat.of(returns if valid is None else returns[valid], ())
        self.stat.merge(seen)
        self.delta.merge(seen)
        return self.scale(rewards)

    def scale(self, rewards: np.ndarray) -> np.ndarray:
        std = float(np.sqrt(self.stat.m2 / (self.stat.count - 1))) if self.stat.count > 1 else 1.0
        return clip_in_place(np.multiply(rewards, 1.0 / (std + 1e-8), dtype=np.float32), self.clip)

    def take_delta(self) -> dict[str, Any]:
        state = self.delta.state()
        self.delta = RunningStat(())
        return state

    def sync(self, master_state: dict[str, Any]) -> None:
        self.stat = RunningStat.from_state(master_state)


def state_for_workers(
    obs_filter: MeanStdFilter | NoFilter, return_filter: ReturnNormalizer | None
) -> dict[str, Any] | None:
    """What the driver sends workers with the weights (RolloutWorker.set_weights syncs from it): the
    merged observation and return statistics, or None when there are none to send."""
    state = {
        "obs": obs_filter.stat.state() if isinstance(obs_filter, MeanStdFilter) else None,
        "returns": None if return_filter is None else return_filter.stat.state(),
    }
    return state if any(value is not None for value in state.values()) else None
