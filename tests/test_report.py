"""The report on a hand-made results directory: numbers by hand, golden files, fairness flags, plots."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hyperion_bench.cli import main
from hyperion_bench.report import load_trials, per_seed, render, summary_table

GOLDEN = Path(__file__).parent / "golden"
OBJECTIVES = {"weighted_sum": {"val_error": 1.0}, "pareto": ["val_error", "log10_n_params"],
              "reference_point": [1.0, 4.0]}


def write_seed(root, method, seed, rows, budget=None, hardware=None):
    folder = root / "toy" / method / f"seed-{seed}"
    folder.mkdir(parents=True)
    frame = pd.DataFrame(rows, columns=["status", "val_error", "log10_n_params", "test_error", "end_s",
                                        "peak_gpu_mem_mb"])
    frame.insert(0, "trial_id", range(len(frame)))
    frame["start_s"] = frame["end_s"] - 10.0
    frame["weighted_sum"] = frame["val_error"]
    frame.to_csv(folder / "trials.csv", index=False)
    meta = {"suite": "toy", "method": method, "seed": seed, "workers": 1, "objectives": OBJECTIVES,
            "budget": budget or {"wallclock_s": 60.0, "max_trials": None}, "wallclock_used_s": 60.0,
            "hardware": hardware or {"device": "cuda", "gpu": "Test GPU", "cpu_count": 2}}
    (folder / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture
def results(tmp_path):
    write_seed(tmp_path, "alpha", 0, [("completed", 0.5, 2.0, 0.55, 10, 100.0), ("completed", 0.2, 3.0, 0.3, 20, 300.0),
                                      ("failed", np.nan, np.nan, np.nan, 30, np.nan)])
    write_seed(tmp_path, "alpha", 1, [("completed", 0.4, 1.0, 0.5, 15, 120.0), ("completed", 0.6, 0.5, 0.6, 40, 80.0)])
    write_seed(tmp_path, "beta", 0, [("completed", 0.3, 2.0, 0.25, 5, 200.0), ("completed", 0.1, 3.5, 0.2, 50, 900.0)])
    # a dominated trial with the lowest test error: "test error of the best" (0.8) is not "best test error" (0.1)
    write_seed(tmp_path, "beta", 1, [("completed", 0.9, 1.0, 0.8, 10, 50.0), ("completed", 0.95, 1.5, 0.1, 20, 40.0)])
    write_seed(tmp_path, "gamma", 0, [("completed", 0.35, 1.5, 0.4, 10, 10.0)],
               budget={"wallclock_s": 120.0, "max_trials": None})
    return tmp_path


def test_numbers_by_hand(results):
    seeds = per_seed(load_trials(results)).set_index(["method", "seed"])
    # alpha seed 0: points (0.5, 2) and (0.2, 3), ref (1, 4): 0.5*2 + 0.3*1 = 1.3
    assert seeds.loc[("alpha", 0), "hypervolume"] == pytest.approx(1.3)
    # test re-evaluation of the validation Pareto set: (0.55, 2), (0.3, 3): 0.45*2 + 0.25*1 = 1.15
    assert seeds.loc[("alpha", 0), "test_hypervolume"] == pytest.approx(1.15)
    assert seeds.loc[("alpha", 0), "n_failed"] == 1
    assert seeds.loc[("alpha", 0), "gpu_hours"] == pytest.approx(30 / 3600)
    assert seeds.loc[("beta", 0), "test_error_of_best"] == 0.2
    assert seeds.loc[("beta", 1), "test_error_of_best"] == 0.8  # not its lowest test error, 0.1
    assert seeds.loc[("beta", 1), "hypervolume"] == pytest.approx(0.1 * 3.0)  # the dominated point adds nothing
    table = summary_table(load_trials(results), warn=False).set_index("method")
    assert table.loc["alpha", "best_val_error_mean"] == pytest.approx(0.3)
    assert table.loc["alpha", "peak_gpu_mem_mb"] == 300.0
    assert table.loc["gamma", "fairness"].startswith("budget 120s")
    assert table.loc["alpha", "fairness"] == "ok"


@pytest.mark.parametrize("fmt,ext", [("md", "md"), ("csv", "csv"), ("latex", "tex")])
def test_golden_tables(results, fmt, ext, request):
    text = render(summary_table(load_trials(results), warn=False), fmt)
    golden = GOLDEN / f"report.{ext}"
    if request.config.getoption("--update-golden", default=False):
        golden.write_text(text)
    assert text == golden.read_text()


def test_best_values_are_marked(results):
    md = render(summary_table(load_trials(results), warn=False), "md")
    rows = {line.split(" | ")[1]: line for line in md.splitlines()[2:]}
    assert rows["alpha"].count("**") == 2 * 4  # best val error, weighted sum, test error (tied), hypervolume
    assert "**" not in rows["beta"]
    assert "**1.5**" in rows["gamma"]  # the best test hypervolume
    latex = render(summary_table(load_trials(results), warn=False), "latex")
    assert "\\textbf{" in latex and "\\begin{tabular}" in latex


def test_unfair_rows_are_flagged_on_stderr(results, capsys):
    summary_table(load_trials(results))
    err = capsys.readouterr().err
    assert "toy/gamma ran under different conditions" in err and "alpha" not in err


def test_report_cli_writes_all_formats_and_plots(results, capsys):
    assert main(["report", str(results), "--format", "latex", "--plots"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "report.tex").read_text()  # the table asked for, on stdout
    folder = results / "report"
    for ext in ("md", "csv", "tex"):
        assert (folder / f"summary.{ext}").read_text() == (GOLDEN / f"report.{ext}").read_text()
    stems = ("toy_hypervolume_over_time", "toy_hypervolume_over_trials", "toy_pareto_fronts",
             "toy_weighted_sum_over_trials", "toy_peak_gpu_memory", "toy_attainment", "toy_rank_over_time")
    for stem in stems:
        assert (folder / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
        assert (folder / f"{stem}.png").stat().st_size > 1000 and (folder / f"{stem}.pdf").stat().st_size > 1000
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".png") == sorted(f"{stem}.png" for stem in stems)


def test_hypervolume_over_trials_counts_failed_trials_as_spent_budget(results):
    from hyperion_bench.metrics import hypervolume
    from hyperion_bench.plots import _hypervolume_curves

    trials = load_trials(results)
    curves = _hypervolume_curves(trials[trials["method"] == "alpha"], OBJECTIVES, axis="trials")
    (x0, hv0), (x1, hv1) = curves["alpha"]
    assert list(x0) == [1.0, 2.0]  # seed 0's third trial failed: no point, but it was trial 3
    ref = OBJECTIVES["reference_point"]
    assert hv0[-1] == pytest.approx(hypervolume([[0.5, 2.0], [0.2, 3.0]], ref))
    assert hv1[0] == pytest.approx(hypervolume([[0.4, 1.0]], ref))


def test_hyperion_figure_7_is_drawn_from_trials_csv(tmp_path):
    from hyperion_bench.plots import plot_hyperion_decisions

    rows = []
    for i, (split_k, inner_k) in enumerate([("inner", "3|5"), ("outer", None), ("inner", "7")]):
        rows.append({"status": "completed", "end_s": 10.0 * (i + 1), "config_split@op": "outer",
                     "config_split@kernel": split_k, "config_inner@kernel": inner_k,
                     "config_kernel@0": None if inner_k else 3.0, "config_kernel@1": None if inner_k else 9.0,
                     "config_op@0": "conv", "config_op@1": "skip", "method": "hyperion", "seed": 0,
                     "suite": "toy", "budget": "60 s"})
    paths = plot_hyperion_decisions(pd.DataFrame(rows), tmp_path)
    assert sorted(p.name for p in paths) == ["toy_hyperion_decisions.pdf", "toy_hyperion_decisions.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert plot_hyperion_decisions(pd.DataFrame(rows).assign(method="tpe"), tmp_path) == []


def test_hardware_names_the_cores_a_run_could_use_not_the_hosts():
    """A run pinned to one core of a 2-core machine (taskset) was reported as "cpu x2": the cores it
    could use are what its wall-clock numbers depend on."""
    from hyperion_bench.report import hardware_text

    assert hardware_text({"device": "cpu", "cpu_count": 2, "usable_cpus": 1}) == "cpu x1 (of 2)"
    assert hardware_text({"device": "cpu", "cpu_count": 2, "usable_cpus": 2}) == "cpu x2"
    assert hardware_text({"device": "cpu", "cpu_count": 4}) == "cpu x4"  # metadata written before usable_cpus
    assert hardware_text({"device": "cuda", "gpu": "H200"}) == "cuda: H200"


def test_trials_stopped_by_the_budget_are_counted_apart_and_never_best(tmp_path):
    """Issue 14, part 5: a trial the wall clock cut keeps its last epoch's metrics in its row, but the
    best-of columns use completed trials only, and n_stopped shows what the budget cut."""
    write_seed(tmp_path, "alpha", 0, [("completed", 0.5, 2.0, 0.55, 10, 100.0), ("stopped", 0.1, 1.0, 0.1, 20, 90.0),
                                      ("failed", np.nan, np.nan, np.nan, 30, np.nan)])
    table = summary_table(load_trials(tmp_path), warn=False).set_index("method")
    assert table.loc["alpha", "n_stopped"] == 1 and table.loc["alpha", "n_failed"] == 1
    assert table.loc["alpha", "n_trials"] == 3
    assert table.loc["alpha", "best_val_error_mean"] == 0.5 and table.loc["alpha", "best_weighted_sum_mean"] == 0.5
    assert table.loc["alpha", "test_error_of_best_mean"] == 0.55
