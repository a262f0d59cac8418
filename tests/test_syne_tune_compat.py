"""Syne Tune can read our runs back (issue 14, part 6). Reported from outside: ``load_experiment`` loaded
them, but ``best_config()`` and ``metric_names()`` raised ``KeyError: 'metric_names'`` for every method,
because our schedulers' metadata dropped the metric names and mode."""

from __future__ import annotations

import pytest
from syne_tune.experiments import load_experiment

from hyperion_bench.cli import main


@pytest.mark.parametrize("method, metrics", [
    ("random", ["weighted_sum"]),
    ("tpe", ["weighted_sum"]),
    ("mo-random", ["f1", "f2"]),
    ("moasha", ["f1", "f2"]),
])
def test_load_experiment_reads_a_run_back(tmp_path, method, metrics):
    assert main(["run", "--suite", "zdt1", "--methods", method, "--max-trials", "4", "--seeds", "1",
                 "--out", str(tmp_path)]) == 0
    experiment = load_experiment("syne-tune", local_path=str(tmp_path / "zdt1" / method / "seed-0"))
    assert experiment.metric_names() == metrics
    assert experiment.metric_mode() == "min"
    best = experiment.best_config()
    assert best[metrics[0]] == experiment.results[metrics[0]].min()
