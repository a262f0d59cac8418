"""Peak memory of Hyperion's reduced supernets vs the full DARTS supernet, measured in one run.

Issue 4's check (Hyperion paper Sec. 4.4, Figure 6): on the Table 3 space with MNIST-shaped input, the
median peak memory of the supernets Hyperion builds is at most half of the full DARTS supernet's.
Which supernets: those of an actual Hyperion run (``--trials path/to/trials.csv`` of a hyperion method
on the ``mnist-table3`` suite), or else the first ``--proposals`` configs Hyperion proposes on that suite
(its random initial phase, Algorithm 1; learning needs trial results, which a memory benchmark does not
produce). Each supernet, and the full one, runs ``--steps`` DARTS search steps (first order by default)
at ``--batch`` on random data of the suite's input shape; the peak is
``torch.cuda.max_memory_allocated`` over those steps, after a reset, with nothing else on the GPU.
On the CPU there is no comparable peak-memory counter: the table then shows candidates per edge,
supernet parameters and ms/step only, and says so.

    python benchmarks/hyperion_memory.py --device cuda --out results/hyperion-memory/h100.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from hyperion_bench.atomic import write_text_atomic  # noqa: E402
from hyperion_bench.device import warm_up  # noqa: E402
from hyperion_bench.errors import UserError, run_script  # noqa: E402
from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step  # noqa: E402
from hyperion_bench.oneshot import full_inner_config, make_supernet, needs_search, node_candidates  # noqa: E402
from hyperion_bench.suites import DEFAULTS, load_suite  # noqa: E402

MNIST_SHAPE = (1, 28, 28)


def proposals(suite, n: int, seed: int, trials: Path | None) -> list[dict]:
    """Hyperion's configs that build a supernet: from a run's trials.csv, or its first ``n`` proposals."""
    if trials is not None:
        frame = pd.read_csv(trials, dtype=str)  # as written: "5" stays a subset string, not the number 5.0
        configs = [{k[len("config_"):]: v for k, v in row.items() if k.startswith("config_") and pd.notna(v)}
                   for row in frame.to_dict("records")]
    else:  # imported here: with --trials the script needs torch and pandas only (a bare GPU machine)
        from hyperion_bench.methods import make_scheduler

        sched = make_scheduler("hyperion", space=suite.space, metric="weighted_sum", seed=seed, max_trials=None,
                               constants={}, options={**suite.hyperion, "outer": "random", "n_init": n})
        configs = []
        for key in range(n):
            configs.append(sched.ask(key))
            sched.tell(key, 0.0)
    for c in configs:  # per-node kernels are ints in the space (a CSV gives strings)
        for k, v in list(c.items()):
            if k.startswith("kernel@"):
                c[k] = int(float(v))
    return [c for c in configs if needs_search(suite, c)]


def measure(suite, config: dict, device: torch.device, batch: int, steps: int, order: int, fast: bool) -> dict:
    suite.oneshot["fast"] = fast
    cands = node_candidates(suite, config)
    if device.type == "cuda":
        warm_up(device)  # the one-time cuBLAS/cuDNN state in every row's baseline, not in the first row's peak
        torch.cuda.empty_cache()
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    torch.manual_seed(0)
    net = make_supernet(suite, config, MNIST_SHAPE, 10, cands).to(device)
    s = DartsSettings(batch_size=batch, order=order)
    w_opt, a_opt, _ = make_optimizers(net, s, steps)
    x = torch.randn(4 * batch, *MNIST_SHAPE, device=device)
    y = torch.randint(0, 10, (4 * batch,), device=device)
    times = []
    for i in range(steps + 1):  # the first step warms up (allocator, cuDNN autotuning)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        search_step(net, w_opt, a_opt, s, x[:batch], y[:batch], x[batch:2 * batch], y[batch:2 * batch])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20 if device.type == "cuda" else float("nan")
    row = {"candidates_per_edge": " ".join(str(len(c)) for c in cands),
           "supernet_params": sum(p.numel() for p in net.weights()),
           "ms_per_step": 1000 * statistics.median(times), "peak_mem_mb": peak}
    del net, w_opt, a_opt
    return row


def markdown(table: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return f"{v:.1f}" if isinstance(v, float) else str(v).replace("|", "\\|")  # '|' inside a cell

    rows = [" | ".join(map(str, table.columns)), "|".join("---" for _ in table.columns)]
    rows += [" | ".join(cell(v) for v in row) for row in table.itertuples(index=False)]
    return "\n".join(f"| {r} |" if not r.startswith("-") else f"|{r}|" for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--suite", default="mnist-table3")
    ap.add_argument("--proposals", type=int, default=20)
    ap.add_argument("--trials", type=Path, help="trials.csv of a hyperion run on the suite")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--order", type=int, default=1, choices=[1, 2])
    ap.add_argument("--fast", action="store_true", help="the grouped supernet (nn/supernet_fast.py)")
    ap.add_argument("--cells", type=int, help="override the suite's cells (a quick CPU run)")
    ap.add_argument("--channels", type=int, help="override the suite's channels (a quick CPU run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write the table (markdown) and a JSON record here")
    ap.add_argument("--save-configs", type=Path, metavar="CSV",
                    help="write the measured Hyperion configs as a trials.csv-like file (config_* columns) that "
                         "--trials reads: proposals made where syne-tune is installed can be measured on a GPU "
                         "machine that has only torch and pandas")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no GPU here; use --device cpu or auto")
    for name in ("batch", "steps", "proposals"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.trials is not None and not args.trials.is_file():
        raise UserError(f"--trials {args.trials}: no such file (a trials.csv, or a --save-configs file)")
    suite = load_suite(args.suite)
    if args.cells:
        suite.fixed["cells"] = args.cells
    if args.channels:
        suite.fixed["channels"] = args.channels

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    hw = (torch.cuda.get_device_name(device) if device.type == "cuda"
          else f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads")
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    title = (f"# Hyperion vs DARTS supernet memory ({suite.name}, batch {args.batch}, order {args.order}, "
             f"{'fast' if args.fast else 'reference'} supernet)")
    meta = {"title": title, "command": command, "device": hw, "torch": torch.__version__, "date": when}

    full = full_inner_config(suite.space, DEFAULTS)
    rows = [{"supernet": "DARTS (full)", "split": "all inner",
             **measure(suite, full, device, args.batch, args.steps, args.order, args.fast)}]
    configs = proposals(suite, args.proposals, args.seed, args.trials)
    if args.save_configs:
        args.save_configs.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([{f"config_{k}": v for k, v in c.items()} for c in configs]).to_csv(args.save_configs, index=False)
    for i, c in enumerate(configs):
        write(args.out, meta, rows, device, complete=False)
        split = ",".join(f"{b}={c[f'inner@{b}']}" for b in ("op", "kernel", "activation") if f"inner@{b}" in c)
        rows.append({"supernet": f"hyperion #{i}", "split": split,
                     **measure(suite, c, device, args.batch, args.steps, args.order, args.fast)})
    print(write(args.out, meta, rows, device, complete=True))
    return 0


def write(out: Path | None, meta: dict, rows: list[dict], device: torch.device, complete: bool) -> str:
    """The table and the median ratio; (re)written atomically after every supernet, so a run cut short
    (a device call's time limit) keeps what it measured, marked incomplete."""
    table = pd.DataFrame(rows)
    hyp = table.iloc[1:]
    col = "peak_mem_mb" if device.type == "cuda" else "supernet_params"
    ratio = float(hyp[col].median() / table.iloc[0][col]) if len(hyp) else float("nan")
    lines = [meta["title"], "", f"command: `{meta['command']}`  ", f"device: {meta['device']}, torch {meta['torch']}  ",
             f"date: {meta['date']}", "", markdown(table), "",
             f"median Hyperion {col} / full DARTS: **{ratio:.3f}** over {len(hyp)} supernets"
             + ("" if device.type == "cuda" else " (CPU: no peak-memory counter; parameter ratio shown)")]
    if not complete:
        lines += ["", "**Incomplete: the run has not finished (or was cut short) after these rows.**"]
    text = "\n".join(lines)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {k: v for k, v in meta.items() if k != "title"}
        write_text_atomic(out, text + "\n")
        write_text_atomic(out.with_suffix(".json"), json.dumps(
            {**record, "complete": complete, "ratio": ratio, "ratio_of": col, "rows": rows}, indent=1, default=float))
    return text


if __name__ == "__main__":
    run_script(main)
