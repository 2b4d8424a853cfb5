"""Typed, validated configuration that still behaves like the tutorial's plain dict.

`DEFAULT_CONFIG.copy()` and `config["num_workers"] = 16` work as in the 2018 tutorial; every key
is checked against a schema before any actor starts, so a typo fails in one clear line instead of
silently training with a default.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# lr None picks a rate by network: a3c.catalog decides it (with the measurements behind its rates);
# imported for the lr option's help text.
from a3c.catalog import CONV_LR, MLP_LR


class ConfigError(ValueError):
    """A config key is unknown, or its value has the wrong type or is out of range."""


@dataclass(frozen=True)
class Option:
    """One config key: its default, the types it accepts and the range it must lie in."""

    default: Any
    types: tuple[type, ...]
    check: Callable[[Any], bool] | None = None
    allowed: str = ""
    help: str = ""
    nullable: bool = False


class AgentConfig(dict):
    """A plain dict (so `.copy()` and item assignment work) that knows its own schema."""

    def __init__(self, values: Mapping[str, Any], schema: Mapping[str, Option]):
        super().__init__(copy.deepcopy(dict(values)))
        self.schema = dict(schema)

    def copy(self) -> AgentConfig:  # type: ignore[override]
        """A deep copy that keeps the schema: the tutorial's `DEFAULT_CONFIG.copy()` never shares nested dicts."""
        return AgentConfig(self, self.schema)


def _positive(value: Any) -> bool:
    return value > 0 and math.isfinite(value)


def _non_negative(value: Any) -> bool:
    return value >= 0 and math.isfinite(value)


def _unit_interval(value: Any) -> bool:
    return 0 <= value <= 1


PLACEMENT_STRATEGIES = ("auto", "SPREAD", "PACK")
CONV_PRECISIONS = ("float32", "bfloat16")


def lr_option(algorithm: str, what: str) -> Option:
    return Option(
        None,
        (float, int),
        _positive,
        "a number > 0, or None",
        f"{what}; None: {MLP_LR[algorithm]:g}, or {CONV_LR:g} with a conv net (image observations)",
        True,
    )


MODEL_SCHEMA: dict[str, Option] = {
    "fcnet_hiddens": Option(
        [64, 64],
        (list, tuple),
        lambda v: len(v) >= 1 and all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in v),
        "a non-empty list of positive ints",
        "hidden layer sizes of the shared trunk",
    ),
    "fcnet_activation": Option("tanh", (str,), lambda v: v in ("tanh", "relu"), "'tanh' or 'relu'", "trunk activation"),
    "vf_share_layers": Option(
        None,
        (bool,),
        None,
        "True, False, or None",
        "value head on the policy's trunk (False: a trunk of its own; None: own trunk for an MLP, shared "
        "for conv nets and LSTMs)",
        True,
    ),
    "conv_filters": Option(
        None,
        (list, tuple),
        lambda v: len(v) >= 1 and all(_is_filter(f) for f in v),
        "a list of [channels, kernel, stride] triples of positive ints, or None",
        "conv stack for image observations (None: the A3C paper's for 42+ pixels, 3x3 stride 1 below)",
        True,
    ),
    "conv_activation": Option(
        "elu",
        (str,),
        lambda v: v in ("relu", "elu"),
        "'relu' or 'elu'",
        "activation of the conv stack and the dense layers after it (image observations); 'elu' cannot die "
        "as a relu unit can, and is what the A3C Atari anchors use (RLlib's key)",
    ),
    "conv_fc_hiddens": Option(
        [256],
        (list, tuple),
        lambda v: all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in v),
        "a list of positive ints",
        "dense relu layers after the conv stack (image observations)",
    ),
    "conv_precision": Option(
        "float32",
        (str,),
        lambda v: v in CONV_PRECISIONS,
        "'float32' or 'bfloat16'",
        "'bfloat16': the conv stack and its dense layers run under torch.autocast in bfloat16 where a gradient "
        "flows (a loss, PPO's epochs; weights, heads, optimizer and acting stay float32): on CPUs with bfloat16 "
        "units (AVX-512 BF16, AMX) PPO's Pong learner ran 1.5-1.7x faster (image observations)",
    ),
    "use_lstm": Option(False, (bool,), None, "True or False", "an LSTM on top of the encoder (recurrent policy)"),
    "lstm_cell_size": Option(256, (int,), lambda v: v > 0, "an int >= 1", "LSTM hidden size"),
    "log_std_init": Option(
        None,
        (float, int),
        math.isfinite,
        "a finite number, or None",
        "initial log-std of the Gaussian policy (Box actions); None: a std of half the Box's half-range "
        "per dimension (0.5 on [-1, 1], 1 on [-2, 2]; 1 where unbounded)",
        True,
    ),
    "custom_model": Option(
        None,
        (str,),
        lambda v: bool(v.strip()),
        "a name given to a3c.register_model, a 'module:Class' import path, or None",
        "a torch module of your own instead of the built-in network (docs/guides/custom-model.md); the "
        "fcnet/conv/lstm keys are then only read by it, if it wants them",
        True,
    ),
    "custom_model_config": Option(
        {}, (dict,), None, "a dict", "settings of your own for the custom model (it gets the whole model dict)"
    ),
}


def _is_filter(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value)
    )


TOTAL_ENVS = 16  # num_envs_per_worker None: this many environments across all workers

COMMON_SCHEMA: dict[str, Option] = {
    "num_workers": Option(
        2, (int,), _non_negative, "an int >= 0", "Ray actors sampling in parallel; 0 samples in the driver"
    ),
    "num_envs_per_worker": Option(
        None,
        (int,),
        _positive,
        "an int >= 1, or None",
        f"environments stepped together by each worker; None: {TOTAL_ENVS} // num_workers each, at least 1 "
        f"(up to {TOTAL_ENVS} in all; {TOTAL_ENVS} in the driver with num_workers 0)",
        True,
    ),
    "vectorize_envs": Option(
        True,
        (bool,),
        None,
        "True or False",
        "with several envs per worker, step gymnasium's numpy-vectorized version when the env ships one (CartPole)",
    ),
    "batch_size": Option(16, (int,), _positive, "an int >= 1", "simulator steps per partial rollout (per environment)"),
    "gamma": Option(0.99, (float, int), lambda v: 0 < v <= 1, "a number in (0, 1]", "discount factor"),
    "lambda": Option(0.95, (float, int), _unit_interval, "a number in [0, 1]", "GAE lambda (1.0: n-step returns)"),
    "lr": lr_option("a3c", "Adam learning rate (where a schedule starts)"),
    "lr_final": Option(5e-5, (float, int), _positive, "a number > 0", "learning rate reached after lr_decay_steps"),
    "lr_decay_steps": Option(
        0,
        (int,),
        _non_negative,
        "an int >= 0 (0: constant lr)",
        "env steps over which lr goes linearly to lr_final, as the A3C paper anneals it (0: constant lr)",
    ),
    "grad_clip": Option(
        40.0, (float, int), _positive, "a number > 0, or None", "clip gradients to this global norm", True
    ),
    "reward_scale": Option(
        1.0,
        (float, int),
        _positive,
        "a number > 0",
        "rewards are multiplied by this in the losses (reported episode rewards stay unscaled)",
    ),
    "vf_loss_coeff": Option(0.5, (float, int), _non_negative, "a number >= 0", "weight of the value loss"),
    "entropy_coeff": Option(
        0.003, (float, int), _non_negative, "a number >= 0 (it is subtracted)", "weight of the entropy bonus"
    ),
    "normalize_advantages": Option(False, (bool,), None, "True or False", "standardize advantages within each batch"),
    "normalize_rewards": Option(
        True,
        (bool,),
        None,
        "True or False",
        "divide rewards in the losses by the running std of the discounted return, merged across workers",
    ),
    "scale_observations": Option(
        True, (bool,), None, "True or False", "scale Box observations bounded in every dimension to [-1, 1]"
    ),
    "observation_filter": Option(
        "auto",
        (str,),
        lambda v: v in ("auto", "NoFilter", "MeanStdFilter"),
        "'auto', 'NoFilter' or 'MeanStdFilter'",
        "running mean/std normalization of observations, merged across workers (auto: MeanStdFilter, "
        "except for images)",
    ),
    "model": Option(
        {k: o.default for k, o in MODEL_SCHEMA.items()},
        (dict,),
        None,
        "a dict",
        "network: " + ", ".join(MODEL_SCHEMA),
    ),
    "env_config": Option({}, (dict,), None, "a dict", "keyword arguments for the environment"),
    "atari_preprocessing": Option(
        True,
        (bool,),
        None,
        "True or False",
        "Atari ids: no-op starts, frame skip 4 with max-pooling, grayscale frames (atari_screen_size), "
        "stacked (atari_frame_stack)",
    ),
    "atari_screen_size": Option(
        84,
        (int,),
        lambda v: v >= 8,
        "an int >= 8",
        "Atari frames are resized to this many pixels square (84: Mnih et al.; 42: the A3C LSTM anchors)",
    ),
    "atari_frame_stack": Option(
        4,
        (int,),
        _positive,
        "an int >= 1",
        "this many of the last Atari frames stacked as one observation (1 with use_lstm: the anchors' input)",
    ),
    "clip_rewards": Option(
        None,
        (bool,),
        None,
        "True, False, or None",
        "clip rewards to [-1, 1] in the losses (None: on for preprocessed Atari); reported rewards stay raw",
        True,
    ),
    "seed": Option(
        None, (int,), _non_negative, "an int >= 0, or None", "seed for weights, environments and actions", True
    ),
    "execution": Option(
        "ray",
        (str,),
        lambda v: v in ("ray", "local"),
        "'ray' or 'local'",
        "'local' runs the workers serially in this process: deterministic, for debugging and tests",
    ),
    "worker_timeout_s": Option(
        60.0, (float, int), _positive, "a number > 0, or None", "a task running longer is a hung worker: replaced", True
    ),
    "max_worker_restarts": Option(
        5, (int,), _non_negative, "an int >= 0", "replacements of one worker before training stops with an error"
    ),
    "max_bad_gradients": Option(
        20, (int,), _non_negative, "an int >= 0", "NaN/inf gradients rejected before training stops with an error"
    ),
    "ray_address": Option(
        None,
        (str,),
        None,
        "a Ray address such as 'auto', or None",
        "cluster to join; None starts a local, loopback-only one",
        True,
    ),
    "placement_strategy": Option(
        "auto",
        (str,),
        lambda v: v in PLACEMENT_STRATEGIES,
        "'auto', 'SPREAD' or 'PACK'",
        "where Ray places workers: SPREAD over the nodes in proportion to their CPUs, PACK on the driver's node "
        "until it is full; auto: SPREAD when the cluster has several nodes with CPUs, PACK on one (inside a Ray "
        "Tune trial: its placement group)",
    ),
    "num_cpus_per_worker": Option(
        None,
        (float, int),
        _positive,
        "a number > 0 (fractions allowed), or None",
        "CPUs Ray reserves for each worker; None: Ray's actor default (a CPU to be placed, none held while "
        "running, so any number of workers fits on a node)",
        True,
    ),
}

A3C_SCHEMA: dict[str, Option] = {
    **COMMON_SCHEMA,
    "grads_per_step": Option(100, (int,), _positive, "an int >= 1", "gradients applied per train() call"),
}


A2C_SCHEMA: dict[str, Option] = {
    **A3C_SCHEMA,
    "grads_per_step": Option(
        100,
        (int,),
        _positive,
        "an int >= 1",
        "worker gradients per train() call; they are averaged in rounds of num_workers",
    ),
    "batch_size": Option(8, (int,), _positive, "an int >= 1", "simulator steps per partial rollout (per environment)"),
    "lr": lr_option("a2c", "Adam learning rate"),
}

PPO_SCHEMA: dict[str, Option] = {
    **COMMON_SCHEMA,
    "num_workers": Option(
        2, (int,), _non_negative, "an int >= 0", "Ray actors sampling in parallel; 0 samples in the driver"
    ),
    "num_envs_per_worker": Option(4, (int,), _positive, "an int >= 1", "environments stepped together by each worker"),
    "batch_size": Option(32, (int,), _positive, "an int >= 1", "steps per environment per sampling round"),
    "train_batch_size": Option(
        256,
        (int,),
        _positive,
        "an int >= 1",
        "env steps collected per PPO update, in rounds of every worker's rollout (a vector env's autoreset "
        "slot counts as a step)",
    ),
    "sgd_minibatch_size": Option(256, (int,), _positive, "an int >= 1", "rows per SGD minibatch"),
    "num_sgd_iter": Option(20, (int,), _positive, "an int >= 1", "epochs over each train batch"),
    "clip_param": Option(0.2, (float, int), _positive, "a number > 0", "PPO's surrogate clip range (where it starts)"),
    "clip_param_final": Option(
        None,
        (float, int),
        _positive,
        "a number > 0, or None",
        "clip range reached after lr_decay_steps (which must be set), annealed with the lr as the zoo's Atari "
        "settings do; lr_final = lr anneals the clip alone (None: constant)",
        True,
    ),
    "vf_clip_param": Option(None, (float, int), _positive, "a number > 0, or None", "clip value updates to this", True),
    "lambda": Option(0.8, (float, int), _unit_interval, "a number in [0, 1]", "GAE lambda"),
    "lr": lr_option("ppo", "Adam learning rate (where a schedule starts)"),
    "lr_final": Option(1e-5, (float, int), _positive, "a number > 0", "learning rate reached after lr_decay_steps"),
    "entropy_coeff": Option(
        0.0, (float, int), _non_negative, "a number >= 0 (it is subtracted)", "entropy bonus (where a schedule starts)"
    ),
    "entropy_coeff_final": Option(
        None,
        (float, int),
        _non_negative,
        "a number >= 0, or None",
        "entropy bonus reached after entropy_decay_steps (which must be set), annealed linearly on its own "
        "schedule, apart from the lr's (None: constant)",
        True,
    ),
    "entropy_decay_steps": Option(
        0, (int,), _non_negative, "an int >= 0", "env steps over which the entropy bonus anneals (0: constant)"
    ),
    "grad_clip": Option(0.5, (float, int), _positive, "a number > 0, or None", "clip gradients to this norm", True),
    "normalize_advantages": Option(True, (bool,), None, "True or False", "standardize advantages per minibatch"),
    "num_learner_threads": Option(
        None,
        (int,),
        _positive,
        "an int >= 1, or None",
        "torch threads for the driver's SGD epochs, which run while the workers wait; None: the driver "
        "machine's cores (at most 1 + num_workers) for image observations, 1 for an MLP",
        True,
    ),
}


def _type_ok(value: Any, option: Option) -> bool:
    if value is None:
        return option.nullable
    if isinstance(value, bool) and bool not in option.types:
        return False
    return isinstance(value, option.types)


def _check_keys(config: Mapping[str, Any], schema: Mapping[str, Option], where: str) -> None:
    for key in config:
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(schema))}"
            raise ConfigError(f"unknown config key '{where}{key}'{hint}")


def _check_value(key: str, value: Any, option: Option) -> None:
    if not _type_ok(value, option):
        raise ConfigError(f"config['{key}'] must be {option.allowed}, got {value!r} ({type(value).__name__})")
    if value is not None and option.check is not None and not option.check(value):
        raise ConfigError(f"config['{key}'] must be {option.allowed}, got {value!r}")


# PPO's annealed keys: (the final value, the env steps it is reached after, a hint for the error).
SCHEDULES = (
    ("clip_param_final", "lr_decay_steps", " (and lr_final = lr to anneal the clip range alone)"),
    ("entropy_coeff_final", "entropy_decay_steps", ""),
)


def resolve_config(config: Mapping[str, Any] | None, schema: Mapping[str, Option]) -> dict[str, Any]:
    """Defaults overlaid with `config`, every key and value checked; raises ConfigError."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    _check_keys(config, schema, "")
    resolved = {key: copy.deepcopy(option.default) for key, option in schema.items()}
    for key, value in config.items():
        _check_value(key, value, schema[key])
        resolved[key] = copy.deepcopy(value)
    resolved["model"] = resolve_model(resolved["model"])
    if resolved["num_envs_per_worker"] is None:  # every agent's schema has it (COMMON_SCHEMA)
        resolved["num_envs_per_worker"] = default_envs_per_worker(resolved["num_workers"])
    for final, decay_steps, hint in SCHEDULES:
        if resolved.get(final) is not None and resolved[decay_steps] == 0:
            raise ConfigError(
                f"config['{final}'] is reached after {decay_steps}, which is 0 (no schedule): set {decay_steps}{hint}"
            )
    return resolved


def default_envs_per_worker(num_workers: int) -> int:
    """TOTAL_ENVS // num_workers each (at least 1): up to TOTAL_ENVS in all. Several environments per worker
    spread Ray's per-task cost and the gradient's over more env steps (with 2 workers of 8, CartPole-v1
    and Pendulum-v1 reach their thresholds in about half the time of 4 workers of 1: BENCHMARKS.md),
    while the tutorial's 16 workers keep one environment each, as in 2018."""
    return max(1, TOTAL_ENVS // max(1, num_workers))


def resolve_model(model: Mapping[str, Any]) -> dict[str, Any]:
    """A `model` dict with defaults filled in, checked (also for checkpoints written before a key existed)."""
    model = dict(model)
    _check_keys(model, MODEL_SCHEMA, "model.")
    for key, option in MODEL_SCHEMA.items():
        model.setdefault(key, copy.deepcopy(option.default))
        _check_value(f"model.{key}", model[key], option)
    model["fcnet_hiddens"] = list(model["fcnet_hiddens"])
    model["conv_fc_hiddens"] = list(model["conv_fc_hiddens"])
    if model["conv_filters"] is not None:
        model["conv_filters"] = [list(f) for f in model["conv_filters"]]
    if model["custom_model"] is not None and model["use_lstm"]:
        raise ConfigError(
            "config['model']['use_lstm'] must be False with a custom_model: a recurrent custom model brings its own "
            "state (initial_state and a forward that takes and returns it)"
        )
    if model["use_lstm"] and model["vf_share_layers"] is False:
        raise ConfigError("config['model']['use_lstm'] needs vf_share_layers True or None (the LSTM feeds both heads)")
    return model


# Keys a checkpoint's config may lack because it was written before they existed, with the behaviour
# the run had then: facts about old checkpoints, not today's defaults (a default that later changes
# must not change how an old run is restored).
LEGACY_DEFAULTS: dict[str, Any] = {
    "normalize_rewards": False,
    "atari_preprocessing": True,
    "atari_screen_size": 84,
    "atari_frame_stack": 4,
    "scale_observations": True,
}
LEGACY_MODEL_DEFAULTS: dict[str, Any] = {"vf_share_layers": True, "conv_activation": "relu"}


def upgrade_saved_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with the keys it predates set to what that run used."""
    upgraded = {**LEGACY_DEFAULTS, **config}
    upgraded["model"] = {**LEGACY_MODEL_DEFAULTS, **config.get("model", {})}
    return upgraded


def default_config(schema: Mapping[str, Option]) -> AgentConfig:
    """An AgentConfig of a schema's defaults: how each agent's DEFAULT_CONFIG is made."""
    return AgentConfig({key: option.default for key, option in schema.items()}, schema)


DEFAULT_CONFIG = default_config(A3C_SCHEMA)
