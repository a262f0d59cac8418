"""Networks: every op keeps shapes in 1-D and 2-D (odd sizes, even kernels); parameter counts by hand."""

import pytest
import torch

from conftest import CELL_SUITE, write_suite
from hyperion_bench.nn import Edge, Genotype, count_params
from hyperion_bench.nn.cell_network import CellNetwork, reduction_cells
from hyperion_bench.nn.ops import FactorizedReduce, make_op
from hyperion_bench.nn.plain_cnn import PlainCNN
from hyperion_bench.plan import network_of
from hyperion_bench.suites import load_suite

OPS = ["conv", "sep_conv", "dil_conv", "max_pool", "avg_pool", "skip", "none"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kernel", [3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 4, 7, 7), (2, 4, 8, 8), (2, 4, 37), (2, 4, 40)])
@pytest.mark.parametrize("stride", [1, 2])
def test_ops_map_size_to_ceil_size_over_stride(op, kernel, shape, stride):
    dim = len(shape) - 2
    layer = make_op(op, dim, 4, kernel, "tanh", stride)
    out = layer(torch.randn(shape))
    expected = (shape[0], 4, *[-(-s // stride) for s in shape[2:]])
    assert tuple(out.shape) == expected


def test_factorized_reduce_odd_sizes():
    out = FactorizedReduce(2, 3, 6)(torch.randn(1, 3, 7, 7))
    assert out.shape == (1, 6, 4, 4)


def test_reduction_cells_follow_darts():
    assert reduction_cells(8) == {2, 5}
    assert reduction_cells(3) == {1, 2}
    assert reduction_cells(2) == set()


def one_node(op: str, kernel: int = 3) -> Genotype:
    return Genotype(((Edge(0, op, kernel, "relu"), Edge(1, op, kernel, "relu")),))


@pytest.mark.parametrize(
    "op,edge_params",
    [
        ("conv", 4 * 4 * 9 + 8),  # 3x3 conv 4->4, BN(4)
        ("sep_conv", 2 * (4 * 9 + 4 * 4 + 8)),  # twice: depthwise 3x3, pointwise, BN
        ("dil_conv", 4 * 9 + 4 * 4 + 8),
        ("max_pool", 0),
        ("skip", 0),
    ],
)
def test_cell_network_parameter_count_by_hand(op, edge_params):
    net = CellNetwork((1, 8, 8), 10, one_node(op), cells=1, channels=4)
    stem = 1 * 4 * 9 + 8  # conv 1->4 3x3, BN(4)
    pre = 2 * (4 * 4 + 8)  # two ReLU-conv1x1-BN preprocessors 4->4
    classifier = 4 * 10 + 10  # one node concatenated: 4 channels
    assert count_params(net) == stem + pre + 2 * edge_params + classifier


def test_plain_cnn_parameter_count_by_hand():
    net = PlainCNN((3, 16, 16), 17, [8], 3, batch_norm=True, global_avg_pooling=True, fc_units=[16])
    assert count_params(net) == (3 * 8 * 9 + 8) + 16 + (8 * 16 + 16) + (16 * 17 + 17)
    net = PlainCNN((3, 16, 16), 17, [8], 3, batch_norm=False, global_avg_pooling=False, fc_units=[16])
    assert count_params(net) == (3 * 8 * 9 + 8) + (8 * 8 * 8 * 16 + 16) + (16 * 17 + 17)


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (3, 7, 7), (1, 40), (1, 13)])
@pytest.mark.parametrize("cells", [1, 3, 5])
def test_cell_network_shapes(in_shape, cells):
    geno = Genotype(
        (
            (Edge(0, "sep_conv", 5, "tanh"), Edge(1, "max_pool", 4, "relu")),
            (Edge(1, "dil_conv", 3, "relu"), Edge(2, "skip", 3, "relu")),
        )
    )
    net = CellNetwork(in_shape, 5, geno, cells=cells, channels=4)
    assert net(torch.randn(2, *in_shape)).shape == (2, 5)


def test_genotype_json_roundtrip_and_checks():
    geno = Genotype(((Edge(0, "conv", 3, "relu"), Edge(1, "skip", 3, "relu")),), reduce=None)
    assert Genotype.from_json(geno.to_json()) == geno
    with pytest.raises(AssertionError):
        Genotype(((Edge(2, "conv", 3, "relu"),),))  # node 0 cannot read node 0


def test_build_network_reads_per_node_values(tmp_path):
    suite = load_suite(write_suite(tmp_path, CELL_SUITE))
    config = {"cells": 1, "channels": 4, "op@0": "conv", "op@1": "skip", "kernel@0": 3, "kernel@1": 5,
              "activation@0": "relu", "activation@1": "tanh", "edges@0": "0+1", "edges@1": "1+2"}
    net, geno = network_of(suite, config, (1, 8, 8), 10)
    assert [e.source for e in geno.normal[1]] == [1, 2]
    assert geno.normal[1][0].op == "skip" and geno.normal[1][0].activation == "tanh"
    # node 0: two conv edges (152 each); node 1: skips; classifier sees 2 nodes x 4 channels
    assert count_params(net) == 44 + 48 + 2 * 152 + (8 * 10 + 10)


def test_flowers_space_builds_its_plain_cnn():
    suite = load_suite("flowers17")
    config = {"n_conv_l": 2, "n_conv_0": 16, "n_conv_1": 32, "n_conv_2": 999, "n_fc_l": 1, "n_fc_0": 8,
              "n_fc_1": 3, "n_fc_2": 3, "kernel_size": 3, "lr": 1e-3, "batch_norm": True, "batch_size": 32,
              "global_avg_pooling": True}
    net, geno = network_of(suite, config, (3, 16, 16), 17)
    assert geno is None
    expected = (3 * 16 * 9 + 16) + 32 + (16 * 32 * 9 + 32) + 64 + (32 * 8 + 8) + (8 * 17 + 17)
    assert count_params(net) == expected
