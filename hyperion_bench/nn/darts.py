"""The DARTS bi-level search loop, first and second order (Liu et al., 2019; quark0/darts cnn/).

Why written here: it is the inner loop of Hyperion and a baseline of its own, defined by the paper;
the reference code does not run on PyTorch 2.x and its pt.darts port divides by ``2.*eps`` instead
of ``2 * eps`` in the Hessian-vector product (REFERENCES.md). Defaults are the paper's: weights by
SGD (lr 0.025 cosine to 0.001, momentum 0.9, wd 3e-4, grad clip 5), alphas by Adam (lr 3e-4,
betas (0.5, 0.999), wd 1e-3), the training set split 50/50 into weight and alpha halves.

Second order: with w' = w - xi * (momentum * m + grad_w L_train + wd * w),
grad_alpha = grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+) - grad_alpha L_train(w-)) / (2 eps),
w+- = w +- eps * grad_w' L_val(w', alpha), eps = 0.01 / ||grad_w' L_val||.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from hyperion_bench import device
from hyperion_bench.memory import step_peak_mb
from hyperion_bench.nn.supernet import SuperNetwork


@dataclass(frozen=True)
class DartsSettings:
    epochs: int = 50
    batch_size: int = 64
    order: int = 1
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0
    a_lr: float = 3e-4
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3

    def __post_init__(self) -> None:
        # the command line checks these with its own messages (method_settings); this guards the library
        # API, where search() with no epoch raised UnboundLocalError
        for name, ok in (("epochs", self.epochs >= 1), ("batch_size", self.batch_size >= 1),
                         ("order", self.order in (1, 2))):
            if not ok:
                raise ValueError(f"DartsSettings.{name} = {getattr(self, name)!r}: epochs and batch_size must be "
                                 "at least 1, order 1 or 2")


def make_optimizers(net: SuperNetwork, s: DartsSettings, total_steps: int
                    ) -> tuple[torch.optim.SGD, torch.optim.Adam, torch.optim.lr_scheduler.LRScheduler]:
    w_opt = torch.optim.SGD(list(net.weights()), lr=s.w_lr, momentum=s.w_momentum, weight_decay=s.w_weight_decay)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=s.a_lr, betas=s.a_betas, weight_decay=s.a_weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, T_max=max(total_steps, 1), eta_min=s.w_lr_min)
    return w_opt, a_opt, sched


def _loss(net: nn.Module, params: dict[str, torch.Tensor] | None, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = net(x) if params is None else functional_call(net, params, (x,))
    return F.cross_entropy(out, y)


def unrolled_alpha_grads(net: SuperNetwork, w_opt: torch.optim.SGD, xi: float, xt: torch.Tensor, yt: torch.Tensor,
                         xv: torch.Tensor, yv: torch.Tensor, eps_scale: float = 0.01) -> list[torch.Tensor]:
    """The second-order architecture gradient (see the module docstring); does not change ``net``.

    ``eps_scale`` is DARTS' 0.01; the tests shrink it to show the finite difference converges."""
    names = {id(p): n for n, p in net.named_parameters()}
    weights = list(net.weights())
    alphas = net.arch_parameters()
    group = w_opt.param_groups[0]
    momentum, wd = group["momentum"], group["weight_decay"]

    # virtual step w' = w - xi * (momentum * m + g + wd * w)
    grads = torch.autograd.grad(_loss(net, None, xt, yt), weights)
    w_prime = {}
    for w, g in zip(weights, grads, strict=True):
        buf = w_opt.state.get(w, {}).get("momentum_buffer")
        step = g + wd * w.detach()
        if buf is not None:
            step = step + momentum * buf
        w_prime[names[id(w)]] = (w.detach() - xi * step).requires_grad_(True)
    params = {**w_prime, **{names[id(a)]: a for a in alphas}}
    val_loss = _loss(net, params, xv, yv)
    grad_wp_and_a = torch.autograd.grad(val_loss, list(w_prime.values()) + alphas)
    dw = grad_wp_and_a[: len(weights)]
    da = grad_wp_and_a[len(weights):]

    # Hessian-vector product by central differences. Both shifted weight sets and a copy of da are made
    # before the next forward: under torch.compile(mode="reduce-overhead") each forward starts a new
    # CUDA-graph iteration, which may overwrite the previous graphs' outputs (dw, da, the hess sets).
    # eps stays a device tensor: float(norm) would be a host sync per step
    norm = torch.sqrt(sum((d.detach() ** 2).sum() for d in dw))
    eps = eps_scale / norm.clamp_min(1e-12)
    da = [g.clone() for g in da]
    shifted = [{**{names[id(w)]: w.detach() + sign * eps * d for w, d in zip(weights, dw, strict=True)},
                **{names[id(a)]: a for a in alphas}} for sign in (1.0, -1.0)]
    del dw, grad_wp_and_a
    # each gradient set is copied before the next forward overwrites it (the second shifted forward,
    # then the caller's weight step): without the copy hess[0] would be read after its graph replayed
    hess = [[g.clone() for g in torch.autograd.grad(_loss(net, params, xt, yt), alphas)] for params in shifted]
    return [a - xi * (gp - gm) / (2 * eps) for a, gp, gm in zip(da, hess[0], hess[1], strict=True)]


def search_step(net: SuperNetwork, w_opt: torch.optim.SGD, a_opt: torch.optim.Adam, s: DartsSettings,
                xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor,
                alpha_penalty: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:
    """One DARTS step: alphas on the validation half, then weights on the training half.

    ``alpha_penalty()`` (a function of the alphas alone, e.g. the expected model size of a weighted-sum
    objective) is added to the architecture loss; its gradient is the same in first and second order."""
    alphas = net.arch_parameters()
    a_opt.zero_grad(set_to_none=True)
    if s.order == 2:
        grads = unrolled_alpha_grads(net, w_opt, w_opt.param_groups[0]["lr"], xt, yt, xv, yv)
    else:
        grads = torch.autograd.grad(_loss(net, None, xv, yv), alphas)
    if alpha_penalty is not None:
        grads = [g + p for g, p in zip(grads, torch.autograd.grad(alpha_penalty(), alphas), strict=True)]
    for a, g in zip(alphas, grads, strict=True):
        a.grad = g
    a_opt.step()

    w_opt.zero_grad(set_to_none=True)
    loss = _loss(net, None, xt, yt)
    weights = list(net.weights())
    for w, g in zip(weights, torch.autograd.grad(loss, weights), strict=True):
        w.grad = g
    nn.utils.clip_grad_norm_(weights, s.grad_clip)
    w_opt.step()
    return loss.detach()


class SearchDiverged(RuntimeError):
    """The supernet's training loss became NaN or infinite."""


def search(net: SuperNetwork, x: torch.Tensor, y: torch.Tensor, s: DartsSettings, seed: int = 0,
           deadline: float | None = None, on_epoch: Callable[[int, float], None] | None = None,
           alpha_penalty: Callable[[], torch.Tensor] | None = None, track_memory: bool = False) -> dict:
    """Run the DARTS search on (x, y) (already on the device). Returns losses and timing.

    ``deadline`` (a ``time.time()`` value) ends the search early so a trial respects the wall clock.
    ``track_memory``: the search's second step (the first with optimiser state, as every later step;
    the only step of a one-step search) runs under :func:`hyperion_bench.memory.step_peak_mb`; its peak
    tensor MiB is ``search_peak_tensor_mb`` and its time ``search_tracked_step_s`` (part of
    ``search_s``: the tracker's overhead is visible). The deadline does not cut a search before that
    step, so every search records it (at most one step past the deadline).
    """
    gen = device.generator(x.device, seed)
    perm = torch.randperm(x.shape[0], device=x.device, generator=gen)
    half = x.shape[0] // 2
    # the halves are index tensors into x: copying them (x[perm[:half]]) would hold a second copy of the
    # training split on the device for the whole search, memory only one-shot trials would pay
    train_idx, val_idx = perm[:half], perm[half:]
    batch = min(s.batch_size, half)
    steps = max(half // batch, 1)
    w_opt, a_opt, sched = make_optimizers(net, s, s.epochs * steps)
    net.train()
    started = time.time()
    epoch_losses = []
    tracked = {"search_peak_tensor_mb": float("nan"), "search_tracked_step_s": 0.0} if track_memory else {}
    n_steps, track_at = 0, (min(1, s.epochs * steps - 1) if track_memory else -1)
    for epoch in range(1, s.epochs + 1):
        ot = train_idx[torch.randperm(half, device=x.device, generator=gen)]
        ov = val_idx[torch.randperm(val_idx.shape[0], device=x.device, generator=gen)]
        total = torch.zeros((), device=x.device)
        done = 0
        for i in range(steps):
            it, iv = ot[i * batch:(i + 1) * batch], ov[i * batch:(i + 1) * batch]

            def step(it: torch.Tensor = it, iv: torch.Tensor = iv) -> torch.Tensor:  # batches count as the step's
                return search_step(net, w_opt, a_opt, s, x[it], y[it], x[iv], y[iv], alpha_penalty)

            if n_steps == track_at:
                t = time.time()
                loss, tracked["search_peak_tensor_mb"] = step_peak_mb(step, net, w_opt, a_opt)
                tracked["search_tracked_step_s"] = time.time() - t
            else:
                loss = step()
            total += loss
            sched.step()
            done += 1
            n_steps += 1
            if deadline is not None and time.time() > deadline and n_steps > track_at:  # a partial last epoch
                break  # still counts
        loss = device.host_values(total) / done  # one host sync per epoch
        if not math.isfinite(loss):
            raise SearchDiverged(f"supernet training loss became {loss} in search epoch {epoch}")
        epoch_losses.append(loss)
        if on_epoch is not None:
            on_epoch(epoch, loss)
        if deadline is not None and time.time() > deadline and n_steps > track_at:
            break
    return {"search_epochs": len(epoch_losses), "search_steps": (len(epoch_losses) - 1) * steps + done,
            "search_loss": epoch_losses[-1] if epoch_losses else float("nan"), "search_s": time.time() - started,
            **tracked}
