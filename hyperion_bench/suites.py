"""Load and validate suite files (``benchmarks/<name>.toml``) into a :class:`Suite`.

A suite is everything a fair comparison must hold fixed: the data and its split, the joint search
space, the objectives and the default budget. Validation is strict because a typo in a suite file
silently changes an experiment; every problem is reported as one line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperion_bench.errors import UserError
from hyperion_bench.method_settings import (
    HyperDartsSettings,
    HyperionSettings,
    OneShotSettings,
    check_suite_overrides,
)
from hyperion_bench.space import JointSpace, Param
from hyperion_bench.tomlfile import TomlReader, named_file, read_toml

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent / "benchmarks"

DATASETS = ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10", "eurosat", "flowers17")
# plus any UCR/UEA problem as "ucr:<Name>" (data/_ucr.py), and how its unequal lengths are equalised
UCR_PREFIX = "ucr:"
UCR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
UNEQUAL = ("pad", "resample")
# synthetic problems (family "synthetic"): the trial is the function itself, see synthetic.py
SYNTHETIC = ("zdt1", "zdt2", "zdt3")
FAMILIES = ("cell", "plain_cnn", "synthetic")
OPS = ("conv", "sep_conv", "dil_conv", "max_pool", "avg_pool", "skip", "none")  # "none": DARTS' zero op
ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid", "identity")
OPTIMIZERS = ("sgd", "adam")

# Every value ``evaluate`` understands: its allowed roles, and its type for the [training] table.
# Searched (in [params]) or fixed (in [training]); never both.
SETTINGS: dict[str, tuple[tuple[str, ...], type]] = {
    "lr": (("pipeline",), float),
    "batch_size": (("pipeline",), int),
    "weight_decay": (("pipeline",), float),
    "momentum": (("pipeline",), float),
    "epochs": (("pipeline",), int),
    "optimizer": (("pipeline",), str),
    "augment": (("pipeline",), bool),
    "window": (("pipeline",), int),
    "downsample": (("pipeline",), int),
    "cells": (("macro",), int),
    "channels": (("macro",), int),
    "op": (("fusion",), str),
    "kernel": (("fusion",), int),
    "activation": (("fusion",), str),
    # the bag-of-baselines plain CNN (flowers17)
    "n_conv_l": (("macro",), int),
    "n_conv_0": (("macro",), int),
    "n_conv_1": (("macro",), int),
    "n_conv_2": (("macro",), int),
    "n_fc_l": (("macro",), int),
    "n_fc_0": (("macro",), int),
    "n_fc_1": (("macro",), int),
    "n_fc_2": (("macro",), int),
    "kernel_size": (("macro",), int),
    "batch_norm": (("macro",), bool),
    "global_avg_pooling": (("macro",), bool),
}
CELL_ONLY = {"cells", "channels", "op", "kernel", "activation"}
PLAIN_ONLY = {k for k in SETTINGS if k.startswith("n_conv") or k.startswith("n_fc")} | {
    "kernel_size",
    "batch_norm",
    "global_avg_pooling",
}
DEFAULTS: dict[str, Any] = {
    "lr": 0.05,
    "batch_size": 64,
    "weight_decay": 3e-4,
    "momentum": 0.9,
    "epochs": 10,
    "optimizer": "sgd",
    "augment": False,
    "window": 0,  # 0 = the whole signal
    "downsample": 1,
    "cells": 2,
    "channels": 16,
    "op": "conv",
    "kernel": 3,
    "activation": "relu",
}
# metrics an objective may name (all minimised); see objectives.py
METRICS = (
    "val_error",
    "val_loss",
    "train_loss",
    "n_params",
    "log10_n_params",
    "neg_val_accuracy_pct",
    "f1",  # synthetic problems' objectives
    "f2",
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str | int | float, what: str = "budget") -> float:
    """'90', '90s', '5m', '2h', '1d' -> seconds; raises UserError unless positive."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise UserError(f"{what}: cannot read {text!r} as a duration (use e.g. 90s, 5m, 2h)")
        seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if not seconds > 0:
        raise UserError(f"{what}: {text!r} is not a positive duration")
    return seconds


@dataclass
class Objectives:
    """All minimised. ``weighted_sum`` is what single-objective methods optimise."""

    weighted_sum: dict[str, float]
    pareto: list[str]
    reference_point: list[float]


@dataclass
class Suite:
    name: str
    path: Path
    description: str
    dataset: str
    family: str
    split_seed: int
    val_fraction: float
    test_fraction: float
    space: JointSpace
    fixed: dict[str, Any]
    network: dict[str, Any]
    objectives: Objectives
    max_trials: int | None
    wallclock_s: float | None
    min_epochs: int
    max_epochs: int
    # the source's own options, passed to load_dataset (ucr:<Name>: unequal, length); empty for the rest
    data_options: dict[str, Any] = field(default_factory=dict)
    # the inner one-shot loop: baselines/darts.toml, then this suite's [oneshot] and [baselines.darts] tables
    oneshot: dict[str, Any] = field(default_factory=lambda: OneShotSettings.of().as_dict())
    # Hyperion's settings with this suite's [hyperion] table on top (method_settings.HyperionSettings)
    hyperion: dict[str, Any] = field(default_factory=lambda: HyperionSettings.of().as_dict())
    # hyperDARTS' own: baselines/hyperdarts.toml, then [hyperdarts] and [baselines.hyperdarts]
    hyperdarts: dict[str, Any] = field(default_factory=lambda: HyperDartsSettings.of().as_dict())
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def searched(self, name: str) -> bool:
        """Whether the suite's space searches ``name`` (so every config must carry a value for it)."""
        return any(p.name == name for p in self.space.params)

    def setting(self, config: dict[str, Any], name: str) -> Any:
        """The value a trial uses: searched in ``config``, else fixed by the suite, else default.

        A searched parameter missing from the config raises KeyError: a default there would train
        something the method never proposed (the issue-12 defect: Hyperion trials built with op "conv")."""
        if name in config:
            return config[name]
        if self.searched(name):
            raise KeyError(f"config sets no value for {name}, which suite {self.name} searches")
        if name in self.fixed:
            return self.fixed[name]
        return DEFAULTS[name]

    def node_setting(self, config: dict[str, Any], name: str, node: int) -> Any:
        """Cell node ``node``'s value of fusion parameter ``name`` (``op@2``); a searched one must be set."""
        key = f"{name}@{node}"
        if key in config:
            return config[key]
        if self.searched(name):
            raise KeyError(f"config sets no value for {key}, which suite {self.name} searches per node")
        return self.setting(config, name)


def list_suites() -> list[str]:
    return sorted(p.stem for p in BENCHMARKS_DIR.glob("*.toml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a suite by name (``benchmarks/<name>.toml``) or by path to a TOML file."""
    path = named_file(name_or_path, BENCHMARKS_DIR, "suite", "suites")
    return _Parser(path, read_toml(path, "suite file")).suite()


class _Parser(TomlReader):
    """Reads one suite file; every error names the file and the dotted key."""

    def table(self, raw: dict, key: str, allowed: set[str], required: frozenset[str] = frozenset()) -> dict:
        value = raw.get(key.rsplit(".", 1)[-1], {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        for k in value:
            if k not in allowed:
                raise self.fail(f"{key}.{k}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for k in sorted(required - set(value)):
            raise self.fail(f"{key}.{k}", "missing")
        return value

    def typed(self, table: dict, key: str, name: str, types: tuple, default: Any = None) -> Any:
        if name not in table:
            return default
        value = table[name]
        if isinstance(value, bool) and bool not in types:
            raise self.fail(f"{key}.{name}", f"expected {_names(types)}, got {value!r}")
        if not isinstance(value, types):
            raise self.fail(f"{key}.{name}", f"expected {_names(types)}, got {value!r}")
        return value

    def suite(self) -> Suite:
        top = {"suite", "data", "network", "training", "params", "objectives", "budget", "baselines", "oneshot",
               "hyperion", "hyperdarts"}
        for k in self.raw:
            if k not in top:
                raise self.fail(k, f"unknown table (allowed: {', '.join(sorted(top))})")
        meta = self.table(self.raw, "suite", {"name", "description"})
        data = self.table(
            self.raw, "data", {"dataset", "split_seed", "val_fraction", "test_fraction", "unequal", "length"},
            {"dataset"},
        )
        net = self.table(self.raw, "network", {"family", "nodes", "stem_multiplier", "n_var"}, {"family"})
        training = self.table(self.raw, "training", set(SETTINGS) - {"op", "kernel", "activation"})
        params_raw = self.table(self.raw, "params", set(SETTINGS))
        obj = self.table(
            self.raw, "objectives", {"weighted_sum", "pareto", "reference_point"}, {"weighted_sum"}
        )
        budget = self.table(self.raw, "budget", {"max_trials", "wallclock", "min_epochs", "max_epochs"})

        dataset = self.typed(data, "data", "dataset", (str,))
        data_options = self.data_options(data, dataset)
        val_fraction = float(self.typed(data, "data", "val_fraction", (int, float), 0.2))
        test_fraction = float(self.typed(data, "data", "test_fraction", (int, float), 0.2))
        for key, v in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < v < 1:
                raise self.fail(f"data.{key}", f"must lie strictly between 0 and 1, got {v}")

        family = self.typed(net, "network", "family", (str,))
        if family not in FAMILIES:
            raise self.fail("network.family", f"unknown family {family!r} (known: {', '.join(FAMILIES)})")
        nodes = self.typed(net, "network", "nodes", (int,), 4 if family == "cell" else 0)
        if family == "cell" and not 1 <= nodes <= 8:
            raise self.fail("network.nodes", f"must be between 1 and 8, got {nodes}")
        if family in ("plain_cnn", "synthetic"):
            nodes = 0
        if (family == "synthetic") != (dataset in SYNTHETIC):
            raise self.fail("network.family", f"family 'synthetic' goes with the datasets {', '.join(SYNTHETIC)} only")
        if "n_var" in net and family != "synthetic":
            raise self.fail("network.n_var", "only the synthetic family takes n_var")
        stem = self.typed(net, "network", "stem_multiplier", (int,), 1)
        if stem < 1:
            raise self.fail("network.stem_multiplier", "must be at least 1")

        forbidden = PLAIN_ONLY if family == "cell" else CELL_ONLY
        if family == "synthetic":
            forbidden = set(SETTINGS) - {"epochs"}
        fixed: dict[str, Any] = {}
        for name, value in training.items():
            _roles, typ = SETTINGS[name]
            value = self.typed(training, "training", name, _accepts(typ))
            if name in forbidden:
                raise self.fail(f"training.{name}", f"not used by the {family} family")
            fixed[name] = self.check_value(f"training.{name}", name, value)

        params = []
        for name, spec in params_raw.items():
            key = f"params.{name}"
            if name in forbidden:
                raise self.fail(key, f"not used by the {family} family")
            if name in fixed:
                raise self.fail(key, "is also fixed in [training]; keep one")
            params.append(self.param(key, name, spec))
        if family == "synthetic":
            params = self.synthetic_params(net, params_raw)

        weights = self.typed(obj, "objectives", "weighted_sum", (dict,))
        if not weights:
            raise self.fail("objectives.weighted_sum", "needs at least one metric")
        for m, w in weights.items():
            if m not in METRICS:
                raise self.fail(f"objectives.weighted_sum.{m}", f"unknown metric (known: {', '.join(METRICS)})")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise self.fail(f"objectives.weighted_sum.{m}", f"weight must be a finite number, got {w!r}")
        pareto = self.typed(obj, "objectives", "pareto", (list,), ["val_error", "log10_n_params"])
        for m in pareto:
            if m not in METRICS:
                raise self.fail("objectives.pareto", f"unknown metric {m!r} (known: {', '.join(METRICS)})")
        if len(pareto) < 1 or len(set(pareto)) != len(pareto):
            raise self.fail("objectives.pareto", "needs distinct metrics")
        ref = self.typed(obj, "objectives", "reference_point", (list,), [1.0, 8.0])
        if len(ref) != len(pareto) or not all(
            isinstance(r, (int, float)) and not isinstance(r, bool) for r in ref
        ):
            raise self.fail("objectives.reference_point", f"needs {len(pareto)} numbers, one per pareto metric")

        max_trials = self.typed(budget, "budget", "max_trials", (int,), None)
        if max_trials is not None and max_trials < 1:
            raise self.fail("budget.max_trials", f"must be at least 1, got {max_trials}")
        wallclock = budget.get("wallclock")
        wallclock_s = None
        if wallclock is not None:
            try:
                wallclock_s = parse_duration(wallclock, "budget.wallclock")
            except UserError as exc:
                raise self.fail("budget.wallclock", str(exc).split(": ", 1)[-1]) from None
        epochs_default = fixed.get("epochs", DEFAULTS["epochs"])
        min_epochs = self.typed(budget, "budget", "min_epochs", (int,), 1)
        max_epochs = self.typed(budget, "budget", "max_epochs", (int,), epochs_default)
        if not 1 <= min_epochs <= max_epochs:
            raise self.fail("budget.min_epochs", f"need 1 <= min_epochs <= max_epochs, got {min_epochs}, {max_epochs}")

        baselines = self.raw.get("baselines", {})
        if "baselines" in self.raw:  # [baselines.<method>]: per-suite meta-parameter overrides
            check_suite_overrides(baselines, where=str(self.path))
        oneshot = self.method_table("oneshot", OneShotSettings, baselines.get("darts", {}))
        table = self.raw.get("hyperion", {})
        if not isinstance(table, dict):
            raise self.fail("hyperion", "must be a table")
        hyperion = HyperionSettings.of(table, where=str(self.path)).as_dict()
        hyperdarts = self.method_table("hyperdarts", HyperDartsSettings, baselines.get("hyperdarts", {}))

        name = self.typed(meta, "suite", "name", (str,), self.path.stem)
        return Suite(
            name=name,
            path=self.path.resolve(),
            description=self.typed(meta, "suite", "description", (str,), ""),
            dataset=dataset,
            family=family,
            split_seed=self.typed(data, "data", "split_seed", (int,), 0),
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            space=JointSpace(params, nodes=nodes),
            fixed=fixed,
            network={"nodes": nodes, "stem_multiplier": stem},
            objectives=Objectives({k: float(v) for k, v in weights.items()}, list(pareto), [float(r) for r in ref]),
            max_trials=max_trials,
            wallclock_s=wallclock_s,
            min_epochs=min_epochs,
            max_epochs=max_epochs,
            data_options=data_options,
            oneshot=oneshot,
            hyperion=hyperion,
            hyperdarts=hyperdarts,
            raw=self.raw,
        )

    def data_options(self, data: dict, dataset: str) -> dict[str, Any]:
        """Check the dataset name; a UCR/UEA problem (``ucr:<Name>``) may say how unequal lengths are made
        equal (``unequal``: "pad" or "resample"; ``length``: 0 = the longest series). Whether the problem
        exists is checked when the data is loaded (it may come from --data-dir)."""
        known = ", ".join((*DATASETS, *SYNTHETIC, f"{UCR_PREFIX}<Name>"))
        if dataset.startswith(UCR_PREFIX):
            if not UCR_NAME.match(dataset[len(UCR_PREFIX):]):
                raise self.fail("data.dataset", f"expected {UCR_PREFIX}<Name> with the archive's problem name "
                                                f"(letters, digits, _ . -), got {dataset!r}")
            unequal = self.typed(data, "data", "unequal", (str,), "pad")
            if unequal not in UNEQUAL:
                raise self.fail("data.unequal", f"must be one of {', '.join(UNEQUAL)}, got {unequal!r}")
            length = self.typed(data, "data", "length", (int,), 0)
            if length < 0 or length == 1:
                raise self.fail("data.length", f"must be 0 (the longest series) or at least 2, got {length}")
            return {"unequal": unequal, "length": length}
        if dataset not in DATASETS + SYNTHETIC:
            raise self.fail("data.dataset", f"unknown dataset {dataset!r} (known: {known})")
        for k in ("unequal", "length"):
            if k in data:
                raise self.fail(f"data.{k}", f"only {UCR_PREFIX}<Name> datasets take it")
        return {}

    def method_table(self, key: str, settings: Any, baselines: dict[str, Any]) -> dict[str, Any]:
        """A method's settings as this suite sets them: the method's file, then the suite's own table
        (``[oneshot]``, ``[hyperdarts]``), then its ``[baselines.<method>]`` table; checked by ``settings``."""
        table = self.table(self.raw, key, {f.name for f in dataclasses.fields(settings)})
        own = settings.of(table, where=str(self.path), label=key)
        return settings.of(own.as_dict(), baselines, where=str(self.path), label=f"baselines.{settings.method}"
                           ).as_dict()

    def synthetic_params(self, net: dict, params_raw: dict) -> list[Param]:
        """A synthetic problem searches x0..x{n_var-1} in [0, 1] (pymoo's ZDT box); nothing else."""
        if params_raw:
            raise self.fail("params", "a synthetic suite generates its parameters x0..x{n_var-1}; leave [params] out")
        n_var = self.typed(net, "network", "n_var", (int,), 30)
        if not 2 <= n_var <= 1000:
            raise self.fail("network.n_var", f"must be between 2 and 1000, got {n_var}")
        return [Param(f"x{i}", "float", "pipeline", low=0.0, high=1.0) for i in range(n_var)]

    def param(self, key: str, name: str, spec: Any) -> Param:
        if not isinstance(spec, dict):
            raise self.fail(key, "must be a table with role and type")
        allowed = {"role", "type", "choices", "low", "high", "log"}
        for k in spec:
            if k not in allowed:
                raise self.fail(f"{key}.{k}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        roles, typ = SETTINGS[name]
        role = spec.get("role")
        if role not in roles:
            raise self.fail(f"{key}.role", f"must be {' or '.join(roles)}, got {role!r}")
        kind = spec.get("type")
        if kind == "choice":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise self.fail(f"{key}.choices", "needs a non-empty list")
            if len(set(map(repr, choices))) != len(choices):
                raise self.fail(f"{key}.choices", "has duplicates")
            for c in choices:
                if not isinstance(c, _accepts(typ)) or (isinstance(c, bool) and typ is not bool):
                    raise self.fail(f"{key}.choices", f"expected {typ.__name__} values, got {c!r}")
                self.check_value(f"{key}.choices", name, c)
            for k in ("low", "high", "log"):
                if k in spec:
                    raise self.fail(f"{key}.{k}", "not allowed for type 'choice'")
            return Param(name, "choice", role, choices=tuple(choices))
        if kind in ("int", "float"):
            if typ not in (int, float) or (typ is int and kind == "float"):
                raise self.fail(f"{key}.type", f"{name} takes {typ.__name__} values; use 'choice' or '{typ.__name__}'")
            if "choices" in spec:
                raise self.fail(f"{key}.choices", f"not allowed for type '{kind}'")
            low, high = spec.get("low"), spec.get("high")
            num = (int,) if kind == "int" else (int, float)
            for k, v in (("low", low), ("high", high)):
                if v is None:
                    raise self.fail(f"{key}.{k}", "missing")
                if isinstance(v, bool) or not isinstance(v, num):
                    raise self.fail(f"{key}.{k}", f"expected {kind}, got {v!r}")
                self.check_value(f"{key}.{k}", name, v)
            log = spec.get("log", False)
            if not isinstance(log, bool):
                raise self.fail(f"{key}.log", f"expected true or false, got {log!r}")
            if low > high:
                raise self.fail(key, f"impossible range: low {low} > high {high}")
            if log and low <= 0:
                raise self.fail(f"{key}.low", "must be positive on a log scale")
            return Param(name, kind, role, low=low, high=high, log=log)
        raise self.fail(f"{key}.type", f"must be 'choice', 'int' or 'float', got {kind!r}")

    def check_value(self, key: str, name: str, value: Any) -> Any:
        """Domain checks that types alone cannot express."""
        if name == "op" and value not in OPS:
            raise self.fail(key, f"unknown op {value!r} (known: {', '.join(OPS)})")
        if name == "activation" and value not in ACTIVATIONS:
            raise self.fail(key, f"unknown activation {value!r} (known: {', '.join(ACTIVATIONS)})")
        if name == "optimizer" and value not in OPTIMIZERS:
            raise self.fail(key, f"unknown optimizer {value!r} (known: {', '.join(OPTIMIZERS)})")
        positive = {"lr", "batch_size", "epochs", "cells", "channels", "kernel", "downsample", "kernel_size"}
        positive |= {k for k in SETTINGS if k.startswith(("n_conv", "n_fc"))}
        if name in positive and not value > 0:
            raise self.fail(key, f"must be positive, got {value!r}")
        if name in ("weight_decay", "momentum", "window") and value < 0:
            raise self.fail(key, f"must not be negative, got {value!r}")
        return value


def _accepts(typ: type) -> tuple[type, ...]:
    return (int, float) if typ is float else (typ,)


def _names(types: tuple) -> str:
    return " or ".join(t.__name__ for t in types)
