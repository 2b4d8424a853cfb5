"""The model catalog: every decision about the network, made once from the spaces and `config["model"]`.

Which network (an MLP, a conv net, either with an LSTM on top, or a user's module), which action
distribution, which learning rate `lr` None stands for, whether a worker needs torch, and the
named parameter layout of the built-in MLP. The torch `ActorCritic` builds its dense layers from
`ModelPlan.dense_layers` and checks its `named_parameters()` against `ModelPlan.layout`; the numpy
fast path (`a3c.core.numpy_model`) reads its weights from the flat vector by the same layout. One
description, so the two networks cannot drift apart by convention (as in old RLlib's `ModelCatalog`
and SB3's `make_proba_distribution`, one place picks the model and the distribution).

This module imports neither torch nor gymnasium: `a3c.config` reads its learning rates, and an MLP
worker plans its network without torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from a3c.core.distributions import Distribution
    from a3c.spaces import ActionSpec, Spaces

__all__ = [
    "available_cores",
    "CONV_LR",
    "MLP_LR",
    "Dense",
    "ModelPlan",
    "default_conv_filters",
    "default_learner_threads",
    "default_lr",
    "plan_model",
    "value_shares_trunk",
]

# lr None picks a rate by network. At the MLP rates Adam killed the conv net on ALE/Pong-v5: the
# first layer's filters that are zero for every frame went from 25% at initialization to 44% within
# 64k env steps and 100% by 1.28M, and the policy never moved off uniform; at 2.5e-4 fewer die (38%
# at 320k, 56% at 1.28M) and A3C reaches -14.3 in 30 minutes, SB3 -20.0 (BENCHMARKS.md, "Pong: a conv net that died").
# A3C's MLP rate was 7e-4 until 2026-11-27. At 1.4e-3, side by side: CartPole-v1 in half the time,
# Pendulum-v1 and HalfCheetah-v5 faster in median (8 of 12 HalfCheetah runs reached 1,500, against 6 of
# 12), LunarLander-v3 and MountainCar-v0 higher, the tutorial the same; the Gaussian rows fall more after
# solving (BENCHMARKS.md, "A3C's learning rate: 1.4e-3").
MLP_LR = {"a3c": 1.4e-3, "a2c": 1e-3, "ppo": 1e-3}
CONV_LR = 2.5e-4

# The A3C paper's Atari network (16 8x8/4, 32 4x4/2) for frames of 42 pixels and more; 3x3/1 below.
LARGE_IMAGE_FILTERS = [[16, 8, 4], [32, 4, 2]]
SMALL_IMAGE_FILTERS = [[16, 3, 1], [32, 3, 1]]


def default_lr(algorithm: str, is_image: bool) -> float:
    """The rate `lr` None stands for: the agent's MLP rate (A3C's for an algorithm of a user's own),
    or CONV_LR for a conv net (see above)."""
    return CONV_LR if is_image else MLP_LR.get(algorithm, MLP_LR["a3c"])


def available_cores() -> int:
    """The CPUs this process may run on: its affinity where the OS keeps one (Linux), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_learner_threads(is_image: bool, num_workers: int, cores: int | None = None) -> int:
    """Torch threads for a synchronous learner's SGD (PPO's epochs), run while its workers wait: the
    cores they sampled on (this machine's, `cores` or all available, at most 1 + num_workers) for a
    conv net, one for an MLP. Measured side by side on 2 cores (`python -m benchmarks speed --sections
    ppo`, BENCHMARKS.md): PPO on ALE/Pong-v5 with the zoo's settings 518-519 env steps/s on one thread,
    680-696 on two; on CartPole-v1 4,063-4,146 against 4,174-4,279, for 1.8x the driver's CPU (an
    MLP's small matmuls keep a second thread spinning for little)."""
    if not is_image:
        return 1
    return max(1, min(available_cores() if cores is None else cores, 1 + num_workers))


def default_conv_filters(image_shape: tuple[int, ...]) -> list[list[int]]:
    """The conv stack `conv_filters` None stands for, by frame size (C, H, W)."""
    return LARGE_IMAGE_FILTERS if min(image_shape[1:]) >= 42 else SMALL_IMAGE_FILTERS


def value_shares_trunk(model: Mapping[str, Any], is_image: bool = False) -> bool:
    """Whether the value head sits on the policy's trunk. None (the default) measured best per kind of
    network: an MLP learns faster with a value net of its own (BENCHMARKS.md, defaults), while a conv
    net or an LSTM would double the cost of the most expensive part."""
    share = model.get("vf_share_layers")
    return bool(is_image or model.get("use_lstm")) if share is None else bool(share)


@dataclass(frozen=True)
class Dense:
    """One linear layer of the built-in MLP: the torch module path of its parameters (`trunk.2`:
    `trunk.2.weight`, `trunk.2.bias`), its input and output widths."""

    name: str
    inputs: int
    outputs: int


@dataclass(frozen=True)
class ModelPlan:
    """What to build for one pair of spaces and a `model` config; see the module docstring.

    `trunk` is "mlp", "conv" (image observations) or "custom" (`model["custom_model"]`);
    `lstm_size` is the LSTM's width on top of the trunk, or None (feed-forward).
    """

    obs_shape: tuple[int, ...]
    is_image: bool
    action: ActionSpec
    model: Mapping[str, Any]
    algorithm: str = "a3c"

    @classmethod
    def of(
        cls,
        obs_shape: tuple[int, ...],
        action: ActionSpec,
        model: Mapping[str, Any],
        is_image: bool = False,
        algorithm: str = "a3c",
    ) -> ModelPlan:
        """The plan for an encoded observation shape ((size,) flat, (C, H, W) image) and an ActionSpec."""
        return cls(tuple(obs_shape), bool(is_image), action, dict(model), algorithm)

    # -- the decisions ----------------------------------------------------------------------------

    @property
    def trunk(self) -> str:
        """What reads the observations: "mlp", "conv" (images) or "custom" (the user's whole network)."""
        if self.model.get("custom_model"):
            return "custom"
        return "conv" if self.is_image else "mlp"

    @property
    def lstm_size(self) -> int | None:
        """The LSTM's width (`lstm_cell_size`) when `use_lstm`, else None."""
        return int(self.model.get("lstm_cell_size", 256)) if self.model.get("use_lstm") else None

    @property
    def kind(self) -> str:
        """The network in one word: "custom", "lstm" (on an MLP or a conv trunk), "conv" or "mlp"."""
        if self.trunk == "custom":
            return "custom"
        return "lstm" if self.lstm_size is not None else self.trunk

    @property
    def needs_torch(self) -> bool:
        """Conv nets, LSTMs and custom models run in torch; the built-in MLP (any action distribution)
        has the numpy fast path. Decided here for workers, the driver's actions and SavedPolicy."""
        return self.kind != "mlp"

    @property
    def lr(self) -> float:
        """The learning rate `lr` None stands for with this network and agent."""
        return default_lr(self.algorithm, self.is_image)

    @property
    def distribution_kind(self) -> str:
        """The action distribution: "categorical", "multi_categorical", "bernoulli" or "gaussian"
        (a3c.spaces.ActionSpec reads it from the action space)."""
        return self.action.kind

    def distribution(self) -> Distribution:
        """The numpy action distribution (a3c.core.distributions) over the policy head's outputs."""
        from a3c.core.distributions import make_distribution

        return make_distribution(self.action)

    @property
    def share_layers(self) -> bool:
        """Whether the value head sits on the policy's trunk (value_shares_trunk)."""
        return value_shares_trunk(self.model, self.is_image)

    @property
    def hiddens(self) -> list[int]:
        """The dense layers of the trunk: `fcnet_hiddens` for an MLP, `conv_fc_hiddens` after a conv stack."""
        return list(self.model["fcnet_hiddens"] if not self.is_image else self.model.get("conv_fc_hiddens", [256]))

    @property
    def activation(self) -> str:
        """The trunk's activation: `fcnet_activation` for an MLP; `conv_activation` for a conv stack and
        the dense layers after it."""
        return self.model["fcnet_activation"] if not self.is_image else self.model["conv_activation"]

    @property
    def conv_filters(self) -> list[list[int]] | None:
        """[channels, kernel, stride] per conv layer for images (`conv_filters`, or the default by
        frame size); None for flat observations."""
        if not self.is_image:
            return None
        return [list(f) for f in (self.model.get("conv_filters") or default_conv_filters(self.obs_shape))]

    # -- the MLP's parameter layout -------------------------------------------------------------

    def dense_layers(self, prefix: str, inputs: int) -> list[Dense]:
        """The trunk's dense layers from `inputs` features, named as torch names them: a Linear then
        its activation per hidden size, so layer k is module `{prefix}.{2k}`."""
        layers, width = [], inputs
        for k, hidden in enumerate(self.hiddens):
            layers.append(Dense(f"{prefix}.{2 * k}", width, hidden))
            width = hidden
        return layers

    def mlp_layers(self) -> list[Dense]:
        """Every dense layer of the built-in MLP in `parameters()` order: the policy trunk, the value
        trunk (when the value head has one of its own), the policy head, the value head."""
        if self.kind != "mlp":
            raise ValueError(f"a {self.kind} network has no MLP layout")
        trunk = self.dense_layers("trunk", self.obs_shape[0])
        value_trunk = [] if self.share_layers else self.dense_layers("value_trunk", self.obs_shape[0])
        width = trunk[-1].outputs if trunk else self.obs_shape[0]
        heads = [Dense("policy_head", width, self.action.param_size), Dense("value_head", width, 1)]
        return trunk + value_trunk + heads

    @property
    def log_std_size(self) -> int:
        """Length of the Gaussian's state-independent log-std (0: no such parameter)."""
        return self.action.sizes[0] if self.action.kind == "gaussian" else 0

    def layout(self) -> list[tuple[str, tuple[int, ...]]]:
        """(name, shape) of every parameter of the built-in MLP, in the order of the flat weight vector
        (torch's `named_parameters()`): weight [out, in] then bias per layer, then the log-std."""
        shapes: list[tuple[str, tuple[int, ...]]] = []
        for layer in self.mlp_layers():
            shapes.append((f"{layer.name}.weight", (layer.outputs, layer.inputs)))
            shapes.append((f"{layer.name}.bias", (layer.outputs,)))
        if self.log_std_size:
            shapes.append(("log_std.log_std", (self.log_std_size,)))
        return shapes


def plan_model(spaces: Spaces, model: Mapping[str, Any], algorithm: str = "a3c") -> ModelPlan:
    """The plan for an environment's checked spaces (a3c.envs.check_spaces) and a `model` config."""
    return ModelPlan.of(spaces.encoder.shape, spaces.action, model, spaces.encoder.is_image, algorithm)
