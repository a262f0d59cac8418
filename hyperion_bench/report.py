"""Result tables: one row per (suite, method), aggregated over seeds.

Why: the published numbers must come from the recorded trials and nothing else. The report reads
``<dir>/<suite>/<method>/seed-<k>/trials.csv`` (as written by the runner, or a single such folder
tree) and never re-runs anything.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hyperion_bench.errors import UserError
from hyperion_bench.records import TRIALS_FILE

SEED_DIR = re.compile(r"^seed-(\d+)$")
COLUMNS = [
    "suite", "method", "n_seeds", "n_trials", "n_failed", "best_val_error_mean", "best_val_error_std",
    "best_weighted_sum_mean", "best_weighted_sum_std", "test_error_of_best_mean", "test_error_of_best_std",
    "wallclock_used_s_mean", "budget",
]


def load_trials(root: Path) -> pd.DataFrame:
    """All trial rows under ``root`` with suite, method and seed columns added."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"report: {root} is not a directory")
    frames = []
    for path in sorted(root.rglob(TRIALS_FILE)):
        seed_dir = path.parent
        m = SEED_DIR.match(seed_dir.name)
        if not m:  # e.g. seed-0.interrupted-...: kept, but not counted
            continue
        frame = pd.read_csv(path)
        meta_file = seed_dir / "metadata.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        frame["suite"] = meta.get("suite", seed_dir.parent.parent.name)
        frame["method"] = meta.get("method", seed_dir.parent.name)
        frame["seed"] = int(m.group(1))
        frame["wallclock_used_s"] = meta.get("wallclock_used_s", np.nan)
        budget = meta.get("budget", {})
        frame["budget"] = _budget_text(budget)
        frames.append(frame)
    if not frames:
        raise UserError(f"report: no {TRIALS_FILE} under {root} (expected <suite>/<method>/seed-<k>/{TRIALS_FILE})")
    return pd.concat(frames, ignore_index=True)


def _budget_text(budget: dict) -> str:
    parts = []
    if budget.get("wallclock_s"):
        parts.append(f"{budget['wallclock_s']:g}s")
    if budget.get("max_trials"):
        parts.append(f"{budget['max_trials']} trials")
    return " / ".join(parts)


def per_seed(trials: pd.DataFrame) -> pd.DataFrame:
    """Best-so-far summaries of each (suite, method, seed): the unit a seed-level statistic needs."""
    rows = []
    for (suite, method, seed), g in trials.groupby(["suite", "method", "seed"], sort=True):
        ok = g[g["status"] == "completed"]
        row = {"suite": suite, "method": method, "seed": seed, "n_trials": len(g),
               "n_failed": int((g["status"] == "failed").sum()), "wallclock_used_s": g["wallclock_used_s"].iloc[0],
               "budget": g["budget"].iloc[0]}
        if len(ok):
            best = ok.loc[ok["weighted_sum"].idxmin()]
            row.update(best_val_error=ok["val_error"].min(), best_weighted_sum=best["weighted_sum"],
                       test_error_of_best=best.get("test_error", np.nan))
        else:
            row.update(best_val_error=np.nan, best_weighted_sum=np.nan, test_error_of_best=np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def summary_table(trials: pd.DataFrame) -> pd.DataFrame:
    seeds = per_seed(trials)
    rows = []
    for (suite, method), g in seeds.groupby(["suite", "method"], sort=True):
        row = {"suite": suite, "method": method, "n_seeds": len(g), "n_trials": int(g["n_trials"].sum()),
               "n_failed": int(g["n_failed"].sum()), "wallclock_used_s_mean": g["wallclock_used_s"].mean(),
               "budget": "; ".join(sorted(set(g["budget"])))}
        for col in ("best_val_error", "best_weighted_sum", "test_error_of_best"):
            row[f"{col}_mean"] = g[col].mean()
            row[f"{col}_std"] = g[col].std(ddof=1) if g[col].notna().sum() > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)[COLUMNS]


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "md":
        return _markdown(table)
    raise UserError(f"report: unknown format {fmt!r} (use md or csv)")


def _markdown(table: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "nan" if np.isnan(v) else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
