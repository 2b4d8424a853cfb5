"""Every benchmark script runs against today's code: each command, every section, at its smallest size.

`make bench-quick` once crashed on a changed model signature and nothing noticed: a benchmark is only
run by hand, for minutes. Here each script runs as a user runs it (its own process, its own local Ray),
with sizes that take seconds. The figures are not checked: a wall-clock figure on a shared machine is no
test (BENCHMARKS.md holds the measured ones); that each script finishes and writes its table is.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def run_script(*args: str, timeout: float = 240.0, cwd: Path = ROOT) -> str:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_run_py_every_section_in_smoke_size(tmp_path):
    out = run_script(BENCH / "run.py", "--smoke", "--out", tmp_path)
    report = json.loads((tmp_path / "latest.json").read_text())
    for section in ("limit", "floor", "throughput", "tutorial", "pong", "cartpole", "mountaincar"):
        assert section in report, f"section {section} wrote nothing:\n{out[-2000:]}"
    assert report["tutorial_to_floor_ratio"] > 0 and report["pong_fraction_of_two_cores"] > 0
    assert "Ray's floor for the tutorial" in (tmp_path / "latest.md").read_text()


def test_suite_runs_a_row(tmp_path):
    """A row with one of ours and one Stable-Baselines3 entrant. The --pong mode is the same runner on
    another row (its entrants are checked in tests/test_benchmark.py); its run, 20 s of torch workers'
    start-up, is left to `suite.py --pong` by hand, for the suite's time."""
    run_script(
        BENCH / "suite.py", "--rows", "CartPole-v1", "--entrants", "a3c", "sb3_ppo", "--seeds", "1",
        "--cap-scale", "0.03", "--out", tmp_path / "suite.json",
    )  # fmt: skip
    assert json.loads((tmp_path / "suite.json").read_text())
    assert (tmp_path / "suite.md").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["tutorial_seeds.py", "--seeds", "1", "--iterations", "1", "--override", '{"num_workers": 2}'],
        ["scaling.py", "--repeats", "2"],
        ["scaling.py", "--parts", "--repeats", "2"],
        ["memory_soak.py", "--minutes", "0.05", "--workers", "2", "--baseline-s", "1"],
        ["mountaincar_variants.py", "--variants", "shipped", "--seeds", "0", "--cap-s", "1"],
        ["defaults_ablation.py", "--env", "CartPole-v1", "--seed-list", "0", "--cap", "1", "--variants", "defaults"],
        ["allocator.py", "--seconds", "0.1", "--rounds", "1"],
    ],
    ids=lambda args: args[0],
)
def test_probe_scripts_run(args):
    assert run_script(BENCH / args[0], *args[1:]).strip()


def test_spaces_sections(tmp_path):
    """All but `transfer`, which starts two more local Rays of four Pong LSTM workers each (about 40 s
    here: more than the suite can spend; run by hand with `spaces.py --sections transfer`), and `pong`,
    whose measuring function is run.py's `a3c_throughput` on Pong, run by the smoke test above."""
    run_script(
        BENCH / "spaces.py", "--sections", "startup", "e2e", "--seconds", "0.5",
        "--actors", "1", "--workers", "1", "--envs", "FrozenLake-v1", "--scratch", tmp_path / "e2e",
        "--out", tmp_path / "spaces.json",
    )  # fmt: skip
    assert json.loads((tmp_path / "spaces.json").read_text())


def test_checkpoint_probes_read_a_trained_run(tmp_path):
    """dead_units.py and halfcheetah_probe.py read checkpoints that `a3c train` writes."""
    a3c = Path(sys.executable).parent / "a3c"
    subprocess.run(
        [a3c, "train", "HalfCheetah-v5", "--iterations", "1", "--workers", "1", "--run-dir", tmp_path / "cheetah"],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    relu = {"model": {"fcnet_activation": "relu"}}
    subprocess.run(
        [a3c, "train", "CartPole-v1", "--iterations", "1", "--workers", "1", "--run-dir", tmp_path / "relu",
         "--set", f"model={json.dumps(relu['model'])}"],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    assert "dead" in run_script(BENCH / "dead_units.py", tmp_path / "relu", "--init", "--steps", "40")
    assert "greedy return" in run_script(BENCH / "halfcheetah_probe.py", tmp_path / "cheetah")
