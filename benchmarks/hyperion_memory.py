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

from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step  # noqa: E402
from hyperion_bench.oneshot import full_inner_config, make_supernet, needs_search, node_candidates  # noqa: E402
from hyperion_bench.suites import DEFAULTS, load_suite  # noqa: E402

MNIST_SHAPE = (1, 28, 28)


def proposals(suite, n: int, seed: int, trials: Path | None) -> list[dict]:
    """Hyperion's configs that build a supernet: from a run's trials.csv, or its first ``n`` proposals."""
    if trials is not None:
        frame = pd.read_csv(trials)
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
    for c in configs:  # CSV round trip: kernels come back as floats or strings
        for k, v in list(c.items()):
            if k.startswith("kernel@") and not isinstance(v, str):
                c[k] = int(v)
    return [c for c in configs if needs_search(suite, c)]


def measure(suite, config: dict, device: torch.device, batch: int, steps: int, order: int, fast: bool) -> dict:
    suite.oneshot["fast"] = fast
    cands = node_candidates(suite, config)
    if device.type == "cuda":
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
    args = ap.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    suite = load_suite(args.suite)
    if args.cells:
        suite.fixed["cells"] = args.cells
    if args.channels:
        suite.fixed["channels"] = args.channels

    full = full_inner_config(suite.space, DEFAULTS)
    rows = [{"supernet": "DARTS (full)", "split": "all inner",
             **measure(suite, full, device, args.batch, args.steps, args.order, args.fast)}]
    for i, c in enumerate(proposals(suite, args.proposals, args.seed, args.trials)):
        split = ",".join(f"{b}={c[f'inner@{b}']}" for b in ("op", "kernel", "activation") if f"inner@{b}" in c)
        rows.append({"supernet": f"hyperion #{i}", "split": split,
                     **measure(suite, c, device, args.batch, args.steps, args.order, args.fast)})
    table = pd.DataFrame(rows)
    hyp = table.iloc[1:]
    col = "peak_mem_mb" if device.type == "cuda" else "supernet_params"
    ratio = float(hyp[col].median() / table.iloc[0][col]) if len(hyp) else float("nan")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    hw = (torch.cuda.get_device_name(device) if device.type == "cuda"
          else f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads")
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    lines = [f"# Hyperion vs DARTS supernet memory ({suite.name}, batch {args.batch}, order {args.order}, "
             f"{'fast' if args.fast else 'reference'} supernet)", "",
             f"command: `{command}`  ", f"device: {hw}, torch {torch.__version__}  ", f"date: {when}", "",
             markdown(table), "",
             f"median Hyperion {col} / full DARTS: **{ratio:.3f}** over {len(hyp)} supernets"
             + ("" if device.type == "cuda" else " (CPU: no peak-memory counter; parameter ratio shown)")]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(
            {"command": command, "device": hw, "torch": torch.__version__, "date": when, "ratio": ratio,
             "ratio_of": col, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
