"""One Policy protocol for workers, the driver's action API and evaluation; numpy or torch behind it.

A policy acts on encoded observations [N, ...] with a recurrent state (None for feed-forward
models), and computes the actor-critic loss's flat gradient on a time-major batch. An MLP runs in
numpy (`NumpyPolicy`: no torch import, the tutorial's 16-worker start-up and step rate); conv,
LSTM and custom models run the torch network with one thread (`TorchPolicy`), imported only then.
Which one is a3c.catalog's decision (`ModelPlan.needs_torch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from a3c.catalog import ModelPlan, plan_model
from a3c.core.numpy_model import LossAndGrad, NumpyActorCritic
from a3c.spaces import Spaces

# A recurrent state as the worker keeps it: arrays [N, ...] float32 ((h, c) for the built-in LSTM; what
# a custom model's initial_state gives); None when feed-forward.
State = tuple[np.ndarray, ...] | None


@dataclass
class LossInputs:
    """What a loss is computed on, time-major [T, N, ...]; `valid` False marks steps to leave out."""

    obs: np.ndarray
    actions: np.ndarray
    advantages: np.ndarray
    value_targets: np.ndarray
    valid: np.ndarray
    resets: np.ndarray
    state_in: State


class Policy(Protocol):
    recurrent: bool
    num_params: int
    flat: np.ndarray

    def set_flat_weights(self, flat: np.ndarray) -> None: ...

    def initial_state(self, batch: int) -> State: ...

    def act(
        self, obs: np.ndarray, state: State, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, State]:
        """Actions (sampled; the mode when rng is None), their log-probs, values, the next state."""

    def value(self, obs: np.ndarray, state: State) -> np.ndarray: ...

    def loss_and_grad(self, inputs: LossInputs, vf_loss_coeff: float, entropy_coeff: float) -> LossAndGrad: ...


def make_policy(spaces: Spaces, model: dict[str, Any]) -> Policy:
    """The policy the catalog plans for these spaces and `model`: torch only where it must be."""
    plan = plan_model(spaces, model)
    return TorchPolicy(spaces, model, plan) if plan.needs_torch else NumpyPolicy(spaces, model, plan)


def reset_state(state: State, starts: np.ndarray) -> State:
    """Zero the state rows of environments whose episode starts now."""
    if state is None or not starts.any():
        return state
    keep = (~starts).astype(np.float32)
    return tuple(s * keep.reshape(-1, *([1] * (s.ndim - 1))) for s in state)


class NumpyPolicy:
    """The MLP ActorCritic in numpy (a3c.core.numpy_model), with any of the four action distributions."""

    recurrent = False

    def __init__(self, spaces: Spaces, model: dict[str, Any], plan: ModelPlan | None = None):
        self.net = NumpyActorCritic(plan or plan_model(spaces, model))
        self.dist = self.net.distribution
        self.num_params = self.net.num_params

    @property
    def flat(self) -> np.ndarray:
        return self.net.flat

    def set_flat_weights(self, flat: np.ndarray) -> None:
        self.net.set_flat_weights(flat)

    def initial_state(self, batch: int) -> State:
        return None

    def act(
        self, obs: np.ndarray, state: State, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, State]:
        params, values = self.net.forward(obs)
        actions, logp = self.dist.choose(params, self.net.log_std, rng)
        return actions, logp, values, None

    def value(self, obs: np.ndarray, state: State) -> np.ndarray:
        return self.net.forward(obs)[1]

    def loss_and_grad(self, inputs: LossInputs, vf_loss_coeff: float, entropy_coeff: float) -> LossAndGrad:
        keep = inputs.valid.reshape(-1)
        rows = keep.size

        def flat(array: np.ndarray) -> np.ndarray:
            return array.reshape(rows, *array.shape[2:])[keep]

        return self.net.loss_and_grad(
            flat(inputs.obs),
            flat(inputs.actions),
            flat(inputs.advantages),
            flat(inputs.value_targets),
            vf_loss_coeff,
            entropy_coeff,
        )


class TorchPolicy:
    """The torch network (conv, LSTM or a custom model; `build_network`) in a worker: one thread, no
    autograd when acting."""

    def __init__(self, spaces: Spaces, model: dict[str, Any], plan: ModelPlan | None = None):
        import torch

        from a3c.models import build_network

        plan = plan or plan_model(spaces, model)
        torch.set_num_threads(1)
        self.torch = torch
        self.net = build_network(plan)
        self.spec = spaces.action
        self.dist = plan.distribution()
        self.recurrent = self.net.recurrent
        self.num_params = self.net.num_params()
        self.flat = self.net.get_flat_weights()

    def set_flat_weights(self, flat: np.ndarray) -> None:
        self.flat = np.asarray(flat, dtype=np.float32)
        self.net.set_flat_weights(self.flat)

    def initial_state(self, batch: int) -> State:
        if not self.recurrent:
            return None
        return tuple(s.detach().numpy().astype(np.float32) for s in self.net.initial_state(batch))

    def _forward(self, obs: np.ndarray, state: State) -> tuple[np.ndarray, np.ndarray, State]:
        torch = self.torch
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(obs))
            if not self.recurrent:
                params, values = self.net(x)
                return params.numpy(), values.numpy(), None
            params, values, state = self.net.step(x, tuple(torch.from_numpy(s) for s in state))
            return params.numpy(), values.numpy(), tuple(s.numpy() for s in state)

    def act(
        self, obs: np.ndarray, state: State, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, State]:
        params, values, state = self._forward(obs, state)
        extra = self.net.extra_param()
        extra = None if extra is None else extra.detach().numpy()
        actions, logp = self.dist.choose(params, extra, rng)
        return actions, logp, values, state

    def value(self, obs: np.ndarray, state: State) -> np.ndarray:
        return self._forward(obs, state)[1]

    def loss_and_grad(self, inputs: LossInputs, vf_loss_coeff: float, entropy_coeff: float) -> LossAndGrad:
        from a3c.core.losses import actor_critic_loss
        from a3c.models import ActionDistribution

        torch = self.torch
        self.net.zero_grad(set_to_none=True)
        obs = torch.from_numpy(np.ascontiguousarray(inputs.obs))
        valid = torch.from_numpy(inputs.valid.reshape(-1))
        if self.recurrent:
            state = tuple(torch.from_numpy(s) for s in inputs.state_in)
            params, values, _ = self.net.forward_sequence(obs, state, torch.from_numpy(inputs.resets))
        else:
            params, values = self.net(obs.reshape(-1, *obs.shape[2:]))
        params = params.reshape(-1, params.shape[-1])[valid]
        values = values.reshape(-1)[valid]
        actions = torch.from_numpy(inputs.actions.reshape(-1, *inputs.actions.shape[2:]))[valid]
        dist = ActionDistribution(self.spec, params, self.net.extra_param())
        loss, stats = actor_critic_loss(
            dist,
            values,
            actions,
            torch.from_numpy(inputs.advantages.reshape(-1))[valid],
            torch.from_numpy(inputs.value_targets.reshape(-1))[valid],
            vf_loss_coeff,
            entropy_coeff,
        )
        loss.backward()
        return LossAndGrad(self.net.get_flat_grad().copy(), stats.policy_loss, stats.value_loss, stats.entropy)
