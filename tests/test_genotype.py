"""Genotypes: JSON round trip of both cells, and how a config's per-node values become one (issue 18: these
mutants of nn/genotype.py survived)."""

from __future__ import annotations

import pytest

from hyperion_bench.nn.genotype import Edge, Genotype, genotype_from_config

NORMAL = ((Edge(0, "sep_conv", 3, "relu"), Edge(1, "skip", 3, "relu")),
          (Edge(2, "dil_conv", 5, "tanh"), Edge(0, "max_pool", 3, "relu")))
REDUCE = ((Edge(1, "avg_pool", 3, "relu"), Edge(0, "conv", 7, "tanh")),
          (Edge(2, "skip", 3, "relu"), Edge(1, "sep_conv", 5, "relu")))


def test_json_round_trip_keeps_a_distinct_reduction_cell_and_is_compact():
    g = Genotype(NORMAL, REDUCE)
    text = g.to_json()
    assert text.startswith('{"normal":[[[0,"sep_conv",3,"relu"],[1,"skip",3,"relu"]],') and " " not in text
    assert Genotype.from_json(text) == g
    assert Genotype.from_json(text).cell(True) == REDUCE and g.cell(False) == NORMAL
    shared = Genotype(NORMAL)
    assert '"reduce":null' in shared.to_json() and Genotype.from_json(shared.to_json()) == shared
    assert shared.cell(True) == NORMAL  # without its own reduction cell, reduction cells use the normal one


def setting(config):
    return lambda name, j: config[f"{name}@{j}"] if f"{name}@{j}" in config else {"kernel": 3, "activation": "relu",
                                                                                   "op": "conv"}[name]


def test_per_node_values_and_edges_make_the_cell():
    config = {"op@0": "skip", "op@1": "dil_conv", "kernel@1": 5, "edges@0": "0+1", "edges@1": "2+0"}
    g = genotype_from_config(config, 2, setting(config))
    assert g.normal == ((Edge(0, "skip", 3, "relu"), Edge(1, "skip", 3, "relu")),
                        (Edge(2, "dil_conv", 5, "relu"), Edge(0, "dil_conv", 5, "relu")))
    assert g.reduce is None


def test_a_searched_cell_without_edges_is_an_error_and_an_unsearched_one_a_chain():
    config = {"op@0": "skip", "edges@0": "0+1"}
    with pytest.raises(KeyError, match="edges@1"):
        genotype_from_config(config, 2, setting(config))  # edges are searched by default
    chain = genotype_from_config({}, 3, setting({}), edges_searched=False)
    assert [tuple(e.source for e in node) for node in chain.normal] == [(0, 1), (1, 2), (2, 3)]
