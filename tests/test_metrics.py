"""Metrics against independent computations: botorch's hypervolume and brute-force dominance."""

import numpy as np
import pytest
import torch

from hyperion_bench.metrics import (
    aggregate_curves,
    hypervolume,
    hypervolume_contributions,
    nondominated_ranks,
    on_grid,
    pareto_front,
    pareto_mask,
    running_best,
    running_hypervolume,
)


def brute_mask(points):
    n = len(points)
    return np.array([not any(np.all(points[j] <= points[i]) and np.any(points[j] < points[i]) for j in range(n))
                     for i in range(n)])


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("seed", range(5))
def test_hypervolume_matches_botorch(dim, seed):
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    rng = np.random.default_rng(seed)
    points = rng.random((30, dim))
    ref = np.full(dim, 1.1)
    # botorch maximises: negate both the points and the reference point
    expected = Hypervolume(ref_point=-torch.tensor(ref)).compute(-torch.tensor(pareto_front(points)))
    assert hypervolume(points, ref) == pytest.approx(float(expected), rel=1e-9)


def test_points_outside_the_reference_box_count_nothing():
    assert hypervolume([[2.0, 0.5], [0.5, 1.0]], [1.0, 1.0]) == 0.0
    assert hypervolume([[0.5, 0.5], [2.0, 0.1]], [1.0, 1.0]) == pytest.approx(0.25)
    assert hypervolume([], [1.0, 1.0]) == 0.0
    assert hypervolume([[np.nan, 0.1]], [1.0, 1.0]) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_pareto_mask_and_ranks_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 6, size=(40, 2)).astype(float)  # ties and duplicates on purpose
    assert np.array_equal(pareto_mask(points), brute_mask(points))
    ranks = nondominated_ranks(points)
    remaining = np.arange(len(points))
    front = 0
    while len(remaining):
        mask = brute_mask(points[remaining])
        assert np.all(ranks[remaining[mask]] == front)
        remaining = remaining[~mask]
        front += 1


def test_pareto_front_is_sorted_and_unique():
    front = pareto_front([[3, 1], [1, 3], [1, 3], [2, 2], [3, 3]])
    assert front.tolist() == [[1, 3], [2, 2], [3, 1]]


def test_contributions():
    contrib = hypervolume_contributions([[1, 2], [2, 1], [3, 3], [5, 0]], [4, 4])
    assert contrib.tolist() == [2.0, 2.0, 0.0, 0.0]


def test_running_curves_on_hand_made_history():
    t, hv = running_hypervolume([3.0, 1.0, 2.0], [[0.5, 0.5], [0.9, 0.9], [2.0, 2.0]], [1.0, 1.0])
    assert t.tolist() == [1.0, 2.0, 3.0]
    assert hv.tolist() == pytest.approx([0.01, 0.01, 0.25])
    t, best = running_best([1, 2, 3, 4], [0.5, np.nan, 0.7, 0.2])
    assert best.tolist() == [0.5, 0.5, 0.5, 0.2]


def test_grid_aggregation_over_seeds():
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    assert np.isnan(on_grid(np.array([0.5]), np.array([1.0]), grid)[0])
    curves = [(np.array([0.5, 2.5]), np.array([4.0, 2.0])), (np.array([1.0]), np.array([6.0]))]
    agg = aggregate_curves(curves, grid)
    assert np.isnan(agg["mean"][0])
    assert agg["mean"].tolist()[1:] == [5.0, 5.0, 4.0]
    assert agg["n"].tolist() == [0, 2, 2, 2]
    assert agg["sem"][3] == pytest.approx(np.std([2.0, 6.0], ddof=1) / np.sqrt(2))
    hv = aggregate_curves(curves, grid, before=0.0)  # hypervolume: 0 until a seed finds something
    assert hv["mean"].tolist() == [0.0, 5.0, 5.0, 4.0] and hv["n"].tolist() == [2, 2, 2, 2]


# ---------------------------------------------------------------- edges the mutation run found untested (issue 18)
def test_empty_and_single_point_sets_have_the_right_shapes_and_types():
    """Every caller indexes with these arrays: an empty set gives empty arrays of the right dtype (a float
    mask or rank array cannot index), one point is its own front with rank 0."""
    mask, ranks = pareto_mask([]), nondominated_ranks([])
    assert mask.shape == (0,) and mask.dtype == bool
    assert ranks.shape == (0,) and ranks.dtype.kind == "i"
    assert pareto_front([]).size == 0 and hypervolume([], [1.0, 1.0]) == 0.0
    assert hypervolume_contributions([], [1.0, 1.0]).shape == (0,)
    assert nondominated_ranks([[0.3, 0.4]]).tolist() == [0] and nondominated_ranks([[0.3, 0.4]]).dtype.kind == "i"
    assert pareto_mask([[0.3, 0.4]]).tolist() == [True]


def test_a_failed_trial_in_a_set_drops_only_its_own_point():
    """Objective vectors of failed trials carry NaN or None; the finite points still count (a filter over
    the whole array instead of per row would drop every point)."""
    ref = [1.0, 1.0]
    assert hypervolume([[0.5, 0.5], [np.nan, 0.1]], ref) == pytest.approx(0.25)
    assert hypervolume([[0.5, 0.5], [0.2, None]], ref) == pytest.approx(0.25)  # None, as pandas object columns give
    assert hypervolume_contributions([[0.5, 0.5], [np.nan, 0.1]], ref).tolist() == pytest.approx([0.25, 0.0])
    # a diverged objective (-inf) is not a point either: it would make any set's volume infinite
    assert hypervolume([[0.5, 0.5], [-np.inf, 0.5]], ref) == pytest.approx(0.25)
    assert hypervolume_contributions([[0.5, 0.5], [-np.inf, 0.5]], ref).tolist() == pytest.approx([0.25, 0.0])


def test_trials_finishing_at_the_same_time_keep_their_order_in_running_curves():
    """Ties in finishing time (coarse clocks, in-process trials) keep the recorded order: numpy's default
    sort reorders ties in arrays this long, which would change the curve between tied points."""
    times = [1.0] * 20 + [0.0] * 20
    values = [float(v) for v in range(40, 0, -1)]
    t, best = running_best(times, values)
    assert best.tolist() == np.minimum.accumulate(values[20:] + values[:20]).tolist()
    points = [[v / 100, v / 100] for v in values]
    _, hv = running_hypervolume(times, points, [1.0, 1.0])
    assert hv.tolist() == pytest.approx([(1 - min(values[20:k + 21]) / 100) ** 2 if k < 20 else
                                         (1 - min(values[20:] + values[:k - 19]) / 100) ** 2 for k in range(40)])


def test_running_best_starts_with_nan_until_a_trial_succeeds_and_takes_none_as_failed():
    t, best = running_best([3, 1, 2], [1.0, None, 2.0])  # finishing order 1, 2, 3: failed, 2.0, 1.0
    assert t.tolist() == [1.0, 2.0, 3.0]
    assert np.isnan(best[0]) and best[1:].tolist() == [2.0, 1.0]
    t, hv = running_hypervolume([2, 1], [[0.5, 0.5], [0.8, 0.8]], [1.0, 1.0])
    assert t.tolist() == [1.0, 2.0] and hv.tolist() == pytest.approx([0.04, 0.25])


def test_a_step_curve_keeps_fractional_values_whatever_the_type_of_its_default():
    grid = np.array([0.0, 1.0, 2.5])
    assert on_grid([1, 2], [0.5, 0.25], grid, before=0).tolist() == [0.0, 0.5, 0.25]  # an int default, float values
    out = on_grid([1, 2], [None, 1.5], grid)
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 1.5


def test_aggregating_no_curve_or_one_curve():
    """No seed: every column NaN or 0, nothing invented. One seed: its curve, spread 0, and no spread
    before its first event (n = 0 there)."""
    grid = np.array([0.0, 1.0, 2.0])
    none = aggregate_curves([], grid)
    assert list(none.columns) == ["x", "mean", "std", "sem", "n"]
    assert none["n"].tolist() == [0, 0, 0] and none["mean"].isna().all() and none["sem"].isna().all()
    assert none["std"].tolist() == [0.0, 0.0, 0.0] and none["mean"].dtype == float
    one = aggregate_curves([(np.array([1.0]), np.array([0.7]))], grid)
    assert one["n"].tolist() == [0, 1, 1] and np.isnan(one["mean"][0]) and one["mean"][1:].tolist() == [0.7, 0.7]
    assert one["std"].tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(one["sem"][0]) and one["sem"][1:].tolist() == [0.0, 0.0]
