"""`a3c train` then `a3c evaluate --render` from the command line on a continuous-action env and on a
custom env with Dict observations (named as gymnasium's "module:Env-v0")."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FAST = ["--workers", "0", "--set", "grads_per_step=5", "--set", "model.fcnet_hiddens=[16]", "--seed", "1"]
FAST += ["--set", "num_envs_per_worker=1"]  # the driver would step 16 otherwise


def a3c(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "a3c.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300, env=env)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "custom_env:a3c-examples/Rooms-v0"])
def test_train_then_evaluate_with_a_gif(env_id, tmp_path):
    run = tmp_path / "run"
    out = a3c("train", env_id, *FAST, "--iterations", 2, "--run-dir", run, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    gif = tmp_path / "episode.gif"
    out = a3c("evaluate", run, "--episodes", 3, "--deterministic", "--render", gif, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "mean" in out.stdout and gif.stat().st_size > 0


def test_an_unknown_module_is_one_clear_line(tmp_path):
    out = a3c("train", "no_such_module:Env-v0", "--iterations", 1, cwd=tmp_path)
    assert out.returncode == 2
    assert "cannot import module 'no_such_module'" in out.stderr and "Traceback" not in out.stderr


def test_a_missing_environment_family_is_one_line_naming_the_extra(tmp_path):
    import importlib.util

    if importlib.util.find_spec("Box2D") is not None:
        pytest.skip("box2d is installed here: nothing is missing")
    out = a3c("train", "LunarLander-v3", "--iterations", 1, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "install the 'box2d' extra: pip install -e '.[box2d]'" in out.stderr
