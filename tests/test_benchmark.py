"""benchmarks/run.py's headline ratios: computed from the run's own figures, null when unmeasured."""

import importlib.util
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
