"""ActorCritic: the torch network for every space the agents drive, and its action distributions.

Encoder (a fully connected trunk for flat observations; a conv stack then dense layers for images),
optionally an LSTM on top, then a policy head (the action distribution's parameters) and a value
head. Gaussian actions add a state-independent log-std vector. The driver holds this model as one
flat float32 vector; MLP workers compute the same network in numpy
(`a3c.core.numpy_model.NumpyActorCritic`: the same flat layout, so the vectors are exchangeable),
conv and LSTM workers run this module with one thread. A user's own module is wrapped to the same
interface (`PolicyNetwork`) by a3c.custom_models; `build_network` builds the one a3c.catalog's plan
names. The plan also gives the MLP's dense layers and its named parameter layout: `ActorCritic` is
built from the first and checks itself against the second, which the numpy path reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.distributions import Bernoulli, Categorical, Normal

from a3c.catalog import Dense, ModelPlan
from a3c.spaces import ActionSpec

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}

# The memory format the built-in conv net's frames take where a gradient will flow (a loss, PPO's
# epochs). On CPU, channels-last frames made the Pong conv net's forward and backward 1.26-1.28x
# faster at 128 frames and 1.29-1.65x at 256 (two threads and one), while a forward pass alone
# (acting) was 0.77-0.90x as fast, so acting keeps the default layout. `python -m
# benchmarks.tools.conv_layout` measures both (benchmarks/results/speed/conv_layout_20261204.md).
GRADIENT_MEMORY_FORMAT = torch.channels_last

# model["conv_precision"]: the dtype the conv stack computes in under torch.autocast where a gradient
# flows. In bfloat16 the channels-first layout is the fast one (channels-last bfloat16 ran at
# 0.51-0.65x of it at 256 frames, a throwaway timing on an Intel Xeon with AMX), so
# GRADIENT_MEMORY_FORMAT applies to float32 only. benchmarks.tools.conv_layout measures the variants.
AUTOCAST_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}

State = tuple[torch.Tensor, torch.Tensor]


class LogStd(nn.Module):
    """The Gaussian's log-std, in a module of its own so that it comes last in `parameters()`."""

    def __init__(self, init: np.ndarray):
        super().__init__()
        self.log_std = nn.Parameter(torch.as_tensor(np.asarray(init, dtype=np.float32)).clone())


class PolicyNetwork(nn.Module):
    """What the learner, the torch workers and the exporter need of a network, built-in or a user's:
    distribution parameters and values from `forward`, a recurrent state (or none), and all
    parameters as one flat float32 vector in `parameters()` order (the order weights travel in)."""

    action: ActionSpec
    is_image: bool
    log_std: LogStd | None

    @property
    def recurrent(self) -> bool:
        raise NotImplementedError

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """Zeros: the state before an episode's first step (the state is zeroed at every episode start)."""
        raise NotImplementedError

    def step(self, obs: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """One step of a recurrent network for a batch [B, ...]: parameters, values, the next state."""
        raise NotImplementedError

    def _inputs(self, obs: torch.Tensor) -> torch.Tensor:
        # One float copy, scaled in place: a loss's batch of Pong frames is 14 MB as float32.
        return obs.to(torch.float32, copy=True).div_(255.0) if self.is_image else obs

    def extra_param(self) -> torch.Tensor | None:
        """The Gaussian's log-std (Box actions), the one parameter outside the layers; None otherwise."""
        return None if self.log_std is None else self.log_std.log_std

    def num_params(self) -> int:
        """Number of parameters: the length of the flat weight vector that crosses Ray."""
        return sum(p.numel() for p in self.parameters())

    def get_flat_weights(self) -> np.ndarray:
        """All parameters as one float32 vector, in `parameters()` order (the layout workers and
        checkpoints share)."""
        return nn.utils.parameters_to_vector(self.parameters()).detach().numpy().astype(np.float32, copy=True)

    def set_flat_weights(self, flat: np.ndarray) -> None:
        """Load every parameter from one flat vector in `parameters()` order (as the driver sends it)."""
        flat = np.asarray(flat, dtype=np.float32)
        if not flat.flags.writeable:  # Ray hands out read-only arrays; torch wants to own writable memory
            flat = flat.copy()
        with torch.no_grad():
            nn.utils.vector_to_parameters(torch.from_numpy(flat), self.parameters())

    def get_flat_grad(self) -> np.ndarray:
        """The gradient of every parameter as one flat float32 vector (zeros where none flowed)."""
        grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in self.parameters()]
        return torch.cat(grads).numpy().astype(np.float32, copy=False)


class ActorCritic(PolicyNetwork):
    """Policy and value for observations of `obs_shape` ((size,) flat, (C, H, W) uint8 image), as
    a3c.catalog plans them (`plan`: a plan already made; else one is made from the other arguments)."""

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        action: ActionSpec,
        model: dict[str, Any],
        is_image: bool = False,
        plan: ModelPlan | None = None,
    ):
        super().__init__()
        plan = plan or ModelPlan.of(obs_shape, action, model, is_image)
        self.obs_shape = plan.obs_shape
        self.action = plan.action
        self.is_image = plan.is_image
        self.hiddens = plan.hiddens  # the dense layers: fcnet_hiddens, or conv_fc_hiddens after a conv stack
        self.activation = plan.activation
        self.share_layers = plan.share_layers
        self.use_lstm = plan.lstm_size is not None
        self.conv_filters = plan.conv_filters
        self.autocast_dtype = AUTOCAST_DTYPES[plan.model.get("conv_precision", "float32")] if self.is_image else None
        self.trunk, width = self._encoder(plan, "trunk")
        self.value_trunk = None if self.share_layers else self._encoder(plan, "value_trunk")[0]
        self.lstm = nn.LSTMCell(width, plan.lstm_size) if plan.lstm_size is not None else None
        if self.lstm is not None:
            width = self.lstm.hidden_size
        self.policy_head = _init(nn.Linear(width, self.action.param_size), 0.01)
        self.value_head = _init(nn.Linear(width, 1), 1.0)
        self.log_std = None
        if plan.log_std_size:
            init = plan.model.get("log_std_init")
            self.log_std = LogStd(self.action.initial_log_std() if init is None else np.full(plan.log_std_size, init))
        if plan.kind == "mlp":
            _check_layout(self, plan)

    def _encoder(self, plan: ModelPlan, prefix: str) -> tuple[nn.Sequential, int]:
        if not self.is_image:
            return _mlp(plan.dense_layers(prefix, self.obs_shape[0]), self.obs_shape[0], self.activation)
        layers: list[nn.Module] = []
        channels, height, width = self.obs_shape
        for out, kernel, stride in self.conv_filters:
            layers += [_init(nn.Conv2d(channels, out, kernel, stride), np.sqrt(2)), ACTIVATIONS[self.activation]()]
            channels, height, width = out, (height - kernel) // stride + 1, (width - kernel) // stride + 1
        if height < 1 or width < 1:
            raise ValueError(f"conv_filters {self.conv_filters} shrink a {self.obs_shape} image to nothing")
        flat = channels * height * width
        dense, size = _mlp(plan.dense_layers(prefix, flat), flat, self.activation)
        return nn.Sequential(*layers, nn.Flatten(), *dense), size

    @staticmethod
    def _carries_gradient() -> bool:
        return torch.is_grad_enabled() and not torch.jit.is_tracing()

    def _inputs(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dim() != 4 or not self._carries_gradient():
            return super()._inputs(obs)
        if self.autocast_dtype is not None:  # frames of 0-255 are exact in bfloat16: one copy, half the bytes
            return obs.to(self.autocast_dtype, copy=True).div_(255.0)
        return super()._inputs(obs).contiguous(memory_format=GRADIENT_MEMORY_FORMAT)  # see GRADIENT_MEMORY_FORMAT

    def _encode(self, trunk: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        """The trunk's float32 features; in model["conv_precision"] where a gradient flows (acting and
        export stay float32, so the workers' log-probabilities are exact)."""
        if self.autocast_dtype is None or not self._carries_gradient():
            return trunk(x)
        with torch.autocast("cpu", dtype=self.autocast_dtype):
            features = trunk(x)
        return features.float()

    def forward(
        self, obs: torch.Tensor, state: State | None = None, resets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Distribution parameters [B, P] and values [B] (feed-forward); with a recurrent `state`,
        `forward_sequence` (one entry point, so torch.func.functional_call reaches both)."""
        if state is not None:
            return self.forward_sequence(obs, state, resets)
        x = self._inputs(obs)
        features = self._encode(self.trunk, x)
        value_features = features if self.value_trunk is None else self._encode(self.value_trunk, x)
        return self.policy_head(features), self.value_head(value_features).squeeze(-1)

    @property
    def recurrent(self) -> bool:
        return self.lstm is not None

    def initial_state(self, batch: int) -> State:
        """Zero LSTM state (h, c) for `batch` sequences: the state at the start of an episode."""
        size = self.lstm.hidden_size
        return torch.zeros(batch, size), torch.zeros(batch, size)

    def step(self, obs: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """One LSTM step for a batch [B, ...]: distribution parameters, values and the next (h, c)."""
        h, c = self.lstm(self._encode(self.trunk, self._inputs(obs)), state)
        return self.policy_head(h), self.value_head(h).squeeze(-1), (h, c)

    def forward_sequence(
        self, obs: torch.Tensor, state: State, resets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """obs [T, N, ...] from `state`; the state is zeroed before step t where resets[t] (an episode
        began), so backprop through time runs over rollouts that cross episode ends."""
        steps, batch = obs.shape[:2]
        frames = self._inputs(obs.reshape(steps * batch, *obs.shape[2:]))
        features = self._encode(self.trunk, frames).reshape(steps, batch, -1)
        h, c = state
        outputs = []
        for t in range(steps):
            keep = (~resets[t]).float().unsqueeze(-1)
            h, c = self.lstm(features[t], (h * keep, c * keep))
            outputs.append(h)
        out = torch.stack(outputs)
        return self.policy_head(out), self.value_head(out).squeeze(-1), (h, c)

    def describe(self) -> str:
        """The line the agent prints on construction, as the tutorial did (e.g. `Constructing fcnet [64, 64]
        tanh, separate value network`)."""
        separate = "" if self.share_layers else ", separate value network"
        if self.is_image:
            text = f"Constructing conv {self.conv_filters} + fcnet {self.hiddens} {self.activation}{separate}"
        else:
            text = f"Constructing fcnet {self.hiddens} {self.activation}{separate}"
        return text + (f" + lstm {self.lstm.hidden_size}" if self.lstm is not None else "")


def build_network(plan: ModelPlan) -> PolicyNetwork:
    """The torch network a plan names: the user's module for a custom_model, else ActorCritic.
    Every place that builds a torch network (learner, torch workers, SavedPolicy, export) calls this."""
    if plan.trunk == "custom":
        from a3c.custom_models import CustomActorCritic

        return CustomActorCritic(plan.obs_shape, plan.action, dict(plan.model), plan.is_image)
    return ActorCritic(plan.obs_shape, plan.action, dict(plan.model), plan.is_image, plan)


SharedModel = ActorCritic
"""The tutorial-era name of `ActorCritic`, kept so that 2018 code importing `a3c.SharedModel` runs."""


class ActionDistribution:
    """torch twin of a3c.core.distributions: log-prob and entropy summed over action dimensions."""

    def __init__(self, spec: ActionSpec, params: torch.Tensor, log_std: torch.Tensor | None = None):
        self.spec = spec
        if spec.kind == "categorical":
            self.parts = [Categorical(logits=params)]
        elif spec.kind == "multi_categorical":
            self.parts = [Categorical(logits=p) for p in torch.split(params, list(spec.sizes), dim=-1)]
        elif spec.kind == "bernoulli":
            self.dist = Bernoulli(logits=params)
        else:
            self.dist = Normal(params, log_std.exp().expand_as(params))

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        if self.spec.kind == "categorical":
            return self.parts[0].log_prob(actions)
        if self.spec.kind == "multi_categorical":
            return sum(part.log_prob(actions[..., i]) for i, part in enumerate(self.parts))
        return self.dist.log_prob(actions.to(self.dist.mean.dtype)).sum(-1)

    def entropy(self) -> torch.Tensor:
        if self.spec.kind in ("categorical", "multi_categorical"):
            return sum(part.entropy() for part in self.parts)
        return self.dist.entropy().sum(-1)


def _mlp(dense: list[Dense], in_size: int, activation: str) -> tuple[nn.Sequential, int]:
    """A Linear and its activation per layer of the plan; the output width."""
    layers: list[nn.Module] = []
    for layer in dense:
        layers += [_init(nn.Linear(layer.inputs, layer.outputs), np.sqrt(2)), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers), dense[-1].outputs if dense else in_size


def _check_layout(network: nn.Module, plan: ModelPlan) -> None:
    """The numpy path reads the flat vector by `plan.layout()`: a network that differs would be read wrong."""
    built = [(name, tuple(param.shape)) for name, param in network.named_parameters()]
    if built != plan.layout():
        raise RuntimeError(f"ActorCritic's parameters {built} differ from the catalog's layout {plan.layout()}")


def _init(layer: nn.Module, gain: float) -> nn.Module:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def build_model(
    obs: int | tuple[int, ...], action: int | ActionSpec, model_config: dict, is_image: bool = False
) -> ActorCritic:
    """ActorCritic for a flat observation size (or an image shape) and a Discrete n (or an ActionSpec)."""
    obs_shape = (obs,) if isinstance(obs, int) else tuple(obs)
    spec = ActionSpec("categorical", (action,)) if isinstance(action, int) else action
    return ActorCritic(obs_shape, spec, model_config, is_image)
