"""What a user sees through a pipe: the tutorial's own lines, and none of what Ray prints for the
agent's own local Ray (token-auth advice, the raylet's worker-count notices, abseil RAW lines)."""

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from a3c import DEFAULT_CONFIG, A3CAgent

# The tutorial's API and shape (examples/tutorial.py): two agents of 16 workers in one Ray session,
# built before either trains, then stopped; short iterations so that the test stays small.
TUTORIAL = textwrap.dedent("""
    from a3c import DEFAULT_CONFIG, A3CAgent

    config = DEFAULT_CONFIG.copy()
    config["num_workers"] = 16
    config["batch_size"] = 16
    config["grads_per_step"] = 20
    config_ = config.copy()
    agent = A3CAgent(config, "CartPole-v0")
    agent_ = A3CAgent(config_, "MountainCar-v0")
    for i in range(2):
        result = agent.train()
        result_ = agent_.train()
        print(f"iteration {i + 1}: {result.episode_reward_mean:.1f} {result_.episode_reward_mean:.1f}", flush=True)
    agent.stop()
    agent_.stop()
    from a3c.execution.ray_private import session_logs_dir

    print("logs:", session_logs_dir(), flush=True)
""")

NOISE = ["WARNING", "RAY_AUTH_MODE", "(raylet)", "RAW:", "mutex.cc", "pid=", "\x1b["]


def run_python(code: str, **env: str) -> list[str]:
    """stdout and stderr of `code` in a fresh interpreter, through one pipe, as `2>&1 | tee` sees them."""
    # As a fresh shell has it: without what the test session's own Ray set in this process's
    # environment (Ray sets RAY_AUTH_MODE=token when it turns token authentication on).
    dropped = {"A3C_RAY_VERBOSE", "RAY_AUTH_MODE", "RAY_ADDRESS"}
    environ = {k: v for k, v in os.environ.items() if k not in dropped} | env
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, env=environ)
    assert out.returncode == 0, out.stdout[-3000:]
    return out.stdout.splitlines()


def agent_log_lines(caplog, config: dict, env: str) -> list[str]:
    """What building this agent logs (model, preprocessing, workers), from an in-process twin without Ray."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="a3c"):
        A3CAgent({**config, "execution": "local"}, env).stop()
    return [record.getMessage() for record in caplog.records]


def test_the_tutorial_through_a_pipe_shows_its_own_lines_only(caplog):
    lines = run_python(TUTORIAL)
    assert not [line for line in lines if any(noise in line for noise in NOISE)], "\n".join(lines)
    config = {**DEFAULT_CONFIG, "num_workers": 16, "batch_size": 16, "grads_per_step": 20}
    expected = agent_log_lines(caplog, config, "CartPole-v0") + agent_log_lines(caplog, config, "MountainCar-v0")
    assert len(expected) >= 2
    assert lines[: len(expected)] == expected
    assert [line.split(":")[0] for line in lines[len(expected) :]] == ["iteration 1", "iteration 2", "logs"]

    # The workers ended by a forced kill, not by the gentle exit in which a thread of Ray's core worker
    # can lock a destroyed abseil Mutex (the source of "[mutex.cc : 452] RAW: Lock blocking" lines).
    logs = Path(lines[-1].split("logs: ")[1])
    worker_logs = [path.read_text() for path in logs.glob("python-core-worker-*.log")]
    assert sum("killed by `ray.kill`" in text for text in worker_logs) == 32
    assert not [text for text in worker_logs if "all references to the actor were removed" in text]


def test_a3c_ray_verbose_shows_what_ray_prints():
    """The quiet run above shows no token-auth advice; with A3C_RAY_VERBOSE=1 Ray's output is back."""
    code = "from a3c.execution.ray_runtime import ensure_ray\nensure_ray()"
    lines = run_python(code, A3C_RAY_VERBOSE="1")
    assert [line for line in lines if "Token authentication is enabled" in line], lines
