"""A network of your own: naming it (a registry, or a "module:Class" import path), building it, and
checking it keeps the contract before any actor starts (docs/guides/custom-model.md).

The contract, small on purpose:

- constructed as `cls(obs_shape, num_outputs, model_config)`: the encoded observation's shape (flat
  `(size,)`, or `(C, H, W)` for images), the size of the action distribution's parameters (logits,
  or the Gaussian's mean: its log-std is added and learned by a3c), and the resolved `model` dict
  (your own settings under `custom_model_config`);
- `forward(obs)` takes float32 `[B, *obs_shape]` (filtered observations; images scaled to [0, 1])
  and returns `(params [B, num_outputs], value [B])`;
- recurrent: `initial_state(batch)` returns a tuple of zero float32 tensors `[batch, ...]`, and
  `forward(obs, state)` returns `(params, value, next_state)`. a3c zeroes the state before every
  step where an episode starts, exactly as for the built-in LSTM.

The module is wrapped (`CustomActorCritic`) into the interface the learner and workers already use,
so it runs everywhere ActorCritic does; workers rebuild it by name, so an import path works on every
node where the module is importable, and a registered class is sent to Ray workers with their config.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch
from torch import nn

from a3c.config import ConfigError
from a3c.models import LogStd, PolicyNetwork
from a3c.spaces import ActionSpec

KEY = "config['model']['custom_model']"
_REGISTRY: dict[str, type[nn.Module]] = {}


def register_model(name: str, cls: type[nn.Module]) -> None:
    """Make `cls` available as `model["custom_model"] = name` (in this process, and in the Ray workers
    of agents built here). A name has no ':' (that is an import path)."""
    if not isinstance(name, str) or not name.strip() or ":" in name:
        raise ConfigError(f"register_model: the name must be a non-empty string without ':', got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ConfigError(f"register_model({name!r}, ...): expected a torch.nn.Module subclass, got {cls!r}")
    _REGISTRY[name] = cls


def registered_models(model: dict[str, Any]) -> dict[str, type[nn.Module]]:
    """The registry entry `model` names, if any: what a worker in another process must be sent."""
    name = model.get("custom_model")
    return {name: _REGISTRY[name]} if name in _REGISTRY else {}


def registry_snapshot() -> dict[str, type[nn.Module]]:
    """Every registered class: what a Ray Tune trainable takes to its trials' processes."""
    return dict(_REGISTRY)


def restore_registry(models: dict[str, type[nn.Module]] | None) -> None:
    """In a worker process: register the classes its driver sent."""
    for name, cls in (models or {}).items():
        _REGISTRY[name] = cls


def load_model_class(name: str) -> type[nn.Module]:
    """The class `name` stands for: a registered name, or "module:Class" (imported now); ConfigError if neither."""
    module_name, sep, attribute = name.partition(":")
    if not sep:
        if name in _REGISTRY:
            return _REGISTRY[name]
        known = f" (registered: {', '.join(sorted(_REGISTRY))})" if _REGISTRY else ""
        raise ConfigError(
            f"{KEY} '{name}' is not a registered model{known}: call a3c.register_model('{name}', cls) first, "
            "or name it by import path 'module:Class'"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - a user's module may fail to import in any way
        raise ConfigError(f"{KEY}: cannot import module '{module_name}' for '{name}': {error}") from None
    cls = module
    for part in attribute.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            raise ConfigError(f"{KEY}: module '{module_name}' has no '{attribute}' (from '{name}')")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ConfigError(f"{KEY} '{name}' is not a torch.nn.Module subclass: {cls!r}")
    return cls


def _is_recurrent(module: nn.Module) -> bool:
    return callable(getattr(module, "initial_state", None))


class CustomActorCritic(PolicyNetwork):
    """A user's module behind the interface of ActorCritic: the Gaussian's log-std, image scaling, the
    state reset at episode starts and the loop over a sequence are a3c's, the rest is the module's.
    Its parameters are named `net.*` (then `log_std.log_std`, last, as in ActorCritic)."""

    def __init__(self, obs_shape: tuple[int, ...], action: ActionSpec, model: dict[str, Any], is_image: bool = False):
        super().__init__()
        self.obs_shape = tuple(obs_shape)
        self.action = action
        self.is_image = is_image
        self.name = model["custom_model"]
        cls = load_model_class(self.name)
        try:
            net = cls(self.obs_shape, action.param_size, dict(model))
        except Exception as error:  # noqa: BLE001 - report the user's error in one line, with the call made
            raise ConfigError(
                f"{KEY} '{self.name}': {cls.__name__}({self.obs_shape}, {action.param_size}, model_config) "
                f"raised {type(error).__name__}: {error}"
            ) from None
        if not isinstance(net, nn.Module):
            raise ConfigError(f"{KEY} '{self.name}' built a {type(net).__name__}, not a torch.nn.Module")
        self.net = net
        self.log_std = None
        if action.kind == "gaussian":
            init = model.get("log_std_init")
            self.log_std = LogStd(action.initial_log_std() if init is None else np.full(action.sizes[0], init))
        check_contract(self)

    @property
    def recurrent(self) -> bool:
        return _is_recurrent(self.net)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        return tuple(self.net.initial_state(batch))

    def forward(
        self, obs: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None, resets: torch.Tensor | None = None
    ) -> tuple[Any, ...]:
        """Feed-forward: (params [B, P], values [B]); with a recurrent `state`, `forward_sequence`."""
        if state is not None:
            return self.forward_sequence(obs, state, resets)
        return self.net(self._inputs(obs))

    def step(self, obs: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        params, values, state = self.net(self._inputs(obs), tuple(state))
        return params, values, tuple(state)

    def forward_sequence(
        self, obs: torch.Tensor, state: tuple[torch.Tensor, ...], resets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """obs [T, N, ...] from `state`, zeroed before step t where resets[t] (ActorCritic's rule)."""
        params, values = [], []
        state = tuple(state)
        for t in range(obs.shape[0]):
            keep = (~resets[t]).float()
            state = tuple(s * keep.reshape(-1, *([1] * (s.dim() - 1))) for s in state)
            step_params, step_values, state = self.step(obs[t], state)
            params.append(step_params)
            values.append(step_values)
        return torch.stack(params), torch.stack(values), state

    def describe(self) -> str:
        return f"Constructing custom model {self.name} ({type(self.net).__name__})"


def check_contract(network: CustomActorCritic, batch: int = 2) -> None:
    """Run the module once on a batch of zeros and check what it returns; ConfigError naming what is wrong."""
    where = f"{KEY} '{network.name}'"
    net, size = network.net, network.action.param_size
    if not any(True for _ in net.parameters()):
        raise ConfigError(f"{where} has no parameters: nothing to learn")
    dtype = torch.uint8 if network.is_image else torch.float32
    obs = torch.zeros(batch, *network.obs_shape, dtype=dtype)
    expected = "(params, value, next_state)" if network.recurrent else "(params, value)"
    try:
        if network.recurrent:
            state = network.initial_state(batch)
            _check_state(where, "initial_state(2)", state, None, batch)
            out = net(network._inputs(obs), state)
        else:
            out = net(network._inputs(obs))
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - the user's forward may fail in any way
        raise ConfigError(
            f"{where}: forward on a batch of {batch} observations of shape {network.obs_shape} raised "
            f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(out, (tuple, list)) or len(out) != len(expected.split(",")):
        got = f"a {type(out).__name__} of {len(out)}" if isinstance(out, (tuple, list)) else type(out).__name__
        raise ConfigError(f"{where}: forward must return {expected}, got {got}")
    params, value = out[0], out[1]
    for name, tensor, shape in (("params", params, (batch, size)), ("value", value, (batch,))):
        if not isinstance(tensor, torch.Tensor):
            raise ConfigError(f"{where}: forward's {name} must be a tensor, got {type(tensor).__name__}")
        if tuple(tensor.shape) != shape:
            hint = " (squeeze(-1) the value head's output)" if name == "value" and tensor.shape == (batch, 1) else ""
            raise ConfigError(
                f"{where}: forward's {name} must have shape {list(shape)} for a batch of {batch}, "
                f"got {list(tensor.shape)}{hint}"
            )
        if tensor.dtype != torch.float32:
            raise ConfigError(f"{where}: forward's {name} must be float32, got {tensor.dtype}")
        if not tensor.requires_grad:
            raise ConfigError(f"{where}: forward's {name} does not depend on the module's parameters (detached?)")
    if network.recurrent:
        _check_state(where, "forward's next_state", out[2], state, batch)


def _check_state(where: str, what: str, state: Any, like: tuple | None, batch: int) -> None:
    if not isinstance(state, (tuple, list)) or not state or not all(isinstance(s, torch.Tensor) for s in state):
        raise ConfigError(f"{where}: {what} must be a non-empty tuple of tensors, got {type(state).__name__}")
    for s in state:
        if s.dtype != torch.float32 or s.dim() < 1 or s.shape[0] != batch:
            raise ConfigError(
                f"{where}: {what} must hold float32 tensors [batch, ...], got {s.dtype} {list(s.shape)} "
                f"for a batch of {batch}"
            )
    if like is None and any(bool(s.any()) for s in state):
        raise ConfigError(f"{where}: {what} must be zeros (a3c zeroes the state at every episode start)")
    if like is not None and [tuple(s.shape) for s in state] != [tuple(s.shape) for s in like]:
        raise ConfigError(
            f"{where}: {what} must have the shapes of the state given, {[list(s.shape) for s in like]}, "
            f"got {[list(s.shape) for s in state]}"
        )
