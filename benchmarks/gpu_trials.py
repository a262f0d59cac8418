"""One ``evaluate`` trial of each family, end to end, on data this script makes: the GPU smoke run.

Why: no line of this project had run on a GPU when it was written (issue 16). The day one is lent, a
single device call should show that every kind of trial the main job runs completes there, and what
it costs: a plain CNN (flowers17's space), a DARTS trial (cifar10's Table 2 space, every fusion
parameter inside, as the ``darts`` method configures it), a Hyperion trial whose split hands ``op``
inside with a sub-search-space and sets kernel and activation per node outside, and a hyperDARTS
trial. Each goes through ``hyperion_bench.evaluate.evaluate``, the one trial body, with the suite
files of ``benchmarks/`` and random class-separable data of their input shapes (no download, no
dataset on disk). It prints, per trial, wall time, search time and the GPU memory figures the trial
records (docs/gpu.md, "GPU memory"), and writes them as markdown and JSON with ``--out``.

Besides this package it imports only torch, numpy and pandas (no syne-tune, optuna, hyperopt, flaml,
pymoo): the device machine has none of those. ``tests/test_gpu_ready.py`` runs it with ``--quick`` on the CPU
while those modules are blocked, and checks the set of imported packages.

    python benchmarks/gpu_trials.py --device cuda --out "$OUT/gpu_trials.md"    # about a minute on an H100-class GPU
    python benchmarks/gpu_trials.py --quick                                       # seconds, on the CPU
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from hyperion_bench.atomic import write_text_atomic  # noqa: E402
from hyperion_bench.data import Dataset  # noqa: E402
from hyperion_bench.errors import UserError, run_script  # noqa: E402
from hyperion_bench.evaluate import evaluate  # noqa: E402
from hyperion_bench.oneshot import full_inner_config  # noqa: E402
from hyperion_bench.suites import DEFAULTS, load_suite  # noqa: E402

COLUMNS = ("elapsed_s", "search_s", "search_steps", "n_params", "peak_gpu_mem_mb", "search_peak_gpu_mem_mb",
           "train_peak_gpu_mem_mb", "eval_peak_gpu_mem_mb", "data_gpu_mem_mb", "val_error")


def make_data(shape: tuple[int, ...], n_classes: int, n_train: int, seed: int = 0) -> Dataset:
    """Class-separable random images (a class shifts the mean), split 4:1:1; on the CPU like a loader's."""
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_train // 2
    y = torch.arange(n) % n_classes
    x = torch.randn((n, *shape), generator=g) + 0.3 * y.view(-1, *([1] * len(shape))).float()
    a, b = n_train, n_train + n_train // 4
    return Dataset("synthetic", x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], n_classes)


def trials(quick: bool) -> list[tuple[str, object, dict, Dataset]]:
    """(name, suite, config, data) for the four families; ``quick`` shrinks networks and data for a CPU."""
    cifar, flowers = load_suite(ROOT / "benchmarks/cifar10.toml"), load_suite(ROOT / "benchmarks/flowers17.toml")
    cifar.oneshot["epochs"] = 1  # one search epoch: the search's cost per step, not a search worth keeping
    n_train, cells, channels, batch = (16, 1, 4, 8) if quick else (2048, 5, 16, 64)
    images = make_data((3, 8, 8) if quick else (3, 32, 32), 10, n_train)
    small = make_data((3, 8, 8) if quick else (3, 16, 16), 17, n_train)
    macro = {"cells": cells, "channels": channels, "batch_size": batch, "lr": 0.05}
    plain = {"n_conv_l": 2, "n_conv_0": 8 if quick else 32, "n_conv_1": 8 if quick else 64, "n_fc_l": 1,
             "n_fc_0": 16 if quick else 128, "kernel_size": 3,
             "lr": 1e-3, "batch_norm": True, "batch_size": batch, "global_avg_pooling": False}
    darts = {**full_inner_config(cifar.space, DEFAULTS), **macro}
    nodes = cifar.network["nodes"]
    hyperion = {**macro, "inner@op": "avg_pool|dil_conv",
                **{f"kernel@{j}": (3, 5)[j % 2] for j in range(nodes)},
                **{f"activation@{j}": ("relu", "tanh")[j % 2] for j in range(nodes)}}
    hyperdarts = {**darts, "inner_optimizer": "hyperdarts"}
    return [("plain (flowers17 space)", flowers, plain, small), ("darts (cifar10 space)", cifar, darts, images),
            ("hyperion (op inside: avg_pool|dil_conv)", cifar, hyperion, images),
            ("hyperdarts (cifar10 space)", cifar, hyperdarts, images)]


def markdown(rows: list[dict]) -> str:
    head = ["trial", *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        trial = r["trial"] + (f" **FAILED** {r['error']}" if "error" in r else "")
        cells = [trial.replace("|", "/")]
        cells += [f"{r[c]:.1f}" if isinstance(r.get(c), float) else str(r.get(c, "-")) for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--epochs", type=int, default=2, help="training epochs of each trial")
    ap.add_argument("--quick", action="store_true", help="tiny networks and data: a CPU smoke run")
    ap.add_argument("--out", type=Path, help="also write the table (markdown) and a JSON record here")
    args = ap.parse_args(argv)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no GPU here")
    hw = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(f"device: {hw}, torch {torch.__version__}", flush=True)
    rows, failed = [], 0
    for name, suite, config, data in trials(args.quick):
        started = time.perf_counter()
        try:
            m = evaluate(suite, config, data, epochs=args.epochs, seed=0, device=device)
            row = {"trial": name, **{c: m.get(c, "-") for c in COLUMNS}}
            row["elapsed_s"] = time.perf_counter() - started
        except Exception as exc:  # one failing family must not hide the others
            failed += 1
            row = {"trial": name, "error": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
        rows.append(row)
        print(json.dumps(row, default=float), flush=True)
    text = "\n".join([f"# One evaluate trial per family ({hw}, torch {torch.__version__})", "",
                      f"command: `python {' '.join(sys.argv)}`  ",
                      f"date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}", "", markdown(rows)])
    print(text)
    if args.out:
        write_text_atomic(args.out, text + "\n")
        write_text_atomic(args.out.with_suffix(".json"), json.dumps(
            {"device": hw, "torch": torch.__version__, "rows": rows}, indent=1, default=float))
    return 1 if failed else 0


if __name__ == "__main__":
    run_script(main)
