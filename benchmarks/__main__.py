"""python -m benchmarks: one command for every benchmark (run it from the repository's root).

    python -m benchmarks list                                  # suites, their rows and entrants
    python -m benchmarks suite defaults                        # make suite: 5 environments x 7-8 entrants x 3 seeds
    python -m benchmarks suite pong                            # make suite-pong: A3C against SB3 (zoo) on ALE/Pong-v5
    python -m benchmarks suite ablation --rows Pendulum-v1 --entrants defaults "entropy 0.01" --seeds 2
    python -m benchmarks suite pong --seeds 3 --resume        # pick up where an interrupted run stopped
    python -m benchmarks speed                                 # make bench: every section (limit ... pong, ppo)
    python -m benchmarks speed --sections floor tutorial       # the tutorial against Ray's own floor
    python -m benchmarks report benchmarks/results/suite_defaults.json   # rewrite a finished run's Markdown
    python -m benchmarks plot benchmarks/results/suite_pong_60min.json --out pong.png   # a suite's curves

A suite writes benchmarks/results/suite_NAME.{json,md} (--out to change) and every run's directory
(the layout `a3c train` writes) under benchmarks/results/runs/ (not kept in git); speed writes
benchmarks/results/speed.{json,md}. Figures are wall-clock on shared cores: run on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from benchmarks import report, speed
from benchmarks.entrants import missing_sb3, start_ray
from benchmarks.suites import (
    Suite,
    curve_groups,
    customized,
    load_suite,
    missing_extra,
    random_policy_mean,
    recorded_runs,
    run_row,
    suite_names,
)

RESULTS = Path(__file__).resolve().parent / "results"


def seed_list(text: str) -> list[int]:
    """'2,0' -> [2, 0] (argparse names this function in its error for anything else)."""
    return [int(seed) for seed in text.split(",")]


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = main.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the suites, their rows and entrants")

    suite = commands.add_parser("suite", help="run a named suite (benchmarks/suites/NAME.json)")
    suite.add_argument("name", help=f"one of: {', '.join(suite_names())}")
    suite.add_argument("--rows", nargs="+", metavar="ENV", help="only these environments (default: all)")
    suite.add_argument(
        "--entrants", nargs="+", metavar="NAME", help="only these entrants (default: all but the optional ones)"
    )
    seeds = suite.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, help="seeds 0 .. SEEDS-1 (default: the suite's)")
    seeds.add_argument("--seed-list", type=seed_list, help="these seeds, in this order, e.g. 2,0")
    suite.add_argument("--cap-scale", type=float, default=1.0, help="multiply every cap (time, env steps, iterations)")
    suite.add_argument(
        "--after-solve",
        type=float,
        help="a run ends after this many times its time to threshold once reached (inf: always at the cap; "
        "default: the suite's)",
    )
    suite.add_argument("--agent", choices=("a3c", "a2c", "ppo"), help="run our entrants with this agent")
    suite.add_argument(
        "--override", type=json.loads, default={}, help="JSON config keys over every one of our entrants' config"
    )
    suite.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/suite_NAME.json)")
    suite.add_argument(
        "--runs-dir",
        type=Path,
        help="where the run directories go (default benchmarks/results/runs/NAME-TIME; --resume: the earlier ones)",
    )
    suite.add_argument(
        "--resume",
        action="store_true",
        help="pick up a suite run that stopped: the runs recorded in the JSON at --out are kept, the rest run "
        "(one that was cut off or failed runs again); the caps, override and agent must be the same",
    )
    suite.add_argument("--random-baselines", action="store_true", help="print each row's random-policy score, no runs")

    bench = commands.add_parser("speed", help="the throughput sections")
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="one seed, fewer cells (a few minutes)")
    size.add_argument("--smoke", action="store_true", help="every section at its smallest: checks that it runs (CI)")
    bench.add_argument("--sections", nargs="+", choices=speed.SECTIONS, default=list(speed.SECTIONS))
    bench.add_argument("--seeds", type=int, default=3, help="tutorial runs (full size)")
    bench.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/speed.json)")

    rewrite = commands.add_parser("report", help="rewrite the Markdown of a finished run from its JSON")
    rewrite.add_argument("json", type=Path)

    plot = commands.add_parser(
        "plot",
        help="learning curves of finished suite runs, each entrant's median over seeds and its min-max band",
        description="Each entrant's median 100-episode mean over its seeds, with the min-max band, against env "
        "steps and wall-clock seconds, from the curves a suite's JSON keeps (25 points a run). LABEL=JSON names a "
        "setting (an --override run): its entrants are drawn as 'a3c (LABEL)', and reports with one label are one "
        "curve (a setting whose seeds ran into several reports).",
    )
    plot.add_argument("reports", nargs="+", metavar="[LABEL=]JSON", type=labelled_report)
    plot.add_argument("--row", metavar="ENV", help="the environment to draw (needed when the reports hold several)")
    plot.add_argument("--out", type=Path, required=True, help="PNG file to write")
    plot.add_argument("--target", type=float, help="a dashed line at this score (default: the row's threshold)")
    return main


def labelled_report(text: str) -> tuple[str | None, Path]:
    """'LSTM-42=results/x.json' -> ('LSTM-42', Path('results/x.json')); 'x.json' -> (None, Path('x.json'))."""
    label, sep, path = text.rpartition("=") if not Path(text).is_file() else ("", "", text)
    return (label or None) if sep else None, Path(path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, checked against the suite's data (names of rows and entrants) before anything runs."""
    main = parser()
    args = main.parse_args(argv)
    if args.command == "suite":
        try:
            args.suite = load_suite(args.name)
        except ValueError as error:
            main.error(str(error))
        known_rows = [r.env_id for r in args.suite.rows]
        unknown = sorted(set(args.rows or []) - set(known_rows))
        if unknown:
            main.error(f"suite {args.name} has no row(s) {unknown}; choose from {', '.join(known_rows)}")
        unknown = sorted(set(args.entrants or []) - set(args.suite.entrants))
        if unknown:
            main.error(f"suite {args.name} has no entrant(s) {unknown}; choose from {', '.join(args.suite.entrants)}")
    if args.command == "report" and not args.json.is_file():
        main.error(f"no such file {args.json}")
    if args.command == "plot":
        load_plot_reports(main, args)
    return args


def load_plot_reports(main: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`plot`'s reports read into args.loaded and its row chosen, or one line naming what is wrong."""
    args.loaded = []
    for label, path in args.reports:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            main.error(f"cannot read {path}: {error}")
        if not isinstance(data, dict) or data.get("kind") != "suite":
            main.error(f"{path} is not a suite's report (python -m benchmarks suite ... --out writes one)")
        args.loaded.append((label, data))
    envs = list(dict.fromkeys(r["env_id"] for _, data in args.loaded for r in data["rows"]))
    if args.row is None and len(envs) != 1:
        main.error(f"the reports hold {len(envs)} environments: choose one with --row from {', '.join(envs)}")
    args.row = args.row or envs[0]
    if args.row not in envs:
        main.error(f"no report holds {args.row}; they hold {', '.join(envs)}")
    if args.out.suffix.lower() != ".png" or args.out.is_dir():
        main.error(f"--out writes a PNG: give a file ending in .png, got {args.out}")


def list_suites() -> None:
    for name in suite_names():
        suite = load_suite(name)
        print(f"{name}: {suite.description.split('. ')[0]}")
        for row in suite.rows:
            every = suite.entrants_for(row, named=list(suite.entrants))
            names = " | ".join(e.name + (" (optional: --entrants)" if e.optional else "") for e in every)
            print(f"  {row.env_id} (threshold {row.threshold}): {names}")


def run_suite(args: argparse.Namespace) -> None:
    suite: Suite = args.suite
    rows = [r for r in suite.rows if args.rows is None or r.env_id in args.rows]
    if args.random_baselines:
        for row in rows:
            print(f"{row.env_id}: {missing_extra(row.env_id) or f'{random_policy_mean(row.env_id):.1f}'}", flush=True)
        return
    seeds = list(range(args.seeds)) if args.seeds is not None else args.seed_list or list(suite.seeds)
    after_solve = suite.after_solve if args.after_solve is None else args.after_solve
    if after_solve is not None and after_solve == float("inf"):
        after_solve = None
    suite = Suite(suite.name, suite.description, tuple(seeds), after_solve, suite.ratio_entrant, suite.entrants, ())
    out = args.out or RESULTS / f"suite_{suite.name}.json"
    settings = {"cap_scale": args.cap_scale, "override": args.override, "agent": args.agent, "after_solve": after_solve}
    recorded: dict = {}
    if args.resume:
        earlier = earlier_report(out, settings)
        recorded, runs_dir = recorded_runs(earlier), Path(earlier["runs_dir"])
        print(f"resuming {out}: {len(recorded)} run(s) recorded, in {runs_dir}", flush=True)
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        runs_dir = args.runs_dir or RESULTS / "runs" / f"{suite.name}-{stamp}"
    problems = {r.env_id: missing_extra(r.env_id) for r in rows}
    rows = [r for r in rows if problems[r.env_id] is None]
    no_sb3 = missing_sb3()
    skipped = [problem for problem in [*problems.values(), no_sb3] if problem]
    for problem in skipped:
        print(f"skipping {problem}", flush=True)
    start_ray()
    data = report.new_report("suite", suite=suite.name, seeds=seeds, skipped=skipped, rows=[], settings=settings)
    if args.resume:  # rows and seeds this call leaves out stay in the report
        data.update(rows=earlier["rows"], seeds=sorted({*earlier["seeds"], *seeds}))
    data.update(ratio_entrant=suite.ratio_entrant, runs_dir=str(runs_dir))
    started = time.perf_counter()

    def record(result: dict) -> None:
        """Write the report with this row's result so far (after every run: an interruption keeps the rest)."""
        data["rows"] = [r for r in data["rows"] if r["env_id"] != result["env_id"]] + [result]
        data["total_wall_s"] = time.perf_counter() - started
        report.write_suite(data, out)

    for row in rows:
        entrants = [
            customized(e, args.agent, args.override)
            for e in suite.entrants_for(row, with_sb3=no_sb3 is None, named=args.entrants)
        ]
        print(
            f"== {row.env_id}: {len(entrants)} entrants x {len(seeds)} seeds "
            f"({time.perf_counter() - started:.0f} s into the run)",
            flush=True,
        )
        kept = {(name, seed): run for (env_id, name, seed), run in recorded.items() if env_id == row.env_id}
        result = run_row(suite, row, entrants, seeds, runs_dir, args.cap_scale, kept, record)
        record(result)
        print("\n" + report.row_table(result), flush=True)
    report.write_suite(data, out)
    for line in [report.ratio_line(r["env_id"], r["target"]) for r in data["rows"] if r.get("target")]:
        print(line)
    print(f"Wrote {out.with_suffix('.json')} and {out.with_suffix('.md')} in {time.perf_counter() - started:.0f} s")


def earlier_report(out: Path, settings: dict) -> dict:
    """The report `--resume` continues, checked to have been run with the same settings."""
    path = out.with_suffix(".json")
    if not path.is_file():
        sys.exit(f"nothing to resume: no {path} (run the same command without --resume first)")
    earlier = json.loads(path.read_text())
    if "settings" not in earlier:
        sys.exit(f"{path} was written before --resume existed (no settings recorded): run without --resume")
    differ = {k: (earlier["settings"].get(k), v) for k, v in settings.items() if earlier["settings"].get(k) != v}
    if differ:
        said = "; ".join(f"{k}: {was!r} then, {now!r} now" for k, (was, now) in differ.items())
        sys.exit(f"cannot resume {path} with other settings ({said}); use another --out")
    return earlier


def run_speed(args: argparse.Namespace) -> None:
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    out = args.out or RESULTS / ("speed.json" if size == "full" else f"speed_{size}.json")
    if missing_sb3() is not None and "throughput" in args.sections:
        sys.exit(f"the throughput section needs {missing_sb3()}")
    start_ray()
    data = report.new_report("speed", size=size)
    started = time.perf_counter()
    for section in speed.SECTIONS:
        if section not in args.sections:
            continue
        print(f"== {section} ({time.perf_counter() - started:.0f} s into the run)", flush=True)
        measured = speed.MEASURE[section](size, list(range(args.seeds)))
        if measured is not None:
            data[section] = measured
            print("\n" + speed.section_table(section, data), flush=True)
        data.update(speed.ratios(data), total_wall_s=time.perf_counter() - started)
        report.write(data, out, *speed.speed_markdown(data))
    print("\nRatios:", json.dumps({k: data[k] for k in speed.RATIO_KEYS}, indent=2))
    print(f"Wrote {out.with_suffix('.json')} and {out.with_suffix('.md')} in {data['total_wall_s']:.0f} s")


def rewrite_report(path: Path) -> None:
    data = json.loads(path.read_text())
    if data.get("kind") == "speed":
        report.write(data, path, *speed.speed_markdown(data))
    else:
        report.write_suite(data, path)
    print(f"Wrote {path.with_suffix('.md')}")


def plot_reports(args: argparse.Namespace) -> None:
    from a3c.plot import STEPS_AND_WALL_CLOCK, plot_curves

    groups = curve_groups(args.loaded, args.row)
    thresholds = {r["threshold"] for _, data in args.loaded for r in data["rows"] if r["env_id"] == args.row}
    target = args.target if args.target is not None else thresholds.pop() if len(thresholds) == 1 else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_curves(groups, args.out, STEPS_AND_WALL_CLOCK, target, f"{args.row}: median over seeds, band = min-max")
    print(f"Wrote {args.out}: " + "; ".join(f"{name} ({len(runs)} runs)" for name, runs in groups))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "list":
        list_suites()
    elif args.command == "suite":
        run_suite(args)
    elif args.command == "speed":
        run_speed(args)
    elif args.command == "plot":
        plot_reports(args)
    else:
        rewrite_report(args.json)


if __name__ == "__main__":
    main()
