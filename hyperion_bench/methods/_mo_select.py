"""Selection by non-dominated rank with hypervolume tie-breaks: the one rule every MO method shares.

Why: successive-halving promotion (MO-BOHB, SH-EMOA, MO-BANANAS), SH-EMOA's survival and MO-BOHB's
good/bad split all ask "which k of these points are best?". The bag-of-baselines answer (Appendix A):
take whole non-dominated fronts (NDS) while they fit, then solve the hypervolume subset selection
problem (HSSP) on the front that does not fit. Exact HSSP is expensive; like the authors we use
greedy approximations: backward elimination of the smallest exclusive contribution for promotion and
survival (SMS-EMOA's rule), forward greedy addition for the KDE split.
Everything is minimised; sorting and hypervolumes come from moocore via ``hyperion_bench.metrics``.

What follows the paper and what the authors' code (automl/multi-obj-baselines) does differently:
MO-BOHB's promotion here is the paper's text (Algorithm 2, "modified SH": NDS, then HSSP on the front
that does not fit, so exactly the rung's quota advances). The authors' successive halving
(``SuccessiveHalvingMOBOHB._advance_to_next_stage``) instead keeps that whole splitting front, its
hypervolume step commented out, so more configurations than the quota can advance. Their KDE good/bad
split does take a hypervolume step (``TPESampler._split_observations``), with its own approximate
update of the contributions; ``greedy_split`` recomputes the exact added hypervolume instead. The
relative reference point (worst point pushed out 10%) is theirs.
"""

from __future__ import annotations

import sys

import numpy as np

from hyperion_bench.metrics import hypervolume, hypervolume_contributions, nondominated_ranks

EPS = sys.float_info.epsilon


def reference_point(points: np.ndarray) -> np.ndarray:
    """The authors' relative reference: the worst value per objective pushed 10% outwards
    (1.1 x for positive, 0.9 x for negative values, eps for zero), so every point lies inside."""
    worst = np.max(np.asarray(points, dtype=float), axis=0)
    return np.where(worst > 0, 1.1 * worst, np.where(worst < 0, 0.9 * worst, EPS))


def select_best(points: np.ndarray, k: int, reference: np.ndarray | None = None) -> np.ndarray:
    """Indices (ascending) of the ``k`` best rows: whole fronts first, then the splitting front reduced
    by removing its smallest hypervolume contributor one at a time (ties: the later row goes)."""
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    if k >= n:
        return np.arange(n)
    if k <= 0:
        return np.zeros(0, dtype=int)
    ref = reference_point(pts) if reference is None else np.asarray(reference, dtype=float)
    ranks = nondominated_ranks(pts)
    chosen: list[int] = []
    for r in np.unique(ranks):
        front = [int(i) for i in np.flatnonzero(ranks == r)]
        if len(chosen) + len(front) <= k:
            chosen += front
            continue
        while len(front) > k - len(chosen):
            contrib = hypervolume_contributions(pts[front], ref)
            worst = np.flatnonzero(contrib == contrib.min())[-1]
            front.pop(int(worst))
        chosen += front
        break
    return np.array(sorted(chosen), dtype=int)


def worst_index(points: np.ndarray, reference: np.ndarray | None = None) -> int:
    """The row that ``select_best(points, n - 1)`` drops (SH-EMOA's survival)."""
    kept = set(select_best(points, len(points) - 1, reference).tolist())
    return next(i for i in range(len(points)) if i not in kept)


def sort_best_first(points: np.ndarray) -> np.ndarray:
    """All row indices, best first: by front, and within a front by exclusive hypervolume
    contribution (largest first; the relative reference). A fitness order for tournaments."""
    pts = np.asarray(points, dtype=float)
    if len(pts) == 0:
        return np.zeros(0, dtype=int)
    ref = reference_point(pts)
    ranks = nondominated_ranks(pts)
    contrib = np.zeros(len(pts))
    for r in np.unique(ranks):
        idx = np.flatnonzero(ranks == r)
        contrib[idx] = hypervolume_contributions(pts[idx], ref)
    return np.lexsort((np.arange(len(pts)), -contrib, ranks))


def greedy_split(points: np.ndarray, n_good: int) -> np.ndarray:
    """MO-BOHB's good set (boolean mask): whole fronts while they fit in ``n_good``, then points of the
    next front added one at a time, each the one that adds the most hypervolume to those taken from it
    (reference: the authors' relative point over all observations)."""
    pts = np.asarray(points, dtype=float)
    good = np.zeros(len(pts), dtype=bool)
    if n_good <= 0 or len(pts) == 0:
        return good
    ref = reference_point(pts)
    ranks = nondominated_ranks(pts)
    for r in np.unique(ranks):
        front = np.flatnonzero(ranks == r)
        if good.sum() + len(front) <= n_good:
            good[front] = True
            continue
        taken: list[int] = []
        remaining = list(front)
        while good.sum() < n_good and remaining:
            # the largest gain is the largest hypervolume of taken + [i]: the hypervolume of taken alone
            # is the same for every candidate (mutation testing showed subtracting it changed nothing)
            best = remaining.pop(int(np.argmax([hypervolume(pts[taken + [i]], ref) for i in remaining])))
            taken.append(best)
            good[best] = True
        break
    return good
