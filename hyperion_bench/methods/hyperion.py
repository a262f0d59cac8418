"""Hyperion (fused multi-trial and one-shot optimisation, Algorithm 1 of the Hyperion paper).

Why written here: no public code exists; the paper (Sec. 3, App. B) defines it. Hyperion is the outer
loop: an optimiser (:mod:`~hyperion_bench.methods.optimizer`) whose configs carry, besides pipeline
values, a *split* of the cell-level (fusion) parameters between the outer and the inner optimiser,
per-node values for the parameters kept outside, and a *sub-search-space* (multi-hot subset) for those
handed inside. ``evaluate`` (the same for
every method, :mod:`hyperion_bench.oneshot`) builds the reduced supernet such a config describes, runs
DARTS on it (or hyperDARTS, with ``[hyperion] inner = "hyperdarts"``: such configs carry
``inner_optimizer``), derives, trains and evaluates; nothing Hyperion-specific happens inside a trial.

The learners of Algorithm 1 are separate optimisers of the chosen outer kind (random, TPE, anneal,
BlendSearch), each over its own space and with its own history H_x of (its part of the config, e_t):

- the smart splitter: ``split@<param>`` in {outer, inner} per fusion parameter;
- the pipeline optimiser: pipeline and macro parameters (every trial);
- the architecture optimiser: one learner per fusion parameter over its per-node values ``<param>@j``
  (``n_m`` values per node: ``<param>@j``, ``<param>@j.1``, ...), asked only when the split keeps that
  parameter outside; plus one for each node's inputs ``edges@j`` when nothing goes inside (then there is
  no supernet, and the outer loop fixes the whole cell: the paper's corner case);
- the smart sub-search-space sampler: one learner per fusion parameter over a multi-hot vector (one
  0/1 entry per choice), asked only when that parameter goes inside.

Per-parameter learners make the conditional structure exact for every library (a learner only ever
sees trials in which its part was used). The first ``n_init`` trials are random (drawn from one seeded
generator) and then told to every learner (``observe``); later trials are proposed by the learners.

Invalid proposals are discarded, as the paper does with invalid splits: a sub-search-space that is
empty (an all-zero multi-hot vector), or a supernet with more than ``max_candidates`` candidates per
edge (when that cap is set). The splitter and the samplers that made it are told the worst result so
far and asked again; after ``RETRIES`` discarded proposals the trial falls back to an all-outer split
(always valid). Why not repair an empty vector (switch one choice on) and learn the repaired one, as
this module did until issue 12: a per-bit TPE then learns that 0 bits come with good results and
proposes ever smaller subsets (on the cifar10 suite, 73% one-value subsets late in a run against 48%
under random proposals; discarding instead: 42% against 40%, tests/test_hyperion_trials.py). The counts
are in the scheduler's metadata.

Whether a trial searches is decided by the config's keys (:func:`hyperion_bench.oneshot.searches`): any
parameter handed inside, or ``n_m > 1`` different values at some node. Only a trial that searches
carries ``inner_optimizer``; only one that does not gets (and teaches) the edges learner ``edges@j``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperion_bench.errors import UserError
from hyperion_bench.method_settings import HyperionSettings
from hyperion_bench.methods import method_class
from hyperion_bench.methods.optimizer import Optimizer, Suggestion, value_of
from hyperion_bench.oneshot import CELL_FUSION, INNER_OPTIMIZER, INNER_PREFIX, encode_subset, searches
from hyperion_bench.registry import METHODS
from hyperion_bench.space import EDGES, NODE_SEP, JointSpace, Param, edge_choices

OUTER, INNER = "outer", "inner"
SPLIT_PREFIX = "split@"
RETRIES = 20


def make_learner(kind: str, space: JointSpace, seed: int, n_init: int) -> Optimizer:
    """One of Hyperion's learners: the outer-kind method of that name in the registry, a single-objective
    optimiser over ``space`` (``kind`` checked by HyperionSettings). TPE's random start-up is Hyperion's own
    ``n_init`` (its learners see those trials too)."""
    settings = {"n_startup_trials": max(n_init, 1)} if kind == "tpe" else {}
    return method_class(METHODS[kind])(space=space, seed=seed, settings=settings)


def _values(value: float | None) -> np.ndarray | None:
    return None if value is None else np.array([value], dtype=float)


@dataclass
class Learner:
    """A learner with its own history H_x. ``propose`` draws at random (initial phase, later told via
    ``observe``) or asks the optimiser; ``result`` closes a proposal with the trial's value."""

    space: JointSpace
    optimiser: Optimizer
    rng: np.random.Generator
    history: list[tuple[dict[str, Any], float | None]] = field(default_factory=list)
    pending: dict[int, tuple[int | None, dict[str, Any]]] = field(default_factory=dict)  # trial -> (ask key, part)
    n_asked: int = 0

    def propose(self, trial: int, random_phase: bool) -> dict[str, Any]:
        if random_phase:
            part = self.space.sample(self.rng)
            self.pending[trial] = (None, part)
            return part
        ask_key = self.n_asked
        self.n_asked += 1
        part = self.space.clean(self.optimiser.ask(ask_key).config)
        self.pending[trial] = (ask_key, part)
        return part

    def result(self, trial: int, value: float | None, record: bool = True) -> None:
        ask_key, part = self.pending.pop(trial)
        if ask_key is None:
            self.optimiser.observe(part, _values(value))
        else:
            self.optimiser.tell(ask_key, _values(value), {})
        if record:
            self.history.append((part, value))


class Hyperion(Optimizer):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        s = HyperionSettings.of(self.settings)  # the defaults: baselines/hyperion.toml
        self.settings = s.as_dict()
        outer, n_init, n_m, max_candidates, inner = s.outer, s.n_init, s.n_m, s.max_candidates, s.inner
        self.outer, self.n_init, self.n_m, self.max_candidates = outer, n_init, n_m, max_candidates
        self.inner = inner
        space = self.space
        self.fusion = [p for p in space.params if p.role == "fusion" and p.name in CELL_FUSION]
        if not self.fusion:
            raise UserError("method hyperion needs a cell suite with fusion parameters (op, kernel, activation)")
        self.nodes = space.nodes
        seeds = iter(np.random.SeedSequence(self.seed).generate_state(4 + 2 * len(self.fusion)))

        def learner(params: list[Param]) -> Learner:
            s = int(next(seeds))
            sub = JointSpace(params)
            return Learner(sub, make_learner(outer, sub, s, n_init), np.random.default_rng(s))

        self.splitter = learner([Param(f"{SPLIT_PREFIX}{p.name}", "choice", "pipeline", choices=(OUTER, INNER))
                                 for p in self.fusion])
        pipeline = [p for p in space.params if p.role != "fusion"]
        self.pipeline = learner(pipeline) if pipeline else None
        self.arch = {p.name: learner(self._per_node(p)) for p in self.fusion}
        self.edges = learner([Param(f"{EDGES}{NODE_SEP}{j}", "choice", "macro", choices=edge_choices(j))
                              for j in range(self.nodes)])
        self.subspace = {p.name: learner([Param(f"{INNER_PREFIX}{p.name}={c}", "choice", "pipeline", choices=(0, 1))
                                          for c in p.choices]) for p in self.fusion}
        self.used: dict[int, list[Learner]] = {}  # trial key -> learners that proposed a part of it
        self.histories: dict[str, list[tuple[dict[str, Any], float | None]]] = {
            "split": [], "pipeline": [], "arch.m": [], "subspace": []}
        self.parts: dict[int, dict[str, dict[str, Any]]] = {}
        self.n_discarded = 0  # proposals over the candidate cap
        self.n_empty = 0  # proposals with an empty sub-search-space
        self.n_fallbacks = 0
        self.worst: float | None = None

    def _per_node(self, p: Param) -> list[Param]:
        """Per node ``n_m`` values of ``p``: ``op@j``, ``op@j.1``, ..."""
        out = []
        for j in range(self.nodes):
            for k in range(self.n_m):
                name = f"{p.name}{NODE_SEP}{j}" + (f".{k}" if k else "")
                out.append(Param(name, "choice", "macro", choices=p.choices))
        return out

    # ------------------------------------------------------------------ proposing
    def candidates_bound(self, subsets: dict[str, list[Any]]) -> int:
        """Candidates per edge of the supernet, at most (equivalent candidates are merged later)."""
        return math.prod(len(subsets[p.name]) if p.name in subsets else min(self.n_m, len(p.choices))
                         for p in self.fusion)

    def _subset(self, key: int, p: Param, random_phase: bool) -> list[Any]:
        """The sampler's multi-hot vector for ``p`` as the subset of choices it switches on (maybe empty)."""
        bits = self.subspace[p.name].propose(key, random_phase)
        return [c for c in p.choices if bits[f"{INNER_PREFIX}{p.name}={c}"] == 1]

    def _split_and_subspaces(self, key: int, random_phase: bool) -> tuple[dict, dict[str, list[Any]], list]:
        for _ in range(RETRIES):
            split = self.splitter.propose(key, random_phase)
            inner = [p for p in self.fusion if split[f"{SPLIT_PREFIX}{p.name}"] == INNER]
            subsets = {p.name: self._subset(key, p, random_phase) for p in inner}
            empty = not all(subsets.values())
            over_cap = self.max_candidates > 0 and self.candidates_bound(subsets) > self.max_candidates
            if not (empty or over_cap):
                return split, subsets, [self.splitter] + [self.subspace[p.name] for p in inner]
            # an invalid proposal (an empty subspace, or a supernet over the cap) is discarded; its
            # learners are told the worst result seen so far (a failure before any), so that model-based
            # learners move away from it, and nothing of it is learnt as a trial's configuration
            self.n_empty += empty
            self.n_discarded += over_cap
            self.splitter.result(key, self.worst, record=False)
            for p in inner:
                self.subspace[p.name].result(key, self.worst, record=False)
        self.n_fallbacks += 1
        split = {f"{SPLIT_PREFIX}{p.name}": OUTER for p in self.fusion}
        return split, {}, []

    def ask(self, key: int) -> Suggestion:
        random_phase = key < self.n_init
        split, subsets, used = self._split_and_subspaces(key, random_phase)
        config: dict[str, Any] = dict(split)
        parts: dict[str, dict[str, Any]] = {"split": dict(split), "pipeline": {}, "arch.m": {}, "subspace": {}}
        if self.pipeline is not None:
            pipe = self.pipeline.propose(key, random_phase)
            config.update(pipe)
            parts["pipeline"] = pipe
            used.append(self.pipeline)
        for p in self.fusion:
            if p.name in subsets:
                value = encode_subset(subsets[p.name])
                config[f"{INNER_PREFIX}{p.name}"] = value
                parts["subspace"][p.name] = value
            else:
                values = self.arch[p.name].propose(key, random_phase)
                config.update(values)
                parts["arch.m"].update(values)
                used.append(self.arch[p.name])
        search = searches(config)  # the trial's own rule: something inside, or n_m > 1 values at a node
        if search and self.inner != "darts":  # DARTS' configs carry no key, as before hyperDARTS existed
            config[INNER_OPTIMIZER] = self.inner
        if not search:  # one value per node, nothing inside: the outer loop fixes the cell, inputs included
            edges = self.edges.propose(key, random_phase)
            config.update(edges)
            parts["arch.m"].update(edges)
            used.append(self.edges)
        self.used[key] = used
        self.parts[key] = parts
        return Suggestion(config)

    def finalise(self, config: dict[str, Any]) -> dict[str, Any]:
        return config  # not a point of the flat space: validity was checked while proposing

    # ------------------------------------------------------------------ learning
    def tell(self, key: int, values: np.ndarray | None, result: dict[str, Any]) -> None:
        value = value_of(values)
        if value is not None:
            self.worst = value if self.worst is None else max(self.worst, value)
        for learner in self.used.pop(key, []):
            learner.result(key, value)
        parts = self.parts.pop(key)
        for name, part in parts.items():
            self.histories[name].append((part, value))

    def metadata(self) -> dict[str, Any]:
        return {"outer": self.outer, "inner": self.inner, "n_init": self.n_init, "n_m": self.n_m,
                "max_candidates": self.max_candidates, "discarded_proposals": self.n_discarded,
                "empty_subspaces": self.n_empty,
                "fallback_splits": self.n_fallbacks}
