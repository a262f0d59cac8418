"""The DARTS supernet, fast path: the same parameters as ``SuperNetwork``, another execution plan.

Why it exists: the reference (``supernet.py``) runs one small module per (edge, candidate), hundreds
of tiny kernels per cell, so on a GPU the search step waits on Python and kernel launches
(REFERENCES.md: 933 ms per first-order step on an H100). ``FastSuperNetwork`` keeps every parameter,
alpha and state_dict key of the reference and only changes how a training-mode forward is computed:

* per SOURCE state, all outgoing edges are computed together (a state feeds every later node);
* parameter-free candidates (max/avg pool followed by a non-affine BatchNorm in train mode, skip)
  give the same output on every edge that leaves a source: computed once, reused for all targets;
* a parametric candidate (op, kernel, activation) is ONE batched call over all the edges that leave
  a source with it: the per-edge weights are concatenated at forward time (a dense conv C -> E*C,
  a depthwise conv with channel multiplier E, a pointwise conv with groups=E, one BatchNorm over E*C
  channels), so the ops still see each edge's own weights;
* an activation of a source is computed once per kind, not once per candidate;
* the mixed outputs of all edges leaving a source are one tensor (B, E, C, ...) built by a few
  fused multiply-adds, split per target by one ``unbind``; a node sums its parts.

Weights are read through the module attributes at forward time (nothing is cached), so
``torch.func.functional_call(net, params, (x,))`` (DARTS' second-order step) sees substituted
weights. The grouping plan is built once in ``__init__``; its gather indices are non-persistent
buffers, so ``state_dict()`` is the reference's.

Not exact on purpose: the candidate ops' non-affine search-time BatchNorms normalise with batch
statistics exactly as the reference does in train mode, but their *running* statistics are not
updated (the DARTS search never evaluates the supernet in eval mode, and updating E modules' buffers
per group would cost launches for no use). Stem, preprocessing and classifier are the reference
modules and update theirs. In eval mode the forward is the reference's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hyperion_bench.nn.ops import FactorizedReduce, SamePad
from hyperion_bench.nn.supernet import Candidate, SearchCell, SuperNetwork

_CONV_FN = {1: F.conv1d, 2: F.conv2d}
SHARED = {"max_pool", "avg_pool", "skip"}  # parameter-free (skip only at stride 1)


def group_key(candidate: Candidate, stride: int) -> tuple:
    """Candidates with the same key compute the same function up to their weights (see ``search_op``)."""
    op, k, act = candidate
    if op == "skip":
        return ("skip", stride)
    if op in ("max_pool", "avg_pool"):
        return (op, max(int(k), 1), stride)
    return (op, max(int(k), 1), act if act != "-" else "relu", stride)


@dataclass
class _Group:
    """One candidate on all edges that leave a source with it."""

    key: tuple
    shared: bool                      # parameter-free: one output for every target
    targets: list[int]                # positions in the source's target list
    edges: list[tuple[int, int]] = field(default_factory=list)  # (edge index, candidate index) per target


@dataclass
class _SourcePlan:
    source: int
    nodes: list[int]                  # target nodes, in order; position e = nodes.index(j)
    groups: list[_Group]


def _plan_cell(candidates: Sequence[Sequence[Candidate]], reduction: bool) -> list[_SourcePlan]:
    n = len(candidates)
    offsets = [sum(j + 2 for j in range(jj)) for jj in range(n)]
    plans = []
    for i in range(n + 1):  # the last node is no source
        stride = 2 if reduction and i < 2 else 1
        nodes = [j for j in range(n) if i < j + 2]
        groups: dict[tuple, _Group] = {}
        for e, j in enumerate(nodes):
            seen: dict[tuple, int] = {}
            for k, cand in enumerate(candidates[j]):
                if cand[0] == "none":
                    continue  # contributes 0 * x: nothing to add, and no gradient to its alpha but softmax's
                base = group_key(cand, stride)
                occurrence = seen.get(base, 0)  # a duplicate candidate in one list is another group
                seen[base] = occurrence + 1
                key = (*base, occurrence)
                shared = cand[0] in ("max_pool", "avg_pool") or (cand[0] == "skip" and stride == 1)
                g = groups.setdefault(key, _Group(key, shared, []))
                g.targets.append(e)
                g.edges.append((offsets[j] + i, k))
        plans.append(_SourcePlan(i, nodes, list(groups.values())))
    return plans


def _weight_index(plans: list[_SourcePlan], candidates: Sequence[Sequence[Candidate]]) -> torch.Tensor:
    """Index into the flat vector of softmaxed alphas (plus a trailing 0), laid out source after source:
    for source p, a (groups, E) block with E = len(p.nodes), so ``split`` + ``view`` give each source its
    table without slicing (a slice's backward allocates and copies a zero tensor per slice).

    A shared group's slot e is target e (0 where that target lacks the candidate); a parametric
    group's slot m is its m-th member (its output's m-th block)."""
    n = len(candidates)
    flat_offsets, total = [], 0
    for j in range(n):
        flat_offsets.append(total)
        total += (j + 2) * len(candidates[j])
    index = []
    for p in plans:
        for g in p.groups:
            row = [total] * len(p.nodes)  # index of the trailing zero
            for m, (e, (_, k)) in enumerate(zip(g.targets, g.edges, strict=True)):
                j = p.nodes[e]
                row[e if g.shared else m] = flat_offsets[j] + p.source * len(candidates[j]) + k
            index += row
    return torch.tensor(index, dtype=torch.long)


def _cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """torch.cat without the copy of a single tensor (a candidate on one edge only)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


def _conv_parts(m: nn.Module) -> tuple[tuple[int, ...] | None, nn.Module]:
    """``ops.conv`` returns a conv, or (SamePad, conv) for asymmetric padding."""
    if isinstance(m, nn.Sequential):
        assert isinstance(m[0], SamePad), m
        return m[0].pad, m[1]
    return None, m


class FastSuperNetwork(SuperNetwork):
    """``SuperNetwork`` with a batched training-mode forward; same constructor, parameters and alphas."""

    def __init__(self, in_shape: tuple[int, ...], n_classes: int, candidates: Sequence[Sequence[Candidate]],
                 cells: int, channels: int, stem_multiplier: int = 3):
        super().__init__(in_shape, n_classes, candidates, cells, channels, stem_multiplier)
        self.dim = len(in_shape) - 1
        self._plans: dict[bool, list[_SourcePlan]] = {}
        for reduction in sorted({c.reduction for c in self.cells}):
            plans = _plan_cell(self.candidates, reduction)
            self._plans[reduction] = plans
            self.register_buffer(f"_windex_{int(reduction)}", _weight_index(plans, self.candidates),
                                 persistent=False)

    # -- weights --------------------------------------------------------------------------------
    def _table(self, alphas: Sequence[torch.Tensor], reduction: bool) -> list[tuple[torch.Tensor, ...]]:
        """Per source, one weight row per group (see ``_weight_index``)."""
        flat = torch.cat([F.softmax(a, dim=-1).flatten() for a in alphas] + [alphas[0].new_zeros(1)])
        plans = self._plans[reduction]
        blocks = flat[getattr(self, f"_windex_{int(reduction)}")].split([len(p.groups) * len(p.nodes) for p in plans])
        return [b.view(len(p.groups), len(p.nodes)).unbind(0) for b, p in zip(blocks, plans, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        tables = {}
        for reduction in self._plans:
            alphas = self.alphas_reduce if reduction and self.has_reduction else self.alphas_normal
            tables[reduction] = self._table(alphas, reduction)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, self._cell(cell, s0, s1, tables[cell.reduction])
        return self.classifier(self.pool(s1).flatten(1))

    # -- one cell -------------------------------------------------------------------------------
    def _cell(self, cell: SearchCell, s0: torch.Tensor, s1: torch.Tensor,
              table: list[tuple[torch.Tensor, ...]]) -> torch.Tensor:
        states = [cell.pre0(s0), cell.pre1(s1)]
        mixed: list[list[torch.Tensor | None]] = []  # per source, its mixed output per target
        plans = self._plans[cell.reduction]
        for j in range(cell.nodes):
            while len(mixed) < j + 2:  # sources 0 .. j+1 are ready
                p = plans[len(mixed)]
                mixed.append(self._source(cell, p, states[p.source], table[p.source]))
            node = None
            for i in range(j + 2):
                part = mixed[i][plans[i].nodes.index(j)]
                if part is not None:
                    node = part if node is None else node + part
            if node is None:  # every candidate of node j is 'none'
                node = self._zeros_like_node(states, cell.reduction)
            states.append(node)
        return torch.cat(states[2:], dim=1)

    def _zeros_like_node(self, states: list[torch.Tensor], reduction: bool) -> torch.Tensor:
        x = states[0]
        if reduction:
            x = x[(..., *([slice(None, None, 2)] * self.dim))]
        return x.mul(0.0)

    def _source(self, cell: SearchCell, p: _SourcePlan, x: torch.Tensor, w: tuple[torch.Tensor, ...]
                ) -> list[torch.Tensor | None]:
        """All edges leaving one state, weighted: per target node, its mixed input from this state.

        The candidates every target offers (or that need no weights) accumulate in one (B, E, C, ...)
        tensor, E = len(p.nodes), which is split once by ``unbind`` (its backward is one ``stack``; a
        slice per target would allocate and copy a zero tensor of the full size per target). The
        candidates only some targets offer are summed per target and added afterwards (scattering them
        into the big tensor would copy it once per candidate)."""
        acts: dict[str, torch.Tensor] = {}
        total = None
        extra: dict[int, torch.Tensor] = {}
        expand = (1, -1) + (1,) * (x.dim() - 1)  # w row -> broadcast over (B, E, C, ...)
        for g, grp in zip(w, p.groups, strict=True):
            ops = [cell.edges[e].ops[k] for e, k in grp.edges]
            if grp.shared:
                y = self._shared(grp, ops[0], x).unsqueeze(1)
                g = g.view(expand)
            else:
                y = self._parametric(grp, ops, x, acts)
                if len(grp.targets) != len(p.nodes):  # a candidate only some target nodes offer
                    for m, e in enumerate(grp.targets):
                        extra[e] = y[:, m] * g[m] if e not in extra else torch.addcmul(extra[e], y[:, m], g[m])
                    continue
                g = g.view(expand)  # every target offers it: y has E blocks
            total = y * g if total is None else torch.addcmul(total, y, g)
        parts: list[torch.Tensor | None] = [None] * len(p.nodes) if total is None else list(total.unbind(1))
        for e, t in extra.items():
            parts[e] = t if parts[e] is None else parts[e] + t
        return parts

    @staticmethod
    def _bn(y: torch.Tensor, ref: nn.Module) -> torch.Tensor:
        # batch statistics, as the reference in train mode; running statistics are not kept (module docstring)
        return F.batch_norm(y, None, None, None, None, True, 0.0, ref.eps)

    def _shared(self, grp: _Group, op: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if grp.key[0] == "skip":
            return x
        pool, bn = op[0], op[1]  # search_op: Sequential(pool, non-affine BN)
        return self._bn(pool(x), bn)

    def _act(self, acts: dict[str, torch.Tensor], name: str, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if name not in acts:
            acts[name] = module(x)
        return acts[name]

    def _parametric(self, grp: _Group, ops: list[nn.Module], x: torch.Tensor,
                    acts: dict[str, torch.Tensor]) -> torch.Tensor:
        op = grp.key[0]
        e = len(ops)
        if op == "skip":  # stride-2 skip: FactorizedReduce
            return self._factorized_reduce(ops, self._act(acts, "relu", ops[0].act, x))
        act = grp.key[2]
        xa = self._act(acts, act, ops[0][0], x)
        if op == "conv":  # act -> conv -> BN
            pad, c0 = _conv_parts(ops[0][1])
            weight = _cat([_conv_parts(m[1])[1].weight for m in ops])
            y = self._conv(xa, pad, c0, weight, groups=1)
            return self._bn(y, ops[0][2]).unflatten(1, (e, -1))
        # dil_conv: act -> dw -> pw -> BN; sep_conv: the same, then act -> dw -> pw -> BN
        y = self._dw_pw(xa, [m[1] for m in ops], [m[2] for m in ops], multiplier=True)
        y = self._bn(y, ops[0][3])
        if op == "sep_conv":
            y = ops[0][4](y)
            y = self._dw_pw(y, [m[5] for m in ops], [m[6] for m in ops], multiplier=False)
            y = self._bn(y, ops[0][7])
        return y.unflatten(1, (e, -1))

    def _conv(self, x: torch.Tensor, pad: tuple[int, ...] | None, conv: nn.Module, weight: torch.Tensor,
              groups: int) -> torch.Tensor:
        if pad is not None:
            x = F.pad(x, pad)
        return _CONV_FN[self.dim](x, weight, None, conv.stride, conv.padding, conv.dilation, groups)

    def _dw_pw(self, x: torch.Tensor, dws: list[nn.Module], pws: list[nn.Module], multiplier: bool) -> torch.Tensor:
        """Depthwise then pointwise conv for E edges at once; output channels ordered (edge, channel).

        ``multiplier``: x has C channels shared by all edges, so the depthwise conv runs with channel
        multiplier E (its output is ordered (channel, edge) and is reordered); otherwise x already has
        E*C channels ordered (edge, channel) and the depthwise conv has E*C groups."""
        e = len(dws)
        pad, c0 = _conv_parts(dws[0])
        weights = [_conv_parts(m)[1].weight for m in dws]
        c = weights[0].shape[0]
        if multiplier and e > 1:
            w = torch.stack(weights, 1).flatten(0, 1)  # (C, E, 1, k...) -> out channel c * E + e
            y = self._conv(x, pad, c0, w, groups=c)
            y = y.unflatten(1, (c, e)).transpose(1, 2).flatten(1, 2)
        else:
            y = self._conv(x, pad, c0, _cat(weights), groups=c * e if not multiplier else c)
        pw = _cat([_conv_parts(m)[1].weight for m in pws])
        return _CONV_FN[self.dim](y, pw, None, 1, 0, 1, e)

    def _factorized_reduce(self, ops: list[FactorizedReduce], xa: torch.Tensor) -> torch.Tensor:
        e = len(ops)
        fn = _CONV_FN[self.dim]
        shifted = F.pad(xa, (0, 1) * self.dim)[(..., *([slice(1, None)] * self.dim))]
        y1 = fn(xa, _cat([m.conv_1.weight for m in ops]), None, 2)
        y2 = fn(shifted, _cat([m.conv_2.weight for m in ops]), None, 2)
        y = torch.stack([y1.unflatten(1, (e, -1)), y2.unflatten(1, (e, -1))], 2)  # (B, E, 2, C/2, ...)
        return self._bn(y.flatten(1, 3), ops[0].bn).unflatten(1, (e, -1))


def make_supernet(in_shape: tuple[int, ...], n_classes: int, candidates: Sequence[Sequence[Candidate]],
                  cells: int, channels: int, stem_multiplier: int = 3, fast: bool = True,
                  compile_mode: str | None = None) -> SuperNetwork:
    """The one switch between the reference and the fast path (same parameters, same alphas).

    ``compile_mode`` wraps the net in ``torch.compile(mode=...)`` (``method_settings.COMPILE_MODES``): the
    wrapper forwards attribute access (``weights()``, ``genotype()``, ...) to the net, and DARTS'
    ``functional_call`` works through it. It pays off only where the compile time (minutes on a small
    CPU) is small next to the search; ``benchmarks/darts_step.py --compile`` measures both."""
    cls = FastSuperNetwork if fast else SuperNetwork
    net = cls(in_shape, n_classes, candidates, cells, channels, stem_multiplier)
    return torch.compile(net, mode=compile_mode) if compile_mode else net  # type: ignore[return-value]
