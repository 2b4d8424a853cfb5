"""The throughput sections: a3c against the physical limit, Ray's own floor and Stable-Baselines3.

  limit        raw gymnasium env.step rate per core (random actions); one policy forward pass
  floor        a bare Ray loop of the tutorial's round trips: 16 actors (num_cpus=0) that return the
               array they were sent, wait-any-then-relaunch with arrays the size of the tutorial's
               weights, inline as a3c sends them: what Ray alone costs the tutorial
  throughput   A3C train() on CartPole-v0: env steps/s, gradients/s, driver wait/apply/dispatch per
               gradient, CPU per gradient by process, peak memory of all processes; a workers x
               batch_size grid and the tuned configs; Stable-Baselines3 A2C's env steps/s (zoo settings)
  tutorial     examples/tutorial.py's CartPole-v0 part (16 workers, batch 16, 100 iterations), and its
               training time per gradient over the floor's time per round trip (same run)
  pong         ALE/Pong-v5: raw agent steps/s of one worker's vector env in one process, and A3C's
               agent steps/s learning with the defaults: the fraction of two cores' raw rate; then
               the same with the conv net's gradient in bfloat16 (model conv_precision) (needs the
               atari extra; skipped without it)
  ppo          PPO's env steps/s with its SGD epochs on one torch thread and on two (the default,
               num_learner_threads None, takes the cores the workers left for image observations), on
               CartPole-v1 (PPO's defaults) and ALE/Pong-v5 (examples/tuned/pong_ppo.yaml; needs the
               atari extra), with the time split between sampling and learning

Each section measures into the report's JSON; its table is rendered from that JSON (`tables`). Every
ratio is computed from figures of the same run. Sizes: full, --quick (minutes), --smoke (seconds: CI's
check that every section still runs; its figures mean nothing).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.entrants import sb3_throughput, tuned_config
from benchmarks.measure import (
    agent_throughput,
    cpu_seconds_by_role,
    env_step_rate,
    forward_cost_us,
    pong_raw_rate,
    ray_floor,
    tutorial_parameter_count,
)
from benchmarks.report import fmt, table
from benchmarks.suites import missing_extra

SECTIONS = ("limit", "floor", "throughput", "tutorial", "pong", "ppo")
SIZES = ("full", "quick", "smoke")
TUTORIAL_ITERATIONS = 100  # the tutorial's loop: 100 train() calls of grads_per_step gradients
ROLES = ("driver", "workers", "ray_system")


def by_size(size: str, full: Any, quick: Any, smoke: Any) -> Any:
    """A knob's value for this run's size."""
    return {"full": full, "quick": quick, "smoke": smoke}[size]


def cpu_cells(cpu_ms: dict[str, float]) -> str:
    return " / ".join(f"{cpu_ms[k]:.2f}" for k in ROLES)


# -- limit -----------------------------------------------------------------------------------------------


def measure_limit(size: str, seeds: list[int]) -> dict[str, Any]:
    seconds = by_size(size, 3.0, 1.0, 0.1)
    data: dict[str, Any] = {
        f"{env}_steps_per_s_per_core": env_step_rate(env, seconds) for env in ("CartPole-v0", "MountainCar-v0")
    }
    data["forward_us"] = {str(b): forward_cost_us(b, by_size(size, 2000, 2000, 20)) for b in (1, 16)}
    return data


def table_limit(data: dict[str, Any]) -> str:
    rates = {key.removesuffix("_steps_per_s_per_core"): v for key, v in data.items() if key.endswith("_per_core")}
    rows = [[f"{env} raw env.step, random actions, one core", f"{rate:,.0f} steps/s"] for env, rate in rates.items()]
    rows += [
        [
            f"forward pass, {v['network']}, batch {b}: numpy (our workers) / torch",
            f"{v['numpy_us']:.0f} / {v['torch_us']:.0f} us",
        ]
        for b, v in data["forward_us"].items()
    ]
    return table("The limit", ["what", "figure"], rows)


# -- floor -----------------------------------------------------------------------------------------------


def measure_floor(size: str, seeds: list[int]) -> dict[str, Any]:
    round_trips = by_size(size, TUTORIAL_ITERATIONS, TUTORIAL_ITERATIONS, 2) * 100  # 100: grads_per_step
    parameters = tutorial_parameter_count()
    runs = [ray_floor(round_trips, parameters) for _ in range(by_size(size, 3, 1, 1))]
    return {"round_trips": round_trips, "float32_each_way": parameters, "runs_s": runs}


def table_floor(data: dict[str, Any]) -> str:
    runs, trips = data["runs_s"], data["round_trips"]
    return table(
        "Ray's floor for the tutorial: the same round trips with no work in them",
        ["round trips", "float32 each way", "seconds per run", "ms per round trip (median)"],
        [
            [
                f"{trips:,}",
                f"{data['float32_each_way']:,}",
                " / ".join(f"{r:.1f}" for r in runs),
                f"{statistics.median(runs) / trips * 1e3:.3f}",
            ]
        ],
        note="16 actors (num_cpus=0) echo the array they were sent; the driver waits for any one and "
        "relaunches it (benchmarks/measure.py ray_floor). The tutorial section divides by this.",
    )


# -- throughput ------------------------------------------------------------------------------------------


def measure_throughput(size: str, seeds: list[int]) -> dict[str, Any]:
    seconds = by_size(size, 8.0, 3.0, 0.2)
    grid = []
    for batch in by_size(size, [16, 64], [16], [16]):
        for workers in by_size(size, [1, 2, 4, 16], [2, 16], [2]):
            cell = {"num_workers": workers, "batch_size": batch, "num_envs_per_worker": 1}
            grid.append({**cell, **agent_throughput(cell, seconds)})
            print(
                f"  throughput workers={workers} batch={batch}: {grid[-1]['env_steps_per_s']:,.0f} steps/s", flush=True
            )
    tuned_rows = []
    for name in by_size(size, ("cartpole", "cartpole_throughput"), ("cartpole", "cartpole_throughput"), ("cartpole",)):
        tuned = tuned_config(name)
        cell = {key: tuned[key] for key in ("num_workers", "batch_size", "num_envs_per_worker")}
        tuned_rows.append({**cell, "config": f"examples/tuned/{name}.yaml", **agent_throughput(tuned, seconds)})
    sb3 = sb3_throughput("sb3_a2c", "CartPole-v0", by_size(size, 40_000, 10_000, 500))
    two = [r for r in [*grid, *tuned_rows] if r["num_workers"] == 2]
    return {
        "seconds_per_cell": seconds,
        "grid": grid,
        "tuned": tuned_rows,
        "a3c_two_workers_best": max(two, key=lambda r: r["env_steps_per_s"]),
        "sb3_a2c_env_steps_per_s": sb3,
    }


def table_throughput(data: dict[str, Any]) -> str:
    rows = [
        [
            str(r["num_workers"]),
            str(r["batch_size"]),
            str(r["num_envs_per_worker"]),
            f"{r['env_steps_per_s']:,.0f}",
            f"{r['grads_per_s']:,.0f}",
            f"{r['wait_ms_per_grad']:.2f} / {r['apply_ms_per_grad']:.2f} / {r['dispatch_ms_per_grad']:.2f}",
            cpu_cells(r["cpu_ms_per_grad"]),
            f"{r['peak_memory_mib']:,.0f}",
        ]
        for r in [*data["grid"], *data["tuned"]]
    ]
    sb3 = data["sb3_a2c_env_steps_per_s"]
    rows.append(["SB3 A2C (zoo: 8 envs, ent_coef 0)", "-", "8", f"{sb3:,.0f}", "-", "-", "-", "-"])
    configs = " and ".join(r["config"] for r in data["tuned"])
    return table(
        "Throughput on CartPole-v0 (2 cores)",
        [
            "workers",
            "batch_size",
            "envs/worker",
            "env steps/s",
            "gradients/s",
            "driver ms/grad wait / apply / dispatch",
            "CPU ms/grad driver / workers / Ray servers",
            "peak MiB, all processes",
        ],
        rows,
        note=f"Each cell: {data['seconds_per_cell']:.0f} s of A3C train() after one warm-up iteration. The last "
        f"A3C rows are {configs}.",
    )


# -- tutorial --------------------------------------------------------------------------------------------


def measure_tutorial(size: str, seeds: list[int]) -> dict[str, Any]:
    from a3c import DEFAULT_CONFIG, A3CAgent
    from a3c.run import MaxIterations, Run

    iterations = by_size(size, TUTORIAL_ITERATIONS, TUTORIAL_ITERATIONS, 2)
    runs = []
    for seed in by_size(size, seeds, seeds[:1], seeds[:1]):
        config = {**DEFAULT_CONFIG, "num_workers": 16, "batch_size": 16, "seed": seed}
        start = time.perf_counter()
        agent = A3CAgent(config, "CartPole-v0")
        built = time.perf_counter() - start
        cpu_before = cpu_seconds_by_role()
        try:
            outcome = Run(agent, None, MaxIterations(iterations), catch_ctrl_c=False, started_at=start).run()
        finally:
            wall = time.perf_counter() - start
            agent.stop()
        cpu_after = cpu_seconds_by_role()
        grads = iterations * config["grads_per_step"]
        reward = outcome.result.episode_reward_mean
        runs.append(
            {
                "seed": seed,
                "iterations": iterations,
                "wall_s": wall,
                "build_s": built,
                "train_s": wall - built,
                "gradients": grads,
                "final_reward": reward,
                "cpu_ms_per_grad": {role: (cpu_after[role] - cpu_before[role]) / grads * 1e3 for role in ROLES},
            }
        )
        print(f"  tutorial seed {seed}: {wall:.1f} s, reward {reward:.1f}", flush=True)
    return {"runs": runs}


def floor_ms(report: dict[str, Any]) -> float | None:
    """Ray's floor per round trip (ms, the median run), None where the floor was not measured."""
    floor = report.get("floor")
    return statistics.median(floor["runs_s"]) / floor["round_trips"] * 1e3 if floor else None


def table_tutorial(data: dict[str, Any], report: dict[str, Any]) -> str:
    floor = floor_ms(report)
    rows = [
        [
            str(r["seed"]),
            f"{r['wall_s']:.1f}",
            f"{r['build_s']:.1f}",
            f"{r['train_s']:.1f}",
            fmt(None if floor is None else r["train_s"] / r["gradients"] * 1e3 / floor, 2, "x"),
            f"{r['final_reward']:.1f}",
            cpu_cells(r["cpu_ms_per_grad"]),
        ]
        for r in data["runs"]
    ]
    iterations = data["runs"][0]["iterations"] if data["runs"] else TUTORIAL_ITERATIONS
    return table(
        f"The tutorial (16 workers, batch 16, {iterations} iterations of 100 gradients, CartPole-v0)",
        [
            "seed",
            "wall s from construction",
            "of which actor start-up s",
            "training s",
            "training per gradient / floor per round trip",
            "final episode_reward_mean",
            "CPU ms/grad driver / workers / Ray servers",
        ],
        rows,
        note="The ratio needs the floor section in the same run (target: at most 1.5x).",
    )


# -- pong ------------------------------------------------------------------------------------------------


def measure_pong(size: str, seeds: list[int]) -> dict[str, Any] | None:
    missing = missing_extra("ALE/Pong-v5")
    if missing:
        print(f"  pong: skipped ({missing})", flush=True)
        return None
    from a3c import DEFAULT_CONFIG
    from a3c.config import default_envs_per_worker

    num_envs = default_envs_per_worker(DEFAULT_CONFIG["num_workers"])  # what each default worker steps
    seconds = by_size(size, 60.0, 20.0, 0.5)
    raw = pong_raw_rate(by_size(size, 10.0, 5.0, 0.5), num_envs)
    config = {"grads_per_step": by_size(size, 20, 20, 2)}
    learning = agent_throughput(config, seconds, env="ALE/Pong-v5")
    bfloat16 = agent_throughput({**config, "model": {"conv_precision": "bfloat16"}}, seconds, env="ALE/Pong-v5")
    return {
        "raw_steps_per_s_one_process": raw,
        "num_envs": num_envs,
        "seconds": seconds,
        **learning,
        "fraction": learning["env_steps_per_s"] / (2 * raw),
        "bfloat16": {**bfloat16, "fraction": bfloat16["env_steps_per_s"] / (2 * raw)},
    }


def table_pong(data: dict[str, Any]) -> str:
    runs = [("A3C learning with the defaults", data)]
    if "bfloat16" in data:  # reports written before the bfloat16 run have none
        runs.append(("the same, the conv net's gradient in bfloat16", data["bfloat16"]))
    rows = [
        [
            f"raw agent steps/s, one process, {data['num_envs']}-env vector env, random actions",
            f"{data['raw_steps_per_s_one_process']:,.0f}",
        ]
    ]
    for what, run in runs:
        rows += [
            [
                f"{what} ({data['seconds']:.0f} s after a warm-up iteration)",
                f"{run['env_steps_per_s']:,.0f} agent steps/s, {run['grads_per_s']:,.1f} gradients/s",
            ],
            [
                "driver ms/grad wait / apply / dispatch",
                " / ".join(f"{run[f'{key}_ms_per_grad']:.2f}" for key in ("wait", "apply", "dispatch")),
            ],
            ["fraction of two cores' raw rate (target: at least 0.5)", f"{run['fraction']:.2f}"],
        ]
    return table(
        "ALE/Pong-v5: learning against two cores' raw rate",
        ["what", "figure"],
        rows,
        note="Agent steps: 4 emulator frames each in both (frame skip 4), 84x84 grayscale, 4 stacked frames.",
    )


# -- ppo -------------------------------------------------------------------------------------------------


def measure_ppo(size: str, seeds: list[int]) -> dict[str, Any]:
    """One learner thread against two, alternated (twice at full size) so drift hits both alike; the
    default (`num_learner_threads` None) is two for Pong's frames, one for CartPole's MLP."""
    from a3c.catalog import default_learner_threads
    from a3c.config import PPO_SCHEMA, resolve_config

    seconds = by_size(size, 30.0, 15.0, 0.5)
    cases = [("CartPole-v1", {}, False)]
    missing = missing_extra("ALE/Pong-v5")
    if missing:
        print(f"  ppo: ALE/Pong-v5 skipped ({missing})", flush=True)
    else:
        smoke = {"batch_size": 4, "train_batch_size": 64, "sgd_minibatch_size": 32}
        cases.append(("ALE/Pong-v5", {**tuned_config("pong_ppo"), **by_size(size, {}, {}, smoke)}, True))
    rows = []
    for env, config, is_image in cases:
        default = default_learner_threads(is_image, resolve_config(config, PPO_SCHEMA)["num_workers"])
        for threads in [1, 2] * by_size(size, 2, 1, 1):
            measured = agent_throughput({**config, "num_learner_threads": threads}, seconds, env=env, agent="ppo")
            rows.append({"env": env, "default_threads": default, **measured})
            rate = measured["env_steps_per_s"]
            print(f"  ppo {env} learner threads={threads}: {rate:,.0f} env steps/s", flush=True)
    return {"seconds": seconds, "rows": rows}


def table_ppo(data: dict[str, Any]) -> str:
    rows = [
        [
            r["env"],
            f"{r['num_learner_threads']}" + (" (default)" if r["num_learner_threads"] == r["default_threads"] else ""),
            f"{r['env_steps_per_s']:,.0f}",
            f"{r['sample_ms_per_1k_steps']:,.0f} / {r['learn_ms_per_1k_steps']:,.0f}",
            cpu_cells(r["cpu_ms_per_1k_steps"]),
        ]
        for r in data["rows"]
    ]
    return table(
        "PPO: its SGD epochs on one torch thread and on two",
        [
            "env",
            "learner threads",
            "env steps/s",
            "ms per 1,000 env steps: sampling / learning",
            "CPU ms per 1,000 env steps driver / workers / Ray servers",
        ],
        rows,
        note=f"{data['seconds']:.0f} s each after a warm-up iteration. CartPole-v1: PPO's defaults; "
        "ALE/Pong-v5: examples/tuned/pong_ppo.yaml (the zoo's Atari settings).",
    )


MEASURE: dict[str, Callable[[str, list[int]], dict[str, Any] | None]] = {
    "limit": measure_limit,
    "floor": measure_floor,
    "throughput": measure_throughput,
    "tutorial": measure_tutorial,
    "pong": measure_pong,
    "ppo": measure_ppo,
}


def section_table(section: str, report: dict[str, Any]) -> str:
    data = report[section]
    if section == "tutorial":
        return table_tutorial(data, report)
    tables = {
        "limit": table_limit,
        "floor": table_floor,
        "throughput": table_throughput,
        "pong": table_pong,
        "ppo": table_ppo,
    }
    return tables[section](data)


# -- the headline ratios ---------------------------------------------------------------------------------

RATIO_KEYS = (
    "tutorial_wall_s",
    "tutorial_to_floor_ratio",
    "pong_fraction_of_two_cores",
    "pong_fraction_bfloat16",
    "throughput_ratio_vs_sb3_a2c",
    "fraction_of_env_limit",
    "oversubscription_ratio",
)


def ratios(data: dict[str, Any]) -> dict[str, Any]:
    """The headline ratios, from this run's figures only; None where something was not measured."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or b == 0 else a / b

    out: dict[str, Any] = dict.fromkeys(RATIO_KEYS)
    tput = data.get("throughput", {})
    best_two = tput.get("a3c_two_workers_best", {}).get("env_steps_per_s")
    out["throughput_ratio_vs_sb3_a2c"] = ratio(best_two, tput.get("sb3_a2c_env_steps_per_s"))
    limit = data.get("limit", {}).get("CartPole-v0_steps_per_s_per_core")
    out["fraction_of_env_limit"] = ratio(best_two, None if limit is None else limit * 2)
    grid = tput.get("grid", [])
    fewer = [r["env_steps_per_s"] for r in grid if r["batch_size"] == 16 and r["num_workers"] < 16]
    sixteen = [r["env_steps_per_s"] for r in grid if r["batch_size"] == 16 and r["num_workers"] == 16]
    out["oversubscription_ratio"] = ratio(sixteen[0] if sixteen else None, max(fewer) if fewer else None)
    tutorial = data.get("tutorial", {}).get("runs", [])
    out["tutorial_wall_s"] = statistics.median([r["wall_s"] for r in tutorial]) if tutorial else None
    if tutorial:
        per_gradient_ms = statistics.median([r["train_s"] / r["gradients"] for r in tutorial]) * 1e3
        out["tutorial_to_floor_ratio"] = ratio(per_gradient_ms, floor_ms(data))
    out["pong_fraction_of_two_cores"] = (data.get("pong") or {}).get("fraction")
    out["pong_fraction_bfloat16"] = ((data.get("pong") or {}).get("bfloat16") or {}).get("fraction")
    return out


def show(value: float | int | None) -> str:
    """A ratio as the report lists it: null, an int as is, a float to 3 decimals."""
    if value is None:
        return "null"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def speed_markdown(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A speed report's head lines (the ratios) and its tables, in section order."""
    lines = ["Ratios (targets in BENCHMARKS.md):", "", *[f"- `{key}`: {show(data.get(key))}" for key in RATIO_KEYS]]
    return lines, [section_table(s, data) for s in SECTIONS if data.get(s)]
