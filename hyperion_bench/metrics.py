"""What is measured, kept apart from what searches: Pareto fronts, hypervolume, curves over time.

Why a module of thin wrappers: moocore (pymoo's engine) computes exact hypervolumes and
non-dominated sets; this module fixes the conventions the whole project relies on: everything is
minimised, points outside the reference box count nothing, and histories from different seeds are put
on one common time grid before they are averaged.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import moocore
import numpy as np
import pandas as pd


def _points(points: np.ndarray | Sequence) -> np.ndarray:
    arr = np.asarray(points, dtype=float)
    return arr.reshape(0, 0) if arr.size == 0 else np.atleast_2d(arr)


def pareto_mask(points: np.ndarray | Sequence) -> np.ndarray:
    """True for the non-dominated rows (minimisation). Duplicates of a front point are all kept."""
    arr = _points(points)
    if len(arr) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(arr, maximise=False, keep_weakly=True))


def pareto_front(points: np.ndarray | Sequence) -> np.ndarray:
    """The non-dominated points, unique and sorted by the first objective."""
    arr = _points(points)
    if len(arr) == 0:
        return arr
    front = np.unique(arr[pareto_mask(arr)], axis=0)
    return front[np.lexsort(front.T[::-1])]


def nondominated_ranks(points: np.ndarray | Sequence) -> np.ndarray:
    """Front index of every row: 0 for the Pareto front, 1 for the next front, ..."""
    arr = _points(points)
    if len(arr) == 0:
        return np.zeros(0, dtype=int)
    return np.asarray(moocore.pareto_rank(arr), dtype=int)


def hypervolume(points: np.ndarray | Sequence, reference: Sequence[float]) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by ``reference`` (minimisation).

    Points that do not strictly dominate the reference point contribute nothing; an empty set has 0.
    """
    arr = _points(points)
    ref = np.asarray(reference, dtype=float)
    if len(arr) == 0:
        return 0.0
    arr = arr[np.all(np.isfinite(arr), axis=1) & np.all(arr < ref, axis=1)]
    if len(arr) == 0:
        return 0.0
    return float(moocore.hypervolume(arr, ref=ref))


def hypervolume_contributions(points: np.ndarray | Sequence, reference: Sequence[float]) -> np.ndarray:
    """Each point's exclusive hypervolume (0 for dominated points or points outside the box).

    Exclusive within the non-dominated points: moocore measures a front point against the other front
    points only, ignoring dominated ones (for (0, 0), (1, 1) and reference (2, 2): 4, not 3). Callers
    pass one front at a time, where both readings agree."""
    arr = _points(points)
    ref = np.asarray(reference, dtype=float)
    out = np.zeros(len(arr))
    inside = np.all(np.isfinite(arr), axis=1) & np.all(arr < ref, axis=1) if len(arr) else np.zeros(0, bool)
    if inside.any():
        out[inside] = moocore.hv_contributions(arr[inside], ref=ref)
    return out


def running_hypervolume(times: Sequence[float], points: np.ndarray | Sequence, reference: Sequence[float]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Hypervolume of everything finished by each finishing time (sorted by time)."""
    t = np.asarray(times, dtype=float)
    arr = _points(points)
    order = np.argsort(t, kind="stable")
    values = np.array([hypervolume(arr[order[: i + 1]], reference) for i in range(len(order))])
    return t[order], values


def running_best(times: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Best (lowest) value seen by each finishing time; NaNs (failed trials) are skipped over."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")
    filled = np.where(np.isnan(v[order]), np.inf, v[order])
    best = np.minimum.accumulate(filled) if len(filled) else filled
    return t[order], np.where(np.isinf(best), np.nan, best)


def on_grid(times: np.ndarray, values: np.ndarray, grid: np.ndarray, before: float = np.nan) -> np.ndarray:
    """Step function (value of the last event at or before each grid point); ``before`` before the first
    event (NaN for a best-so-far error, 0 for a hypervolume: nothing found yet dominates nothing)."""
    idx = np.searchsorted(np.asarray(times, dtype=float), grid, side="right") - 1
    out = np.full(len(grid), before, dtype=float)
    ok = idx >= 0
    out[ok] = np.asarray(values, dtype=float)[idx[ok]]
    return out


def aggregate_curves(curves: Sequence[tuple[np.ndarray, np.ndarray]], grid: np.ndarray,
                     before: float = np.nan) -> pd.DataFrame:
    """Mean, std and standard error over seeds of step curves put on a common grid."""
    stacked = np.vstack([on_grid(t, v, grid, before) for t, v in curves]) if curves else np.empty((0, len(grid)))
    n = np.sum(~np.isnan(stacked), axis=0)
    with warnings.catch_warnings():  # all-NaN columns (before any seed's first event) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(stacked, axis=0) if len(stacked) else np.full(len(grid), np.nan)
        std = np.nanstd(stacked, axis=0, ddof=1) if len(stacked) > 1 else np.zeros(len(grid))
        sem = np.where(n > 0, std / np.sqrt(np.maximum(n, 1)), np.nan)
    return pd.DataFrame({"x": grid, "mean": mean, "std": std, "sem": sem, "n": n})
