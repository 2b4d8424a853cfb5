"""Action distributions in numpy: sample, mode, log-probability, entropy, and the gradient of the
actor-critic policy loss with respect to the policy head's outputs.

Every distribution reads `params` [N, param_size] (logits, or a Gaussian's mean) and, for the
Gaussian, a state-independent `log_std` [dim] (SB3's and RLlib's default). The per-row policy loss
is  -advantage * log p(action) - entropy_coeff * H  (its batch mean is the A3C policy loss);
`loss_grad` returns its gradient per row, with respect to params and to log_std (summed over rows).
Checked against torch.distributions and autograd in tests/test_distributions.py.
"""

from __future__ import annotations

import math

import numpy as np

from a3c.spaces import ActionSpec

LOG_2PI = float(np.log(2 * np.pi))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sample_from_log_probs(log_probs: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """One categorical sample per row by inverting the CDF with given uniforms in [0, 1)."""
    below = np.cumsum(np.exp(log_probs), axis=1) <= uniforms[:, None]
    return np.minimum(below.sum(axis=1), log_probs.shape[1] - 1)


def _choose_one(logits: list[float], uniform: float) -> tuple[np.ndarray, np.ndarray]:
    """`sample_from_log_probs` for a single row, in Python floats: one environment per worker (the
    tutorial's setting) acts 16 times per task, and numpy's ~1 us per call on a 2-element array cost
    more than the arithmetic. The same inverse-CDF draw from the same uniform."""
    top = max(logits)
    weights = [math.exp(logit - top) for logit in logits]
    total = math.fsum(weights)
    threshold, cumulative, action = uniform * total, 0.0, len(logits) - 1
    for index, weight in enumerate(weights[:-1]):
        cumulative += weight
        if cumulative > threshold:
            action = index
            break
    log_prob = logits[action] - top - math.log(total)
    return np.array([action], dtype=np.int64), np.array([log_prob])


class ActionDistribution:
    """What every distribution offers besides sample/mode/log_prob/entropy/loss_grad."""

    def choose(
        self, params: np.ndarray, extra: np.ndarray | None, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions (sampled; the mode when rng is None) and their log-probabilities: one step's act."""
        actions = self.mode(params, extra) if rng is None else self.sample(params, extra, rng)
        return actions, self.log_prob(params, extra, actions)

    def log_prob_and_entropy(
        self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both per row, for a loss's report (a distribution may share their work)."""
        return self.log_prob(params, extra, actions), self.entropy(params, extra)


class Categorical(ActionDistribution):
    num_extra = 0

    def choose(
        self, params: np.ndarray, extra: np.ndarray | None, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One log-softmax for both the sample and its log-probability (the tutorial's hot path)."""
        if params.shape[0] == 1 and rng is not None:
            return _choose_one(params[0].tolist(), rng.random())
        log_probs = log_softmax(params)
        if rng is None:
            actions = np.argmax(params, axis=1)
        else:
            actions = sample_from_log_probs(log_probs, rng.random(params.shape[0]))
        return actions, log_probs[np.arange(params.shape[0]), actions]

    def __init__(self, n: int):
        self.n = n

    def sample(self, params: np.ndarray, extra: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        return sample_from_log_probs(log_softmax(params), rng.random(params.shape[0]))

    def mode(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        return np.argmax(params, axis=1)

    def log_prob(self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray) -> np.ndarray:
        return log_softmax(params)[np.arange(params.shape[0]), actions]

    def entropy(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        log_probs = log_softmax(params)
        return -(np.exp(log_probs) * log_probs).sum(axis=1)

    def log_prob_and_entropy(
        self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        log_probs = log_softmax(params)
        entropy = -(np.exp(log_probs) * log_probs).sum(axis=1)
        return log_probs[np.arange(params.shape[0]), actions], entropy

    def loss_grad(
        self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray, advantages: np.ndarray, ent: float
    ) -> tuple[np.ndarray, None]:
        log_probs = log_softmax(params)
        probs = np.exp(log_probs)
        entropy_rows = -(probs * log_probs).sum(axis=1)
        onehot = np.zeros_like(probs)
        onehot[np.arange(params.shape[0]), actions] = 1.0
        return advantages[:, None] * (probs - onehot) + ent * probs * (log_probs + entropy_rows[:, None]), None


class MultiCategorical(ActionDistribution):
    """Independent categoricals over slices of the logits; log-prob and entropy are sums."""

    num_extra = 0

    def __init__(self, sizes: tuple[int, ...]):
        self.parts = [Categorical(n) for n in sizes]
        self.bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()

    def _slices(self) -> list[slice]:
        return [slice(a, b) for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)]

    def sample(self, params: np.ndarray, extra: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        return np.stack([p.sample(params[:, s], None, rng) for p, s in zip(self.parts, self._slices(), strict=True)], 1)

    def mode(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        return np.stack([np.argmax(params[:, s], axis=1) for s in self._slices()], 1)

    def log_prob(self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray) -> np.ndarray:
        pairs = zip(self.parts, self._slices(), strict=True)
        return sum(p.log_prob(params[:, s], None, actions[:, i]) for i, (p, s) in enumerate(pairs))

    def entropy(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        return sum(p.entropy(params[:, s], None) for p, s in zip(self.parts, self._slices(), strict=True))

    def loss_grad(
        self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray, advantages: np.ndarray, ent: float
    ) -> tuple[np.ndarray, None]:
        grad = np.empty_like(params)
        for i, (part, s) in enumerate(zip(self.parts, self._slices(), strict=True)):
            grad[:, s] = part.loss_grad(params[:, s], None, actions[:, i], advantages, ent)[0]
        return grad, None


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


class Bernoulli(ActionDistribution):
    """Independent Bernoulli per dimension, from logits."""

    num_extra = 0

    def __init__(self, n: int):
        self.n = n

    def sample(self, params: np.ndarray, extra: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(params.shape) < 1 / (1 + np.exp(-params))).astype(np.int64)

    def mode(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        return (params > 0).astype(np.int64)

    def log_prob(self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray) -> np.ndarray:
        return np.where(actions > 0, _log_sigmoid(params), _log_sigmoid(-params)).sum(axis=1)

    def entropy(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        p = 1 / (1 + np.exp(-params))
        return -(p * _log_sigmoid(params) + (1 - p) * _log_sigmoid(-params)).sum(axis=1)

    def loss_grad(
        self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray, advantages: np.ndarray, ent: float
    ) -> tuple[np.ndarray, None]:
        # d log p / dx = a - p;  dH / dx = -x p (1 - p)
        p = 1 / (1 + np.exp(-params))
        return advantages[:, None] * (p - actions) + ent * params * p * (1 - p), None


class DiagGaussian(ActionDistribution):
    """Normal(mean, exp(log_std)) per dimension; log_std is one learned vector for all states."""

    num_extra = 1

    def __init__(self, dim: int):
        self.dim = dim

    def sample(self, params: np.ndarray, extra: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        return (params + np.exp(extra) * rng.standard_normal(params.shape)).astype(np.float32)

    def mode(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        return params.astype(np.float32)

    def log_prob(self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray) -> np.ndarray:
        z = (actions - params) * np.exp(-extra)
        return (-0.5 * z * z - extra - 0.5 * LOG_2PI).sum(axis=1)

    def entropy(self, params: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        return np.full(params.shape[0], float((extra + 0.5 + 0.5 * LOG_2PI).sum()), dtype=params.dtype)

    def loss_grad(
        self, params: np.ndarray, extra: np.ndarray | None, actions: np.ndarray, advantages: np.ndarray, ent: float
    ) -> tuple[np.ndarray, np.ndarray]:
        # d log p / d mean = (a - mean) / std^2;  d log p / d log_std = z^2 - 1;  dH / d log_std = 1
        inv_std = np.exp(-extra)
        z = (actions - params) * inv_std
        g_mean = -advantages[:, None] * z * inv_std
        g_log_std = (-advantages[:, None] * (z * z - 1.0)).sum(axis=0) - ent * params.shape[0]
        return g_mean, g_log_std


Distribution = Categorical | MultiCategorical | Bernoulli | DiagGaussian


def make_distribution(spec: ActionSpec) -> Distribution:
    if spec.kind == "categorical":
        return Categorical(spec.sizes[0])
    if spec.kind == "multi_categorical":
        return MultiCategorical(spec.sizes)
    if spec.kind == "bernoulli":
        return Bernoulli(spec.sizes[0])
    if spec.kind == "gaussian":
        return DiagGaussian(spec.sizes[0])
    raise ValueError(f"unknown action distribution {spec.kind!r}")
