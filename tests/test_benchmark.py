"""The benchmark harness's logic (benchmarks/): suites and zoo settings as data, the one stop rule and
"reached" test for every entrant, what a run reached, the ratios, the reports. No training here but the
two checkpoint tools' (their own agents, no Ray); tests/test_benchmark_commands.py runs the commands."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from a3c.agents import AGENTS
from a3c.config import resolve_config
from a3c.run import Progress, first_stop
from benchmarks import __main__ as cli
from benchmarks import report, speed
from benchmarks.entrants import AfterTarget, Entrant, deep_merge, has_linear_schedule, sb3_settings, zoo_settings
from benchmarks.suites import (
    CURVE_POINTS,
    Row,
    collapse_drop,
    curve_groups,
    load_suite,
    outcome,
    run_order,
    run_row,
    stop_rules,
    suite_names,
    summarize,
    target_ratio,
    thin,
)

ROOT = Path(__file__).resolve().parents[1]


def curve(points, episodes=100):
    """Progress rows as progress.csv holds them, from (wall_s, 100-episode mean) pairs, 10 env steps apart."""
    return [
        {"wall_s": w, "timesteps_total": 10 * (i + 1), "episodes_total": episodes + i, "episode_reward_mean": r}
        for i, (w, r) in enumerate(points)
    ]


def progress(wall_s, mean, episodes=100, steps=1000):
    return Progress(1, steps, wall_s, wall_s, mean, episodes)


# -- the data files ----------------------------------------------------------------------------------


def test_every_suite_loads_and_every_entrant_of_ours_has_a_config_its_agent_accepts():
    """A variant whose key was renamed or removed fails here, not an hour into a suite."""
    assert {"defaults", "pong", "ablation", "solve", "tutorial", "mountaincar_variants"} <= set(suite_names())
    for name in suite_names():
        suite = load_suite(name)
        assert suite.rows and suite.entrants and suite.ratio_entrant in suite.entrants, name
        for entrant in suite.entrants.values():
            if not entrant.is_sb3:
                resolve_config({**entrant.resolved_config(), "seed": 0}, AGENTS[entrant.agent].schema)
        for row in suite.rows:
            assert suite.entrants_for(row), (name, row.env_id)
            for entrant in suite.entrants_for(row):  # a zoo entrant runs only where the zoo has settings
                assert not entrant.zoo or zoo_settings(entrant.agent, row.env_id) is not None


def test_defaults_suite_rows_and_entrants():
    suite = load_suite("defaults")
    names = [e.name for e in suite.entrants_for(suite.row("CartPole-v1"))]
    assert names == ["a3c", "a2c", "ppo", "sb3_ppo", "sb3_a2c", "sb3_ppo_zoo", "sb3_a2c_zoo"]
    mountain = suite.entrants_for(suite.row("MountainCar-v0"), with_sb3=False)
    assert [e.name for e in mountain] == ["a3c", "a2c", "ppo", "a3c_tuned"]
    assert mountain[3].resolved_config()["num_workers"] == 2  # examples/tuned/mountaincar.yaml
    assert suite.row("CartPole-v1").scale == pytest.approx(475 - 23.7)
    ablation = load_suite("ablation")  # the defaults' rows, its own entrants
    assert [r.env_id for r in ablation.rows] == [r.env_id for r in suite.rows]
    assert [e.name for e in ablation.entrants_for(ablation.row("Pendulum-v1"))][0] == "defaults"


def test_caps_fit_the_issues_budgets():
    """A full defaults run, 3 seeds, in 2 hours even if no run ends early; Pong in 100 minutes."""
    suite = load_suite("defaults")
    worst = sum(len(suite.seeds) * r.cap_s * len(suite.entrants_for(r)) for r in suite.rows)
    assert worst <= 110 * 60  # a few seconds per run on top: start-up, teardown, the last iteration past the cap
    pong = load_suite("pong")
    assert sum(r.cap_s * len(pong.entrants_for(r)) for r in pong.rows) <= 90 * 60


def test_an_optional_entrant_runs_only_when_named():
    pong = load_suite("pong")
    row = pong.row("ALE/Pong-v5")
    assert "ppo_zoo" not in [e.name for e in pong.entrants_for(row)]  # outside the suite's budget
    [ppo] = pong.entrants_for(row, named=["ppo_zoo"])
    assert ppo.agent == "ppo" and ppo.resolved_config()["train_batch_size"] == 1024  # examples/tuned/pong_ppo.yaml
    assert [e.name for e in pong.entrants_for(row, named=["a3c", "ppo_zoo"])] == ["a3c", "ppo_zoo"]


def test_zoo_settings_are_the_zoos():
    ppo = zoo_settings("sb3_ppo", "CartPole-v0")  # v0 takes v1's settings
    assert ppo == zoo_settings("sb3_ppo", "CartPole-v1")
    assert ppo["n_envs"] == 8 and ppo["kwargs"]["n_steps"] == 32 and ppo["kwargs"]["n_epochs"] == 20
    assert has_linear_schedule(ppo) and not has_linear_schedule(zoo_settings("sb3_a2c", "CartPole-v1"))
    assert (
        zoo_settings("sb3_ppo", "MountainCar-v0")["normalize"]
        and zoo_settings("sb3_a2c", "MountainCar-v0")["n_envs"] == 16
    )
    assert zoo_settings("sb3_ppo", "HalfCheetah-v5") is not None and zoo_settings("sb3_ppo", "Acrobot-v1") is None
    assert sb3_settings("sb3_a2c", "Acrobot-v1", zoo=False)["n_envs"] == 1  # SB3's own defaults
    with pytest.raises(ValueError, match="no sb3_ppo settings"):
        sb3_settings("sb3_ppo", "Acrobot-v1", zoo=True)


def test_entrant_specs_are_checked_and_merged():
    with pytest.raises(ValueError, match="agent one of"):
        Entrant.from_dict("x", {"agent": "dqn"})
    with pytest.raises(ValueError, match="keys"):
        Entrant.from_dict("x", {"agent": "a3c", "confg": {}})
    tuned = Entrant.from_dict(
        "t", {"agent": "a3c", "tuned": "mountaincar", "config": {"model": {"vf_share_layers": True}}}
    )
    config = tuned.resolved_config()
    assert config["model"]["vf_share_layers"] is True and config["num_workers"] == 2
    assert deep_merge({"model": {"a": 1, "b": 2}, "lr": 1}, {"model": {"b": 3}}) == {"model": {"a": 1, "b": 3}, "lr": 1}


# -- the one stop rule and "reached" test ------------------------------------------------------------


def test_after_target_counts_only_a_full_window_and_stops_after_the_factor():
    rule = AfterTarget(475.0, 1.0)
    assert rule.reason(progress(5.0, 500.0, episodes=10)) is None  # 10 episodes: luck, not reached
    assert rule.reached_wall_s is None
    assert rule.reason(progress(20.0, 480.0)) is None and rule.reached_wall_s == 20.0
    assert rule.reason(progress(39.0, 300.0)) is None  # falling back does not undo reaching it
    assert rule.reason(progress(40.0, 300.0)) is not None  # twice the time to the threshold
    assert AfterTarget(475.0, 0.0).reason(progress(20.0, 480.0)) is not None  # 0: stop on reaching it
    assert AfterTarget(475.0, 0.0).reason(progress(20.0, math.nan)) is None


def test_stop_rules_are_the_rows_caps_scaled_and_fresh_per_run():
    row = Row("HalfCheetah-v5", 1500.0, random_score=-282.5, cap_s=75.0, max_env_steps=1_000_000)
    rules = stop_rules(row, after_solve=1.0, cap_scale=0.5)
    assert first_stop(rules, progress(37.4, 0.0, steps=10)) is None
    assert "time limit 37.5 s" in first_stop(rules, progress(37.5, 0.0, steps=10))[1]
    assert "500,000 env steps" in first_stop(rules, progress(1.0, 0.0, steps=500_000))[1]
    assert stop_rules(row, 1.0)[-1] is not stop_rules(row, 1.0)[-1]
    assert not any(isinstance(r, AfterTarget) for r in stop_rules(row, after_solve=None))
    tutorial = Row("CartPole-v0", 195.0, random_score=23.7, iterations=100)
    assert "100 iterations" in first_stop(stop_rules(tutorial, None), Progress(100, 1, 1.0, 1.0, 0.0, 0))[1]
    with pytest.raises(ValueError, match="give cap_s"):
        Row.from_dict({"env": "CartPole-v1", "threshold": 475, "random_score": 23.7})


def test_outcome_reaches_the_threshold_only_with_100_episodes_and_flags_a_collapse():
    row = Row("CartPole-v1", 475.0, random_score=25.0, cap_s=60.0)
    assert row.scale == 450.0
    rows = curve([(5, 500)], episodes=10) + curve([(20, 480), (40, 490), (60, 400)], episodes=120)
    result = outcome(rows, row)
    assert result["solved_s"] == 20 and result["solved_steps"] == 10  # not at 5 s: 10 episodes only
    assert result["best_reward"] == 490 and result["final_reward"] == 400
    assert result["collapse_drop"] == pytest.approx(90.0) and result["collapsed"] is True  # limit 45
    assert result["env_steps_per_s"] == pytest.approx(30 / 60)
    nothing = outcome(curve([(3, math.nan)], episodes=0), row)
    assert nothing["final_reward"] is None and nothing["solved_s"] is None and nothing["collapsed"] is None
    assert outcome([], row)["env_steps"] == 0  # a run that failed before its first row


class TrainsNothing:
    """An entrant whose training only records the seeds it was asked to train: what --resume reruns."""

    name = "a3c"

    def __init__(self):
        self.trained: list[int] = []

    def train(self, env_id, seed, stop, run_dir):
        self.trained.append(seed)


def test_resume_keeps_finished_runs_and_reruns_a_failed_one(tmp_path):
    suite = load_suite("defaults")
    row = suite.rows[0]
    finished = {"seed": 0, **outcome(curve([(1.0, 10.0)]), row), "error": None, "run_dir": "x", "curve": []}
    failed = {**finished, "seed": 1, "error": "RuntimeError: the node died"}
    entrant = TrainsNothing()
    result = run_row(suite, row, [entrant], [0, 1], tmp_path, recorded={("a3c", 0): finished, ("a3c", 1): failed})
    assert entrant.trained == [1]
    assert [(r["seed"], r["error"]) for r in result["entrants"]["a3c"]["runs"]] == [(0, None), (1, None)]


def test_run_order_is_seed_major_with_the_entrants_rotated():
    order = run_order(["a", "b", "c"], [0, 1, 2])
    assert order == [
        ("a", 0), ("b", 0), ("c", 0),
        ("b", 1), ("c", 1), ("a", 1),
        ("c", 2), ("a", 2), ("b", 2),
    ]  # fmt: skip
    positions = {name: [i % 3 for i, (n, _) in enumerate(order) if n == name] for name in "abc"}
    assert all(sorted(p) == [0, 1, 2] for p in positions.values())  # each first, middle and last once


def test_collapse_drop_is_the_worst_fall_below_the_best_so_far_in_the_last_quarter():
    # best 480 at t=50; the last quarter starts at 75 s: it falls to 300 at t=80 and recovers
    rows = curve([(10, 100), (50, 480), (70, 200), (80, 300), (90, 470), (100, 475)])
    assert collapse_drop(rows) == pytest.approx(180.0)
    assert collapse_drop(curve([(10, 20), (50, 100), (80, 150), (100, 400)])) == 0.0  # still climbing
    assert collapse_drop(curve([(10, 300), (40, 20), (80, 310), (100, 320)])) == 0.0  # the dip was earlier
    early = curve([(10, 500), (20, 480)], episodes=5)  # a lucky handful of episodes sets no best
    late = [dict(r, episodes_total=200 + i, wall_s=80 + 10 * i) for i, r in enumerate(curve([(0, 300), (0, 290)]))]
    assert collapse_drop(early + late) == pytest.approx(10.0) and collapse_drop(early) is None


def test_target_ratio_is_ours_over_the_fastest_sb3_entrant_that_solved_every_seed():
    def entry(median, solved, seeds=3):
        return {"median_s": median, "solved": solved, "seeds": seeds}

    summaries = {
        "a3c": entry(10.0, 3),
        "ppo": entry(5.0, 3),  # ours, not SB3: never the denominator
        "sb3_ppo": entry(40.0, 3),
        "sb3_ppo_zoo": entry(25.0, 3),
        "sb3_a2c": entry(None, 2),
        "sb3_a2c_zoo": entry(None, 0),
    }
    target = target_ratio(summaries)
    assert target["fastest_sb3"] == "sb3_ppo_zoo" and target["ratio"] == pytest.approx(0.4)
    line = report.ratio_line("CartPole-v1", target)
    assert "**0.40**" in line and "sb3_ppo_zoo" in line and "sb3_a2c 2/3" in line
    unsolved = target_ratio({"a3c": entry(12.0, 3), "sb3_ppo": entry(None, 1)})
    assert unsolved["ratio"] is None and "no SB3 entrant reached" in report.ratio_line("LunarLander-v3", unsolved)
    assert "no SB3 entrant in this run" in report.ratio_line("Pendulum-v1", target_ratio({"a3c": entry(9.0, 3)}))
    assert "a3c_tuned 3/3" in report.ratio_line("X", target_ratio({"a3c_tuned": entry(4.0, 3)}, ours="a3c_tuned"))
    assert (
        summarize(
            [{"solved_s": 3.0, "solved_steps": 9, "collapsed": None}] * 2
            + [{"solved_s": None, "solved_steps": None, "collapsed": True}]
        )["median_s"]
        is None
    )


def test_ended_below_best_counts_runs_that_end_past_the_limit_not_dips_they_came_back_from():
    runs = [
        {"best_reward": 500.0, "final_reward": 500.0},
        {"best_reward": 480.0, "final_reward": 420.0},  # ends 60 below its best: past a limit of 45
        {"best_reward": 490.0, "final_reward": 450.0},  # 40: within it
    ]
    assert report.ended_below_best(runs, limit=45.0) == "1/3 (60.0)"
    assert report.ended_below_best([{"best_reward": None, "final_reward": None}], limit=45.0) == "-"


def test_thin_keeps_the_last_point():
    kept = thin(curve([(i, float(i)) for i in range(1, 1001)]), points=200)
    assert len(kept) <= 201 and kept[0][0] == 1 and kept[-1] == [1000, 10000, 1099, 1000.0]


# -- the reports -------------------------------------------------------------------------------------


MACHINE = dict.fromkeys(["cpu_model", "cores", "python", "torch", "ray", "gymnasium"], "x")


def suite_result(row, runs_per_entrant, entrants):
    run = {"seed": 0, "error": None, "run_dir": "x", **outcome(curve([(20, 480), (60, 400)], 120), row)}
    run["curve"] = thin(curve([(i, 400.0 + i % 90) for i in range(3000)]))
    summary = summarize([run] * runs_per_entrant)
    return {
        **{"env_id": row.env_id, "threshold": row.threshold, "scale": row.scale, "collapse_limit": 0.1 * row.scale},
        **{"cap_s": row.cap_s, "max_env_steps": None, "iterations": None, "after_solve": 1.0},
        "entrants": {name: summary for name in entrants},
        "target": target_ratio({name: summary for name in entrants}),
    }


def test_a_full_suites_kept_json_stays_under_200_kb(tmp_path):
    """5 rows x 8 entrants x 3 seeds of long runs: what `make suite` keeps in git, with thinned curves."""
    suite = load_suite("defaults")
    names = ["a3c", "a2c", "ppo", "sb3_ppo", "sb3_a2c", "sb3_ppo_zoo", "sb3_a2c_zoo", "a3c_tuned"]
    rows = [suite_result(row, 3, names) for row in suite.rows]
    data = {"kind": "suite", "date": "d", "command": "c", "machine": MACHINE, "skipped": [], "rows": rows}
    report.write_suite(data, tmp_path / "suite_defaults.json")
    assert len(rows[0]["entrants"]["a3c"]["runs"][0]["curve"]) <= CURVE_POINTS + 1
    assert (tmp_path / "suite_defaults.json").stat().st_size < 200_000


def test_report_rewrites_the_markdown_of_a_saved_suite_and_speed_run(tmp_path):
    row = Row("CartPole-v1", 475.0, random_score=25.0, cap_s=60.0)
    data = {"kind": "suite", "date": "d", "command": "c", "machine": MACHINE, "skipped": []}
    data["rows"] = [suite_result(row, 1, ["a3c"])]
    saved = tmp_path / "suite.json"
    saved.write_text(json.dumps(data))
    cli.main(["report", str(saved)])
    table = saved.with_suffix(".md").read_text()
    assert "| a3c | 1/1 | 20.0 [20.0-20.0] |" in table and "| 1/1 (80.0) | 1/1 (80.0) |" in table
    assert json.loads(saved.read_text()) == data
    floor = {"round_trips": 200, "float32_each_way": 10, "runs_s": [1.0]}
    tutorial = {"runs": [{"seed": 0, "iterations": 2, "wall_s": 9.0, "build_s": 5.0, "train_s": 4.0, "gradients": 200}]}
    tutorial["runs"][0].update(final_reward=20.0, cpu_ms_per_grad=dict.fromkeys(speed.ROLES, 1.0))
    fast = {"kind": "speed", "date": "d", "command": "c", "machine": MACHINE, "floor": floor, "tutorial": tutorial}
    fast.update(speed.ratios(fast))
    (tmp_path / "speed.json").write_text(json.dumps(fast))
    cli.main(["report", str(tmp_path / "speed.json")])
    text = (tmp_path / "speed.md").read_text()
    assert "`tutorial_to_floor_ratio`: 4.000" in text and "| 0 | 9.0 | 5.0 | 4.0 | 4.00x | 20.0 |" in text
    with pytest.raises(SystemExit):
        cli.parse_args(["report", str(tmp_path / "missing.json")])


def test_plot_draws_each_entrant_and_label_as_one_curve_from_the_kept_curves(tmp_path, capsys):
    """One setting whose seeds ran into two reports (one label) is one curve of both reports' runs; an
    unlabelled report's entrants keep their names; a point before the first episode is NaN, not 0."""
    pong = Row("ALE/Pong-v5", 18.0, random_score=-20.7, cap_s=60.0)
    defaults = {"kind": "suite", "rows": [suite_result(pong, 3, ["a3c", "sb3_ppo_zoo"])]}
    seed0, seeds12 = ({"kind": "suite", "rows": [suite_result(pong, n, ["a3c"])]} for n in (1, 2))
    seed0["rows"][0]["entrants"]["a3c"]["runs"][0]["curve"][0][3] = None
    groups = dict(curve_groups([(None, defaults), ("LSTM-42", seed0), ("LSTM-42", seeds12)], "ALE/Pong-v5"))
    assert {name: len(runs) for name, runs in groups.items()} == {"a3c": 3, "sb3_ppo_zoo": 3, "a3c (LSTM-42)": 3}
    first = groups["a3c (LSTM-42)"][0][0]
    assert math.isnan(first["episode_reward_mean"]) and first["timesteps_total"] == 10
    assert curve_groups([(None, defaults)], "CartPole-v1") == []

    paths = {name: tmp_path / f"{name}.json" for name in ("defaults", "seed0", "seeds12")}
    for name, data in zip(paths, (defaults, seed0, seeds12), strict=True):
        paths[name].write_text(json.dumps(data))
    out = tmp_path / "img" / "pong.png"
    cli.main(
        ["plot", str(paths["defaults"]), f"LSTM-42={paths['seed0']}", f"LSTM-42={paths['seeds12']}", "--out", str(out)]
    )
    assert out.read_bytes()[:4] == b"\x89PNG" and "a3c (LSTM-42) (3 runs)" in capsys.readouterr().out
    (tmp_path / "speed.json").write_text(json.dumps({"kind": "speed"}))
    for bad, says in [
        ([str(tmp_path / "missing.json")], "cannot read"),
        ([str(tmp_path / "speed.json")], "not a suite's report"),
        ([str(paths["defaults"]), "--row", "CartPole-v1"], "no report holds CartPole-v1"),
        ([str(paths["defaults"]), "--out", str(tmp_path)], "writes a PNG"),
    ]:
        with pytest.raises(SystemExit):
            cli.parse_args(["plot", "--out", str(out), *bad])
        assert says in capsys.readouterr().err


def test_speed_ratios_come_from_the_figures_and_are_null_when_unmeasured():
    assert speed.ratios({}) == dict.fromkeys(speed.RATIO_KEYS)
    grid = [
        {"num_workers": w, "batch_size": 16, "env_steps_per_s": s}
        for w, s in [(1, 2000), (2, 3000), (4, 4000), (16, 3600)]
    ]
    data = {
        "limit": {"CartPole-v0_steps_per_s_per_core": 50_000},
        "throughput": {
            "grid": grid,
            "a3c_two_workers_best": {"env_steps_per_s": 30_000},
            "sb3_a2c_env_steps_per_s": 7_500,
        },
        "tutorial": {
            "runs": [{"wall_s": 40.0, "train_s": 1, "gradients": 1}, {"wall_s": 30.0, "train_s": 1, "gradients": 1}]
        },
    }
    out = speed.ratios(data)
    assert out["throughput_ratio_vs_sb3_a2c"] == pytest.approx(4.0)
    assert out["fraction_of_env_limit"] == pytest.approx(0.3)  # 30k of 2 cores x 50k
    assert out["oversubscription_ratio"] == pytest.approx(0.9)  # 3600 against the best of 1-4 workers
    assert out["tutorial_wall_s"] == 35.0 and out["tutorial_to_floor_ratio"] is None


def test_the_cli_checks_names_against_the_suites_data():
    args = cli.parse_args(["suite", "ablation", "--rows", "Pendulum-v1", "--entrants", "defaults", "entropy 0.01"])
    assert args.suite.name == "ablation"
    for bad in (
        ["suite", "nosuch"],
        ["suite", "defaults", "--rows", "Acrobot-v1"],
        ["suite", "pong", "--entrants", "ppo"],
    ):
        with pytest.raises(SystemExit):
            cli.parse_args(bad)


# -- the checkpoint tools ----------------------------------------------------------------------------


def run_tool(name, *args):
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.tools.{name}", *map(str, args)], capture_output=True, text=True, cwd=ROOT
    )


def test_dead_units_counts_relu_units_that_are_zero_for_every_observation(tmp_path):
    """benchmarks/tools/dead_units.py on a real checkpoint: a row per checkpoint, a share per ReLU layer; a
    network whose first layer's biases are pushed far below zero reads as 100% dead, no logit spread."""
    from a3c import A3CAgent

    agent = A3CAgent({"num_workers": 0, "seed": 0, "model": {"fcnet_hiddens": [16, 8], "fcnet_activation": "relu"}})
    alive = agent.save(tmp_path / "alive")
    weights, offset = agent.learner.weights().copy(), 0
    for name, param in agent.model.named_parameters():  # the flat vector's order
        if name == "trunk.0.bias":
            weights[offset : offset + param.numel()] = -1e3
        offset += param.numel()
    agent.learner.load_weights(weights)
    dead = agent.save(tmp_path / "dead")
    out = run_tool("dead_units", alive, dead, "--steps", "200", "--init")
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(f"| {tmp_path}")]
    assert len(rows) == 2 and "dead, ReLU 2" in out.stdout and "(initial weights" in out.stdout, out.stdout
    assert rows[1].split(" | ")[2:4] == ["100%", "100%"] and rows[0].split(" | ")[2] != "100%", rows


def test_halfcheetah_probe_reads_the_means_past_the_bounds_of_a_real_checkpoint(tmp_path):
    """benchmarks/tools/halfcheetah_probe.py on real HalfCheetah-v5 checkpoints: a fresh policy's means (about
    0) are never past the Box's bounds; one whose mean bias is pushed to +5 is past them at every step."""
    pytest.importorskip("mujoco")
    from a3c import A3CAgent

    agent = A3CAgent({"num_workers": 0, "seed": 0, "model": {"fcnet_hiddens": [16]}}, "HalfCheetah-v5")
    fresh = agent.save(tmp_path / "fresh")
    weights, offset = agent.learner.weights().copy(), 0
    for name, param in agent.model.named_parameters():  # the flat vector's order
        if name == "policy_head.bias":
            weights[offset : offset + param.numel()] = 5.0
        offset += param.numel()
    agent.learner.load_weights(weights)
    saturated = agent.save(tmp_path / "saturated")
    out = run_tool("halfcheetah_probe", fresh, saturated)
    assert out.returncode == 0, out.stderr
    rows = [line.split(" | ") for line in out.stdout.splitlines() if line.startswith(f"| {tmp_path}")]
    assert len(rows) == 4, out.stdout  # the two rows as they come, then the table again
    past_fresh, past_saturated = rows[0][-1].rstrip(" |").split(), rows[1][-1].rstrip(" |").split()
    assert past_fresh == ["0.00"] * 6 and past_saturated == ["1.00"] * 6, rows
    assert rows[0][-2] == "0.00", rows  # near-zero torques leave the cheetah standing: never on its back
    asked = run_tool("halfcheetah_probe")
    assert asked.returncode == 2 and "give checkpoints to probe, or --seeds N" in asked.stderr, asked.stderr
