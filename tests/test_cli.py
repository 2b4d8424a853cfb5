"""The `a3c` command line, run as a user runs it: a real subprocess, real files, exit codes."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from a3c.cli import config_default

FAST = ["--workers", "0", "--set", "grads_per_step=10", "--set", "model.fcnet_hiddens=[16]", "--seed", "1"]
FAST += ["--set", "num_envs_per_worker=1"]  # the driver would step 16 otherwise


def a3c(*args, cwd, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "a3c.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def start_endless_training(run: Path, cwd: Path, checkpoint_every: int) -> subprocess.Popen:
    """`a3c train` in the background, for as long as the test lets it run."""
    command = [sys.executable, "-m", "a3c.cli", "train", "CartPole-v0", *FAST, "--iterations", "100000"]
    command += ["--checkpoint-every", str(checkpoint_every), "--run-dir", str(run)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)


def wait_until(condition, what: str, timeout_s: float = 300) -> None:
    """Poll state the process makes visible (files it writes); the bound is generous, not a speed guess."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.1)


def read_progress(run_dir: Path) -> list[dict]:
    with open(run_dir / "progress.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_help_explains_every_option_with_its_default(tmp_path):
    for command in ["train", "evaluate", "plot"]:
        out = a3c(command, "--help", cwd=tmp_path)
        assert out.returncode == 0
        assert "--help" in out.stdout
    text = a3c("train", "--help", cwd=tmp_path).stdout
    for option in ["--agent", "--workers", "--iterations", "--stop-reward", "--time-limit", "--set", "--resume"]:
        assert option in text
    assert "default: 100" in text


def test_help_gives_each_agent_its_own_default_where_they_differ():
    assert config_default("batch_size") == "a3c 16, ppo 32, a2c 8"
    assert config_default("num_workers") == "2"


def assert_plain_output(out: subprocess.CompletedProcess, iterations: int) -> dict[str, str]:
    """Output to a pipe: no escape codes, one plain progress line per iteration, one summary; its rows."""
    assert "\x1b" not in out.stdout + out.stderr, "no ANSI escape codes in a pipe"
    progress = [line for line in out.stderr.splitlines() if line.startswith("iteration ")]
    assert len(progress) == iterations, out.stderr
    for line in progress:
        clock = r"(\d+:)?\d+:\d\d"
        pattern = r"iteration \d+/\d+  env steps [\d,]+  steps/s [\d,]+  reward mean \S+  "
        pattern += rf"elapsed {clock}  remaining ({clock}|-)"
        assert re.fullmatch(pattern, line), line
    lines = out.stdout.splitlines()
    assert lines.count("Training finished") == 1 and lines[0] == "Training finished", out.stdout
    rows = dict(line.strip().split(": ", 1) for line in lines[1:])
    assert {"stopped by", "iterations", "env steps", "checkpoint", "run directory"} <= set(rows), rows
    return rows


def test_train_writes_the_run_directory_then_resume_continues_it(tmp_path):
    run = tmp_path / "run"
    out = a3c("train", "CartPole-v0", *FAST, "--iterations", 3, "--checkpoint-every", 1, "--run-dir", run, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = assert_plain_output(out, iterations=3)
    assert rows["stopped by"] == "3 iterations" and rows["iterations"] == "3"
    config = json.loads((run / "config.json").read_text())
    assert config["grads_per_step"] == 10 and config["model"]["fcnet_hiddens"] == [16]
    assert config["lr"] == 1.4e-3, "config.json says what lr None stood for"
    assert len((run / "result.json").read_text().splitlines()) == 3
    assert list(run.glob("events.out.tfevents.*")), "TensorBoard events are written"
    assert sorted(p.name for p in (run / "checkpoints").glob("*.safetensors"))[-1] == "checkpoint_000003.safetensors"

    out = a3c("train", "--resume", run, "--iterations", 5, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = read_progress(run)
    assert [int(r["training_iteration"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [int(r["timesteps_total"]) for r in rows] == [160, 320, 480, 640, 800]
    times = [float(r["time_total_s"]) for r in rows]
    assert times == sorted(times), "the time counter continues, it does not restart"

    # Already past the stop condition: one line saying so and how to go further; no agent is built.
    out = a3c("train", "--resume", run, "--iterations", 2, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    said = (out.stdout + out.stderr).strip().splitlines()
    assert len(said) == 1, said
    assert f"{run} is already at iteration 5" in said[0] and f"a3c train --resume {run} --iterations 10" in said[0]
    assert len(read_progress(run)) == 5


def test_stop_reward_needs_a_full_window_of_100_episodes_and_evaluation_rows_sit_beside_training(tmp_path):
    """Every CartPole episode earns more than 5: the run still trains on until 100 episodes have finished."""
    run = tmp_path / "run"
    args = ["--stop-reward", 5, "--iterations", 100, "--eval-every", 2, "--eval-episodes", 2, "--run-dir", run]
    out = a3c("train", "CartPole-v0", *FAST, *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = read_progress(run)
    episodes = [int(r["episodes_total"]) for r in rows]
    assert len(rows) > 1 and episodes[-1] >= 100 > episodes[-2], episodes
    stopped_by = dict(line.strip().split(": ", 1) for line in out.stdout.splitlines()[1:])["stopped by"]
    assert stopped_by.startswith("episode_reward_mean") and stopped_by.endswith(">= 5 over 100 episodes")
    with open(run / "evaluation.csv", newline="") as handle:
        evaluations = list(csv.DictReader(handle))
    assert [int(r["training_iteration"]) for r in evaluations] == list(range(2, len(rows) + 1, 2))
    assert all(r["episodes"] == "2" for r in evaluations)
    assert "evaluation at iteration 2: 2 episodes, reward mean" in out.stderr


def test_a_time_limit_already_passed_shows_nothing_left_not_a_negative_time(tmp_path):
    out = a3c("train", "CartPole-v0", *FAST, "--time-limit", 0.001, "--run-dir", tmp_path / "run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert_plain_output(out, iterations=1)
    progress = [line for line in out.stderr.splitlines() if line.startswith("iteration ")]
    assert progress[-1].endswith("remaining 0:00"), progress


def test_env_steps_stop_a_run_and_resume_says_how_to_go_further(tmp_path):
    run = tmp_path / "run"
    out = a3c("train", "CartPole-v0", *FAST, "--env-steps", 320, "--run-dir", run, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "stopped by: 320 env steps" in out.stdout
    assert [int(r["timesteps_total"]) for r in read_progress(run)] == [160, 320]
    out = a3c("train", "--resume", run, cwd=tmp_path)
    assert out.returncode == 0 and f"a3c train --resume {run} --env-steps 640" in out.stdout, out.stdout


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    run = tmp_path / "run"
    proc = start_endless_training(run, tmp_path, checkpoint_every=0)
    results = run / "result.json"
    wait_until(lambda: results.exists() and results.read_text().count("\n") >= 1, "the first logged iteration")
    proc.send_signal(signal.SIGINT)  # an iteration was logged: the training loop is running
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert f"a3c train --resume {run}" in stderr
    checkpoints = list((run / "checkpoints").glob("checkpoint_*.safetensors"))
    assert len(checkpoints) == 1
    saved_at = int(checkpoints[0].stem.split("_")[1])
    assert saved_at >= len(read_progress(run)) >= 1
    out = a3c("train", "--resume", run, "--iterations", saved_at + 1, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert int(read_progress(run)[-1]["training_iteration"]) == saved_at + 1


def test_evaluate_and_render_and_plot(tmp_path):
    run = tmp_path / "run"
    assert a3c("train", "CartPole-v0", *FAST, "--iterations", 2, "--run-dir", run, cwd=tmp_path).returncode == 0
    out = a3c("evaluate", run / "checkpoints" / "index.json", "--best", "--episodes", 2, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    used = re.escape(str(run / "checkpoints" / "checkpoint_000002.safetensors"))
    stats = r"mean \S+  std \S+  min \S+  max \S+"
    assert re.fullmatch(rf"CartPole-v0: 2 episodes with {used}: {stats}", out.stdout.strip()), out.stdout
    gif = tmp_path / "episode.gif"
    out = a3c("evaluate", run, "--episodes", 3, "--render", gif, "--seed", 0, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "mean" in out.stdout and "std" in out.stdout and "\x1b" not in out.stdout
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    from PIL import Image

    frames = Image.open(gif).n_frames
    said = re.search(rf"wrote {re.escape(str(gif))}: one more episode, reward (\S+), (\S+) frames", out.stdout)
    assert said, out.stdout
    # CartPole pays 1 a step, and the episode has one frame more than steps (the reset's); the GIF
    # merges a frame that repeats the one before it
    assert float(said[1]) == int(said[2].replace(",", "")) - 1 and 5 < frames <= float(said[1]) + 1, out.stdout
    png = tmp_path / "curves.png"
    out = a3c("plot", run, "--out", png, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "CartPol-v0"], "unknown gymnasium environment 'CartPol-v0'; did you mean 'CartPole-v0'"),
        (["train", "CartPole-v0", "--set", "lrr=0.1"], "unknown config key 'lrr'; did you mean 'lr'"),
        (["train", "CartPole-v0", "--set", "lr"], "--set expects key=value"),
        (["train", "CartPole-v0", "--set", "lr=-1"], "config['lr'] must be a number > 0"),
        (["train", "CartPole-v0", "--config", "missing.yaml"], "cannot read config file missing.yaml"),
        (["train", "CartPole-v0", "--config", "bad.json"], "cannot parse config file bad.json"),
        (["train", "CartPole-v0", "--agent", "dqn"], "unknown agent 'dqn'"),
        (["train", "--resume", "nowhere"], "not a run directory"),
        (["evaluate", "missing.safetensors"], "checkpoint not found"),
        (["evaluate", "bad.json"], "not an a3c checkpoint"),
        (["evaluate", "empty_dir"], "no checkpoint in"),
        (["plot", "empty_dir"], "has no progress.csv"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "empty_dir").mkdir()
    out = a3c(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_an_environment_that_breaks_during_a_run_is_a_failure_and_the_run_is_saved(tmp_path):
    run = tmp_path / "run"
    path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "a3c.cli", "train", "toy_envs:a3c-tests/Breaks-v0", *FAST, "--iterations", "5"]
    command += ["--set", "env_config.after=200", "--run-dir", str(run)]
    out = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=300, env={**os.environ, "PYTHONPATH": path}
    )
    assert out.returncode == 1, out.stderr  # a run failure, not bad input (2)
    assert "environment failed:" in out.stderr and "the simulator broke" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(read_progress(run)) == 1 and list(run.glob("**/*.safetensors")), "the first iteration was saved"


def test_debug_shows_the_traceback(tmp_path):
    out = a3c("train", "CartPol-v0", "--debug", cwd=tmp_path)
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_an_existing_run_is_never_overwritten(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "progress.csv").write_text("precious")
    out = a3c("train", "CartPole-v0", *FAST, "--run-dir", run, cwd=tmp_path)
    assert out.returncode == 2 and "not empty" in out.stderr
    assert (run / "progress.csv").read_text() == "precious"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_output_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    out = a3c("train", "CartPole-v0", *FAST, "--run-dir", locked / "run", cwd=tmp_path)
    assert out.returncode == 2 and "cannot write" in out.stderr


def test_an_output_path_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    out = a3c("train", "CartPole-v0", *FAST, "--run-dir", tmp_path / "afile" / "run", cwd=tmp_path)
    assert out.returncode == 2 and "cannot write" in out.stderr


def test_a_driver_killed_mid_run_resumes_losing_at_most_one_iteration(tmp_path):
    run = tmp_path / "run"
    proc = start_endless_training(run, tmp_path, checkpoint_every=1)
    wait_until(lambda: len(list((run / "checkpoints").glob("*.safetensors"))) >= 3, "three checkpoints")
    proc.kill()  # SIGKILL: no handler runs, nothing is saved on the way out
    proc.communicate(timeout=300)
    logged = len(read_progress(run))
    out = a3c("train", "--resume", run, "--iterations", logged + 2, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    resumed_from = int(out.stderr.split("(iteration ")[1].split(")")[0])
    assert logged - resumed_from <= 1, "at most one iteration of work lost"
    assert int(read_progress(run)[-1]["training_iteration"]) == logged + 2


def test_a_second_ctrl_c_stops_at_once_and_still_saves(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "a3c.cli", "train", "CartPole-v0", *FAST, "--iterations", "100000"]
    command += ["--checkpoint-every", "0", "--run-dir", str(run), "--set", "grads_per_step=100000"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    # no iteration of 100,000 gradients ends soon: wait until the loop runs (its first plain line)
    wait_until(lambda: (run / "run.json").exists() and list(run.glob("events.out.tfevents.*")), "the run's files")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)  # not a speed guess: any gap works, the first Ctrl-C only sets a flag
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "stopping after this iteration" in stderr and f"a3c train --resume {run}" in stderr
    assert "Traceback" not in stderr
    assert list((run / "checkpoints").glob("checkpoint_*.safetensors"))
