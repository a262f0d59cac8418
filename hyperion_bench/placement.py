"""Where a run's work goes: which GPUs each warm worker sees, which seeds a command runs, and which
(method, seed) runs a shard of a larger job takes.

Why: a paper-scale comparison outgrows one GPU and one machine (issue 17). Every warm worker used to see
every GPU and use the default one, so on an 8-GPU machine all trials piled onto GPU 0. Now each worker
is started with ``CUDA_VISIBLE_DEVICES`` set to its *slot*: with ``--gpus-per-trial 1`` one GPU of its
own, with ``0.5`` half of one (two workers share it), with ``2`` two GPUs. A trial only ever sees its
worker's GPUs, and the GPUs a trial ran on are recorded in its row. Seed ranges (``--seeds 5-9``) and
shards (``--shard 2/4``: the third of four equal parts of the (method, seed) runs) split a job over
machines or Slurm array tasks without any engine; ``report`` merges the folders they produce.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from hyperion_bench.errors import UserError


@dataclass(frozen=True)
class GpuPlan:
    """The GPUs a run may use (``CUDA_VISIBLE_DEVICES`` names) and each trial's share of them."""

    gpus: tuple[str, ...]
    per_trial: float

    def __post_init__(self) -> None:
        if not self.gpus:
            raise UserError("--gpus: no GPU given (and none visible)")
        if len(set(self.gpus)) != len(self.gpus):
            raise UserError(f"--gpus: a GPU is named twice ({','.join(self.gpus)})")
        f = check_share(self.per_trial)
        if f > len(self.gpus):
            raise UserError(f"--gpus-per-trial {f:g} needs {f:g} GPUs; --gpus gives {len(self.gpus)}")

    def slots(self) -> list[tuple[str, ...]]:
        """The GPU sets workers get, in the order workers take them: with a share of a GPU, the first
        workers are spread over all GPUs before any GPU gets a second one."""
        if self.per_trial >= 1:
            k = int(self.per_trial)
            return [self.gpus[i:i + k] for i in range(0, len(self.gpus) - k + 1, k)]
        share = round(1 / self.per_trial)
        return [(g,) for _ in range(share) for g in self.gpus]

    def check_workers(self, workers: int) -> None:
        n = len(self.slots())
        if workers > n:
            raise UserError(f"--workers {workers} needs {workers} GPU slots; --gpus {','.join(self.gpus)} with "
                            f"--gpus-per-trial {self.per_trial:g} gives {n} (lower --gpus-per-trial to share GPUs)")


def check_share(f: float) -> float:
    """``--gpus-per-trial``: whole GPUs (1, 2, ...) or a share 1/k of one (0.5, 0.25, ...)."""
    if not f > 0:
        raise UserError(f"--gpus-per-trial must be positive, got {f:g}")
    if f < 1 and abs(1 / f - round(1 / f)) > 1e-9:
        raise UserError(f"--gpus-per-trial {f:g}: a share of one GPU must be 1/k (0.5, 0.25, ...)")
    if f >= 1 and f != int(f):
        raise UserError(f"--gpus-per-trial {f:g}: more than one GPU per trial must be a whole number")
    return f


def visible_gpus() -> tuple[str, ...]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them for child processes."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return tuple(g.strip() for g in env.split(",") if g.strip())
    import torch

    return tuple(str(i) for i in range(torch.cuda.device_count()))


def gpu_plan(device: str, gpus: str | None, per_trial: float | None, workers: int) -> GpuPlan | None:
    """The run's GPU plan (None on the CPU). Defaults: every visible GPU; a whole GPU per trial when there
    are at least as many GPUs as workers, else the largest share 1/k that gives every worker a slot."""
    if not device.startswith("cuda"):
        if gpus is not None or per_trial is not None:
            raise UserError("--gpus and --gpus-per-trial need --device cuda (or auto on a machine with GPUs)")
        return None
    names = tuple(g.strip() for g in gpus.split(",") if g.strip()) if gpus is not None else visible_gpus()
    if per_trial is None:
        per_trial = 1.0 if workers <= len(names) else 1.0 / math.ceil(workers / max(len(names), 1))
    plan = GpuPlan(names, float(per_trial))
    plan.check_workers(workers)
    return plan


def parse_seeds(text: str, start: int = 0) -> list[int]:
    """``--seeds``: a count N (seeds ``start`` .. ``start``+N-1) or an inclusive range ``A-B``."""
    text = str(text).strip()
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        if start:
            raise UserError("--seed-start goes with a seed count (--seeds 5 --seed-start 10), not a range")
        a, b = int(m.group(1)), int(m.group(2))
        if b < a:
            raise UserError(f"--seeds {text}: the range is empty (write the smaller seed first)")
        return list(range(a, b + 1))
    if not text.isdigit():
        raise UserError(f"--seeds {text!r}: give a count (3) or a range (5-9)")
    if int(text) < 1:
        raise UserError(f"--seeds must be at least 1, got {text}")
    if start < 0:
        raise UserError(f"--seed-start must be 0 or more, got {start}")
    return list(range(start, start + int(text)))


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``--shard i/n``: part ``i`` (0 .. n-1) of ``n``, or None."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise UserError(f"--shard {text!r}: give i/n with 0 <= i < n (e.g. 0/4 ... 3/4, a Slurm array task id "
                        f"over the array size)")
    return int(m.group(1)), int(m.group(2))


def shard_runs(methods: list[str], seeds: list[int], shard: tuple[int, int] | None) -> list[tuple[str, int]]:
    """The (method, seed) runs this command does: all of them, or every n-th from the i-th in the order
    methods x seeds (the same command line gives every shard the same order: equal parts, none twice)."""
    runs = [(m, s) for m in methods for s in seeds]
    if shard is None:
        return runs
    i, n = shard
    return runs[i::n]
