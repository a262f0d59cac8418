"""The report's statistics and text, each checked against numbers worked out by hand (issue 18: the
mutants of report.py that test_report.py let through). Small frames built in memory, no runs."""

import json

import numpy as np
import pandas as pd
import pytest

from hyperion_bench.errors import UserError
from hyperion_bench.report import (
    best_cells,
    budget_text,
    fairness_flags,
    friedman_results,
    friedman_text,
    hardware_text,
    load_trials,
    mo_indicators,
    objective_vectors,
    paper_table,
    per_seed,
    render,
    render_paper_table,
    render_tests,
    seed_metrics,
    suite_means,
    summary_table,
)

MO = {"weighted_sum": {"val_error": 1.0}, "pareto": ["val_error", "log10_n_params"], "reference_point": [1.0, 4.0]}
SO = {"weighted_sum": {"val_error": 1.0}}
NAN = float("nan")


def trials_frame(runs):
    """Trial rows as ``load_trials`` gives them. ``runs``: (suite, method, seed, objectives, rows), each row
    (status, val_error, log10_n_params, test_error); run-level columns as a 2-core CPU run records them."""
    out = []
    for suite, method, seed, objectives, rows in runs:
        for i, (status, val, params, test) in enumerate(rows):
            out.append({"trial_id": i, "status": status, "val_error": val, "log10_n_params": params,
                        "test_error": test, "weighted_sum": val, "start_s": 10.0 * i, "end_s": 10.0 * i + 10.0,
                        "suite": suite, "method": method, "seed": seed, "wallclock_used_s": 60.0, "budget": "60s",
                        "workers": 1, "hardware": "cpu x2", "objectives": json.dumps(objectives, sort_keys=True)})
    return pd.DataFrame(out)


def write_run(root, folder, trials, meta):
    """``root/folder/trials.csv`` (from row dicts) and its metadata.json (None: no metadata file)."""
    path = root / folder
    path.mkdir(parents=True)
    pd.DataFrame(trials, columns=["status", "val_error", "weighted_sum"]).to_csv(path / "trials.csv", index=False)
    if meta is not None:
        (path / "metadata.json").write_text(json.dumps(meta))


ONE_TRIAL = [{"status": "completed", "val_error": 0.5, "weighted_sum": 0.5}]


# ---------------------------------------------------------------------------- load_trials, budget, hardware
def test_metadata_names_the_suite_and_method_over_the_folder_names(tmp_path):
    """A copied folder may be renamed; the run says what it was in its metadata."""
    write_run(tmp_path, "renamed/folder/seed-3", ONE_TRIAL, {"suite": "toy", "method": "alpha", "workers": 2})
    trials = load_trials(tmp_path)
    assert list(trials["suite"]) == ["toy"] and list(trials["method"]) == ["alpha"]
    assert list(trials["seed"]) == [3] and list(trials["workers"]) == [2]


def test_interrupted_and_empty_seed_folders_are_skipped_not_the_end_of_the_scan(tmp_path):
    """seed-0.interrupted-* and an empty trials.csv sort before seed-1: skipping them must not stop the scan."""
    write_run(tmp_path, "toy/a/seed-0.interrupted-1", ONE_TRIAL, {})
    write_run(tmp_path, "toy/a/seed-0", [], {})
    write_run(tmp_path, "toy/a/seed-1", ONE_TRIAL * 2, {})
    trials = load_trials(tmp_path)
    assert list(trials["seed"]) == [1, 1]
    assert list(trials["suite"]) == ["toy", "toy"] and list(trials["method"]) == ["a", "a"]  # from the folders


def test_a_run_without_metadata_has_missing_numbers_as_nan_and_unknown_texts(tmp_path):
    """No metadata.json: wall clock and workers are NaN (numbers, so means skip them), texts say 'unknown'."""
    write_run(tmp_path, "toy/a/seed-0", ONE_TRIAL, None)
    trials = load_trials(tmp_path)
    for col in ("wallclock_used_s", "workers"):
        assert trials[col].dtype == float and trials[col].isna().all()
    assert list(trials["budget"]) == ["unknown"] and list(trials["hardware"]) == ["unknown"]
    assert list(trials["objectives"]) == ["{}"]


def test_objectives_read_in_any_key_order_are_one_text(tmp_path):
    """Two seeds whose metadata lists the objectives' keys in different orders ran the same objectives."""
    first = {"pareto": ["val_error", "n_params"], "reference_point": [1, 2], "weighted_sum": {"val_error": 1}}
    second = dict(reversed(list(first.items())))
    write_run(tmp_path, "toy/a/seed-0", ONE_TRIAL, {"objectives": first})
    write_run(tmp_path, "toy/a/seed-1", ONE_TRIAL, {"objectives": second})
    texts = set(load_trials(tmp_path)["objectives"])
    assert texts == {'{"pareto": ["val_error", "n_params"], "reference_point": [1, 2], '
                     '"weighted_sum": {"val_error": 1}}'}


def test_a_run_in_two_result_folders_is_said_once_and_the_first_copy_kept(tmp_path, capsys):
    """Shards copied from two machines may overlap; a run must not count twice."""
    write_run(tmp_path / "m1", "toy/a/seed-0", ONE_TRIAL, {"wallclock_used_s": 1.0})
    write_run(tmp_path / "m2", "toy/a/seed-0", ONE_TRIAL, {"wallclock_used_s": 2.0})
    write_run(tmp_path / "m2", "toy/a/seed-1", ONE_TRIAL, {"wallclock_used_s": 3.0})
    trials = load_trials(tmp_path / "m1", tmp_path / "m2")
    assert list(trials["seed"]) == [0, 1] and list(trials["wallclock_used_s"]) == [1.0, 3.0]
    err = capsys.readouterr().err
    assert err == (f"warning: toy/a/seed-0 is in {tmp_path / 'm1'} and in {tmp_path / 'm2'}; "
                   f"the report keeps the one in {tmp_path / 'm1'}\n")


def test_load_errors_say_what_is_wrong(tmp_path):
    """A wrong path must say what was expected, not fail with a pandas error."""
    with pytest.raises(UserError, match=r"^report: .*missing is not a directory$"):
        load_trials(tmp_path / "missing")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(UserError) as error:
        load_trials(tmp_path / "a", tmp_path / "b")
    assert str(error.value) == (f"report: no trials.csv under {tmp_path / 'a'}, {tmp_path / 'b'} "
                                "(expected <suite>/<method>/seed-<k>/trials.csv)")


def test_budget_text_names_each_recorded_limit():
    assert budget_text({"wallclock_s": 60.0, "max_trials": 50}) == "60s / 50 trials"
    assert budget_text({"max_trials": 50}) == "50 trials"
    assert budget_text({"wallclock_s": 0.5, "max_trials": None}) == "0.5s"
    assert budget_text({}) == "unknown" and budget_text({"wallclock_s": None, "max_trials": None}) == "unknown"


def test_hardware_text_with_missing_fields_says_question_mark_or_unknown():
    """Old or partial metadata: the text must show what is missing, not 'None'."""
    assert hardware_text({}) == "unknown"
    assert hardware_text({"device": "cuda"}) == "cuda: ?"
    assert hardware_text({"device": "cuda:1", "gpu": "H200", "gpus_per_trial": 0.5}) == "cuda: H200, 0.5 GPU/trial"
    assert hardware_text({"device": "cuda", "gpu": "H200", "gpus_per_trial": 1}) == "cuda: H200, 1 GPU/trial"
    assert hardware_text({"device": "cpu"}) == "cpu x?"
    assert hardware_text({"gpu": "H200", "cpu_count": 8}) == "cpu x8"  # no device recorded: not a GPU run
    assert hardware_text({"device": "cpu", "cpu_count": 8, "usable_cpus": 8}) == "cpu x8"


# ---------------------------------------------------------------------------- objective vectors, per seed
def test_objective_vectors_swap_in_test_metrics_only_when_asked():
    """neg_val_accuracy_pct has no test column: on the test side it is -100 * (1 - test_error)."""
    frame = pd.DataFrame({"neg_val_accuracy_pct": [-80.0, -70.0], "val_error": [0.2, 0.3], "test_error": [0.25, 0.1],
                          "log10_n_params": [3, 4]})
    objectives = {"pareto": ["neg_val_accuracy_pct", "log10_n_params"]}
    assert objective_vectors(frame, objectives).tolist() == [[-80.0, 3.0], [-70.0, 4.0]]
    assert objective_vectors(frame, objectives, test=True).tolist() == [[-75.0, 3.0], [-90.0, 4.0]]
    assert objective_vectors(frame, {"pareto": ["val_error"]}, test=True).tolist() == [[0.25], [0.1]]
    assert objective_vectors(frame, {"pareto": ["val_error"]}).tolist() == [[0.2], [0.3]]
    empty = objective_vectors(frame, SO)
    assert empty.shape == (2, 0)


def test_per_seed_rows_come_sorted_whatever_the_order_of_the_trials():
    trials = trials_frame([("toy", "b", 1, SO, [("completed", 0.3, 1.0, 0.3)]),
                           ("toy", "a", 1, SO, [("completed", 0.2, 1.0, 0.2)]),
                           ("toy", "a", 0, SO, [("completed", 0.4, 1.0, 0.4)]),
                           ("box", "b", 0, SO, [("completed", 0.5, 1.0, 0.5)])])
    seeds = per_seed(trials)
    assert list(zip(seeds["suite"], seeds["method"], seeds["seed"], strict=True)) == [
        ("box", "b", 0), ("toy", "a", 0), ("toy", "a", 1), ("toy", "b", 1)]
    assert list(seeds["best_val_error"]) == [0.5, 0.4, 0.2, 0.3]


def test_a_cpu_run_has_no_gpu_hours():
    seeds = per_seed(trials_frame([("toy", "a", 0, SO, [("completed", 0.3, 1.0, 0.3)] * 3)]))
    assert seeds["gpu_hours"].tolist() == [0.0]


def test_a_seed_whose_trials_all_failed_keeps_its_row_with_empty_best_values():
    """Its failures count, and the best-of columns exist (NaN) so that the summary's columns do not depend on luck."""
    seeds = per_seed(trials_frame([("toy", "a", 0, MO, [("failed", NAN, NAN, NAN)] * 2)]))
    assert set(seeds.columns) == {"suite", "method", "seed", "n_trials", "n_failed", "n_stopped", "wallclock_used_s",
                                  "budget", "workers", "hardware", "gpu_hours", "peak_gpu_mem_mb", "best_val_error",
                                  "best_weighted_sum", "test_error_of_best", "hypervolume", "test_hypervolume"}
    assert seeds.loc[0, "n_failed"] == 2 and seeds.loc[0, "n_trials"] == 2
    assert seeds[["best_val_error", "best_weighted_sum", "test_error_of_best", "hypervolume"]].isna().all().all()


def test_a_run_without_val_or_test_error_columns_still_has_its_best_weighted_sum():
    """A suite whose objective is not the validation error (no val_error / test_error columns)."""
    trials = trials_frame([("toy", "a", 0, SO, [("completed", 0.3, 1.0, 0.3), ("completed", 0.1, 1.0, 0.2)])])
    seeds = per_seed(trials.drop(columns=["val_error", "test_error"]))
    assert seeds.loc[0, "best_weighted_sum"] == 0.1
    assert np.isnan(seeds.loc[0, "best_val_error"])
    assert seeds["test_error_of_best"].dtype == float and np.isnan(seeds.loc[0, "test_error_of_best"])


# ---------------------------------------------------------------------------- MO indicators
def mo_trials():
    """Suite 'toy': a's completed points (0.2, 3) and (0.5, 2) plus a failed and a *stopped* (0.1, 1) trial,
    b's point (0.4, 1); union front {(0.2, 3), (0.4, 1)}, HV 2.0 for reference (1, 4). Suite 'box': one point.
    'a-single' is single-objective with one trial; 'm-failed' has only failed trials. Rows out of order."""
    return trials_frame([
        ("toy", "b", 0, MO, [("completed", 0.4, 1.0, 0.4)]),
        ("toy", "a", 0, MO, [("completed", 0.2, 3.0, 0.2), ("completed", 0.5, 2.0, 0.5), ("failed", NAN, NAN, NAN),
                             ("stopped", 0.1, 1.0, 0.1)]),
        ("box", "a", 0, MO, [("completed", 0.5, 0.5, 0.5)]),
        ("a-single", "a", 0, SO, [("completed", 0.5, 0.5, 0.5)]),
        ("m-failed", "a", 0, MO, [("failed", NAN, NAN, NAN)] * 2),
    ])


def test_mo_indicators_by_hand_on_the_union_front():
    """HV(a) = 0.8 + 1.0 - 0.5 = 1.3, HV(b) = 0.6 * 3 = 1.8, HV(front) = 2.0. IGD+ (mean over the front of
    the smallest distance counting only where a point is worse): a: (0 + |(0.1, 1)|) / 2, b: (0.2 + 0) / 2.
    Stopped and failed trials are not points, and a suite without a front or points gives no row."""
    ind = mo_indicators(mo_trials())
    assert list(ind.columns) == ["suite", "method", "seed", "front", "igd_plus", "hv_relative"]
    assert list(zip(ind["suite"], ind["method"], ind["seed"], strict=True)) == [("box", "a", 0), ("toy", "a", 0),
                                                                               ("toy", "b", 0)]
    assert list(ind["front"]) == ["union"] * 3
    assert ind["hv_relative"].tolist() == pytest.approx([1.0, 1.3 / 2.0, 1.8 / 2.0])
    assert ind["igd_plus"].tolist() == pytest.approx([0.0, np.sqrt(0.1**2 + 1.0**2) / 2, 0.2 / 2])


def test_mo_indicators_use_the_true_front_where_it_is_known():
    """ZDT1's front is f2 = 1 - sqrt(f1), f1 in [0, 1]. The point (0, 1) is on it: the union front would give
    IGD+ 0 and HV ratio 1; against the true front IGD+ is the mean of sqrt(f1), 2/3, and the HV ratio for
    reference (1.1, 1.1) is 0.11 / (0.1 + 2/3 + 0.11)."""
    objectives = {"pareto": ["val_error", "log10_n_params"], "reference_point": [1.1, 1.1]}
    ind = mo_indicators(trials_frame([("zdt1", "a", 0, objectives, [("completed", 0.0, 1.0, 0.0)])]))
    assert list(ind["front"]) == ["known"]
    assert ind.loc[0, "igd_plus"] == pytest.approx(2 / 3, abs=1e-3)
    assert ind.loc[0, "hv_relative"] == pytest.approx(0.11 / (0.1 + 2 / 3 + 0.11), rel=1e-3)


def test_mo_indicators_of_single_objective_runs_are_an_empty_table_with_its_columns():
    ind = mo_indicators(trials_frame([("toy", "a", 0, SO, [("completed", 0.3, 1.0, 0.3)])]))
    assert ind.empty and list(ind.columns) == ["suite", "method", "seed", "front", "igd_plus", "hv_relative"]


def test_seed_metrics_keep_every_seed_even_without_mo_indicators():
    """The MO indicators are joined onto per_seed's rows; a single-objective suite's seeds must stay."""
    seeds = seed_metrics(mo_trials())
    assert list(zip(seeds["suite"], seeds["method"], strict=True)) == [
        ("a-single", "a"), ("box", "a"), ("m-failed", "a"), ("toy", "a"), ("toy", "b")]
    assert seeds["igd_plus"].isna().tolist() == [True, False, True, False, False]
    assert seeds.loc[3, "hv_relative"] == pytest.approx(0.65) and seeds.loc[3, "hypervolume"] == pytest.approx(1.3)


# ---------------------------------------------------------------------------- fairness, summary, best cells
def seeds_frame(rows, **columns):
    """A per-seed frame: rows (suite, method, seed, budget, hardware, workers)."""
    frame = pd.DataFrame(rows, columns=["suite", "method", "seed", "budget", "hardware", "workers"])
    return frame.assign(**columns)


def test_a_two_way_tie_on_conditions_flags_both_methods():
    """With two methods on different budgets there is no usual budget: neither row is a fair comparison."""
    flags = fairness_flags(seeds_frame([("s", "a", 0, "60s", "cpu x2", 1), ("s", "b", 0, "120s", "cpu x2", 1)]))
    assert flags == {("s", "a"): "budget 60s (others: 120s)", ("s", "b"): "budget 120s (others: 60s)"}


def test_every_condition_that_differs_is_listed():
    flags = fairness_flags(seeds_frame([("s", "a", 0, "60s", "cpu x2", 1), ("s", "b", 0, "60s", "cpu x2", 1),
                                        ("s", "c", 0, "120s", "cuda: H200", 1)]))
    assert flags[("s", "a")] == "" and flags[("s", "b")] == ""
    assert flags[("s", "c")] == "budget 120s (others: 60s); hardware cuda: H200 (others: cpu x2)"


def test_summary_names_every_budget_a_method_ran_under():
    """Seeds run under two budgets: both are stated (sorted), and the row is flagged."""
    trials = trials_frame([("toy", "a", 0, SO, [("completed", 0.3, 1.0, 0.3)]),
                           ("toy", "a", 1, SO, [("completed", 0.3, 1.0, 0.3)]),
                           ("toy", "b", 0, SO, [("completed", 0.3, 1.0, 0.3)])])
    trials.loc[trials["seed"] == 1, "budget"] = "120s"
    table = summary_table(trials, warn=False).set_index("method")
    assert table.loc["a", "budget"] == "120s; 60s" and table.loc["b", "budget"] == "60s"
    assert table.loc["a", "fairness"] == "budget 120s; 60s (others: 60s)"
    assert table.loc["b", "fairness"] == "budget 60s (others: 120s; 60s)"


def test_best_cells_tolerate_no_relative_slack_and_skip_single_row_suites():
    """1.000001 is not a tie with 1.0 (only 1e-12 apart counts); 2.0 is not a tie with 2.0 + 1e-10. A suite
    with one row has nothing to compare; a missing column is skipped, not the end of the columns."""
    table = pd.DataFrame({"suite": ["a", "b", "b"], "best_weighted_sum_mean": [0.1, 1.0, 1.000001],
                          "hypervolume_mean": [5.0, 2.0, 2.0 + 1e-10]})
    assert best_cells(table) == {(1, "best_weighted_sum_mean"), (2, "hypervolume_mean")}
    tied = pd.DataFrame({"suite": ["b", "b"], "best_weighted_sum_mean": [1.0, 1.0 + 1e-13]})
    assert best_cells(tied) == {(0, "best_weighted_sum_mean"), (1, "best_weighted_sum_mean")}


def test_latex_escapes_every_special_character_in_cells_and_headers():
    """LaTeX would break on \\, _, %, & and # in a method name or column name. (Object columns: with pandas 3's
    default string dtype the cells are not escaped at all, see test_report_latex_escaping.py.)"""
    table = pd.DataFrame({"suite": ["s"], "method": pd.Series(["a\\b_c%d&e#f"], dtype=object), "val_%": [0.5]})
    assert render(table, "latex") == (
        "\\begin{tabular}{lll}\n\\toprule\nsuite & method & val\\_\\% \\\\\n\\midrule\n"
        "s & a\\textbackslash{}b\\_c\\%d\\&e\\#f & 0.5 \\\\\n\\bottomrule\n\\end{tabular}\n")


def test_unknown_format_is_a_user_error_naming_the_choices():
    with pytest.raises(UserError, match=r"^report: unknown format 'xml' \(use md, csv or latex\)$"):
        render(pd.DataFrame({"suite": ["s"]}), "xml")


# ---------------------------------------------------------------------------- paper table
def paper_seeds():
    """Suite s: 'good' is better than 'ref' on both tested metrics at every seed and 'bad' worse, five seeds
    each; suite t: 'good' alone, one seed. Rows out of order."""
    rows = []
    for k in range(5):
        for method, ws, hv in (("bad", 0.90, 1.0), ("ref", 0.50, 2.0), ("good", 0.10, 3.0)):
            rows.append({"suite": "s", "method": method, "seed": k, "n_trials": 10, "best_weighted_sum": ws + 0.02 * k,
                         "hypervolume": hv + 0.1 * k, "test_error_of_best": 0.3})
    rows.insert(0, {"suite": "t", "method": "good", "seed": 0, "n_trials": 7, "best_weighted_sum": 0.25,
                    "hypervolume": NAN, "test_error_of_best": 0.2})
    return pd.DataFrame(rows)


def test_paper_table_numbers_by_hand():
    """Means, sample std (deviations +-0.02, +-0.04: sqrt(0.004 / 4)), a CI inside [min, max] around the mean,
    mean ranks (hypervolume: higher is better), and Mann-Whitney with complete separation of 5 vs 5 seeds:
    p = 2 / C(10, 5), Holm over two comparisons doubles it."""
    table = paper_table(paper_seeds(), "ref")
    assert list(zip(table["suite"], table["method"], strict=True)) == [("s", "bad"), ("s", "good"), ("s", "ref"),
                                                                      ("t", "good")]
    t = table.set_index(["suite", "method"])
    assert t["n_seeds"].tolist() == [5, 5, 5, 1] and t["n_trials"].tolist() == [50, 50, 50, 7]
    assert t.loc[("s", "good"), "best_weighted_sum_mean"] == pytest.approx(0.14)
    assert t.loc[("s", "good"), "best_weighted_sum_std"] == pytest.approx(np.sqrt(0.001))
    assert t.loc[("s", "ref"), "hypervolume_mean"] == pytest.approx(2.2)
    lo, hi = t.loc[("s", "good"), "best_weighted_sum_ci_low"], t.loc[("s", "good"), "best_weighted_sum_ci_high"]
    assert 0.10 <= lo < 0.14 < hi <= 0.18
    lo, hi = t.loc[("s", "bad"), "test_error_of_best_ci_low"], t.loc[("s", "bad"), "test_error_of_best_ci_high"]
    assert (lo, hi) == pytest.approx((0.3, 0.3))  # all seeds agree
    one = t.loc[("t", "good")]
    assert one["best_weighted_sum_mean"] == 0.25
    assert np.isnan(one["best_weighted_sum_std"]) and np.isnan(one["best_weighted_sum_ci_low"])
    for metric in ("hv_relative", "igd_plus"):  # not in the per-seed frame: empty columns, not an error
        assert t[f"{metric}_mean"].isna().all() and t[f"{metric}_std"].isna().all()
    assert t.loc["s", "rank_best_weighted_sum"].tolist() == [3.0, 1.0, 2.0]
    assert t.loc["s", "rank_hypervolume"].tolist() == [3.0, 1.0, 2.0]
    assert t.loc[("t", "good"), "rank_best_weighted_sum"] == 1.0
    assert t.loc["s", "vs_ref_best_weighted_sum"].tolist()[:2] == ["worse", "better"]
    assert t.loc["s", "vs_ref_hypervolume"].tolist()[:2] == ["worse", "better"]
    assert t.loc[("s", "good"), "p_holm_hypervolume"] == pytest.approx(2 * 2 / 252)
    assert t.loc[("s", "ref"), ["vs_ref_hypervolume", "p_holm_hypervolume"]].isna().all()  # the reference row stays


def test_paper_table_keeps_a_suite_whose_tested_metric_has_no_value():
    """Suite t's hypervolume is all NaN (no ranks there): its row must still be in the table."""
    seeds = paper_seeds()
    seeds = pd.concat([seeds, seeds[seeds["suite"] == "t"].assign(method="other", best_weighted_sum=0.5)])
    table = paper_table(seeds, None).set_index(["suite", "method"])
    assert table.loc["t", "rank_best_weighted_sum"].tolist() == [1.0, 2.0]
    assert table.loc["t", "rank_hypervolume"].isna().all()
    assert not any(c.startswith("vs_") for c in table.columns)


def printed_paper_table():
    """Hand-made numbers: hypervolume never measured (dropped), IGD+ and the hypervolume rank absent."""
    return pd.DataFrame({"suite": ["s", "s"], "method": ["a", "b"], "n_seeds": [3, 1],
                         "best_weighted_sum_mean": [0.25, 0.5], "best_weighted_sum_ci_low": [0.2, NAN],
                         "best_weighted_sum_ci_high": [0.3, NAN],
                         "hypervolume_mean": [NAN, NAN], "hypervolume_ci_low": [NAN, NAN],
                         "hypervolume_ci_high": [NAN, NAN],
                         "hv_relative_mean": [0.91234, NAN], "hv_relative_ci_low": [0.9, NAN],
                         "hv_relative_ci_high": [0.95, NAN],
                         "test_error_of_best_mean": [NAN, 0.125], "test_error_of_best_ci_low": [NAN, NAN],
                         "test_error_of_best_ci_high": [NAN, NAN], "rank_best_weighted_sum": [1.0, 2.0]})


def test_paper_table_as_markdown():
    """'mean [low, high]' to 4 significant digits, the mean alone without a CI, an empty cell without a mean."""
    assert render_paper_table(printed_paper_table(), None) == (
        "| suite | method | seeds | best weighted sum | HV / HV(front) | test error of best "
        "| rank (best weighted sum) |\n"
        "|---|---|---|---|---|---|---|\n"
        "| s | a | 3 | 0.25 [0.2, 0.3] | 0.9123 [0.9, 0.95] |  | 1 |\n"
        "| s | b | 1 | 0.5 |  | 0.125 | 2 |\n")


def test_paper_table_as_latex_and_csv():
    table = printed_paper_table()
    assert render_paper_table(table, None, "latex") == (
        "\\begin{tabular}{lllllll}\n\\toprule\n"
        "suite & method & seeds & best weighted sum & HV / HV(front) & test error of best "
        "& rank (best weighted sum) \\\\\n"
        "\\midrule\n"
        "s & a & 3 & 0.25 [0.2, 0.3] & 0.9123 [0.9, 0.95] &  & 1 \\\\\n"
        "s & b & 1 & 0.5 &  & 0.125 & 2 \\\\\n"
        "\\bottomrule\n\\end{tabular}\n")
    lines = render_paper_table(table, None, "csv").splitlines()
    assert lines[0] == ",".join(table.columns)  # every number as computed, no index column
    assert lines[1].startswith("s,a,3,0.25,0.2,0.3,,,,0.91234,") and len(lines) == 3


def test_verdict_table_by_hand():
    """One row per method but the reference, one column per (suite, metric) with a verdict; p to 2 digits,
    no p when there is none, an empty cell where a method did not run."""
    table = pd.DataFrame({"suite": ["s1", "s1", "s1", "s2", "s2"], "method": ["ref", "x", "y", "ref", "x"],
                          "vs_ref_best_weighted_sum": [NAN, "better", "n/a", NAN, "tie"],
                          "p_holm_best_weighted_sum": [NAN, 0.0123, NAN, NAN, 1.0],
                          "vs_ref_hypervolume": [NAN, "tie", "worse", NAN, NAN],
                          "p_holm_hypervolume": [NAN, 0.5, 0.001, NAN, NAN]})
    assert render_tests(table, "ref") == (
        "| method | s1: best weighted sum | s1: hypervolume | s2: best weighted sum |\n"
        "|---|---|---|---|\n"
        "| x | better (p=0.012) | tie (p=0.5) | tie (p=1) |\n"
        "| y | n/a | worse (p=0.001) |  |\n")
    assert render_tests(table[table["method"] == "ref"], "ref") == "(no method to compare with the reference 'ref')\n"


# ---------------------------------------------------------------------------- across suites
def suites_seeds():
    """Three suites, methods a, b, c on all (two seeds each) and d on s1 only. Weighted sum: a < b < c on
    every suite. Hypervolume (higher is better): c > b > a on s1 and s2, b > c > a on s3."""
    hv = {"s1": {"a": 1.0, "b": 2.0, "c": 3.0}, "s2": {"a": 1.0, "b": 2.0, "c": 3.0},
          "s3": {"a": 1.0, "b": 3.0, "c": 2.0}}
    rows = []
    for suite in ("s3", "s1", "s2"):
        for i, method in enumerate(("c", "a", "b")):
            ws = {"a": 0.1, "b": 0.2, "c": 0.3}[method]
            for seed, shift in ((0, -0.05), (1, 0.05)):
                rows.append({"suite": suite, "method": method, "seed": seed, "best_weighted_sum": ws + shift * i,
                             "hypervolume": hv[suite][method] + shift})
    rows.append({"suite": "s1", "method": "d", "seed": 0, "best_weighted_sum": 0.0, "hypervolume": 9.0})
    return pd.DataFrame(rows)


def test_suite_means_average_the_seeds_and_keep_methods_that_ran_everywhere():
    wide = suite_means(suites_seeds(), "best_weighted_sum")
    assert list(wide.index) == ["s1", "s2", "s3"] and list(wide.columns) == ["a", "b", "c"]
    assert wide.to_numpy().ravel().tolist() == pytest.approx([0.1, 0.2, 0.3] * 3)
    assert suite_means(suites_seeds(), "hypervolume").loc["s3"].tolist() == pytest.approx([1.0, 3.0, 2.0])


def test_friedman_by_hand_with_three_suites_and_three_methods():
    """Rank sums: weighted sum a 3, b 6, c 9 -> chi2 = 12 / (3 * 3 * 4) * 126 - 3 * 3 * 4 = 6, p = exp(-3);
    hypervolume c 4, b 5, a 9 -> chi2 = 122 / 3 - 36 = 4.667, p = exp(-7 / 3) (chi2 with 2 df)."""
    results = dict(friedman_results(suites_seeds()))
    assert list(results) == ["best_weighted_sum", "hypervolume"]
    ws, hv = results["best_weighted_sum"], results["hypervolume"]
    assert ws["statistic"] == pytest.approx(6.0) and ws["p"] == pytest.approx(np.exp(-3))
    assert hv["statistic"] == pytest.approx(14 / 3) and hv["p"] == pytest.approx(np.exp(-7 / 3))
    assert hv["ranks"].to_dict() == pytest.approx({"a": 3.0, "b": 5 / 3, "c": 4 / 3}) and hv["n_blocks"] == 3
    assert friedman_text(suites_seeds()) == (
        "Across suites (Demsar 2006): each method's mean over seeds per suite, ranked per suite.\n\n"
        "- best weighted sum: Friedman chi2 = 6, p = 0.0498 over 3 suites; average ranks a 1.00, b 2.00, c 3.00; "
        "Nemenyi post-hoc in cd_best_weighted_sum.png\n"
        "- hypervolume: Friedman chi2 = 4.67, p = 0.097 over 3 suites; average ranks c 1.33, b 1.67, a 3.00; "
        "Nemenyi post-hoc in cd_hypervolume.png\n")


def test_friedman_needs_three_suites_and_three_methods_and_the_metric():
    seeds = suites_seeds()
    assert [col for col, _ in friedman_results(seeds.drop(columns=["hypervolume"]))] == ["best_weighted_sum"]
    assert friedman_results(seeds[seeds["suite"] != "s3"]) == []
    assert friedman_results(seeds[seeds["method"] != "c"]) == []
    assert friedman_text(seeds[seeds["suite"] != "s3"]) == ""
