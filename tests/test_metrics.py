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
