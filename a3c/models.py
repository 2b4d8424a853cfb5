"""SharedModel: a fully connected trunk shared by a policy head and a value head.

Weights travel between driver and workers as one flat float32 vector (one object in Ray's store,
read without copying). Workers act with `NumpyPolicy`, a numpy forward pass over views into that
vector: per-step torch overhead costs more than a CartPole step, so torch runs only for the
batched backward pass.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

logger = logging.getLogger("a3c")

ACTIVATIONS = {"tanh": (nn.Tanh, np.tanh), "relu": (nn.ReLU, lambda x: np.maximum(x, 0.0))}


class SharedModel(nn.Module):
    """Shared trunk, policy logits head, scalar value head; orthogonal init as in CleanRL."""

    def __init__(self, obs_size: int, num_actions: int, hiddens: list[int], activation: str = "tanh"):
        super().__init__()
        self.obs_size = obs_size
        self.num_actions = num_actions
        self.hiddens = list(hiddens)
        self.activation = activation
        layers: list[nn.Module] = []
        width = obs_size
        for hidden in hiddens:
            layers += [_init(nn.Linear(width, hidden), np.sqrt(2)), ACTIVATIONS[activation][0]()]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.policy_head = _init(nn.Linear(width, num_actions), 0.01)
        self.value_head = _init(nn.Linear(width, 1), 1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(obs)
        return self.policy_head(features), self.value_head(features).squeeze(-1)

    def describe(self) -> str:
        return f"Constructing fcnet {self.hiddens} {self.activation}"

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def get_flat_weights(self) -> np.ndarray:
        return nn.utils.parameters_to_vector(self.parameters()).detach().numpy().astype(np.float32, copy=True)

    def set_flat_weights(self, flat: np.ndarray) -> None:
        with torch.no_grad():
            nn.utils.vector_to_parameters(torch.as_tensor(np.asarray(flat, dtype=np.float32)), self.parameters())

    def get_flat_grad(self) -> np.ndarray:
        grads = [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in self.parameters()
        ]
        return torch.cat(grads).numpy().astype(np.float32, copy=False)

    def set_flat_grad(self, flat: np.ndarray) -> None:
        offset = 0
        flat_tensor = torch.from_numpy(np.array(flat, dtype=np.float32))  # one copy; Ray's arrays are read-only
        for p in self.parameters():
            n = p.numel()
            p.grad = flat_tensor[offset : offset + n].view_as(p)
            offset += n


def _init(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def build_model(obs_size: int, num_actions: int, model_config: dict) -> SharedModel:
    return SharedModel(obs_size, num_actions, model_config["fcnet_hiddens"], model_config["fcnet_activation"])


class NumpyPolicy:
    """The same forward pass as SharedModel, in numpy, on views into a flat weight vector."""

    def __init__(self, model: SharedModel):
        self.shapes = [tuple(p.shape) for p in model.parameters()]
        self.activation = ACTIVATIONS[model.activation][1]
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []

    def set_flat_weights(self, flat: np.ndarray) -> None:
        arrays, offset = [], 0
        for shape in self.shapes:
            n = int(np.prod(shape))
            arrays.append(flat[offset : offset + n].reshape(shape))
            offset += n
        # nn.Linear stores [out, in]; transpose once so forward is x @ W.
        self.layers = [(arrays[i].T, arrays[i + 1]) for i in range(0, len(arrays), 2)]

    def forward(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logits [N, A] and values [N] for a batch of observations [N, obs_size]."""
        x = obs
        for weight, bias in self.layers[:-2]:
            x = self.activation(x @ weight + bias)
        (pw, pb), (vw, vb) = self.layers[-2], self.layers[-1]
        return x @ pw + pb, (x @ vw + vb)[:, 0]


def sample_actions(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical sample per row, by the Gumbel-max trick (no softmax needed)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1)
