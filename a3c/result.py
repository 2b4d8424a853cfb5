"""The result of one train() call, with the field names RLlib users know."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

EPISODE_WINDOW = 100  # episodes behind episode_reward_mean once that many have finished; a3c.run's target rule


@dataclass
class TrainResult:
    """Attribute access (`result.episode_reward_mean`) and `to_dict()` for logging."""

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
