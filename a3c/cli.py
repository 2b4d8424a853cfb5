"""The `a3c` command: train, evaluate, export, plot, compare, tune.

Bad input (unknown environment or config key, unreadable file, a file that is not a checkpoint, an
output that cannot be written) ends with one line on stderr and exit status 2; `--debug` shows the
traceback instead. Nothing already saved is overwritten: a new run never reuses a non-empty run
directory, and checkpoints are written atomically.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from a3c.checkpoint import CheckpointError, latest_checkpoint
from a3c.config import A2C_SCHEMA, A3C_SCHEMA, PPO_SCHEMA, ConfigError
from a3c.envs import EnvError
from a3c.errors import RUN_FAILURES, EnvironmentFailure, ExportError, TrainingError
from a3c.execution import RAY_VERBOSE_ENV_VAR
from a3c.run import Callback, RunDirectoryError

app = typer.Typer(
    help="A3C on Ray: train agents, evaluate checkpoints, plot learning curves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
stdout = Console()

SCHEMAS = {"a3c": A3C_SCHEMA, "ppo": PPO_SCHEMA, "a2c": A2C_SCHEMA}  # not a3c.agents: --help imports no torch
AGENTS = tuple(SCHEMAS)


def config_default(key: str) -> str:
    """A config key's default for `--help`: one value, or each agent's where they differ."""
    values = {name: schema[key].default for name, schema in SCHEMAS.items()}
    if len(set(values.values())) == 1:
        return str(values["a3c"])
    return ", ".join(f"{name} {value}" for name, value in values.items())


class UsageError(ValueError):
    """Bad command-line input: reported in one line, exit status 2."""


BAD_INPUT = (UsageError, ConfigError, EnvError, CheckpointError, RunDirectoryError, ExportError)


def _run_guarded(debug: bool, action: Callable[[], None]) -> None:
    if debug:  # also show everything Ray prints for the agent's own local Ray (a3c.execution.ray_runtime)
        os.environ[RAY_VERBOSE_ENV_VAR] = "1"
    try:
        action()
    except BAD_INPUT as error:
        if debug:
            raise
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except RUN_FAILURES as error:  # exit status 1; the run was saved first (a3c.run)
        if debug:
            raise
        what = "environment failed" if isinstance(error, EnvironmentFailure) else "training stopped"
        console.print(f"[red]{what}:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as error:
        if debug:
            raise
        where = f": {error.filename}" if getattr(error, "filename", None) else ""
        console.print(
            f"[red]error:[/red] {escape(str(error.strerror or error) + where)}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    except KeyboardInterrupt:  # outside the training loop (which saves first): no traceback
        if debug:
            raise
        console.print("\nInterrupted.", highlight=False)
        raise typer.Exit(130) from None


def agent_class(name: str):
    from a3c.agents import AGENTS as CLASSES

    if name in CLASSES:
        return CLASSES[name]
    raise UsageError(f"unknown agent '{name}'; choose one of: {', '.join(AGENTS)}")


def parse_set(items: list[str]) -> dict[str, Any]:
    """`key=value` pairs; values are JSON when they parse as JSON, else strings. Never evaluated."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got '{item}'")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        target = overrides
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise UsageError(f"--set {key}: '{parent}' is not a nested config")
        target[leaf] = value
    return overrides


def read_config_file(path: Path) -> dict[str, Any]:
    """A JSON or YAML file holding a dict of config keys (YAML read with safe_load: data only)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # noqa: BLE001 - any parse error is the same bad input
        raise UsageError(f"cannot parse config file {path}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a mapping of config keys")
    return data


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_writable_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"cannot write to {path}: {error.strerror}") from None


def _format_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _print_summary(title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column table on a terminal; on a pipe or file, the title then one `key: value` line each."""
    if stdout.is_terminal:
        table = Table(title=title, show_header=False)
        for key, value in rows:
            table.add_row(key, value)
        stdout.print(table)
        return
    stdout.print(title, highlight=False, soft_wrap=True)
    for key, value in rows:
        stdout.print(f"  {key}: {value}", highlight=False, soft_wrap=True)


def _stop_rules(
    iterations: int | None, stop_reward: float | None, time_limit: float | None, env_steps: int | None
) -> list[Any]:
    """The train command's stop flags as a3c.run's rules (the one reward rule: a full 100-episode window)."""
    from a3c.run import stop_from_dict

    flags = {"iterations": iterations, "stop_reward": stop_reward, "time_limit": time_limit, "env_steps": env_steps}
    return stop_from_dict(flags)


def _further(rule: Any, progress: Any) -> str:
    """The option that would let a run stopped by `rule` at `progress` go on."""
    from a3c.run import MaxEnvSteps, MaxIterations, RewardTarget

    if isinstance(rule, MaxIterations):
        return f"--iterations {max(2 * progress.training_iteration, progress.training_iteration + 1)}"
    if isinstance(rule, RewardTarget):
        return f"--stop-reward {max(progress.episode_reward_mean, rule.target) + 1:.0f}"
    if isinstance(rule, MaxEnvSteps):
        return f"--env-steps {2 * progress.timesteps_total}"
    return f"--time-limit {math.ceil(2 * progress.time_total_s)}"


@app.command()
def train(
    env: Annotated[str | None, typer.Argument(help="gymnasium environment id, e.g. CartPole-v0")] = None,
    agent: Annotated[str, typer.Option(help="algorithm: " + ", ".join(AGENTS))] = "a3c",
    workers: Annotated[
        int | None,
        typer.Option(help=f"num_workers (Ray actors); default from config: {config_default('num_workers')}"),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help=f"steps per partial rollout; default from config: {config_default('batch_size')}"),
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(
            help="stop after this many train() iterations in total (default: 100; on --resume, the run's own)"
        ),
    ] = None,
    stop_reward: Annotated[
        float | None,
        typer.Option(help="stop once the mean reward of the last 100 episodes reaches this (100 must have finished)"),
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="stop after this many seconds of training")] = None,
    env_steps: Annotated[int | None, typer.Option(help="stop after this many environment steps in total")] = None,
    config: Annotated[Path | None, typer.Option(help="JSON or YAML file of config keys")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="config override key=value (JSON value), repeatable")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="default: runs/<agent>_<env>_<timestamp>")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="save a checkpoint every N iterations (0: only at end)")] = 10,
    keep_checkpoints: Annotated[int, typer.Option(help="how many of the newest checkpoints to keep (+ the best)")] = 3,
    eval_every: Annotated[
        int, typer.Option(help="evaluate deterministically every N iterations into evaluation.csv (0: never)")
    ] = 0,
    eval_episodes: Annotated[int, typer.Option(help="episodes per evaluation (with --eval-every)")] = 10,
    seed: Annotated[int | None, typer.Option(help="seed for weights, environments and actions")] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address ('auto'); default: a local Ray on loopback only")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue the run in this directory from its last checkpoint")
    ] = None,
    debug: Annotated[bool, typer.Option(help="show tracebacks")] = False,
) -> None:
    """Train an agent, with live progress; Ctrl-C saves a checkpoint and says how to resume."""

    def action() -> None:
        if eval_every < 0 or eval_episodes < 1 or checkpoint_every < 0 or keep_checkpoints < 1:
            raise UsageError(
                "--eval-every and --checkpoint-every must be >= 0, --eval-episodes and --keep-checkpoints >= 1"
            )
        from a3c.run import Evaluation

        options = {
            "checkpoint_every": checkpoint_every,
            "keep_checkpoints": keep_checkpoints,
            "evaluation": Evaluation(eval_every, eval_episodes, seed if seed is not None else 0)
            if eval_every
            else None,
        }
        if resume is not None:
            _resume(resume, iterations, stop_reward, time_limit, env_steps, options)
            return
        if env is None:
            raise UsageError("give an environment id (e.g. a3c train CartPole-v0) or --resume RUN_DIR")
        cls = agent_class(agent)
        settings: dict[str, Any] = read_config_file(config) if config is not None else {}
        flags = {"num_workers": workers, "batch_size": batch_size, "seed": seed, "ray_address": address}
        settings = merge(settings, {k: v for k, v in flags.items() if v is not None})
        settings = merge(settings, parse_set(set_ or []))
        from a3c.config import resolve_config

        resolved = resolve_config(settings, cls.schema)  # before any directory or actor is made
        if resolved["model"]["custom_model"] is not None:  # importable? (its contract is checked on building)
            from a3c.custom_models import load_model_class

            load_model_class(resolved["model"]["custom_model"])
        from a3c.envs import check_env_id

        check_env_id(env)
        if resolved["ray_address"] is not None:  # a cluster nobody answers at fails before the run directory
            from a3c.execution.ray_runtime import check_ray_address

            check_ray_address(resolved["ray_address"])
        safe_env = env.replace("/", "-").replace(":", "-")  # ALE/Pong-v5, module:Env-v0: one folder
        directory = run_dir or Path("runs") / f"{agent}_{safe_env}_{datetime.now():%Y%m%d-%H%M%S}"
        if directory.exists() and any(directory.iterdir()):
            raise UsageError(f"run directory {directory} is not empty; use --resume {directory} or another --run-dir")
        _check_writable_dir(directory)
        from a3c.run import Run

        trainer = cls(resolved, env)
        try:
            rules = _stop_rules(iterations or 100, stop_reward, time_limit, env_steps)
            _train_loop(Run(trainer, directory, rules, **options))  # config.json with what None stood for (lr)
        finally:
            trainer.stop()

    _run_guarded(debug, action)


def _resume(
    directory: Path,
    iterations: int | None,
    stop_reward: float | None,
    time_limit: float | None,
    env_steps: int | None,
    options: dict[str, Any],
) -> None:
    from a3c.run import Run, first_stop, stop_from_dict

    saved = Run.read_run_file(directory)
    agent_class(saved["agent"])
    flags = {"iterations": iterations, "stop_reward": stop_reward, "time_limit": time_limit, "env_steps": env_steps}
    rules = stop_from_dict({**saved["stop"], **{k: v for k, v in flags.items() if v is not None}})
    if not rules:  # a Tune trial's run directory: Tune decided when it stopped
        raise UsageError(f"{directory} has no stop rule of its own: give --iterations, --env-steps or --time-limit")
    checkpoint = latest_checkpoint(directory)
    progress = Run.saved_progress(directory)
    stopped = first_stop(rules, progress)
    if stopped is not None:  # nothing to train: say so, and start no actors
        rule, reason = stopped
        stdout.print(
            f"{directory} is already at iteration {progress.training_iteration}: its stop condition ({reason}) is met, "
            f"nothing to train; to train further: a3c train --resume {directory} {_further(rule, progress)}",
            highlight=False,
            soft_wrap=True,
        )
        return
    run = Run.resume(directory, rules, **options)
    try:
        console.print(f"Resuming {directory} from {checkpoint.name} (iteration {run.agent.iteration})", soft_wrap=True)
        _train_loop(run)
    finally:
        run.agent.stop()


class _LiveProgress(Callback):
    """The train command's display, as a run callback: a live table on a terminal; in a pipe or a
    file, where a live table would leave its frames behind, one plain line per iteration."""

    columns = ("iteration", "env steps", "steps/s", "reward mean", "elapsed", "remaining")

    def __init__(self, run: Any, agent: str, env: str):
        from rich.live import Live

        from a3c.run import MaxIterations, TimeLimit

        self.run, self.title = run, f"{agent} on {env}  ({run.run_dir})"
        self.iterations = min((r.iterations for r in run.stop_rules if isinstance(r, MaxIterations)), default=None)
        self.time_limit = min((r.seconds for r in run.stop_rules if isinstance(r, TimeLimit)), default=None)
        self.first_iteration, self.start = run.agent.iteration, time.perf_counter()
        self.live = Live(self.table(), console=console, refresh_per_second=4, transient=False)
        if not console.is_terminal:
            console.print(f"{agent} on {env} ({run.run_dir})", highlight=False, soft_wrap=True)

    def __enter__(self) -> _LiveProgress:
        if console.is_terminal:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if console.is_terminal:
            self.live.__exit__(*exc)

    def row(self) -> list[str]:
        result, iteration = self.run.result, self.run.agent.iteration
        if result is None:
            return [str(iteration), "-", "-", "-", "0:00", "-"]
        done, elapsed = iteration - self.first_iteration, time.perf_counter() - self.start
        estimates = []  # whichever stop rule ends the run first
        if self.iterations is not None and done:
            estimates.append(elapsed / done * (self.iterations - iteration))
        if self.time_limit is not None:
            estimates.append(self.time_limit - result.time_total_s)
        remaining = max(0.0, min(estimates)) if estimates else math.nan
        return [
            f"{result.training_iteration}/{self.iterations if self.iterations is not None else '-'}",
            f"{result.timesteps_total:,}",
            f"{result.timesteps_this_iter / max(result.time_this_iter_s, 1e-9):,.0f}",
            f"{result.episode_reward_mean:.1f}",
            _format_time(result.time_total_s),
            _format_time(remaining),
        ]

    def table(self) -> Table:
        table = Table(show_header=True, header_style="bold", title=self.title)
        for column in self.columns:
            table.add_column(column, justify="right")
        table.add_row(*self.row())
        return table

    def on_iteration(self, run: Any, result: Any) -> bool:
        if console.is_terminal:
            self.live.update(self.table())
        else:
            line = "  ".join(f"{column} {value}" for column, value in zip(self.columns, self.row(), strict=True))
            console.print(line, highlight=False, soft_wrap=True)
        return False

    def on_evaluation(self, run: Any, row: dict[str, float]) -> bool:
        line = f"evaluation at iteration {row['training_iteration']}: {row['episodes']} episodes, "
        console.print(line + f"reward mean {row['episode_reward_mean']:.1f}", highlight=False, soft_wrap=True)
        return False


def _train_loop(run: Any) -> None:
    """Run `run` (a3c.run.Run) with the live display; say how it ended and how to resume it."""
    directory = run.run_dir
    display = _LiveProgress(run, run.agent.algorithm, run.agent.env_name)
    run.callbacks.append(display)
    interrupted = f"\nInterrupted: saved {{}}\nResume with: a3c train --resume {directory}"
    try:
        with display:
            outcome = run.run()
    except RUN_FAILURES:
        console.print(
            f"saved {run.last_checkpoint} before stopping; resume with: a3c train --resume {directory}", soft_wrap=True
        )
        raise
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once; the run's files may miss this iteration's row
        console.print(interrupted.format(run.last_checkpoint), soft_wrap=True, highlight=False)
        raise typer.Exit(130) from None
    if outcome.interrupted:
        console.print(interrupted.format(outcome.checkpoint), soft_wrap=True, highlight=False)
        raise typer.Exit(130)
    result = outcome.result
    rows = [("stopped by", outcome.stopped_by)]
    if result is not None:
        rows += [
            ("iterations", str(result.training_iteration)),
            ("env steps", f"{result.timesteps_total:,}"),
            ("episode_reward_mean", f"{result.episode_reward_mean:.2f}"),
            ("training time", f"{result.time_total_s:.1f} s"),
        ]
    rows.append(("checkpoint", str(outcome.checkpoint)))
    best = outcome.best_checkpoint
    if best:
        rows.append(("best checkpoint", f"{best['file']} ({best['episode_reward_mean']:.1f})"))
    rows.append(("run directory", str(directory)))
    _print_summary("Training finished", rows)


@app.command()
def evaluate(
    checkpoint: Annotated[
        Path,
        typer.Argument(
            help="a checkpoint file, or a run directory, its checkpoints/ or checkpoints/index.json (newest checkpoint)"
        ),
    ],
    best: Annotated[bool, typer.Option(help="take the run's best checkpoint (by reward, from index.json)")] = False,
    episodes: Annotated[int, typer.Option(help="episodes to play")] = 10,
    render: Annotated[Path | None, typer.Option(help="write one episode as an animated GIF to this file")] = None,
    deterministic: Annotated[bool, typer.Option(help="take the most likely action instead of sampling")] = False,
    seed: Annotated[int | None, typer.Option(help="seed for environments and action sampling")] = None,
    debug: Annotated[bool, typer.Option(help="show tracebacks")] = False,
) -> None:
    """Play episodes with a saved policy (no training, no Ray); print mean, std, min, max reward."""

    def action() -> None:
        from a3c.evaluation import SavedPolicy

        if episodes < 1:
            raise UsageError("--episodes must be >= 1")
        if render is not None:
            if render.suffix.lower() != ".gif":
                raise UsageError(f"--render writes a GIF: give a file ending in .gif, got {render}")
            _check_writable_dir(render.parent if str(render.parent) else Path("."))
            if render.exists() and render.is_dir():
                raise UsageError(f"--render {render} is a directory")
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
            if not os.environ.get("DISPLAY"):
                os.environ.setdefault("MUJOCO_GL", "egl")  # MuJoCo renders off-screen without a display
        policy = SavedPolicy(checkpoint, best=best)
        result = policy.evaluate(episodes, deterministic, seed, render)
        summary = result.summary
        title = f"{policy.env_id}: {episodes} episodes with {policy.path}"
        if stdout.is_terminal:
            table = Table(title=title, show_header=True)
            for column in ["mean", "std", "min", "max"]:
                table.add_column(column, justify="right")
            table.add_row(*(f"{summary[k]:.2f}" for k in ["mean", "std", "min", "max"]))
            stdout.print(table)
        else:
            stats = "  ".join(f"{k} {summary[k]:.2f}" for k in ["mean", "std", "min", "max"])
            stdout.print(f"{title}: {stats}", highlight=False, soft_wrap=True)
        if result.rendered is not None:
            reward, frames = result.rendered
            stdout.print(
                f"wrote {render}: one more episode, reward {reward:.2f}, {frames:,} frames",
                highlight=False,
                soft_wrap=True,
            )

    _run_guarded(debug, action)


EXPORT_FORMATS = ("onnx", "torchscript")  # a3c.export.FORMATS, named here so that --help imports no torch


@app.command()
def export(
    checkpoint: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_OR_CHECKPOINT",
            help="a checkpoint file, or a run directory, its checkpoints/ or checkpoints/index.json (newest one)",
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="file to write")],
    format_: Annotated[str, typer.Option("--format", help="onnx or torchscript")] = "onnx",
    best: Annotated[bool, typer.Option(help="take the run's best checkpoint (by reward, from index.json)")] = False,
    check_steps: Annotated[
        int, typer.Option(help="compare the file with the saved policy on this many env steps (0: no check)")
    ] = 500,
    debug: Annotated[bool, typer.Option(help="show tracebacks")] = False,
) -> None:
    """Write a saved policy as one graph (raw observation -> deterministic action and value), checked
    against the policy itself on observations from its environment."""

    def action() -> None:
        if format_ not in EXPORT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got '{format_}'")
        if check_steps < 0:
            raise UsageError("--check-steps must be >= 0")
        if out_file.is_dir():
            raise UsageError(f"--out {out_file} is a directory: give a file name")
        _check_writable_dir(out_file.parent if str(out_file.parent) else Path("."))
        from a3c.evaluation import SavedPolicy
        from a3c.export import check_agreement, export_policy, load_exported

        policy = SavedPolicy(checkpoint, best=best)
        export_policy(policy, out_file, format_)
        stdout.print(f"wrote {out_file} ({format_}) from {policy.path}", highlight=False, soft_wrap=True)
        if check_steps == 0:
            return
        if format_ == "onnx" and importlib.util.find_spec("onnxruntime") is None:
            stdout.print("not checked: onnxruntime is not installed (make export)", highlight=False, soft_wrap=True)
            return
        agreement = check_agreement(policy, load_exported(out_file, format_), check_steps)
        if not agreement.agrees:
            out_file.unlink(missing_ok=True)
            raise ExportError(
                f"the exported graph disagrees with the policy ({agreement.describe()}); a custom module whose "
                f"forward branches on its inputs cannot be traced: {out_file} removed"
            )
        stdout.print(f"checked on {policy.env_id}: {agreement.describe()}", highlight=False, soft_wrap=True)

    _run_guarded(debug, action)


@app.command()
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="run directories (each with a progress.csv)")],
    out_file: Annotated[Path, typer.Option("--out", help="PNG file to write")] = Path("curves.png"),
    debug: Annotated[bool, typer.Option(help="show tracebacks")] = False,
) -> None:
    """Learning curves (episode_reward_mean against env steps and wall-clock time) of runs."""

    def action() -> None:
        from a3c.plot import plot_curves
        from a3c.runlog import read_progress

        curves = []
        for run in run_dirs:
            if not (run / "progress.csv").is_file():
                raise UsageError(f"{run} has no progress.csv: not a run directory")
            curves.append((run.name, [read_progress(run)]))
        _check_writable_dir(out_file.parent if str(out_file.parent) else Path("."))
        plot_curves(curves, out_file, [("timesteps_total", "env steps"), ("time_total_s", "training time (s)")])
        stdout.print(f"wrote {out_file}")

    _run_guarded(debug, action)


@app.command("compare")
def compare_command(
    env: Annotated[str, typer.Argument(help="gymnasium environment id, e.g. CartPole-v0")],
    agents: Annotated[str, typer.Option(help="comma-separated agents to compare")] = "a3c,ppo,a2c",
    seeds: Annotated[int, typer.Option(help="seeds per agent (0, 1, ...)")] = 3,
    stop_reward: Annotated[
        float, typer.Option(help="a run stops once the mean reward of its last 100 episodes reaches this")
    ] = 195.0,
    time_limit: Annotated[float, typer.Option(help="a run stops after this many seconds from construction")] = 120.0,
    out: Annotated[Path, typer.Option(help="directory for curves.png, summary.md, summary.csv, runs/")] = Path(
        "compare"
    ),
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="config override AGENT.key=value (e.g. ppo.lr=3e-4), repeatable"),
    ] = None,
    debug: Annotated[bool, typer.Option(help="show tracebacks")] = False,
) -> None:
    """Train agents side by side under one stop rule; write learning curves and a summary table."""

    def action() -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from a3c.comparison import compare

        names = [a.strip() for a in agents.split(",") if a.strip()]
        for name in names:
            agent_class(name)
        if seeds < 1:
            raise UsageError("--seeds must be >= 1")
        configs = parse_set(set_ or [])
        for key, value in configs.items():
            if key not in names or not isinstance(value, dict):
                raise UsageError(f"--set for compare takes AGENT.key=value with AGENT in {names}, got '{key}'")
        if out.exists() and any(out.iterdir()):
            raise UsageError(f"output directory {out} is not empty; choose another --out")
        _check_writable_dir(out)
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("reward {task.fields[reward]:>7}"),
            TextColumn("steps {task.fields[steps]:>9}"),
            TimeElapsedColumn(),
        ]
        progress = Progress(*columns, console=console) if console.is_terminal else None
        with progress or contextlib.nullcontext():
            if progress is not None:
                tasks = {
                    (name, seed): progress.add_task(
                        f"{name} seed {seed}", total=time_limit, reward="-", steps="-", start=False
                    )
                    for seed in range(seeds)
                    for name in names
                }

            def on_iteration(record, result) -> None:
                reward, steps = f"{result.episode_reward_mean:.1f}", f"{result.timesteps_total:,}"
                if progress is None:  # a pipe or a file: a plain line every 10 iterations of each run
                    if len(record.rows) % 10 == 1:
                        line = f"{record.agent} seed {record.seed}: iteration {len(record.rows)}  reward {reward}"
                        console.print(f"{line}  steps {steps}", highlight=False, soft_wrap=True)
                    return
                progress.start_task(tasks[(record.agent, record.seed)])
                progress.update(
                    tasks[(record.agent, record.seed)],
                    completed=min(record.rows[-1]["wall_s"], time_limit),
                    reward=reward,
                    steps=steps,
                )

            comparison = compare(
                env,
                names,
                seeds,
                {"episode_reward_mean": stop_reward, "time_total_s": time_limit},
                configs,
                out,
                on_iteration,
                command=shlex.join(["a3c", *sys.argv[1:]]),
            )
        title = f"{env}: stop at {stop_reward} or {time_limit:.0f} s"
        rows = comparison.display_rows()
        if stdout.is_terminal:
            table = Table(title=title, show_header=True)
            for column in rows[0]:
                table.add_column(column, justify="right")
            for row in rows:
                table.add_row(*row.values())
            stdout.print(table)
        else:
            stdout.print(title, highlight=False, soft_wrap=True)
            for row in rows:
                stdout.print("  " + "  ".join(f"{k}: {v}" for k, v in row.items()), highlight=False, soft_wrap=True)
        stdout.print(f"wrote {out}/curves.png, summary.md, summary.csv, runs/")

    _run_guarded(debug, action)


@app.command(name="tune")
def tune_command(
    env: Annotated[str, typer.Argument(help="gymnasium environment id, e.g. CartPole-v0")],
    agent: Annotated[str, typer.Option(help="algorithm: " + ", ".join(AGENTS))] = "a3c",
    search: Annotated[
        list[str] | None,
        typer.Option(
            help=escape(
                "key=[v1,v2,...] (one per trial) or key=loguniform(a,b) / uniform(a,b) / randint(a,b); repeatable"
            )
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="trials (samples of the search space)")] = 4,
    scheduler: Annotated[str, typer.Option(help="asha (stop bad trials early) or pbt (population-based)")] = "asha",
    iterations: Annotated[int, typer.Option(help="train() iterations per trial at most")] = 20,
    stop_reward: Annotated[
        float | None,
        typer.Option(help="end a trial once the mean reward of its last 100 episodes reaches this (100 finished)"),
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="stop the whole sweep after this many seconds")] = None,
    perturbation_interval: Annotated[int, typer.Option(help="pbt: iterations between exploit/explore steps")] = 4,
    workers: Annotated[int | None, typer.Option(help="num_workers per trial")] = None,
    config: Annotated[Path | None, typer.Option(help="JSON or YAML file of config keys (shared by all trials)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="config override key=value (JSON value), repeatable")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="experiment directory; default: runs/tune_<agent>_<env>_<time>")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address ('auto'); default: a local Ray on loopback only")
    ] = None,
    debug: Annotated[bool, typer.Option(help="show tracebacks")] = False,
) -> None:
    """Search hyperparameters with Ray Tune (needs the tune extra); print the best trial and its checkpoint."""

    def action() -> None:
        try:
            from a3c.tune import TRIAL_DEFAULTS, check_search_keys, import_tune, parse_search, run_sweep

            import_tune()
        except ImportError as error:
            raise UsageError(str(error)) from None
        cls = agent_class(agent)
        if scheduler not in ("asha", "pbt"):
            raise UsageError(f"--scheduler must be asha or pbt, got '{scheduler}'")
        if samples < 1 or iterations < 1 or perturbation_interval < 1:
            raise UsageError("--samples, --iterations and --perturbation-interval must be >= 1")
        try:
            space = parse_search(search or [])
        except ValueError as error:
            raise UsageError(str(error)) from None
        if scheduler == "pbt" and not space:
            raise UsageError("--scheduler pbt needs at least one --search key to explore")
        settings: dict[str, Any] = read_config_file(config) if config is not None else {}
        settings = merge(settings, {k: v for k, v in {"num_workers": workers}.items() if v is not None})
        settings = merge(settings, parse_set(set_ or []))
        agent_settings = {k: v for k, v in settings.items() if k not in TRIAL_DEFAULTS}
        from a3c.config import resolve_config
        from a3c.envs import check_env_id

        resolve_config(agent_settings, cls.schema)  # every shared key, before any trial starts
        check_search_keys(agent, agent_settings, space)
        check_env_id(env)
        from a3c.execution.ray_runtime import check_ray_address, ensure_ray

        check_ray_address(address)
        directory = out or Path("runs") / f"tune_{agent}_{env}_{datetime.now():%Y%m%d-%H%M%S}"
        if directory.exists() and any(directory.iterdir()):
            raise UsageError(f"output directory {directory} is not empty; choose another --out")
        _check_writable_dir(directory)
        ensure_ray(address)  # Tune's trials join this Ray
        summary = run_sweep(
            agent,
            env,
            settings,
            space,
            samples,
            scheduler,
            iterations,
            time_limit,
            directory,
            perturbation_interval,
            stop_reward,
        )
        if summary.best_trial_id is None:
            first = summary.errors[0] if summary.errors else "no trial reported episode_reward_mean"
            raise TrainingError(f"no trial finished ({summary.num_errors} of {summary.num_trials} failed): {first}")
        _print_sweep(summary, agent, env)

    _run_guarded(debug, action)


def _sparkline(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "-"
    low, high, bars = min(finite), max(finite), "▁▂▃▄▅▆▇█"
    scale = (len(bars) - 1) / (high - low) if high > low else 0.0
    return "".join(bars[int((v - low) * scale)] if math.isfinite(v) else " " for v in values)


def _print_sweep(summary: Any, agent: str, env: str) -> None:
    table = Table(title=f"Tune: {agent} on {env}", show_header=False)
    table.add_row("trials", f"{summary.num_trials} ({summary.num_errors} failed)")
    table.add_row("best trial", str(summary.best_trial_id))
    for key, value in summary.best_config.items():
        table.add_row(f"  {key}", json.dumps(value))
    table.add_row("episode_reward_mean", f"{summary.best_reward:.1f} (last reported)")
    curve = summary.best_curve
    if curve:
        shape = f"{_sparkline(curve)}  {curve[0]:.1f} -> {curve[-1]:.1f} in {len(curve)} iterations"
        table.add_row("reward curve", shape)
    stdout.print(table)
    trials = Table(title="Trials (best first)", show_header=True)
    columns = [key for key in summary.trials[0] if key != "failed"] if summary.trials else []
    for column in columns:
        trials.add_column(column, justify="right")
    for trial in summary.trials:
        cells = [f"{trial[c]:.1f}" if c == "episode_reward_mean" else str(trial[c]) for c in columns]
        trials.add_row(*cells, style="red" if trial["failed"] else None)
    stdout.print(trials)
    where = f"Results in {summary.experiment_dir}: summary.json, best_config.json, Tune's trial folders"
    where += ", runs/ (a run directory per trial)"
    stdout.print(where, soft_wrap=True, highlight=False)
    for error in summary.errors:
        console.print(f"[red]trial failed:[/red] {escape(error)}", highlight=False, soft_wrap=True)
    checkpoint = shlex.quote(str(summary.best_checkpoint))
    config_file = shlex.quote(str(summary.experiment_dir / "best_config.json"))
    stdout.print(f"Evaluate it:        a3c evaluate {checkpoint}", soft_wrap=True, highlight=False)
    stdout.print(
        f"Train its config:   a3c train {env} --agent {agent} --config {config_file}", soft_wrap=True, highlight=False
    )
    stdout.print(
        f"Continue training:  python -c \"from a3c.agents import AGENTS; a = AGENTS['{agent}'].from_checkpoint("
        f'{str(summary.best_checkpoint)!r}); print(a.train().episode_reward_mean)"',
        soft_wrap=True,
        highlight=False,
    )


def main() -> None:
    try:
        app()
    finally:
        # Everything is saved and closed: only the interpreter's teardown is left, where Python has
        # put the default SIGINT action back, so a late second Ctrl-C killed the process (exit -2
        # instead of 130; seen in a fresh-clone CI run when the first landed before iteration 1).
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    main()
