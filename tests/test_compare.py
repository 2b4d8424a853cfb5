"""The comparison: a short real run of all three agents, and the files it must write."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from a3c import compare
from a3c.config import ConfigError
from a3c.run import EPISODE_WINDOW, RunDirectoryError, reached_target

FAST = {"execution": "local", "num_workers": 2, "model": {"fcnet_hiddens": [16]}}


def test_compare_runs_every_agent_and_seed_and_writes_the_files(tmp_path):
    result = compare(
        "CartPole-v0",
        agents=["a3c", "ppo", "a2c"],
        seeds=2,
        stop={"episode_reward_mean": 195, "training_iteration": 2},
        configs={"a3c": FAST, "ppo": FAST, "a2c": FAST},
        out_dir=tmp_path,
    )
    assert [(r.agent, r.seed) for r in result.runs] == [
        ("a3c", 0),
        ("ppo", 0),
        ("a2c", 0),
        ("a3c", 1),
        ("ppo", 1),
        ("a2c", 1),
    ]
    assert all(len(r.rows) == 2 for r in result.runs)
    assert all(r.rows[0]["wall_s"] > 0 and r.rows[1]["wall_s"] > r.rows[0]["wall_s"] for r in result.runs)
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert [row["agent"] for row in summary] == ["a3c", "ppo", "a2c"]
    assert all(row["solved"] == "0/2" for row in summary)
    markdown = (tmp_path / "summary.md").read_text()
    assert "| a3c | 0/2 | not reached |" in markdown and "seeds [0, 1]" in markdown
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(
        f"{a}_seed{s}" for a in ["a3c", "ppo", "a2c"] for s in [0, 1]
    )
    for run in result.runs:  # each run's own run directory, with the rows the summary was made from
        progress = list(csv.DictReader(open(tmp_path / "runs" / f"{run.agent}_seed{run.seed}" / "progress.csv")))
        assert [float(r["wall_s"]) for r in progress] == pytest.approx([r["wall_s"] for r in run.rows])


def test_a_run_stops_at_the_target_and_records_time_and_steps_to_it():
    result = compare(
        "CartPole-v0",
        agents=["a3c"],
        seeds=[5],
        stop={"episode_reward_mean": 15.0, "training_iteration": 50},
        configs={"a3c": FAST},
    )
    run = result.runs[0]
    assert run.rows[-1]["episodes_total"] >= EPISODE_WINDOW, "the target counts only over a full window"
    assert not any(reached_target(r["episode_reward_mean"], r["episodes_total"], 15.0) for r in run.rows[:-1])
    assert run.solved_steps == run.rows[-1]["timesteps_total"]
    assert run.solved_wall_s == run.rows[-1]["wall_s"]
    assert result.summary()[0]["solved"] == "1/1"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"agents": ["a3c", "dqn"]}, "unknown agent"),
        ({"stop": {"reward": 1}}, "unknown stop key"),
        ({"configs": {"ppo": {"clip_parm": 1}}, "agents": ["ppo"]}, "clip_param"),
        ({"configs": {"a2c": {}}, "agents": ["a3c"]}, "not compared"),
    ],
)
def test_bad_arguments_fail_before_any_run(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        compare("CartPole-v0", **kwargs)


def test_cli_compare_writes_the_files(tmp_path):
    out = tmp_path / "cmp"
    sets = [x for a in ["a3c", "ppo"] for x in ["--set", f"{a}.execution=local", "--set", f"{a}.num_workers=1"]]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "a3c.cli",
            "compare",
            "CartPole-v0",
            "--agents",
            "a3c,ppo",
            "--seeds",
            "1",
            "--stop-reward",
            "195",
            "--time-limit",
            "3",
            "--out",
            str(out),
            *sets,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ["curves.png", "summary.md", "summary.csv", "runs/a3c_seed0/progress.csv", "runs/ppo_seed0/run.json"]:
        assert (out / name).is_file(), name
    assert "a3c compare CartPole-v0" in (out / "summary.md").read_text()
    again = subprocess.run(
        [sys.executable, "-m", "a3c.cli", "compare", "CartPole-v0", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 2 and "not empty" in again.stderr


def layout(run_dir: Path) -> tuple[set[str], list[str], set[str]]:
    """A run directory's file names (TensorBoard's one pattern), progress.csv's columns, run.json's keys."""
    names = {
        "events.out.tfevents.*" if p.name.startswith("events.out") else str(p.relative_to(run_dir))
        for p in run_dir.rglob("*")
        if p.is_file() and not p.name.endswith(".safetensors")
    }
    columns = next(csv.reader(open(run_dir / "progress.csv")))
    return names, columns, set(json.loads((run_dir / "run.json").read_text()))


def test_train_and_compare_write_the_same_run_directory_layout(tmp_path):
    trained = tmp_path / "trained"
    args = ["train", "CartPole-v0", "--workers", "2", "--set", "execution=local", "--set", "model.fcnet_hiddens=[16]"]
    out = subprocess.run(
        [sys.executable, "-m", "a3c.cli", *args, "--iterations", "2", "--run-dir", str(trained)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    compare("CartPole-v0", ["a3c"], [0], {"training_iteration": 2}, {"a3c": FAST}, tmp_path / "cmp")
    compared = tmp_path / "cmp" / "runs" / "a3c_seed0"
    assert layout(compared) == layout(trained)
    assert (compared / "checkpoints" / "checkpoint_000002.safetensors").is_file()


def test_compare_never_overwrites_an_earlier_run(tmp_path):
    (tmp_path / "runs" / "a3c_seed0").mkdir(parents=True)
    (tmp_path / "runs" / "a3c_seed0" / "progress.csv").write_text("precious")
    with pytest.raises(RunDirectoryError, match="not empty"):
        compare("CartPole-v0", ["a3c"], [0], {"training_iteration": 1}, {"a3c": FAST}, tmp_path)
