"""CUDA-path properties that a CPU can check (issue 16): compiled searches in a warm worker, the
search's device copies, the peak-memory phases. The stand-in device tests are test_fake_devices.py."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from conftest import CELL_SUITE, write_suite
from hyperion_bench import device
from hyperion_bench.nn.darts import DartsSettings, search
from hyperion_bench.suites import load_suite

ONESHOT = CELL_SUITE + """
[oneshot]
epochs = 1
batch_size = 4
"""
CONFIG = {"cells": 1, "channels": 4, "kernel@0": 3, "kernel@1": 3, "activation@0": "relu", "activation@1": "relu"}


@pytest.fixture
def suite(tmp_path):
    return load_suite(write_suite(tmp_path, ONESHOT))


def test_every_compiled_search_in_a_worker_compiles(suite, monkeypatch):
    """Dynamo gives up compiling a function after ``recompile_limit`` versions (8); a warm worker that
    never reset it ran every later search uncompiled, so search speed depended on trial order. With the
    limit at 1, two searches over different supernets must both be compiled. A counting backend stands
    in for inductor (which takes minutes on two cores)."""
    from hyperion_bench.oneshot import run_search
    from hyperion_bench.plan import decode

    compiled: list[int] = []

    def counting(gm, example_inputs):
        compiled[-1] += 1
        return gm.forward

    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda net, mode=None: real(net, backend=counting))
    suite.oneshot["compile"] = "reduce-overhead"
    x, y = torch.randn(8, 1, 8, 8), torch.arange(8) % 3
    # dynamo's own config patch, not monkeypatch: undoing a monkeypatch deletes the config entry
    with torch._dynamo.config.patch(recompile_limit=1):
        try:
            for ops in ("conv|skip", "conv|max_pool|skip"):
                compiled.append(0)
                plan = decode(suite, {**CONFIG, "inner@op": ops})
                run_search(plan.search, plan.network, x, y, 3, seed=0, deadline=None)
        finally:
            torch._dynamo.reset()
    assert compiled[0] > 0 and compiled[1] > 0, compiled


class IndexSizes(TorchDispatchMode):
    """The rows of every tensor that indexing gathers from ``source``."""

    def __init__(self, source: torch.Tensor):
        super().__init__()
        self.source, self.rows = source, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if str(func.overloadpacket) == "aten.index" and args[0] is self.source:
            self.rows.append(out.shape[0])
        return out


def test_the_search_gathers_batches_not_halves_of_the_training_split():
    """The search indexes each batch from the training split itself. On commit 37ca364 it first copied
    both halves (``x[perm[:half]]``), a second copy of the split on the device for the whole search
    (about 490 MB for CIFAR-10) that only one-shot trials paid in their peak memory."""
    from hyperion_bench.nn.supernet import SuperNetwork

    torch.manual_seed(0)
    net = SuperNetwork((1, 8, 8), 3, [[("conv", 3, "relu"), ("skip", 0, "-")]] * 2, cells=1, channels=4)
    x, y = torch.randn(24, 1, 8, 8), torch.arange(24) % 3
    with IndexSizes(x) as spy:
        info = search(net, x, y, DartsSettings(epochs=1, batch_size=4))
    assert info["search_steps"] == 3
    assert spy.rows and max(spy.rows) <= 4, spy.rows


def test_peak_phases_are_measured_apart_above_the_baseline(monkeypatch):
    """The meter's phases on a simulated CUDA allocator: 100 MB resident before the baseline, a
    training phase that peaks at 300 MB, an evaluation that peaks at 700 MB, a second training epoch
    at 250 MB. Training and evaluation keep their own peaks, both above the baseline."""
    mb = device.MB
    state = {"now": 100 * mb, "peak": 100 * mb}
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: state["now"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: state["peak"])
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: state.update(peak=state["now"]))

    def allocate(peak_mb: int) -> None:
        state["peak"] = max(state["peak"], peak_mb * mb)

    meter = device.PeakMeter(torch.device("cuda", 0))
    assert meter.baseline() == 100
    for train_mb in (300, 250):
        with meter.phase("train"):
            allocate(train_mb)
        with meter.phase("eval"):
            allocate(700)
    assert meter.mb("train") == 200 and meter.mb("eval") == 600
    assert device.PeakMeter(torch.device("cpu")).mb("train") == 0.0


BLOCKED = ("syne_tune", "optuna", "hyperopt", "flaml", "pymoo", "ray", "moocore", "botorch", "xgboost")
# what the device machine has: torch (and what torch itself imports lazily: sympy, mpmath, triton, ...),
# numpy, pandas (the package's records import it), scikit-learn, torchvision
DEVICE_HAS = {"hyperion_bench", "numpy", "pandas", "dateutil", "pytz", "tzdata", "six", "sklearn", "scipy", "joblib",
              "threadpoolctl", "torchvision", "PIL", "sympy", "mpmath", "triton", "networkx", "jinja2", "markupsafe",
              "filelock", "fsspec", "typing_extensions", "cuda"}
IMPORT_PROBE = """
import importlib.abc, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked on the device machine: " + name)
sys.meta_path.insert(0, Block())
import torch
with_torch = {{m.split(".")[0] for m in sys.modules}}
sys.argv = ["gpu_trials.py", "--quick", "--epochs", "1", "--device", "cpu"]
try:
    runpy.run_path("benchmarks/gpu_trials.py", run_name="__main__")
    code = 0
except SystemExit as e:
    code = e.code
added = {{m.split(".")[0] for m in sys.modules}} - with_torch - set(sys.stdlib_module_names)
print("ADDED", sorted(added), "EXIT", code)
"""


def test_the_end_to_end_gpu_call_needs_only_torch(tmp_path):
    """``benchmarks/gpu_trials.py`` (gpu_owed.sh trials) runs one trial of each family, here with
    ``--quick`` on the CPU, while syne-tune, optuna, hyperopt, flaml, pymoo, ray, moocore, botorch and
    xgboost cannot be imported; beyond what ``import torch`` brings, it imports only what the device
    machine has (torch 2.11, pandas, scikit-learn, torchvision; Python 3.12)."""
    import subprocess
    import sys

    from conftest import REPO

    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE.format(blocked=BLOCKED)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stdout.strip().splitlines()[-1]
    assert last.endswith("EXIT 0"), out.stdout[-3000:] + out.stderr[-3000:]
    added = eval(last[len("ADDED "):last.index(" EXIT")])
    assert {m for m in added if not m.startswith("_")} <= DEVICE_HAS, added
    assert "**FAILED**" not in out.stdout
