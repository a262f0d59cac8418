"""The discrete cell-based network (DARTS' evaluation network, 1-D or 2-D, without auxiliary head).

Why it exists: it is the single builder for every architecture the harness trains, whether a
multi-trial method chose it directly or a one-shot search derived it, so parameter counts and
accuracies are comparable across methods. Structure as in DARTS ``model.py``: a stem, ``cells``
cells with reductions (stride 2, doubled channels) at cells//3 and 2*cells//3 when there are at least
3 cells, node outputs concatenated, global average pooling and a linear classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.ops import FactorizedReduce, act_conv_bn, batchnorm, conv, make_op


def reduction_cells(cells: int) -> set[int]:
    """Indices of reduction cells. Below 3 cells there are none (tiny inputs such as 8x8 digits)."""
    return {cells // 3, 2 * cells // 3} if cells >= 3 else set()


@dataclass(frozen=True)
class CellSlot:
    """Channels and strides of one cell in the stack."""

    c_pp: int
    c_p: int
    c: int
    reduction: bool
    reduction_prev: bool


def cell_plan(cells: int, channels: int, c_stem: int, nodes: int) -> tuple[list[CellSlot], int]:
    """DARTS' stacking rule, shared by the discrete network and the supernet: channels double at each
    reduction cell, a cell outputs ``nodes * c`` channels. Returns the slots and the final width."""
    slots, reductions = [], reduction_cells(cells)
    c_pp, c_p, c, reduction_prev = c_stem, c_stem, channels, False
    for i in range(cells):
        reduction = i in reductions
        c = 2 * c if reduction else c
        slots.append(CellSlot(c_pp, c_p, c, reduction, reduction_prev))
        c_pp, c_p, reduction_prev = c_p, nodes * c, reduction
    return slots, c_p


class Cell(nn.Module):
    def __init__(self, dim: int, genotype: Genotype, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(dim, c_pp, c) if reduction_prev else act_conv_bn(dim, c_pp, c, 1, "relu")
        self.pre1 = act_conv_bn(dim, c_p, c, 1, "relu")
        self.edges = genotype.cell(reduction)
        self.ops = nn.ModuleList(
            make_op(e.op, dim, c, e.kernel, e.activation, stride=2 if reduction and e.source < 2 else 1)
            for node in self.edges
            for e in node
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        i = 0
        for node in self.edges:
            total = None
            for e in node:
                out = self.ops[i](states[e.source])
                total = out if total is None else total + out
                i += 1
            states.append(total)
        return torch.cat(states[2:], dim=1)


class CellNetwork(nn.Module):
    def __init__(self, in_shape: tuple[int, ...], n_classes: int, genotype: Genotype, cells: int,
                 channels: int, stem_multiplier: int = 1):
        super().__init__()
        dim = len(in_shape) - 1
        assert dim in (1, 2), in_shape
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(conv(dim, in_shape[0], c_stem, 3), batchnorm(dim, c_stem))
        slots, c_p = cell_plan(cells, channels, c_stem, genotype.nodes)
        self.cells = nn.ModuleList(
            Cell(dim, genotype, s.c_pp, s.c_p, s.c, s.reduction, s.reduction_prev) for s in slots
        )
        self.pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1).flatten(1))
