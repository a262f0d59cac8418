"""The trial protocol, declared once: what the runner hands a trial inside its config, and how a
failed trial says why.

Why one module: a trial is a Syne Tune job whose only input is its config, so the harness's
pass-through values (suite file, seed, device, budget end, ...) ride in the config under one prefix,
``hb_``, which no optimiser ever sees; a trial is then self-contained in a warm worker, a fresh process
or in process. The keys used to be string literals in the runner, the trial, the MO scheduler and
the recorder, with the prefix defined twice (Syne Tune keeps its protocol in one ``constants.py`` for
the same reason). Here they are the fields of :class:`TrialConstants`, and the one line a failed trial
prints (``HB_ERROR: <type>: <message>``) has one formatter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

PREFIX = "hb_"  # every harness constant in a config
ERROR_TAG = "HB_ERROR:"  # the line of a failed trial's stderr that the recorder copies into trials.csv
SYNE_TUNE_PREFIX = "st_"  # Syne Tune's own keys in a config (e.g. st_checkpoint_dir)


def key(name: str) -> str:
    """The config key of the constant ``name``: ``key("epochs") == "hb_epochs"``."""
    return f"{PREFIX}{name}"


EPOCHS_KEY = key("epochs")  # a multi-fidelity method's epochs for one trial
ONESHOT_KEY = key("oneshot")  # the command line's inner-loop settings (TrialConstants.oneshot)


@dataclass(frozen=True)
class TrialConstants:
    """The harness's values in one trial's config (``to_config``), read back by the trial (``from_config``).

    ``meta`` holds the per-trial constants an optimiser adds (``Suggestion.meta``: BULK & CUT's lineage,
    :mod:`hyperion_bench.lineage`); ``epochs`` is a multi-fidelity method's budget for the trial.
    """

    suite: str  # the suite file
    seed: int = 0
    device: str = "cpu"
    threads: int = 1  # torch threads per trial
    data_dir: str = ""  # "" = the default ($HYPERION_DATA_DIR)
    download: bool = False
    deadline: float = 0.0  # time.time() at which the (method, seed)'s wall-clock budget ends; 0 = none
    wallclock_s: float = 0.0  # that budget, for optimisers that plan by time (0 = none)
    folder: str = ""  # the (method, seed)'s result folder, for optimisers that keep files
    epochs: int | None = None
    # the command line's overrides of the inner one-shot loop, {"darts": {...}, "hyperdarts": {...}}
    # (method_settings.inner_loop_options): every searching trial of the run applies them; empty: none
    oneshot: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_config(self) -> dict[str, Any]:
        """The ``hb_`` entries to merge into a config (``epochs`` and ``oneshot`` only when set, ``meta``
        flattened): a run without such settings writes the configs it wrote before they existed."""
        optional = ("epochs", "oneshot", "meta")
        out = {key(f.name): getattr(self, f.name) for f in fields(self) if f.name not in optional}
        if self.epochs is not None:
            out[EPOCHS_KEY] = self.epochs
        if self.oneshot:
            out[ONESHOT_KEY] = {k: dict(v) for k, v in self.oneshot.items()}
        clash = sorted(set(self.meta) & {f.name for f in fields(self)})
        assert not clash, f"meta would overwrite harness constants: {clash}"
        out.update({key(k): v for k, v in self.meta.items()})
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TrialConstants:
        """The constants of a config (no ``hb_suite``: a TypeError; no trial runs without one)."""
        given = constants_of(config)
        names = {f.name for f in fields(cls)} - {"meta"}
        values = {k: v for k, v in given.items() if k in names}
        meta = {k: v for k, v in given.items() if k not in names}
        return cls(**values, meta=meta)


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the searched values, the harness constants without their prefix) of a trial's config."""
    params = {k: v for k, v in config.items() if not k.startswith((PREFIX, SYNE_TUNE_PREFIX))}
    return params, constants_of(config)


def constants_of(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k[len(PREFIX):]: v for k, v in config.items() if k.startswith(PREFIX)}


def error_line(exc: BaseException) -> str:
    """The one stderr line of a failed trial: its exception type and the first line of its message."""
    text = str(exc).strip()
    message = text.splitlines()[0] if text else ""
    return f"{ERROR_TAG} {type(exc).__name__}: {message}"


def final_value(result: Mapping[str, Any], metric: str) -> float | None:
    """``result[metric]`` as a float, or None when it is missing, not a number, or not finite."""
    value = result.get(metric)
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
