"""Result tables: one row per (suite, method), aggregated over seeds, with fairness checks.

Why: the published numbers must come from the recorded trials and nothing else. The report reads
``<dir>/.../<suite>/<method>/seed-<k>/{trials.csv,metadata.json}`` and never re-runs anything. It
also states each method's budget, workers, device and seeds as recorded and flags any method that
ran under different conditions from the others on the same suite, because such a row is not a fair
comparison.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperion_bench.errors import UserError
from hyperion_bench.metrics import hypervolume, pareto_mask
from hyperion_bench.records import TRIALS_FILE

SEED_DIR = re.compile(r"^seed-(\d+)$")
COLUMNS = [
    "suite", "method", "n_seeds", "n_trials", "n_failed", "n_stopped",
    "best_val_error_mean", "best_val_error_std",
    "best_weighted_sum_mean", "best_weighted_sum_std",
    "test_error_of_best_mean", "test_error_of_best_std",
    "hypervolume_mean", "hypervolume_std", "test_hypervolume_mean",
    "wallclock_used_s_mean", "gpu_hours", "peak_gpu_mem_mb", "budget", "workers", "hardware", "fairness",
]
LOWER_IS_BETTER = ("best_val_error_mean", "best_weighted_sum_mean", "test_error_of_best_mean")
HIGHER_IS_BETTER = ("hypervolume_mean", "test_hypervolume_mean")
# validation metric -> its test-set counterpart, for re-evaluating the validation Pareto set
TEST_COUNTERPART = {"val_error": "test_error", "val_loss": "test_loss"}


def load_trials(*roots: Path) -> pd.DataFrame:
    """All trial rows under ``roots`` with suite, method, seed and run-level columns added. Several roots
    (result folders copied from several machines or shards) are merged; a (suite, method, seed) found in
    more than one is said on stderr, and the first root's copy is the one kept."""
    frames: list[pd.DataFrame] = []
    seen: dict[tuple[str, str, int], Path] = {}
    for root in roots:
        for frame in _root_frames(Path(root)):
            run = (frame["suite"].iloc[0], frame["method"].iloc[0], int(frame["seed"].iloc[0]))
            if run in seen:
                print(f"warning: {run[0]}/{run[1]}/seed-{run[2]} is in {seen[run]} and in {root}; "
                      f"the report keeps the one in {seen[run]}", file=sys.stderr)
                continue
            seen[run] = Path(root)
            frames.append(frame)
    if not frames:
        where = ", ".join(str(r) for r in roots)
        raise UserError(f"report: no {TRIALS_FILE} under {where} (expected <suite>/<method>/seed-<k>/{TRIALS_FILE})")
    return pd.concat(frames, ignore_index=True)


def _root_frames(root: Path) -> list[pd.DataFrame]:
    """One frame per (suite, method, seed) folder under ``root``."""
    if not root.is_dir():
        raise UserError(f"report: {root} is not a directory")
    frames = []
    for path in sorted(root.rglob(TRIALS_FILE)):
        seed_dir = path.parent
        m = SEED_DIR.match(seed_dir.name)
        if not m:  # e.g. seed-0.interrupted-...: kept on disk, not counted
            continue
        frame = pd.read_csv(path)
        if frame.empty:
            continue
        meta_file = seed_dir / "metadata.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        frame["suite"] = meta.get("suite", seed_dir.parent.parent.name)
        frame["method"] = meta.get("method", seed_dir.parent.name)
        frame["seed"] = int(m.group(1))
        frame["wallclock_used_s"] = meta.get("wallclock_used_s", np.nan)
        frame["budget"] = budget_text(meta.get("budget", {}))
        frame["workers"] = meta.get("workers", np.nan)
        frame["hardware"] = hardware_text(meta.get("hardware", {}))
        frame["objectives"] = json.dumps(meta.get("objectives", {}), sort_keys=True)
        frames.append(frame)
    return frames


def budget_text(budget: dict) -> str:
    parts = []
    if budget.get("wallclock_s"):
        parts.append(f"{budget['wallclock_s']:g}s")
    if budget.get("max_trials"):
        parts.append(f"{budget['max_trials']} trials")
    return " / ".join(parts) or "unknown"


def hardware_text(hw: dict) -> str:
    if not hw:
        return "unknown"
    if str(hw.get("device", "")).startswith("cuda"):
        share = f", {hw['gpus_per_trial']:g} GPU/trial" if hw.get("gpus_per_trial") else ""
        return f"cuda: {hw.get('gpu', '?')}{share}"
    total, usable = hw.get("cpu_count", "?"), hw.get("usable_cpus")
    if usable is None or usable == total:
        return f"cpu x{total}"
    return f"cpu x{usable} (of {total})"  # pinned (taskset) or capped (cgroup quota): what the run could use


def objective_vectors(frame: pd.DataFrame, objectives: dict[str, Any], test: bool = False) -> np.ndarray:
    """Rows' Pareto objective vectors; with ``test`` the validation metrics become test metrics."""
    cols = []
    for name in objectives.get("pareto", []):
        if test and name == "neg_val_accuracy_pct":
            cols.append(-100.0 * (1.0 - frame["test_error"].astype(float)))
        else:
            cols.append(frame[TEST_COUNTERPART.get(name, name) if test else name].astype(float))
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def per_seed(trials: pd.DataFrame) -> pd.DataFrame:
    """Summaries of each (suite, method, seed): the unit every seed-level statistic needs."""
    rows = []
    for (suite, method, seed), g in trials.groupby(["suite", "method", "seed"], sort=True):
        ok = g[g["status"] == "completed"]
        objectives = json.loads(g["objectives"].iloc[0])
        device_hours = (g["end_s"] - g["start_s"]).sum() / 3600 if "end_s" in g else np.nan
        on_gpu = g["hardware"].iloc[0].startswith("cuda")
        row = {"suite": suite, "method": method, "seed": seed, "n_trials": len(g),
               "n_failed": int((g["status"] == "failed").sum()), "n_stopped": int((g["status"] == "stopped").sum()),
               "wallclock_used_s": g["wallclock_used_s"].iloc[0],
               "budget": g["budget"].iloc[0], "workers": g["workers"].iloc[0], "hardware": g["hardware"].iloc[0],
               "gpu_hours": device_hours if on_gpu else 0.0,
               "peak_gpu_mem_mb": g["peak_gpu_mem_mb"].max() if "peak_gpu_mem_mb" in g else np.nan,
               "best_val_error": np.nan, "best_weighted_sum": np.nan, "test_error_of_best": np.nan,
               "hypervolume": np.nan, "test_hypervolume": np.nan}
        if len(ok):
            best = ok.loc[ok["weighted_sum"].idxmin()]
            row.update(best_val_error=ok["val_error"].min() if "val_error" in ok else np.nan,
                       best_weighted_sum=best["weighted_sum"],
                       test_error_of_best=best.get("test_error", np.nan))
            if objectives.get("pareto") and all(c in ok for c in objectives["pareto"]):
                ref = objectives["reference_point"]
                points = objective_vectors(ok, objectives)
                row["hypervolume"] = hypervolume(points, ref)
                if "test_error" in ok:
                    front = ok[pareto_mask(points)]
                    row["test_hypervolume"] = hypervolume(objective_vectors(front, objectives, test=True), ref)
        rows.append(row)
    return pd.DataFrame(rows)


def _joined(values: Any) -> str:
    """The distinct values of a column as one sorted string ('a; b')."""
    return "; ".join(sorted({str(v) for v in values}))


def fairness_flags(seeds: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Per (suite, method): '' when it ran with the suite's usual budget, hardware and workers, else
    what differs. The usual value is the most common one among the suite's methods; a tie flags all."""
    flags: dict[tuple[str, str], str] = {}
    for suite, g in seeds.groupby("suite"):
        conditions = {method: {key: _joined(h[key]) for key in ("budget", "hardware", "workers")}
                      for method, h in g.groupby("method")}
        diffs: dict[str, list[str]] = {method: [] for method in conditions}
        for key in ("budget", "hardware", "workers"):
            values = [c[key] for c in conditions.values()]
            counts = {v: values.count(v) for v in values}
            top = max(counts.values())
            usual = [v for v, n in counts.items() if n == top]
            for method, c in conditions.items():
                if len(counts) > 1 and (c[key] not in usual or len(usual) > 1):
                    others = _joined(v for m, cc in conditions.items() if m != method for v in [cc[key]])
                    diffs[method].append(f"{key} {c[key]} (others: {others})")
        flags.update({(suite, method): "; ".join(d) for method, d in diffs.items()})
    return flags


def summary_table(trials: pd.DataFrame, warn: bool = True) -> pd.DataFrame:
    seeds = per_seed(trials)
    flags = fairness_flags(seeds)
    rows = []
    for (suite, method), g in seeds.groupby(["suite", "method"], sort=True):
        row = {"suite": suite, "method": method, "n_seeds": len(g), "n_trials": int(g["n_trials"].sum()),
               "n_failed": int(g["n_failed"].sum()), "n_stopped": int(g["n_stopped"].sum()),
               "wallclock_used_s_mean": g["wallclock_used_s"].mean(),
               "gpu_hours": g["gpu_hours"].sum(), "peak_gpu_mem_mb": g["peak_gpu_mem_mb"].max(),
               "budget": _joined(g["budget"]), "workers": _joined(g["workers"]), "hardware": _joined(g["hardware"]),
               "fairness": flags[(suite, method)] or "ok",
               "test_hypervolume_mean": g["test_hypervolume"].mean()}
        for col in ("best_val_error", "best_weighted_sum", "test_error_of_best", "hypervolume"):
            row[f"{col}_mean"] = g[col].mean()
            row[f"{col}_std"] = g[col].std(ddof=1) if g[col].notna().sum() > 1 else np.nan  # one seed: no spread
        rows.append(row)
        if warn and flags[(suite, method)]:
            print(f"warning: {suite}/{method} ran under different conditions: {flags[(suite, method)]}",
                  file=sys.stderr)
    return pd.DataFrame(rows)[COLUMNS]


def best_cells(table: pd.DataFrame) -> set[tuple[int, str]]:
    """(row, column) of the best value per suite in each column with a direction."""
    marks = set()
    for _suite, g in table.groupby("suite"):
        if len(g) < 2:
            continue
        for col in LOWER_IS_BETTER + HIGHER_IS_BETTER:
            if col not in g:  # another table's layout (the paper table)
                continue
            values = g[col].astype(float)
            if values.notna().any():
                best = values.min() if col in LOWER_IS_BETTER else values.max()
                marks |= {(i, col) for i in g.index[np.isclose(values, best, rtol=0, atol=1e-12)]}
    return marks


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "md":
        return _grid(table, best_cells(table), "| ", " | ", " |", lambda v: f"**{v}**", header_rule=True)
    if fmt == "latex":
        return _latex(table)
    raise UserError(f"report: unknown format {fmt!r} (use md, csv or latex)")


def _cell(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:.4g}"  # empty, not 'nan' or 0: no value (e.g. std of one seed)
    return str(v)


def _grid(table: pd.DataFrame, marks: set[tuple[int, str]], start: str, sep: str, end: str, bold: Any,
          header_rule: bool) -> str:
    lines = [start + sep.join(table.columns) + end]
    if header_rule:
        lines.append("|" + "---|" * len(table.columns))
    for i, row in table.iterrows():
        cells = [bold(_cell(row[c])) if (i, c) in marks else _cell(row[c]) for c in table.columns]
        lines.append(start + sep.join(cells) + end)
    return "\n".join(lines) + "\n"


def _latex(table: pd.DataFrame) -> str:
    def esc(text: str) -> str:
        for a, b in (("\\", "\\textbackslash{}"), ("_", "\\_"), ("%", "\\%"), ("&", "\\&"), ("#", "\\#")):
            text = text.replace(a, b)
        return text

    escaped = table.copy()
    for c in escaped.columns:  # every text column: pandas 3 gives text its own str dtype, not object
        if not pd.api.types.is_numeric_dtype(escaped[c]):
            escaped[c] = escaped[c].map(lambda v: esc(str(v)))
    marks = best_cells(table)
    body = _grid(escaped, marks, "", " & ", " \\\\", lambda v: f"\\textbf{{{v}}}", header_rule=False).splitlines()
    body[0] = " & ".join(esc(c) for c in table.columns) + " \\\\"
    spec = "l" * len(table.columns)
    return "\n".join([f"\\begin{{tabular}}{{{spec}}}", "\\toprule", body[0], "\\midrule", *body[1:],
                      "\\bottomrule", "\\end{tabular}"]) + "\n"


# ---------------------------------------------------------------------------- statistics (stats.py)
# The paper table: per (suite, method) each seed-level metric as mean with a bootstrap 95% CI (empty
# with one seed), mean ranks over seeds and the verdict against a reference method. ``report --plots``
# and ``study`` write it next to the summary above.
PAPER_METRICS = (  # column in the per-seed frame, label, higher is better
    ("best_weighted_sum", "best weighted sum", False),
    ("hypervolume", "hypervolume", True),
    ("hv_relative", "HV / HV(front)", True),
    ("igd_plus", "IGD+", False),
    ("test_error_of_best", "test error of best", False),
)
TESTED_METRICS = (("best_weighted_sum", False), ("hypervolume", True))


def mo_indicators(trials: pd.DataFrame) -> pd.DataFrame:
    """Per (suite, method, seed): IGD+ and hypervolume relative to the suite's reference front (the true
    front where known, else the union front of every method's and seed's completed points)."""
    from hyperion_bench.stats import igd_plus, reference_front, relative_hypervolume

    rows = []
    for suite, g in trials.groupby("suite", sort=True):
        objectives = json.loads(g["objectives"].iloc[0])
        ok = g[g["status"] == "completed"]
        if not objectives.get("pareto") or not all(c in ok for c in objectives["pareto"]) or ok.empty:
            continue
        points = objective_vectors(ok, objectives)
        finite = np.all(np.isfinite(points), axis=1)
        front, kind = reference_front(suite, points[finite])
        for (method, seed), h in g.groupby(["method", "seed"], sort=True):
            pts = objective_vectors(h[h["status"] == "completed"], objectives)
            rows.append({"suite": suite, "method": method, "seed": seed, "front": kind,
                         "igd_plus": igd_plus(pts, front),
                         "hv_relative": relative_hypervolume(pts, front, objectives["reference_point"])})
    return pd.DataFrame(rows, columns=["suite", "method", "seed", "front", "igd_plus", "hv_relative"])


def seed_metrics(trials: pd.DataFrame) -> pd.DataFrame:
    """``per_seed`` plus the MO indicators: one row per (suite, method, seed), the unit of every test."""
    seeds = per_seed(trials)
    return seeds.merge(mo_indicators(trials), on=["suite", "method", "seed"], how="left")


def paper_table(seeds: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Numbers of the paper table: per (suite, method) and metric ``<m>_mean``, ``<m>_ci_low``,
    ``<m>_ci_high``, ``<m>_std`` (NaN with one seed), mean ranks and verdicts against ``reference``."""
    from hyperion_bench.stats import bootstrap_ci, compare_to_reference, mean_ranks, seed_std

    rows = []
    for (suite, method), g in seeds.groupby(["suite", "method"], sort=True):
        row: dict[str, Any] = {"suite": suite, "method": method, "n_seeds": len(g),
                               "n_trials": int(g["n_trials"].sum())}
        for col, _label, _high in PAPER_METRICS:
            values = g[col] if col in g else pd.Series(dtype=float)
            lo, hi = bootstrap_ci(values)
            row.update({f"{col}_mean": values.mean() if values.notna().any() else np.nan, f"{col}_ci_low": lo,
                        f"{col}_ci_high": hi, f"{col}_std": seed_std(values)})
        rows.append(row)
    table = pd.DataFrame(rows)
    for col, high in TESTED_METRICS:
        ranks = mean_ranks(seeds, col, higher_is_better=high).rename(columns={"mean_rank": f"rank_{col}"})
        table = table.merge(ranks[["suite", "method", f"rank_{col}"]], on=["suite", "method"], how="left")
        if reference:
            tests = compare_to_reference(seeds, col, reference, higher_is_better=high)
            tests = tests.rename(columns={"verdict": f"vs_{reference}_{col}", "p_holm": f"p_holm_{col}"})
            table = table.merge(tests[["suite", "method", f"vs_{reference}_{col}", f"p_holm_{col}"]],
                                on=["suite", "method"], how="left")
    return table


def render_paper_table(table: pd.DataFrame, reference: str | None, fmt: str = "md") -> str:
    """The paper table as text: 'mean [CI low, CI high]' per metric (CI empty with one seed), the mean
    rank over seeds, and the verdict against the reference. Columns with no value at all are dropped."""
    if fmt == "csv":
        return table.to_csv(index=False)
    out = pd.DataFrame({"suite": table["suite"], "method": table["method"], "seeds": table["n_seeds"]})
    for col, label, _high in PAPER_METRICS:
        if f"{col}_mean" not in table or table[f"{col}_mean"].isna().all():
            continue
        out[label] = [_with_ci(m, lo, hi) for m, lo, hi in
                      zip(table[f"{col}_mean"], table[f"{col}_ci_low"], table[f"{col}_ci_high"], strict=True)]
    for col, _high in TESTED_METRICS:
        if f"rank_{col}" in table and table[f"rank_{col}"].notna().any():
            out[f"rank ({col.replace('_', ' ')})"] = table[f"rank_{col}"].map(_cell)
    text = _grid(out, set(), "| ", " | ", " |", str, header_rule=True) if fmt == "md" else _latex(out)
    return text


def _with_ci(mean: float, lo: float, hi: float) -> str:
    if not np.isfinite(mean):
        return ""
    return f"{mean:.4g}" if not np.isfinite(lo) else f"{mean:.4g} [{lo:.4g}, {hi:.4g}]"


def render_tests(table: pd.DataFrame, reference: str) -> str:
    """The compact verdict table: one row per method, one column per (suite, metric), each cell
    'better' / 'worse' / 'tie' (Holm-adjusted Mann-Whitney p at 0.05) with the adjusted p."""
    cols = [(col, f"vs_{reference}_{col}", f"p_holm_{col}") for col, _ in TESTED_METRICS
            if f"vs_{reference}_{col}" in table]
    rows = {}
    for _, r in table[table["method"] != reference].iterrows():
        row = rows.setdefault(r["method"], {"method": r["method"]})
        for col, verdict_col, p_col in cols:
            if isinstance(r[verdict_col], str):
                p = f" (p={r[p_col]:.2g})" if np.isfinite(r[p_col]) else ""
                row[f"{r['suite']}: {col.replace('_', ' ')}"] = f"{r[verdict_col]}{p}"
    if not rows:
        return f"(no method to compare with the reference {reference!r})\n"
    out = pd.DataFrame(list(rows.values())).fillna("")
    return _grid(out, set(), "| ", " | ", " |", str, header_rule=True)


def suite_means(seeds: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Suites x methods table of each method's mean over seeds, methods that ran on every suite only."""
    wide = seeds.pivot_table(index="suite", columns="method", values=metric, aggfunc="mean")
    return wide.dropna(axis=1, how="any")


def friedman_results(seeds: pd.DataFrame) -> list[tuple[str, dict]]:
    """(metric, Friedman + Nemenyi result) per tested metric with >= 3 suites and >= 3 methods that ran on
    all: the one selection behind both the text and the critical-difference figures."""
    from hyperion_bench.stats import friedman_nemenyi

    out = []
    for col, high in TESTED_METRICS:
        wide = suite_means(seeds, col) if col in seeds else pd.DataFrame()
        if wide.shape[0] >= 3 and wide.shape[1] >= 3:
            out.append((col, friedman_nemenyi(wide, higher_is_better=high)))
    return out


def friedman_text(seeds: pd.DataFrame) -> str:
    """Demsar (2006) across suites, per tested metric, when >= 3 suites and >= 3 methods ran on all."""
    parts = []
    for col, res in friedman_results(seeds):
        ranks = ", ".join(f"{m} {r:.2f}" for m, r in res["ranks"].sort_values().items())
        parts.append(f"- {col.replace('_', ' ')}: Friedman chi2 = {res['statistic']:.3g}, p = {res['p']:.3g} over "
                     f"{res['n_blocks']} suites; average ranks {ranks}; Nemenyi post-hoc in cd_{col}.png")
    if not parts:
        return ""
    return ("Across suites (Demsar 2006): each method's mean over seeds per suite, ranked per suite.\n\n"
            + "\n".join(parts) + "\n")
