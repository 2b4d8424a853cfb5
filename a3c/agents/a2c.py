"""A2C: the synchronous variant. Every worker computes a gradient on the same weights; the driver
averages them and applies one update. Next to A3C, it shows what asynchrony buys."""

from __future__ import annotations

from typing import Any

import numpy as np

from a3c.agents.base import Agent, loss_summary
from a3c.config import A2C_SCHEMA, default_config
from a3c.worker import GradientResult

DEFAULT_CONFIG = default_config(A2C_SCHEMA)
"""A2C's defaults, a plain dict: `config = DEFAULT_CONFIG.copy()`, change keys, pass it to the agent."""


def average_gradients(results: list[GradientResult]) -> np.ndarray:
    """Mean of the workers' gradients, weighted by the env steps behind each (equal by default)."""
    weights = np.array([r.num_steps for r in results], dtype=np.float64)
    stacked = np.stack([r.grad for r in results]).astype(np.float64)
    return (weights @ stacked / weights.sum()).astype(np.float32)


class A2CAgent(Agent):
    """One train() call applies grads_per_step worker gradients, like A3C's, averaged in synchronous
    rounds of num_workers (with A2C's batch_size of 8, half A3C's env steps by default)."""

    schema = A2C_SCHEMA
    algorithm = "a2c"

    def _train(self) -> tuple[int, dict[str, Any]]:
        rounds = max(1, self.config["grads_per_step"] // self.pool.num_workers)
        steps = 0
        norms, losses = [], []
        for _ in range(rounds):
            weights = self.pool.put(self.learner.weights(), num_readers=self.pool.num_workers)
            results: list[GradientResult] = self.pool.call_all(
                "compute_gradients", weights, self.weights_version, self._filter_state()
            )
            lr = self.learner.update_lr(self.timesteps_total + steps)
            norm = self._apply(average_gradients(results))
            if norm is not None:
                norms.append(norm)
                self.weights_version += 1
            for result in results:
                steps += result.num_steps
                self._record(result)
            losses += results
        info = {
            "learner": {
                **loss_summary(losses, norms or [float("nan")]),
                "policy_lag_mean": 0.0,
                "num_updates": rounds,
                "cur_lr": lr,
            },
            "weights_version": self.weights_version,
        }
        return steps, info
