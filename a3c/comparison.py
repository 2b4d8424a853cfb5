"""Train several agents on one environment, over several seeds, with one stop rule, and report.

Honest by construction: every run gets the same environment and stop rule, its seed is recorded,
and its wall time counts from agent construction (actor start-up included). Files written:

    DIR/curves.png      episode_reward_mean against env steps and against wall-clock seconds,
                        one line per agent (median over seeds) and the min-max band across seeds
    DIR/summary.md      per agent: time and steps to the stop reward (median [range]), best and
    DIR/summary.csv     final reward, env steps per second
    DIR/runs/AGENT_seedN/      each run's own run directory, the layout `a3c train` writes (a3c.run):
                               run.json, config.json, progress.csv, result.json, TensorBoard events,
                               checkpoints/ (the final one)

A run "reaches" the stop reward by a3c.run.reached_target: a full window of 100 finished episodes
whose mean is at the target, the rule every figure of this project uses.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from a3c.agents import AGENTS
from a3c.config import ConfigError, resolve_config
from a3c.envs import EnvSpec, check_env_id, env_name
from a3c.result import TrainResult
from a3c.run import (
    EPISODE_WINDOW,
    Callback,
    MaxEnvSteps,
    MaxIterations,
    RewardTarget,
    Run,
    RunDirectoryError,
    StopRule,
    TimeLimit,
    reached_target,
)

OnIteration = Callable[["RunRecord", TrainResult], None]
DEFAULT_STOP = {"episode_reward_mean": 195.0, "time_total_s": 120.0}
# compare's stop keys (RLlib's result names) and the a3c.run rule each one makes.
_RULES: dict[str, Callable[[float], StopRule]] = {
    "episode_reward_mean": RewardTarget,
    "time_total_s": lambda seconds: TimeLimit(seconds, wall=True),
    "timesteps_total": lambda steps: MaxEnvSteps(int(steps)),
    "training_iteration": lambda iterations: MaxIterations(int(iterations)),
}
STOP_KEYS = tuple(_RULES)


@dataclass
class RunRecord:
    """One agent, one seed: its progress rows and what it reached."""

    agent: str
    seed: int
    rows: list[dict[str, float]] = field(default_factory=list)
    solved_wall_s: float | None = None
    solved_steps: int | None = None

    @property
    def best(self) -> float:
        rewards = [r["episode_reward_mean"] for r in self.rows if math.isfinite(r["episode_reward_mean"])]
        return max(rewards) if rewards else math.nan

    @property
    def final(self) -> float:
        return self.rows[-1]["episode_reward_mean"] if self.rows else math.nan

    @property
    def steps_per_s(self) -> float:
        return self.rows[-1]["timesteps_total"] / self.rows[-1]["wall_s"] if self.rows else math.nan


@dataclass
class Comparison:
    """What `compare` returns: every agent x seed run under one stop rule, and its summary."""

    env: str
    stop: dict[str, float]
    seeds: list[int]
    runs: list[RunRecord]

    def summary(self) -> list[dict[str, Any]]:
        """One row per agent."""
        rows = []
        for agent in dict.fromkeys(r.agent for r in self.runs):
            runs = [r for r in self.runs if r.agent == agent]
            solved = [r for r in runs if r.solved_wall_s is not None]
            times = [r.solved_wall_s for r in solved]
            steps = [r.solved_steps for r in solved]
            rows.append(
                {
                    "agent": agent,
                    "solved": f"{len(solved)}/{len(runs)}",
                    "time_to_target_median_s": statistics.median(times) if times else None,
                    "time_to_target_min_s": min(times) if times else None,
                    "time_to_target_max_s": max(times) if times else None,
                    "steps_to_target_median": statistics.median(steps) if steps else None,
                    "best_reward": max(r.best for r in runs),
                    "final_reward_median": statistics.median(r.final for r in runs),
                    "env_steps_per_s_median": statistics.median(r.steps_per_s for r in runs),
                }
            )
        return rows

    def display_rows(self) -> list[dict[str, str]]:
        """summary() formatted for people: one dict of strings per agent (markdown and the CLI)."""
        rows = []
        for row in self.summary():
            time_cell = "not reached"
            if row["time_to_target_median_s"] is not None:
                time_cell = (
                    f"{row['time_to_target_median_s']:.1f} s "
                    f"[{row['time_to_target_min_s']:.1f}-{row['time_to_target_max_s']:.1f}]"
                )
            rows.append(
                {
                    "agent": row["agent"],
                    "solved": row["solved"],
                    "time to target, median [min-max]": time_cell,
                    "env steps to target (median)": (
                        f"{row['steps_to_target_median']:,.0f}" if row["steps_to_target_median"] else "-"
                    ),
                    "best reward": f"{row['best_reward']:.1f}",
                    "final reward (median)": f"{row['final_reward_median']:.1f}",
                    "env steps/s (median)": f"{row['env_steps_per_s_median']:,.0f}",
                }
            )
        return rows

    def to_markdown(self) -> str:
        """The summary as a Markdown table, one row per agent (what summary.md holds)."""
        rows = self.display_rows()
        if not rows:
            return ""
        header = list(rows[0])
        header[1] = f"solved (>= {self.stop.get('episode_reward_mean')} over {EPISODE_WINDOW} episodes)"
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
        return "\n".join(lines)

    def write(self, out_dir: Path, command: str | None = None) -> None:
        """Write curves.png, summary.md (with the date, seeds, stop rule and `command`), summary.csv
        and runs/AGENT_seedN.csv into `out_dir`."""
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_csv(out_dir / "summary.csv", self.summary())
        header = [
            f"# {self.env}: {', '.join(dict.fromkeys(r.agent for r in self.runs))}",
            "",
            f"Measured {datetime.now():%Y-%m-%d %H:%M}; seeds {self.seeds}; stop rule {self.stop}; "
            "wall time counted from agent construction.",
        ]
        if command:
            header += ["", f"Command: `{command}`"]
        (out_dir / "summary.md").write_text("\n".join(header) + "\n\n" + self.to_markdown() + "\n")
        self.plot(out_dir / "curves.png")

    def plot(self, path: Path) -> None:
        """Each agent's median over seeds and min-max band, against env steps and wall-clock seconds."""
        from a3c.plot import STEPS_AND_WALL_CLOCK, plot_curves

        agents = dict.fromkeys(r.agent for r in self.runs)
        groups = [(agent, [r.rows for r in self.runs if r.agent == agent and r.rows]) for agent in agents]
        title = f"{self.env}: median over seeds, band = min-max"
        plot_curves(groups, path, STEPS_AND_WALL_CLOCK, self.stop.get("episode_reward_mean"), title)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def stop_rules(stop: dict[str, float]) -> list[StopRule]:
    """compare's stop dict as a3c.run's rules; its time limit is wall-clock time from agent construction."""
    return [_RULES[key](value) for key, value in stop.items()]


class _Record(Callback):
    """Keeps a run's progress rows in its RunRecord, with the time and steps at which it first reached
    the target (reached_target), and passes each iteration on to compare's caller."""

    def __init__(self, record: RunRecord, target: float | None, on_iteration: OnIteration | None):
        self.record, self.target, self.forward = record, target, on_iteration

    def on_iteration(self, run: Run, result: TrainResult) -> bool:
        row = {
            "training_iteration": result.training_iteration,
            "timesteps_total": result.timesteps_total,
            "wall_s": run.result_wall_s,
            "time_total_s": result.time_total_s,
            "episode_reward_mean": result.episode_reward_mean,
            "episodes_total": result.episodes_total,
        }
        self.record.rows.append(row)
        reached = reached_target(result.episode_reward_mean, result.episodes_total, self.target)
        if reached and self.record.solved_wall_s is None:
            self.record.solved_wall_s, self.record.solved_steps = row["wall_s"], result.timesteps_total
        if self.forward is not None:
            self.forward(self.record, result)
        return False


def run_one(
    agent: str,
    env: EnvSpec,
    seed: int,
    stop: dict[str, float],
    config: dict[str, Any],
    on_iteration: OnIteration | None = None,
    run_dir: Path | None = None,
) -> RunRecord:
    """Train one agent from construction until the stop rule (a3c.run's Run); wall time includes
    construction. With `run_dir`, the run's directory is written there (a final checkpoint included).
    An exception raised by `on_iteration` ends the run and propagates (the agent is stopped)."""
    record = RunRecord(agent, seed)
    start = time.perf_counter()
    trainer = AGENTS[agent]({**config, "seed": seed}, env)
    try:
        callback = _Record(record, stop.get("episode_reward_mean"), on_iteration)
        run = Run(
            trainer,
            run_dir,
            stop_rules(stop),
            checkpoint_every=0,
            callbacks=[callback],
            catch_ctrl_c=False,
            started_at=start,
        )
        run.run()
    finally:
        trainer.stop()
    return record


def compare(
    env: EnvSpec,
    agents: Sequence[str] = ("a3c", "ppo", "a2c"),
    seeds: int | Sequence[int] = 3,
    stop: dict[str, float] | None = None,
    configs: dict[str, dict[str, Any]] | None = None,
    out_dir: str | Path | None = None,
    on_iteration: Callable[[RunRecord, TrainResult], None] | None = None,
    command: str | None = None,
) -> Comparison:
    """Run every agent for every seed (seeds=3 means seeds 0, 1, 2) and return the comparison;
    with `out_dir`, also write curves.png, summary.md, summary.csv and each run's directory (runs/)."""
    stop = dict(DEFAULT_STOP if stop is None else stop)
    unknown = [k for k in stop if k not in STOP_KEYS]
    if unknown:
        raise ConfigError(f"unknown stop key(s) {unknown}; use {', '.join(STOP_KEYS)}")
    bad = [a for a in agents if a not in AGENTS]
    if bad:
        raise ConfigError(f"unknown agent(s) {bad}; choose from {', '.join(AGENTS)}")
    configs = configs or {}
    extra = [a for a in configs if a not in agents]
    if extra:
        raise ConfigError(f"configs given for agents not compared: {extra}")
    for agent in agents:  # every config checked before the first run starts
        resolve_config({**configs.get(agent, {}), "seed": 0}, AGENTS[agent].schema)
    if isinstance(env, str):
        check_env_id(env)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    runs_dir = None if out_dir is None else Path(out_dir) / "runs"
    for agent in agents if runs_dir is not None else ():  # before the first run, not after an hour of them
        for seed in seed_list:
            taken = runs_dir / f"{agent}_seed{seed}"
            if taken.exists() and any(taken.iterdir()):
                raise RunDirectoryError(f"run directory {taken} is not empty; choose another out_dir")
    runs = [
        run_one(
            agent,
            env,
            seed,
            stop,
            configs.get(agent, {}),
            on_iteration,
            None if runs_dir is None else runs_dir / f"{agent}_seed{seed}",
        )
        for seed in seed_list
        for agent in agents
    ]
    comparison = Comparison(env_name(env), stop, seed_list, runs)
    if out_dir is not None:
        comparison.write(Path(out_dir), command=command)
    return comparison
