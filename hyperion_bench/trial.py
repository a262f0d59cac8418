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

from hyperion_bench.protocol import ERROR_TAG, PREFIX, TrialConstants, error_line, split_config

__all__ = ["ERROR_TAG", "PREFIX", "split_config", "load_trial_inputs", "run_trial", "run_reported", "main"]

_SUITES: dict[str, Any] = {}  # registry-style caches: warm workers reuse parsed suites and data
_DATA: dict[tuple, Any] = {}


def load_trial_inputs(given: TrialConstants) -> tuple[Any, Any]:
    """The suite and its dataset (None when its trials need none), cached per process so warm workers pay
    for them once."""
    from hyperion_bench.problems import problem_of
    from hyperion_bench.suites import load_suite

    if given.suite not in _SUITES:
        _SUITES[given.suite] = load_suite(given.suite)
    suite = _SUITES[given.suite]
    problem = problem_of(suite)
    if problem.in_process:  # the trial is the function: no data
        return suite, None
    key = (suite.dataset, given.data_dir, suite.split_seed, suite.val_fraction, suite.test_fraction,
           tuple(sorted(suite.data_options.items())))
    if key not in _DATA:
        _DATA[key] = problem.load_data(given.data_dir or None, download=bool(given.download))
    return suite, _DATA[key]


def run_trial(config: dict[str, Any], report: Any) -> dict[str, Any]:
    from hyperion_bench.problems import problem_of

    params, _ = split_config(config)
    given = TrialConstants.from_config(config)
    suite, data = load_trial_inputs(given)
    return problem_of(suite).evaluate(params, data, given, report)


def run_reported(config: dict[str, Any]) -> int:
    """Run a trial with Syne Tune's Reporter; returns the exit code (0 ok, 1 failed)."""
    from syne_tune import Reporter

    try:
        run_trial(config, Reporter())
        return 0
    except Exception as exc:  # every failure becomes a failed trial, never a crashed run
        traceback.print_exc(file=sys.stderr)
        print(error_line(exc), file=sys.stderr, flush=True)
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
