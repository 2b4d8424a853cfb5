"""Learning curves from progress rows: the one plotter behind `a3c plot` and `a3c compare`.

Each curve is a group of runs (one run, or one agent's seeds): its median on a common x grid, and
with several runs the min-max band across them; a finished run holds its last value.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

Rows = list[dict[str, float]]

# The two panels of a comparison: progress against env steps and against wall-clock time (rows' `wall_s`).
STEPS_AND_WALL_CLOCK = (("timesteps_total", "env steps"), ("wall_s", "wall-clock seconds (from agent construction)"))


def band(runs: Sequence[Rows], x_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Median, min and max of episode_reward_mean across runs on a common grid of `x_key`; None when
    no run has a finite mean yet."""
    ends = [r[-1][x_key] for r in runs if r]
    if not ends:
        return None
    grid = np.linspace(0, max(ends), 200)
    curves = []
    for rows in runs:
        xs = np.array([r[x_key] for r in rows], dtype=float)
        ys = np.array([r["episode_reward_mean"] for r in rows], dtype=float)
        keep = np.isfinite(ys) & np.isfinite(xs)
        if keep.any():
            curves.append(np.interp(grid, xs[keep], ys[keep], left=np.nan, right=ys[keep][-1]))
    if not curves:
        return None
    stacked = np.array(curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before any run's first episode
        return grid, np.nanmedian(stacked, 0), np.nanmin(stacked, 0), np.nanmax(stacked, 0)


def plot_curves(
    groups: Sequence[tuple[str, Sequence[Rows]]],
    path: Path,
    x_axes: Sequence[tuple[str, str]],
    target: float | None = None,
    title: str | None = None,
) -> None:
    """One panel per (x key, label) in `x_axes`, one curve per (name, runs) group; written atomically
    as a PNG (a dashed line at `target`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(x_axes), figsize=(6 * len(x_axes), 4.5), squeeze=False)
    for axis, (x_key, label) in zip(axes[0], x_axes, strict=True):
        for name, runs in groups:
            curve = band(runs, x_key)
            if curve is None:
                continue
            grid, median, low, high = curve
            (line,) = axis.plot(grid, median, label=f"{name} ({len(runs)} seeds)" if len(runs) > 1 else name)
            if len(runs) > 1:
                axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
        if target is not None:
            axis.axhline(target, color="gray", linestyle="--", linewidth=1)
        axis.set_xlabel(label)
        axis.set_ylabel("episode_reward_mean (last 100 episodes)")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
