"""Study files: strict one-line validation, a tiny study end to end (run, resume, report), shipped files."""

from __future__ import annotations

import pandas as pd
import pytest

from hyperion_bench.cli import main
from hyperion_bench.study import list_studies, load_study

TINY = """
[study]
description = "tiny"
suites = ["zdt1", "zdt2", "zdt3"]
methods = ["mo-random", "random", "sh-emoa"]
seeds = 2
reference = "sh-emoa"

[budget]
max_trials = 12

[suites.zdt3]
seeds = 1
max_trials = 10

[options.sh-emoa]
population = 8
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("edit,message", [
    (("[budget]", "[budgets]"), "budgets: unknown key"),
    (('description = "tiny"', 'descripton = "tiny"'), "study.descripton: unknown key"),
    (('"zdt1", "zdt2"', '"zdt1", "zdt9"'), "study.suites: unknown suite 'zdt9'"),
    (('"mo-random", "random"', '"mo-random", "randm"'), "study.methods: unknown method 'randm'"),
    (('"mo-random", "random"', '"mo-random", "bulk-and-cut"'), "bulk-and-cut cannot run on suite zdt1: it needs "
                                                               "the plain_cnn network family"),
    (('"mo-random", "random"', '"mo-random", "darts"'), "darts cannot run on suite zdt1: it needs a cell suite"),
    (("max_trials = 12", "max_trials = 0"), "budget.max_trials: must be a whole number >= 1, got 0"),
    (("max_trials = 12", "max_trials = true"), "budget.max_trials: must be a whole number >= 1"),
    (("max_trials = 12", 'wallclock = "0s"'), "budget.wallclock: '0s' is not a positive duration"),
    (("max_trials = 12", 'wallclock = "soon"'), "budget.wallclock: cannot read 'soon' as a duration"),
    (("seeds = 2", "seeds = 0"), "study.seeds: must be a whole number >= 1, got 0"),
    (('reference = "sh-emoa"', 'reference = "tpe"'), "study.reference: 'tpe' is not among study.methods"),
    (("population = 8", "populaton = 8"), "sh-emoa has no meta-parameter 'populaton'"),
    (("population = 8", 'population = "big"'), "sh-emoa.population: expected int"),
    (("[options.sh-emoa]", "[options.random]"), "options.random: random has no meta-parameters"),
    (("[suites.zdt3]", "[suites.digits]"), "suites.digits: unknown key"),
    (("seeds = 1\n", "seeds = 1\nmethods = ['tpe']\n"), "suites.zdt3.methods: 'tpe' is not among study.methods"),
])
def test_bad_study_files_fail_in_one_line_with_exit_2(tmp_path, capsys, edit, message):
    assert edit[0] in TINY
    path = write(tmp_path, TINY.replace(*edit))
    assert main(["study", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: ") and message in err, err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_suite_without_a_budget_anywhere_is_refused(tmp_path, capsys):
    from hyperion_bench.suites import BENCHMARKS_DIR

    suite = (BENCHMARKS_DIR / "zdt3.toml").read_text().replace("max_trials = 150\n", "")
    (tmp_path / "nobudget.toml").write_text(suite)
    path = write(tmp_path, '[study]\nsuites = ["nobudget.toml"]\nmethods = ["random"]\nseeds = 1\n')
    assert main(["study", str(path)]) == 2
    assert "suites.zdt3: no budget" in capsys.readouterr().err


def test_a_tiny_study_runs_resumes_and_reports_end_to_end(tmp_path, capsys):
    """3 ZDT suites x 3 methods x 2 seeds (zdt3: 1 seed) x 10-12 in-process trials: seconds."""
    path = write(tmp_path, TINY)
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out)]) == 0
    report = out / "report"
    for name in ("summary.md", "paper.md", "paper.tex", "paper.csv", "tests.md", "per_seed.csv", "friedman.md",
                 "zdt1_rank_over_time.png", "zdt1_attainment.png", "cd_hypervolume.png", "cd_best_weighted_sum.png"):
        assert (report / name).exists(), name
    seeds = pd.read_csv(report / "per_seed.csv")
    assert len(seeds) == 3 * 2 + 3 * 2 + 3 * 1
    assert (seeds.groupby(["suite", "method"])["n_trials"].first().loc["zdt3"] == 10).all()
    assert (seeds.loc[seeds["suite"] == "zdt1", "front"] == "known").all()  # the true ZDT front
    assert seeds["hv_relative"].between(0, 1).all() and (seeds["igd_plus"] > 0).all()
    paper = pd.read_csv(report / "paper.csv").set_index(["suite", "method"])
    # one seed: no spread, so std and interval are empty (NaN), never 0
    assert paper.loc["zdt3", ["hypervolume_std", "hypervolume_ci_low", "hypervolume_ci_high"]].isna().all().all()
    assert (paper.loc["zdt1", "hypervolume_ci_high"] >= paper.loc["zdt1", "hypervolume_ci_low"]).all()
    assert paper.loc[("zdt1", "random"), "vs_sh-emoa_hypervolume"] == "tie"  # 2 vs 2 seeds: p >= 1/3
    assert "| zdt3 | random | 1 |" in (report / "paper.md").read_text()
    tests = (report / "tests.md").read_text()
    assert "| method | zdt1: best weighted sum | zdt1: hypervolume |" in tests and "sh-emoa |" not in tests
    assert "Friedman chi2" in (report / "friedman.md").read_text()
    capsys.readouterr()

    # running the same study again runs nothing and reports the same numbers
    assert main(["study", str(path), "--out", str(out)]) == 0
    assert "9/9 wait" not in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(report / "per_seed.csv"), seeds)
    # a finished run under another budget is not mixed into the table
    assert main(["study", str(write(tmp_path, TINY.replace("max_trials = 12", "max_trials = 13"))), "--out",
                 str(out)]) == 2
    assert "finished under budget" in capsys.readouterr().err


def test_report_plots_writes_the_statistics_too(tmp_path, capsys):
    path = write(tmp_path, TINY.replace('"zdt1", "zdt2", "zdt3"', '"zdt1"').replace("[suites.zdt3]\nseeds = 1\n"
                                                                                   "max_trials = 10\n", ""))
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--report-only"]) == 2  # nothing there yet
    assert main(["study", str(path), "--out", str(out)]) == 0
    assert main(["report", str(out), "--plots", "--reference", "random"]) == 0
    assert "vs random" not in (out / "report" / "tests.md").read_text()
    assert "against random" in (out / "report" / "tests.md").read_text()
    assert main(["report", str(out), "--plots", "--reference", "hyperion"]) == 2


@pytest.mark.parametrize("name", list_studies())
def test_shipped_study_files_are_valid(name):
    study = load_study(name)
    assert study.plans and study.reference in study.methods
