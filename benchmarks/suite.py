"""The benchmark suite of issue 13: our agents with their defaults against Stable-Baselines3, per environment.

    make suite                 # full run: 5 environments x 7-8 entrants x 3 seeds (at most 2 hours: the caps in ROWS)
    make suite-quick           # --quick: CartPole-v1 and Pendulum-v1, 1 seed, 30 s caps (an estimate: 8-10 minutes)
    .venv/bin/python benchmarks/suite.py --pong       # ALE/Pong-v5, 30 minutes per entrant (90.1 minutes on 2026-11-27)
    .venv/bin/python benchmarks/suite.py --rows LunarLander-v3 --cap-scale 4 --seeds 3   # one row, longer caps

Entrants on every row: our a3c, a2c and ppo with an empty config except the seed; Stable-Baselines3
PPO and A2C with their own defaults (sb3_ppo, sb3_a2c: one environment, as `PPO("MlpPolicy", env_id)`);
and SB3 PPO and A2C with rl-baselines3-zoo's hyperparameters where the zoo has them (sb3_ppo_zoo,
sb3_a2c_zoo; the settings are SB3_ZOO in benchmarks/run.py). MountainCar-v0 also runs
examples/tuned/mountaincar.yaml (a3c_tuned). The Pong mode runs a3c, sb3_ppo_zoo and sb3_a2c_zoo, one
seed each, for 30 minutes of wall time, and reports the best 100-episode mean and env steps/s.

Per run, wall clock from construction: time and env steps until the mean of the last 100 training
episodes first reaches the threshold, the final 100-episode mean, the best one, the collapse check
(`collapse_drop`: any fall in the last quarter) and how far the run ends below its best. A run ends at
its row's cap (seconds; HalfCheetah-v5 also at 1M env steps), or once it has trained --after-solve
times as long again as it took to reach the threshold (default 1: its last half is after solving, so
the collapse check looks at life after solving), whichever comes first. Entrants' runs are interleaved
(`run_order`) so that drift of this shared machine's speed hits all alike.

Writes benchmarks/results/suite.{json,md} (--quick: suite_quick.*, --pong: suite_pong.*; --out to
change; --report JSON rewrites a finished run's Markdown). Figures are wall-clock on shared cores: run
it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import (  # noqa: E402
    EPISODE_WINDOW,
    SB3_ZOO,
    fmt,
    machine,
    reached,
    sb3_train,
    start_ray,
    summarize,
    tuned_config,
)

COLLAPSE_FRACTION = 0.1  # issue 13: never more than 10% of the row's scale below the best so far
PONG_MINUTES = 30.0


@dataclass(frozen=True)
class Row:
    """One environment of the suite: its threshold, the scale the collapse check measures against, its cap."""

    env_id: str
    threshold: float | None
    random_score: float  # mean of 100 episodes of uniformly random actions (`--random-baselines`)
    cap_s: float
    max_env_steps: int | None = None
    best_score: float | None = None  # rows without a threshold: the best possible score, for the scale
    extra_entrants: tuple[str, ...] = ()

    @property
    def scale(self) -> float:
        """From a random policy's score to the threshold (or the best possible score): what "10% of the
        threshold" is 10% of. For CartPole-v1 that is 475 - 23.7 = 451.3, close to the threshold itself;
        for rows whose scores are negative (Pendulum, MountainCar) it is the only reading that works."""
        top = self.threshold if self.threshold is not None else self.best_score
        assert top is not None, f"{self.env_id}: a row needs a threshold or a best score"
        return abs(top - self.random_score)


# Caps chosen so that the worst case (no run ends early) of a full run, 3 seeds, fits in 2 hours on
# 2 cores: 3 x (7 x 50 + 7 x 50 + 8 x 50 + 7 x 75 + 7 x 75) s = 107.5 minutes, plus a few seconds of
# start-up, teardown and the last iteration past the cap per run. The zoo trains PPO for 1M env steps
# on LunarLander-v3 and HalfCheetah-v5: where no entrant reaches a threshold within its cap, run that
# row alone with --rows and --cap-scale to see how far each gets.
# random_score: `python benchmarks/suite.py --random-baselines` (100 episodes, seeds 0-99), 2026-11-26.
ROWS: tuple[Row, ...] = (
    Row("CartPole-v1", 475.0, random_score=23.7, cap_s=50.0),
    Row("LunarLander-v3", 200.0, random_score=-192.0, cap_s=75.0),
    Row("Pendulum-v1", -200.0, random_score=-1207.6, cap_s=50.0),
    Row("HalfCheetah-v5", 1500.0, random_score=-282.5, cap_s=75.0, max_env_steps=1_000_000),
    Row("MountainCar-v0", -110.0, random_score=-200.0, cap_s=50.0, extra_entrants=("a3c_tuned",)),
)
QUICK_ROWS, QUICK_CAP_S = ("CartPole-v1", "Pendulum-v1"), 30.0
# Pong has no threshold: its scale is the whole score range, -21 to 21.
PONG = Row("ALE/Pong-v5", None, random_score=-21.0, cap_s=PONG_MINUTES * 60, best_score=21.0)

OURS = ("a3c", "a2c", "ppo")
SB3_ALGOS = ("sb3_ppo", "sb3_a2c")


@dataclass(frozen=True)
class Entrant:
    """Who trains: one of our agents with a config, or SB3 with its defaults or the zoo's settings."""

    name: str
    algo: str  # a3c / a2c / ppo, or sb3_ppo / sb3_a2c
    config: dict[str, Any] = field(default_factory=dict)
    zoo: bool = False

    @property
    def is_sb3(self) -> bool:
        return self.algo.startswith("sb3_")


def entrants_for(row: Row, with_sb3: bool, pong: bool = False) -> list[Entrant]:
    """The row's entrants in a fixed order: ours, SB3 defaults, SB3 with the zoo's settings, extras."""
    if pong:
        return [Entrant("a3c", "a3c")] + [Entrant(f"{a}_zoo", a, zoo=True) for a in SB3_ALGOS if with_sb3]
    entrants = [Entrant(name, name) for name in OURS]
    if with_sb3:
        entrants += [Entrant(algo, algo) for algo in SB3_ALGOS]
        entrants += [Entrant(f"{a}_zoo", a, zoo=True) for a in SB3_ALGOS if f"{a}/{row.env_id}" in SB3_ZOO]
    if "a3c_tuned" in row.extra_entrants:
        entrants.append(Entrant("a3c_tuned", "a3c", tuned_config("mountaincar")))
    return entrants


# -- the pure parts: order, stop rule, what a run reached, ratios --------------------------------------


def run_order(entrants: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """Seed-major, the entrants rotated by one place per seed: every entrant runs early, in the middle
    and late once each over 3 seeds, so a machine that slows down (or speeds up) hits all alike."""
    order = []
    for index, seed in enumerate(seeds):
        shift = index % len(entrants) if entrants else 0
        order += [(name, seed) for name in entrants[shift:] + entrants[:shift]]
    return order


@dataclass(frozen=True)
class StopRule:
    """When a run ends: at the cap (seconds from construction, or env steps), or after_solve times its
    time to threshold after reaching it (math.inf: always at the cap)."""

    cap_s: float
    max_env_steps: int | None = None
    after_solve: float = 1.0

    def ended(self, wall_s: float, env_steps: int, solved_wall_s: float | None) -> bool:
        if wall_s >= self.cap_s or (self.max_env_steps is not None and env_steps >= self.max_env_steps):
            return True
        return solved_wall_s is not None and wall_s >= solved_wall_s * (1.0 + self.after_solve)


def collapse_drop(rows: list[dict[str, float]]) -> float | None:
    """How far the 100-episode mean fell below the best it had reached so far, at worst, in the last
    quarter of the run (by wall clock from construction). Only rows with a full window of 100 episodes
    count, so a handful of early episodes cannot set the best. None when no such row lies in the last
    quarter. A run still climbing has drop 0; one that peaked and fell has drop = peak - trough."""
    full = [r for r in rows if r["episodes_total"] >= EPISODE_WINDOW]
    if not full:
        return None
    quarter_start = 0.75 * rows[-1]["wall_s"]
    best, drop, seen = -math.inf, 0.0, False
    for row in full:
        best = max(best, row["episode_reward_mean"])
        if row["wall_s"] >= quarter_start:
            seen = True
            drop = max(drop, best - row["episode_reward_mean"])
    return drop if seen else None


def outcome(rows: list[dict[str, float]], row: Row, env_steps: int, wall_s: float) -> dict[str, Any]:
    """What one run reached, from its progress rows (run_one's keys, for ours and SB3's alike)."""
    first = next((r for r in rows if reached(r, row.threshold)), None)
    full = [r["episode_reward_mean"] for r in rows if r["episodes_total"] >= EPISODE_WINDOW]
    drop = collapse_drop(rows)
    return {
        "solved_s": None if first is None else first["wall_s"],
        "solved_steps": None if first is None else int(first["timesteps_total"]),
        "final_reward": rows[-1]["episode_reward_mean"]
        if rows and math.isfinite(rows[-1]["episode_reward_mean"])
        else None,
        "best_reward": max(full) if full else None,
        "episodes": int(rows[-1]["episodes_total"]) if rows else 0,
        "collapse_drop": drop,
        "collapse_limit": COLLAPSE_FRACTION * row.scale,
        "collapsed": None if drop is None else drop > COLLAPSE_FRACTION * row.scale,
        "env_steps": int(env_steps),
        "wall_s": wall_s,
        "env_steps_per_s": env_steps / wall_s if wall_s > 0 else None,
    }


def target_ratio(summaries: dict[str, dict[str, Any]], ours: str = "a3c") -> dict[str, Any]:
    """Issue 13's target for a row: ours' median time to threshold / the fastest SB3 entrant's (<= 0.5
    wanted). A median exists only where every seed reached the threshold (run.summarize); SB3 entrants
    that reached it in some seeds but not all are named, since they are left out of "fastest"."""
    mine = summaries.get(ours, {})
    sb3 = {name: s for name, s in summaries.items() if name.startswith("sb3_")}
    timed = {name: s["median_s"] for name, s in sb3.items() if s.get("median_s") is not None}
    partial = sorted(f"{n} {s['solved']}/{s['seeds']}" for n, s in sb3.items() if 0 < s["solved"] < s["seeds"])
    fastest = min(timed, key=timed.__getitem__) if timed else None
    ratio = None
    if fastest is not None and mine.get("median_s") is not None and timed[fastest] > 0:
        ratio = mine["median_s"] / timed[fastest]
    return {
        "entrant": ours,
        "ours_median_s": mine.get("median_s"),
        "ours_solved": f"{mine.get('solved', 0)}/{mine.get('seeds', 0)}",
        "ours_in_run": ours in summaries,
        "fastest_sb3": fastest,
        "fastest_sb3_median_s": None if fastest is None else timed[fastest],
        "ratio": ratio,
        "sb3_partly_solved": partial,
        "sb3_entrants": len(sb3),
    }


def ratio_line(env_id: str, target: dict[str, Any]) -> str:
    ours = (
        f"{target['entrant']} {target['ours_solved']}, median {fmt(target['ours_median_s'], 1, ' s')}"
        if target.get("ours_in_run", True)  # results written before the key existed always had ours
        else f"{target['entrant']} not in this run"
    )
    partial = (
        f" (not counted, no median: {', '.join(target['sb3_partly_solved'])})" if target["sb3_partly_solved"] else ""
    )
    if not target.get("sb3_entrants"):
        return f"- {env_id}: no SB3 entrant in this run; {ours}"
    if target["fastest_sb3"] is None:
        return f"- {env_id}: no SB3 entrant reached the threshold in every seed{partial}; {ours}"
    ratio = "-" if target["ratio"] is None else f"**{target['ratio']:.2f}**"
    return (
        f"- {env_id}: {ratio} = {ours} / {target['fastest_sb3']} {fmt(target['fastest_sb3_median_s'], 1, ' s')}"
        f" (target <= 0.5){partial}"
    )


# -- running -------------------------------------------------------------------------------------------


def ours_train(entrant: Entrant, row: Row, seed: int, rule: StopRule) -> dict[str, Any]:
    """One of our agents through a3c.comparison.run_one, ended by the StopRule after each train()."""
    from a3c.comparison import run_one

    class EndRun(Exception):
        """Raised from run_one's on_iteration hook: run_one stops the agent on its way out."""

    seen: dict[str, Any] = {}

    def watch(record: Any, _result: Any) -> None:
        seen["record"], last = record, record.rows[-1]
        if "solved_wall_s" not in seen and reached(last, row.threshold):
            seen["solved_wall_s"] = last["wall_s"]
        if rule.ended(last["wall_s"], last["timesteps_total"], seen.get("solved_wall_s")):
            raise EndRun

    stop = {"time_total_s": rule.cap_s} | ({"timesteps_total": rule.max_env_steps} if rule.max_env_steps else {})
    try:
        record = run_one(entrant.algo, row.env_id, seed, stop, entrant.config, on_iteration=watch)
    except EndRun:
        record = seen["record"]
    last = record.rows[-1] if record.rows else {"timesteps_total": 0, "wall_s": 0.0}
    return {"rows": record.rows, "env_steps": last["timesteps_total"], "wall_s": last["wall_s"]}


def train(entrant: Entrant, row: Row, seed: int, rule: StopRule) -> dict[str, Any]:
    if entrant.is_sb3:
        return sb3_train(entrant.algo, row.env_id, seed, rule.ended, row.threshold, zoo=entrant.zoo)
    return ours_train(entrant, row, seed, rule)


def thin(rows: list[dict[str, float]], points: int = 200) -> list[list[float]]:
    """At most `points` rows of the curve for the JSON ([wall_s, env steps, episodes, 100-episode mean])."""
    step = max(1, math.ceil(len(rows) / points))
    kept = rows[::step] + ([rows[-1]] if rows and (len(rows) - 1) % step else [])
    keys = ("wall_s", "timesteps_total", "episodes_total", "episode_reward_mean")
    return [[round(float(r[k]), 3) if math.isfinite(r[k]) else None for k in keys] for r in kept]


def run_row(row: Row, entrants: list[Entrant], seeds: list[int], rule: StopRule) -> dict[str, Any]:
    by_name = {e.name: e for e in entrants}
    runs: dict[str, list[dict[str, Any]]] = {e.name: [] for e in entrants}
    for name, seed in run_order(list(by_name), seeds):
        try:
            trained, error = train(by_name[name], row, seed, rule), None
        except Exception as exc:  # noqa: BLE001 - one failed run must not cost the rest of a 2-hour suite
            trained, error = {"rows": [], "env_steps": 0, "wall_s": 0.0}, f"{type(exc).__name__}: {exc}"
            print(f"  {row.env_id} {name} seed {seed} FAILED: {error}", flush=True)
        result = {"seed": seed, **outcome(trained["rows"], row, trained["env_steps"], trained["wall_s"])}
        result["error"], result["curve"] = error, thin(trained["rows"])
        runs[name].append(result)
        print(
            f"  {row.env_id} {name} seed {seed}: threshold at {fmt(result['solved_s'], 1, ' s')}, "
            f"final {fmt(result['final_reward'])}, best {fmt(result['best_reward'])}, "
            f"{result['env_steps']:,} steps in {result['wall_s']:.0f} s",
            flush=True,
        )
    summaries = {name: summarize(sorted(r, key=lambda x: x["seed"])) for name, r in runs.items()}
    for summary in summaries.values():
        summary["collapsed"] = sum(bool(r["collapsed"]) for r in summary["runs"])
    return {
        "env_id": row.env_id,
        "threshold": row.threshold,
        "scale": row.scale,
        "collapse_limit": COLLAPSE_FRACTION * row.scale,
        "cap_s": rule.cap_s,
        "max_env_steps": rule.max_env_steps,
        "after_solve": rule.after_solve if math.isfinite(rule.after_solve) else None,  # None: always to the cap
        "entrants": summaries,
        "target": target_ratio(summaries) if row.threshold is not None else None,
    }


# -- report --------------------------------------------------------------------------------------------


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def row_table(result: dict[str, Any]) -> str:
    threshold = result["threshold"]
    title = (
        f"### {result['env_id']}: mean of the last 100 episodes >= {threshold:g}"
        if threshold is not None
        else f"### {result['env_id']}: best 100-episode mean after {result['cap_s'] / 60:.3g} minutes"
    )
    cap = f"{result['cap_s']:.0f} s" + (f" or {result['max_env_steps']:,} env steps" if result["max_env_steps"] else "")
    scale = "random policy to threshold" if threshold is not None else "the score range"
    after = (
        f"; a run also ends after {result['after_solve']:g}x its time to threshold once it reached it"
        if threshold is not None and result["after_solve"] is not None
        else ""
    )
    note = (
        f"Cap {cap} per run, wall clock from construction{after}. Median time only where every seed reached "
        f"the threshold. Collapse: the 100-episode mean fell, in the run's last quarter, more than "
        f"{result['collapse_limit']:,.1f} (10% of the scale {result['scale']:,.0f}, {scale}) below the best it "
        f"had reached so far. Ended below best: how far the final 100-episode mean is below the best (the "
        f"largest of the seeds; in how many more than {result['collapse_limit']:,.1f})."
    )
    header = [
        "entrant",
        "solved",
        "time s, median [min-max]",
        "env steps to it (median)",
        "final reward (median)",
        "best 100-ep mean (median [min-max])",
        "collapsed (max drop)",
        "ended below best (max)",
        "env steps/s (median)",
    ]
    lines = [title, "", note, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, s in result["entrants"].items():
        runs = s["runs"]
        bests = [r["best_reward"] for r in runs if r["best_reward"] is not None]
        drops = [r["collapse_drop"] for r in runs if r["collapse_drop"] is not None]
        span = f" [{fmt(s['min_s'])}-{fmt(s['max_s'])}]" if s["min_s"] is not None else ""
        best = f"{fmt(_median(bests))} [{fmt(min(bests))}-{fmt(max(bests))}]" if bests else "-"
        errors = sum(r["error"] is not None for r in runs)
        cells = [
            name + (f" ({errors} failed, see the JSON)" if errors else ""),
            f"{s['solved']}/{s['seeds']}" if threshold is not None else "-",
            f"{fmt(s['median_s'])}{span}",
            fmt(s["median_steps"], 0),
            fmt(_median([r["final_reward"] for r in runs])),
            best,
            f"{s['collapsed']}/{s['seeds']} ({fmt(max(drops)) if drops else '-'})",
            ended_below_best(runs, result["collapse_limit"]),
            fmt(_median([r["env_steps_per_s"] for r in runs]), 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ended_below_best(runs: list[dict[str, Any]], limit: float) -> str:
    """The looser reading of issue 13's collapse target: does a run *end* more than the limit below its
    best? "n/seeds (largest gap)"; a run that dipped and came back counts in `collapsed` but not here."""
    gaps = [r["best_reward"] - r["final_reward"] for r in runs if None not in (r["best_reward"], r["final_reward"])]
    if not gaps:
        return "-"
    return f"{sum(g > limit for g in gaps)}/{len(runs)} ({fmt(max(gaps))})"


def pong_lines(result: dict[str, Any]) -> list[str]:
    """Issue 13's Pong targets: A3C's best above both SB3 entrants', its env steps/s >= 2x SB3 A2C's."""
    runs = {name: s["runs"][0] for name, s in result["entrants"].items() if s["runs"]}
    ours = runs.get("a3c")
    if ours is None:
        return []
    lines = []
    for name in ("sb3_ppo_zoo", "sb3_a2c_zoo"):
        if name in runs:
            lines.append(
                f"- best 100-episode mean: a3c {fmt(ours['best_reward'])} vs {name} {fmt(runs[name]['best_reward'])}"
            )
    if "sb3_a2c_zoo" in runs and runs["sb3_a2c_zoo"]["env_steps_per_s"]:
        ratio = ours["env_steps_per_s"] / runs["sb3_a2c_zoo"]["env_steps_per_s"]
        lines.append(f"- env steps/s: a3c / sb3_a2c_zoo = **{ratio:.2f}** (target >= 2)")
    return lines


def write_report(data: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    tmp.replace(out.with_suffix(".json"))
    m = data["machine"]
    head = [
        f"Measured {data['date']} on {m['cpu_model']} ({m['cores']} cores), Python {m['python']}, "
        f"torch {m['torch']}, Ray {m['ray']}, gymnasium {m['gymnasium']}.",
        "",
        f"Command: `{data['command']}`",
        "",
    ]
    head += [f"Skipped: {line}" for line in data["skipped"]]
    ratios = [ratio_line(r["env_id"], r["target"]) for r in data["rows"] if r.get("target")]
    ratios += [line for r in data["rows"] if r["threshold"] is None for line in pong_lines(r)]
    if ratios:
        head += ["", "Ratios (issue 13's targets):", "", *ratios]
    tables = [row_table(r) for r in data["rows"]]
    out.with_suffix(".md").write_text("\n".join(head) + "\n\n" + "\n".join(tables))


# -- what is installed ---------------------------------------------------------------------------------


def missing_extra(env_id: str) -> str | None:
    """None if the environment can be built here, else one line naming the extra to install."""
    from a3c.envs import EnvError, make_env

    try:
        make_env(env_id).close()
    except EnvError as error:
        return f"{env_id}: {error}"
    return None


def sb3_missing() -> str | None:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        return "the Stable-Baselines3 entrants: install the 'bench' extra: pip install -e '.[bench]' (or: make suite)"
    return None


def random_policy_mean(env_id: str, episodes: int = 100, seed: int = 0) -> float:
    """Mean return of uniformly random actions: the bottom of a row's scale."""
    from a3c.envs import make_env

    env = make_env(env_id)
    env.action_space.seed(seed)
    total = 0.0
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
    env.close()
    return total / episodes


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CartPole-v1 and Pendulum-v1, 1 seed, 30 s caps")
    mode.add_argument("--pong", action="store_true", help="ALE/Pong-v5, 30 minutes per entrant, one seed")
    mode.add_argument("--random-baselines", action="store_true", help="print each row's random-policy score")
    mode.add_argument(
        "--report", type=Path, metavar="JSON", help="only rewrite the Markdown report of a finished run's JSON"
    )
    parser.add_argument("--rows", nargs="+", metavar="ENV", help="only these environments (default: all)")
    parser.add_argument("--entrants", nargs="+", metavar="NAME", help="only these entrants (default: all)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per entrant (default 3; --quick, --pong: 1)")
    parser.add_argument("--cap-scale", type=float, default=1.0, help="multiply every cap (time and env steps)")
    parser.add_argument(
        "--after-solve",
        type=float,
        default=1.0,
        help="a run ends after this many times its time to threshold once reached (inf: always at the cap)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/suite*.json)")
    args = parser.parse_args(argv)
    if args.report is not None and not args.report.is_file():
        parser.error(f"--report: no such file {args.report}")
    if args.seeds is None:
        args.seeds = 1 if args.quick or args.pong else 3
    if args.out is None:
        suffix = "_quick" if args.quick else "_pong" if args.pong else ""
        args.out = ROOT / "benchmarks" / "results" / f"suite{suffix}.json"
    known = {r.env_id for r in (*ROWS, PONG)}
    unknown = sorted(set(args.rows or []) - known)
    if unknown:
        parser.error(f"unknown row(s) {unknown}; choose from {', '.join(sorted(known))}")
    names = {e.name for r in ROWS for e in entrants_for(r, with_sb3=True)}
    unknown = sorted(set(args.entrants or []) - names)
    if unknown:
        parser.error(f"unknown entrant(s) {unknown}; choose from {', '.join(sorted(names))}")
    return args


def selected_rows(args: argparse.Namespace) -> list[Row]:
    if args.pong:
        return [PONG]
    rows = [r for r in ROWS if r.env_id in QUICK_ROWS] if args.quick else list(ROWS)
    return [r for r in rows if args.rows is None or r.env_id in args.rows]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.report:
        write_report(json.loads(args.report.read_text()), args.report)
        print(f"Wrote {args.report.with_suffix('.md')}")
        return
    if args.random_baselines:
        for row in ROWS:
            problem = missing_extra(row.env_id)
            print(f"{row.env_id}: {problem or f'{random_policy_mean(row.env_id):.1f}'}", flush=True)
        return
    skipped = []
    rows = []
    for row in selected_rows(args):
        problem = missing_extra(row.env_id)
        if problem:
            print(f"skipping {problem}", flush=True)
            skipped.append(problem)
        else:
            rows.append(row)
    no_sb3 = sb3_missing()
    if no_sb3:
        print(f"skipping {no_sb3}", flush=True)
        skipped.append(no_sb3)
    start_ray()
    data: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "mode": "pong" if args.pong else "quick" if args.quick else "full",
        "machine": machine(),
        "seeds": list(range(args.seeds)),
        "skipped": skipped,
        "rows": [],
    }
    started = time.perf_counter()
    for row in rows:
        cap = (QUICK_CAP_S if args.quick else row.cap_s) * args.cap_scale
        steps = None if row.max_env_steps is None else int(row.max_env_steps * args.cap_scale)
        rule = StopRule(cap, steps, math.inf if args.pong else args.after_solve)
        entrants = [
            e for e in entrants_for(row, no_sb3 is None, args.pong) if args.entrants is None or e.name in args.entrants
        ]
        print(
            f"== {row.env_id}: {len(entrants)} entrants x {args.seeds} seeds, cap {cap:.0f} s "
            f"({time.perf_counter() - started:.0f} s into the run)",
            flush=True,
        )
        result = run_row(row, entrants, data["seeds"], rule)
        data["rows"].append(result)
        data["total_wall_s"] = time.perf_counter() - started
        write_report(data, args.out)
        print("\n" + row_table(result), flush=True)
    write_report(data, args.out)
    for line in [ratio_line(r["env_id"], r["target"]) for r in data["rows"] if r.get("target")]:
        print(line)
    print(
        f"Wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')} "
        f"in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
