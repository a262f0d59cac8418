"""Figures a paper can use, drawn from recorded trials only (seaborn / matplotlib, PNG and PDF).

Why: the comparisons people publish are hypervolume over time with SEM bands and final Pareto
fronts (bag-of-baselines Figures 2 and 3), the weighted sum over trials (Hyperion Figures 4, 8, 9)
and peak GPU memory (Hyperion Figure 6). Each figure states the suite and the budget in its title;
axes carry units.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from hyperion_bench.atomic import write_atomic  # noqa: E402
from hyperion_bench.metrics import aggregate_curves, pareto_front, running_hypervolume  # noqa: E402
from hyperion_bench.report import objective_vectors  # noqa: E402

AXIS_LABELS = {
    "val_error": "validation error (fraction)",
    "val_loss": "validation loss (nats)",
    "train_loss": "training loss (nats)",
    "n_params": "parameters (count)",
    "log10_n_params": "log10(parameters)",
    "neg_val_accuracy_pct": "-100 x validation accuracy (%)",
}


def _save(fig: plt.Figure, folder: Path, name: str) -> list[Path]:
    paths = [folder / f"{name}.png", folder / f"{name}.pdf"]
    fig.tight_layout()
    for p in paths:  # bbox "tight" keeps legends placed outside the axes; atomic: never a half-written figure
        write_atomic(p, lambda f, fmt=p.suffix[1:]: fig.savefig(f, format=fmt, dpi=150, bbox_inches="tight"))
    plt.close(fig)
    return paths


def _title(what: str, suite: str, g: pd.DataFrame) -> str:
    budgets = ", ".join(sorted(set(g["budget"])))
    return f"{what} - {suite} (budget {budgets} per method and seed)"


def trial_numbers(h: pd.DataFrame) -> np.ndarray:
    """1, 2, ... in order of completion: the 'trials' axis (failed trials count, as they cost budget)."""
    return np.argsort(np.argsort(h["end_s"].to_numpy(), kind="stable"), kind="stable") + 1.0


def _hypervolume_curves(g: pd.DataFrame, objectives: dict, axis: str = "time"
                        ) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    curves: dict[str, list] = {}
    for (method, _seed), h in g.groupby(["method", "seed"]):
        x = h["end_s"].to_numpy() if axis == "time" else trial_numbers(h)
        ok = (h["status"] == "completed").to_numpy()
        if not ok.any():
            continue
        t, hv = running_hypervolume(x[ok], objective_vectors(h[ok], objectives), objectives["reference_point"])
        curves.setdefault(method, []).append((t, hv))
    return curves


def plot_hypervolume(trials: pd.DataFrame, folder: Path, axis: str = "time") -> list[Path]:
    """Hypervolume over wall-clock time (``axis='time'``) or over trials (``'trials'``), mean +- SEM."""
    out = []
    for suite, g in trials.groupby("suite"):
        objectives = json.loads(g["objectives"].iloc[0])
        if not objectives.get("pareto"):
            continue
        curves = _hypervolume_curves(g, objectives, axis)
        if not curves:
            continue
        if axis == "time":
            grid = np.linspace(0, float(g["end_s"].max()), 200)
        else:
            grid = np.arange(1, int(g.groupby(["method", "seed"]).size().max()) + 1, dtype=float)
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        palette = sns.color_palette("colorblind", len(curves))
        for color, (method, cs) in zip(palette, sorted(curves.items()), strict=True):
            agg = aggregate_curves(cs, grid, before=0.0)
            if axis == "time":
                ax.plot(agg["x"], agg["mean"], label=f"{method} (n={len(cs)})", color=color)
            else:
                ax.step(agg["x"], agg["mean"], where="post", label=f"{method} (n={len(cs)})", color=color)
            ax.fill_between(agg["x"], agg["mean"] - agg["sem"], agg["mean"] + agg["sem"], color=color, alpha=0.2,
                            step=None if axis == "time" else "post")
        ax.set_xlabel("wall-clock time since the run started (s)" if axis == "time"
                      else "trials finished (count, failed ones included)")
        ax.set_ylabel(f"hypervolume (ref. {objectives['reference_point']})")
        ax.set_title(_title("Hypervolume, mean +- SEM", suite, g), fontsize=9)
        _legend_outside(ax)
        out += _save(fig, folder, f"{suite}_hypervolume_over_{'time' if axis == 'time' else 'trials'}")
    return out


def plot_hypervolume_over_time(trials: pd.DataFrame, folder: Path) -> list[Path]:
    return plot_hypervolume(trials, folder, "time")


def plot_hyperion_decisions(trials: pd.DataFrame, folder: Path) -> list[Path]:
    """Hyperion paper Figure 7: how many fusion parameters the splitter hands to the inner loop, and which
    choices are offered, over trials. Top: parameters inside per trial (one line per seed). Below, one
    panel per fusion parameter: a filled marker for each choice in the sampled sub-search-space (inner),
    a hollow one for each value the outer loop set on some node (outer)."""
    out = []
    hyp = trials[trials["method"] == "hyperion"]
    for suite, g in hyp.groupby("suite"):
        bases = [c[len("config_split@"):] for c in g.columns if c.startswith("config_split@")]
        if not bases:
            continue
        fig, axes = plt.subplots(1 + len(bases), 1, figsize=(6.4, 1.9 * (1 + len(bases))), sharex=True,
                                 squeeze=False)
        axes = axes[:, 0]
        seeds = sorted(g["seed"].unique())
        palette = dict(zip(seeds, sns.color_palette("colorblind", len(seeds)), strict=True))
        for seed, h in g.groupby("seed"):
            h = h.assign(trial=trial_numbers(h)).sort_values("trial")
            n_inner = sum((h[f"config_split@{b}"] == "inner").astype(int) for b in bases)
            axes[0].step(h["trial"], n_inner, where="mid", color=palette[seed], label=f"seed {seed}")
            for ax, base in zip(axes[1:], bases, strict=True):
                inner_x, inner_y, outer_x, outer_y = [], [], [], []
                node_cols = [c for c in h.columns if c.startswith(f"config_{base}@")]
                for _, row in h.iterrows():
                    if row[f"config_split@{base}"] == "inner" and isinstance(row.get(f"config_inner@{base}"), str):
                        for v in row[f"config_inner@{base}"].split("|"):
                            inner_x.append(row["trial"])
                            inner_y.append(str(v))
                    else:
                        for v in {str(_plain(row[c])) for c in node_cols if pd.notna(row[c])}:
                            outer_x.append(row["trial"])
                            outer_y.append(v)
                offset = (seeds.index(seed) - (len(seeds) - 1) / 2) * 0.15
                ax.scatter(np.array(inner_x) + offset, inner_y, s=14, color=palette[seed], marker="o")
                ax.scatter(np.array(outer_x) + offset, outer_y, s=14, facecolors="none",
                           edgecolors=palette[seed], marker="o")
                ax.set_ylabel(f"{base}\n(filled: inner\nhollow: outer)", fontsize=7)
        axes[0].set_ylabel("parameters\nhanded inside", fontsize=7)
        axes[0].set_yticks(range(len(bases) + 1))
        axes[0].legend(fontsize=7)
        axes[-1].set_xlabel("trial (in order of completion)")
        fig.suptitle(_title("Hyperion: split and sampled choices over trials", suite, g), fontsize=9)
        out += _save(fig, folder, f"{suite}_hyperion_decisions")
    return out


def _plain(v: object) -> object:
    """3.0 -> 3: kernels come back from CSV as floats when a column also holds missing values."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def plot_pareto_fronts(trials: pd.DataFrame, folder: Path) -> list[Path]:
    out = []
    for suite, g in trials.groupby("suite"):
        objectives = json.loads(g["objectives"].iloc[0])
        pareto = objectives.get("pareto", [])
        if len(pareto) != 2:
            continue
        ok = g[g["status"] == "completed"]
        methods = sorted(ok["method"].unique())
        palette = dict(zip(methods, sns.color_palette("colorblind", len(methods)), strict=True))
        seeds = sorted(ok["seed"].unique())
        fig, axes = plt.subplots(1, 1 + len(seeds), figsize=(4.2 * (1 + len(seeds)), 3.8), squeeze=False)
        panels = [("all seeds", ok)] + [(f"seed {s}", ok[ok["seed"] == s]) for s in seeds]
        for ax, (label, part) in zip(axes[0], panels, strict=True):
            for method in methods:
                pts = objective_vectors(part[part["method"] == method], objectives)
                if len(pts) == 0:
                    continue
                ax.scatter(pts[:, 0], pts[:, 1], s=8, alpha=0.25, color=palette[method])
                front = pareto_front(pts)
                ax.step(front[:, 0], front[:, 1], where="post", color=palette[method], label=method, marker="o", ms=3)
            ax.set_xlabel(AXIS_LABELS.get(pareto[0], pareto[0]))
            ax.set_ylabel(AXIS_LABELS.get(pareto[1], pareto[1]))
            ax.set_title(label, fontsize=9)
        _legend_outside(axes[0][-1])
        fig.suptitle(_title("Final Pareto fronts (points: all trials)", suite, g), fontsize=9)
        out += _save(fig, folder, f"{suite}_pareto_fronts")
    return out


def plot_weighted_sum_over_trials(trials: pd.DataFrame, folder: Path, window: int = 5) -> list[Path]:
    out = []
    for suite, g in trials.groupby("suite"):
        rows = []
        for (method, seed), h in g.groupby(["method", "seed"]):
            h = h.sort_values("end_s")
            ws = h["weighted_sum"].where(h["status"] == "completed")
            rows.append(pd.DataFrame({"method": method, "seed": seed, "trial": np.arange(1, len(h) + 1),
                                      "moving average": ws.rolling(window, min_periods=1).mean().to_numpy()}))
        data = pd.concat(rows, ignore_index=True)
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        sns.lineplot(data=data, x="trial", y="moving average", hue="method", errorbar="se", ax=ax,
                     palette="colorblind")
        ax.set_xlabel("trial (in order of completion)")
        ax.set_ylabel(f"weighted sum, moving average over {window} trials")
        ax.set_title(_title("Weighted sum over trials, mean +- SEM over seeds", suite, g), fontsize=9)
        _legend_outside(ax)
        out += _save(fig, folder, f"{suite}_weighted_sum_over_trials")
    return out


def plot_peak_memory(trials: pd.DataFrame, folder: Path) -> list[Path]:
    out = []
    for suite, g in trials.groupby("suite"):
        if "peak_gpu_mem_mb" not in g or not (g["peak_gpu_mem_mb"].fillna(0) > 0).any():
            continue  # CPU runs use no GPU memory: nothing to compare
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        sns.boxplot(data=g, x="method", y="peak_gpu_mem_mb", hue="method", ax=ax, palette="colorblind")
        ax.set_xlabel("method")
        ax.set_ylabel("peak GPU memory per trial (MiB)")
        ax.set_title(_title("Peak GPU memory", suite, g), fontsize=9)
        out += _save(fig, folder, f"{suite}_peak_gpu_memory")
    return out


def plot_all(trials: pd.DataFrame, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sns.set_theme(context="paper", style="whitegrid")
    return (plot_hypervolume(trials, folder, "time") + plot_hypervolume(trials, folder, "trials")
            + plot_pareto_fronts(trials, folder) + plot_weighted_sum_over_trials(trials, folder)
            + plot_peak_memory(trials, folder) + plot_hyperion_decisions(trials, folder))


def _legend_outside(ax: plt.Axes) -> None:
    """The legend to the right of the axes, where it cannot cover data (saved with bbox_inches='tight')."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


SEED_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


def _palette(methods: list[str]) -> dict[str, tuple]:
    return dict(zip(methods, sns.color_palette("colorblind", len(methods)), strict=True))


def _best_curves(g: pd.DataFrame, metric: str, objectives: dict) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per method, seed by seed (in seed order), the best-so-far step curve over wall-clock time."""
    from hyperion_bench.metrics import running_best

    curves: dict[str, list] = {}
    for (method, _seed), h in g.sort_values("seed").groupby(["method", "seed"], sort=True):
        ok = (h["status"] == "completed").to_numpy()
        t = h["end_s"].to_numpy(dtype=float)
        if metric == "hypervolume":
            if ok.any():
                tt, v = running_hypervolume(t[ok], objective_vectors(h[ok], objectives), objectives["reference_point"])
            else:
                tt, v = np.array([]), np.array([])
        else:
            tt, v = running_best(t, h["weighted_sum"].where(h["status"] == "completed").to_numpy(dtype=float))
        curves.setdefault(method, []).append((tt, v))
    return curves


def plot_rank_over_time(trials: pd.DataFrame, folder: Path) -> list[Path]:
    """Per suite: each method's mean rank over seeds at every moment of the run, by best weighted sum so
    far and (MO suites) by hypervolume so far; 1 = best. Before a seed's first result it ranks last."""
    from hyperion_bench.stats import rank_over_time

    out = []
    for suite, g in trials.groupby("suite"):
        objectives = json.loads(g["objectives"].iloc[0])
        metrics = [("best_weighted_sum", "best weighted sum so far", False)]
        if objectives.get("pareto"):
            metrics.append(("hypervolume", "hypervolume so far", True))
        methods = sorted(g["method"].unique())
        if len(methods) < 2:
            continue
        grid = np.linspace(0.0, float(g["end_s"].max()), 200)
        palette = _palette(methods)
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.4), squeeze=False, sharey=True)
        for ax, (metric, label, high) in zip(axes[0], metrics, strict=True):
            ranks = rank_over_time(_best_curves(g, metric, objectives), grid, high)
            for method in methods:
                if method in ranks:
                    ax.plot(grid, ranks[method], color=palette[method], label=method, lw=1.6)
            ax.set_xlabel("wall-clock time since the run started (s)")
            ax.set_title(f"rank by {label}", fontsize=9)
            ax.set_ylim(len(methods) + 0.2, 0.8)  # rank 1 on top
            ax.set_yticks(range(1, len(methods) + 1))
        axes[0][0].set_ylabel("mean rank over seeds (1 = best)")
        _legend_outside(axes[0][-1])
        n_seeds = g.groupby("method")["seed"].nunique().min()
        fig.suptitle(_title(f"Mean rank over time, {n_seeds} seeds", suite, g), fontsize=9)
        out += _save(fig, folder, f"{suite}_rank_over_time")
    return out


def plot_attainment(trials: pd.DataFrame, folder: Path) -> list[Path]:
    """Per 2-objective suite: each method's median (50%) empirical attainment surface (thick) over its
    seeds' own fronts (thin, one marker per seed), and the true front where it is known. The axes span
    the fronts, not every trial, so the region where methods differ fills the figure."""
    from hyperion_bench.stats import median_attainment, true_front

    out = []
    for suite, g in trials.groupby("suite"):
        objectives = json.loads(g["objectives"].iloc[0])
        pareto = objectives.get("pareto", [])
        if len(pareto) != 2:
            continue
        ok = g[g["status"] == "completed"]
        if ok.empty or not all(c in ok and ok[c].notna().any() for c in pareto):
            continue  # nothing finished on this suite yet
        methods = sorted(g["method"].unique())
        palette = _palette(methods)
        ref = np.asarray(objectives["reference_point"], dtype=float)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        shown, n_markers = [], 0
        for method in methods:
            seeds = sorted(g.loc[g["method"] == method, "seed"].unique())
            sets = [objective_vectors(ok[(ok["method"] == method) & (ok["seed"] == s)], objectives) for s in seeds]
            for k, pts in enumerate(sets):
                front = pareto_front(pts[np.all(pts < ref, axis=1)]) if len(pts) else pts
                if len(front):
                    ax.step(front[:, 0], front[:, 1], where="post", color=palette[method], lw=0.7, alpha=0.45,
                            marker=SEED_MARKERS[k % len(SEED_MARKERS)], ms=3.5, mfc="none")
                    shown.append(front)
            n_markers = max(n_markers, len(seeds))
            surface = median_attainment(sets)
            surface = surface[np.all(surface < ref, axis=1)]
            if len(surface):
                ax.step(surface[:, 0], surface[:, 1], where="post", color=palette[method], lw=2.2,
                        label=f"{method} ({len(seeds)} seeds)")
                shown.append(surface)
        for k in range(min(n_markers, len(SEED_MARKERS))):  # one legend entry per seed marker, not per line
            ax.plot([], [], color="grey", lw=0.7, marker=SEED_MARKERS[k], ms=3.5, mfc="none", label=f"seed {k}")
        known = true_front(suite)
        if shown:  # the view spans the methods' fronts (where they differ), clipped at the reference point
            allpts = np.vstack(shown)
            lo, hi = allpts.min(axis=0), np.minimum(allpts.max(axis=0), ref)
            pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        if known is not None:
            y0, y1 = ax.get_ylim()
            inside = np.any((known[:, 1] >= y0) & (known[:, 1] <= y1))
            ax.plot(known[:, 0], known[:, 1], ".", color="black", ms=1.0,
                    label="true Pareto front" + ("" if inside else " (below the view)"))
        ax.set_xlabel(AXIS_LABELS.get(pareto[0], pareto[0]))
        ax.set_ylabel(AXIS_LABELS.get(pareto[1], pareto[1]))
        _legend_outside(ax)
        ax.set_title(_title("Median attainment surfaces (thick) and each seed's front (thin)", suite, g), fontsize=9)
        out += _save(fig, folder, f"{suite}_attainment")
    return out


def plot_critical_difference(seeds: pd.DataFrame, folder: Path) -> list[Path]:
    """Demsar (2006) critical-difference diagrams across suites (scikit-posthocs), one per tested metric,
    when at least 3 suites and 3 methods that ran on all of them are there."""
    import scikit_posthocs as sp

    from hyperion_bench.report import friedman_results

    out = []
    for col, res in friedman_results(seeds):
        fig, ax = plt.subplots(figsize=(6.4, 0.5 + 0.35 * len(res["ranks"])))
        sp.critical_difference_diagram(res["ranks"], res["posthoc"], ax=ax, label_fmt_left="{label} ({rank:.2f})  ",
                                       label_fmt_right="  ({rank:.2f}) {label}")
        ax.set_title(f"Average rank by {col.replace('_', ' ')} over {res['n_blocks']} suites "
                     f"(Friedman p = {res['p']:.2g}; bars: no Nemenyi difference at 0.05)", fontsize=8)
        out += _save(fig, folder, f"cd_{col}")
    return out


def plot_study(trials: pd.DataFrame, seeds: pd.DataFrame, folder: Path) -> list[Path]:
    """The figures the statistics add (publish.write_report): rank over time, attainment, CD diagrams."""
    folder.mkdir(parents=True, exist_ok=True)
    sns.set_theme(context="paper", style="whitegrid")
    return (plot_rank_over_time(trials, folder) + plot_attainment(trials, folder)
            + plot_critical_difference(seeds, folder))
