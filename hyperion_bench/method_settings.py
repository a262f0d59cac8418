"""Method settings: each method's published meta-parameters (``baselines/<method>.toml``) and their
overrides, and Hyperion's as a typed object (:class:`HyperionSettings`). Named for what it holds (it was
``baselines.py``, a name that hid that it owns every method's settings, issue 19).

Why: a baseline is only a baseline with the settings its authors published. Each method's file holds
those values with the citation they come from; a run can override them, from the suite file (a
``[baselines.<method>]`` table) or from the command line (``--method-option <method>.<key>=<value>``,
which wins). Overrides are validated strictly: an unknown method or key, or a value of another type
than the published one, is a one-line :class:`UserError`. The settings a run used are written to its
``metadata.json`` (``method_settings``).

File layout::

    [method]
    name = "mo-bohb"
    citation = "..."          # the paper (and the code) the values come from
    [settings]
    eta = 2                   # one line per meta-parameter, a comment saying where it comes from
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from hyperion_bench.errors import UserError
from hyperion_bench.registry import INNER_OPTIMIZERS, METHODS, SEARCHING_METHODS, outer_kinds
from hyperion_bench.tomlfile import read_toml

BASELINES_DIR = Path(__file__).resolve().parent.parent / "baselines"
# torch.compile modes a supernet may run under (darts' compile setting; benchmarks/darts_step.py --compile)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class Baseline:
    name: str
    citation: str
    settings: dict[str, Any]


def baseline_path(method: str) -> Path:
    return BASELINES_DIR / f"{method}.toml"


def has_baseline(method: str) -> bool:
    return baseline_path(method).exists()


def load_baseline(method: str) -> Baseline:
    """The published settings of ``method`` (an empty set for a method without a file)."""
    path = baseline_path(method)
    if not path.exists():
        return Baseline(method, "", {})
    raw = read_toml(path, "method settings")
    unknown = set(raw) - {"method", "settings"}
    if unknown:
        raise UserError(f"{path}: unknown table(s) {', '.join(sorted(unknown))} (allowed: method, settings)")
    meta = raw.get("method", {})
    settings = raw.get("settings", {})
    if meta.get("name") != method:
        raise UserError(f"{path}: [method] name must be {method!r}, got {meta.get('name')!r}")
    if not isinstance(settings, dict) or any(isinstance(v, dict) for v in settings.values()):
        raise UserError(f"{path}: [settings] must be a flat table of values")
    return Baseline(method, str(meta.get("citation", "")), dict(settings))


def parse_cli_options(items: list[str] | None) -> dict[str, dict[str, str]]:
    """``["mo-bohb.eta=3", ...]`` -> ``{"mo-bohb": {"eta": "3"}}`` (values are parsed later, per type)."""
    out: dict[str, dict[str, str]] = {}
    for item in items or []:
        head, sep, value = item.partition("=")
        method, dot, key = head.strip().rpartition(".")
        if not sep or not dot or not method or not key.strip():
            raise UserError(f"--method-option: expected METHOD.KEY=VALUE, got {item!r}")
        out.setdefault(method, {})[key.strip()] = value.strip()
    return out


def _typed(value: Any, default: Any, where: str, parse: bool) -> Any:
    """``value`` checked (and, with ``parse``, a command-line string read as TOML first) against the
    published value's type."""
    if parse and isinstance(value, str) and not isinstance(default, str):
        try:
            value = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raise UserError(f"{where}: cannot read {value!r} as {type(default).__name__}") from None
    if default is None:  # "not set" in the file: any scalar goes
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise UserError(f"{where}: expected {type(default).__name__} (like {default!r}), got {value!r}")
    return value


def check_overrides(method: str, overrides: dict[str, Any], where: str, parse: bool = False,
                    label: str | None = None) -> dict[str, Any]:
    """Typed overrides for ``method``; unknown keys raise a one-line UserError naming the known ones.
    ``parse``: the values are command-line strings (``3``, ``0.5``, ``true``, ``"hyperband"``). ``label``
    names the table in messages (``oneshot.order``; default: the method)."""
    base = load_baseline(method)
    label = label or method
    out = {}
    for key, value in overrides.items():
        if key not in base.settings:
            known = ", ".join(sorted(base.settings)) or "none"
            raise UserError(f"{where}: {label}.{key}: {method} has no meta-parameter {key!r} (known: {known})")
        out[key] = _typed(value, base.settings[key], f"{where}: {label}.{key}", parse)
        if isinstance(out[key], float) and not math.isfinite(out[key]):
            raise UserError(f"{where}: {label}.{key}: must be finite, got {value!r}")
    return out


def check_suite_overrides(table: Any, where: str) -> None:
    """Validate a suite's ``[baselines]`` table (called while the suite file is read)."""
    if not isinstance(table, dict):
        raise UserError(f"{where}: baselines: must be a table of [baselines.<method>] tables")
    for method, overrides in table.items():
        if method not in METHODS:
            raise UserError(f"{where}: baselines.{method}: unknown method (known: {', '.join(sorted(METHODS))})")
        if not isinstance(overrides, dict):
            raise UserError(f"{where}: baselines.{method}: must be a table of meta-parameters")
        check_overrides(method, overrides, f"{where}: baselines")


def resolve_settings(method: str, suite_table: dict[str, Any] | None = None,
                     cli: dict[str, str] | None = None, suite_name: str = "suite") -> dict[str, Any]:
    """Published settings, then the suite's ``[baselines.<method>]``, then the command line."""
    settings = dict(load_baseline(method).settings)
    settings.update(check_overrides(method, (suite_table or {}).get(method, {}), f"{suite_name}: baselines"))
    settings.update(check_overrides(method, cli or {}, "--method-option", parse=True))
    return settings


def with_outer(options: dict[str, dict[str, str]], outer: str | None, methods: list[str]) -> dict[str, dict[str, str]]:
    """``--outer X``: short for ``--method-option hyperion.outer=X`` (when hyperion runs at all)."""
    if outer is None or "hyperion" not in methods:
        return options
    given = options.get("hyperion", {}).get("outer")
    if given is not None and given != outer:
        raise UserError(f"--outer {outer} and --method-option hyperion.outer={given} disagree: give one")
    return {**options, "hyperion": {**options.get("hyperion", {}), "outer": outer}}


class LayeredSettings:
    """A method's settings read once and checked once: its ``baselines/<method>.toml`` (the only place the
    defaults live) with override layers on top, in order (a suite's tables, then the command line). A
    subclass is a frozen dataclass of the file's keys with ``method`` set and its own :meth:`check`."""

    method: ClassVar[str]

    @classmethod
    def of(cls, *layers: dict[str, Any], where: str | None = None, parse: bool = False, label: str | None = None
           ) -> Any:
        """The published settings with ``layers`` on top, in order; an unknown key, a value of another type
        or out of range is a one-line UserError naming ``where`` and ``<label>.<key>`` (default: the
        method's name). ``parse``: the layers are command-line strings."""
        where, label = where or cls.method, label or cls.method
        values = dict(load_baseline(cls.method).settings)
        for layer in layers:
            values.update(check_overrides(cls.method, layer, where, parse=parse, label=label))
        def require(key: str, ok: bool, rule: str) -> None:
            if not ok:
                got = "" if repr(values[key]) in rule else f", got {values[key]!r}"
                raise UserError(f"{where}: {label}.{key}: {rule}{got}")

        cls.check(values, require)
        return cls(**values)

    @classmethod
    def check(cls, v: dict[str, Any], require: Any) -> None:
        """Range checks: ``require(key, ok, rule)`` fails naming the key (and its value, unless the rule
        already quotes it) when ``ok`` is false."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class HyperionSettings(LayeredSettings):
    """Hyperion's settings: ``baselines/hyperion.toml``, then the suite's ``[hyperion]`` table, its
    ``[baselines.hyperion]`` table, and the command line (``--method-option hyperion.KEY=VALUE``, ``--outer
    X`` being short for ``--method-option hyperion.outer=X``)."""

    method: ClassVar[str] = "hyperion"
    outer: str
    n_init: int
    n_m: int
    max_candidates: int
    inner: str

    @classmethod
    def check(cls, v: dict[str, Any], require: Any) -> None:
        for key, low in (("n_init", 0), ("n_m", 1), ("max_candidates", 0)):
            require(key, v[key] >= low, f"must be at least {low}")
        require("outer", v["outer"] in outer_kinds(),
                f"unknown outer optimiser {v['outer']!r} for hyperion; known: {', '.join(outer_kinds())}")
        require("inner", v["inner"] in INNER_OPTIMIZERS,
                f"unknown inner optimiser {v['inner']!r}; known: {', '.join(INNER_OPTIMIZERS)}")


@dataclass(frozen=True)
class OneShotSettings(LayeredSettings):
    """The inner one-shot loop's settings (DARTS'; hyperDARTS takes its learning rates from
    :class:`HyperDartsSettings`): ``baselines/darts.toml``, then the suite's ``[oneshot]`` and
    ``[baselines.darts]`` tables, then the command line (``--method-option darts.KEY=VALUE``). They are the
    loop of every searching trial of a run, whichever method proposed it (DARTS, hyperDARTS, Hyperion's
    inner loop): the one-shot searches being compared are the same search."""

    method: ClassVar[str] = "darts"
    epochs: int
    order: int
    batch_size: int
    w_lr: float
    w_lr_min: float
    w_momentum: float
    w_weight_decay: float
    grad_clip: float
    a_lr: float
    a_weight_decay: float
    search_fraction: float
    fast: bool
    compile: str

    @classmethod
    def check(cls, v: dict[str, Any], require: Any) -> None:
        require("order", v["order"] in (1, 2), "must be 1 or 2")
        require("search_fraction", 0 < v["search_fraction"] <= 1, "must lie in (0, 1]")
        require("compile", not v["compile"] or v["compile"] in COMPILE_MODES,
                f"must be \"\" (off) or one of {', '.join(COMPILE_MODES)}")
        for key in ("epochs", "batch_size"):
            require(key, v[key] >= 1, "must be at least 1")


@dataclass(frozen=True)
class HyperDartsSettings(LayeredSettings):
    """hyperDARTS' own settings (its hypernetwork and learning rates; the rest of its loop is
    :class:`OneShotSettings`): ``baselines/hyperdarts.toml``, then the suite's ``[hyperdarts]`` and
    ``[baselines.hyperdarts]`` tables, then ``--method-option hyperdarts.KEY=VALUE``."""

    method: ClassVar[str] = "hyperdarts"
    hypernet: str
    hidden: int
    w_lr: float
    w_lr_min: float
    a_lr: float

    @classmethod
    def check(cls, v: dict[str, Any], require: Any) -> None:
        require("hypernet", v["hypernet"] in ("mlp", "linear"), 'must be "mlp" or "linear"')
        require("hidden", v["hidden"] >= 0, "must be at least 0")
        for key in ("w_lr", "a_lr"):
            require(key, v[key] > 0, "must be positive")
        require("w_lr_min", 0 <= v["w_lr_min"] <= v["w_lr"], "must lie in [0, w_lr]")


def inner_loop_options(options: dict[str, dict[str, str]], suite_oneshot: dict[str, Any],
                       suite_hyperdarts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The command line's overrides of the inner loop (``--method-option darts.KEY=VALUE`` and
    ``hyperdarts.KEY=VALUE``), typed and checked on top of the suite's settings: what every searching
    trial of the run receives (``TrialConstants.oneshot``); empty when the command sets none."""
    out: dict[str, dict[str, Any]] = {}
    for settings, suite_values in ((OneShotSettings, suite_oneshot), (HyperDartsSettings, suite_hyperdarts)):
        if options.get(settings.method):  # read once, then range-checked on top of the suite's values
            out[settings.method] = check_overrides(settings.method, options[settings.method], "--method-option",
                                                   parse=True)
            settings.of(suite_values, out[settings.method], where="--method-option")
    return out


def inner_loop(suite_oneshot: dict[str, Any], suite_hyperdarts: dict[str, Any],
               cli: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The inner loop a run's searching trials use: the suite's settings with the command line's
    (:func:`inner_loop_options`) on top, as ``{"darts": ..., "hyperdarts": ...}``."""
    return {"darts": {**suite_oneshot, **cli.get("darts", {})},
            "hyperdarts": {**suite_hyperdarts, **cli.get("hyperdarts", {})}}


def searches_inside(methods: list[str]) -> bool:
    """Whether some method of the run runs the inner one-shot loop (so darts/hyperdarts options apply)."""
    return any(m in SEARCHING_METHODS for m in methods)
