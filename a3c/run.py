"""A training run: the one iteration loop, its stop rules, its run directory, and what "reached the
target" means.

`a3c train`, `a3c compare` (a3c.comparison.run_one) and Tune's trainable are clients of this module;
from Python a run directory is one call away:

    from a3c import A3CAgent
    from a3c.run import MaxIterations, RewardTarget, Run

    with A3CAgent({"num_workers": 2}, "CartPole-v0") as agent:
        outcome = Run(agent, "runs/cartpole", stop=[RewardTarget(195), MaxIterations(200)]).run()

The run directory's layout is a3c.runlog's (run.json, config.json, progress.csv, result.json,
TensorBoard events, checkpoints/ with the newest K and the best, evaluation.csv); `Run.resume(dir)`
continues one from its last checkpoint. The tutorial's plain `agent.train()` loop writes nothing and
needs none of this.

One rule decides whether a run reached a reward target (`reached_target`): a full window of
EPISODE_WINDOW (100) finished episodes whose mean is at the target. A mean over the first handful of
episodes is luck, not learning; every figure that says "solved" uses this rule.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a3c.errors import RUN_FAILURES
from a3c.result import EPISODE_WINDOW, TrainResult

__all__ = [
    "EPISODE_WINDOW",
    "Callback",
    "Evaluation",
    "MaxEnvSteps",
    "MaxIterations",
    "Progress",
    "RewardTarget",
    "Run",
    "RunDirectoryError",
    "RunOutcome",
    "StopRule",
    "TimeLimit",
    "reached_target",
]

RUN_FILE = "run.json"


def reached_target(episode_reward_mean: float, episodes_total: int, target: float | None) -> bool:
    """Whether a run has reached `target`: at least EPISODE_WINDOW episodes finished, so that the mean
    is over a full window of the last EPISODE_WINDOW, and that mean >= target. No target, or no finite
    mean, is never reached. The one "solved" test of the CLI, compare, Tune reports and benchmarks."""
    return (
        target is not None
        and episodes_total >= EPISODE_WINDOW
        and math.isfinite(episode_reward_mean)
        and episode_reward_mean >= target
    )


class RunDirectoryError(ValueError):
    """A run directory that cannot be used: not empty for a new run, or not a run for a resume."""


@dataclass(frozen=True)
class Progress:
    """Where a run stands, as stop rules see it. `wall_s` counts from the Run's clock start (by
    default its construction; a3c.comparison starts it before building the agent)."""

    training_iteration: int
    timesteps_total: int
    time_total_s: float
    wall_s: float
    episode_reward_mean: float
    episodes_total: int

    @classmethod
    def from_result(cls, result: TrainResult, wall_s: float) -> Progress:
        return cls(
            result.training_iteration,
            result.timesteps_total,
            result.time_total_s,
            wall_s,
            result.episode_reward_mean,
            result.episodes_total,
        )


# -- stop rules ------------------------------------------------------------------------------------


class StopRule:
    """Ends a run: `reason(progress)` says why it stops now, None to go on."""

    def reason(self, progress: Progress) -> str | None:
        raise NotImplementedError


@dataclass(frozen=True)
class MaxIterations(StopRule):
    """Stop once `iterations` train() calls are done in total (a resumed run counts its earlier ones)."""

    iterations: int

    def reason(self, progress: Progress) -> str | None:
        return f"{self.iterations} iterations" if progress.training_iteration >= self.iterations else None


@dataclass(frozen=True)
class TimeLimit(StopRule):
    """Stop after `seconds` of training time (time_total_s, carried over a resume), or with
    `wall=True` of wall-clock time from the Run's clock start (actor start-up included: compare's rule)."""

    seconds: float
    wall: bool = False

    def reason(self, progress: Progress) -> str | None:
        spent = progress.wall_s if self.wall else progress.time_total_s
        return f"time limit {self.seconds:g} s" if spent >= self.seconds else None


@dataclass(frozen=True)
class MaxEnvSteps(StopRule):
    """Stop once `steps` environment steps have been sampled in total."""

    steps: int

    def reason(self, progress: Progress) -> str | None:
        return f"{self.steps:,} env steps" if progress.timesteps_total >= self.steps else None


@dataclass(frozen=True)
class RewardTarget(StopRule):
    """Stop once the run has reached `target` by reached_target (a full window of episodes)."""

    target: float

    def reason(self, progress: Progress) -> str | None:
        if not reached_target(progress.episode_reward_mean, progress.episodes_total, self.target):
            return None
        return (
            f"episode_reward_mean {progress.episode_reward_mean:.1f} >= {self.target:g} over {EPISODE_WINDOW} episodes"
        )


def first_stop(rules: Iterable[StopRule], progress: Progress) -> tuple[StopRule, str] | None:
    """The first rule that ends the run at `progress`, and why; None to go on."""
    for rule in rules:
        reason = rule.reason(progress)
        if reason is not None:
            return rule, reason
    return None


# run.json's "stop": the CLI's names (kept from before the run layer, so older runs still resume).
_STOP_KEYS = {
    "iterations": MaxIterations,
    "stop_reward": RewardTarget,
    "time_limit": TimeLimit,
    "env_steps": MaxEnvSteps,
}


def stop_to_dict(rules: Sequence[StopRule]) -> dict[str, Any]:
    """The stop rules as run.json records them (wall-clock time limits are compare's, never resumed)."""
    saved: dict[str, Any] = {}
    for rule in rules:
        if isinstance(rule, MaxIterations):
            saved["iterations"] = rule.iterations
        elif isinstance(rule, RewardTarget):
            saved["stop_reward"] = rule.target
        elif isinstance(rule, TimeLimit) and not rule.wall:
            saved["time_limit"] = rule.seconds
        elif isinstance(rule, MaxEnvSteps):
            saved["env_steps"] = rule.steps
    return saved


def stop_from_dict(saved: dict[str, Any]) -> list[StopRule]:
    """run.json's "stop" as rules; keys set to None are no rule."""
    return [_STOP_KEYS[key](value) for key, value in saved.items() if key in _STOP_KEYS and value is not None]


def _wall_s_at(run_dir: Path, iteration: int) -> float:
    """The wall_s progress.csv logged at `iteration` (0 if it has none: a run from before wall_s), so
    that a resumed run's wall clock continues where its checkpoint left it."""
    from a3c.runlog import read_progress

    if not (run_dir / "progress.csv").is_file():
        return 0.0
    logged = [r.get("wall_s", math.nan) for r in read_progress(run_dir) if r["training_iteration"] == iteration]
    return logged[-1] if logged and math.isfinite(logged[-1]) else 0.0


# -- callbacks and evaluation ----------------------------------------------------------------------


class Callback:
    """Hooks into a run (as Stable-Baselines3's BaseCallback); each returns True to stop the run after
    this iteration (it still saves its final checkpoint). Subclass and override what you need."""

    def on_iteration(self, run: Run, result: TrainResult) -> bool:
        """After each train() and its logged row."""
        return False

    def on_evaluation(self, run: Run, row: dict[str, float]) -> bool:
        """After each periodic evaluation, with its evaluation.csv row."""
        return False

    def on_checkpoint(self, run: Run, path: Path) -> bool:
        """After each checkpoint the run saves (periodic and final)."""
        return False


@dataclass(frozen=True)
class Evaluation:
    """Every `every` iterations, play `episodes` episodes with the current policy's deterministic
    actions on an environment apart from the workers' (seeded `seed`, `seed + 1`, ...; None: unseeded).
    Rows go to evaluation.csv (and TensorBoard's evaluation/), as RLlib's evaluation_interval and
    SB3's EvalCallback: what the policy does without exploration noise."""

    every: int
    episodes: int = 10
    seed: int | None = 0

    def __post_init__(self) -> None:
        if self.every < 1 or self.episodes < 1:
            raise ValueError(f"Evaluation needs every >= 1 and episodes >= 1, got {self.every} and {self.episodes}")


@dataclass
class RunOutcome:
    """How a run ended: why, its last result, its last and best checkpoints, and when it reached a
    RewardTarget rule's target (None if it did not)."""

    stopped_by: str
    result: TrainResult | None
    checkpoint: Path | None
    best_checkpoint: dict[str, Any] | None
    interrupted: bool = False
    reached_at: Progress | None = None


# -- the run ---------------------------------------------------------------------------------------


class Run:
    """One training run of one agent: the loop, stop rules, run directory, callbacks, evaluation,
    and a save on Ctrl-C (the first lets the iteration under way finish; a second stops at once,
    saves, and raises KeyboardInterrupt). `run_dir=None` trains without writing files (compare's
    runs for benchmarks). The Run never stops the agent's workers: the agent's owner does."""

    def __init__(
        self,
        agent: Any,
        run_dir: str | Path | None = None,
        stop: StopRule | Sequence[StopRule] = (),
        *,
        checkpoint_every: int = 10,
        keep_checkpoints: int = 3,
        callbacks: Sequence[Callback] = (),
        evaluation: Evaluation | None = None,
        catch_ctrl_c: bool = True,
        started_at: float | None = None,
        resuming: bool = False,
    ):
        self.agent = agent
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.stop_rules: list[StopRule] = [stop] if isinstance(stop, StopRule) else list(stop)
        self.checkpoint_every = checkpoint_every
        self.keep_checkpoints = keep_checkpoints
        self.callbacks = list(callbacks)
        self.evaluation = evaluation
        self.catch_ctrl_c = catch_ctrl_c
        self.started_at = time.perf_counter() if started_at is None else started_at
        self.interrupted = threading.Event()
        self.result: TrainResult | None = None
        self.result_wall_s = math.nan
        self.last_checkpoint: Path | None = None
        self.reached_at: Progress | None = None
        self._callback_stop = False  # a checkpoint callback's answer, read at the end of step()
        self.logger: Any = None
        self.keeper: Any = None
        if self.run_dir is not None and not resuming:
            self._create_directory()

    # -- the run directory ---------------------------------------------------------------------

    def _create_directory(self) -> None:
        from a3c.runlog import write_json_atomic

        directory = self.run_dir
        assert directory is not None
        if directory.exists() and any(directory.iterdir()):
            raise RunDirectoryError(f"run directory {directory} is not empty; resume it or choose another")
        directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(directory / "config.json", self.agent.config)
        env = self.agent.env if isinstance(self.agent.env, str) else None
        run = {"agent": self.agent.algorithm, "env": env, "stop": stop_to_dict(self.stop_rules)}
        write_json_atomic(directory / RUN_FILE, run)

    @staticmethod
    def read_run_file(run_dir: str | Path) -> dict[str, Any]:
        """run.json of a run directory (agent, env, stop), or RunDirectoryError."""
        run_file = Path(run_dir) / RUN_FILE
        if not run_file.is_file():
            raise RunDirectoryError(f"{run_dir} is not a run directory (no {RUN_FILE})")
        return json.loads(run_file.read_text())

    @staticmethod
    def saved_progress(run_dir: str | Path) -> Progress:
        """Where a run directory's last checkpoint stands, read without building an agent."""
        from a3c.checkpoint import latest_checkpoint, read_checkpoint
        from a3c.result import EpisodeTracker

        state = read_checkpoint(latest_checkpoint(run_dir)).state
        episodes = EpisodeTracker()
        episodes.load_state(state["episodes"])
        counters = state["counters"]
        iteration = int(counters["training_iteration"])
        return Progress(
            iteration,
            int(counters["timesteps_total"]),
            float(counters["time_total_s"]),
            _wall_s_at(Path(run_dir), iteration),
            episodes.summary()["episode_reward_mean"],
            episodes.episodes_total,
        )

    @classmethod
    def resume(cls, run_dir: str | Path, stop: StopRule | Sequence[StopRule] | None = None, **options: Any) -> Run:
        """A Run continuing `run_dir` from its last checkpoint (counters, episode window, optimizer),
        appending to its files; `stop` replaces the rules saved in run.json."""
        from a3c.agents import AGENTS
        from a3c.checkpoint import latest_checkpoint

        saved = cls.read_run_file(run_dir)
        checkpoint = latest_checkpoint(run_dir)
        start = time.perf_counter()
        agent = AGENTS[saved["agent"]].from_checkpoint(checkpoint, env=saved["env"])
        rules = stop_from_dict(saved["stop"]) if stop is None else stop
        start -= _wall_s_at(Path(run_dir), agent.iteration)
        return cls(agent, run_dir, rules, resuming=True, started_at=start, **options)

    def _open(self) -> None:
        if self.run_dir is None or self.logger is not None:
            return
        from a3c.runlog import CheckpointKeeper, RunLogger

        self.logger = RunLogger(self.run_dir)
        self.keeper = CheckpointKeeper(self.run_dir / "checkpoints", self.keep_checkpoints)

    def save(self) -> Path | None:
        """Write a checkpoint now (kept by the newest-K-and-best rule) and tell the callbacks; the
        path, or None without a run directory. True from a callback stops the run."""
        if self.run_dir is None:
            return None
        path = self.agent.save(self.run_dir / "checkpoints")
        self.keeper.add(path, self.result.episode_reward_mean if self.result is not None else math.nan)
        self.last_checkpoint = path
        self._callback_stop = any([c.on_checkpoint(self, path) for c in self.callbacks]) or self._callback_stop
        return path

    # -- the loop ------------------------------------------------------------------------------

    def progress(self) -> Progress:
        """Where the run stands: at its last result (wall_s when train() returned it), or before any."""
        if self.result is None:
            agent, wall_s = self.agent, time.perf_counter() - self.started_at
            return Progress(agent.iteration, agent.timesteps_total, agent.time_total_s, wall_s, math.nan, 0)
        return Progress.from_result(self.result, self.result_wall_s)

    def should_stop(self, progress: Progress) -> tuple[StopRule, str] | None:
        """The first stop rule that `progress` meets and why, or None to go on."""
        return first_stop(self.stop_rules, progress)

    def evaluate(self) -> dict[str, float]:
        """Run the periodic evaluation now; its row is logged and returned."""
        from a3c.evaluation import evaluate_agent

        assert self.evaluation is not None
        played = evaluate_agent(self.agent, self.evaluation.episodes, self.evaluation.seed)
        summary = played.summary
        row = {
            "training_iteration": self.agent.iteration,
            "timesteps_total": self.agent.timesteps_total,
            "time_total_s": self.agent.time_total_s,
            "episodes": len(played.rewards),
            "episode_reward_mean": summary["mean"],
            "episode_reward_std": summary["std"],
            "episode_reward_min": summary["min"],
            "episode_reward_max": summary["max"],
            "episode_len_mean": sum(played.lengths) / len(played.lengths),
        }
        if self.logger is not None:
            self.logger.log_evaluation(row)
        return row

    def step(self) -> tuple[TrainResult, str | None]:
        """One iteration: train(), log its row, callbacks, evaluation and checkpoint when due; the
        result and why the run stops now (None: go on). run() loops over it; a caller that owns the
        loop (Tune's trainable) calls it itself, then save() and close()."""
        self._callback_stop = False
        self._open()
        result = self.agent.train()
        self.result, self.result_wall_s = result, time.perf_counter() - self.started_at
        if self.logger is not None:
            self.logger.log(result, {"wall_s": self.result_wall_s})
        stop_asked = any([c.on_iteration(self, result) for c in self.callbacks])
        if self.evaluation is not None and result.training_iteration % self.evaluation.every == 0:
            row = self.evaluate()
            stop_asked = any([c.on_evaluation(self, row) for c in self.callbacks]) or stop_asked
        if self.checkpoint_every and result.training_iteration % self.checkpoint_every == 0:
            self.save()
        progress = self.progress()
        stopped = self.should_stop(progress)
        targets = [r for r in self.stop_rules if isinstance(r, RewardTarget)]
        if self.reached_at is None and any(r.reason(progress) is not None for r in targets):
            self.reached_at = progress
        if stopped is not None:
            return result, stopped[1]
        if stop_asked or self._callback_stop:
            return result, "a callback"
        return result, None

    def run(self) -> RunOutcome:
        """Train until a stop rule, a callback or Ctrl-C ends the run (a new agent trains at least one
        iteration); save a final checkpoint.

        A worker failure or a training error saves what was learned, then propagates.
        """
        if not self.stop_rules:
            raise ValueError("a Run needs at least one stop rule to run(), e.g. MaxIterations(100)")
        self._callback_stop = False
        restore = self._catch_ctrl_c()  # before the run's files exist: tests wait on them
        try:
            self._open()
            # An agent that trained before (a resume) may already be past a rule; a new one trains at
            # least once (compare's wall clock may run out while its actors start).
            stopped = self.should_stop(self.progress()) if self.agent.iteration > 0 else None
            reason = None if stopped is None else stopped[1]
            try:
                while reason is None and not self.interrupted.is_set():
                    _, reason = self.step()
            except RUN_FAILURES:
                self.save()  # nothing learned so far is lost
                self.close()
                raise
            except KeyboardInterrupt:  # a second Ctrl-C: save and stop now (this iteration's row may be missing)
                self.save()
                raise
            except BaseException:
                self.close()
                raise
            interrupted = reason is None
            path = self.save()
            self.close()
        finally:
            restore()
        best = self.keeper.best() if self.keeper is not None else None
        return RunOutcome(
            "Ctrl-C" if interrupted else str(reason), self.result, path, best, interrupted, self.reached_at
        )

    def close(self) -> None:
        """Close the run's log writers (TensorBoard's); run() does it, a caller of step() does it once."""
        if self.logger is not None:
            self.logger.close()

    def _catch_ctrl_c(self) -> Callable[[], Any]:
        """The first Ctrl-C lets the iteration under way finish (its row logged, then a checkpoint); a
        second one stops at once. A KeyboardInterrupt raised anywhere inside train() or the run log's
        writers (TensorBoard's flush among them) could leave them half-way, and a save after it hang.
        Returns what puts the previous handler back (nothing, when none was installed: not the main thread)."""
        if not self.catch_ctrl_c or threading.current_thread() is not threading.main_thread():
            return lambda: None
        interrupted = self.interrupted

        def on_sigint(signum: int, frame: Any) -> None:
            if interrupted.is_set():
                raise KeyboardInterrupt
            interrupted.set()
            # Plain text to stderr, no rich: the signal can land while the main thread is half-way
            # through an import or a print that a rich console would re-enter.
            sys.stderr.write("Ctrl-C: stopping after this iteration (Ctrl-C again to stop at once)\n")
            sys.stderr.flush()

        previous = signal.signal(signal.SIGINT, on_sigint)
        return lambda: signal.signal(signal.SIGINT, previous)
