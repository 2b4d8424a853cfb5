"""Train several agents on one environment, over several seeds, with one stop rule, and report.

Honest by construction: every run gets the same environment and stop rule, its seed is recorded,
and its wall time counts from agent construction (actor start-up included). Files written:

    DIR/curves.png      episode_reward_mean against env steps and against wall-clock seconds,
                        one line per agent (median over seeds) and the min-max band across seeds
    DIR/summary.md      per agent: time and steps to the stop reward (median [range]), best and
    DIR/summary.csv     final reward, env steps per second
    DIR/runs/AGENT_seedN.csv   each run's own progress
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

import numpy as np

from a3c.agents import AGENTS
from a3c.config import ConfigError, resolve_config
from a3c.envs import EnvSpec, check_env_id, env_name
from a3c.result import TrainResult

DEFAULT_STOP = {"episode_reward_mean": 195.0, "time_total_s": 120.0}
STOP_KEYS = ("episode_reward_mean", "time_total_s", "timesteps_total", "training_iteration")


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
        header[1] = f"solved (>= {self.stop.get('episode_reward_mean')})"
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
        return "\n".join(lines)

    def write(self, out_dir: Path, command: str | None = None) -> None:
        """Write curves.png, summary.md (with the date, seeds, stop rule and `command`), summary.csv
        and runs/AGENT_seedN.csv into `out_dir`."""
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "runs").mkdir(exist_ok=True)
        for run in self.runs:
            _write_csv(out_dir / "runs" / f"{run.agent}_seed{run.seed}.csv", run.rows)
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
        plot_curves(self, out_dir / "curves.png")


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _band(runs: list[RunRecord], x_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median, min and max across seeds on a common x grid; a finished run holds its last value."""
    end = max(r.rows[-1][x_key] for r in runs if r.rows)
    grid = np.linspace(0, end, 200)
    curves = []
    for run in runs:
        xs = np.array([r[x_key] for r in run.rows])
        ys = np.array([r["episode_reward_mean"] for r in run.rows])
        keep = np.isfinite(ys)
        if keep.sum() == 0:
            continue
        ys_grid = np.interp(grid, xs[keep], ys[keep], left=np.nan, right=ys[keep][-1])
        curves.append(ys_grid)
    stacked = np.array(curves)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return grid, np.nanmedian(stacked, 0), np.nanmin(stacked, 0), np.nanmax(stacked, 0)


def plot_curves(comparison: Comparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, x_key, label in [(axes[0], "timesteps_total", "env steps"), (axes[1], "wall_s", "wall-clock seconds")]:
        for agent in dict.fromkeys(r.agent for r in comparison.runs):
            runs = [r for r in comparison.runs if r.agent == agent and r.rows]
            if not runs:
                continue
            grid, median, low, high = _band(runs, x_key)
            (line,) = axis.plot(grid, median, label=f"{agent} ({len(runs)} seeds)")
            axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
        target = comparison.stop.get("episode_reward_mean")
        if target is not None:
            axis.axhline(target, color="gray", linestyle="--", linewidth=1)
        axis.set_xlabel(label + (" (from agent construction)" if x_key == "wall_s" else ""))
        axis.set_ylabel("episode_reward_mean (last 100 episodes)")
        axis.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"{comparison.env}: median over seeds, band = min-max")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_one(
    agent: str,
    env: EnvSpec,
    seed: int,
    stop: dict[str, float],
    config: dict[str, Any],
    on_iteration: Callable[[RunRecord, TrainResult], None] | None = None,
) -> RunRecord:
    """Train one agent from construction until the stop rule; wall time includes construction."""
    record = RunRecord(agent, seed)
    start = time.perf_counter()
    trainer = AGENTS[agent]({**config, "seed": seed}, env)
    try:
        while True:
            result = trainer.train()
            wall = time.perf_counter() - start
            record.rows.append(
                {
                    "training_iteration": result.training_iteration,
                    "timesteps_total": result.timesteps_total,
                    "wall_s": wall,
                    "time_total_s": result.time_total_s,
                    "episode_reward_mean": result.episode_reward_mean,
                    "episodes_total": result.episodes_total,
                }
            )
            target = stop.get("episode_reward_mean")
            if on_iteration is not None:
                on_iteration(record, result)
            if target is not None and result.episode_reward_mean >= target:
                record.solved_wall_s, record.solved_steps = wall, result.timesteps_total
                break
            if wall >= stop.get("time_total_s", math.inf):
                break
            if result.timesteps_total >= stop.get("timesteps_total", math.inf):
                break
            if result.training_iteration >= stop.get("training_iteration", math.inf):
                break
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
    with `out_dir`, also write curves.png, summary.md, summary.csv and each run's CSV."""
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
    runs = [
        run_one(agent, env, seed, stop, configs.get(agent, {}), on_iteration) for seed in seed_list for agent in agents
    ]
    comparison = Comparison(env_name(env), stop, seed_list, runs)
    if out_dir is not None:
        comparison.write(Path(out_dir), command=command)
    return comparison
