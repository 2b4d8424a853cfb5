"""A run directory: one metrics record per iteration, fanned out to CSV, JSON lines and TensorBoard,
plus the checkpoints kept (the last K and the best).

    runs/a3c_CartPole-v0_20261124-070000/
        run.json            how the run was started (agent, env, stop rule), for --resume
        config.json         the full resolved config
        progress.csv        one row per iteration (flattened result), after wall_s: wall-clock seconds
                            since the run started (summed over its resumes; agent construction included)
        result.json         one JSON result per line, the fields train() returns (and wall_s)
        evaluation.csv      with periodic evaluation (a3c.run.Evaluation): one row per evaluation,
                            keyed by training_iteration and timesteps_total like progress.csv
        events.out.tfevents.*   TensorBoard (tensorboard --logdir runs/)
        checkpoints/        checkpoint_NNNNNN.safetensors, index.json
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from a3c.checkpoint import INDEX_NAME
from a3c.result import TrainResult

EVALUATION_CSV = "evaluation.csv"


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"info": {"learner": {"entropy": 1}}} -> {"info/learner/entropy": 1}."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=2, default=repr)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_progress(run_dir: Path) -> list[dict[str, float]]:
    """progress.csv's rows as numbers (an empty cell, a mean before any episode, as NaN)."""

    def number(value: str) -> float:
        try:
            return float(value) if value != "" else math.nan
        except ValueError:
            return math.nan

    with open(run_dir / "progress.csv", newline="") as handle:
        return [{key: number(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLogger:
    """Appends every result to the run's files; resuming appends to the same files."""

    def __init__(self, run_dir: Path, tensorboard: bool = True):
        self.run_dir = run_dir
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = run_dir / "progress.csv"
        self.json_path = run_dir / "result.json"
        self.columns: list[str] | None = None
        if self.csv_path.exists() and self.csv_path.stat().st_size > 0:
            with open(self.csv_path, newline="") as handle:
                self.columns = next(csv.reader(handle), None)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir))

    def log(self, result: TrainResult, extra: dict[str, float] | None = None) -> None:
        """One iteration's result; `extra` top-level numbers (a run's wall_s) go in front of its fields."""
        fields = {**(extra or {}), **result.to_dict()}
        record = {k: _json_safe(v) for k, v in flatten(fields).items()}
        with open(self.json_path, "a") as handle:
            handle.write(json.dumps(fields, default=repr) + "\n")
        if self.columns is None:
            self.columns = list(record)
            with open(self.csv_path, "w", newline="") as handle:
                csv.writer(handle).writerow(self.columns)
        with open(self.csv_path, "a", newline="") as handle:
            csv.writer(handle).writerow([record.get(column, "") for column in self.columns])
        if self.writer is not None:
            step = result.timesteps_total
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "timesteps_total":
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def log_evaluation(self, row: dict[str, Any]) -> None:
        """One evaluation's row (flat numbers) to evaluation.csv, and to TensorBoard under evaluation/."""
        path = self.run_dir / EVALUATION_CSV
        new = not path.exists() or path.stat().st_size == 0
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow({key: _json_safe(value) for key, value in row.items()})
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("training_iteration", "timesteps_total"):
                    self.writer.add_scalar(f"evaluation/{key}", value, row["timesteps_total"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class CheckpointKeeper:
    """Keep the newest `keep` checkpoints and the best one (by episode_reward_mean)."""

    def __init__(self, folder: Path, keep: int = 3):
        self.folder = folder
        self.keep = keep
        self.index_path = folder / INDEX_NAME
        self.entries: list[dict[str, Any]] = []
        if self.index_path.exists():
            self.entries = json.loads(self.index_path.read_text())

    def add(self, path: Path, reward: float) -> None:
        self.entries = [e for e in self.entries if e["file"] != path.name]
        self.entries.append({"file": path.name, "episode_reward_mean": _json_safe(reward)})
        self.entries.sort(key=lambda e: e["file"])
        best = self.best()
        keep = {e["file"] for e in self.entries[-self.keep :]} | ({best["file"]} if best else set())
        for entry in self.entries:
            if entry["file"] not in keep:
                (self.folder / entry["file"]).unlink(missing_ok=True)
        self.entries = [e for e in self.entries if e["file"] in keep]
        write_json_atomic(self.index_path, self.entries)

    def best(self) -> dict[str, Any] | None:
        scored = [e for e in self.entries if e["episode_reward_mean"] is not None]
        return max(scored, key=lambda e: e["episode_reward_mean"]) if scored else None
