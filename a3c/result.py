"""The result of one train() call, with the field names RLlib users know."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

EPISODE_WINDOW = 100  # episodes behind episode_reward_mean once that many have finished; a3c.run's target rule


@dataclass
class TrainResult:
    """What one `train()` returned: attribute access (`result.episode_reward_mean`), item access
    (`result["episode_reward_mean"]`, as in old RLlib) and `to_dict()` for logging.

    Attributes:
        episode_reward_mean: mean total reward of the last 100 completed episodes (NaN before the first).
        episode_reward_min: lowest of those.
        episode_reward_max: highest of those.
        episode_len_mean: mean length of those, in env steps.
        episodes_this_iter: episodes completed during this iteration.
        episodes_total: episodes completed since the agent was built (or its checkpoint's run began).
        timesteps_this_iter: env steps sampled during this iteration.
        timesteps_total: env steps sampled in all.
        training_iteration: iterations so far, this one included.
        time_this_iter_s: wall time of this iteration.
        time_total_s: wall time of all `train()` calls (not the agent's construction).
        info: `learner` (policy_loss, value_loss, entropy, grad_norm, cur_lr; A3C adds policy_lag_mean
            and policy_lag_max, PPO approx_kl, clip_fraction, explained_variance, the
            cur_clip_param its loss clipped at, the cur_entropy_coeff it used and the
            num_learner_threads its epochs ran on), `timers` (A3C: wait_time_s, apply_time_s,
            dispatch_time_s; PPO: sample_time_s, learn_time_s), `weights_version`, `num_worker_restarts`,
            `workers_per_node`, `num_bad_gradients`, `num_env_errors`.
    """

    episode_reward_mean: float
    episode_reward_min: float
    episode_reward_max: float
    episode_len_mean: float
    episodes_this_iter: int
    episodes_total: int
    timesteps_this_iter: int
    timesteps_total: int
    training_iteration: int
    time_this_iter_s: float
    time_total_s: float
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict (`info` included): for JSON, CSV or a Ray Tune report."""
        return asdict(self)

    def __getitem__(self, key: str) -> Any:  # result["episode_reward_mean"], as in old RLlib
        return getattr(self, key)


class EpisodeTracker:
    """Completed episodes: the last `window` for the means, and running counts."""

    def __init__(self, window: int = EPISODE_WINDOW):
        self.rewards: deque[float] = deque(maxlen=window)
        self.lengths: deque[int] = deque(maxlen=window)
        self.episodes_total = 0
        self.episodes_this_iter = 0

    def add(self, rewards: list[float], lengths: list[int]) -> None:
        self.rewards.extend(rewards)
        self.lengths.extend(lengths)
        self.episodes_total += len(rewards)
        self.episodes_this_iter += len(rewards)

    def summary(self) -> dict[str, float]:
        if not self.rewards:
            nan = math.nan
            return {
                "episode_reward_mean": nan,
                "episode_reward_min": nan,
                "episode_reward_max": nan,
                "episode_len_mean": nan,
            }
        return {
            "episode_reward_mean": sum(self.rewards) / len(self.rewards),
            "episode_reward_min": min(self.rewards),
            "episode_reward_max": max(self.rewards),
            "episode_len_mean": sum(self.lengths) / len(self.lengths),
        }

    def state(self) -> dict[str, Any]:
        return {"rewards": list(self.rewards), "lengths": list(self.lengths), "episodes_total": self.episodes_total}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rewards.clear()
        self.lengths.clear()
        self.rewards.extend(state["rewards"])
        self.lengths.extend(state["lengths"])
        self.episodes_total = int(state["episodes_total"])
