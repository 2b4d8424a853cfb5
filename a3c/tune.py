"""Ray Tune for a3c's agents: a Trainable per algorithm, and the sweep behind `a3c tune`.

The only module that imports ray.tune (the `tune` extra: `pip install 'a3c[tune]'`). A trial is one
agent: its resource request is a placement group holding the agent's driver and its workers, so the
workers land inside the trial's reservation (a3c.execution.ray_pool.worker_actor_options), and the
agent joins the trial's Ray instead of starting one. `step()` is one step of an a3c.run Run; checkpoints
are the agent's own safetensors files, which population-based training copies from trial to trial.

A trial's Run writes the run directory `a3c train` writes, under the experiment's runs/<trial_id>/
(`run_root`), with its final checkpoint saved there when the trial ends (Tune's own checkpoints stay in
its trial folders, where PBT needs them). With `stop_reward`, each report says `target_reached` by
a3c.run.reached_target (a full window of 100 episodes), and the trial ends there (`done`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a3c.agents import AGENTS
from a3c.checkpoint import latest_checkpoint
from a3c.config import ConfigError, resolve_config
from a3c.run import RewardTarget, Run, reached_target

TUNE_MISSING = "Ray Tune is not installed: pip install 'a3c[tune]' (from a clone: make install-tune)"

# Keys of a trial's config that are not agent config keys.
TRIAL_DEFAULTS: dict[str, Any] = {"env": "CartPole-v0", "num_cpus_for_driver": 1, "stop_reward": None, "run_root": None}

# Written next to the agent's checkpoint in a Tune checkpoint folder: which trial saved it.
ORIGIN_FILE = "origin.json"

METRIC = "episode_reward_mean"


def import_tune() -> Any:
    """ray.tune, or ImportError naming the extra to install."""
    try:
        from ray import tune
    except ImportError:
        raise ImportError(TUNE_MISSING) from None
    return tune


def split_trial_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A trial's config -> (agent config, trial settings: env, num_cpus_for_driver)."""
    agent_config = {key: value for key, value in config.items() if key not in TRIAL_DEFAULTS}
    trial = {key: config.get(key, default) for key, default in TRIAL_DEFAULTS.items()}
    return agent_config, trial


def trial_bundles(algorithm: str, config: dict[str, Any]) -> tuple[list[dict[str, float]], str]:
    """Placement-group bundles for one trial (the driver, then one per worker) and their strategy.

    A worker's bundle is `num_cpus_per_worker` CPUs, or 1 when that is None (Ray places an actor
    without a CPU request only where one CPU is free). Workers in process (num_workers 0, or
    execution 'local') need the driver's bundle only. SPREAD puts the bundles on different nodes
    where it can; otherwise PACK, Tune's default.
    """
    agent_config, trial = split_trial_config(config)
    try:
        resolved = resolve_config(agent_config, AGENTS[algorithm].schema)
    except ConfigError:  # reported by the trial itself, in setup(), naming the key
        return [{"CPU": float(trial["num_cpus_for_driver"])}], "PACK"
    bundles = [{"CPU": float(trial["num_cpus_for_driver"])}]
    if resolved["execution"] == "ray":
        per_worker = resolved["num_cpus_per_worker"] or 1.0
        bundles += [{"CPU": float(per_worker)} for _ in range(resolved["num_workers"])]
    return bundles, "SPREAD" if resolved["placement_strategy"] == "SPREAD" else "PACK"


def trainable(algorithm: str) -> type:
    """A ray.tune.Trainable subclass that trains the agent `algorithm` ('a3c', 'ppo' or 'a2c')."""
    if algorithm not in AGENTS:
        raise ValueError(f"unknown agent '{algorithm}'; choose one of: {', '.join(AGENTS)}")
    tune = import_tune()
    agent_class = AGENTS[algorithm]
    from ray import cloudpickle

    from a3c.custom_models import registry_snapshot, restore_registry

    # Classes registered by name here travel with the trainable, each pickled on its own and unpickled
    # in a trial only if its config names it: a class pickled by reference to a module the trial
    # cannot import must not break trials that do not use it.
    custom_models = {name: cloudpickle.dumps(cls) for name, cls in registry_snapshot().items()}

    class AgentTrainable(tune.Trainable):
        """One agent per trial; config = agent config keys + env (+ num_cpus_for_driver)."""

        @classmethod
        def default_resource_request(cls, config: dict[str, Any]) -> Any:
            bundles, strategy = trial_bundles(algorithm, config)
            return tune.PlacementGroupFactory(bundles, strategy=strategy)

        def setup(self, config: dict[str, Any]) -> None:
            agent_config, trial = split_trial_config(config)
            if "num_learner_threads" in agent_class.schema and agent_config.get("num_learner_threads") is None:
                # Trials run side by side: a trial's learner keeps to one thread unless its config names more.
                agent_config = {**agent_config, "num_learner_threads": 1}
            name = agent_config.get("model", {}).get("custom_model")
            if name in custom_models:
                restore_registry({name: cloudpickle.loads(custom_models[name])})
            self.agent = agent_class(agent_config, trial["env"])  # joins this trial's Ray (ensure_ray)
            self.checkpoint_origin: str | None = None
            self.target = trial["stop_reward"]
            rules = [] if self.target is None else [RewardTarget(self.target)]
            run_dir = None if trial["run_root"] is None else Path(trial["run_root"]) / self.trial_id
            resuming = run_dir is not None and run_dir.exists()  # PBT restarts a paused trial in a new actor
            self.run = Run(self.agent, run_dir, rules, checkpoint_every=0, catch_ctrl_c=False, resuming=resuming)

        def step(self) -> dict[str, Any]:
            train_result, stop_reason = self.run.step()
            result = train_result.to_dict()
            result["target_reached"] = reached_target(
                train_result.episode_reward_mean, train_result.episodes_total, self.target
            )
            result["done"] = stop_reason is not None
            result["checkpoint_origin"] = self.checkpoint_origin
            result["worker_placement"] = getattr(self.agent.pool, "placement", "in process")  # GROUP: the trial's
            return result

        def save_checkpoint(self, checkpoint_dir: str) -> None:
            self.agent.save(checkpoint_dir)
            origin = {"trial_id": self.trial_id, "training_iteration": self.agent.iteration}
            (Path(checkpoint_dir) / ORIGIN_FILE).write_text(json.dumps(origin))

        def load_checkpoint(self, checkpoint_dir: str) -> None:
            self.agent.restore(latest_checkpoint(checkpoint_dir))  # at this trial's lr (PBT perturbs it)
            origin_file = Path(checkpoint_dir) / ORIGIN_FILE
            if origin_file.is_file():
                self.checkpoint_origin = json.loads(origin_file.read_text())["trial_id"]

        def cleanup(self) -> None:
            try:
                if self.run.result is not None:
                    self.run.save()  # the trial's run directory ends with its checkpoint, as a3c train's does
                self.run.close()
            finally:
                self.agent.stop()

    AgentTrainable.__name__ = AgentTrainable.__qualname__ = f"{algorithm.upper()}Trainable"
    return AgentTrainable


# -- the sweep behind `a3c tune` -----------------------------------------------------------------

_DISTRIBUTION = re.compile(r"^\s*(uniform|loguniform|randint)\(\s*([^,\s]+)\s*,\s*([^,\s)]+)\s*\)\s*$")


def parse_search(items: list[str]) -> dict[str, tuple[str, list[Any]]]:
    """`key=[a,b,...]` (choose one per trial) or `key=loguniform(a,b)` / `uniform(a,b)` / `randint(a,b)`.

    Values are JSON, never evaluated. Returns key -> (kind, arguments), kind 'choice' or a distribution.
    """
    space: dict[str, tuple[str, list[Any]]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--search expects key=[v1,v2,...] or key=loguniform(a,b), got '{item}'")
        match = _DISTRIBUTION.match(raw)
        if match:
            kind, low, high = match.groups()
            try:
                bounds = [json.loads(low), json.loads(high)]
            except json.JSONDecodeError:
                raise ValueError(f"--search {key}: bounds must be numbers, got '{raw}'") from None
            numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            if not numbers or bounds[0] >= bounds[1]:
                raise ValueError(f"--search {key}: {kind}(low, high) needs numbers with low < high, got '{raw}'")
            if kind == "loguniform" and bounds[0] <= 0:
                raise ValueError(f"--search {key}: loguniform needs low > 0, got '{raw}'")
            space[key] = (kind, bounds)
            continue
        try:
            values = json.loads(raw)
        except json.JSONDecodeError:
            values = None
        if not isinstance(values, list) or not values:
            raise ValueError(f"--search {key}: give a JSON list such as [1e-4,1e-3] or loguniform(1e-4,1e-3)")
        space[key] = ("choice", values)
    return space


def to_tune_domains(space: dict[str, tuple[str, list[Any]]]) -> dict[str, Any]:
    tune = import_tune()
    makers = {"choice": lambda a: tune.choice(a), "uniform": lambda a: tune.uniform(*a)}
    makers |= {"loguniform": lambda a: tune.loguniform(*a), "randint": lambda a: tune.randint(*a)}
    return {key: makers[kind](args) for key, (kind, args) in space.items()}


def check_search_keys(algorithm: str, base: dict[str, Any], space: dict[str, tuple[str, list[Any]]]) -> None:
    """Every searched key and every listed value must be a valid config value: fail before any trial."""
    schema = AGENTS[algorithm].schema
    for key, (kind, args) in space.items():
        if key in TRIAL_DEFAULTS:
            continue
        for value in args if kind == "choice" else [args[0]]:
            resolve_config({**base, key: value}, schema)


def check_trial_fits(algorithm: str, base: dict[str, Any], space: dict[str, tuple[str, list[Any]]]) -> None:
    """ConfigError unless the largest trial's reservation fits the connected Ray's CPUs.

    Tune would otherwise leave such a trial pending forever, waiting for CPUs no node has.
    """
    import ray

    largest = dict(base)
    for key in ("num_workers", "num_cpus_per_worker", "num_cpus_for_driver"):
        if key in space:
            kind, args = space[key]
            largest[key] = max(args) if kind == "choice" else args[1]
    bundles, _ = trial_bundles(algorithm, largest)
    needed = sum(bundle["CPU"] for bundle in bundles)
    available = ray.cluster_resources().get("CPU", 0.0)
    if needed > available:
        raise ConfigError(
            f"a trial reserves {needed:g} CPUs (num_cpus_for_driver + num_workers x num_cpus_per_worker, 1 each "
            f"by default) but the Ray cluster has {available:g}: lower num_workers, or set num_cpus_per_worker "
            "and num_cpus_for_driver to fractions (e.g. 0.25 and 0.5)"
        )


@dataclass
class SweepSummary:
    """What `a3c tune` reports: the best trial, its config and reward curve, where its checkpoint is."""

    experiment_dir: Path
    num_trials: int
    num_errors: int
    best_trial_id: str | None = None
    best_config: dict[str, Any] = field(default_factory=dict)
    best_reward: float = math.nan
    best_curve: list[float] = field(default_factory=list)
    best_checkpoint: Path | None = None
    errors: list[str] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)  # best first: id, searched values, iterations, reward


def run_sweep(
    algorithm: str,
    env: str,
    base_config: dict[str, Any],
    space: dict[str, tuple[str, list[Any]]],
    samples: int,
    scheduler: str,
    iterations: int,
    time_limit: float | None,
    out_dir: Path,
    perturbation_interval: int = 2,
    stop_reward: float | None = None,
) -> SweepSummary:
    """Tune `algorithm` on `env` over `space` (ASHA or PBT); results under `out_dir`, each trial's run
    directory under `out_dir`/runs/. A trial ends at `stop_reward` by a3c.run.reached_target."""
    tune = import_tune()
    check_trial_fits(algorithm, base_config, space)
    from ray.tune.schedulers import ASHAScheduler, PopulationBasedTraining

    if scheduler == "asha":
        chosen = ASHAScheduler(time_attr="training_iteration", max_t=iterations, grace_period=1, reduction_factor=2)
    elif scheduler == "pbt":
        chosen = PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=perturbation_interval,
            hyperparam_mutations=to_tune_domains(space),
            quantile_fraction=0.5,
            synch=True,  # every trial reaches the perturbation point before the worse half exploits
        )
    else:
        raise ValueError(f"unknown scheduler '{scheduler}'; choose asha or pbt")
    out_dir = out_dir.resolve()
    tuner = tune.Tuner(
        trainable(algorithm),
        param_space={
            **base_config,
            "env": env,
            "stop_reward": stop_reward,
            "run_root": str(out_dir / "runs"),
            **to_tune_domains(space),
        },
        tune_config=tune.TuneConfig(
            metric=METRIC, mode="max", scheduler=chosen, num_samples=samples, time_budget_s=time_limit
        ),
        run_config=tune.RunConfig(
            name=out_dir.name,
            storage_path=str(out_dir.parent),
            stop={"training_iteration": iterations},
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=perturbation_interval if scheduler == "pbt" else 0,
                checkpoint_at_end=True,
                num_to_keep=4,  # PBT copies from other trials' checkpoints: keep them long enough
            ),
            verbose=1,
        ),
    )
    return summarize(tuner.fit(), out_dir, list(space))


def summarize(results: Any, experiment_dir: Path, searched: list[str]) -> SweepSummary:
    """The best trial of a Tune ResultGrid (highest last episode_reward_mean), written to summary.json."""
    errors = [f"{result.path}: {str(result.error).strip().splitlines()[-1]}" for result in results if result.error]
    summary = SweepSummary(experiment_dir, num_trials=len(results), num_errors=len(errors), errors=errors)
    for result in results:
        metrics = result.metrics or {}
        summary.trials.append(
            {
                "trial_id": metrics.get("trial_id", Path(result.path).name),
                **{key: result.config.get(key) for key in searched},
                "iterations": metrics.get("training_iteration", 0),
                METRIC: metrics.get(METRIC, math.nan),
                "failed": result.error is not None,
            }
        )
    summary.trials.sort(key=lambda t: -t[METRIC] if math.isfinite(t[METRIC]) else math.inf)  # best first
    finished = [r for r in results if r.metrics and isinstance(r.metrics.get(METRIC), int | float)]
    finished = [r for r in finished if math.isfinite(r.metrics[METRIC])]
    if finished:
        best = max(finished, key=lambda r: r.metrics[METRIC])
        summary.best_trial_id = best.metrics.get("trial_id")
        summary.best_config = {key: best.config[key] for key in searched if key in best.config}
        summary.best_reward = float(best.metrics[METRIC])
        if best.metrics_dataframe is not None and METRIC in best.metrics_dataframe:
            summary.best_curve = [float(v) for v in best.metrics_dataframe[METRIC].tolist()]
        if best.checkpoint is not None:
            summary.best_checkpoint = latest_checkpoint(best.checkpoint.path)
        best_config = {key: value for key, value in best.config.items() if key not in TRIAL_DEFAULTS}
        (experiment_dir / "best_config.json").write_text(json.dumps(best_config, indent=2, default=repr))
    record = {**summary.__dict__, "experiment_dir": str(experiment_dir)}
    record["best_checkpoint"] = str(summary.best_checkpoint) if summary.best_checkpoint else None
    (experiment_dir / "summary.json").write_text(json.dumps(record, indent=2, default=repr))
    return summary
