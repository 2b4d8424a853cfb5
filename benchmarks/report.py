"""The one report writer: a run's figures as compact JSON and its tables as Markdown, side by side
(NAME.json, NAME.md), for the throughput sections and the suites alike. The Markdown is rendered from
the JSON only, so `python -m benchmarks report NAME.json` rewrites it from a finished run's figures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import datetime
from pathlib import Path
from typing import Any


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{unit}"


def table(title: str, header: list[str], rows: list[list[str]], note: str = "") -> str:
    """A Markdown table under a ### title, with an optional note between them."""
    block = [f"### {title}", ""]
    if note:
        block += [note, ""]
    block += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    block += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(block) + "\n"


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import gymnasium
    import ray
    import torch

    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "gymnasium": gymnasium.__version__,
    }


def new_report(kind: str, **fields: Any) -> dict[str, Any]:
    """A report's JSON before any figure: what, when, by which command, on which machine."""
    return {
        "kind": kind,
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks", *sys.argv[1:]]),
        "machine": machine(),
        **fields,
    }


def write(data: dict[str, Any], out: Path, lines: list[str], tables: list[str]) -> None:
    """out.json (compact: one line) and out.md (a head: date, machine, command, `lines`; then `tables`)."""
    out = out.with_suffix(".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":"), default=float) + "\n")
    tmp.replace(out)
    m = data["machine"]
    head = [
        f"Measured {data['date']} on {m['cpu_model']} ({m['cores']} cores), Python {m['python']}, "
        f"torch {m['torch']}, Ray {m['ray']}, gymnasium {m['gymnasium']}.",
        "",
        f"Command: `{data['command']}`",
        "",
        *lines,
    ]
    out.with_suffix(".md").write_text("\n".join(head) + "\n\n" + "\n".join(tables))


# -- a suite's tables ----------------------------------------------------------------------------------


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio_line(env_id: str, target: dict[str, Any]) -> str:
    ours = (
        f"{target['entrant']} {target['ours_solved']}, median {fmt(target['ours_median_s'], 1, ' s')}"
        if target["ours_in_run"]
        else f"{target['entrant']} not in this run"
    )
    partial = (
        f" (not counted, no median: {', '.join(target['sb3_partly_solved'])})" if target["sb3_partly_solved"] else ""
    )
    if not target["sb3_entrants"]:
        return f"- {env_id}: no SB3 entrant in this run; {ours}"
    if target["fastest_sb3"] is None:
        return f"- {env_id}: no SB3 entrant reached the threshold in every seed{partial}; {ours}"
    ratio = "-" if target["ratio"] is None else f"**{target['ratio']:.2f}**"
    return (
        f"- {env_id}: {ratio} = {ours} / {target['fastest_sb3']} {fmt(target['fastest_sb3_median_s'], 1, ' s')}"
        f" (target <= 0.5){partial}"
    )


def no_threshold_lines(result: dict[str, Any], ours: str) -> list[str]:
    """A row without a threshold (Pong; issue 13's targets): ours' best 100-episode mean against each SB3
    entrant's, and its env steps/s over theirs (first seed each)."""
    runs = {name: s["runs"][0] for name, s in result["entrants"].items() if s["runs"]}
    mine = runs.get(ours)
    if mine is None:
        return []
    lines = []
    for name, theirs in runs.items():
        if not name.startswith("sb3_"):
            continue
        lines.append(
            f"- best 100-episode mean: {ours} {fmt(mine['best_reward'])} vs {name} {fmt(theirs['best_reward'])}"
        )
        if theirs["env_steps_per_s"] and mine["env_steps_per_s"]:
            lines.append(
                f"- env steps/s: {ours} / {name} = **{mine['env_steps_per_s'] / theirs['env_steps_per_s']:.2f}**"
            )
    return lines


def ended_below_best(runs: list[dict[str, Any]], limit: float) -> str:
    """The looser reading of issue 13's collapse target: does a run *end* more than the limit below its
    best? "n/seeds (largest gap)"; a run that dipped and came back counts in `collapsed` but not here."""
    gaps = [r["best_reward"] - r["final_reward"] for r in runs if None not in (r["best_reward"], r["final_reward"])]
    if not gaps:
        return "-"
    return f"{sum(g > limit for g in gaps)}/{len(runs)} ({fmt(max(gaps))})"


def row_table(result: dict[str, Any]) -> str:
    """One suite row's table: per entrant, how many seeds reached the threshold and when, rewards, collapse."""
    threshold = result["threshold"]
    caps = [f"{result['cap_s']:.0f} s"] if result["cap_s"] is not None else []
    caps += [f"{result['max_env_steps']:,} env steps"] if result["max_env_steps"] else []
    caps += [f"{result['iterations']} iterations"] if result["iterations"] else []
    title = (
        f"{result['env_id']}: mean of the last 100 episodes >= {threshold:g}"
        if threshold is not None
        else f"{result['env_id']}: best 100-episode mean within {' or '.join(caps)}"
    )
    scale = "random policy to threshold" if threshold is not None else "the score range"
    after = result["after_solve"]
    after_note = ""
    if threshold is not None and after is not None:
        after_note = (
            "; a run ends on reaching the threshold"
            if after == 0
            else f"; a run also ends after {after:g}x its time to threshold once it reached it"
        )
    note = (
        f"Cap {' or '.join(caps)} per run, wall clock from construction{after_note}. Median time only where every "
        f"seed reached the threshold (a full window of 100 episodes). Collapse: the 100-episode mean fell, in the "
        f"run's last quarter, more than {result['collapse_limit']:,.1f} (10% of the scale {result['scale']:,.0f}, "
        f"{scale}) below the best it had reached so far. Ended below best: how far the final 100-episode mean is "
        f"below the best (the largest of the seeds; in how many more than {result['collapse_limit']:,.1f})."
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
    rows = []
    for name, s in result["entrants"].items():
        runs = s["runs"]
        bests = [r["best_reward"] for r in runs if r["best_reward"] is not None]
        drops = [r["collapse_drop"] for r in runs if r["collapse_drop"] is not None]
        span = f" [{fmt(s['min_s'])}-{fmt(s['max_s'])}]" if s["min_s"] is not None else ""
        errors = sum(r["error"] is not None for r in runs)
        rows.append(
            [
                name + (f" ({errors} failed, see the JSON)" if errors else ""),
                f"{s['solved']}/{s['seeds']}" if threshold is not None else "-",
                f"{fmt(s['median_s'])}{span}",
                fmt(s["median_steps"], 0),
                fmt(_median([r["final_reward"] for r in runs])),
                f"{fmt(_median(bests))} [{fmt(min(bests))}-{fmt(max(bests))}]" if bests else "-",
                f"{s['collapsed']}/{s['seeds']} ({fmt(max(drops)) if drops else '-'})",
                ended_below_best(runs, result["collapse_limit"]),
                fmt(_median([r["env_steps_per_s"] for r in runs]), 0),
            ]
        )
    return table(title, header, rows, note)


def suite_markdown(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A suite report's head lines (skipped rows, ratios) and its tables."""
    lines = [f"Skipped: {line}" for line in data["skipped"]]
    ratios = [ratio_line(r["env_id"], r["target"]) for r in data["rows"] if r.get("target")]
    ours = data.get("ratio_entrant", "a3c")
    ratios += [line for r in data["rows"] if r["threshold"] is None for line in no_threshold_lines(r, ours)]
    if ratios:
        lines += ["", "Ratios (issue 13's targets):", "", *ratios]
    return lines, [row_table(r) for r in data["rows"]]


def write_suite(data: dict[str, Any], out: Path) -> None:
    lines, tables = suite_markdown(data)
    write(data, out, lines, tables)
