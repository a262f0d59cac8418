"""Statistics for comparing methods over seeds: ranks, significance, confidence intervals, MO indicators.

Why a module of its own: a mean +- std over two seeds says nothing about whether a difference is real,
and the union of all seeds' Pareto fronts flatters every method. This module holds the conventions a
paper's comparison needs, each delegated to a well-kept library (scipy, statsmodels, scikit-posthocs,
moocore) and tested against hand-computed cases (``tests/test_stats.py``):

- seeds of different methods are independent runs: two methods are compared with a two-sided
  Mann-Whitney U test, and the p-values of all comparisons against one reference method on one suite
  and metric are Holm-corrected together;
- ranks are computed per seed index (seed k of every method is one "block", as Syne Tune's benchmarking
  tools do), ties share the average rank, a method with no value (nothing finished) ranks last;
- across suites, Demsar (2006): Friedman's test on each suite's mean result, then the Nemenyi post-hoc
  test, drawn as a critical-difference diagram;
- a 95% confidence interval of a mean over seeds is a percentile bootstrap; with one seed there is no
  spread to estimate, so std and interval are NaN (rendered empty), never 0;
- Pareto sets of several seeds are summarised by their median (50%) empirical attainment surface, and
  scored by IGD+ and hypervolume relative to the true front where it is known (ZDT1-3), else to the
  union front of every method's points on the suite.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from hyperion_bench.metrics import hypervolume, pareto_front

ALPHA = 0.05
# suites whose true Pareto front is known in closed form (pymoo computes it)
KNOWN_FRONTS = ("zdt1", "zdt2", "zdt3")


# ---------------------------------------------------------------------------- spread over seeds
def seed_std(values: Any) -> float:
    """Sample std (ddof 1) of the non-NaN values; NaN below two values (one seed has no spread)."""
    v = _finite(values)
    return float(np.std(v, ddof=1)) if len(v) > 1 else np.nan


def bootstrap_ci(values: Any, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
                 ) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean (scipy.stats.bootstrap); (NaN, NaN) below two values.

    Percentile, not BCa: BCa's jackknife is undefined when all resamples agree (common with 2-5 seeds
    of a deterministic problem). Seeded, so a report is reproducible. With n seeds the interval can
    never leave [min, max] of the values: a small-sample interval is honest about being wide."""
    from scipy.stats import bootstrap

    v = _finite(values)
    if len(v) < 2:
        return np.nan, np.nan
    if np.all(v == v[0]):
        return float(v[0]), float(v[0])
    res = bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                    random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _finite(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


# ---------------------------------------------------------------------------- ranks
def block_ranks(values: pd.DataFrame, higher_is_better: bool = False) -> pd.DataFrame:
    """Rank the columns (methods) within each row (block: a seed, or a suite); 1 = best, ties averaged,
    NaN ranks last (tied with the other NaNs)."""
    from scipy.stats import rankdata

    arr = values.to_numpy(dtype=float)
    score = -arr if higher_is_better else arr.copy()
    score[np.isnan(score)] = np.inf
    ranks = rankdata(score, axis=1, method="average")
    return pd.DataFrame(ranks, index=values.index, columns=values.columns)


def mean_ranks(seeds: pd.DataFrame, metric: str, higher_is_better: bool = False) -> pd.DataFrame:
    """Per suite, each method's rank by ``metric`` among the methods at each seed index, averaged over
    seeds. Columns: suite, method, mean_rank, n_seeds. Seeds that not every method ran are left out."""
    rows = []
    for suite, g in seeds.groupby("suite", sort=True):
        wide = g.pivot_table(index="seed", columns="method", values=metric, aggfunc="first", dropna=False)
        wide = wide.reindex(columns=sorted(g["method"].unique()))
        common = g.groupby("seed")["method"].nunique() == wide.shape[1]
        wide = wide.loc[common[common].index]
        if wide.empty or wide.isna().all().all():
            continue
        ranks = block_ranks(wide, higher_is_better)
        for method in ranks.columns:
            rows.append({"suite": suite, "method": method, "mean_rank": float(ranks[method].mean()),
                         "n_seeds": len(ranks)})
    return pd.DataFrame(rows, columns=["suite", "method", "mean_rank", "n_seeds"])


def rank_over_time(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]], grid: np.ndarray,
                   higher_is_better: bool) -> dict[str, np.ndarray]:
    """Mean rank of each method over seed indices at every grid time. ``curves[method][k]`` is seed k's
    step curve (times, best-so-far value); before a seed's first result its value is missing (ranks
    last). Seed indices that not every method has are left out."""
    from hyperion_bench.metrics import on_grid

    methods = sorted(curves)
    n = min(len(curves[m]) for m in methods) if methods else 0
    if n == 0:
        return {}
    total = np.zeros((len(methods), len(grid)))
    for k in range(n):
        values = np.vstack([on_grid(*curves[m][k], grid, before=np.nan) for m in methods])  # methods x grid
        total += block_ranks(pd.DataFrame(values.T, columns=methods), higher_is_better).to_numpy().T
    return {m: total[i] / n for i, m in enumerate(methods)}


# ---------------------------------------------------------------------------- significance
def mann_whitney(a: Any, b: Any) -> float:
    """Two-sided Mann-Whitney U p-value of two independent samples (scipy; exact for small samples
    without ties); NaN when either has fewer than two values."""
    from scipy.stats import mannwhitneyu

    x, y = _finite(a), _finite(b)
    if len(x) < 2 or len(y) < 2:
        return np.nan
    if np.all(np.concatenate([x, y]) == x[0]):
        return 1.0  # identical samples: no evidence of a difference (scipy would warn and return NaN)
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


def holm(pvalues: Any) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (statsmodels); NaNs stay NaN and do not count as tests."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def compare_to_reference(seeds: pd.DataFrame, metric: str, reference: str, higher_is_better: bool,
                         alpha: float = ALPHA) -> pd.DataFrame:
    """Every method against ``reference`` on each suite where both ran: medians, Mann-Whitney U p-value,
    Holm-corrected over the suite's comparisons on this metric, and a verdict from the method's side:
    'better' / 'worse' (adjusted p < alpha, direction by the medians), 'tie', or 'n/a' (< 2 seeds)."""
    rows = []
    for suite, g in seeds.groupby("suite", sort=True):
        if reference not in set(g["method"]):
            continue
        ref = g.loc[g["method"] == reference, metric]
        part = []
        for method, h in g.groupby("method", sort=True):
            if method == reference:
                continue
            part.append({"suite": suite, "metric": metric, "method": method, "reference": reference,
                         "n": int(_finite(h[metric]).size), "n_reference": int(_finite(ref).size),
                         "median": float(np.median(_finite(h[metric]))) if _finite(h[metric]).size else np.nan,
                         "median_reference": float(np.median(_finite(ref))) if _finite(ref).size else np.nan,
                         "p": mann_whitney(h[metric], ref)})
        adjusted = holm([r["p"] for r in part])
        for r, p_adj in zip(part, adjusted, strict=True):
            r["p_holm"] = p_adj
            r["verdict"] = verdict(r["median"], r["median_reference"], p_adj, higher_is_better, alpha)
            rows.append(r)
    return pd.DataFrame(rows, columns=["suite", "metric", "method", "reference", "n", "n_reference", "median",
                                       "median_reference", "p", "p_holm", "verdict"])


def verdict(median: float, median_reference: float, p_adjusted: float, higher_is_better: bool,
            alpha: float = ALPHA) -> str:
    if not np.isfinite(p_adjusted):
        return "n/a"
    if p_adjusted >= alpha or median == median_reference:
        return "tie"
    return "better" if (median > median_reference) == higher_is_better else "worse"


# ---------------------------------------------------------------------------- across suites (Demsar 2006)
def friedman_nemenyi(table: pd.DataFrame, higher_is_better: bool = False) -> dict[str, Any]:
    """``table``: one row per suite (block), one column per method, e.g. the mean over seeds. Returns
    Friedman's statistic and p-value (scipy), each method's average rank (1 = best) and the Nemenyi
    post-hoc p-value matrix (scikit-posthocs). Needs >= 3 suites and >= 3 methods without missing values."""
    import scikit_posthocs as sp
    from scipy.stats import friedmanchisquare

    table = table.dropna(axis=1, how="any")
    assert table.shape[0] >= 3 and table.shape[1] >= 3, f"Friedman needs >= 3 blocks and methods, got {table.shape}"
    ranks = block_ranks(table, higher_is_better).mean(axis=0)
    stat, p = friedmanchisquare(*[table[c].to_numpy(dtype=float) for c in table.columns])
    posthoc = sp.posthoc_nemenyi_friedman(table.to_numpy(dtype=float))
    posthoc.index = posthoc.columns = table.columns
    return {"statistic": float(stat), "p": float(p), "ranks": ranks, "posthoc": posthoc, "n_blocks": len(table)}


# ---------------------------------------------------------------------------- multi-objective indicators
@cache
def true_front(suite: str, n_points: int = 10000) -> np.ndarray | None:
    """The true Pareto front of a synthetic suite (pymoo), None when unknown."""
    if suite not in KNOWN_FRONTS:
        return None
    from pymoo.problems import get_problem

    problem = get_problem(suite)
    # pymoo names the size argument differently for the disconnected ZDT3
    points = problem._calc_pareto_front(n_points) if suite == "zdt3" else problem.pareto_front(n_pareto_points=n_points)
    return pareto_front(points)


def reference_front(suite: str, all_points: np.ndarray) -> tuple[np.ndarray, str]:
    """The front a suite's sets are measured against: the true one where known, else the union front of
    every method's and seed's points. Returns (front, 'known' | 'union')."""
    front = true_front(suite)
    if front is not None:
        return front, "known"
    return pareto_front(all_points), "union"


def igd_plus(points: np.ndarray, front: np.ndarray) -> float:
    """IGD+ (Ishibuchi et al. 2015; moocore) of ``points`` to the reference ``front``; NaN without points."""
    import moocore

    pts = np.asarray(points, dtype=float)
    pts = pts[np.all(np.isfinite(pts), axis=1)] if len(pts) else pts
    if len(pts) == 0:
        return np.nan
    return float(moocore.igd_plus(pts, ref=np.asarray(front, dtype=float)))


def relative_hypervolume(points: np.ndarray, front: np.ndarray, reference_point: Any) -> float:
    """Hypervolume of ``points`` as a fraction of the reference front's (same reference point)."""
    return hypervolume(points, reference_point) / hypervolume(front, reference_point)


def median_attainment(point_sets: list[np.ndarray], percentile: float = 50.0) -> np.ndarray:
    """The ``percentile`` empirical attainment surface (moocore.eaf) of several seeds' point sets: the
    points attained by at least that share of the seeds, sorted by the first objective. With two seeds,
    50% means 'attained by one of the two'; the median is the middle seed's front only from three on."""
    import moocore

    sets = [np.asarray(s, dtype=float) for s in point_sets]
    sets = [s[np.all(np.isfinite(s), axis=1)] for s in sets if len(s)]
    if not sets:
        return np.empty((0, 2))
    points = np.vstack(sets)
    ids = np.concatenate([np.full(len(s), i + 1) for i, s in enumerate(sets)])
    # seeds without a finished point count as seeds that attained nothing: the surface needs
    # ceil(p% of all seeds) attaining sets, asked of moocore as a share of the sets it is given
    need = int(np.ceil(percentile / 100.0 * len(point_sets) - 1e-9))
    if need > len(sets):
        return np.empty((0, points.shape[1]))
    percentile = 100.0 * max(need, 1) / len(sets) - 1e-6
    surface = moocore.eaf(points, sets=ids, percentiles=[percentile])[:, :-1]
    return surface[np.lexsort(surface.T[::-1])]
