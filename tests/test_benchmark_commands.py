"""Every benchmark command runs against today's code: each as a user runs it (its own process, its own
local Ray), at sizes that take seconds; and every command BENCHMARKS.md and the docs give parses against
today's CLI and suite data (its suite, rows and entrants exist; its tool exists).

`make bench-quick` once crashed on a changed model signature and nothing noticed: a benchmark is only
run by hand, for minutes. The figures are not checked: a wall-clock figure on a shared machine is no
test (BENCHMARKS.md holds the measured ones); that each command finishes and writes its table is.
The suites all run through one runner (benchmarks/suites.py), so one short suite run covers them; each
suite's data is checked in tests/test_benchmark.py (every entrant's config resolves against its agent).
"""

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from a3c.catalog import available_cores
from benchmarks import __main__ as cli
from benchmarks.entrants import tuned_config

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTED = [ROOT / "BENCHMARKS.md", ROOT / "SCALING.md", ROOT / "docs" / "benchmarks.md"]


def run_module(*args: str, timeout: float = 240.0) -> str:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def documented_commands() -> list[list[str]]:
    """Every `python -m benchmarks...` command in backticks or a bash block of the benchmark docs."""
    commands = []
    for path in DOCUMENTED:
        blocks = re.findall(r"```\w*\n(.*?)```", path.read_text(), re.S)
        prose = re.sub(r"```\w*\n.*?```", "", path.read_text(), flags=re.S)
        spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
        spans += [line for block in blocks for line in block.splitlines()]
        for span in spans:
            command = re.match(r"\s*(?:\.venv/bin/)?python -m (benchmarks\S*)(.*)", span)
            if command and command[2].strip():  # not the bare name in running text
                commands.append([command[1], *shlex.split(command[2].split(" #")[0])])
    return commands


def test_every_documented_command_parses(monkeypatch):
    """ENV in a command stands for each of the suite's rows; [brackets] mark an optional part. A plot
    reads the reports it names (kept in git), from the repository's root as the docs say to run it."""
    monkeypatch.chdir(ROOT)
    commands = documented_commands()
    assert len(commands) > 40, commands
    for words in commands:
        module, args = words[0], [word.strip("[]") for word in words[1:]]
        if module == "benchmarks" and args[0] == "suite" and "ENV" in args:
            for row in cli.load_suite(args[1]).rows:
                cli.parse_args([row.env_id if word == "ENV" else word for word in args])
        elif module == "benchmarks":
            if args[0] != "report":  # a report names a file of a past run
                cli.parse_args(args)
        else:
            assert importlib.util.find_spec(module) is not None, f"no module {module}: {words}"


def test_speed_every_section_in_smoke_size(tmp_path):
    out = run_module("benchmarks", "speed", "--smoke", "--out", tmp_path / "speed.json")
    report = json.loads((tmp_path / "speed.json").read_text())
    for section in ("limit", "floor", "throughput", "tutorial", "pong", "ppo"):
        assert section in report, f"section {section} wrote nothing:\n{out[-2000:]}"
    assert report["tutorial_to_floor_ratio"] > 0 and report["pong_fraction_of_two_cores"] > 0
    assert report["pong_fraction_bfloat16"] > 0
    markdown = (tmp_path / "speed.md").read_text()
    assert "Ray's floor for the tutorial" in markdown and "PPO: its SGD epochs" in markdown
    ppo = {(row["env"], row["num_learner_threads"]): row for row in report["ppo"]["rows"]}
    assert set(ppo) == {(env, threads) for env in ("CartPole-v1", "ALE/Pong-v5") for threads in (1, 2)}
    assert ppo[("CartPole-v1", 1)]["default_threads"] == 1  # an MLP learns on one thread
    workers = tuned_config("pong_ppo")["num_workers"]
    assert ppo[("ALE/Pong-v5", 2)]["default_threads"] == min(1 + workers, available_cores())


def test_a_suite_row_with_ours_and_sb3_writes_run_directories_the_tools_read(tmp_path):
    """One of ours (through a3c.run.Run) and one SB3 entrant on a row; both leave the run directory layout
    `a3c train` writes, and dead_units reads our run's checkpoint (a ReLU net, through --override)."""
    run_module(
        "benchmarks", "suite", "defaults", "--rows", "CartPole-v1", "--entrants", "a3c", "sb3_ppo_zoo",
        "--seeds", "1", "--cap-scale", "0.04", "--override", '{"model": {"fcnet_activation": "relu"}}',
        "--out", tmp_path / "suite.json", "--runs-dir", tmp_path / "runs",
    )  # fmt: skip
    data = json.loads((tmp_path / "suite.json").read_text())
    runs = data["rows"][0]["entrants"]
    assert [r["error"] for name in ("a3c", "sb3_ppo_zoo") for r in runs[name]["runs"]] == [None, None]
    assert runs["sb3_ppo_zoo"]["runs"][0]["env_steps"] > 0 and (tmp_path / "suite.md").is_file()
    ours, sb3 = tmp_path / "runs" / "CartPole-v1" / "a3c_seed0", tmp_path / "runs" / "CartPole-v1" / "sb3_ppo_zoo_seed0"
    for run_dir in (ours, sb3):
        assert {"config.json", "progress.csv", "result.json"} <= {p.name for p in run_dir.iterdir()}
    assert "dead, ReLU 1" in run_module("benchmarks.tools.dead_units", ours, "--steps", "40")

    # --resume keeps what is recorded and runs only what is missing (here: seed 1 of ours)
    (ours / "progress.csv").unlink()  # had it run again, its own progress would be rewritten
    resumed = run_module(
        "benchmarks", "suite", "defaults", "--rows", "CartPole-v1", "--entrants", "a3c", "--seed-list", "0,1",
        "--cap-scale", "0.04", "--override", '{"model": {"fcnet_activation": "relu"}}',
        "--out", tmp_path / "suite.json", "--resume",
    )  # fmt: skip
    assert resumed.count("recorded earlier, kept") == 1 and "a3c seed 1: threshold" in resumed, resumed
    again = json.loads((tmp_path / "suite.json").read_text())
    assert [r["seed"] for r in again["rows"][0]["entrants"]["a3c"]["runs"]] == [0, 1]
    assert again["rows"][0]["entrants"]["sb3_ppo_zoo"] == runs["sb3_ppo_zoo"]  # not asked for, not lost
    assert not (ours / "progress.csv").exists() and (tmp_path / "runs" / "CartPole-v1" / "a3c_seed1").is_dir()


def test_resume_refuses_other_settings_or_nothing_to_resume(tmp_path):
    args = ["suite", "tutorial", "--out", str(tmp_path / "suite.json"), "--resume"]
    with pytest.raises(SystemExit, match="nothing to resume"):
        cli.main(args)
    (tmp_path / "suite.json").write_text(json.dumps({"settings": {"cap_scale": 1.0, "override": {}}, "rows": []}))
    with pytest.raises(SystemExit, match=r"cap_scale: 1.0 then, 0.5 now.*another --out"):
        cli.main([*args, "--cap-scale", "0.5"])


@pytest.mark.parametrize(
    "args",
    [
        ["scaling", "--repeats", "2"],
        ["scaling", "--parts", "--repeats", "2"],
        ["ray_task_cost", "--round-trips", "5", "--actors", "2"],
        ["memory_soak", "--minutes", "0.05", "--workers", "2", "--baseline-s", "1"],
        ["allocator", "--seconds", "0.1", "--rounds", "1"],
        ["conv_layout", "--repeats", "1", "--iterations", "1", "--seconds", "0"],
    ],
    ids=lambda args: args[0],
)
def test_tools_run(args):
    assert run_module(f"benchmarks.tools.{args[0]}", *args[1:]).strip()


def test_spaces_sections(tmp_path):
    """All but `transfer`, which starts two more local Rays of four Pong LSTM workers each (about 40 s
    here: more than the suite can spend; run by hand with `--sections transfer`), and `pong`, whose
    measuring function is benchmarks.measure's `agent_throughput` on Pong, run by the speed smoke test."""
    run_module(
        "benchmarks.tools.spaces", "--sections", "startup", "e2e", "--seconds", "0.5",
        "--actors", "1", "--workers", "1", "--envs", "FrozenLake-v1", "--scratch", tmp_path / "e2e",
        "--out", tmp_path / "spaces.json",
    )  # fmt: skip
    assert json.loads((tmp_path / "spaces.json").read_text())
