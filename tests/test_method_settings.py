"""Method settings with one owner (issue 19, part 2): Hyperion's defaults live in baselines/hyperion.toml
only, read once into a typed object; the suite's [hyperion] table, its [baselines.hyperion] table and the
command line (--method-option hyperion.KEY=VALUE, --outer as its shorthand) override them, in that order."""

from __future__ import annotations

import json
import tomllib

import pytest
from test_runner import FAST_DIGITS

from conftest import CELL_SUITE, write_suite
from hyperion_bench.cli import main
from hyperion_bench.errors import UserError
from hyperion_bench.method_settings import BASELINES_DIR, HyperionSettings, with_outer
from hyperion_bench.methods import make_run_scheduler
from hyperion_bench.suites import load_suite


def test_the_defaults_are_the_files_and_nothing_else(tmp_path):
    published = tomllib.loads((BASELINES_DIR / "hyperion.toml").read_text())["settings"]
    assert HyperionSettings.of().as_dict() == published
    assert load_suite(write_suite(tmp_path, CELL_SUITE)).hyperion == published


def _settings(tmp_path, body: str, options: dict | None = None) -> dict:
    suite = load_suite(write_suite(tmp_path, CELL_SUITE + body))
    sched = make_run_scheduler("hyperion", suite=suite, seed=0, max_trials=2, constants={}, options=options)
    return sched.optimizer.settings


def test_overrides_apply_in_order_suite_table_then_baselines_table_then_command_line(tmp_path):
    assert _settings(tmp_path, "[hyperion]\nn_init = 3\n")["n_init"] == 3
    both = "[hyperion]\nn_init = 3\nn_m = 2\n[baselines.hyperion]\nn_init = 4\n"
    assert _settings(tmp_path, both) == {**HyperionSettings.of().as_dict(), "n_init": 4, "n_m": 2}
    assert _settings(tmp_path, both, {"n_init": "6", "outer": "anneal"})["n_init"] == 6
    assert _settings(tmp_path, both, {"outer": "anneal"})["outer"] == "anneal"


@pytest.mark.parametrize("options, message", [
    ({"n_init": "-1"}, "hyperion.n_init: must be at least 0"),
    ({"outer": "smac"}, "unknown outer optimiser 'smac'"),
    ({"n_m": "two"}, "cannot read 'two' as int"),
    ({"depth": "3"}, "hyperion has no meta-parameter 'depth'"),
])
def test_bad_overrides_are_one_line_errors(tmp_path, options, message):
    with pytest.raises(UserError, match=message):
        _settings(tmp_path, "", options)


def test_outer_is_shorthand_for_the_method_option():
    assert with_outer({}, "anneal", ["hyperion", "tpe"]) == {"hyperion": {"outer": "anneal"}}
    assert with_outer({}, "anneal", ["tpe"]) == {}  # no hyperion in the run: nothing to set
    assert with_outer({"hyperion": {"outer": "anneal"}}, "anneal", ["hyperion"]) == {"hyperion": {"outer": "anneal"}}
    with pytest.raises(UserError, match="disagree"):
        with_outer({"hyperion": {"outer": "tpe"}}, "anneal", ["hyperion"])


def test_the_command_line_records_what_hyperion_ran_with(tmp_path, capsys):
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05, 0.1") + "\n[hyperion]\nn_init = 1\n")
    assert main(["run", "--suite", str(suite), "--methods", "hyperion", "--max-trials", "1", "--outer", "random",
                 "--method-option", "hyperion.max_candidates=4", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    meta = json.loads((tmp_path / "out" / "s" / "hyperion" / "seed-0" / "metadata.json").read_text())
    assert meta["method_settings"] == {**HyperionSettings.of().as_dict(), "n_init": 1, "outer": "random",
                                       "max_candidates": 4}
    assert main(["run", "--suite", str(suite), "--methods", "hyperion", "--max-trials", "1", "--outer", "random",
                 "--method-option", "hyperion.outer=tpe", "--out", str(tmp_path / "o2")]) == 2
    assert "disagree" in capsys.readouterr().err
