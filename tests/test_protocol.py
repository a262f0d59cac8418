"""The trial protocol (``hb_`` constants, the error line) and the one atomic writer."""

from __future__ import annotations

import pytest

from hyperion_bench.atomic import write_atomic, write_text_atomic
from hyperion_bench.protocol import EPOCHS_KEY, ERROR_TAG, TrialConstants, error_line, split_config


def test_constants_round_trip_through_a_config_beside_the_searched_values():
    given = TrialConstants(suite="s.toml", seed=3, device="cuda:0", threads=2, data_dir="/d", download=True,
                           deadline=12.5, wallclock_s=60.0, folder="/out", epochs=4,
                           meta={"parent_checkpoint": "p.pt", "transform": "widen"})
    config = {"lr": 0.1, "op@0": "skip", "st_checkpoint_dir": "/ck", **given.to_config()}
    assert config[EPOCHS_KEY] == 4 and config["hb_suite"] == "s.toml" and config["hb_transform"] == "widen"
    assert TrialConstants.from_config(config) == given
    params, constants = split_config(config)
    assert params == {"lr": 0.1, "op@0": "skip"}  # neither hb_ nor Syne Tune's st_ keys
    assert constants["seed"] == 3 and constants["parent_checkpoint"] == "p.pt"


def test_epochs_only_when_set_and_meta_cannot_shadow_a_harness_constant():
    assert EPOCHS_KEY not in TrialConstants(suite="s.toml").to_config()
    with pytest.raises(AssertionError, match="seed"):
        TrialConstants(suite="s.toml", meta={"seed": 1}).to_config()


def test_the_error_line_is_the_type_and_the_first_line_of_the_message():
    assert error_line(ValueError("bad lr\nmore detail")) == f"{ERROR_TAG} ValueError: bad lr"
    assert error_line(RuntimeError()) == f"{ERROR_TAG} RuntimeError: "


def test_atomic_write_replaces_and_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "table.md"
    write_text_atomic(path, "one\n")
    write_text_atomic(path, "two\n")
    assert path.read_text() == "two\n"

    def half_then_fail(f):
        f.write(b"thr")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, half_then_fail)
    assert path.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]
