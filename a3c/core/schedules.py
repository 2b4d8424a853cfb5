"""Learning-rate schedules: pure functions of env steps and returns, no torch, no Ray.

Two schedules compose: a linear anneal over a fixed number of env steps (the A3C paper's), and a
drop on a plateau of the training return (the habit of PyTorch's ReduceLROnPlateau, counted in env
steps rather than calls because an iteration's size differs between algorithms and configs).
A fixed anneal stops learning after a fixed number of steps whether or not the task is solved; a
plateau drop damps the updates only once the return has risen and then stopped rising, which is
when a fast learning rate starts to undo what it learned.

Unlike ReduceLROnPlateau, any new best restarts the count (no improvement threshold: the 100-episode
mean moves slowly), and the floor is the agent's lr_final.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


def linear_lr(lr: float, lr_final: float, decay_steps: int, timesteps: int) -> float:
    """lr going linearly to lr_final over decay_steps env steps, then staying there (0: constant lr)."""
    if decay_steps <= 0:
        return lr
    fraction = min(1.0, timesteps / decay_steps)
    return lr + fraction * (lr_final - lr)


@dataclass
class PlateauDrop:
    """Multiply the learning rate by `factor` each time the training return has gone `patience` env
    steps without a new best, counted only once it has risen above the first value seen.

    The rise condition keeps a sparse-reward task (MountainCar's -200 before the first success) at its
    full learning rate: there, a flat return means nothing learned yet, not something to protect.
    """

    patience: int
    factor: float = 0.5
    scale: float = 1.0
    first: float | None = None
    best: float = -math.inf
    best_at: int = 0

    def observe(self, timesteps: int, reward_mean: float) -> float:
        """Take the 100-episode mean at `timesteps` env steps; return the multiplier for the lr."""
        if self.patience <= 0 or not math.isfinite(reward_mean):
            return self.scale
        if self.first is None:
            self.first, self.best, self.best_at = reward_mean, reward_mean, timesteps
        elif reward_mean > self.best:
            self.best, self.best_at = reward_mean, timesteps
        elif self.best > self.first and timesteps - self.best_at >= self.patience:
            self.scale *= self.factor
            self.best_at = timesteps  # the next drop needs another full patience
        return self.scale

    def state(self) -> dict[str, Any]:
        """Plain JSON: -inf (nothing seen yet) is written as None."""
        state = asdict(self)
        state["best"] = None if math.isinf(self.best) else self.best
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PlateauDrop:
        best = state.get("best")
        return cls(**{**state, "best": -math.inf if best is None else best})
