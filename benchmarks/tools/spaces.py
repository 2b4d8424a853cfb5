"""What the model catalog costs: worker start-up and memory with and without torch, Atari
throughput against the raw emulator, and how a large model's weights should travel.

    python -m benchmarks.tools.spaces                 # all sections (about 5 minutes; needs `make extras`)
    python -m benchmarks.tools.spaces --sections pong

Sections, each printed as a markdown table:
  startup    Ray actors of RolloutWorker: time from creation until all answer, and resident memory
             per actor, for an MLP (numpy, no torch), an MLP + LSTM and Pong's conv net (torch)
  pong       raw ALE/Pong-v5 env.step rate in one process (random actions) against A3C's env steps/s
             with 2 and 16 workers (agent steps: each is 4 emulator frames in both)
  e2e        for each environment of issue 12, defaults: `a3c train --time-limit S` then
             `a3c evaluate --render`, and the same from Python (A3CAgent.train, SavedPolicy.evaluate):
             the reward reached and the time
  transfer   gradients/s of A3C on the conv + LSTM model (about 1.2M parameters, 4.8 MB) with the
             weights inline in each call (RAY_max_direct_call_object_size 16 MiB) and through Ray's
             object store (the 4 MiB default a3c sets), each in a fresh Ray
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = ("startup", "pong", "transfer", "e2e")
# The environments issue 12 names, each trained with the defaults from Python and from the CLI.
E2E_ENVS = [
    "Pendulum-v1",
    "LunarLanderContinuous-v3",
    "HalfCheetah-v5",
    "ALE/Pong-v5",
    "FrozenLake-v1",
    "custom_env:a3c-examples/Rooms-v0",
]
ROOT = Path(__file__).resolve().parents[2]

from benchmarks.measure import agent_throughput, env_step_rate  # noqa: E402

LSTM = {"fcnet_hiddens": [64], "use_lstm": True, "lstm_cell_size": 64}
ONE_ENV = {"num_envs_per_worker": 1}  # as README's tables were measured (the default was 1 until 2026-11-26)
WORKER_KINDS = {
    "MLP, numpy (CartPole-v1)": ("CartPole-v1", ONE_ENV),
    "MLP + LSTM, torch (CartPole-v1)": ("CartPole-v1", {**ONE_ENV, "model": LSTM}),
    "conv, torch (ALE/Pong-v5)": ("ALE/Pong-v5", ONE_ENV),
}


def startup(actors: int) -> list[dict]:
    import psutil
    import ray

    from a3c.config import A3C_SCHEMA, resolve_config
    from a3c.execution.ray_pool import RemoteRolloutWorker
    from a3c.execution.ray_runtime import ensure_ray

    ensure_ray(None)
    rows = []
    for label, (env, config) in WORKER_KINDS.items():
        resolved = resolve_config({"seed": 0, **config}, A3C_SCHEMA)
        start = time.perf_counter()
        handles = [RemoteRolloutWorker.remote(env, resolved, worker_index=i + 1) for i in range(actors)]
        pids = ray.get([h.pid.remote() for h in handles])
        elapsed = time.perf_counter() - start
        rss = [psutil.Process(pid).memory_info().rss / 2**20 for pid in pids]
        for handle in handles:
            ray.kill(handle)
        rows.append({"worker": label, "actors": actors, "start_s": elapsed, "rss_mib_median": statistics.median(rss)})
        time.sleep(2)  # let the killed processes go before the next kind starts
    ray.shutdown()
    return rows


PONG_CONFIGS = {
    "a3c_2_workers": {"num_workers": 2, **ONE_ENV},
    "a3c_16_workers": {"num_workers": 16},
    "a3c_defaults": {},  # 2 workers of 8 environments since 2026-11-26
}


def pong(seconds: float, names: tuple[str, ...] = tuple(PONG_CONFIGS)) -> dict:
    raw = env_step_rate("ALE/Pong-v5", seconds)
    result = {"raw_steps_per_s_one_process": raw, "raw_limit_two_cores": 2 * raw}
    configs = {name: PONG_CONFIGS[name] for name in names}
    for name, config in configs.items():
        measured = agent_throughput({**config, "grads_per_step": 20}, seconds, env="ALE/Pong-v5")
        result[name] = {
            "env_steps_per_s": measured["env_steps_per_s"],
            "grads_per_s": measured["grads_per_s"],
            "peak_memory_mib": measured["peak_memory_mib"],
        }
    return result


TRANSFER_CHILD = """
import json
from benchmarks.measure import agent_throughput
config = {{"num_workers": 4, "num_envs_per_worker": 1, "grads_per_step": 10}}
config["model"] = {{"use_lstm": True, "lstm_cell_size": 256}}
print(json.dumps(agent_throughput(config, {seconds}, env="ALE/Pong-v5")))
"""


def transfer(seconds: float) -> dict:
    results = {}
    for label, size in (("object store (4 MiB inline limit)", 4 * 2**20), ("inline (16 MiB limit)", 16 * 2**20)):
        code = TRANSFER_CHILD.format(seconds=seconds)
        env = {**os.environ, "RAY_max_direct_call_object_size": str(size)}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900, cwd=ROOT
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        results[label] = {k: measured[k] for k in ("grads_per_s", "env_steps_per_s", "peak_memory_mib")}
    return results


def e2e(seconds: float, workers: int, scratch: Path, envs: tuple[str, ...] = tuple(E2E_ENVS)) -> list[dict]:
    """Train each env for `seconds` from the CLI and from Python; evaluate both checkpoints."""
    from a3c import A3CAgent
    from a3c.evaluation import SavedPolicy
    from a3c.execution.ray_runtime import ensure_ray

    env_vars = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), os.environ.get("PYTHONPATH", "")])}
    sys.path.insert(0, str(ROOT / "examples"))
    os.environ["PYTHONPATH"] = env_vars["PYTHONPATH"]  # Ray's workers import custom_env too
    rows = []
    for env in envs:
        safe = env.replace("/", "-").replace(":", "-")
        run = scratch / f"cli_{safe}"
        gif = scratch / f"{safe}.gif"
        start = time.perf_counter()
        train = [sys.executable, "-m", "a3c.cli", "train", env, "--workers", str(workers), "--time-limit", str(seconds)]
        subprocess.run([*train, "--run-dir", str(run)], env=env_vars, check=True, capture_output=True, timeout=900)
        cli_wall = time.perf_counter() - start
        progress = (run / "result.json").read_text().splitlines()
        cli_result = json.loads(progress[-1])
        evaluate = [sys.executable, "-m", "a3c.cli", "evaluate", str(run), "--episodes", "5", "--render", str(gif)]
        subprocess.run(evaluate, env=env_vars, check=True, capture_output=True, timeout=900)
        cli_eval = SavedPolicy(run).evaluate(episodes=5, seed=0).summary["mean"]

        ensure_ray(None)
        start = time.perf_counter()
        agent = A3CAgent({"num_workers": workers}, env)
        result = agent.train()
        while result.time_total_s < seconds:
            result = agent.train()
        path = agent.save(scratch / f"py_{safe}")
        agent.stop()
        py_wall = time.perf_counter() - start
        py_eval = SavedPolicy(path).evaluate(episodes=5, seed=0).summary["mean"]
        rows.append(
            {
                "env": env,
                "cli": {
                    "reward_mean": cli_result["episode_reward_mean"],
                    "env_steps": cli_result["timesteps_total"],
                    "wall_s": cli_wall,
                    "evaluate_mean_5": cli_eval,
                    "gif_bytes": gif.stat().st_size,
                },
                "python": {
                    "reward_mean": result.episode_reward_mean,
                    "env_steps": result.timesteps_total,
                    "wall_s": py_wall,
                    "evaluate_mean_5": py_eval,
                },
            }
        )
        print(
            f"  {env}: CLI {cli_result['episode_reward_mean']:.1f}, Python {result.episode_reward_mean:.1f}", flush=True
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring time per throughput cell")
    parser.add_argument("--actors", type=int, default=4, help="actors per kind in the start-up section")
    parser.add_argument("--workers", type=int, default=4, help="num_workers in the e2e section")
    parser.add_argument("--envs", nargs="+", default=E2E_ENVS, metavar="ENV", help="the e2e section's environments")
    parser.add_argument(
        "--pong-configs", nargs="+", choices=list(PONG_CONFIGS), default=list(PONG_CONFIGS), help="the pong section's"
    )
    parser.add_argument("--scratch", type=Path, default=None, help="e2e runs and GIFs (default: a new temp dir)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "spaces.json")
    args = parser.parse_args()
    try:
        import ale_py  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as error:
        sys.exit(f"benchmarks/spaces.py needs the atari and bench extras (make extras bench): {error}")
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "command": " ".join(sys.argv)}
    if "startup" in args.sections:
        report["startup"] = startup(args.actors)
        print("| worker | actors | start-up (s) | memory per actor (MiB, median) |\n|---|---|---|---|")
        for row in report["startup"]:
            print(f"| {row['worker']} | {row['actors']} | {row['start_s']:.1f} | {row['rss_mib_median']:.0f} |")
    if "pong" in args.sections:
        report["pong"] = result = pong(args.seconds, args.pong_configs)
        print("\n| ALE/Pong-v5 | env steps/s | share of 2 x raw |\n|---|---|---|")
        print(f"| raw env.step, one process | {result['raw_steps_per_s_one_process']:,.0f} | |")
        labels = {"a3c_2_workers": "2 workers, 1 env each", "a3c_16_workers": "16 workers", "a3c_defaults": "defaults"}
        for name, label in labels.items():
            if name not in result:
                continue
            rate = result[name]["env_steps_per_s"]
            print(f"| A3C, {label} | {rate:,.0f} | {rate / result['raw_limit_two_cores']:.2f} |")
    if "transfer" in args.sections:
        report["transfer"] = result = transfer(args.seconds)
        print("\n| conv + LSTM weights travel | gradients/s | env steps/s |\n|---|---|---|")
        for label, row in result.items():
            print(f"| {label} | {row['grads_per_s']:.1f} | {row['env_steps_per_s']:,.0f} |")
    if "e2e" in args.sections:
        scratch = args.scratch or Path(tempfile.mkdtemp(prefix="a3c-spaces-e2e-"))
        print(f"e2e runs and GIFs in {scratch}")
        report["e2e"] = rows = e2e(args.seconds, args.workers, scratch, args.envs)
        print(
            f"\n| environment ({args.seconds:.0f} s, defaults, {args.workers} workers) | CLI: reward mean (env steps) "
            "| CLI: evaluate, 5 episodes | Python: reward mean (env steps) | Python: evaluate |\n|---|---|---|---|---|"
        )
        for row in rows:
            cli, py = row["cli"], row["python"]
            print(
                f"| {row['env']} | {cli['reward_mean']:.1f} ({cli['env_steps']:,}) | {cli['evaluate_mean_5']:.1f} "
                f"| {py['reward_mean']:.1f} ({py['env_steps']:,}) | {py['evaluate_mean_5']:.1f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
