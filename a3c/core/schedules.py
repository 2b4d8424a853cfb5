"""Linear schedules over env steps: one formula for the learning rate, PPO's clip range and its entropy bonus."""

from __future__ import annotations


def linear_anneal(start: float, final: float, decay_steps: int, timesteps: int) -> float:
    """`start` at step 0, linearly to `final` at `decay_steps`, then `final`; `decay_steps` 0: `start`."""
    if decay_steps <= 0:
        return float(start)
    fraction = min(1.0, max(0, timesteps) / decay_steps)
    return float(start + fraction * (final - start))
