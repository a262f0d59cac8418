"""UCR/UEA time-series classification problems (``dataset = "ucr:<Name>"``), read by aeon's own loader.

Why aeon's loader and not a parser of our own: the ``.ts`` format has several dialects (timestamps,
missing values, unequal lengths, multivariate ``:``-separated channels) and aeon is the archive's
reference implementation, so what we train on is what every published UCR/UEA figure was computed on.
aeon is an optional dependency (``pip install 'hyperion-bench[ucr]'``): it pulls in numba, which caps
numpy below 2.4, and nothing but these problems needs it.

Where a problem is looked for: ``<data dir>/<Name>/<Name>_TRAIN.ts`` and ``_TEST.ts`` when that folder
exists, else the copy bundled in aeon's wheel (``aeon/datasets/data/<Name>``; offline). The archive's
train/test split is kept; the caller carves validation out of train with the suite's seed.

Unequal lengths (JapaneseVowels: 7..29 steps; PickupGestureWiimoteZ: 29..361) become one length, as the
suite says (``[data] unequal``): "pad" holds each series' last value to the common length (a sensor at
rest keeps reading its last value; zeros would be a value the sensor never reported), "resample"
stretches each series linearly onto it (every gesture then spans the whole window, whatever its speed).
The common length is ``[data] length``, or by default the longest series of the problem (train and
test: only lengths are looked at, never values or labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hyperion_bench.data._source import FIX_NO_DOWNLOAD, Source, missing
from hyperion_bench.data._split import Raw
from hyperion_bench.errors import UserError
from hyperion_bench.suites import UCR_NAME as NAME  # one definition for the suite parser and the loader
from hyperion_bench.suites import UCR_PREFIX as PREFIX
from hyperion_bench.suites import UNEQUAL

INSTALL = "pip install 'hyperion-bench[ucr]' (or: pip install aeon)"


def problem_name(dataset: str) -> str:
    """``"ucr:JapaneseVowels"`` -> ``"JapaneseVowels"``; a one-line error for anything else."""
    name = dataset[len(PREFIX):] if dataset.startswith(PREFIX) else ""
    if not NAME.match(name):
        raise UserError(f"dataset {dataset!r}: expected ucr:<Name>, the archive's problem name "
                        "(letters, digits, _ . -), e.g. ucr:JapaneseVowels")
    return name


def files(name: str) -> tuple[str, str]:
    return f"{name}_TRAIN.ts", f"{name}_TEST.ts"


def bundled_dir() -> Path | None:
    """aeon's folder of bundled problems, or None when aeon is not installed (found without importing
    aeon, which takes seconds: locating runs on every load, reading only on a cache miss)."""
    from importlib.util import find_spec

    spec = find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def bundled_problems() -> list[str]:
    """The problems aeon's wheel ships with both a _TRAIN.ts and a _TEST.ts file."""
    root = bundled_dir()
    if root is None or not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if all((p / f).is_file() for f in files(p.name)))


def locate(dataset: str, data_dir: Path | None, want_download: bool) -> list[Path]:
    """The two ``.ts`` files: from ``<data dir>/<Name>/`` when that folder exists (an incomplete one is an
    error, never silently replaced by aeon's copy), else the copy bundled with aeon. ``want_download``
    is ignored: nothing here fetches the archive (aeon could, but this harness never touches the network
    unasked and the archive's server was not reachable to test it)."""
    name = problem_name(dataset)
    expected = files(name)
    if data_dir is not None and (data_dir / name).is_dir():
        folder = data_dir / name
        absent = [f for f in expected if not (folder / f).is_file()]
        if absent:
            raise missing(dataset, folder, absent, FIX_NO_DOWNLOAD)
        return [folder / f for f in expected]
    root = bundled_dir()
    if root is not None and all((root / name / f).is_file() for f in expected):
        return [root / name / f for f in expected]
    where = f"{data_dir / name} (no such folder)" if data_dir is not None else "no data directory given"
    bundled = (f"aeon bundles only {', '.join(bundled_problems())}" if root is not None
               else f"aeon, which bundles some problems, is not installed: {INSTALL}")
    raise UserError(f"dataset {dataset!r}: {where}, and {bundled}; expected {name}/{expected[0]} and "
                    f"{name}/{expected[1]} under a data directory; {FIX_NO_DOWNLOAD}")


def _read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray, dict[str, Any]]:
    """One ``.ts`` file through aeon: a list of (channels, length) float arrays, string labels, header."""
    try:
        from aeon.datasets import load_from_ts_file
    except ImportError as e:
        raise UserError(f"reading {path} needs aeon: {INSTALL} ({e})") from e
    try:
        x, y, meta = load_from_ts_file(str(path), return_meta_data=True)
    except Exception as e:  # aeon raises IOError / ValueError / TypeError for malformed files
        raise UserError(f"cannot read {path} with aeon: {' '.join(str(e).split()) or type(e).__name__}") from e
    if y is None or (meta and not meta.get("classlabel", True)):
        raise UserError(f"{path}: no class labels (@classLabel false); only classification problems are supported")
    series = [np.asarray(s, dtype=np.float64) for s in x]  # a 3-D array (equal length) or a list of 2-D ones
    for i, s in enumerate(series):
        if s.ndim != 2 or s.shape[1] < 1:
            raise UserError(f"{path}: case {i} has shape {s.shape}, expected (channels, length)")
        if not np.isfinite(s).all():
            raise UserError(f"{path}: case {i} has missing or infinite values; problems with missing values "
                            "are not supported (use the archive's version without them)")
    return series, np.asarray(y).astype(str), meta or {}


def _equalise(series: list[np.ndarray], length: int, how: str) -> np.ndarray:
    """(n, channels, length): each series padded with its last value, or linearly resampled, to ``length``."""
    out = np.empty((len(series), series[0].shape[0], length), dtype=np.float32)
    grid = np.linspace(0.0, 1.0, length)
    for i, s in enumerate(series):
        n = s.shape[1]
        if n == length:
            out[i] = s
        elif how == "pad":
            out[i, :, :n] = s
            out[i, :, n:] = s[:, -1:]
        else:
            src = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
            out[i] = np.stack([np.interp(grid, src, channel) for channel in s])
    return out


def read(paths: list[Path], *, unequal: str = "pad", length: int = 0) -> Raw:
    """Both splits, labels numbered in the header's class order (else sorted), one common length."""
    (x, y, meta), (x_test, y_test, _) = (_read_ts(p) for p in paths)
    channels = {s.shape[0] for s in x + x_test}
    if len(channels) != 1:
        raise UserError(f"{paths[0].parent}: cases have different channel counts {sorted(channels)}")
    classes = [str(c) for c in meta.get("class_values") or []] or sorted(set(y))
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(y) - set(index)) or sorted(set(y_test) - set(index))
    if unknown:
        raise UserError(f"{paths[0].parent}: labels {unknown} are not among the problem's classes {classes}")
    lengths = [s.shape[1] for s in x + x_test]
    target = length or max(lengths)
    if unequal == "pad" and target < max(lengths):
        raise UserError(f"{paths[0].parent}: cannot pad to length {target}: the longest series has "
                        f"{max(lengths)} samples (use a larger length, 0 = the longest, or unequal = \"resample\")")
    return Raw(_equalise(x, target, unequal), np.array([index[c] for c in y]), n_classes=len(classes),
               x_test=_equalise(x_test, target, unequal), y_test=np.array([index[c] for c in y_test]))


def source(unequal: str = "pad", length: int = 0) -> tuple[Source, str]:
    """The source for one equalisation choice, and the part of the cache key that choice adds."""
    if unequal not in UNEQUAL:
        raise UserError(f"unequal must be one of {', '.join(UNEQUAL)}, got {unequal!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0 or length == 1:
        raise UserError(f"length must be 0 (the longest series) or at least 2, got {length!r}")

    def read_equalised(paths: list[Path]) -> Raw:
        return read(paths, unequal=unequal, length=length)

    return Source(locate=locate, read=read_equalised, splits="official-test"), f"unequal={unequal}|length={length}"
