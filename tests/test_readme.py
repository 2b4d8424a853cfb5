"""Every command in README.md runs, so the page cannot go stale.

Each line of a ```bash block and each ```python block is one of:
- RUN: run here as a real process, in a short form (the README's command with options appended that
  shrink it: click takes the last value of a repeated option; placeholders replaced);
- PARSED: too long for CI, so here the README's command with `--help` appended must parse (every
  option it names exists), and the test named with it runs the same command in a short form;
- NOT_RUN: commands that only install, run the whole test suite, or need machines of a cluster.
A command in none of them fails the test, and so does an entry whose command left the README.

Cost: one `a3c train` of 1 iteration in the driver (the run directory every other command reuses),
three short CLI processes, one process parsing the long commands, one process running the Python
blocks on one local Ray.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 300  # issue 29: a newcomer's page

# What a README command's `runs/...<timestamp>` placeholder stands for: the run the first command trains.
RUN_PLACEHOLDER = "runs/a3c_CartPole-v1_<timestamp>"
# Appended to a training command: 1 iteration of 4 gradients, sampled in the driver (no Ray actors).
SHORT_TRAIN = ["--iterations", "1", "--workers", "0", "--set", "grads_per_step=4", "--set", "num_envs_per_worker=1"]

TRAIN = "a3c train CartPole-v1 --stop-reward 475 --time-limit 120"
RUN: dict[str, list[str]] = {
    TRAIN: [*SHORT_TRAIN, "--seed", "0"],  # the run_dir fixture: --run-dir added there
    f"a3c evaluate {RUN_PLACEHOLDER} --episodes 20 --render cartpole.gif": ["--episodes", "1"],
    f"a3c plot {RUN_PLACEHOLDER} --out curves.png": [],
    f"a3c export {RUN_PLACEHOLDER} --format onnx --out policy.onnx": ["--check-steps", "20"],
}

# command -> "tests/file.py::test_name" that runs it in a short form (checked to exist).
PARSED: dict[str, str] = {
    f"a3c train --resume {RUN_PLACEHOLDER} --iterations 200": (
        "tests/test_cli.py::test_train_writes_the_run_directory_then_resume_continues_it"
    ),
    "PYTHONPATH=examples a3c train custom_env:a3c-examples/Rooms-v0 --iterations 20": (
        "tests/test_cli_spaces.py::test_train_then_evaluate_with_a_gif"
    ),
    "a3c compare CartPole-v0 --agents a3c,ppo,a2c --seeds 3 --stop-reward 195 --time-limit 120 "
    "--out compare-cartpole": "tests/test_compare.py::test_cli_compare_writes_the_files",
    "a3c tune CartPole-v0 --agent a3c --search lr=[1e-4,1e-3,3e-3] --samples 4 --scheduler asha --iterations 10 "
    "--out runs/sweep --workers 2 --set num_cpus_per_worker=0.25 --set num_cpus_for_driver=0.5": (
        "tests/test_tune.py::test_a3c_tune_runs_an_asha_sweep_of_two_trials_and_reports_the_best_config_and_checkpoint"
    ),
    "RAY_AUTH_MODE=token a3c train CartPole-v0 --address HEAD_IP:6379 --workers 32": (
        "tests/test_cluster.py::test_an_address_nobody_answers_at_is_one_line_and_exit_2"
    ),
}

NOT_RUN: dict[str, str] = {
    "make tutorial": "sets up .venv and runs the whole tutorial (minutes); its code paths run in tests/test_a3c_ray.py",
    "make test": "sets up .venv and runs this very suite (what CI runs: .ci/run)",
    "ray get-auth-token --generate": "writes ~/.ray/auth_token for a cluster of machines",
    "RAY_AUTH_MODE=token ray start --head --port=6379 --num-cpus=1": "starts a Ray head node (a cluster's machine)",
    "RAY_AUTH_MODE=token ray start --address=HEAD_IP:6379": "joins a Ray cluster (a cluster's machine)",
}

# Python blocks, each recognised by a line of its own, run with these replacements (each must be found).
PYTHON: dict[str, list[tuple[str, str]]] = {
    "ray.init()": [
        ('config["num_workers"] = 16', 'config["num_workers"] = 1'),
        ('config["batch_size"] = 16', 'config["batch_size"] = 16; config["grads_per_step"] = 4'),
        ("range(100)", "range(1)"),
    ],
    'path = agent.save("checkpoints")': [
        ('{"num_workers": 2, "seed": 0}', '{"num_workers": 2, "seed": 0, **SHORT}'),
        ("range(20)", "range(1)"),
    ],
    "lambda cfg: gym.make": [
        ('{"env_config": {"max_episode_steps": 100}}', '{"env_config": {"max_episode_steps": 100}, **SHORT}'),
    ],
}


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def block_commands(block: str) -> list[list[str]]:
    """Each command of a bash block as its words: continuation lines joined, comments dropped."""
    lines = block.replace("\\\n", " ").splitlines()
    return [words for words in (shlex.split(line, comments=True) for line in lines) if words]


def shell_commands(text: str) -> list[list[str]]:
    return [words for block in fenced_blocks(text, "bash") for words in block_commands(block)]


def key(words: list[str]) -> str:
    return " ".join(words)


README_TEXT = README.read_text(encoding="utf-8")
COMMANDS = {key(words): words for words in shell_commands(README_TEXT)}


def a3c_process(words: list[str], extra: list[str], cwd: Path, run_dir: Path | None = None):
    """A README command (env assignments first, then `a3c ...`) as a real process, with `extra` appended."""
    env = dict(os.environ)
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words[0].partition("=")
        env[name] = value
        words = words[1:]
    assert words[0] == "a3c", words
    args = [str(run_dir) if run_dir is not None and word == RUN_PLACEHOLDER else word for word in words[1:]]
    command = [sys.executable, "-m", "a3c.cli", *args, *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_readme_is_a_short_page_that_starts_with_the_two_commands():
    lines = README_TEXT.splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; at most {MAX_LINES}: move details to docs/"
    assert README_TEXT.startswith("# a3c\n\n```bash\n"), "README starts with the two commands"
    first = block_commands(fenced_blocks(README_TEXT, "bash")[0])
    assert [key(words) for words in first] == ["make tutorial", "make test"]  # .ci/run calls `make test`


def test_every_command_is_run_parsed_or_listed_and_no_entry_is_stale():
    listed = {**RUN, **PARSED, **NOT_RUN}
    assert len(listed) == len(RUN) + len(PARSED) + len(NOT_RUN), "a command is in two lists"
    unlisted = [command for command in COMMANDS if command not in listed]
    assert not unlisted, (
        f"README commands that this test neither runs nor lists (add each to RUN, PARSED or NOT_RUN): {unlisted}"
    )
    stale = [command for command in listed if command not in COMMANDS]
    assert not stale, f"listed commands no longer in README.md: {stale}"
    for command, test in PARSED.items():
        path, _, name = test.partition("::")
        assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), f"{test} (for {command!r}) is gone"
    blocks = fenced_blocks(README_TEXT, "python")
    for block in blocks:
        assert sum(marker in block for marker in PYTHON) == 1, (
            f"a README python block matches no PYTHON entry, or two:\n{block}"
        )
    assert len(blocks) == len(PYTHON), "a PYTHON entry matches no README python block"


def anchors(path: Path) -> set[str]:
    """The ids MkDocs (Python-Markdown's toc) gives the headings of a Markdown file."""
    headings = re.findall(
        r"^#+ (.+)$", re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S), re.M
    )
    return {re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower()) for heading in headings}


def test_every_link_of_the_readme_resolves():
    """Files and anchors (tests/test_docs.py's strict build checks them too, when the docs extra is installed)."""
    for target, anchor in re.findall(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)", README_TEXT):
        if re.match(r"^[a-z]+:", target):
            continue
        assert (ROOT / target).is_file(), f"README links to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(ROOT / target), f"README links to {target}#{anchor}: no such heading"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The README's first training command, shortened: the run every other command plays, plots, exports."""
    cwd = tmp_path_factory.mktemp("readme")
    out = a3c_process(COMMANDS[TRAIN], [*RUN[TRAIN], "--run-dir", str(cwd / "run")], cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Training finished" in out.stdout, out.stdout
    return cwd / "run"


@pytest.mark.parametrize("command", [command for command in RUN if command != TRAIN])
def test_each_command_runs_in_a_short_form(command, run_dir):
    out = a3c_process(COMMANDS[command], RUN[command], cwd=run_dir.parent, run_dir=run_dir)
    assert out.returncode == 0, f"{command}\n{out.stderr[-3000:]}"
    written = shlex.split(command)[-1]  # each writes the file its last word names
    assert (run_dir.parent / written).stat().st_size > 0, f"{command} wrote no {written}"


PARSE_ONLY = """
import contextlib, io, json, sys
from typer.main import get_command
from a3c.cli import app

command, codes = get_command(app), []
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            command.main(args=argv, prog_name="a3c")
        except SystemExit as stop:
            codes.append(stop.code)
print(json.dumps(codes))
"""


def test_the_long_commands_parse(tmp_path):
    argvs = []
    for command in PARSED:
        words = [word for word in COMMANDS[command] if not re.fullmatch(r"[A-Z_]+=\S*", word)]
        assert words[0] == "a3c", command
        argvs.append([*words[1:], "--help"])
    out = subprocess.run(
        [sys.executable, "-c", PARSE_ONLY, json.dumps(argvs)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    codes = json.loads(out.stdout.strip().splitlines()[-1])
    assert codes == [0] * len(argvs), dict(zip(PARSED, codes, strict=True))


PYTHON_RUNNER = """
import json, sys
SHORT = {"num_workers": 0, "num_envs_per_worker": 1, "grads_per_step": 4}  # sampled in the driver: no actors
for block in json.loads(sys.argv[1]):
    exec(compile(block, "<README python block>", "exec"), {"__name__": "__main__", "SHORT": SHORT})
import ray
ray.shutdown()
print("all blocks ran")
"""


def test_the_python_blocks_run_in_a_short_form(tmp_path):
    """All in one process and one local Ray (the tutorial's ray.init() comes first), in README order."""
    blocks = []
    for block in fenced_blocks(README_TEXT, "python"):
        (marker,) = [marker for marker in PYTHON if marker in block]
        for old, new in PYTHON[marker]:
            assert block.count(old) == 1, f"{old!r} is no longer in the README block that has {marker!r}"
            block = block.replace(old, new)
        blocks.append(block)
    out = subprocess.run(
        [sys.executable, "-c", PYTHON_RUNNER, json.dumps(blocks)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("all blocks ran"), out.stdout
    assert list((tmp_path / "checkpoints").glob("*.safetensors")), "agent.save wrote no checkpoint"
