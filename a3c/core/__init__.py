"""Pure RL math: no Ray, no I/O, importable and unit-tested on its own."""

from a3c.core.losses import LossStats, actor_critic_loss, normalize
from a3c.core.returns import compute_gae

__all__ = ["LossStats", "actor_critic_loss", "compute_gae", "normalize"]
