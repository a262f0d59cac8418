"""Method settings with one owner (issue 19, part 2): Hyperion's defaults live in baselines/hyperion.toml
only, read once into a typed object; the suite's [hyperion] table, its [baselines.hyperion] table and the
command line (--method-option hyperion.KEY=VALUE, --outer as its shorthand) override them, in that order.
The inner one-shot loop likewise: baselines/darts.toml and hyperdarts.toml, the suite's [oneshot] /
[hyperdarts] tables, its [baselines.darts] / [baselines.hyperdarts] tables, the command line."""

from __future__ import annotations

import json
import tomllib

import pytest
from test_runner import FAST_DIGITS

from conftest import CELL_SUITE, write_suite
from hyperion_bench.cli import main
from hyperion_bench.errors import UserError
from hyperion_bench.method_settings import (
    BASELINES_DIR,
    HyperDartsSettings,
    HyperionSettings,
    OneShotSettings,
    inner_loop_options,
    with_outer,
)
from hyperion_bench.methods import make_run_scheduler
from hyperion_bench.oneshot import full_inner_config
from hyperion_bench.plan import decode
from hyperion_bench.suites import DEFAULTS, load_suite


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


# ---------------------------------------------------------------- the inner loop: darts and hyperdarts
def test_the_inner_loop_defaults_are_the_darts_and_hyperdarts_files(tmp_path):
    for name, cls in (("darts", OneShotSettings), ("hyperdarts", HyperDartsSettings)):
        published = tomllib.loads((BASELINES_DIR / f"{name}.toml").read_text())["settings"]
        assert cls.of().as_dict() == published
    suite = load_suite(write_suite(tmp_path, CELL_SUITE))
    assert suite.oneshot == OneShotSettings.of().as_dict() and suite.hyperdarts == HyperDartsSettings.of().as_dict()


def test_inner_loop_overrides_apply_in_order_oneshot_table_then_baselines_table_then_command_line(tmp_path):
    body = ("[oneshot]\nepochs = 3\nw_lr = 0.1\n[baselines.darts]\nepochs = 2\n"
            "[hyperdarts]\na_lr = 1e-3\n[baselines.hyperdarts]\nhypernet = \"linear\"\n")
    suite = load_suite(write_suite(tmp_path, CELL_SUITE + body))
    assert (suite.oneshot["epochs"], suite.oneshot["w_lr"]) == (2, 0.1)
    assert (suite.hyperdarts["a_lr"], suite.hyperdarts["hypernet"]) == (1e-3, "linear")
    cli = inner_loop_options({"darts": {"epochs": "1"}, "hyperdarts": {"w_lr": "0.2"}}, suite.oneshot,
                             suite.hyperdarts)
    assert cli == {"darts": {"epochs": 1}, "hyperdarts": {"w_lr": 0.2}}
    config = {**full_inner_config(suite.space, DEFAULTS), "inner_optimizer": "hyperdarts"}
    search = decode(suite, config, oneshot=cli).search
    assert (search.settings.epochs, search.settings.w_lr, search.settings.a_lr, search.hypernet) == (1, 0.2, 1e-3,
                                                                                                    "linear")
    assert decode(suite, config).search.settings.epochs == 2  # without the command line: the suite's


@pytest.mark.parametrize("body, message", [
    ("[oneshot]\norder = 3\n", r"oneshot\.order: must be 1 or 2"),
    ("[baselines.darts]\nsearch_fraction = 0.0\n", r"baselines\.darts\.search_fraction: must lie in \(0, 1\]"),
    ("[oneshot]\ncompile = \"fast\"\n", r"oneshot\.compile: must be"),
    ("[baselines.hyperdarts]\nw_lr_min = 1.0\n", r"baselines\.hyperdarts\.w_lr_min: must lie in \[0, w_lr\]"),
    ("[baselines.darts]\nalpha = 1.0\n", "darts has no meta-parameter 'alpha'"),
])
def test_bad_inner_loop_settings_in_a_suite_are_one_line_errors(tmp_path, body, message):
    with pytest.raises(UserError, match=message):
        load_suite(write_suite(tmp_path, CELL_SUITE + body))


def test_the_command_line_sets_the_inner_loop_of_the_trials_and_the_record(tmp_path, capsys):
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05") + "\n[oneshot]\nepochs = 2\n")
    out = tmp_path / "out"
    assert main(["run", "--suite", str(suite), "--methods", "darts", "--method-option", "darts.epochs=1",
                 "--max-trials", "1", "--out", str(out), "--quiet"]) == 0
    folder = out / "s" / "darts" / "seed-0"
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["method_settings"]["epochs"] == 1 and meta["inner_loop"]["darts"]["epochs"] == 1
    assert [json.loads(line)["search_epochs"] for line in (folder / "trials.jsonl").read_text().splitlines()] == [1]
    for options, message in ((["darts.order=3"], "darts.order: must be 1 or 2"),
                             (["hyperdarts.hypernet=conv"], 'must be "mlp" or "linear"')):
        args = ["run", "--suite", str(suite), "--methods", "hyperion", "--max-trials", "1",
                "--out", str(tmp_path / "o2")]
        assert main(args + [f"--method-option={o}" for o in options]) == 2
        assert message in capsys.readouterr().err
    # a Hyperion run records the inner loop its searching trials ran with, the command line's values included
    assert main(["run", "--suite", str(suite), "--methods", "hyperion", "--max-trials", "1", "--quiet",
                 "--method-option", "darts.epochs=1", "--method-option", "hyperdarts.hidden=8",
                 "--out", str(tmp_path / "o4")]) == 0
    meta = json.loads((tmp_path / "o4" / "s" / "hyperion" / "seed-0" / "metadata.json").read_text())
    assert (meta["inner_loop"]["darts"]["epochs"], meta["inner_loop"]["hyperdarts"]["hidden"]) == (1, 8)
    # an inner-loop option without a method that searches inside is a mistake, not silently ignored
    assert main(["run", "--suite", str(suite), "--methods", "tpe", "--method-option", "darts.epochs=1",
                 "--max-trials", "1", "--out", str(tmp_path / "o3")]) == 2
    assert "not among --methods" in capsys.readouterr().err
