"""A suite: environments (rows) x entrants x seeds, read from benchmarks/suites/NAME.json, run and
judged the same way for every entrant.

A suite file:

    {"description": "...", "seeds": 3,            # a count (0 .. N-1) or a list of seeds
     "after_solve": 1.0,                           # a run ends after this many times its time to the
                                                   # threshold once reached (0: on reaching it; null: always at the cap)
     "ratio_entrant": "a3c",                       # ours, against the fastest SB3 entrant
     "entrants": {"a3c": {"agent": "a3c"}, "sb3_ppo_zoo": {"agent": "sb3_ppo", "zoo": true},
                  "a3c_tuned": {"agent": "a3c", "tuned": "mountaincar", "config": {...}}},
     "rows": [{"env": "CartPole-v1", "threshold": 475, "random_score": 23.7, "cap_s": 50,
               "max_env_steps": null, "iterations": null, "best_score": null, "entrants": [...]}]}
    # or "rows_from": "defaults" to take another suite's rows (their entrant lists dropped)

A row's entrants are the suite's (in order) unless it names its own; zoo entrants run only where the
zoo has settings. Per run, from its progress.csv: the time and env steps at which a3c.run.reached_target
first held (wall clock from construction), the final and best 100-episode means, the collapse check
(the worst fall below the best so far in the run's last quarter) and env steps/s.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a3c.run import EPISODE_WINDOW, MaxEnvSteps, MaxIterations, StopRule, TimeLimit, reached_target
from benchmarks.entrants import AfterTarget, Entrant, deep_merge

SUITES = Path(__file__).resolve().parent / "suites"
COLLAPSE_FRACTION = 0.1  # issue 13: never more than 10% of the row's scale below the best so far
CURVE_KEYS = ("wall_s", "timesteps_total", "episodes_total", "episode_reward_mean")  # a kept curve point
CURVE_POINTS = 25  # per run in the kept JSON: a full suite's file stays under 200 KB (the curves are in the run dirs)


@dataclass(frozen=True)
class Row:
    """One environment of a suite: its threshold, the scale the collapse check measures against, its caps."""

    env_id: str
    threshold: float | None
    random_score: float  # mean of 100 episodes of uniformly random actions (`--random-baselines`)
    cap_s: float | None = None
    max_env_steps: int | None = None
    iterations: int | None = None
    best_score: float | None = None  # rows without a threshold: the best possible score, for the scale
    entrants: tuple[str, ...] = ()

    @property
    def scale(self) -> float:
        """From a random policy's score to the threshold (or the best possible score): what "10% of the
        threshold" is 10% of; for rows whose scores are negative (Pendulum, MountainCar) the only reading that works."""
        top = self.threshold if self.threshold is not None else self.best_score
        assert top is not None, f"{self.env_id}: a row needs a threshold or a best score"
        return abs(top - self.random_score)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Row:
        row = cls(
            spec["env"],
            spec.get("threshold"),
            spec["random_score"],
            spec.get("cap_s"),
            spec.get("max_env_steps"),
            spec.get("iterations"),
            spec.get("best_score"),
            tuple(spec.get("entrants", ())),
        )
        if row.cap_s is None and row.iterations is None and row.max_env_steps is None:
            raise ValueError(f"row {row.env_id}: give cap_s, max_env_steps or iterations")
        return row


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    seeds: tuple[int, ...]
    after_solve: float | None
    ratio_entrant: str
    entrants: dict[str, Entrant]
    rows: tuple[Row, ...]

    def row(self, env_id: str) -> Row:
        return next(r for r in self.rows if r.env_id == env_id)

    def entrants_for(self, row: Row, with_sb3: bool = True, named: Sequence[str] | None = None) -> list[Entrant]:
        """The row's entrants in the suite's order (or the row's own), those that run on it: the `named`
        ones (`--entrants`), or all but the optional ones."""
        names = row.entrants or tuple(self.entrants)
        chosen = [self.entrants[name] for name in names]
        wanted = [e for e in chosen if e.name in named] if named else [e for e in chosen if not e.optional]
        return [e for e in wanted if e.runs_on(row.env_id) and (with_sb3 or not e.is_sb3)]


def suite_names() -> list[str]:
    return sorted(path.stem for path in SUITES.glob("*.json"))


def load_suite(name: str) -> Suite:
    path = SUITES / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"no suite {name!r}; choose from {', '.join(suite_names())}")
    spec = json.loads(path.read_text())
    if "rows_from" in spec:
        rows = tuple(Row(**{**r.__dict__, "entrants": ()}) for r in load_suite(spec["rows_from"]).rows)
    else:
        rows = tuple(Row.from_dict(r) for r in spec["rows"])
    entrants = {name: Entrant.from_dict(name, e) for name, e in spec["entrants"].items()}
    unknown = sorted({n for r in rows for n in r.entrants} - set(entrants))
    if unknown:
        raise ValueError(f"suite {name}: rows name entrants it does not define: {unknown}")
    seeds = spec.get("seeds", 3)
    return Suite(
        name,
        spec.get("description", ""),
        tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds),
        spec.get("after_solve", 1.0),
        spec.get("ratio_entrant", "a3c"),
        entrants,
        rows,
    )


def customized(entrant: Entrant, agent: str | None, override: dict[str, Any]) -> Entrant:
    """One of our entrants with another agent (`--agent`) and `override` over its config; SB3 as is."""
    if entrant.is_sb3:
        return entrant
    return Entrant(entrant.name, agent or entrant.agent, deep_merge(entrant.config, override), entrant.tuned)


# -- the pure parts: order, stop rules, what a run reached, ratios ---------------------------------------


def run_order(entrants: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """Seed-major, the entrants rotated by one place per seed: every entrant runs early, in the middle
    and late once each over 3 seeds, so a machine that slows down (or speeds up) hits all alike."""
    order = []
    for index, seed in enumerate(seeds):
        shift = index % len(entrants) if entrants else 0
        order += [(name, seed) for name in entrants[shift:] + entrants[:shift]]
    return order


def stop_rules(row: Row, after_solve: float | None, cap_scale: float = 1.0) -> list[StopRule]:
    """A run's a3c.run stop rules: the row's caps (wall clock from construction, env steps, iterations)
    and, with a threshold, AfterTarget (None: always to the cap). Fresh rules for every run."""
    rules: list[StopRule] = []
    if row.cap_s is not None:
        rules.append(TimeLimit(row.cap_s * cap_scale, wall=True))
    if row.max_env_steps is not None:
        rules.append(MaxEnvSteps(int(row.max_env_steps * cap_scale)))
    if row.iterations is not None:
        rules.append(MaxIterations(max(1, round(row.iterations * cap_scale))))
    if row.threshold is not None and after_solve is not None:
        rules.append(AfterTarget(row.threshold, after_solve))
    return rules


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


def outcome(rows: list[dict[str, float]], row: Row) -> dict[str, Any]:
    """What one run reached, from its progress rows (progress.csv: ours and SB3's alike)."""
    first = next(
        (r for r in rows if reached_target(r["episode_reward_mean"], int(r["episodes_total"]), row.threshold)), None
    )
    full = [r["episode_reward_mean"] for r in rows if r["episodes_total"] >= EPISODE_WINDOW]
    drop = collapse_drop(rows)
    last = rows[-1] if rows else {"timesteps_total": 0, "wall_s": 0.0, "episode_reward_mean": math.nan}
    return {
        "solved_s": None if first is None else first["wall_s"],
        "solved_steps": None if first is None else int(first["timesteps_total"]),
        "final_reward": last["episode_reward_mean"] if math.isfinite(last["episode_reward_mean"]) else None,
        "best_reward": max(full) if full else None,
        "episodes": int(rows[-1]["episodes_total"]) if rows else 0,
        "collapse_drop": drop,
        "collapsed": None if drop is None else drop > COLLAPSE_FRACTION * row.scale,
        "env_steps": int(last["timesteps_total"]),
        "wall_s": last["wall_s"],
        "env_steps_per_s": last["timesteps_total"] / last["wall_s"] if last["wall_s"] > 0 else None,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """An entrant's runs on a row: how many reached the threshold, the median time only if all did."""
    times = [r["solved_s"] for r in runs if r["solved_s"] is not None]
    steps = [r["solved_steps"] for r in runs if r["solved_steps"] is not None]
    return {
        "solved": len(times),
        "seeds": len(runs),
        "median_s": statistics.median(times) if times and len(times) == len(runs) else None,
        "min_s": min(times) if times else None,
        "max_s": max(times) if times else None,
        "median_steps": statistics.median(steps) if steps else None,
        "collapsed": sum(bool(r["collapsed"]) for r in runs),
        "runs": runs,
    }


def target_ratio(summaries: dict[str, dict[str, Any]], ours: str = "a3c") -> dict[str, Any]:
    """Issue 13's target for a row: ours' median time to threshold / the fastest SB3 entrant's (<= 0.5
    wanted). A median exists only where every seed reached the threshold; SB3 entrants that reached it
    in some seeds but not all are named, since they are left out of "fastest"."""
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


def thin(rows: list[dict[str, float]], points: int = CURVE_POINTS) -> list[list[float | None]]:
    """At most `points` + 1 rows of a curve (values of CURVE_KEYS), the last kept."""
    step = max(1, math.ceil(len(rows) / points))
    kept = rows[::step] + ([rows[-1]] if rows and (len(rows) - 1) % step else [])
    return [[round(float(r[k]), 2) if math.isfinite(r[k]) else None for k in CURVE_KEYS] for r in kept]


def curve_groups(reports: list[tuple[str | None, dict[str, Any]]], env_id: str) -> list[tuple[str, list[list[dict]]]]:
    """Each entrant's runs on `env_id` as progress rows (from the curves a suite's JSON keeps), for
    a3c.plot.plot_curves: one group per entrant and label, so one setting run into several reports over
    several sessions (the same label) is one curve, and two settings of one entrant are two."""
    groups: dict[str, list[list[dict]]] = {}
    for label, data in reports:
        for row in data["rows"]:
            if row["env_id"] != env_id:
                continue
            for entrant, summary in row["entrants"].items():
                name = f"{entrant} ({label})" if label else entrant
                for run in summary["runs"]:
                    if run.get("curve"):
                        rows = [
                            {k: math.nan if v is None else v for k, v in zip(CURVE_KEYS, point, strict=True)}
                            for point in run["curve"]
                        ]
                        groups.setdefault(name, []).append(rows)
    return list(groups.items())


# -- running ---------------------------------------------------------------------------------------------


def run_dir_for(runs_dir: Path, env_id: str, entrant: str, seed: int) -> Path:
    return runs_dir / env_id.replace("/", "_") / f"{entrant.replace(' ', '_')}_seed{seed}"


def run_entrant(entrant: Entrant, row: Row, seed: int, stop: list[StopRule], run_dir: Path) -> dict[str, Any]:
    """Train one run and judge it from its progress.csv; a failed run is recorded, not raised (one failed
    run must not cost the rest of a two-hour suite)."""
    from a3c.runlog import read_progress

    error = None
    try:
        entrant.train(row.env_id, seed, stop, run_dir)
    except Exception as exc:  # noqa: BLE001
        error = f"{type(exc).__name__}: {exc}"
    rows = read_progress(run_dir) if (run_dir / "progress.csv").is_file() else []
    return {"seed": seed, **outcome(rows, row), "error": error, "run_dir": str(run_dir), "curve": thin(rows)}


def run_row(
    suite: Suite,
    row: Row,
    entrants: list[Entrant],
    seeds: list[int],
    runs_dir: Path,
    cap_scale: float = 1.0,
    recorded: dict[tuple[str, int], dict[str, Any]] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every entrant x seed on one row, interleaved (run_order); the row's result for the report.

    `recorded`: runs of an earlier, interrupted suite run by (entrant, seed), kept as they are (`--resume`),
    except a failed one this call asks for, which runs again;
    `on_run` is given the row's result so far after each run, so a long suite loses at most the run it is in.
    """
    from benchmarks.report import fmt

    by_name = {e.name: e for e in entrants}
    order = run_order(list(by_name), seeds)
    runs: dict[str, list[dict[str, Any]]] = {e.name: [] for e in entrants}
    for (name, seed), result in (recorded or {}).items():  # recorded runs this call does not ask for stay
        if (name, seed) not in order:
            runs.setdefault(name, []).append(result)
    for name, seed in order:
        earlier = (recorded or {}).get((name, seed))
        if earlier is not None and not earlier.get("error"):
            result = earlier
            print(f"  {row.env_id} {name} seed {seed}: recorded earlier, kept ({result['wall_s']:.0f} s)", flush=True)
        else:
            if earlier is not None:
                print(f"  {row.env_id} {name} seed {seed}: failed earlier ({earlier['error']}), runs again", flush=True)
            run_dir = run_dir_for(runs_dir, row.env_id, name, seed)
            if run_dir.exists():  # an interrupted or failed run: its clock started long ago, so it starts over
                shutil.rmtree(run_dir)
            result = run_entrant(by_name[name], row, seed, stop_rules(row, suite.after_solve, cap_scale), run_dir)
            failed = f" FAILED: {result['error']}" if result["error"] else ""
            print(
                f"  {row.env_id} {name} seed {seed}: threshold at {fmt(result['solved_s'], 1, ' s')}, "
                f"final {fmt(result['final_reward'])}, best {fmt(result['best_reward'])}, "
                f"{result['env_steps']:,} steps in {result['wall_s']:.0f} s{failed}",
                flush=True,
            )
        runs[name].append(result)
        if on_run is not None:
            on_run(row_result(suite, row, runs, cap_scale))
    return row_result(suite, row, runs, cap_scale)


def row_result(suite: Suite, row: Row, runs: dict[str, list[dict[str, Any]]], cap_scale: float = 1.0) -> dict[str, Any]:
    """A row's entry in the report from the runs it has so far."""
    summaries = {name: summarize(sorted(r, key=lambda x: x["seed"])) for name, r in runs.items() if r}
    return {
        "env_id": row.env_id,
        "threshold": row.threshold,
        "scale": row.scale,
        "collapse_limit": COLLAPSE_FRACTION * row.scale,
        "cap_s": None if row.cap_s is None else row.cap_s * cap_scale,
        "max_env_steps": None if row.max_env_steps is None else int(row.max_env_steps * cap_scale),
        "iterations": None if row.iterations is None else max(1, round(row.iterations * cap_scale)),
        "after_solve": suite.after_solve,
        "entrants": summaries,
        "target": target_ratio(summaries, suite.ratio_entrant) if row.threshold is not None else None,
    }


def recorded_runs(report: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The finished runs of a suite report by (env id, entrant, seed): what `--resume` keeps."""
    return {
        (row["env_id"], name, run["seed"]): run
        for row in report.get("rows", [])
        for name, summary in row["entrants"].items()
        for run in summary["runs"]
    }


# -- what is installed, and the bottom of a row's scale ----------------------------------------------------


def missing_extra(env_id: str) -> str | None:
    """None if the environment can be built here, else one line naming the extra to install."""
    from a3c.envs import EnvError, make_env

    try:
        make_env(env_id).close()
    except EnvError as error:
        return f"{env_id}: {error}"
    return None


def random_policy_mean(env_id: str, episodes: int = 100, seed: int = 0) -> float:
    """Mean return of uniformly random actions (episodes seeded seed, seed + 1, ...): a row's random_score."""
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
