"""One trial: a Syne Tune config in, ``evaluate`` run, metrics reported. Also a script entry point.

Why it exists: the runner passes a trial everything it needs inside the config as pass-through
constants (keys starting with ``hb_``: suite file, seed, device, data dir, threads), so a trial is
self-contained whether it runs in a warm worker (``hyperion_bench.worker``) or as a fresh process of
Syne Tune's LocalBackend (``python trial.py --st_config_json_filename cfg.json``).
A failing trial prints one ``HB_ERROR: <type>: <message>`` line on stderr, which the recorder copies
into ``trials.csv``, and exits non-zero so Syne Tune marks it failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Any

ERROR_TAG = "HB_ERROR:"
CONSTANT_PREFIX = "hb_"

_SUITES: dict[str, Any] = {}  # registry-style caches: warm workers reuse parsed suites and data
_DATA: dict[tuple, Any] = {}


def split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the searched values from the harness's pass-through constants."""
    params = {k: v for k, v in config.items() if not k.startswith(CONSTANT_PREFIX) and not k.startswith("st_")}
    constants = {k[len(CONSTANT_PREFIX):]: v for k, v in config.items() if k.startswith(CONSTANT_PREFIX)}
    return params, constants


def load_trial_inputs(constants: dict[str, Any]) -> tuple[Any, Any]:
    """The suite and its dataset, cached per process so warm workers pay for them once."""
    from hyperion_bench.data import load_suite_data
    from hyperion_bench.suites import load_suite

    path = constants["suite"]
    if path not in _SUITES:
        _SUITES[path] = load_suite(path)
    suite = _SUITES[path]
    if suite.family == "synthetic":  # the trial is the function: no data
        return suite, None
    key = (suite.dataset, constants.get("data_dir"), suite.split_seed, suite.val_fraction, suite.test_fraction,
           tuple(sorted(suite.data_options.items())))
    if key not in _DATA:
        _DATA[key] = load_suite_data(suite, constants.get("data_dir") or None,
                                     download=bool(constants.get("download", False)))
    return suite, _DATA[key]


def run_trial(config: dict[str, Any], report: Any) -> dict[str, Any]:
    params, constants = split_config(config)
    suite, data = load_trial_inputs(constants)
    epochs = constants.get("epochs")
    if suite.family == "synthetic":
        from hyperion_bench.synthetic import evaluate_synthetic

        return evaluate_synthetic(suite, params, epochs=int(epochs) if epochs else None, report=report)

    import torch

    from hyperion_bench.evaluate import evaluate
    from hyperion_bench.lineage import Lineage

    torch.set_num_threads(int(constants.get("threads", 1)))
    return evaluate(
        suite,
        params,
        data,
        epochs=int(epochs) if epochs else None,
        report=report,
        seed=int(constants.get("seed", 0)),
        device=str(constants.get("device", "cpu")),
        deadline=float(constants["deadline"]) if constants.get("deadline") else None,
        lineage=Lineage.from_constants(constants),
    )


def run_reported(config: dict[str, Any]) -> int:
    """Run a trial with Syne Tune's Reporter; returns the exit code (0 ok, 1 failed)."""
    from syne_tune import Reporter

    try:
        run_trial(config, Reporter())
        return 0
    except Exception as exc:  # every failure becomes a failed trial, never a crashed run
        traceback.print_exc(file=sys.stderr)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"{ERROR_TAG} {type(exc).__name__}: {message}", file=sys.stderr, flush=True)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--st_config_json_filename", required=True)
    args, _ = parser.parse_known_args(argv)
    with open(args.st_config_json_filename) as f:
        config = json.load(f)
    return run_reported(config)


if __name__ == "__main__":
    sys.exit(main())
