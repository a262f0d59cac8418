"""Compact hypervolume table of a multi-objective run: ``PYTHONPATH=. python benchmarks/mo_zdt_table.py RUN_DIR``.

Why a script: the issue-5 check ("every method's mean final hypervolume above mo-random's on zdt1 and
zdt2") reads the summary that ``report`` computes from the recorded trials (exact hypervolume,
the suite's fixed reference point) and prints one markdown table per suite, with the difference to
mo-random in units of the two methods' pooled standard error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hyperion_bench.report import load_trials, per_seed


def main(root: str) -> None:
    seeds = per_seed(load_trials(Path(root)))
    for suite, g in seeds.groupby("suite"):
        stats = g.groupby("method")["hypervolume"].agg(["mean", "std", "count"])
        wall = g.groupby("method")["wallclock_used_s"].mean()
        base = stats.loc["mo-random"] if "mo-random" in stats.index else None
        print(f"\n{suite}: final hypervolume (exact, reference point fixed by the suite), mean and std over seeds\n")
        print("| method | seeds | hypervolume mean | std | minus mo-random | in pooled SE "
              "| beats mo-random | s per seed |")
        print("|---|---|---|---|---|---|---|---|")
        for method, row in stats.sort_values("mean", ascending=False).iterrows():
            diff, z, beats = "", "", ""
            if base is not None and method != "mo-random":
                d = row["mean"] - base["mean"]
                se = np.sqrt(row["std"] ** 2 / row["count"] + base["std"] ** 2 / base["count"])
                diff, z, beats = f"{d:+.3f}", f"{d / se:+.1f}" if se > 0 else "", "yes" if d > 0 else "no"
            print(f"| {method} | {int(row['count'])} | {row['mean']:.3f} | {row['std']:.3f} | {diff} | {z} | {beats} "
                  f"| {wall[method]:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1])
