"""hyperDARTS: a supernet whose cell weights a hypernetwork generates from the alphas (Mah Yuen Yee,
Monash final-year report 2023; seeds/hyperdarts-report.md, Sec. 4.4-4.8).

Why written here: the seed defines it and no library has it. Its point is the architecture gradient:
with the cell weights a function of the alphas, w = w_phi(alpha), the validation loss depends on alpha
through the mixing softmax *and* through the weights, and plain backprop gives that whole (response)
gradient (eq. 21-22), so there is no unrolled step and no Hessian-vector product. The search loop is
DARTS' first-order step unchanged (Algorithm 2: alphas by Adam on a validation batch, then the
hypernetwork weights phi by SGD on a training batch; the report's code runs the two updates the other
way round, we follow the algorithm as printed); :class:`HyperSuperNetwork` only changes what "the
weights" are.

Layout, as the report's reference code builds it (MYY99/Projects, ``ops.HyperConv2d``):

* every weight tensor of a candidate operation inside a cell (depthwise, pointwise and dense convs,
  the stride-2 skip's FactorizedReduce convs) has its own head, fed the raw alphas of its cell type
  flattened (normal cells one input vector, reduction cells another; 14 edges x 8 ops = 112 values in
  the classic space). All normal cells share their alphas but not their heads, so each cell still gets
  its own weights (report, Fig. 24);
* ``hypernet="linear"``: each head is ``Linear(A, numel)`` (hyperDARTS-1); ``"mlp"``: ``Linear(A, hidden)
  -> sigmoid -> Linear(hidden, numel)`` with ``hidden = A // 2`` unless given (hyperDARTS-2);
* stem, cell preprocessing and classifier are ordinary parameters (the report's "method 1");
* heads start as ``nn.Linear`` does (uniform in +-1/sqrt(fan_in), weight and bias).

A linear head per tensor is the same function as one linear hypernetwork per cell type whose output is
cut into tensors; with a hidden layer the heads' hidden units are their own, as in the reference code.

Speed: the heads of one cell type whose tensors have the same number of elements are one batched
matmul (``HeadGroup``), a few kernels per distinct tensor size instead of one small MLP per tensor.
The generated tensors reach the supernet through ``torch.func.functional_call``, so the reference and
the fast supernet (``supernet_fast.py``, which reads weights at forward time) both run unchanged.

Size: the heads hold (A + 1) (linear) or (hidden + 1) parameters per generated weight, plus
hidden x (A + 1) per tensor: the classic 8-cell CIFAR supernet's 1.83 M cell weights become about
207 M (linear) or 113 M (hidden 56) hypernetwork parameters, which is why the report lowered the batch
for hyperDARTS-1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn
from torch.func import functional_call

from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.supernet import SuperNetwork

HYPERNETS = ("mlp", "linear")  # hyperDARTS-2, hyperDARTS-1


def _uniform(shape: tuple[int, ...], fan_in: int, like: torch.Tensor) -> nn.Parameter:
    """Made where ``like`` is, with its dtype: the heads are large (about 113 M parameters on the classic
    CIFAR supernet), so they are initialised on the device rather than copied there."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape, device=like.device, dtype=like.dtype).uniform_(-bound, bound))


class HeadGroup(nn.Module):
    """``n`` heads with the same output size ``numel``, all fed the same input vector of size ``n_in``.

    Head i is ``w2[i] @ a + b2[i]`` (linear) or ``w2[i] @ sigmoid(w1[i] @ a + b1[i]) + b2[i]``."""

    def __init__(self, n: int, numel: int, n_in: int, hidden: int, like: torch.Tensor):
        super().__init__()
        self.hidden = hidden
        if hidden:
            self.w1, self.b1 = _uniform((n, hidden, n_in), n_in, like), _uniform((n, hidden), n_in, like)
        fan_in = hidden or n_in
        self.w2, self.b2 = _uniform((n, numel, fan_in), fan_in, like), _uniform((n, numel), fan_in, like)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """(n, numel): every head's output for the input vector ``a``."""
        if not self.hidden:
            return torch.addmv(self.b2.flatten(), self.w2.flatten(0, 1), a).view_as(self.b2)
        h = torch.sigmoid(torch.addmv(self.b1.flatten(), self.w1.flatten(0, 1), a).view_as(self.b1))  # (n, hidden)
        return torch.baddbmm(self.b2.unsqueeze(2), self.w2, h.unsqueeze(2)).squeeze(2)


class HyperSuperNetwork(nn.Module):
    """``net`` (a reference or fast :class:`SuperNetwork`) with its cell weights generated from its alphas.

    The generated tensors leave ``net``'s parameters (they stay as non-persistent buffers holding their
    initial values, so ``net`` keeps its shapes); ``weights()`` are phi: the heads plus stem, cell
    preprocessing and classifier. ``arch_parameters()``, ``genotype()`` and ``candidates_per_edge()`` are
    ``net``'s, so DARTS' ``search`` and ``search_step`` (first order) drive it as they drive a supernet.
    """

    def __init__(self, net: SuperNetwork, hypernet: str = "mlp", hidden: int | None = None):
        super().__init__()
        if hypernet not in HYPERNETS:
            raise ValueError(f"hypernet must be one of {HYPERNETS}, got {hypernet!r}")
        self.net = net
        n_in = {False: sum(a.numel() for a in net.alphas_normal),
                True: sum(a.numel() for a in (net.alphas_reduce if net.has_reduction else net.alphas_normal))}
        by_size: dict[tuple[bool, int], list[tuple[str, torch.Size]]] = {}
        for name, p in list(net.named_parameters()):
            parts = name.split(".")
            if parts[0] != "cells" or parts[2] != "edges":  # stem, preprocessing, classifier, alphas
                continue
            reduction = bool(net.cells[int(parts[1])].reduction)
            by_size.setdefault((reduction, p.numel()), []).append((name, p.shape))
            owner = net.get_submodule(".".join(parts[:-1]))
            del owner._parameters[parts[-1]]
            owner.register_buffer(parts[-1], p.detach(), persistent=False)
        width = 0 if hypernet == "linear" else (hidden if hidden is not None else max(min(n_in.values()) // 2, 1))
        if hypernet == "mlp" and width < 1:
            raise ValueError(f"an mlp hypernetwork needs hidden >= 1, got {hidden}")
        self.hypernet, self.hidden = hypernet, width
        self.heads = nn.ModuleDict()
        self._plan: list[tuple[str, bool, list[str], list[torch.Size]]] = []
        for (reduction, numel), members in sorted(by_size.items()):
            key = f"{'reduce' if reduction else 'normal'}_{numel}"
            self.heads[key] = HeadGroup(len(members), numel, n_in[reduction], width, net.alphas_normal[0])
            self._plan.append((key, reduction, [m[0] for m in members], [m[1] for m in members]))

    # -- what DARTS' loop needs -------------------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        return self.net.arch_parameters()

    def weights(self) -> Iterator[nn.Parameter]:
        arch = {id(p) for p in self.net.parameters()} - {id(p) for p in self.net.weights()}  # both alpha sets
        return (p for p in self.parameters() if id(p) not in arch)

    def genotype(self) -> Genotype:
        return self.net.genotype()

    def candidates_per_edge(self) -> list[int]:
        return self.net.candidates_per_edge()

    # -- the hypernetwork ---------------------------------------------------------------------------
    def generated_weights(self) -> dict[str, torch.Tensor]:
        """Every cell weight of ``net`` (by parameter name) as a function of the current alphas."""
        net = self.net
        inputs = {False: torch.cat([a.flatten() for a in net.alphas_normal])}
        if net.has_reduction:
            inputs[True] = torch.cat([a.flatten() for a in net.alphas_reduce])
        else:
            inputs[True] = inputs[False]
        out = {}
        for key, reduction, names, shapes in self._plan:
            rows = self.heads[key](inputs[reduction]).unbind(0)
            out.update((name, row.view(shape)) for name, shape, row in zip(names, shapes, rows, strict=True))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.net, self.generated_weights(), (x,))
