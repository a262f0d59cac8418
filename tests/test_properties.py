"""Properties over many generated inputs (hypothesis): the Pareto and hypervolume machinery against
brute-force definitions and botorch, the MO selection rules against their definitions, every shipped
search space's encodings, and Hyperion's sub-search-space encodings and proposals. Points are small
integers so that ties and duplicates are common and every hypervolume is exact in floating point."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperion_bench.methods import make_optimizer
from hyperion_bench.methods._mo_select import (
    EPS,
    greedy_split,
    reference_point,
    select_best,
    sort_best_first,
    worst_index,
)
from hyperion_bench.methods.hyperion import INNER, SPLIT_PREFIX
from hyperion_bench.metrics import (
    hypervolume,
    hypervolume_contributions,
    nondominated_ranks,
    pareto_front,
    pareto_mask,
)
from hyperion_bench.nn.supernet import canonical
from hyperion_bench.oneshot import (
    CELL_FUSION,
    INNER_PREFIX,
    decode_subset,
    encode_subset,
    needs_search,
    node_candidates,
)
from hyperion_bench.plan import decode
from hyperion_bench.space import parse_edges
from hyperion_bench.suites import BENCHMARKS_DIR, load_suite

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def point_sets(draw, min_size: int = 0, max_size: int = 12, dims: tuple[int, ...] = (2, 3)) -> np.ndarray:
    d = draw(st.sampled_from(dims))
    n = draw(st.integers(min_size, max_size))
    return np.array(draw(st.lists(st.lists(st.integers(0, 6), min_size=d, max_size=d), min_size=n, max_size=n)),
                    dtype=float).reshape(n, d)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def brute_ranks(points: np.ndarray) -> np.ndarray:
    """Peel non-dominated fronts by pairwise comparison."""
    ranks = np.full(len(points), -1)
    left, r = set(range(len(points))), 0
    while left:
        front = [i for i in left if not any(dominates(points[j], points[i]) for j in left)]
        ranks[front] = r
        left -= set(front)
        r += 1
    return ranks


def brute_select(points: np.ndarray, k: int, ref: np.ndarray) -> list[int]:
    """The selection rule by its definition: whole fronts while they fit, then drop from the splitting front
    the point whose removal loses the least hypervolume of that front, one at a time (ties: the later)."""
    if k >= len(points):
        return list(range(len(points)))
    ranks, chosen = brute_ranks(points), []
    for r in range(int(ranks.max()) + 1 if len(points) else 0):
        front = [int(i) for i in np.flatnonzero(ranks == r)]
        if len(chosen) + len(front) <= k:
            chosen += front
            continue
        while len(front) > k - len(chosen):
            total = hypervolume(points[front], ref)
            loss = [total - hypervolume(points[[j for j in front if j != i]], ref) for i in front]
            front.pop(max(p for p, v in enumerate(loss) if v == min(loss)))
        return sorted(chosen + front)
    return sorted(chosen)


# ---------------------------------------------------------------- metrics
@FAST
@given(point_sets())
def test_pareto_mask_and_ranks_match_pairwise_dominance(points):
    mask = pareto_mask(points)
    assert mask.dtype == bool and len(mask) == len(points)
    assert mask.tolist() == [not any(dominates(q, p) for q in points) for p in points]
    assert nondominated_ranks(points).tolist() == brute_ranks(points).tolist()
    front = pareto_front(points)
    assert sorted(map(tuple, front)) == sorted(set(map(tuple, points[mask])))


@FAST
@given(point_sets(min_size=1), st.integers(1, 8))
def test_hypervolume_matches_botorch_and_ignores_points_outside_the_box(points, r):
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    ref = np.full(points.shape[1], float(r))
    inside = points[np.all(points < ref, axis=1)]
    expected = 0.0
    if len(inside):  # botorch maximises: negate points and reference; it wants the front inside the box
        expected = float(Hypervolume(ref_point=-torch.tensor(ref)).compute(-torch.tensor(pareto_front(inside))))
    assert hypervolume(points, ref) == pytest.approx(expected, abs=1e-9)
    # contributions: exclusive hypervolume within a front (how _mo_select uses them); dominated points 0.
    # (moocore measures a front point against the other front points only, even when dominated points
    # are passed along: hence a front here, not the whole set.)
    mask = pareto_mask(points)
    contrib = hypervolume_contributions(points, ref)
    assert np.all(contrib[~mask] == 0)
    front = points[mask]
    total = hypervolume(front, ref)
    for i, c in enumerate(hypervolume_contributions(front, ref)):
        assert c == pytest.approx(total - hypervolume(np.delete(front, i, axis=0), ref), abs=1e-9)


# ---------------------------------------------------------------- MO selection (_mo_select)
def test_reference_point_pushes_each_worst_value_outwards():
    ref = reference_point([[1.0, -2.0, 0.0], [2.0, -4.0, 0.0]])
    assert ref.tolist() == pytest.approx([2.2, -1.8, EPS], rel=1e-12, abs=0)  # (approx's default abs hides EPS vs 0)
    assert reference_point([[0.0, 0.5]]).tolist() == [EPS, 0.55]
    assert reference_point([[3, 1], [1, 3]]).dtype == float


@FAST
@given(point_sets(), st.integers(-1, 13), st.integers(0, 3))
def test_select_best_is_fronts_first_then_least_hypervolume_loss(points, k, push):
    ref = np.full(points.shape[1], 7.0 + push)
    chosen = select_best(points, k, reference=ref)
    assert chosen.dtype.kind == "i"  # usable as an index, even when empty
    assert points[chosen].shape == (min(max(k, 0), len(points)), points.shape[1])
    assert chosen.tolist() == brute_select(points, max(k, 0), ref)
    if len(points) > 1:
        kept = set(select_best(points, len(points) - 1, ref).tolist())
        assert worst_index(points, ref) == (set(range(len(points))) - kept).pop()


@FAST
@given(point_sets(min_size=1), st.integers(0, 12))
def test_select_best_defaults_to_the_relative_reference(points, k):
    assert select_best(points, k).tolist() == select_best(points, k, reference_point(points)).tolist()
    assert select_best(points.astype(int), k).tolist() == select_best(points, k).tolist()


def test_select_best_uses_the_reference_it_is_given():
    points = np.array([(1.0, 4.0), (2.0, 2.0), (5.0, 1.0)])  # one front
    assert select_best(points, 2).tolist() == [1, 2]  # relative reference (5.5, 4.4): (1, 4) adds least
    assert select_best(points, 2, reference=[5.5, 100.0]).tolist() == [0, 1]  # now (5, 1) adds least


@FAST
@given(point_sets())
def test_sort_best_first_orders_by_front_then_contribution(points):
    order = sort_best_first(points)
    assert order.dtype.kind == "i" and sorted(order.tolist()) == list(range(len(points)))
    if len(points):
        ref = reference_point(points)
        ranks = brute_ranks(points)
        contrib = np.zeros(len(points))
        for r in set(ranks.tolist()):
            idx = np.flatnonzero(ranks == r)
            contrib[idx] = hypervolume_contributions(points[idx], ref)
        keys = [(ranks[i], -contrib[i], i) for i in order]
        assert keys == sorted(keys)


@FAST
@given(point_sets(), st.integers(-1, 13))
def test_greedy_split_takes_fronts_then_the_largest_gain(points, n_good):
    good = greedy_split(points, n_good)
    assert good.dtype == bool and good.sum() == min(max(n_good, 0), len(points))
    if not good.any():
        return
    ranks = brute_ranks(points)
    assert ranks[good].max() <= ranks[~good].min(initial=ranks.max())  # no point of a worse front first
    # inside the splitting front, each pick adds the most hypervolume to the picks before it
    split = int(ranks[good].max())
    full = set(np.flatnonzero(ranks < split)) | (set(np.flatnonzero(ranks == split))
                                                if (ranks <= split).sum() == good.sum() else set())
    picked = [int(i) for i in np.flatnonzero(good & (ranks == split))]
    if set(np.flatnonzero(good)) == full:
        return
    ref, taken, remaining = reference_point(points), [], [int(i) for i in np.flatnonzero(ranks == split)]
    while len(taken) < len(picked):
        gains = [hypervolume(points[taken + [i]], ref) for i in remaining]
        taken.append(remaining.pop(int(np.argmax(gains))))
    assert sorted(taken) == picked


# ---------------------------------------------------------------- search spaces
SUITES = sorted(p.stem for p in BENCHMARKS_DIR.glob("*.toml"))


@pytest.mark.parametrize("name", SUITES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_point_of_the_unit_cube_is_a_valid_config(name, data):
    space = load_suite(name).space
    u = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(space.flat), max_size=len(space.flat))))
    config = space.from_unit(u)
    space.validate(config)
    assert np.all((space.to_unit(config) >= 0) & (space.to_unit(config) <= 1))
    assert space.from_unit(space.to_unit(config)) == config  # encode/decode is a fixed point
    for p in space.flat:
        if p.name.startswith("edges@"):
            a, b = parse_edges(config[p.name])
            assert 0 <= a < b < int(p.name.split("@")[1]) + 2  # a node reads two distinct earlier states


# ---------------------------------------------------------------- sub-search-space encodings
CELL_SUITES = [n for n in SUITES if load_suite(n).family == "cell"]


@pytest.mark.parametrize("name", CELL_SUITES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_nonempty_subset_survives_its_encoding_with_its_types(name, data):
    suite = load_suite(name)
    for p in (p for p in suite.space.params if p.role == "fusion" and p.name in CELL_FUSION):
        subset = data.draw(st.lists(st.sampled_from(p.choices), min_size=1, unique=True), label=p.name)
        back = decode_subset(suite, p.name, encode_subset(subset))
        assert back == subset and [type(v) for v in back] == [type(v) for v in subset]  # kernels stay ints


@pytest.mark.parametrize("name", CELL_SUITES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), n_m=st.integers(1, 3), cap=st.sampled_from([0, 4, 12]))
def test_every_hyperion_proposal_decodes_to_the_supernet_its_split_and_subsets_ask_for(name, seed, n_m, cap):
    """Hyperion's configs are not points of the flat space (subsets, n_m values per node): each must still
    decode to a plan, and each node's candidates must be exactly the product of what the split gave the
    inner loop (its subset) and what the outer learners chose (n_m values)."""
    suite = load_suite(name)
    sched = make_optimizer("hyperion", space=suite.space, seed=seed,
                           options={**suite.hyperion, "outer": "random", "n_m": n_m, "max_candidates": cap,
                                    "n_init": 100})
    fusion = [p for p in suite.space.params if p.role == "fusion" and p.name in CELL_FUSION]
    for key in range(4):
        fallbacks = sched.n_fallbacks
        config = sched.ask(key).config
        fell_back = sched.n_fallbacks > fallbacks  # no valid split within the retries: all outer, cap not applied
        sched.tell(key, np.array([float(key)]), {})
        plan = decode(suite, config)  # raises on anything the suite searches but the config lacks
        assert (plan.search is not None) == needs_search(suite, config)
        per_base = []
        for p in fusion:
            if config[f"{SPLIT_PREFIX}{p.name}"] == INNER:
                subset = decode_subset(suite, p.name, config[f"{INNER_PREFIX}{p.name}"])
                assert subset and set(subset) <= set(p.choices)
                per_base.append([subset] * suite.network["nodes"])
            else:
                nodes = [[config[f"{p.name}@{j}"]] + [config[f"{p.name}@{j}.{k}"] for k in range(1, n_m)]
                         for j in range(suite.network["nodes"])]
                assert all(set(v) <= set(p.choices) for v in nodes)
                per_base.append(nodes)
        cands = node_candidates(suite, config)
        for j, node in enumerate(cands):
            # exactly the product, with equivalent candidates (a pool's activation, a skip's kernel) merged
            assert sorted(node) == sorted({canonical(c) for c in itertools.product(*(b[j] for b in per_base))})
            if cap and not fell_back:
                assert len(node) <= cap
        if plan.search is None:  # the outer loop fixed the cell, its inputs included
            assert all(len(node) == 1 for node in cands)
            assert all(f"edges@{j}" in config for j in range(suite.network["nodes"]))
