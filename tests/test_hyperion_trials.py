"""Issue 12: every Hyperion trial trains a network from its own search space.

Each test here failed on commit 37ca364:
- a one-candidate inner subspace trained the harness default (``op = "conv"``, wired as a chain);
- the empty-subspace repair taught a per-bit TPE that 0 bits are good, so subsets shrank to one value;
- ``n_m > 1`` with everything outside searched without ``inner_optimizer`` and told the edges learner
  about ``edges@j`` values the search ignored.
The property tests check, for every outer kind and every cell suite, that what ``evaluate`` trains uses
only values the trial's config offers at each node.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import hyperion, one_value, write_suite
from hyperion_bench.evaluate import evaluate
from hyperion_bench.methods.hyperion import INNER
from hyperion_bench.nn import builder
from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.supernet import KERNEL_FREE, PARAMETERLESS_ACT
from hyperion_bench.oneshot import CELL_FUSION, INNER_OPTIMIZER, INNER_PREFIX, needs_search, node_values
from hyperion_bench.plan import network_of
from hyperion_bench.suites import list_suites, load_suite

KINDS = ["random", "tpe", "anneal", "blendsearch"]

# the cifar10 suite's cell space (Hyperion paper, Table 2) at toy size: "conv", the harness default op,
# is not a choice, so a network built from defaults shows up at once
TABLE2 = """
[data]
dataset = "digits"

[network]
family = "cell"
nodes = 2

[training]
epochs = 1
batch_size = 16
lr = 0.05

[oneshot]
epochs = 1
batch_size = 16

[params.cells]
role = "macro"
type = "choice"
choices = [1]

[params.channels]
role = "macro"
type = "choice"
choices = [4]

[params.op]
role = "fusion"
type = "choice"
choices = ["avg_pool", "skip", "dil_conv"]

[params.kernel]
role = "fusion"
type = "choice"
choices = [3, 5]

[params.activation]
role = "fusion"
type = "choice"
choices = ["relu", "tanh"]

[objectives]
weighted_sum = { val_error = 1.0, n_params = 1e-5 }
"""


@pytest.fixture
def table2(tmp_path):
    return load_suite(write_suite(tmp_path, TABLE2))


def allowed_values(suite, config, node):
    """Per fusion parameter, the values the trial's config offers at ``node`` (inner subset or outer values)."""
    return {base: set(node_values(suite, config, base, node)) for base in CELL_FUSION}


def assert_cell_within_config(suite, config, genotype: Genotype):
    """Every edge of the derived cell uses values the config offers at its node (merged candidates aside:
    a skip has no kernel or activation, a pool no activation), all of them among the suite's choices."""
    choices = {p.name: set(p.choices) for p in suite.space.params if p.role == "fusion"}
    for cell in (genotype.normal, genotype.reduce or ()):
        for j, edges in enumerate(cell):
            offered = allowed_values(suite, config, j)
            for base, values in offered.items():
                if base in choices:
                    assert values <= choices[base], f"node {j}: {base} {values} outside the suite's choices"
            for e in edges:
                assert e.op in offered["op"], f"node {j}: op {e.op} not offered ({offered['op']})"
                if e.op not in KERNEL_FREE:
                    assert e.kernel in offered["kernel"], f"node {j}: kernel {e.kernel} not offered"
                if e.op not in PARAMETERLESS_ACT:
                    assert e.activation in offered["activation"], f"node {j}: activation {e.activation} not offered"


def run_capturing(monkeypatch, suite, config, data):
    """``evaluate`` the config; returns its final metrics and the network it trained (captured at the builder)."""
    built = []
    real = builder.build_network

    def spy(*args, **kwargs):
        model, genotype = real(*args, **kwargs)
        built.append((model, genotype))
        return model, genotype

    monkeypatch.setattr("hyperion_bench.evaluate.build_network", spy)
    final = evaluate(suite, config, data, epochs=1)
    assert len(built) == 1
    return final, built[0]


# ---------------------------------------------------------------- defect 1
def test_a_one_candidate_inner_subspace_still_searches_the_inputs(table2, tiny_images, monkeypatch):
    """Algorithm 1 builds the supernet whenever anything is handed inside: DARTS still picks each node's
    two inputs. On 37ca364 this config trained the default network (op "conv", a chain, no search)."""
    config = {"cells": 1, "channels": 4, "split@op": INNER, "split@kernel": "outer", "split@activation": "outer",
              "inner@op": "dil_conv", "kernel@0": 5, "kernel@1": 3, "activation@0": "tanh", "activation@1": "relu"}
    assert needs_search(table2, config)
    final, (model, genotype) = run_capturing(monkeypatch, table2, config, tiny_images)
    assert final["search_steps"] > 0 and final["candidates_per_edge"] == "1 1"
    assert [{(e.op, e.kernel, e.activation) for e in node} for node in genotype.normal] == [
        {("dil_conv", 5, "tanh")}, {("dil_conv", 3, "relu")}]
    assert Genotype.from_json(final["genotype"]) == genotype


def test_a_searched_fusion_parameter_missing_from_a_config_is_an_error_not_a_default(table2):
    """The builder never falls back to the harness default for a parameter the suite searches."""

    config = {"cells": 1, "channels": 4, "kernel@0": 3, "kernel@1": 3, "activation@0": "relu",
              "activation@1": "relu", "edges@0": "0+1", "edges@1": "0+2"}  # no op@j
    with pytest.raises(KeyError, match="op@0"):
        network_of(table2, config, (1, 8, 8), 3)
    config = {**config, "op@0": "skip", "op@1": "dil_conv"}
    del config["edges@1"]
    with pytest.raises(KeyError, match="edges@1"):
        network_of(table2, config, (1, 8, 8), 3)


# ---------------------------------------------------------------- defect 2
def subset_sizes(configs):
    return [len(str(c[k]).split("|")) for c in configs for k in c if k.startswith(INNER_PREFIX)]


@pytest.mark.parametrize("outer", ["tpe", "anneal"])
def test_subset_sizes_do_not_collapse_when_the_result_ignores_the_subspace(tmp_path, outer):
    """With results that do not depend on the subspace, a learnt sampler has no reason to prefer small
    subsets. On 37ca364 the repaired empty vectors, learnt as one-hot, drove TPE's late-run subsets onto
    one value (about 80%, against about 20% under random proposals on the cifar10 suite's op x kernel x
    activation choices)."""
    suite = load_suite("cifar10")
    late, empty = {}, {}
    for kind in ("random", outer):
        sched = hyperion(suite, kind, n_init=10)
        rng = np.random.default_rng(0)
        configs = []
        for key in range(120):
            configs.append(sched.ask(key).config)
            sched.tell(key, one_value(float(rng.random())), {})
        sizes = subset_sizes(configs[60:])
        late[kind] = sum(s == 1 for s in sizes) / len(sizes)
        empty[kind] = getattr(sched, "n_empty", None)
    assert late[outer] < late["random"] + 0.15, late
    assert empty[outer] > 0  # empty proposals happened and were asked again, never repaired


def test_an_empty_subspace_is_discarded_and_its_learners_hear_the_worst_result(table2):
    sched = hyperion(table2, "random", n_init=1000)
    rng = np.random.default_rng(0)
    for key in range(40):
        config = sched.ask(key).config
        for k, v in config.items():
            if k.startswith(INNER_PREFIX):
                assert str(v) and all(str(v).split("|")), config
        sched.tell(key, one_value(float(rng.random())), {})
    assert sched.n_empty > 0
    assert "repaired_subspaces" not in sched.metadata() and sched.metadata()["empty_subspaces"] == sched.n_empty
    # every learnt vector has at least one bit on: nothing empty was ever told with a trial's result
    for learner in sched.subspace.values():
        assert all(any(part.values()) for part, _ in learner.history)


# ---------------------------------------------------------------- defect 3
def test_n_m_values_outside_mean_a_search_with_the_chosen_inner_optimiser(table2):
    """Two kernels per node with nothing inside: the trial searches, so it carries the inner optimiser
    and no ``edges@j`` (the search picks the inputs); the edges learner hears only trials that use edges."""
    sched = hyperion(table2, "random", n_init=1000, n_m=2, inner="hyperdarts")
    n_edges_used = 0
    for key in range(60):
        config = sched.ask(key).config
        sched.tell(key, one_value(0.5), {})
        searches = needs_search(table2, config)
        assert (config.get(INNER_OPTIMIZER) == "hyperdarts") == searches, config
        assert any(k.startswith("edges@") for k in config) == (not searches), config
        n_edges_used += not searches
    assert len(sched.edges.history) == n_edges_used
    assert n_edges_used < 60


# ---------------------------------------------------------------- the property
CELL_SUITES = [name for name in list_suites() if load_suite(name).family == "cell"]


@pytest.mark.parametrize("outer", KINDS)
@pytest.mark.parametrize("n_m", [1, 2])
def test_every_proposal_offers_only_its_own_values_on_every_cell_suite(outer, n_m):
    """Random phase and model phase, every cell suite: what a trial will search or build uses only the
    suite's choices and, per node, the trial's subsets or outer values; a config with an ``inner@`` key
    searches; a config that does not search names every node's inputs."""
    for name in CELL_SUITES:
        suite = load_suite(name)
        sched = hyperion(suite, outer, n_init=4, n_m=n_m)
        rng = np.random.default_rng(1)
        for key in range(10):
            config = sched.ask(key).config
            searches = needs_search(suite, config)
            if any(k.startswith(INNER_PREFIX) for k in config):
                assert searches, (name, config)
            for j in range(suite.network["nodes"]):
                offered = allowed_values(suite, config, j)  # raises on a value the config lacks
                for p in suite.space.params:
                    if p.role == "fusion" and p.name in CELL_FUSION:
                        assert offered[p.name] <= set(p.choices), (name, p.name, offered)
                if not searches:
                    assert f"edges@{j}" in config, (name, config)
            sched.tell(key, one_value(float(rng.random())), {})


@pytest.mark.parametrize("outer", KINDS)
@pytest.mark.parametrize("n_m", [1, 2])
def test_evaluate_trains_the_network_the_proposal_describes(table2, tiny_images, monkeypatch, outer, n_m):
    """Random and model phase proposals run through ``evaluate``: a trial with an ``inner@`` key records a
    search, the trained cell uses only the values its config offers per node, and the recorded genotype
    is the network that was trained."""
    sched = hyperion(table2, outer, n_init=2, n_m=n_m)
    rng = np.random.default_rng(2)
    for key in range(4):
        config = sched.ask(key).config
        final, (model, genotype) = run_capturing(monkeypatch, table2, config, tiny_images)
        if any(k.startswith(INNER_PREFIX) for k in config):
            assert final["search_steps"] > 0, config
        assert needs_search(table2, config) == ("search_steps" in final)
        assert_cell_within_config(table2, config, genotype)
        recorded = Genotype.from_json(final["genotype"])
        assert recorded == genotype
        rebuilt, _ = network_of(table2, config, (1, 8, 8), 3, recorded)
        assert repr(rebuilt) == repr(model) and final["n_params"] == sum(p.numel() for p in model.parameters())
        sched.tell(key, one_value(final["weighted_sum"] + 0.01 * float(rng.random())), {})


def test_the_property_check_catches_a_default_network(table2):
    """The check above is not vacuous: a default-built cell (op "conv") is outside the Table 2 choices."""
    from hyperion_bench.nn.genotype import Edge

    config = {"inner@op": "dil_conv", "kernel@0": 3, "kernel@1": 3, "activation@0": "relu", "activation@1": "relu"}
    bad = Genotype(tuple((Edge(s, "conv", 3, "relu"),) for s in (0, 1)))
    with pytest.raises(AssertionError, match="op conv not offered"):
        assert_cell_within_config(table2, config, bad)


# ---------------------------------------------------------------- peak tensor memory of a search step
@pytest.mark.parametrize("order", [1, 2])
def test_a_search_records_its_peak_tensor_memory_and_it_grows_with_the_batch(order):
    """One tracked step (memory.py, PyTorch's MemTracker) on the CPU: more than the weights, and about
    proportional to the batch (activations dominate)."""
    import torch

    from hyperion_bench.nn.darts import DartsSettings, search
    from hyperion_bench.nn.supernet import SuperNetwork

    peaks = {}
    for batch in (4, 16):
        torch.manual_seed(0)
        net = SuperNetwork((1, 8, 8), 3, [[("conv", 3, "relu"), ("skip", 0, "-")]] * 2, cells=1, channels=4)
        x, y = torch.randn(64, 1, 8, 8), torch.arange(64) % 3
        info = search(net, x, y, DartsSettings(epochs=1, batch_size=batch, order=order), track_memory=True)
        weights_mb = sum(p.numel() * p.element_size() for p in net.parameters()) / 2**20
        assert info["search_peak_tensor_mb"] > weights_mb and info["search_tracked_step_s"] > 0
        peaks[batch] = info["search_peak_tensor_mb"]
    assert 2.5 < peaks[16] / peaks[4] < 4.5
    # a one-step search tracks that step; a deadline does not cut a search before its tracked step
    info = search(net, x[:8], y[:8], DartsSettings(epochs=1, batch_size=4), track_memory=True)
    assert info["search_steps"] == 1 and info["search_peak_tensor_mb"] > 0
    info = search(net, x, y, DartsSettings(epochs=5, batch_size=4), track_memory=True, deadline=time.time() - 1)
    assert info["search_steps"] == 2 and info["search_peak_tensor_mb"] > 0


@pytest.mark.parametrize("inner", ["darts", "hyperdarts"])
def test_every_searching_trial_records_search_peak_tensor_mb(table2, tiny_images, inner):
    config = {"cells": 1, "channels": 4, "inner@op": "dil_conv|avg_pool", "inner@kernel": "3|5",
              "activation@0": "relu", "activation@1": "tanh", INNER_OPTIMIZER: inner}
    final = evaluate(table2, config, tiny_images, epochs=1)
    assert final["inner_optimizer"] == inner and final["search_peak_tensor_mb"] > 0
