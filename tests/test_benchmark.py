"""benchmarks/run.py's headline ratios: computed from the run's own figures, null when unmeasured."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nothing_measured_gives_nulls(bench):
    assert bench.ratios({}) == dict.fromkeys(bench.RATIO_KEYS)


def test_ratios_come_from_the_figures(bench):
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
        "tutorial": {"runs": [{"wall_s": 40.0}, {"wall_s": 30.0}, {"wall_s": 50.0}]},
        "cartpole": {"a3c_tuned": {"median_s": 4.0}, "a3c_default": {"median_s": 16.0}, "sb3_ppo": {"median_s": 8.0}},
        "mountaincar": {"a3c_tuned": {"solved": 2, "median_s": None}, "sb3_ppo": {"median_s": 100.0}},
    }
    out = bench.ratios(data)
    assert out["throughput_ratio_vs_sb3_a2c"] == pytest.approx(4.0)
    assert out["fraction_of_env_limit"] == pytest.approx(0.3)  # 30k of 2 cores x 50k
    assert out["oversubscription_ratio"] == pytest.approx(0.9)  # 3600 against the best of 1-4 workers
    assert out["tutorial_wall_s"] == 40.0
    assert out["cartpole_solve_time_ratio_vs_sb3_ppo"] == pytest.approx(0.5)  # the better of ours
    assert out["mountaincar_solved_seeds"] == 2
    assert out["mountaincar_solve_time_ratio_vs_sb3_ppo"] is None  # not every seed solved: no median


def test_sb3_zoo_settings_are_the_issues(bench):
    ppo = bench.SB3_ZOO["sb3_ppo/CartPole-v0"]
    assert ppo["n_envs"] == 8 and ppo["kwargs"]["n_steps"] == 32 and ppo["kwargs"]["n_epochs"] == 20
    assert (
        bench.SB3_ZOO["sb3_ppo/MountainCar-v0"]["normalize"] and bench.SB3_ZOO["sb3_a2c/MountainCar-v0"]["n_envs"] == 16
    )


# -- benchmarks/suite.py: the pure parts (no SB3, no training) ---------------------------------------

SUITE = Path(__file__).parents[1] / "benchmarks" / "suite.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("bench_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def curve(points, episodes=100):
    """Progress rows as run_one writes them, from (wall_s, 100-episode mean) pairs, 10 env steps apart."""
    return [
        {"wall_s": w, "timesteps_total": 10 * (i + 1), "episodes_total": episodes + i, "episode_reward_mean": r}
        for i, (w, r) in enumerate(points)
    ]


def test_run_order_is_seed_major_with_the_entrants_rotated(suite):
    order = suite.run_order(["a", "b", "c"], [0, 1, 2])
    assert order == [
        ("a", 0), ("b", 0), ("c", 0),
        ("b", 1), ("c", 1), ("a", 1),
        ("c", 2), ("a", 2), ("b", 2),
    ]  # fmt: skip
    positions = {name: [i % 3 for i, (n, _) in enumerate(order) if n == name] for name in "abc"}
    assert all(sorted(p) == [0, 1, 2] for p in positions.values())  # each first, middle and last once
    assert suite.run_order(["a", "b"], [5, 6, 7]) == [("a", 5), ("b", 5), ("b", 6), ("a", 6), ("a", 7), ("b", 7)]


def test_collapse_drop_is_the_worst_fall_below_the_best_so_far_in_the_last_quarter(suite):
    # best 480 at t=50; the last quarter starts at 75 s: it falls to 300 at t=80 and recovers
    rows = curve([(10, 100), (50, 480), (70, 200), (80, 300), (90, 470), (100, 475)])
    assert suite.collapse_drop(rows) == pytest.approx(180.0)
    # still climbing through the last quarter: no drop, even though the best comes at the very end
    assert suite.collapse_drop(curve([(10, 20), (50, 100), (80, 150), (100, 400)])) == 0.0
    # the dip before the last quarter does not count
    assert suite.collapse_drop(curve([(10, 300), (40, 20), (80, 310), (100, 320)])) == 0.0


def test_collapse_counts_only_full_windows_of_100_episodes(suite):
    early = curve([(10, 500), (20, 480)], episodes=5)  # a lucky handful of episodes sets no best
    late = [dict(r, episodes_total=200 + i, wall_s=80 + 10 * i) for i, r in enumerate(curve([(0, 300), (0, 290)]))]
    assert suite.collapse_drop(early + late) == pytest.approx(10.0)
    assert suite.collapse_drop(early) is None


def test_outcome_reaches_the_threshold_only_with_100_episodes_and_flags_a_collapse(suite):
    row = suite.Row("CartPole-v1", 475.0, random_score=25.0, cap_s=60.0)
    assert row.scale == 450.0
    rows = curve([(5, 500)], episodes=10) + curve([(20, 480), (40, 490), (60, 400)], episodes=120)
    result = suite.outcome(rows, row, env_steps=1000, wall_s=60.0)
    assert result["solved_s"] == 20 and result["solved_steps"] == 10  # not at 5 s: 10 episodes only
    assert result["best_reward"] == 490 and result["final_reward"] == 400
    assert result["collapse_drop"] == pytest.approx(90.0) and result["collapse_limit"] == pytest.approx(45.0)
    assert result["collapsed"] is True
    assert result["env_steps_per_s"] == pytest.approx(1000 / 60)
    nothing = suite.outcome(curve([(3, float("nan"))], episodes=0), row, env_steps=50, wall_s=3.0)
    assert nothing["final_reward"] is None and nothing["solved_s"] is None and nothing["collapsed"] is None


def test_stop_rule_ends_at_the_cap_or_after_solving(suite):
    rule = suite.StopRule(cap_s=100.0, max_env_steps=1000, after_solve=1.0)
    assert not rule.ended(50.0, 10, None)
    assert rule.ended(100.0, 10, None) and rule.ended(5.0, 1000, None)
    assert not rule.ended(39.0, 10, 20.0) and rule.ended(40.0, 10, 20.0)  # twice the time to threshold
    assert not suite.StopRule(cap_s=100.0, after_solve=float("inf")).ended(99.0, 10, 1.0)


def test_target_ratio_is_ours_over_the_fastest_sb3_entrant_that_solved_every_seed(suite):
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
    target = suite.target_ratio(summaries)
    assert target["fastest_sb3"] == "sb3_ppo_zoo" and target["ratio"] == pytest.approx(0.4)
    assert target["sb3_partly_solved"] == ["sb3_a2c 2/3"]
    line = suite.ratio_line("CartPole-v1", target)
    assert "**0.40**" in line and "sb3_ppo_zoo" in line and "sb3_a2c 2/3" in line
    unsolved = suite.target_ratio({"a3c": entry(12.0, 3), "sb3_ppo": entry(None, 1)})
    assert unsolved["ratio"] is None and unsolved["fastest_sb3"] is None
    assert "no SB3 entrant reached the threshold" in suite.ratio_line("LunarLander-v3", unsolved)
    assert suite.target_ratio({"a3c": entry(None, 2), "sb3_ppo": entry(8.0, 3)})["ratio"] is None
    assert "no SB3 entrant in this run" in suite.ratio_line("Pendulum-v1", suite.target_ratio({"a3c": entry(9.0, 3)}))
    only_tuned = suite.ratio_line("MountainCar-v0", suite.target_ratio({"a3c_tuned": entry(49.4, 3)}))
    assert only_tuned == "- MountainCar-v0: no SB3 entrant in this run; a3c not in this run"


def test_entrants_per_row(suite):
    rows = {r.env_id: r for r in suite.ROWS}
    names = [e.name for e in suite.entrants_for(rows["CartPole-v1"], with_sb3=True)]
    assert names == ["a3c", "a2c", "ppo", "sb3_ppo", "sb3_a2c", "sb3_ppo_zoo", "sb3_a2c_zoo"]
    mountain = suite.entrants_for(rows["MountainCar-v0"], with_sb3=False)
    assert [e.name for e in mountain] == ["a3c", "a2c", "ppo", "a3c_tuned"]
    assert all(e.config == {} for e in mountain[:3]) and mountain[3].config["num_workers"] == 2
    assert [e.name for e in suite.entrants_for(suite.PONG, with_sb3=True, pong=True)] == [
        "a3c",
        "sb3_ppo_zoo",
        "sb3_a2c_zoo",
    ]
    for row in suite.ROWS:  # every zoo entrant has the zoo's settings in run.SB3_ZOO
        for entrant in suite.entrants_for(row, with_sb3=True):
            assert not entrant.zoo or f"{entrant.algo}/{row.env_id}" in suite.SB3_ZOO


def test_caps_fit_the_issues_budgets(suite):
    """A full run, 3 seeds, in 2 hours even if no run ends early; --quick in 10 minutes; Pong in 100."""
    worst = sum(3 * r.cap_s * len(suite.entrants_for(r, with_sb3=True)) for r in suite.ROWS)
    assert worst <= 110 * 60  # a few seconds per run on top: start-up, teardown, the last iteration past the cap
    quick = [r for r in suite.ROWS if r.env_id in suite.QUICK_ROWS]
    assert sum(suite.QUICK_CAP_S * len(suite.entrants_for(r, with_sb3=True)) for r in quick) <= 8 * 60
    assert suite.PONG.cap_s * len(suite.entrants_for(suite.PONG, with_sb3=True, pong=True)) <= 90 * 60


def test_ended_below_best_counts_runs_that_end_past_the_limit_not_dips_they_came_back_from(suite):
    runs = [
        {"best_reward": 500.0, "final_reward": 500.0},
        {"best_reward": 480.0, "final_reward": 420.0},  # ends 60 below its best: past a limit of 45
        {"best_reward": 490.0, "final_reward": 450.0},  # 40: within it
    ]
    assert suite.ended_below_best(runs, limit=45.0) == "1/3 (60.0)"
    assert suite.ended_below_best([{"best_reward": None, "final_reward": None}], limit=45.0) == "-"


def test_report_rewrites_the_markdown_of_a_saved_run(suite, tmp_path):
    row = suite.Row("CartPole-v1", 475.0, random_score=25.0, cap_s=60.0)
    run = {"seed": 0, "error": None, **suite.outcome(curve([(20, 480), (60, 400)], episodes=120), row, 1000, 60.0)}
    summary = {"solved": 1, "seeds": 1, "median_s": 20.0, "min_s": 20.0, "max_s": 20.0, "median_steps": 10}
    result = {
        **{"env_id": row.env_id, "threshold": 475.0, "scale": row.scale, "collapse_limit": 45.0, "cap_s": 60.0},
        **{"max_env_steps": None, "after_solve": 1.0, "target": None},
        "entrants": {"a3c": {**summary, "collapsed": 1, "runs": [run]}},
    }
    machine = dict.fromkeys(["cpu_model", "cores", "python", "torch", "ray", "gymnasium"], "x")
    data = {"date": "d", "command": "c", "machine": machine, "skipped": [], "rows": [result]}
    saved = tmp_path / "suite.json"
    saved.write_text(suite.json.dumps(data))
    suite.main(["--report", str(saved)])
    table = saved.with_suffix(".md").read_text()
    assert "| a3c | 1/1 | 20.0 [20.0-20.0] |" in table and "| 1/1 (80.0) | 1/1 (80.0) |" in table
    assert suite.json.loads(saved.read_text()) == data
    with pytest.raises(SystemExit):
        suite.parse_args(["--report", str(tmp_path / "missing.json")])


def test_thin_keeps_the_last_point(suite):
    rows = curve([(i, float(i)) for i in range(1, 1001)])
    kept = suite.thin(rows, points=200)
    assert len(kept) <= 201 and kept[0][0] == 1 and kept[-1] == [1000, 10000, 1099, 1000.0]


def test_dead_units_counts_relu_units_that_are_zero_for_every_observation(tmp_path):
    """benchmarks/dead_units.py on a real checkpoint: a row per checkpoint, a share per ReLU layer; a
    network whose first layer's biases are pushed far below zero reads as 100% dead, no logit spread."""
    import subprocess

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
    script = Path(__file__).parents[1] / "benchmarks" / "dead_units.py"
    out = subprocess.run([sys.executable, script, alive, dead, "--steps", "200"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(f"| {tmp_path}")]
    assert len(rows) == 2 and "dead, ReLU 2" in out.stdout, out.stdout
    assert rows[1].split(" | ")[2:4] == ["100%", "100%"] and rows[0].split(" | ")[2] != "100%", rows


def test_halfcheetah_probe_reads_the_means_past_the_bounds_of_a_real_checkpoint(tmp_path):
    """benchmarks/halfcheetah_probe.py on real HalfCheetah-v5 checkpoints: a fresh policy's means (about
    0) are never past the Box's bounds; one whose mean bias is pushed to +5 is past them at every step."""
    pytest.importorskip("mujoco")
    import subprocess

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
    script = Path(__file__).parents[1] / "benchmarks" / "halfcheetah_probe.py"
    out = subprocess.run([sys.executable, script, fresh, saturated], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = [line.split(" | ") for line in out.stdout.splitlines() if line.startswith(f"| {tmp_path}")]
    assert len(rows) == 4, out.stdout  # the two rows as they come, then the table again
    past_fresh, past_saturated = rows[0][-1].rstrip(" |").split(), rows[1][-1].rstrip(" |").split()
    assert past_fresh == ["0.00"] * 6 and past_saturated == ["1.00"] * 6, rows
    assert rows[0][-2] == "0.00", rows  # near-zero torques leave the cheetah standing: never on its back


def test_halfcheetah_probe_asks_for_checkpoints_or_seeds():
    import subprocess

    script = Path(__file__).parents[1] / "benchmarks" / "halfcheetah_probe.py"
    out = subprocess.run([sys.executable, script], capture_output=True, text=True)
    assert out.returncode == 2 and "give checkpoints to probe, or --seeds N" in out.stderr, out.stderr
