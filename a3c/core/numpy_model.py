"""The MLP ActorCritic's forward pass and A3C-loss gradient in numpy, on one flat weight vector.

Why not torch in the workers: for a 16-step rollout, torch's per-call overhead costs more than the
environment steps, and importing torch costs each worker process 2 s and 200 MB, which with 16
workers on 2 cores is most of the start-up time. The math here is checked against torch autograd
in tests/test_numpy_model.py. The flat layout is a3c.catalog's `ModelPlan.layout()`, the one the
torch model is built from and checked against: for each trunk layer weight [out, in] then bias (the
policy trunk, then the value trunk when the two do not share layers), then the policy head, then
the value head, then (Gaussian actions only) the log-std. The policy head's outputs are the action
distribution's parameters (a3c.core.distributions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from a3c.catalog import ModelPlan
from a3c.core.distributions import log_softmax, sample_from_log_probs

__all__ = ["NumpyActorCritic", "LossAndGrad", "log_softmax", "sample_from_log_probs"]


@dataclass
class LossAndGrad:
    """The flat gradient of the actor-critic loss and the loss's parts (batch means)."""

    grad: np.ndarray
    policy_loss: float
    value_loss: float
    entropy: float


class NumpyActorCritic:
    """Forward pass and loss gradient of the MLP ActorCritic a plan describes (a3c.catalog), with
    weights as views into one flat vector; the plan's distribution reads the policy head's outputs."""

    def __init__(self, plan: ModelPlan):
        if plan.activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {plan.activation!r}")
        self.activation = plan.activation
        self.depth = len(plan.hiddens)
        self.share_layers = plan.share_layers
        self.distribution = plan.distribution()
        self.log_std_size = plan.log_std_size
        self.layout = plan.layout()
        self.shapes = [shape for _, shape in self.layout]
        self.num_params = sum(int(np.prod(shape)) for shape in self.shapes)
        # (start, end, shape) of each weight and bias in the flat vector: computed once, since
        # set_flat_weights runs at every task and np.prod per shape cost more than the views.
        self._spans, offset = [], 0
        for shape in self.shapes[:-1] if self.log_std_size else self.shapes:
            size = int(np.prod(shape))
            self._spans.append((offset, offset + size, shape))
            offset += size
        self._log_std_start = offset
        self._fused: list[tuple[np.ndarray, np.ndarray]] | None = None
        self.set_flat_weights(np.zeros(self.num_params, dtype=np.float32))

    def set_flat_weights(self, flat: np.ndarray) -> None:
        if flat.shape != (self.num_params,):
            raise ValueError(f"expected {self.num_params} weights, got shape {flat.shape}")
        self.flat = flat
        arrays = [flat[start:end].reshape(shape) for start, end, shape in self._spans]
        offset = self._log_std_start
        # Stored as [out, in] like nn.Linear; keep the transposed views so forward is x @ W.
        self.weights = [arrays[i].T for i in range(0, len(arrays), 2)]
        self.biases = [arrays[i + 1] for i in range(0, len(arrays), 2)]
        d = self.depth
        self.policy_trunk = (self.weights[:d], self.biases[:d])
        self.value_trunk = self.policy_trunk if self.share_layers else (self.weights[d : 2 * d], self.biases[d : 2 * d])
        self.log_std = flat[offset:] if self.log_std_size else None
        self._fused_stale = True  # the fused copy (`_fused_layers`) is refilled at the next forward()

    def _fused_plan(self) -> list[tuple[tuple[int, int], list[tuple[slice, slice, int]], list[int]]]:
        """For each layer of the fused network: its weight shape, where each weight of `self.weights`
        goes in it (rows, columns, index) and which biases make its bias, in order."""
        d = self.depth
        widths = [w.shape[1] for w in self.weights[:d]]
        separate = not self.share_layers and d > 0
        plan = []
        rows = self.weights[0].shape[0]
        for k in range(d):
            if not separate:
                plan.append(((rows, widths[k]), [(slice(None), slice(None), k)], [k]))
            else:
                top = rows if k == 0 else rows // 2  # the policy half of the previous layer's output
                policy_rows, value_rows = (
                    slice(None) if k == 0 else slice(0, top),
                    slice(None) if k == 0 else slice(top, None),
                )
                plan.append(
                    (
                        (rows, 2 * widths[k]),
                        [(policy_rows, slice(0, widths[k]), k), (value_rows, slice(widths[k], None), d + k)],
                        [k, d + k],
                    )
                )
            rows = plan[-1][0][1]
        num_params = self.weights[-2].shape[1]
        head = len(self.weights) - 2
        if separate:
            half = rows // 2
            head_blocks = [
                (slice(0, half), slice(0, num_params), head),
                (slice(half, None), slice(num_params, None), head + 1),
            ]
        else:
            head_blocks = [(slice(None), slice(0, num_params), head), (slice(None), slice(num_params, None), head + 1)]
        plan.append(((rows, num_params + 1), head_blocks, [head, head + 1]))
        return plan

    def _fused_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight [in, out], bias) of one network computing both trunks and both heads at once.

        Separate policy and value trunks become one trunk of twice the width: their first layers side
        by side, each deeper layer block-diagonal, and a head whose first columns read the policy half
        (distribution parameters) and whose last column reads the value half. One matmul per layer
        instead of two and no second pass for the value: the acting path of every environment step,
        where numpy's per-call overhead, not arithmetic, is the cost. Same results as `_features` and
        `_heads` up to float rounding (tests/test_numpy_model.py). The buffers are allocated once and
        refilled after each `set_flat_weights` (the zero blocks stay zero).
        """
        if self._fused is None:
            self._plan = self._fused_plan()
            self._fused = [
                (np.zeros(shape, dtype=np.float32), np.zeros(shape[1], dtype=np.float32)) for shape, _, _ in self._plan
            ]
            self._fused_stale = True
        if self._fused_stale:
            for (weight, bias), (_, blocks, bias_indices) in zip(self._fused, self._plan, strict=True):
                for rows, cols, index in blocks:
                    weight[rows, cols] = self.weights[index]
                np.concatenate([self.biases[i] for i in bias_indices], out=bias)
            self._fused_stale = False
        return self._fused

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
        layers = self._fused_layers()
        x = obs
        for weight, bias in layers[:-1]:
            x = x @ weight
            x += bias
            if self.activation == "tanh":
                np.tanh(x, out=x)
            else:
                np.maximum(x, 0.0, out=x)
        weight, bias = layers[-1]
        out = x @ weight
        out += bias
        return out[:, :-1], out[:, -1]

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
        log_probs, entropies = dist.log_prob_and_entropy(params, self.log_std, actions)
        return LossAndGrad(
            grad=flat,
            policy_loss=float(-(advantages * log_probs).mean()),
            value_loss=float(0.5 * (errors**2).mean()),
            entropy=float(entropies.mean()),
        )
