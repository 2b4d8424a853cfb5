"""PPO: workers sample with the same weights, in rounds of every worker's rollout, until
train_batch_size steps are in; the driver then runs num_sgd_iter epochs of minibatch SGD on the
clipped surrogate objective."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import numpy as np
import torch

from a3c.agents.base import Agent
from a3c.catalog import default_learner_threads
from a3c.config import PPO_SCHEMA, default_config
from a3c.core.losses import explained_variance, ppo_loss
from a3c.core.schedules import linear_anneal
from a3c.worker import TrainBatch

DEFAULT_CONFIG = default_config(PPO_SCHEMA)
"""PPO's defaults, a plain dict: `config = DEFAULT_CONFIG.copy()`, change keys, pass it to the agent."""


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with `count` torch threads, then give back the process's setting (the driver
    keeps one thread beside its workers everywhere else)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class PPOAgent(Agent):
    """Proximal policy optimization (Schulman et al. 2017) on the same workers and model as A3C."""

    schema = PPO_SCHEMA
    algorithm = "ppo"

    @cached_property
    def learner_threads(self) -> int:
        """Torch threads for the SGD epochs: `num_learner_threads`, or the default by network
        (a3c.catalog.default_learner_threads)."""
        chosen = self.config["num_learner_threads"]
        return default_learner_threads(self.plan.is_image, self.config["num_workers"]) if chosen is None else chosen

    def _collect(self) -> TrainBatch:
        """Rounds of every worker's rollout until train_batch_size slots are in. A slot where a vector
        env's copy was resetting (no transition; next-step autoreset) counts, so that episode ends do
        not add a round: counting transitions alone fell a few short in most rounds on Pong and
        CartPole and doubled those updates' batches."""
        batches: list[TrainBatch] = []
        slots = 0
        weights = self.pool.put(self.learner.weights(), num_readers=self.pool.num_workers)
        while slots < self.config["train_batch_size"]:
            for batch in self.pool.call_all("sample_batch", weights, self._filter_state()):
                self._record(batch)
                batches.append(batch)
                slots += batch.valid.size
        return TrainBatch.concat(batches)

    def _minibatches(self, batch: TrainBatch) -> Iterator[dict[str, Any]]:
        """num_sgd_iter epochs of shuffled minibatches of about sgd_minibatch_size steps: single steps
        for feed-forward models; whole rollouts of one environment (columns of the [T, N] batch,
        replayed from their starting state) for recurrent ones, whose loss keeps only the valid
        steps (a vector env's autoreset steps are replayed, not learned from)."""
        size = self.config["sgd_minibatch_size"]
        if not self.model.recurrent:
            rows = {name: torch.from_numpy(np.ascontiguousarray(v)) for name, v in batch.rows().items()}
            count = batch.num_steps
            size = min(size, count)
            for _ in range(self.config["num_sgd_iter"]):
                order = torch.randperm(count, generator=self._sgd_generator)
                for start in range(0, count, size):  # the last one shorter where count is no multiple
                    yield {name: value[order[start : start + size]] for name, value in rows.items()}
            return
        steps, columns = batch.valid.shape
        per_minibatch = min(columns, max(1, size // steps))
        seqs = {name: torch.from_numpy(np.ascontiguousarray(getattr(batch, name))) for name in TrainBatch.ARRAYS}
        state = tuple(torch.from_numpy(s) for s in batch.state_in)
        for _ in range(self.config["num_sgd_iter"]):
            order = torch.randperm(columns, generator=self._sgd_generator)
            for start in range(0, columns - per_minibatch + 1, per_minibatch):
                index = order[start : start + per_minibatch]
                part = {name: value[:, index] for name, value in seqs.items()}
                flat = {name: value.reshape(steps * len(index), *value.shape[2:]) for name, value in part.items()}
                keep = flat["valid"]
                yield {
                    **{name: value[keep] for name, value in flat.items() if name not in ("obs", "valid", "resets")},
                    "keep": keep,
                    "seq_obs": part["obs"],
                    "state": tuple(s[index] for s in state),
                    "seq_resets": part["resets"],
                }

    def _train(self) -> tuple[int, dict[str, Any]]:
        start = time.perf_counter()
        batch = self._collect()
        sampled = time.perf_counter()
        lr = self.learner.update_lr(self.timesteps_total)
        clip_param = self._scheduled("clip_param", "lr_decay_steps")
        entropy_coeff = self._scheduled("entropy_coeff", "entropy_decay_steps")
        with torch_threads(self.learner_threads):
            stats, norms = self._sgd(batch, clip_param, entropy_coeff)
        learned = time.perf_counter()
        rows = batch.rows()
        self.weights_version += 1
        info = {
            "learner": {
                "policy_loss": float(np.mean([s.policy_loss for s in stats])),
                "value_loss": float(np.mean([s.value_loss for s in stats])),
                "entropy": float(np.mean([s.entropy for s in stats])),
                "approx_kl": float(np.mean([s.approx_kl for s in stats])),
                "clip_fraction": float(np.mean([s.clip_fraction for s in stats])),
                "explained_variance": explained_variance(
                    torch.from_numpy(rows["values"]), torch.from_numpy(rows["value_targets"])
                ),
                "grad_norm": float(np.mean(norms)) if norms else float("nan"),
                "num_sgd_steps": len(norms),
                "cur_lr": lr,
                "cur_clip_param": clip_param,
                "cur_entropy_coeff": entropy_coeff,
                "num_learner_threads": self.learner_threads,
            },
            "timers": {"sample_time_s": sampled - start, "learn_time_s": learned - sampled},
            "weights_version": self.weights_version,
        }
        return batch.num_steps, info

    def _scheduled(self, name: str, decay_steps_key: str) -> float:
        """config[name] at the env steps so far, annealed linearly to config[name + "_final"] over
        config[decay_steps_key] when that is set: the clip range with the lr (lr_decay_steps), as the
        zoo's Atari settings do; the entropy bonus on a schedule of its own (entropy_decay_steps:
        annealing the lr with it cost Pong 13 points in an hour, BENCHMARKS.md)."""
        start, final = self.config[name], self.config[f"{name}_final"]
        final = start if final is None else final
        return linear_anneal(start, final, self.config[decay_steps_key], self.timesteps_total)

    def _sgd(self, batch: TrainBatch, clip_param: float, entropy_coeff: float) -> tuple[list[Any], list[float]]:
        """num_sgd_iter epochs of minibatch steps on the surrogate clipped at `clip_param`, with the entropy
        bonus `entropy_coeff`: each minibatch's loss statistics and gradient norm."""
        stats, norms = [], []
        for minibatch in self._minibatches(batch):
            advantages = minibatch["advantages"]
            if self.config["normalize_advantages"] and advantages.numel() > 1:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            if "state" in minibatch:
                dist, values = self.learner.forward(
                    minibatch["seq_obs"], minibatch["state"], minibatch["seq_resets"], minibatch["keep"]
                )
            else:
                dist, values = self.learner.forward(minibatch["obs"])
            loss, minibatch_stats = ppo_loss(
                dist,
                values,
                minibatch["actions"],
                minibatch["logp"],
                minibatch["values"],
                advantages,
                minibatch["value_targets"],
                clip_param,
                self.config["vf_clip_param"],
                self.config["vf_loss_coeff"],
                entropy_coeff,
            )
            loss.backward()
            norm = self._apply()
            if norm is not None:
                norms.append(norm)
            stats.append(minibatch_stats)
        return stats, norms

    @property
    def _sgd_generator(self) -> torch.Generator:
        if not hasattr(self, "_generator"):
            self._generator = torch.Generator()
            if self.config["seed"] is not None:
                self._generator.manual_seed(self.config["seed"])
        return self._generator
