"""a3c.plot: the one plotter of `a3c plot` and `a3c compare`: medians and bands across runs."""

import math

import numpy as np

from a3c.plot import band, plot_curves


def rows(points: list[tuple[float, float]]) -> list[dict[str, float]]:
    return [{"timesteps_total": x, "episode_reward_mean": y} for x, y in points]


def test_the_band_is_the_median_min_and_max_across_runs_and_a_finished_run_holds_its_last_value():
    runs = [rows([(0, 0), (100, 100)]), rows([(0, 10), (100, 110)]), rows([(0, 20), (50, 70)])]
    grid, median, low, high = band(runs, "timesteps_total")
    assert grid[0] == 0 and grid[-1] == 100
    assert (median[0], low[0], high[0]) == (10, 0, 20)
    # at x = 100 the third run (ended at 50) holds its last value, 70
    assert (median[-1], low[-1], high[-1]) == (100, 70, 110)


def test_rows_before_the_first_episode_are_left_out_and_no_episode_is_no_curve():
    grid, median, _, _ = band([rows([(0, math.nan), (50, 10), (100, 30)])], "timesteps_total")
    assert np.isnan(median[0]) and median[-1] == 30
    assert band([rows([(0, math.nan), (10, math.nan)])], "timesteps_total") is None


def test_plot_curves_writes_a_png(tmp_path):
    out = tmp_path / "curves.png"
    groups = [("a3c", [rows([(0, 10), (100, 50)]), rows([(0, 12), (80, 40)])]), ("empty", [])]
    plot_curves(groups, out, [("timesteps_total", "env steps")], target=45, title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"], "no temporary file left behind"
