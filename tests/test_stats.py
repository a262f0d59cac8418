"""Ranks, p-values, intervals and MO indicators of stats.py against hand-computed cases and moocore."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pandas as pd
import pytest

from hyperion_bench import stats
from hyperion_bench.metrics import hypervolume


def seeds_frame(values: dict[str, list[float]], suite: str = "s", metric: str = "m") -> pd.DataFrame:
    return pd.DataFrame([{"suite": suite, "method": method, "seed": k, metric: v}
                         for method, vs in values.items() for k, v in enumerate(vs)])


def test_one_seed_has_no_spread_std_and_interval_are_nan_not_zero():
    assert math.isnan(stats.seed_std([0.3]))
    assert all(math.isnan(x) for x in stats.bootstrap_ci([0.3]))
    assert all(math.isnan(x) for x in stats.bootstrap_ci([0.3, np.nan]))  # a failed seed is no value
    assert stats.seed_std([1.0, 3.0]) == pytest.approx(math.sqrt(2.0))


def test_bootstrap_interval_brackets_the_mean_within_the_range_and_is_seeded():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    lo, hi = stats.bootstrap_ci(values)
    assert 1.0 <= lo < np.mean(values) < hi <= 10.0
    assert stats.bootstrap_ci(values) == (lo, hi)
    assert stats.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)  # no spread: a point, not an error
    # two seeds: the resampled means are a, (a+b)/2, b; the 95% percentile interval spans [a, b]
    assert stats.bootstrap_ci([1.0, 3.0]) == pytest.approx((1.0, 3.0))


def test_mean_ranks_per_seed_block_ties_averaged_missing_ranks_last():
    # seed 0: a 1, b 2, c 3; seed 1: b 1, a and c tie 2.5; seed 2: c has no value (last), a 1, b 2
    frame = seeds_frame({"a": [0.1, 0.5, 0.2], "b": [0.2, 0.3, 0.4], "c": [0.3, 0.5, np.nan]})
    ranks = stats.mean_ranks(frame, "m").set_index("method")["mean_rank"]
    assert ranks["a"] == pytest.approx((1 + 2.5 + 1) / 3)
    assert ranks["b"] == pytest.approx((2 + 1 + 2) / 3)
    assert ranks["c"] == pytest.approx((3 + 2.5 + 3) / 3)
    high = stats.mean_ranks(frame.assign(m=-frame["m"]), "m", higher_is_better=True).set_index("method")
    assert high["mean_rank"].to_dict() == pytest.approx(ranks.to_dict())


def test_rank_over_time_before_a_first_result_ranks_last():
    curves = {"a": [(np.array([1.0, 3.0]), np.array([0.5, 0.1]))],
              "b": [(np.array([2.0]), np.array([0.2]))]}
    ranks = stats.rank_over_time(curves, np.array([0.5, 1.5, 2.5, 3.5]), higher_is_better=False)
    assert ranks["a"].tolist() == [1.5, 1.0, 2.0, 1.0]
    assert ranks["b"].tolist() == [1.5, 2.0, 1.0, 2.0]


def test_mann_whitney_exact_p_values_by_hand():
    # 3 vs 3, complete separation: U = 0, exact two-sided p = 2 / C(6, 3) = 0.1
    assert stats.mann_whitney([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    # 5 vs 5 separated: 2 / C(10, 5) = 2 / 252
    assert stats.mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    # 2 vs 2 can never reach 0.05: 2 / C(4, 2) = 1/3
    assert stats.mann_whitney([1, 2], [3, 4]) == pytest.approx(1 / 3)
    assert math.isnan(stats.mann_whitney([1.0], [2.0, 3.0]))
    assert stats.mann_whitney([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 -> x3, x2, x1 = 0.03, 0.04, 0.04 (monotone), back in input order
    assert stats.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    out = stats.holm([0.01, np.nan])
    assert out[0] == pytest.approx(0.01) and math.isnan(out[1])


def test_compare_to_reference_verdicts_are_from_the_methods_side():
    frame = seeds_frame({"ref": [5, 6, 7, 8, 9], "good": [0, 1, 2, 3, 4], "bad": [10, 11, 12, 13, 14],
                         "same": [5.5, 6.5, 7.5, 8.5, 9.5]})
    table = stats.compare_to_reference(frame, "m", "ref", higher_is_better=False).set_index("method")
    assert table.loc["good", "p"] == pytest.approx(2 / 252)
    assert table.loc["good", "p_holm"] == pytest.approx(3 * 2 / 252)  # smallest of 3 tests: x3
    assert table.loc["good", "verdict"] == "better" and table.loc["bad", "verdict"] == "worse"
    assert table.loc["same", "verdict"] == "tie"
    flipped = stats.compare_to_reference(frame, "m", "ref", higher_is_better=True).set_index("method")
    assert flipped.loc["good", "verdict"] == "worse"
    two = stats.compare_to_reference(seeds_frame({"ref": [5], "x": [1, 2]}), "m", "ref", False)
    assert two["verdict"].tolist() == ["n/a"]


def test_friedman_and_average_ranks_by_hand():
    # 4 suites, 3 methods, the same order everywhere: ranks 1, 2, 3; chi2 = 12N/(k(k+1)) sum R^2 - 3N(k+1)
    table = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.1], "b": [0.2, 0.3, 0.4, 0.2], "c": [0.3, 0.4, 0.5, 0.3]},
                         index=["s1", "s2", "s3", "s4"])
    out = stats.friedman_nemenyi(table)
    assert out["ranks"].to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    n, k = 4, 3
    chi2 = 12 * n / (k * (k + 1)) * sum(r**2 for r in (1, 2, 3)) - 3 * n * (k + 1)
    assert out["statistic"] == pytest.approx(chi2)
    assert out["p"] == pytest.approx(math.exp(-chi2 / 2))  # chi-squared with 2 dof
    assert out["posthoc"].shape == (3, 3) and out["posthoc"].loc["a", "c"] < out["posthoc"].loc["a", "b"]


@pytest.mark.parametrize("suite,exact", [("zdt1", 10 + 2 / 3 + 1.1), ("zdt2", 10 + 1 / 3 + 1.1), ("zdt3", 12.222)])
def test_true_fronts_have_the_known_hypervolume(suite, exact):
    front = stats.true_front(suite)
    assert hypervolume(front, [1.1, 11.0]) == pytest.approx(exact, abs=1.5e-3)
    assert stats.relative_hypervolume(front, front, [1.1, 11.0]) == 1.0
    assert stats.igd_plus(front, front) == pytest.approx(0.0, abs=1e-12)


def test_igd_plus_against_moocore_and_by_hand():
    front = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    pts = np.array([[0.5, 1.0], [1.0, 0.5]])
    # IGD+: mean over front points of the distance to the nearest dominated-side gap max(p - f, 0)
    # f=(0,1): to (0.5,1) 0.5; f=(0.5,0.5): to (0.5,1) 0.5, to (1,0.5) 0.5; f=(1,0): to (1,0.5) 0.5
    assert stats.igd_plus(pts, front) == pytest.approx(0.5)
    assert stats.igd_plus(pts, front) == pytest.approx(moocore.igd_plus(pts, ref=front))
    assert math.isnan(stats.igd_plus(np.empty((0, 2)), front))


def test_median_attainment_against_moocore_and_by_hand():
    a, b, c = np.array([[1.0, 3.0], [3.0, 1.0]]), np.array([[2.0, 2.0]]), np.array([[0.5, 4.0], [4.0, 0.5]])
    surface = stats.median_attainment([a, b, c])
    # attained by at least 2 of the 3 sets
    assert surface.tolist() == [[1.0, 4.0], [2.0, 3.0], [3.0, 2.0], [4.0, 1.0]]
    ids = [1, 1, 2, 3, 3]
    expected = moocore.eaf(np.vstack([a, b, c]), sets=ids, percentiles=[50])[:, :-1]
    assert np.allclose(surface, expected[np.lexsort(expected.T[::-1])])
    # a seed with nothing finished attains nothing: the median of 4 needs 2 of the 3 others
    assert stats.median_attainment([a, b, c, np.empty((0, 2))]).tolist() == surface.tolist()
    assert stats.median_attainment([a, np.empty((0, 2)), np.empty((0, 2))]).size == 0
