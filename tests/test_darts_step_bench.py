"""benchmarks/darts_step.py runs end to end on the CPU (--quick) and refuses bad options."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hyperion_bench.errors import UserError

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "darts_step.py"


def load_script():
    spec = importlib.util.spec_from_file_location("darts_step_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    threads = torch.get_num_threads()
    yield load_script()
    torch.set_num_threads(threads)


def test_quick_run_checks_times_and_writes_markdown_and_json(bench, tmp_path, capsys):
    out = tmp_path / "r" / "cpu.md"
    assert bench.main(["--quick", "--device", "cpu", "--threads", "1", "--only", "darts-8,table3-reduced",
                       "--out", str(out)]) == 0
    text = out.read_text()
    assert "Command: `python benchmarks/darts_step.py --quick" in text
    assert text.count("| fast |") == 5 and text.count("PASS") == 5
    meta = json.loads(out.with_suffix(".json").read_text())
    assert {"command", "device", "torch", "date"} <= set(meta) and meta["complete"] is True
    assert "Incomplete" not in text
    assert {(r["order"], r["path"]) for r in meta["rows"]} == {(o, p) for o in (1, 2) for p in ("reference", "fast")}
    assert all(r["ms_per_step"] > 0 for r in meta["rows"])
    ops = {(r["path"], r["order"]): r["ops_per_step"] for r in meta["rows"] if r["space"] == "darts-8"}
    assert all(0 < ops["fast", o] < ops["reference", o] for o in (1, 2))  # the fast path dispatches fewer ops


def test_the_table3_spaces():
    bench = load_script()
    full = bench.table3_full(4)
    assert len(full[0]) == 25  # 8 pools (activation ignored) + skip + 16 convs
    reduced = bench.table3_reduced(4)
    assert [sorted({c[1] for c in node}) for node in reduced] == [[3], [5], [7], [9]]
    assert all({c[0] for c in node} == {"sep_conv", "dil_conv"} for node in reduced)


def test_bad_options_are_user_errors(bench):
    with pytest.raises(UserError, match="--only"):
        bench.main(["--quick", "--device", "cpu", "--only", "nope"])
    with pytest.raises(UserError, match="--steps"):
        bench.main(["--quick", "--device", "cpu", "--steps", "0"])
    with pytest.raises(UserError, match="--compile: unknown mode.*nope"):
        bench.main(["--quick", "--device", "cpu", "--compile", "default,nope"])
    with pytest.raises(UserError, match="--check-batch must be at least 1"):
        bench.main(["--quick", "--device", "cpu", "--check-batch", "0"])
    with pytest.raises(UserError, match="--orders"):
        bench.main(["--quick", "--device", "cpu", "--orders", "3"])
    with pytest.raises(UserError, match="select no row"):
        bench.main(["--quick", "--device", "cpu", "--only", "table3-full", "--orders", "2"])
    with pytest.raises(UserError, match="--inputs: unknown shape.*3x32x32"):
        bench.main(["--quick", "--device", "cpu", "--inputs", "3x32x32"])  # --quick's inputs are 3x8x8 and 1x7x7


def test_script_exits_2_with_one_line_on_bad_input():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--batch", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --batch must be at least 1, got 0"


def test_compiled_rows_are_checked_and_timed(bench, tmp_path, monkeypatch):
    """--compile's rows, with torch.compile's backend swapped for aot_eager (inductor takes minutes here)."""
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda net, mode=None: real(net, backend="aot_eager"))
    out = tmp_path / "c.md"
    assert bench.main(["--quick", "--device", "cpu", "--threads", "1", "--only", "table3-reduced",
                       "--compile", "reduce-overhead", "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["path"] for r in rows] == ["reference", "fast", "fast+compile:reduce-overhead"]
    compiled = rows[-1]
    assert compiled["check"] and compiled["ops_per_step"] is None and compiled["first_step_s"] > 0


def test_a_failing_compile_is_a_failed_row_not_the_end_of_the_run(bench, tmp_path, monkeypatch):
    def broken(net, mode=None):
        raise RuntimeError("inductor exploded\nsecond line")

    monkeypatch.setattr(torch, "compile", broken)
    out = tmp_path / "c.md"
    assert bench.main(["--quick", "--device", "cpu", "--threads", "1", "--only", "table3-reduced",
                       "--compile", "default,max-autotune", "--out", str(out)]) == 1
    text = out.read_text()
    assert text.count("FAIL (RuntimeError: inductor exploded)") == 2 and text.count("PASS") == 1
    assert "second line" not in text


def test_hyperdarts_rows_are_first_order_checked_and_timed(bench, tmp_path):
    out = tmp_path / "hyper.md"
    assert bench.main(["--quick", "--device", "cpu", "--threads", "1", "--only", "darts-8", "--inputs", "1x7x7",
                       "--hyperdarts", "--out", str(out)]) == 0
    records = json.loads(out.with_suffix(".json").read_text())["rows"]
    hyper = [r for r in records if r["path"] == "fast+hyperdarts"]
    assert [r["order"] for r in hyper] == [1]  # no second order: its architecture gradient is exact
    assert hyper[0]["check"] and hyper[0]["max_rel_err_fp32"] < 1e-4 and hyper[0]["ms_per_step"] > 0
