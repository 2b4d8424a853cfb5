"""SharedModel's forward pass and A3C-loss gradient in numpy, on one flat weight vector.

Why not torch in the workers: for a 16-step rollout, torch's per-call overhead costs more than the
environment steps, and importing torch costs each worker process 2 s and 200 MB, which with 16
workers on 2 cores is most of the start-up time. The math here is checked against torch autograd
in tests/test_numpy_model.py. The flat layout is torch's `parameters()` order: for each trunk
layer weight [out, in] then bias (the policy trunk, then the value trunk when the two do not share
layers), then the policy head, then the value head, then (Gaussian actions only) the log-std.
The policy head's outputs are the action distribution's parameters (a3c.core.distributions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from a3c.config import value_shares_trunk
from a3c.core.distributions import Categorical, Distribution, log_softmax, make_distribution, sample_from_log_probs
from a3c.spaces import ActionSpec

__all__ = ["NumpyActorCritic", "LossAndGrad", "layer_shapes", "log_softmax", "sample_from_log_probs"]


def layer_shapes(
    obs_size: int, num_actions: int, hiddens: list[int], share_layers: bool = True, log_std_size: int = 0
) -> list[tuple[int, ...]]:
    """Parameter shapes of the torch MLP ActorCritic, in `parameters()` order (num_actions: head outputs)."""
    trunk: list[tuple[int, ...]] = []
    width = obs_size
    for hidden in hiddens:
        trunk += [(hidden, width), (hidden,)]
        width = hidden
    trunks = trunk if share_layers else trunk + trunk
    extra = [(log_std_size,)] if log_std_size else []
    return trunks + [(num_actions, width), (num_actions,), (1, width), (1,)] + extra


def network_options(model: dict[str, Any]) -> dict[str, Any]:
    """The network arguments a config's `model` dict gives (an MLP: no images, no LSTM)."""
    return {
        "hiddens": list(model["fcnet_hiddens"]),
        "activation": model["fcnet_activation"],
        "share_layers": value_shares_trunk(model),
    }


def num_params(shapes: list[tuple[int, ...]]) -> int:
    return sum(int(np.prod(s)) for s in shapes)


@dataclass
class LossAndGrad:
    """The flat gradient of the actor-critic loss and the loss's parts (batch means)."""

    grad: np.ndarray
    policy_loss: float
    value_loss: float
    entropy: float


class NumpyActorCritic:
    """Forward pass and loss gradient of the MLP ActorCritic, with weights as views into one flat vector.

    `distribution` (default: categorical over `num_actions`) reads the policy head's outputs.
    """

    def __init__(
        self,
        obs_size: int,
        num_actions: int,
        hiddens: list[int],
        activation: str = "tanh",
        share_layers: bool = True,
        distribution: Distribution | None = None,
    ):
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        self.activation = activation
        self.depth = len(hiddens)
        self.share_layers = share_layers
        self.distribution = distribution or Categorical(num_actions)
        self.log_std_size = num_actions if self.distribution.num_extra else 0
        self.shapes = layer_shapes(obs_size, num_actions, hiddens, share_layers, self.log_std_size)
        self.num_params = num_params(self.shapes)
        self.set_flat_weights(np.zeros(self.num_params, dtype=np.float32))

    @classmethod
    def from_model_config(cls, obs_size: int, num_actions: int, model: dict[str, Any]) -> NumpyActorCritic:
        return cls(obs_size, num_actions, **network_options(model))

    @classmethod
    def from_spec(cls, obs_size: int, action: ActionSpec, model: dict[str, Any]) -> NumpyActorCritic:
        return cls(obs_size, action.param_size, **network_options(model), distribution=make_distribution(action))

    def set_flat_weights(self, flat: np.ndarray) -> None:
        if flat.shape != (self.num_params,):
            raise ValueError(f"expected {self.num_params} weights, got shape {flat.shape}")
        self.flat = flat
        arrays, offset = [], 0
        shapes = self.shapes[:-1] if self.log_std_size else self.shapes
        for shape in shapes:
            n = int(np.prod(shape))
            arrays.append(flat[offset : offset + n].reshape(shape))
            offset += n
        # Stored as [out, in] like nn.Linear; keep the transposed views so forward is x @ W.
        self.weights = [arrays[i].T for i in range(0, len(arrays), 2)]
        self.biases = [arrays[i + 1] for i in range(0, len(arrays), 2)]
        d = self.depth
        self.policy_trunk = (self.weights[:d], self.biases[:d])
        self.value_trunk = self.policy_trunk if self.share_layers else (self.weights[d : 2 * d], self.biases[d : 2 * d])
        self.log_std = flat[offset:] if self.log_std_size else None

    def _act(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z) if self.activation == "tanh" else np.maximum(z, 0.0)

    def _trunk(self, obs: np.ndarray, trunk: tuple[list[np.ndarray], list[np.ndarray]]) -> list[np.ndarray]:
        """Activations of every layer of one trunk, the input first."""
        xs = [obs]
        for weight, bias in zip(*trunk, strict=True):
            xs.append(self._act(xs[-1] @ weight + bias))
        return xs

    def _trunk_grads(self, xs: list[np.ndarray], weights: list[np.ndarray], g_out: np.ndarray) -> list[np.ndarray]:
        """Gradients [W, b per layer] of one trunk, from the gradient at its output."""
        grads: list[np.ndarray] = []
        g_x = g_out
        for layer in reversed(range(len(weights))):
            out = xs[layer + 1]
            g_z = g_x * (1.0 - out * out) if self.activation == "tanh" else g_x * (out > 0)
            grads = [g_z.T @ xs[layer], g_z.sum(axis=0)] + grads
            if layer:  # the input's gradient is never needed
                g_x = g_z @ weights[layer].T
        return grads

    def _features(self, obs: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        policy_xs = self._trunk(obs, self.policy_trunk)
        return policy_xs, policy_xs if self.share_layers else self._trunk(obs, self.value_trunk)

    def _heads(self, policy_xs: list[np.ndarray], value_xs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Distribution parameters [N, P] (logits or means) and values [N] from the trunks' activations."""
        logits = policy_xs[-1] @ self.weights[-2] + self.biases[-2]
        values = (value_xs[-1] @ self.weights[-1] + self.biases[-1])[:, 0]
        return logits, values

    def forward(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distribution parameters [N, P] and values [N] for observations [N, obs_size]."""
        return self._heads(*self._features(obs))

    def loss_and_grad(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        advantages: np.ndarray,
        value_targets: np.ndarray,
        vf_loss_coeff: float,
        entropy_coeff: float,
    ) -> LossAndGrad:
        """Gradient of  mean(-logp(a) A) + vf * mean((R - v)^2) / 2 - ent * mean(H)  (see core.losses)."""
        batch = obs.shape[0]
        dist = self.distribution
        policy_xs, value_xs = self._features(obs)
        policy_features, value_features = policy_xs[-1], value_xs[-1]
        params, values = self._heads(policy_xs, value_xs)
        errors = values - value_targets

        # d loss / d head outputs (policy gradient term plus the entropy term); d loss / d value.
        g_params, g_log_std = dist.loss_grad(params, self.log_std, actions, advantages, entropy_coeff)
        g_params /= batch
        g_values = (vf_loss_coeff / batch) * errors

        head_grads = [
            g_params.T @ policy_features,
            g_params.sum(axis=0),
            (g_values[:, None]).T @ value_features,
            np.array([g_values.sum()], dtype=value_features.dtype),
        ]
        if g_log_std is not None:
            head_grads.append(g_log_std / batch)
        g_policy_features = g_params @ self.weights[-2].T
        g_value_features = g_values[:, None] @ self.weights[-1].T
        if self.share_layers:
            trunk_grads = self._trunk_grads(policy_xs, self.policy_trunk[0], g_policy_features + g_value_features)
        else:
            trunk_grads = self._trunk_grads(policy_xs, self.policy_trunk[0], g_policy_features)
            trunk_grads += self._trunk_grads(value_xs, self.value_trunk[0], g_value_features)
        flat = np.concatenate([g.reshape(-1) for g in trunk_grads + head_grads]).astype(np.float32)
        return LossAndGrad(
            grad=flat,
            policy_loss=float(-(advantages * dist.log_prob(params, self.log_std, actions)).mean()),
            value_loss=float(0.5 * (errors**2).mean()),
            entropy=float(dist.entropy(params, self.log_std).mean()),
        )
