"""PPO: workers sample with the same weights until train_batch_size steps are in; the driver then
runs num_sgd_iter epochs of minibatch SGD on the clipped surrogate objective."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from a3c.agents.base import Agent
from a3c.config import PPO_SCHEMA, default_config
from a3c.core.losses import explained_variance, ppo_loss
from a3c.worker import TrainBatch

DEFAULT_CONFIG = default_config(PPO_SCHEMA)


class PPOAgent(Agent):
    """Proximal policy optimization (Schulman et al. 2017) on the same workers and model as A3C."""

    schema = PPO_SCHEMA
    algorithm = "ppo"

    def _collect(self) -> TrainBatch:
        batches: list[TrainBatch] = []
        collected = 0
        weights = self.pool.put(self.learner.weights(), num_readers=self.pool.num_workers)
        while collected < self.config["train_batch_size"]:
            for batch in self.pool.call_all("sample_batch", weights, self._filter_state()):
                self._record(batch)
                batches.append(batch)
                collected += batch.num_steps
        return TrainBatch.concat(batches)

    def _train(self) -> tuple[int, dict[str, Any]]:
        batch = self._collect()
        lr = self.learner.update_lr(self.timesteps_total)
        tensors = {
            "obs": torch.from_numpy(batch.obs),
            "actions": torch.from_numpy(batch.actions),
            "logp": torch.from_numpy(batch.logp),
            "values": torch.from_numpy(batch.values),
            "advantages": torch.from_numpy(batch.advantages),
            "targets": torch.from_numpy(batch.value_targets),
        }
        rows, size = batch.num_steps, min(self.config["sgd_minibatch_size"], batch.num_steps)
        stats, norms = [], []
        for _ in range(self.config["num_sgd_iter"]):
            order = torch.randperm(rows, generator=self._sgd_generator)
            for start in range(0, rows - size + 1, size):
                index = order[start : start + size]
                advantages = tensors["advantages"][index]
                if self.config["normalize_advantages"] and size > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                logits, values = self.learner.forward(tensors["obs"][index])
                loss, minibatch_stats = ppo_loss(
                    logits,
                    values,
                    tensors["actions"][index],
                    tensors["logp"][index],
                    tensors["values"][index],
                    advantages,
                    tensors["targets"][index],
                    self.config["clip_param"],
                    self.config["vf_clip_param"],
                    self.config["vf_loss_coeff"],
                    self.config["entropy_coeff"],
                )
                self.learner.flat.grad = None
                loss.backward()
                norm = self._apply()
                if norm is not None:
                    norms.append(norm)
                stats.append(minibatch_stats)
        self.weights_version += 1
        info = {
            "learner": {
                "policy_loss": float(np.mean([s.policy_loss for s in stats])),
                "value_loss": float(np.mean([s.value_loss for s in stats])),
                "entropy": float(np.mean([s.entropy for s in stats])),
                "approx_kl": float(np.mean([s.approx_kl for s in stats])),
                "clip_fraction": float(np.mean([s.clip_fraction for s in stats])),
                "explained_variance": explained_variance(tensors["values"], tensors["targets"]),
                "grad_norm": float(np.mean(norms)) if norms else float("nan"),
                "num_sgd_steps": len(norms),
                "cur_lr": lr,
            },
            "weights_version": self.weights_version,
        }
        return batch.num_steps, info

    @property
    def _sgd_generator(self) -> torch.Generator:
        if not hasattr(self, "_generator"):
            self._generator = torch.Generator()
            if self.config["seed"] is not None:
                self._generator.manual_seed(self.config["seed"])
        return self._generator
