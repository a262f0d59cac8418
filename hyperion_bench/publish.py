"""A comparison's publication: every table and figure of ``report --plots`` and ``study``, written to one folder.

Why a module of its own: the tables (:mod:`hyperion_bench.report`) and the figures
(:mod:`hyperion_bench.plots`, which draws from the tables' per-seed numbers) are two layers; writing
both is a third that depends on them, so neither has to import the other inside a function (the old
``report.write_report`` imported ``plots``, which imported ``report``: an import cycle). Every file is
written atomically, so a reader never sees a half-written table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hyperion_bench.atomic import write_text_atomic
from hyperion_bench.errors import UserError
from hyperion_bench.plots import plot_all, plot_study
from hyperion_bench.report import (
    friedman_text,
    paper_table,
    render,
    render_paper_table,
    render_tests,
    seed_metrics,
    summary_table,
)


def write_report(trials: pd.DataFrame, folder: Path, reference: str | None = None, title: str = "") -> list[Path]:
    """Everything a comparison publishes, into ``folder``: the summary (md, csv, tex), the paper table with
    CIs and ranks, the significance verdicts against ``reference`` (default: hyperion when it ran, else the
    alphabetically first method), Friedman's test across suites when there are >= 3, and the figures."""
    folder.mkdir(parents=True, exist_ok=True)
    methods = sorted(trials["method"].unique())
    if reference is None:
        reference = "hyperion" if "hyperion" in methods else methods[0]
    elif reference not in methods:
        raise UserError(f"--reference {reference!r} did not run here (methods: {', '.join(methods)})")
    written = []
    summary = summary_table(trials, warn=False)
    for fmt, ext in (("md", "md"), ("csv", "csv"), ("latex", "tex")):
        written.append(folder / f"summary.{ext}")
        write_text_atomic(written[-1], render(summary, fmt))
    seeds = seed_metrics(trials)
    write_text_atomic(folder / "per_seed.csv", seeds.to_csv(index=False))
    table = paper_table(seeds, reference)
    intro = (f"{title}\n\n" if title else "") + (
        f"Mean over seeds [bootstrap 95% CI; empty with one seed]; rank: mean rank among the suite's methods "
        f"at each seed index (1 = best). Reference for the tests: {reference}.\n\n")
    write_text_atomic(folder / "paper.md", intro + render_paper_table(table, reference, "md"))
    write_text_atomic(folder / "paper.tex", render_paper_table(table, reference, "latex"))
    write_text_atomic(folder / "paper.csv", render_paper_table(table, reference, "csv"))
    write_text_atomic(
        folder / "tests.md",
        f"Each method against {reference} per suite: two-sided Mann-Whitney U over seeds, Holm-corrected over "
        f"the suite's comparisons per metric; better / worse / tie at 0.05 (adjusted p).\n\n"
        + render_tests(table, reference))
    written += [folder / f for f in ("per_seed.csv", "paper.md", "paper.tex", "paper.csv", "tests.md")]
    friedman = friedman_text(seeds)
    if friedman:
        write_text_atomic(folder / "friedman.md", friedman)
        written.append(folder / "friedman.md")
    written += plot_all(trials, folder) + plot_study(trials, seeds, folder)
    return written
