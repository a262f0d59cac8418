"""The joint HPO + NAS search space and its encodings for every optimiser library.

Why this module exists: fairness needs every method to search *the same* space. The suite file
declares each parameter once (domain + role); this module expands the cell-level ("fusion")
parameters into one value per cell node and translates the flat space into the dialect of each
library (Syne Tune, hyperopt, FLAML, Optuna) and into unit-cube vectors for model-based methods.

Roles (see ARCHITECTURE.md):
- ``pipeline``: only a multi-trial optimiser can set it (learning rate, batch size, window, ...).
- ``macro``: architecture, but not searchable inside a supernet cell (cells, channels).
- ``fusion``: a cell-level architecture parameter either optimiser can own (op, kernel, activation,
  and the generated per-node ``edges`` parameter that picks a node's two inputs).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ROLES = ("pipeline", "macro", "fusion")
KINDS = ("choice", "int", "float")
NODE_SEP = "@"  # "op@2" is the op of cell node 2
EDGES = "edges"  # generated fusion parameter: which two states feed a node


@dataclass(frozen=True)
class Param:
    """One searched parameter. ``choices`` for kind 'choice'; ``low``/``high`` (inclusive) else."""

    name: str
    kind: str
    role: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert self.role in ROLES, self.role
        if self.kind == "choice":
            assert len(self.choices) > 0, self.name
        else:
            assert self.low is not None and self.high is not None and self.low <= self.high
            assert not self.log or self.low > 0

    @property
    def base(self) -> str:
        """The suite-level name: 'op' for 'op@2'."""
        return self.name.split(NODE_SEP)[0]

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return value in self.choices
        if self.kind == "int" and (isinstance(value, bool) or int(value) != value):
            return False
        return self.low <= value <= self.high

    def sample(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        return self.from_unit(float(rng.random()))

    def _cube_bounds(self) -> tuple[float, float]:
        """The numeric interval the unit cube maps onto (log-scaled; ints widened by half a step
        so that both end values get the same share of the cube as the inner ones)."""
        lo, hi = float(self.low), float(self.high)
        if self.kind == "int":
            lo, hi = lo - 0.5 + 1e-9, hi + 0.5 - 1e-9
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def to_unit(self, value: Any) -> float:
        """Map a value into [0, 1]; choices sit at the centres of equal bins."""
        if self.kind == "choice":
            return (self.choices.index(value) + 0.5) / len(self.choices)
        lo, hi = self._cube_bounds()
        v = math.log(float(value)) if self.log else float(value)
        return 0.5 if hi == lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)

    def from_unit(self, u: float) -> Any:
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        lo, hi = self._cube_bounds()
        x = lo + u * (hi - lo)
        if self.log:
            x = math.exp(x)
        if self.kind == "int":
            return int(min(max(round(x), self.low), self.high))
        return float(min(max(x, self.low), self.high))


def edge_choices(node: int) -> tuple[str, ...]:
    """The input pairs of cell node ``node``: states 0, 1 are the cell inputs, 2+i is node i."""
    return tuple(f"{a}+{b}" for a, b in itertools.combinations(range(node + 2), 2))


def parse_edges(value: str) -> tuple[int, int]:
    a, b = value.split("+")
    return int(a), int(b)


@dataclass
class JointSpace:
    """The suite's parameters plus the number of cell nodes; expands fusion params per node."""

    params: list[Param]
    nodes: int = 0
    flat: list[Param] = field(init=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        assert len(names) == len(set(names)), "duplicate parameter names"
        flat: list[Param] = []
        for p in self.params:
            if p.role == "fusion":
                assert self.nodes > 0, f"fusion parameter {p.name} needs cell nodes"
                flat += [_renamed(p, f"{p.name}{NODE_SEP}{j}") for j in range(self.nodes)]
            else:
                flat.append(p)
        if self.nodes > 0 and any(p.role == "fusion" for p in self.params):
            flat += [
                Param(f"{EDGES}{NODE_SEP}{j}", "choice", "fusion", choices=edge_choices(j))
                for j in range(self.nodes)
            ]
        self.flat = flat

    # ---------------------------------------------------------------- basics
    @property
    def names(self) -> list[str]:
        return [p.name for p in self.flat]

    def __getitem__(self, name: str) -> Param:
        for p in self.flat:
            if p.name == name:
                return p
        raise KeyError(name)

    def fusion_bases(self) -> list[str]:
        """Suite-level fusion parameter names, including the generated 'edges'."""
        bases = [p.name for p in self.params if p.role == "fusion"]
        return bases + ([EDGES] if bases else [])

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {p.name: p.sample(rng) for p in self.flat}

    def validate(self, config: dict[str, Any]) -> None:
        """Assert that ``config`` sets every flat parameter to a value of its domain."""
        for p in self.flat:
            assert p.name in config, f"config misses {p.name}"
            assert p.contains(config[p.name]), f"{p.name}={config[p.name]!r} outside its domain"

    def to_unit(self, config: dict[str, Any]) -> np.ndarray:
        return np.array([p.to_unit(config[p.name]) for p in self.flat], dtype=float)

    def from_unit(self, vector: np.ndarray) -> dict[str, Any]:
        assert len(vector) == len(self.flat)
        return {p.name: p.from_unit(u) for p, u in zip(self.flat, vector, strict=True)}

    def default_point(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """A fixed, method-independent value per parameter: ``defaults[base]`` where it lies in the
        domain, else the domain's centre (the middle choice; the geometric mid-point on a log scale).

        Why: a one-shot method (standalone DARTS) cannot search pipeline or macro parameters; it runs at
        this point, which is the same for every seed and recorded in trials.csv like any config."""
        out: dict[str, Any] = {}
        for p in self.flat:
            if p.base in defaults and p.contains(defaults[p.base]):
                out[p.name] = defaults[p.base]
            elif p.kind == "choice":
                out[p.name] = p.choices[(len(p.choices) - 1) // 2]
            else:
                out[p.name] = p.from_unit(0.5)
        return out

    def cheapest(self) -> dict[str, Any]:
        """Numeric macro parameters and 'epochs' at their lowest: BlendSearch's low-cost start."""
        return {
            p.name: (int(p.low) if p.kind == "int" else p.low)
            for p in self.flat
            if p.kind != "choice" and (p.role == "macro" or p.name == "epochs")
        }

    # ---------------------------------------------------------------- library dialects
    def to_syne_tune(self) -> dict[str, Any]:
        from syne_tune.config_space import choice, lograndint, loguniform, randint, uniform

        out: dict[str, Any] = {}
        for p in self.flat:
            if p.kind == "choice":
                out[p.name] = choice(list(p.choices))
            elif p.kind == "int":
                out[p.name] = (lograndint if p.log else randint)(int(p.low), int(p.high))
            else:
                out[p.name] = (loguniform if p.log else uniform)(p.low, p.high)
        return out

    def to_hyperopt(self) -> dict[str, Any]:
        from hyperopt import hp

        out: dict[str, Any] = {}
        for p in self.flat:
            if p.kind == "choice":
                out[p.name] = hp.choice(p.name, list(p.choices))
            elif p.kind == "int" and p.log:
                out[p.name] = hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
            elif p.kind == "int":
                out[p.name] = hp.quniform(p.name, p.low - 0.5 + 1e-6, p.high + 0.5 - 1e-6, 1)
            else:
                out[p.name] = (hp.loguniform if p.log else hp.uniform)(
                    p.name, *((math.log(p.low), math.log(p.high)) if p.log else (p.low, p.high))
                )
        return out

    def to_flaml(self) -> dict[str, Any]:
        from flaml import tune

        out: dict[str, Any] = {}
        for p in self.flat:
            if p.kind == "choice":
                out[p.name] = tune.choice(list(p.choices))
            elif p.kind == "int":  # FLAML's integer upper bounds are exclusive
                out[p.name] = (tune.lograndint if p.log else tune.randint)(
                    int(p.low), int(p.high) + 1
                )
            else:
                out[p.name] = (tune.loguniform if p.log else tune.uniform)(p.low, p.high)
        return out

    def suggest_optuna(self, trial: Any) -> dict[str, Any]:
        """Ask an Optuna trial for a full config (define-by-run)."""
        out: dict[str, Any] = {}
        for p in self.flat:
            if p.kind == "choice":
                out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            elif p.kind == "int":
                out[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
            else:
                out[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        return out

    def optuna_distributions(self) -> dict[str, Any]:
        """The distributions ``suggest_optuna`` asks for, to tell Optuna of configs it did not propose."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out: dict[str, Any] = {}
        for p in self.flat:
            if p.kind == "choice":
                out[p.name] = CategoricalDistribution(list(p.choices))
            elif p.kind == "int":
                out[p.name] = IntDistribution(int(p.low), int(p.high), log=p.log)
            else:
                out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
        return out

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        """Cast a library's raw values (floats for ints, numpy scalars) back into the domain."""
        out = {}
        for p in self.flat:
            v = config[p.name]
            if isinstance(v, np.generic):
                v = v.item()
            if p.kind == "int":
                v = int(min(max(round(v), p.low), p.high))
            elif p.kind == "float":
                v = float(min(max(v, p.low), p.high))
            out[p.name] = v
        return out


def _renamed(p: Param, name: str) -> Param:
    return Param(name, p.kind, p.role, p.choices, p.low, p.high, p.log)
