"""Peak memory of Hyperion's reduced supernets vs the full DARTS supernet, measured in one run.

Issue 4's check (Hyperion paper Sec. 4.4, Figure 6): on the Table 3 space with MNIST-shaped input, the
median peak memory of the supernets Hyperion builds is at most half of the full DARTS supernet's.
Which supernets: those of an actual Hyperion run (``--trials path/to/trials.csv`` of a hyperion method
on the ``mnist-table3`` suite), or else the first ``--proposals`` configs Hyperion proposes on that suite
(its random initial phase, Algorithm 1; learning needs trial results, which a memory benchmark does not
produce). Each supernet, and the full one, runs ``--steps`` DARTS search steps (first order by default)
at ``--batch`` on random data of the suite's input shape, after one warm-up step.

Two peaks per supernet:
- ``peak_tensor_mb``, on any device: the live tensors (parameters, gradients, optimiser state,
  activations, temporaries) of one search step with optimiser state, counted by PyTorch's MemTracker
  (``hyperion_bench/memory.py``), the same figure every one-shot trial records as
  ``search_peak_tensor_mb``. It does not depend on the device, so the CPU measures it;
- ``peak_mem_mb``, on a GPU only: ``torch.cuda.max_memory_allocated`` over the timed steps after a reset
  (allocator rounding, cuDNN/cuBLAS workspaces on top), with nothing else on the GPU.
The median ratio is taken over ``peak_tensor_mb`` (and over ``peak_mem_mb`` too on a GPU). ``--fake``
builds and steps every supernet under PyTorch's ``FakeTensorMode`` (tensors with shapes, no data): the
tracked peak is the same number as a real step's (``tests/test_oneshot.py`` checks it) without the
memory or the arithmetic, so the full Table 3 supernet at batch 64 (tens of GB) is measured on a CPU.

    python benchmarks/hyperion_memory.py --device cpu --fake --fast --trials RUN/trials.csv --out cpu.md
    python benchmarks/hyperion_memory.py --device cuda --out results/hyperion-memory/h100.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from hyperion_bench.atomic import write_text_atomic  # noqa: E402
from hyperion_bench.device import warm_up  # noqa: E402
from hyperion_bench.errors import UserError, run_script  # noqa: E402
from hyperion_bench.hardware import cpu_model  # noqa: E402
from hyperion_bench.memory import step_peak_mb  # noqa: E402
from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step  # noqa: E402
from hyperion_bench.oneshot import full_inner_config, needs_search, reduced_supernet  # noqa: E402
from hyperion_bench.plan import decode  # noqa: E402
from hyperion_bench.suites import DEFAULTS, load_suite  # noqa: E402

MNIST_SHAPE = (1, 28, 28)


def proposals(suite, n: int, seed: int, trials: list[Path] | None) -> list[dict]:
    """Hyperion's configs that build a supernet: from runs' trials.csv files (in order), or its first ``n``
    proposals."""
    if trials:  # as written: "5" stays a subset string, not the number 5.0
        frame = pd.concat([pd.read_csv(t, dtype=str) for t in trials], ignore_index=True)
        configs = [{k[len("config_"):]: v for k, v in row.items() if k.startswith("config_") and pd.notna(v)}
                   for row in frame.to_dict("records")]
    else:  # imported here: with --trials the script needs torch and pandas only (a bare GPU machine)
        import numpy as np

        from hyperion_bench.methods import make_optimizer

        hyperion = make_optimizer("hyperion", space=suite.space, seed=seed,
                                  options={**suite.hyperion, "outer": "random", "n_init": n})
        configs = []
        for key in range(n):
            configs.append(hyperion.ask(key).config)
            hyperion.tell(key, np.array([0.0]), {})
    for c in configs:  # per-node kernels are ints in the space (a CSV gives strings)
        for k, v in list(c.items()):
            if k.startswith("kernel@"):
                c[k] = int(float(v))
    return [c for c in configs if needs_search(suite, c)]


def measure(suite, config: dict, device: torch.device, batch: int, steps: int, order: int, fast: bool,
            fake: bool = False) -> dict:
    if fake:  # shapes only: the tensor peak without memory or arithmetic (see --fake)
        with FakeTensorMode():
            return measure_steps(suite, config, device, batch, 0, order, fast)
    return measure_steps(suite, config, device, batch, steps, order, fast)


def measure_steps(suite, config: dict, device: torch.device, batch: int, steps: int, order: int,
                  fast: bool) -> dict:
    """One warm-up step, ``steps`` timed steps (0: ms_per_step NaN), then one step under MemTracker."""
    suite.oneshot["fast"] = fast
    plan = decode(suite, config)
    if device.type == "cuda":
        warm_up(device)  # the one-time cuBLAS/cuDNN state in every row's baseline, not in the first row's peak
        torch.cuda.empty_cache()
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    torch.manual_seed(0)
    net = reduced_supernet(plan.search, plan.network, MNIST_SHAPE, 10)
    if device.type != "cpu":  # (under FakeTensorMode a .to() would try to swap the fake parameters)
        net = net.to(device)
    s = DartsSettings(batch_size=batch, order=order)
    w_opt, a_opt, _ = make_optimizers(net, s, steps)
    x = torch.randn(4 * batch, *MNIST_SHAPE, device=device)
    y = torch.randint(0, 10, (4 * batch,), device=device)

    def step() -> None:
        search_step(net, w_opt, a_opt, s, x[:batch], y[:batch], x[batch:2 * batch], y[batch:2 * batch])

    times = []
    for i in range(steps + 1):  # the first step warms up (allocator, cuDNN autotuning, optimiser state)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20 if device.type == "cuda" else float("nan")
    _, tensor_peak = step_peak_mb(step, net, w_opt, a_opt)  # after the timed steps: the tracker is slow
    row = {"candidates_per_edge": " ".join(str(len(c)) for c in plan.search.candidates),
           "supernet_params": sum(p.numel() for p in net.weights()),
           "ms_per_step": 1000 * statistics.median(times) if times else float("nan"),
           "peak_tensor_mb": tensor_peak, "peak_mem_mb": peak}
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
    ap.add_argument("--trials", type=Path, nargs="+", help="trials.csv of hyperion runs on the suite (e.g. seeds)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--order", type=int, default=1, choices=[1, 2])
    ap.add_argument("--fast", action="store_true", help="the grouped supernet (nn/supernet_fast.py)")
    ap.add_argument("--fake", action="store_true",
                    help="CPU: measure peak_tensor_mb under PyTorch's FakeTensorMode (tensors with shapes and no "
                         "data: no memory, no arithmetic), so the full supernet at batch 64 fits any machine; the "
                         "peak equals a real step's (tested); ms/step is not measured")
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
    for path in args.trials or []:
        if not path.is_file():
            raise UserError(f"--trials {path}: no such file (a trials.csv, or a --save-configs file)")
    suite = load_suite(args.suite)
    if args.cells:
        suite.fixed["cells"] = args.cells
    if args.channels:
        suite.fixed["channels"] = args.channels

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    hw = (torch.cuda.get_device_name(device) if device.type == "cuda"
          else f"{cpu_model()}, {torch.get_num_threads()} torch threads")
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    title = (f"# Hyperion vs DARTS supernet memory ({suite.name}, batch {args.batch}, order {args.order}, "
             f"{'fast' if args.fast else 'reference'} supernet{', fake tensors' if args.fake else ''})")
    meta = {"title": title, "command": command, "device": hw, "torch": torch.__version__, "date": when}

    full = full_inner_config(suite.space, DEFAULTS)
    if args.fake and device.type != "cpu":
        raise UserError("--fake measures tensor peaks on the CPU; use --device cpu")
    rows = [{"supernet": "DARTS (full)", "split": "all inner",
             **measure(suite, full, device, args.batch, args.steps, args.order, args.fast, args.fake)}]
    configs = proposals(suite, args.proposals, args.seed, args.trials)
    if args.save_configs:
        args.save_configs.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([{f"config_{k}": v for k, v in c.items()} for c in configs]).to_csv(args.save_configs, index=False)
    for i, c in enumerate(configs):
        write(args.out, meta, rows, device, complete=False)
        split = ",".join(f"{b}={c[f'inner@{b}']}" for b in ("op", "kernel", "activation") if f"inner@{b}" in c)
        rows.append({"supernet": f"hyperion #{i}", "split": split,
                     **measure(suite, c, device, args.batch, args.steps, args.order, args.fast, args.fake)})
    print(write(args.out, meta, rows, device, complete=True))
    return 0


def write(out: Path | None, meta: dict, rows: list[dict], device: torch.device, complete: bool) -> str:
    """The table and the median ratio; (re)written atomically after every supernet, so a run cut short
    (a device call's time limit) keeps what it measured, marked incomplete."""
    table = pd.DataFrame(rows)
    if device.type != "cuda":
        table = table.drop(columns=["peak_mem_mb"])  # no CUDA allocator here; the tensor peak is measured
    hyp = table.iloc[1:]
    cols = ["peak_tensor_mb", "peak_mem_mb"] if device.type == "cuda" else ["peak_tensor_mb"]
    ratios = {c: float(hyp[c].median() / table.iloc[0][c]) if len(hyp) else float("nan") for c in cols}
    lines = [meta["title"], "", f"command: `{meta['command']}`  ", f"device: {meta['device']}, torch {meta['torch']}  ",
             f"date: {meta['date']}", "", markdown(table), ""]
    lines += [f"median Hyperion {c} / full DARTS: **{r:.3f}** over {len(hyp)} supernets (target <= 0.5; "
              f"{'met' if r <= 0.5 else 'NOT met'})" for c, r in ratios.items()]
    ratio, col = ratios[cols[-1]], cols[-1]
    if not complete:
        lines += ["", "**Incomplete: the run has not finished (or was cut short) after these rows.**"]
    text = "\n".join(lines)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {k: v for k, v in meta.items() if k != "title"}
        write_text_atomic(out, text + "\n")
        write_text_atomic(out.with_suffix(".json"), json.dumps(
            {**record, "complete": complete, "ratio": ratio, "ratio_of": col, "ratios": ratios, "rows": rows},
            indent=1, default=float))
    return text


if __name__ == "__main__":
    run_script(main)
