"""A3C: apply whichever worker's gradient arrives first, send that worker the newest weights."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from a3c.agents.base import Agent, loss_summary
from a3c.config import A3C_SCHEMA, default_config
from a3c.execution.pool import WorkerLost
from a3c.worker import GradientResult

DEFAULT_CONFIG = default_config(A3C_SCHEMA)
"""A3C's defaults, a plain dict: `config = DEFAULT_CONFIG.copy()`, change keys, pass it to the agent.
`a3c.DEFAULT_CONFIG` is this one, as in the 2018 tutorial."""


class A3CAgent(Agent):
    """Asynchronous advantage actor-critic (Mnih et al. 2016), scheduled as in the Ray tutorial.

    Every worker always has one task in flight; tasks still running at the end of one `train()`
    call are collected by the next, so no worker idles at an iteration boundary.
    """

    schema = A3C_SCHEMA
    algorithm = "a3c"

    def _dispatch(self, worker_indices: list[int]) -> None:
        weights = self.pool.put(self.learner.weights(), num_readers=len(worker_indices))  # once per update
        for index in worker_indices:
            self.pool.submit(index, "compute_gradients", weights, self.weights_version, self._filter_state())

    def _train(self) -> tuple[int, dict[str, Any]]:
        wait_s = apply_s = dispatch_s = 0.0
        idle = self.pool.idle_workers()
        if idle:
            self._dispatch(idle)
        steps = 0
        lags, norms, losses = [], [], []
        lr = self.learner.update_lr(self.timesteps_total)
        while len(norms) < self.config["grads_per_step"]:
            t0 = time.perf_counter()
            worker_index, result = self.pool.wait_any()
            t1 = time.perf_counter()
            if isinstance(result, WorkerLost):  # its task is lost, not counted; the replacement gets work
                self._dispatch([worker_index])
                continue
            result: GradientResult
            self._record(result)  # before relaunching: the worker gets a filter that includes its own delta
            lr = self.learner.update_lr(self.timesteps_total + steps)
            norm = self._apply(result.grad)
            if norm is not None:
                norms.append(norm)
                lags.append(self.weights_version - result.weights_version)
                self.weights_version += 1
            t2 = time.perf_counter()
            self._dispatch([worker_index])
            t3 = time.perf_counter()
            wait_s, apply_s, dispatch_s = wait_s + t1 - t0, apply_s + t2 - t1, dispatch_s + t3 - t2
            steps += result.num_steps
            result.grad = None  # applied: keep only the stats for this iteration's summary
            losses.append(result)
        info = {
            "learner": {
                **loss_summary(losses, norms),
                "policy_lag_mean": float(np.mean(lags)),
                "policy_lag_max": int(np.max(lags)),
                "num_grads_applied": len(norms),
                "cur_lr": lr,
            },
            "timers": {"wait_time_s": wait_s, "apply_time_s": apply_s, "dispatch_time_s": dispatch_s},
            "weights_version": self.weights_version,
        }
        return steps, info
