"""What the model catalog costs: worker start-up and memory with and without torch, Atari
throughput against the raw emulator, and how a large model's weights should travel.

    .venv/bin/python benchmarks/spaces.py                 # all sections (about 5 minutes; needs `make extras`)
    .venv/bin/python benchmarks/spaces.py --sections pong

Sections, each printed as a markdown table:
  startup    Ray actors of RolloutWorker: time from creation until all answer, and resident memory
             per actor, for an MLP (numpy, no torch), an MLP + LSTM and Pong's conv net (torch)
  pong       raw ALE/Pong-v5 env.step rate in one process (random actions) against A3C's env steps/s
             with 2 and 16 workers (agent steps: each is 4 emulator frames in both)
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import a3c_throughput, env_step_rate  # noqa: E402

SECTIONS = ("startup", "pong", "transfer")
LSTM = {"fcnet_hiddens": [64], "use_lstm": True, "lstm_cell_size": 64}
WORKER_KINDS = {
    "MLP, numpy (CartPole-v1)": ("CartPole-v1", {}),
    "MLP + LSTM, torch (CartPole-v1)": ("CartPole-v1", {"model": LSTM}),
    "conv, torch (ALE/Pong-v5)": ("ALE/Pong-v5", {}),
}


def startup(actors: int) -> list[dict]:
    import psutil
    import ray

    from a3c.config import A3C_SCHEMA, resolve_config
    from a3c.execution.ray_pool import RemoteRolloutWorker, ensure_ray

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


def pong(seconds: float) -> dict:
    raw = env_step_rate("ALE/Pong-v5", seconds)
    result = {"raw_steps_per_s_one_process": raw, "raw_limit_two_cores": 2 * raw}
    for workers in (2, 16):
        measured = a3c_throughput({"num_workers": workers, "grads_per_step": 20}, seconds, env="ALE/Pong-v5")
        result[f"a3c_{workers}_workers"] = {
            "env_steps_per_s": measured["env_steps_per_s"],
            "grads_per_s": measured["grads_per_s"],
            "peak_memory_mib": measured["peak_memory_mib"],
        }
    return result


TRANSFER_CHILD = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})
from run import a3c_throughput
config = {{"num_workers": 4, "grads_per_step": 10, "model": {{"use_lstm": True, "lstm_cell_size": 256}}}}
print(json.dumps(a3c_throughput(config, {seconds}, env="ALE/Pong-v5")))
"""


def transfer(seconds: float) -> dict:
    results = {}
    for label, size in (("object store (4 MiB inline limit)", 4 * 2**20), ("inline (16 MiB limit)", 16 * 2**20)):
        code = TRANSFER_CHILD.format(benchmarks=str(ROOT / "benchmarks"), seconds=seconds)
        env = {**os.environ, "RAY_max_direct_call_object_size": str(size)}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        results[label] = {k: measured[k] for k in ("grads_per_s", "env_steps_per_s", "peak_memory_mib")}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring time per throughput cell")
    parser.add_argument("--actors", type=int, default=4, help="actors per kind in the start-up section")
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
        report["pong"] = result = pong(args.seconds)
        print("\n| ALE/Pong-v5 | env steps/s | share of 2 x raw |\n|---|---|---|")
        print(f"| raw env.step, one process | {result['raw_steps_per_s_one_process']:,.0f} | |")
        for workers in (2, 16):
            rate = result[f"a3c_{workers}_workers"]["env_steps_per_s"]
            print(f"| A3C, {workers} workers | {rate:,.0f} | {rate / result['raw_limit_two_cores']:.2f} |")
    if "transfer" in args.sections:
        report["transfer"] = result = transfer(args.seconds)
        print("\n| conv + LSTM weights travel | gradients/s | env steps/s |\n|---|---|---|")
        for label, row in result.items():
            print(f"| {label} | {row['grads_per_s']:.1f} | {row['env_steps_per_s']:,.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
