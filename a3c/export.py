"""`a3c export`: a saved policy as one self-contained graph, ONNX or TorchScript (docs/guides/export.md).

The graph goes from a raw observation (as the environment returns it; for Atari, after gymnasium's
frame wrappers) to the deterministic action in the form the environment accepts, and the value.
The observation encoding (flattening, scaling a bounded Box, one-hot, image layout) and the
observation filter's statistics are constants inside it; a recurrent policy's state goes in and
comes out. `SavedPolicy.compute_action(obs, state, deterministic=True)` is the reference:
`check_agreement` runs both on observations from the environment and reports how far apart they are.

Inputs, each with a batch dimension first: `obs` (a Dict or Tuple observation: one input per part,
`obs.<key>`), then `state_in.0`, ... for a recurrent policy; outputs: `action`, `value`, then
`state_out.0`, .... A Box observation is float32, an image uint8, Discrete, MultiDiscrete and
MultiBinary parts int64.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from a3c.catalog import plan_model
from a3c.errors import ExportError
from a3c.evaluation import SavedPolicy
from a3c.filters import MeanStdFilter
from a3c.models import PolicyNetwork, build_network
from a3c.spaces import (
    ActionSpec,
    BinaryEncoder,
    BoxEncoder,
    ConcatEncoder,
    ImageEncoder,
    ObsEncoder,
    OneHotEncoder,
)

FORMATS = ("onnx", "torchscript")
NAMES_FILE = "a3c_io.json"  # a TorchScript file's input and output names, in order
ONNX_OPSET = 17
INSTALL_HINT = "install the 'export' extra: pip install -e '.[export]' (or: make export)"


def observation_parts(encoder: ObsEncoder, name: str = "obs") -> Iterator[tuple[str, Any, ObsEncoder]]:
    """(input name, key path, leaf encoder) for each graph input, in the encoder's concatenation order."""
    if isinstance(encoder, ConcatEncoder):
        for key, part in encoder.parts:
            for sub_name, path, leaf in observation_parts(part, f"{name}.{key}"):
                yield sub_name, (key, *path), leaf
    else:
        yield name, (), encoder


def _leaf_array(encoder: ObsEncoder, value: Any) -> np.ndarray:
    if isinstance(encoder, ImageEncoder):
        return np.asarray(value, dtype=np.uint8)
    if isinstance(encoder, BoxEncoder):
        return np.asarray(value, dtype=np.float32)
    return np.asarray(value, dtype=np.int64)


def observation_feed(encoder: ObsEncoder, obs: Any) -> dict[str, np.ndarray]:
    """One raw observation as the graph's observation inputs, each with a batch dimension of 1."""
    feed = {}
    for name, path, leaf in observation_parts(encoder):
        value = obs
        for key in path:
            value = value[key]
        feed[name] = _leaf_array(leaf, value)[None]
    return feed


class _EncodeLeaf(nn.Module):
    """One part of `a3c.spaces`' encoding in torch: [B, *raw] -> [B, size] float32 (images: uint8 [B, C, H, W])."""

    def __init__(self, encoder: ObsEncoder):
        super().__init__()
        self.kind = type(encoder).__name__
        self.encoder = encoder
        if isinstance(encoder, BoxEncoder):
            self.scales = encoder.scales
            if encoder.scales:
                self.register_buffer("center", torch.from_numpy(encoder.center.copy()))
                self.register_buffer("half_range", torch.from_numpy(encoder.half_range.copy()))
        elif isinstance(encoder, OneHotEncoder):
            self.register_buffer("shift", torch.from_numpy(encoder.offsets - encoder.start))
            self.register_buffer("values", torch.arange(int(encoder.nvec.sum())))
        elif not isinstance(encoder, (BinaryEncoder, ImageEncoder)):
            raise ExportError(f"observations encoded by {type(encoder).__name__} cannot be exported")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encoder = self.encoder
        if isinstance(encoder, ImageEncoder):
            if encoder.layout == "HW":
                return x.unsqueeze(1)
            if encoder.layout == "HWC":
                return x.permute(0, 3, 1, 2)
            return x
        if isinstance(encoder, OneHotEncoder):
            index = x.reshape(x.shape[0], -1) + self.shift  # [B, k]: the position of each entry's one
            return (index.unsqueeze(-1) == self.values).float().sum(1)
        x = torch.flatten(x.float(), 1)
        if isinstance(encoder, BoxEncoder) and self.scales:
            return (x - self.center) / self.half_range
        return x


class _DeterministicAction(nn.Module):
    """The distribution's mode in the environment's form (`ActionSpec.to_env` of the mode)."""

    def __init__(self, spec: ActionSpec):
        super().__init__()
        self.spec = spec
        self.register_buffer("start", torch.tensor(spec.start or (0,) * len(spec.sizes), dtype=torch.int64))
        if spec.kind == "gaussian":
            self.register_buffer("low", torch.tensor(spec.low, dtype=torch.float32))
            self.register_buffer("high", torch.tensor(spec.high, dtype=torch.float32))

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        spec = self.spec
        if spec.kind == "categorical":
            return torch.argmax(params, dim=-1) + self.start[0]
        if spec.kind == "multi_categorical":
            parts = torch.split(params, list(spec.sizes), dim=-1)
            return torch.stack([torch.argmax(p, dim=-1) for p in parts], dim=-1) + self.start
        if spec.kind == "bernoulli":
            return (params > 0).long().reshape((-1, *spec.shape))
        return torch.minimum(torch.maximum(params, self.low), self.high).reshape((-1, *spec.shape))


class PolicyGraph(nn.Module):
    """Raw observation parts (and state) -> action, value (and next state), everything baked in."""

    def __init__(self, saved: SavedPolicy):
        super().__init__()
        spaces = saved.spaces
        self.parts = nn.ModuleList(_EncodeLeaf(leaf) for _, _, leaf in observation_parts(spaces.encoder))
        self.input_names = [name for name, _, _ in observation_parts(spaces.encoder)]
        self.filtered = isinstance(saved.obs_filter, MeanStdFilter)
        if self.filtered:
            stat = saved.obs_filter.stat
            self.register_buffer("mean", torch.from_numpy(stat.mean.astype(np.float64)))
            self.register_buffer("inv_std", torch.from_numpy(1.0 / (stat.std.astype(np.float64) + 1e-8)))
            self.clip = float(saved.obs_filter.clip)
        self.net: PolicyNetwork = build_network(plan_model(spaces, saved.model_config))
        self.net.set_flat_weights(saved.weights)
        self.net.eval()
        self.action = _DeterministicAction(spaces.action)
        self.recurrent = self.net.recurrent
        self.state_shapes = [tuple(s.shape[1:]) for s in self.net.initial_state(1)] if self.recurrent else []

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        obs_inputs, state = inputs[: len(self.parts)], tuple(inputs[len(self.parts) :])
        encoded = [part(x) for part, x in zip(self.parts, obs_inputs, strict=True)]
        x = encoded[0] if len(encoded) == 1 else torch.cat(encoded, dim=-1)
        if self.filtered:  # in float64, as MeanStdFilter computes it
            x = ((x.double() - self.mean) * self.inv_std).clamp(-self.clip, self.clip).float()
        if self.recurrent:
            params, value, state = self.net.step(x, state)
            return (self.action(params), value, *state)
        params, value = self.net(x)
        return self.action(params), value

    def names(self) -> tuple[list[str], list[str]]:
        states = range(len(self.state_shapes))
        inputs = self.input_names + [f"state_in.{i}" for i in states]
        return inputs, ["action", "value"] + [f"state_out.{i}" for i in states]

    def example_inputs(self, saved: SavedPolicy) -> tuple[torch.Tensor, ...]:
        env = saved.make_env()
        try:
            obs, _ = env.reset(seed=0)
        finally:
            env.close()
        feed = observation_feed(saved.spaces.encoder, obs)
        states = [torch.zeros(1, *shape) for shape in self.state_shapes]
        return (*(torch.from_numpy(feed[name]) for name in self.input_names), *states)


def export_policy(saved: SavedPolicy, out: str | Path, fmt: str) -> Path:
    """Write `saved` as a self-contained graph in `fmt` ("onnx" or "torchscript") to `out`."""
    if fmt not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    out = Path(out)
    graph = PolicyGraph(saved)
    example = graph.example_inputs(saved)
    input_names, output_names = graph.names()
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracers' advice on Python values becoming constants
            if fmt == "onnx":
                torch.onnx.export(
                    graph,
                    example,
                    str(tmp),
                    dynamo=False,
                    input_names=input_names,
                    output_names=output_names,
                    dynamic_axes={name: {0: "batch"} for name in input_names + output_names},
                    opset_version=ONNX_OPSET,
                )
            else:
                names = json.dumps({"inputs": input_names, "outputs": output_names})
                torch.jit.save(torch.jit.trace(graph, example, check_trace=False), str(tmp), {NAMES_FILE: names})
    except ImportError as error:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"exporting as {fmt} needs {error.name or error}: {INSTALL_HINT}") from None
    except Exception as error:  # noqa: BLE001 - e.g. a custom module with data-dependent control flow
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot export this policy as {fmt}: {type(error).__name__}: {error}") from None
    tmp.replace(out)
    return out


def load_exported(path: str | Path, fmt: str) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Run an exported file: a function from named inputs to named outputs (onnxruntime, or torch.jit)."""
    path = str(path)
    if fmt == "onnx":
        try:
            import onnxruntime
        except ImportError:
            raise ExportError(f"running an ONNX file needs onnxruntime: {INSTALL_HINT}") from None
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in session.get_outputs()]
        return lambda feed: dict(zip(outputs, session.run(outputs, feed), strict=True))
    extra = {NAMES_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated upstream; 2.13 runs it
        module = torch.jit.load(path, _extra_files=extra)
    if not extra[NAMES_FILE]:
        raise ExportError(f"{path} is not a TorchScript file written by a3c export (no {NAMES_FILE} in it)")
    names = json.loads(extra[NAMES_FILE])
    input_names, output_names = names["inputs"], names["outputs"]

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.no_grad():
            out = module(*(torch.from_numpy(np.ascontiguousarray(feed[name])) for name in input_names))
        return {name: value.numpy() for name, value in zip(output_names, out, strict=True)}

    return run


@dataclass
class Agreement:
    """How an exported graph's outputs compare with SavedPolicy's on the same observations."""

    observations: int
    actions_equal: int  # exactly equal (discrete), or within 1e-5 (Gaussian)
    max_action_diff: float
    max_value_diff: float
    max_state_diff: float

    @property
    def agrees(self) -> bool:
        return self.actions_equal == self.observations

    def describe(self) -> str:
        text = (
            f"{self.actions_equal}/{self.observations} deterministic actions equal to SavedPolicy's "
            f"(max |action diff| {self.max_action_diff:.2g}), max |value diff| {self.max_value_diff:.2g}"
        )
        return text + (f", max |state diff| {self.max_state_diff:.2g}" if self.max_state_diff >= 0 else "")


def check_agreement(
    saved: SavedPolicy, run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]], steps: int = 500, seed: int = 0
) -> Agreement:
    """Step the environment for `steps` steps (the deterministic action, a random one 30% of the time, so
    that the states visited vary) and compare the graph's action, value and state with SavedPolicy's."""
    rng = np.random.default_rng(seed)
    env = saved.make_env()
    env.action_space.seed(seed)
    gaussian = saved.spaces.action.kind == "gaussian"
    equal, action_diff, value_diff, state_diff = 0, 0.0, 0.0, -1.0
    obs, _ = env.reset(seed=seed)
    state = saved.initial_state()
    graph_state = None if state is None else [s.copy() for s in state]
    episode = 0
    for _ in range(steps):
        expected = saved.compute_action(obs, state, deterministic=True)
        if saved.recurrent:
            expected, next_state = expected
        encoded = saved.obs_filter(saved.spaces.encoder(obs)[None], update=False)
        expected_value = saved.policy.value(encoded, state)[0]
        feed = observation_feed(saved.spaces.encoder, obs)
        feed.update({f"state_in.{i}": s for i, s in enumerate(graph_state or [])})
        out = run(feed)
        got = out["action"][0]
        diff = float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64)), initial=0.0))
        action_diff = max(action_diff, diff)
        equal += int(diff <= 1e-5 * (1 + float(np.max(np.abs(expected), initial=0.0))) if gaussian else diff == 0)
        value_diff = max(value_diff, abs(float(out["value"][0]) - float(expected_value)))
        if saved.recurrent:
            graph_state = [out[f"state_out.{i}"] for i in range(len(next_state))]
            state_diff = max(
                state_diff, max(float(np.max(np.abs(a - b))) for a, b in zip(graph_state, next_state, strict=True))
            )
            state = next_state
        action = expected if rng.random() > 0.3 else env.action_space.sample()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
            state = saved.initial_state()
            graph_state = None if state is None else [s.copy() for s in state]
    env.close()
    return Agreement(steps, equal, action_diff, value_diff, state_diff)
