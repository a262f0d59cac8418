"""``evaluate(suite, config, ...)``: the only trial body. A config goes in, metrics come out.

Why one function: fairness. Random search, TPE, a derived DARTS cell and Hyperion all end here, so
they are trained by the same loop on the same data with the same budget accounting. Data sits on the
device as tensors for the whole trial (no DataLoader, no per-batch host work); augmentation, when a
suite asks for it, runs as tensor ops on the device.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hyperion_bench import device as devices
from hyperion_bench.device import PeakMeter, warm_up
from hyperion_bench.nn import Genotype, build_network, count_params
from hyperion_bench.objectives import derive, weighted_sum
from hyperion_bench.oneshot import run_search
from hyperion_bench.plan import decode
from hyperion_bench.suites import Suite

Report = Callable[..., None]


class TrialDiverged(RuntimeError):
    """The training loss became NaN or infinite; the trial is recorded as failed."""


class InvalidConfig(ValueError):
    """A config the search space allows but the data cannot honour (a window longer than the signal, a
    window and rate that leave too few samples). Raised before any training, so the trial is recorded as
    failed with this message and costs its budget slot, like any other failure, instead of crashing."""


# Fewest samples a 1-D signal may keep after window and downsampling: the cell network's two stride-2
# reductions (3+ cells) then leave one sample, and a kernel of 3 still sees more signal than padding.
MIN_SAMPLES = 4


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def prepare_signal(x: torch.Tensor, window: int, downsample: int) -> torch.Tensor:
    """1-D pipeline parameters: centre crop to ``window`` samples, then average ``downsample`` samples.

    This is the Hyperion motor use case's window size and sampling rate (Table 1): a shorter window and
    a lower rate make a cheaper network, at some cost in accuracy, and the optimiser trades them off.
    ``window`` 0 is the whole signal. Works on any channel count and length; a window longer than the
    signal or fewer than ``MIN_SAMPLES`` samples left raise :class:`InvalidConfig` (a failed trial).
    Parameter counting without data uses the same arithmetic (:meth:`hyperion_bench.plan.Signal.length`).
    """
    length = x.shape[-1]
    if window < 0 or downsample < 1:
        raise InvalidConfig(f"window must be >= 0 and downsample >= 1, got window {window}, downsample {downsample}")
    if window > length:
        raise InvalidConfig(f"window {window} is longer than the signal ({length} samples)")
    kept = (window or length) // downsample
    if kept < MIN_SAMPLES:
        raise InvalidConfig(f"window {window or length} with downsample {downsample} leaves {kept} of the signal's "
                            f"{length} samples; the 1-D network needs at least {MIN_SAMPLES}")
    if 0 < window < length:
        start = (length - window) // 2
        x = x[..., start : start + window]
    if downsample > 1:
        x = F.avg_pool1d(x, downsample, downsample)
    return x


def augment_images(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Random horizontal flip per sample and a random translation (pad = size/8) per batch.

    The translation is drawn on the device and applied as a gather with device indices: reading it to
    the host to slice with (``.tolist()``) would be a sync per training batch, stalling the GPU queue."""
    flip = torch.rand(x.shape[0], device=x.device, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    pad = max(1, x.shape[-1] // 8)
    shift = torch.randint(0, 2 * pad + 1, (2,), generator=gen, device=x.device)  # (dx, dy)
    rows = torch.arange(x.shape[-2], device=x.device) + shift[1]
    cols = torch.arange(x.shape[-1], device=x.device) + shift[0]
    padded = F.pad(x, (pad, pad, pad, pad))
    return padded[..., rows[:, None], cols[None, :]]


@torch.no_grad()
def loss_error_sums(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    """Summed cross-entropy and number of wrong predictions over (x, y), as one device tensor (float64).

    Tensor code only: the sums stay on the device across batches, so an evaluation costs one host
    read (:func:`predict_loss_error`), not two per batch."""
    model.eval()
    total = torch.zeros(2, dtype=torch.float64, device=x.device)
    for i in range(0, x.shape[0], batch):
        logits, yb = model(x[i : i + batch]), y[i : i + batch]
        total += torch.stack([F.cross_entropy(logits, yb, reduction="sum"), (logits.argmax(1) != yb).sum()])
    return total


def predict_loss_error(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> tuple[float, float]:
    """Mean loss and error rate over (x, y)."""
    loss_sum, wrong = devices.host_values(loss_error_sums(model, x, y, batch))
    n = max(x.shape[0], 1)
    return loss_sum / n, wrong / n


def train_epoch(model: nn.Module, opt: torch.optim.Optimizer, sched: Any, x: torch.Tensor, y: torch.Tensor,
                batch: int, steps: int, gen: torch.Generator | None, augment: bool, lineage: Any = None
                ) -> torch.Tensor:
    """``steps`` training steps on shuffled batches of (x, y); returns the summed loss as a device tensor.

    Tensor code only (no value is read, no host copy), so the GPU queue never waits for the host inside
    an epoch; ``tests/test_fake_devices.py`` runs it on the meta device, where any read would raise.
    Drops the last partial batch: no size-1 BatchNorm batches."""
    model.train()
    order = torch.randperm(x.shape[0], device=x.device, generator=gen)
    loss_sum = torch.zeros((), device=x.device)
    for step in range(steps):
        idx = order[step * batch : (step + 1) * batch]
        xb = x[idx]
        if augment:
            xb = augment_images(xb, gen)
        logits, yb = model(xb), y[idx]
        loss = lineage.loss(logits, xb, yb) if lineage is not None else F.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        loss_sum += loss.detach()
    return loss_sum


def evaluate(
    suite: Suite,
    config: dict[str, Any],
    data: Any,
    *,
    epochs: int | None = None,
    report: Report | None = None,
    seed: int = 0,
    device: str = "cpu",
    genotype: Genotype | None = None,
    deadline: float | None = None,
    lineage: Any = None,
    oneshot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build, train and measure the network ``config`` describes; report after every epoch.

    A config that hands fusion parameters to the inner loop (``inner@op``, or several values per node)
    first runs the DARTS search on the training split (see :mod:`hyperion_bench.oneshot`; ``deadline``,
    a ``time.time()`` value, is when the (method, seed) budget ends), then trains the derived network
    exactly like any other; every report then also carries the genotype and the search's record.

    ``data`` is a :class:`hyperion_bench.data.Dataset`. ``epochs`` overrides the config's (multi-fidelity
    methods). Every report carries epoch, val_error, val_loss, train_loss, n_params, the suite's
    weighted_sum, elapsed_s and the GPU memory figures (docs/gpu.md, "GPU memory"; 0 on the CPU): peak_gpu_mem_mb,
    train_peak_gpu_mem_mb, eval_peak_gpu_mem_mb, data_gpu_mem_mb; the last also test_error/test_loss.
    Raises :class:`TrialDiverged` on a non-finite loss. Same seed on the CPU -> same numbers.
    ``lineage`` (:mod:`hyperion_bench.lineage`, BULK & CUT only) starts from a parent's trained network,
    may distil from it, and saves the trained network; None (every other method) changes nothing.
    ``oneshot``: the command line's inner-loop settings (``TrialConstants.oneshot``), over the suite's.
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    warm_up(dev)  # library workspaces exist before the baseline: the first trial of a process pays no more
    meter = PeakMeter(dev)
    torch.manual_seed(seed)
    gen = devices.generator(dev, seed)
    plan = decode(suite, config, epochs=epochs, genotype=genotype, oneshot=oneshot)  # the only reading of the config
    t = plan.training

    splits = {k: getattr(data, k) for k in ("x_train", "x_val", "x_test")}
    if len(data.in_shape) == 2:  # 1-D signals: the sensing pipeline parameters
        splits = {k: prepare_signal(v, plan.signal.window, plan.signal.downsample) for k, v in splits.items()}
    x_train, x_val, x_test = (splits[k].to(dev) for k in ("x_train", "x_val", "x_test"))
    y_train, y_val, y_test = (getattr(data, k).to(dev) for k in ("y_train", "y_val", "y_test"))
    in_shape = tuple(x_train.shape[1:])
    data_mb = meter.baseline()  # the resident splits are the same for every method: peaks are above them

    search_info: dict[str, Any] = {}
    if plan.search is not None:
        genotype, search_info = run_search(plan.search, plan.network, x_train, y_train, data.n_classes, seed,
                                           deadline)
    model, genotype = build_network(plan.network, in_shape, data.n_classes, genotype)
    if lineage is not None:  # a trial that inherits a trained network (BULK & CUT; see lineage.py)
        model = lineage.prepare(model, dev)
    model = model.to(dev)
    n_params = count_params(model)

    n_epochs = t.epochs
    batch = min(t.batch_size, x_train.shape[0])
    steps_per_epoch = max(x_train.shape[0] // batch, 1)
    if t.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay,
                              nesterov=t.momentum > 0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_epochs * steps_per_epoch)
    augment = t.augment and len(in_shape) == 3

    metrics: dict[str, Any] = {}
    for epoch in range(1, n_epochs + 1):
        with meter.phase("train"):
            loss_sum = train_epoch(model, opt, sched, x_train, y_train, batch, steps_per_epoch, gen, augment,
                                   lineage)
        train_loss = devices.host_values(loss_sum) / steps_per_epoch  # one host sync per epoch
        if not math.isfinite(train_loss):
            raise TrialDiverged(f"training loss became {train_loss} in epoch {epoch}")
        with meter.phase("eval"):
            val_loss, val_error = predict_loss_error(model, x_val, y_val)
        metrics = derive(
            {"epoch": epoch, "val_error": val_error, "val_loss": val_loss, "train_loss": train_loss,
             "n_params": n_params}
        )
        metrics["weighted_sum"] = weighted_sum(suite.objectives, metrics)
        metrics.update(search_info)
        if genotype is not None:
            metrics["genotype"] = genotype.to_json()
        if epoch == n_epochs:
            with meter.phase("eval"):
                metrics["test_loss"], metrics["test_error"] = predict_loss_error(model, x_test, y_test)
        metrics["elapsed_s"] = time.perf_counter() - started
        # GPU memory (hyperion_bench/device.py; all 0 on the CPU), above the resident data: the step peak
        # (training, or the one-shot search where larger), and training and evaluation apart
        metrics["train_peak_gpu_mem_mb"] = meter.mb("train")
        metrics["eval_peak_gpu_mem_mb"] = meter.mb("eval")
        metrics["peak_gpu_mem_mb"] = max(meter.mb("train"), search_info.get("search_peak_gpu_mem_mb", 0.0))
        metrics["data_gpu_mem_mb"] = data_mb
        if report is not None:
            report(**metrics)
    if lineage is not None:
        lineage.finish(model)
    return metrics
