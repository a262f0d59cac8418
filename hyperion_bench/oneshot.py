"""The inner, one-shot half of a trial: which candidates a config hands to DARTS, and the search itself.

Why here and not in a method: fairness. A config of the joint space fully determines what a trial
does, whichever method proposed it. A fusion parameter (op, kernel, activation) reaches a cell node in
one of two ways:

- **outer**: the config sets it per node, ``op@j`` (and, when the outer loop sets ``n_m > 1`` values per
  node, also ``op@j.1``, ``op@j.2``, ...); a single value per node means nothing to search;
- **inner**: the config carries ``inner@op = "avg_pool|dil_conv"``, the sub-search-space (a multi-hot
  subset of the suite's choices) that the supernet offers on every edge.

A node's candidates are the product of its values of every fusion parameter (equivalent ones merged,
e.g. a skip is a skip whatever its kernel). A trial **searches** when its config hands anything inside
(any ``inner@`` key, even a one-value subset: DARTS still picks each node's two inputs among all
earlier states, Algorithm 1) or gives some node several values of a parameter (``n_m > 1``): then a
supernet with exactly those candidates is searched with DARTS, whose derivation picks the edges and
ops, and the derived network is trained by ``evaluate`` like any other (Hyperion, Algorithm 1;
standalone DARTS hands everything to the inner loop). Otherwise the network is built directly and
``edges@j`` must pick each node's inputs. Which it is depends on the config's keys alone
(:func:`searches`), so the method that wrote the config and the trial that runs it agree.
``inner_optimizer = "hyperdarts"`` in the config runs hyperDARTS on that supernet instead
(``nn/hyperdarts.py``); without the key the inner loop is DARTS.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from typing import Any

import torch

from hyperion_bench.errors import UserError
from hyperion_bench.nn.builder import CellSpec
from hyperion_bench.nn.darts import DartsSettings, search
from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.supernet import Candidate, SuperNetwork, dedupe
from hyperion_bench.registry import INNER_OPTIMIZERS
from hyperion_bench.space import NODE_SEP
from hyperion_bench.suites import Suite

INNER_PREFIX = "inner@"
INNER_OPTIMIZER = "inner_optimizer"  # config key: which one-shot optimiser searches (registry.INNER_OPTIMIZERS)
SUBSET_SEP = "|"
CELL_FUSION = ("op", "kernel", "activation")  # the fusion parameters that form a candidate operation


@dataclass(frozen=True)
class InnerSearch:
    """The one-shot search a config asks for (decoded by :func:`hyperion_bench.plan.decode`): the reduced
    supernet's candidates per cell node and the optimiser that trains its weights and alphas (DARTS or
    hyperDARTS) with its settings."""

    optimizer: str  # registry.INNER_OPTIMIZERS
    candidates: tuple[tuple[Candidate, ...], ...]  # per cell node
    settings: DartsSettings
    hypernet: str  # hyperDARTS only: "mlp" or "linear"
    hidden: int  # hyperDARTS only: the mlp's hidden width (0 = half its input)
    fast: bool  # the grouped supernet (nn/supernet_fast.py) instead of the reference
    compile: str  # "" or a torch.compile mode
    search_fraction: float  # at most this share of the remaining wall-clock budget
    size_weight: float  # the weighted sum's n_params weight: the expected-size penalty's (0 = none)


def encode_subset(values: list[Any]) -> str:
    """A multi-hot subset as it travels in a config (and lands in trials.csv): 'avg_pool|dil_conv'."""
    assert values, "a sub-search-space is never empty"
    return SUBSET_SEP.join(str(v) for v in values)


def full_inner_config(space: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """Pipeline and macro parameters at the default point; every cell fusion parameter handed to the
    inner loop with all its choices."""
    point = space.default_point(defaults)
    config = {k: v for k, v in point.items() if NODE_SEP not in k}
    for p in space.params:
        if p.role == "fusion" and p.name in CELL_FUSION:
            config[f"{INNER_PREFIX}{p.name}"] = encode_subset(list(p.choices))
    return config


def decode_subset(suite: Suite, base: str, text: str) -> list[Any]:
    """The inverse of :func:`encode_subset`, typed like the suite's choices (kernels are ints)."""
    param = next((p for p in suite.space.params if p.name == base), None)
    assert param is not None and param.kind == "choice", f"inner@{base}: not a searched choice parameter"
    by_text = {str(c): c for c in param.choices}
    values = [by_text[t] for t in str(text).split(SUBSET_SEP)]
    assert values, f"inner@{base} is empty"
    return values


def inner_bases(config: dict[str, Any]) -> list[str]:
    return [k[len(INNER_PREFIX):] for k in config if k.startswith(INNER_PREFIX)]


def node_values(suite: Suite, config: dict[str, Any], base: str, node: int) -> list[Any]:
    """The values of fusion parameter ``base`` offered at cell node ``node`` (inner subset or outer values)."""
    key = f"{INNER_PREFIX}{base}"
    if key in config:
        return decode_subset(suite, base, config[key])
    values = [suite.node_setting(config, base, node)]
    extra = 1
    while f"{base}@{node}.{extra}" in config:  # the outer loop's n_m > 1 values per node
        values.append(config[f"{base}@{node}.{extra}"])
        extra += 1
    return list(dict.fromkeys(values))


def node_candidates(suite: Suite, config: dict[str, Any]) -> list[list[Candidate]]:
    """Per cell node, the candidate operations (op, kernel, activation) of the supernet this config asks for."""
    out = []
    for j in range(suite.network["nodes"]):
        values = [node_values(suite, config, b, j) for b in CELL_FUSION]
        out.append(dedupe([(op, int(k), act) for op, k, act in itertools.product(*values)]))
    return out


def searches(config: dict[str, Any]) -> bool:
    """Whether a cell config runs the inner loop: it hands a parameter inside (``inner@<param>``, whatever
    the subset's size), or sets some node's parameter to several different values (``<param>@j.k``).

    Why keys, not candidate counts: on 37ca364 a one-value subset (``inner@op = "dil_conv"``) left one
    candidate per node, so nothing was searched and the network was built from defaults. A scheduler
    (Hyperion) calls this on the config it writes to decide whether the config also needs ``edges@j``
    and the inner optimiser; the trial calls it through :func:`needs_search`: one rule for both."""
    if any(k.startswith(INNER_PREFIX) for k in config):
        return True
    for key, value in config.items():
        base, sep, extra = key.rpartition(".")
        if sep and extra.isdigit() and NODE_SEP in base and base in config and config[base] != value:
            return True
    return False


def needs_search(suite: Suite, config: dict[str, Any]) -> bool:
    """True when a cell suite's trial runs the inner one-shot loop (see :func:`searches`)."""
    return suite.family == "cell" and searches(config)


def inner_optimizer(config: dict[str, Any]) -> str:
    """The config's one-shot optimiser; a config without the key (DARTS' own, Hyperion's default) means DARTS."""
    name = str(config.get(INNER_OPTIMIZER, "darts"))
    if name not in INNER_OPTIMIZERS:
        raise UserError(f"config {INNER_OPTIMIZER}={name!r}: must be one of {', '.join(INNER_OPTIMIZERS)}")
    return name


def darts_settings(loop: dict[str, Any], hyper: dict[str, Any], optimizer: str = "darts") -> DartsSettings:
    """The search's optimiser settings: DARTS' ``loop`` (:class:`~hyperion_bench.method_settings.OneShotSettings`
    as a dict); for hyperDARTS its own learning rates (``hyper``) and first order (the hypernetwork makes the
    architecture gradient exact: nothing to unroll)."""
    s = DartsSettings(epochs=loop["epochs"], batch_size=loop["batch_size"], order=loop["order"], w_lr=loop["w_lr"],
                      w_lr_min=loop["w_lr_min"], w_momentum=loop["w_momentum"],
                      w_weight_decay=loop["w_weight_decay"], grad_clip=loop["grad_clip"], a_lr=loop["a_lr"],
                      a_weight_decay=loop["a_weight_decay"])
    if optimizer == "hyperdarts":
        s = dataclasses.replace(s, order=1, w_lr=hyper["w_lr"], w_lr_min=hyper["w_lr_min"], a_lr=hyper["a_lr"])
    return s


def reduced_supernet(inner: InnerSearch, cell: CellSpec, in_shape: tuple[int, ...], n_classes: int,
                     compile: bool = True) -> SuperNetwork:
    """The reduced supernet: the plan's stem and cell stack with ``inner.candidates`` on every edge of node
    j (compiled per ``inner.compile`` unless ``compile`` is False)."""
    from hyperion_bench.nn.supernet_fast import make_supernet  # the one reference/fast switch

    return make_supernet(in_shape, n_classes, inner.candidates, cells=cell.cells, channels=cell.channels,
                         stem_multiplier=cell.stem_multiplier, fast=inner.fast,
                         compile_mode=(inner.compile or None) if compile else None)


def expected_size_penalty(net: SuperNetwork, weight: float) -> Any:
    """``weight`` x the expected parameter count of the cells' kept edges under softmax(alpha).

    Why: the suite's weighted sum (e.g. ``val_error + 1e-5 * n_params``) is the objective of both loops
    (Hyperion paper, Sec. 3.4); the inner loop's differentiable stand-in for n_params is the expected
    size of each mixed edge, scaled by the share of a node's inputs that derivation keeps (2 of j + 2).
    """
    # Built once, on the alphas' device (a per-call .to(device) is a blocking host-to-device copy per
    # table and step); the penalty is linear in each cell's sizes, so the cells that share a set of
    # alphas share one table (their sum, scaled by ``keep``): a few kernels per step whatever the depth.
    device = net.alphas_normal[0].device
    tables: dict[bool, list[list[list[float]]]] = {}
    for cell in net.cells:
        shared = bool(cell.reduction and net.has_reduction)  # without reduction alphas, all use the normal ones
        per_node = tables.setdefault(shared, [])
        offset = 0
        for j in range(cell.nodes):
            keep = min(2, j + 2) / (j + 2)
            rows = [[keep * sum(p.numel() for p in op.parameters()) for op in cell.edges[offset + i].ops]
                    for i in range(j + 2)]
            offset += j + 2
            if len(per_node) <= j:
                per_node.append(rows)
            else:
                per_node[j] = [[a + b for a, b in zip(r0, r1, strict=True)]
                               for r0, r1 in zip(per_node[j], rows, strict=True)]
    sizes = {shared: [torch.tensor(t, dtype=torch.float32, device=device) for t in per_node]
             for shared, per_node in tables.items()}

    def penalty() -> torch.Tensor:
        total = torch.zeros((), device=device)
        for shared, per_node in sizes.items():
            alphas = net.alphas_reduce if shared else net.alphas_normal
            for a, n in zip(alphas, per_node, strict=True):
                total = total + (torch.softmax(a, dim=-1) * n).sum()
        return weight * total

    return penalty


def run_search(inner: InnerSearch, cell: CellSpec, x: torch.Tensor, y: torch.Tensor, n_classes: int,
               seed: int, deadline: float | None) -> tuple[Genotype, dict[str, Any]]:
    """Build the reduced supernet, run the plan's one-shot optimiser (DARTS, or hyperDARTS) on (x, y)
    (already on the device), derive the genotype.

    Returns the genotype and what a trial records about its search: the optimiser, candidates per edge,
    the trained parameter count (hyperDARTS: its hypernetwork's), search time, epochs, final search loss,
    the peak tensor memory of one search step (``search_peak_tensor_mb``, any device) and the search's
    peak GPU memory.
    """
    if x.device.type == "cuda":  # the search's own peak: supernet, optimiser state and activations
        torch.cuda.synchronize(x.device)
        base = torch.cuda.memory_allocated(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
    net = reduced_supernet(inner, cell, tuple(x.shape[1:]), n_classes, compile=False).to(x.device)
    settings = inner.settings
    weight = inner.size_weight
    penalty = expected_size_penalty(net, weight) if weight else None  # sizes counted before hyperDARTS takes them
    if inner.optimizer == "hyperdarts":  # its heads (on the supernet's device) generate the cell weights
        from hyperion_bench.nn.hyperdarts import HyperSuperNetwork

        net = HyperSuperNetwork(net, inner.hypernet, inner.hidden or None)
    if inner.compile:  # the whole module the search drives (hyperDARTS: heads and supernet as one)
        torch._dynamo.reset()  # every search compiles from the same state, whatever ran before in this worker
        net = torch.compile(net, mode=inner.compile)
    if deadline is not None:  # at most search_fraction of what is left of the (method, seed) budget
        deadline = time.time() + inner.search_fraction * max(deadline - time.time(), 0.0)
    # one step's peak tensor memory on any device (memory.py); a compiled module is not tracked (dynamo)
    info = search(net, x, y, settings, seed=seed, deadline=deadline, alpha_penalty=penalty,
                  track_memory=not inner.compile)
    per_edge = net.candidates_per_edge()
    info.update(
        inner_optimizer=inner.optimizer,
        candidates_per_edge=" ".join(str(c) for c in per_edge),
        max_candidates_per_edge=max(per_edge),
        supernet_n_params=sum(p.numel() for p in net.weights()),
        search_order=settings.order,
        search_peak_gpu_mem_mb=(torch.cuda.max_memory_allocated(x.device) - base) / 2**20
        if x.device.type == "cuda" else 0.0,
    )
    genotype = net.genotype()
    if inner.compile:  # free its compiled graphs and CUDA-graph pools before the derived network trains
        del net
        torch._dynamo.reset()
    return genotype, info
