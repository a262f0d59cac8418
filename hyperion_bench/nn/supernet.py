"""The DARTS supernet, reference implementation: MixedOp -> SearchCell -> SuperNetwork.

Why it reads like quark0/darts ``model_search.py``: this is the readable reference that faster
implementations are tested and benchmarked against. Differences from the original, all needed by
the joint search space: a candidate is a (op, kernel, activation) triple, every node has its own
candidate list (Hyperion fixes some fusion parameters per node, so node j's edges may offer other
candidates than node k's), and the network works on 1-D and 2-D inputs.

As in DARTS, search-time BatchNorm is affine=False, pools are followed by a non-affine BatchNorm,
every earlier state feeds every node, normal and reduction cells have their own alphas
(``alphas_normal[j]`` has shape (j + 2, n_candidates(j))) initialised as 1e-3 * randn.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hyperion_bench import device
from hyperion_bench.nn.cell_network import cell_plan
from hyperion_bench.nn.genotype import Edge, Genotype
from hyperion_bench.nn.ops import FactorizedReduce, act_conv_bn, batchnorm, conv, make_op

Candidate = tuple[str, int, str]  # (op, kernel, activation)
PARAMETERLESS_ACT = {"max_pool", "avg_pool", "skip", "none"}  # ops that ignore the activation
KERNEL_FREE = {"skip", "none"}  # ops that ignore the kernel


def canonical(candidate: Candidate) -> Candidate:
    """Identify candidates that compute the same function (a skip is a skip whatever its kernel)."""
    op, k, act = candidate
    if op in KERNEL_FREE:
        return (op, 0, "-")
    if op in PARAMETERLESS_ACT:
        return (op, int(k), "-")
    return (op, int(k), act)


def dedupe(candidates: Sequence[Candidate]) -> list[Candidate]:
    seen: dict[Candidate, None] = {}
    for c in candidates:
        seen.setdefault(canonical(c), None)
    return list(seen)


def search_op(candidate: Candidate, dim: int, c: int, stride: int) -> nn.Module:
    op, k, act = candidate
    layer = make_op(op, dim, c, max(int(k), 1), act if act != "-" else "relu", stride, affine=False)
    if op in ("max_pool", "avg_pool"):
        layer = nn.Sequential(layer, batchnorm(dim, c, affine=False))
    return layer


class MixedOp(nn.Module):
    """sum_k softmax(alpha)_k * op_k(x), one module per candidate (the launch-bound reference)."""

    def __init__(self, candidates: Sequence[Candidate], dim: int, c: int, stride: int):
        super().__init__()
        self.ops = nn.ModuleList(search_op(cand, dim, c, stride) for cand in candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.ops, strict=True))


class SearchCell(nn.Module):
    def __init__(self, dim: int, candidates: Sequence[Sequence[Candidate]], c_pp: int, c_p: int, c: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.pre0 = (FactorizedReduce(dim, c_pp, c, affine=False) if reduction_prev
                     else act_conv_bn(dim, c_pp, c, 1, "relu", affine=False))
        self.pre1 = act_conv_bn(dim, c_p, c, 1, "relu", affine=False)
        self.nodes = len(candidates)
        self.edges = nn.ModuleList()
        for j, cands in enumerate(candidates):
            for i in range(j + 2):
                self.edges.append(MixedOp(cands, dim, c, stride=2 if reduction and i < 2 else 1))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        offset = 0
        for j in range(self.nodes):
            states.append(sum(self.edges[offset + i](h, weights[j][i]) for i, h in enumerate(states)))
            offset += j + 2
        return torch.cat(states[2:], dim=1)


class SuperNetwork(nn.Module):
    """Stem, ``cells`` search cells (reductions as in the discrete network), classifier; alphas apart."""

    def __init__(self, in_shape: tuple[int, ...], n_classes: int, candidates: Sequence[Sequence[Candidate]],
                 cells: int, channels: int, stem_multiplier: int = 3):
        super().__init__()
        dim = len(in_shape) - 1
        self.candidates = [list(c) for c in candidates]
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(conv(dim, in_shape[0], c_stem, 3), batchnorm(dim, c_stem))
        slots, c_p = cell_plan(cells, channels, c_stem, len(self.candidates))
        self.cells = nn.ModuleList(
            SearchCell(dim, self.candidates, s.c_pp, s.c_p, s.c, s.reduction, s.reduction_prev) for s in slots
        )
        self.pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, n_classes)
        self.has_reduction = any(s.reduction for s in slots)
        self.alphas_normal = nn.ParameterList(
            nn.Parameter(1e-3 * torch.randn(j + 2, len(cands))) for j, cands in enumerate(self.candidates)
        )
        self.alphas_reduce = nn.ParameterList(
            nn.Parameter(1e-3 * torch.randn(j + 2, len(cands))) for j, cands in enumerate(self.candidates)
        )

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas_normal) + (list(self.alphas_reduce) if self.has_reduction else [])

    def weights(self) -> Iterator[nn.Parameter]:
        arch = {id(p) for p in list(self.alphas_normal) + list(self.alphas_reduce)}
        return (p for p in self.parameters() if id(p) not in arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normal = [F.softmax(a, dim=-1) for a in self.alphas_normal]
        reduce = [F.softmax(a, dim=-1) for a in self.alphas_reduce] if self.has_reduction else normal
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(self.pool(s1).flatten(1))

    def candidates_per_edge(self) -> list[int]:
        return [len(c) for c in self.candidates]

    def genotype(self) -> Genotype:
        normal = derive_cell(self.alphas_normal, self.candidates)
        reduce = derive_cell(self.alphas_reduce, self.candidates) if self.has_reduction else None
        return Genotype(normal, reduce)


def derive_cell(alphas: Sequence[torch.Tensor], candidates: Sequence[Sequence[Candidate]],
                keep: int = 2) -> tuple[tuple[Edge, ...], ...]:
    """DARTS derivation: per node the ``keep`` inputs whose best non-'none' candidate weighs most,
    each with that candidate. A node whose only candidate is 'none' keeps 'none' edges.

    The softmax and the masking run where the alphas are (a mask must be made on their device: a CPU
    mask next to CUDA alphas is a device mismatch); the per-input strengths and best candidates of the
    whole cell then reach the host in one transfer (``device.host_values``), and the choice is made there."""
    parts = []
    for alpha, cands in zip(alphas, candidates, strict=True):
        weights = F.softmax(alpha.detach().float(), dim=-1)
        usable = [c[0] != "none" for c in cands]
        if not any(usable):
            usable = [True] * len(cands)
        mask = torch.tensor(usable, device=weights.device)
        strength, best = torch.where(mask, weights, torch.full_like(weights, -1.0)).max(dim=-1)
        parts.append(torch.stack([strength, best.to(strength.dtype)]))  # best < 2**24: exact in float32
    values = device.host_values(torch.cat(parts, dim=1))
    cell, offset = [], 0
    for alpha, cands in zip(alphas, candidates, strict=True):
        n = alpha.shape[0]  # node j's inputs: j + 2
        strength, best = values[0][offset:offset + n], [int(b) for b in values[1][offset:offset + n]]
        offset += n
        inputs = sorted(sorted(range(n), key=lambda i: -strength[i])[:keep])  # ties: by input, as a stable argsort
        cell.append(tuple(Edge(i, cands[best[i]][0], max(int(cands[best[i]][1]), 1),
                               cands[best[i]][2] if cands[best[i]][2] != "-" else "relu") for i in inputs))
    return tuple(cell)

