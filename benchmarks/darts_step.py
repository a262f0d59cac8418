"""Benchmark: one DARTS search step, reference supernet vs fast path, measured in one run.

    python benchmarks/darts_step.py --device cuda --out results/darts_step/h100.md
    python benchmarks/darts_step.py --device cpu --batch 8 --steps 2 --warmup 1 --threads 1
    python benchmarks/darts_step.py --quick            # seconds, a smoke run on the CPU

Rows: the classic DARTS space (8 primitives, 4 nodes, 8 cells, C=16, stem 3C, reductions at 1/3
and 2/3) on 3x32x32 and 1x28x28 inputs, first and second order; then the Hyperion paper's Table 3
space (avg/max pool, skip, dil_conv, sep_conv x kernels 3,5,7,9 x relu,tanh; first order, 1x28x28) as a
full supernet and as a reduced one (kernel fixed per node, 2 of the 5 ops). A step is
``darts.search_step`` (alpha update on a validation batch, then weight update on a training batch),
so images/s counts the ``batch`` training images of a step. Before timing a (space, input, order),
the fast path's loss and gradients (weights and alphas; for second order the hypergradient
``unrolled_alpha_grads``) are compared with the reference's on a batch of ``--check-batch`` images
(default min(batch, 16)) in fp32 with TF32 off: the "check"
column gives the largest norm-wise relative error over all tensors, PASS below 1e-4. Where fp32
rounding alone exceeds that (see ``check``: small gradients of tiny networks, DARTS' finite-difference
Hessian-vector product), the row is compared again in fp64 and the column shows the fp32 error, the
reference's own fp32-vs-fp64 error and the fp64 error.

Variants (the "path" column): ``reference`` (``supernet.py``), ``fast`` (``supernet_fast.py``, eager)
and, with ``--compile default,reduce-overhead,...``, ``fast+compile:MODE``: the fast supernet wrapped in
``torch.compile(mode=MODE)`` (inductor fuses the elementwise work; ``reduce-overhead`` also replays CUDA
graphs, which is what removes the per-kernel launch cost on a GPU). A compiled row's "first step s" is
its first warm-up step, compilation included (inductor's on-disk cache is warm from the check). Its
check compares it with the reference in fp32 and, above 1e-4, accepts at most 10x the reference's own
fp32-vs-fp64 error (no fp64 compile is run). "ops/step" counts the aten operators one eager step
dispatches (views excluded, counted in an extra untimed step with a ``TorchDispatchMode``): on a GPU
each is at least one kernel launch, so it is a device-independent measure of what the fast path saves;
compiled rows show "-".

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` over warm-up and timed steps (weights,
optimiser state and data included). On the CPU there is no allocator counter: the column is the rise
of the process's peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``, glibc's
mmap threshold pinned so freed blocks go back to the OS) over the RSS before the first step.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import gc
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from hyperion_bench.atomic import write_text_atomic  # noqa: E402
from hyperion_bench.errors import UserError, run_script  # noqa: E402
from hyperion_bench.nn.darts import DartsSettings, make_optimizers, search_step, unrolled_alpha_grads  # noqa: E402
from hyperion_bench.nn.presets import CLASSIC_DARTS, TABLE3  # noqa: E402
from hyperion_bench.nn.supernet import Candidate  # noqa: E402
from hyperion_bench.nn.supernet_fast import make_supernet  # noqa: E402
from hyperion_bench.suites import COMPILE_MODES  # noqa: E402

DARTS_PRIMITIVES: list[Candidate] = list(CLASSIC_DARTS)
REDUCED_OPS = ("sep_conv", "dil_conv")  # the two parametric ops: the largest 2-of-5 reduced supernet
TOLERANCE = 1e-4


def table3_full(nodes: int) -> list[list[Candidate]]:
    """Every (op, kernel, activation) of Table 3, identical functions merged: 8 pools + skip + 16 convs = 25."""
    return [TABLE3.candidates()] * nodes


def table3_reduced(nodes: int) -> list[list[Candidate]]:
    """What Hyperion hands DARTS: the kernel fixed per node (3, 5, 7, 9, ...) and 2 of the 5 ops."""
    return [TABLE3.candidates(ops=REDUCED_OPS, kernels=(TABLE3.kernels[j % len(TABLE3.kernels)],))
            for j in range(nodes)]


@dataclass(frozen=True)
class Row:
    space: str
    candidates: list[list[Candidate]]
    shape: tuple[int, ...]
    order: int


@dataclass(frozen=True)
class Scale:
    cells: int = 8
    channels: int = 16
    nodes: int = 4
    stem_multiplier: int = 3


def rows(scale: Scale, quick: bool) -> list[Row]:
    shapes = [(3, 8, 8), (1, 7, 7)] if quick else [(3, 32, 32), (1, 28, 28)]
    out = [Row("darts-8", [DARTS_PRIMITIVES] * scale.nodes, shape, order)
           for shape in shapes for order in (1, 2)]
    out.append(Row("table3-full", table3_full(scale.nodes), shapes[1], 1))
    out.append(Row("table3-reduced", table3_reduced(scale.nodes), shapes[1], 1))
    return out


# -- memory -------------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory of a block of work, in MiB (see the module docstring for what it means per device)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.base_kb = 0

    @staticmethod
    def pin_malloc() -> None:
        """Call before any large allocation: glibc then serves large blocks by mmap and unmaps them on
        free, so the RSS follows live memory instead of keeping freed heap (M_MMAP_THRESHOLD = 64 KiB)."""
        try:
            ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 16)
        except (OSError, AttributeError):
            pass

    @staticmethod
    def _status(key: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
        raise KeyError(key)

    def start(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
            self.base_kb = self._status("VmRSS")
        except OSError:
            self.base_kb = -1

    def peak_mib(self) -> float | None:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        if self.base_kb < 0:
            return None
        return max(self._status("VmHWM") - self.base_kb, 0) / 1024


# -- correctness --------------------------------------------------------------------------------
def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach() - b.detach()).norm() / b.detach().norm().clamp_min(1e-12))


def build_pair(row: Row, scale: Scale, device: torch.device, seed: int):
    torch.manual_seed(seed)
    ref = make_supernet(row.shape, 10, row.candidates, scale.cells, scale.channels, scale.stem_multiplier,
                        fast=False).to(device)
    fast = make_supernet(row.shape, 10, row.candidates, scale.cells, scale.channels, scale.stem_multiplier,
                         fast=True).to(device)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def gradients(net: torch.nn.Module, order: int, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor,
              yv: torch.Tensor) -> list[torch.Tensor]:
    """Loss, gradients w.r.t. every parameter (weights and alphas) and, for order 2, the hypergradient."""
    net.train()
    loss = F.cross_entropy(net(xt), yt)
    out = [loss, *torch.autograd.grad(loss, list(net.parameters()))]
    if order == 2:
        w_opt = make_optimizers(net, DartsSettings(order=2), 10)[0]
        out += unrolled_alpha_grads(net, w_opt, w_opt.param_groups[0]["lr"], xt, yt, xv, yv)
    return out


def compare(row: Row, scale: Scale, device: torch.device, batch: int, dtype: torch.dtype,
            wrap: Callable[[torch.nn.Module], torch.nn.Module] | None = None, fast: bool = True
            ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """Loss and gradients of the reference and (``fast``) of the fast path, optionally wrapped."""
    ref, fast_net = build_pair(row, scale, device, seed=1)
    ref, fast_net = ref.to(dtype), fast_net.to(dtype)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():  # alphas away from uniform, so every candidate matters
        for a, b in zip(ref.arch_parameters(), fast_net.arch_parameters(), strict=True):
            a.copy_(torch.randn(a.shape, generator=g))
            b.copy_(a)
    xt, yt, xv, yv = data(row, batch, device, seed=2)
    xt, xv = xt.to(dtype), xv.to(dtype)
    want = gradients(ref, row.order, xt, yt, xv, yv)
    if not fast:
        return want, None
    return want, gradients(wrap(fast_net) if wrap else fast_net, row.order, xt, yt, xv, yv)


def max_rel_err(got: list[torch.Tensor], want: list[torch.Tensor]) -> float:
    return max(rel_err(g.double(), w.double()) for g, w in zip(got, want, strict=True))


def check(row: Row, scale: Scale, device: torch.device, batch: int,
          wrap: Callable[[torch.nn.Module], torch.nn.Module] | None = None) -> tuple[bool, float, str]:
    """Is the fast path the reference's function? fp32 with TF32 off, PASS below 1e-4.

    A tensor whose gradient is small next to its terms (a conv weight deep in a tiny network; DARTS'
    second-order hypergradient, whose central difference (g+ - g-) / (2 eps) with eps = 0.01 / ||dw||
    amplifies rounding) can differ by more in fp32 only because the batched convs sum in another order.
    Then the reference runs again in fp64, and PASS needs the fp32 error to be at most 10x the
    reference's own fp32 error against fp64 (both shown) and, for the eager fast path, its fp64 error
    below 1e-4. ``wrap`` (a compiled variant) skips the fp64 run of the fast path: compiling it in fp64
    would be a second compilation, and the eager path it compiles is checked in fp64 on its own row."""
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        ref32, fast32 = compare(row, scale, device, batch, torch.float32, wrap)
        err32 = max_rel_err(fast32, ref32)
        if err32 < TOLERANCE:
            return True, err32, f"fp32 {err32:.1e}"
        if wrap is None:
            ref64, fast64 = compare(row, scale, device, batch, torch.float64)
            err64 = max_rel_err(fast64, ref64)
        else:
            ref64, _ = compare(row, scale, device, batch, torch.float64, fast=False)
            err64 = None
        floor = max_rel_err(ref32, ref64)
        ok = (err64 is None or err64 < TOLERANCE) and err32 <= 10 * floor
        detail = f"fp32 {err32:.1e}, reference fp32 vs fp64 {floor:.1e}"
        return ok, err32, detail + ("" if err64 is None else f"; fp64 {err64:.1e}")
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32


class OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched below autograd (forward and backward), views excluded."""

    def __init__(self):
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not func.is_view:
            self.ops += 1
        return func(*args, **(kwargs or {}))


@dataclass(frozen=True)
class Variant:
    """One execution path of the supernet: the reference, the fast path, or the fast path compiled."""

    name: str
    fast: bool
    compile_mode: str | None = None

    def wrap(self, net: torch.nn.Module) -> torch.nn.Module:
        return net if self.compile_mode is None else torch.compile(net, mode=self.compile_mode)


def variants(compile_modes: Sequence[str]) -> list[Variant]:
    return [Variant("reference", False), Variant("fast", True),
            *(Variant(f"fast+compile:{m}", True, m) for m in compile_modes)]


# -- timing -------------------------------------------------------------------------------------
def data(row: Row, batch: int, device: torch.device, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * batch, *row.shape, generator=g).to(device)
    y = (torch.arange(2 * batch) % 10).to(device)
    return x[:batch], y[:batch], x[batch:], y[batch:]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(row: Row, scale: Scale, device: torch.device, variant: Variant, batch: int, warmup: int,
               steps: int) -> dict:
    """Mean seconds per search step (warm-up excluded), the first step's seconds (a compiled variant
    compiles there), peak memory in MiB and, for eager variants, the operators one step dispatches."""
    ref_net, fast_net = build_pair(row, scale, device, seed=0)
    net = variant.wrap(fast_net if variant.fast else ref_net)
    del ref_net, fast_net
    net.train()
    s = DartsSettings(order=row.order)
    w_opt, a_opt, _ = make_optimizers(net, s, 1000)
    xt, yt, xv, yv = data(row, batch, device, seed=3)
    memory = PeakMemory(device)
    memory.start()
    first = None
    for _ in range(max(warmup, 3 if variant.compile_mode else 0)):  # compile, then CUDA-graph recording
        started = time.perf_counter()
        search_step(net, w_opt, a_opt, s, xt, yt, xv, yv)
        sync(device)
        first = time.perf_counter() - started if first is None else first
    sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        search_step(net, w_opt, a_opt, s, xt, yt, xv, yv)
    sync(device)
    seconds = (time.perf_counter() - started) / steps
    peak = memory.peak_mib()
    ops = None
    if variant.compile_mode is None:
        counter = OpCounter()
        with counter:
            search_step(net, w_opt, a_opt, s, xt, yt, xv, yv)
        ops = counter.ops
    del net, w_opt, a_opt
    if variant.compile_mode is not None:
        torch._dynamo.reset()  # free the compiled graphs (and CUDA-graph pools) before the next row
    return {"seconds": seconds, "first_s": first, "peak": peak, "ops": ops}


# -- the run ------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} ({len(names)} logical CPUs)"
    except (OSError, IndexError):
        return f"{platform.machine()} CPU"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--batch", type=int, default=None, help="images per batch (default 64; 2 with --quick)")
    p.add_argument("--check-batch", type=int, default=None,
                   help="images per batch of the correctness check (default min(batch, 16): the check "
                        "compares functions, and its fp64 pass of a full Table 3 supernet at batch 64 "
                        "would need tens of GB)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per row (default 10; 1 with --quick)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps per row (default 3; 0 with --quick)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--quick", action="store_true", help="tiny network and inputs: a smoke run of seconds")
    p.add_argument("--only", default=None, help="comma-separated spaces to run (darts-8, table3-full, table3-reduced)")
    p.add_argument("--inputs", default=None,
                   help="comma-separated input shapes to run, e.g. 3x32x32 (default: all of the selected spaces')")
    p.add_argument("--orders", default=None, help="comma-separated DARTS orders to run: 1, 2 (default: both)")
    p.add_argument("--compile", default="", metavar="MODES",
                   help="also time the fast path under torch.compile with these modes, comma-separated "
                        f"({', '.join(COMPILE_MODES)}); each compiles once per row")
    p.add_argument("--out", type=Path, default=None, help="write the table as markdown here, and a .json beside it")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every check passed, 1 otherwise. Bad options raise ``UserError``."""
    args = parse(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no GPU here; use --device cpu or auto")
    for name in ("batch", "check_batch", "steps", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup is not None and args.warmup < 0:
        raise UserError(f"--warmup must be at least 0, got {args.warmup}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cpu":
        PeakMemory.pin_malloc()
    quick = args.quick
    batch = args.batch or (2 if quick else 64)
    check_batch = args.check_batch or min(batch, 16)
    steps = args.steps or (1 if quick else 10)
    warmup = args.warmup if args.warmup is not None else (0 if quick else 3)
    scale = Scale(cells=3, channels=2, nodes=2) if quick else Scale()
    selected = rows(scale, quick)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {r.space for r in selected}
        if unknown:
            raise UserError(f"--only: unknown space(s) {', '.join(sorted(unknown))}; "
                            f"choose from {', '.join(dict.fromkeys(r.space for r in selected))}")
        selected = [r for r in selected if r.space in wanted]
    if args.inputs:
        shapes = set(args.inputs.split(","))
        known = {"x".join(map(str, r.shape)) for r in selected}
        if shapes - known:
            raise UserError(f"--inputs: unknown shape(s) {', '.join(sorted(shapes - known))}; "
                            f"choose from {', '.join(sorted(known))}")
        selected = [r for r in selected if "x".join(map(str, r.shape)) in shapes]
    if args.orders:
        orders = set(args.orders.split(","))
        if not orders or orders - {"1", "2"}:
            raise UserError(f"--orders: choose from 1, 2 (comma-separated), got {args.orders!r}")
        selected = [r for r in selected if str(r.order) in orders]
    if not selected:
        raise UserError("--only, --inputs and --orders together select no row")
    modes = [m for m in args.compile.split(",") if m]
    bad = sorted(set(modes) - set(COMPILE_MODES))
    if bad:
        raise UserError(f"--compile: unknown mode(s) {', '.join(bad)}; choose from {', '.join(COMPILE_MODES)}")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else (
        f"{cpu_model()}, {torch.get_num_threads()} torch threads")
    mem_label = "peak MiB (cuda max allocated)" if device.type == "cuda" else "peak MiB (CPU: RSS rise)"
    header = ["space", "input", "order", "path", "ms/step", "images/s", mem_label, "ops/step", "first step s",
              "speed-up", "check"]
    meta = {
        "command": "python benchmarks/darts_step.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "device": device_name,
        "torch": torch.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "batch": batch, "check_batch": check_batch, "steps": steps, "warmup": warmup, "network": scale.__dict__,
        "cpu_threads": torch.get_num_threads(),
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32, "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
    }
    table, records = [], []
    for row in selected:
        base = None
        for variant in variants(modes):
            try:
                ok, err, detail = (True, 0.0, "-") if not variant.fast else check(
                    row, scale, device, check_batch, variant.wrap if variant.compile_mode else None)
                if variant.compile_mode:
                    torch._dynamo.reset()  # the timed net compiles afresh: its first step shows the compile time
                t = time_steps(row, scale, device, variant, batch, warmup, steps)
            except Exception as exc:  # noqa: BLE001 - a compiler failure is a result of this row, not the run's end
                if variant.compile_mode is None:
                    raise
                torch._dynamo.reset()
                message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
                print(f"{row.space} {row.order} {variant.name}: {message}", file=sys.stderr, flush=True)
                table.append([row.space, "x".join(map(str, row.shape)), str(row.order), variant.name, *["-"] * 6,
                              f"FAIL ({message.replace('|', '/')})"])
                records.append({"space": row.space, "input": list(row.shape), "order": row.order,
                                "path": variant.name, "check": False, "error": message})
                write(args.out, meta, header, table, records, mem_label, complete=False)
                continue
            base = t["seconds"] if base is None else base
            peak = t["peak"]
            table.append([row.space, "x".join(map(str, row.shape)), str(row.order), variant.name,
                          f"{t['seconds'] * 1e3:.1f}", f"{batch / t['seconds']:.1f}",
                          "n/a" if peak is None else f"{peak:.0f}", "-" if t["ops"] is None else str(t["ops"]),
                          "-" if t["first_s"] is None else f"{t['first_s']:.1f}", f"{base / t['seconds']:.2f}x",
                          f"{'PASS' if ok else 'FAIL'} ({detail})" if variant.fast else "-"])
            records.append({"space": row.space, "input": list(row.shape), "order": row.order, "path": variant.name,
                            "ms_per_step": t["seconds"] * 1e3, "images_per_s": batch / t["seconds"],
                            "peak_mib": peak, "ops_per_step": t["ops"], "first_step_s": t["first_s"],
                            "max_rel_err_fp32": err, "check": ok, "check_detail": detail})
            print(" | ".join(table[-1]), flush=True)
            write(args.out, meta, header, table, records, mem_label, complete=False)
    write(args.out, meta, header, table, records, mem_label, complete=True)
    print()
    print(markdown(header, table))
    return 0 if all(r["check"] for r in records) else 1


def markdown(header: list[str], table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in table])


def write(out: Path | None, meta: dict, header: list[str], table: list[list[str]], records: list[dict],
          mem_label: str, complete: bool) -> None:
    """(Re)write the markdown and JSON after every row, atomically: a run cut short (a device call's
    time limit, a crash in a later row) keeps the rows it measured, marked incomplete."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    note = (f"Command: `{meta['command']}`  \nDevice: {meta['device']}; torch {meta['torch']}; {meta['date']}  \n"
            f"Batch {meta['batch']} (correctness check: batch {meta['check_batch']}), {meta['warmup']} warm-up + "
            f"{meta['steps']} timed steps per row; "
            f"network {meta['network']}.  \n"
            f"Memory column: {mem_label} (see the docstring of benchmarks/darts_step.py).\n\n")
    if not complete:
        note += "**Incomplete: the run has not finished (or was cut short) after these rows.**\n\n"
    write_text_atomic(out, note + markdown(header, table) + "\n")
    write_text_atomic(out.with_suffix(".json"),
                      json.dumps({**meta, "complete": complete, "rows": records}, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
