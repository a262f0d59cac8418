"""Network morphisms, structured pruning and distillation for BULK & CUT (Guerrero-Viu et al. 2021, 3.5).

Why a module of its own: BULK & CUT grows trained networks without retraining them from scratch
(function-preserving morphisms, Chen et al. 2015 "Net2Net"; Elsken et al. 2019) and then shrinks
them (structured pruning, Anwar et al. 2017) while the parent teaches the child (knowledge
distillation, Hinton et al. 2015). All of it works on a flat ``nn.Sequential`` of standard layers
(conv, ReLU, BatchNorm, max-pool, global average pool, flatten, linear): the plain CNN family of the
Flowers problem (``PlainCNN.net``). Cell networks are out of scope (a clear error says so).

A network is saved as a JSON-able layer *spec* plus a ``state_dict`` (``save`` / ``load``), so a
child trial can rebuild its parent without pickled classes (``torch.load(weights_only=True)``).

The operations, each exact where it claims to be:
- ``deepen``: insert an identity-initialised 3x3 conv (same channels, 'same' padding, the centre tap 1)
  or linear layer (identity matrix), followed by a ReLU, right after an existing ReLU. Its input is
  non-negative, so ReLU(I x) = x: the function is unchanged, in train and eval mode.
- ``widen``: Net2WiderNet. A hidden conv/linear layer gets extra units that copy random existing ones
  (weights, bias, and the BatchNorm entries in between); the next layer divides the incoming weights
  of each copied unit by its number of copies. Exact in eval mode (and in train mode: copies have the
  same batch statistics).
- ``prune``: drop the ``fraction`` of units with the smallest L1 weight norm in every hidden conv and
  linear layer (at least one unit stays), and the matching inputs of the next layer.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperion_bench.atomic import write_atomic

_CONV = (nn.Conv1d, nn.Conv2d)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d)
_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Linear)


class NotMorphable(ValueError):
    """The network holds a layer the morphisms do not know (e.g. a cell network)."""


# ---------------------------------------------------------------------- spec <-> network
def as_sequential(model: nn.Module) -> nn.Sequential:
    """The flat layer list of a plain CNN (``PlainCNN.net``) or of a Sequential built here."""
    seq = model if isinstance(model, nn.Sequential) else getattr(model, "net", None)
    if not isinstance(seq, nn.Sequential):
        raise NotMorphable(f"{type(model).__name__} is not a plain CNN")
    describe(seq)  # raises NotMorphable on unknown layers
    return seq


def describe(seq: nn.Sequential) -> list[dict[str, Any]]:
    """A JSON-able spec of each layer, enough to rebuild the network with ``build``."""
    spec: list[dict[str, Any]] = []
    for m in seq:
        if isinstance(m, _CONV):
            if m.stride != (1,) * len(m.stride) or m.groups != 1 or m.dilation != (1,) * len(m.dilation):
                raise NotMorphable(f"unsupported conv {m}")
            spec.append({"type": "conv", "dim": 1 if isinstance(m, nn.Conv1d) else 2, "in": m.in_channels,
                         "out": m.out_channels, "k": m.kernel_size[0], "pad": m.padding[0], "bias": m.bias is not None})
        elif isinstance(m, nn.ReLU):
            spec.append({"type": "relu"})
        elif isinstance(m, _BN):
            spec.append({"type": "bn", "dim": 1 if isinstance(m, nn.BatchNorm1d) else 2, "c": m.num_features,
                         "affine": m.affine})
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
            spec.append({"type": "maxpool", "dim": 1 if isinstance(m, nn.MaxPool1d) else 2, "k": m.kernel_size})
        elif isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            spec.append({"type": "gap", "dim": 1 if isinstance(m, nn.AdaptiveAvgPool1d) else 2})
        elif isinstance(m, nn.Flatten):
            spec.append({"type": "flatten"})
        elif isinstance(m, nn.Linear):
            spec.append({"type": "linear", "in": m.in_features, "out": m.out_features, "bias": m.bias is not None})
        else:
            raise NotMorphable(f"layer {type(m).__name__} is not supported by the morphisms")
    return spec


def build(spec: list[dict[str, Any]]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for s in spec:
        t = s["type"]
        if t == "conv":
            cls = nn.Conv1d if s["dim"] == 1 else nn.Conv2d
            layers.append(cls(s["in"], s["out"], s["k"], padding=s["pad"], bias=s["bias"]))
        elif t == "relu":
            layers.append(nn.ReLU())
        elif t == "bn":
            layers.append((nn.BatchNorm1d if s["dim"] == 1 else nn.BatchNorm2d)(s["c"], affine=s["affine"]))
        elif t == "maxpool":
            layers.append((nn.MaxPool1d if s["dim"] == 1 else nn.MaxPool2d)(s["k"]))
        elif t == "gap":
            layers.append(nn.AdaptiveAvgPool1d(1) if s["dim"] == 1 else nn.AdaptiveAvgPool2d(1))
        elif t == "flatten":
            layers.append(nn.Flatten())
        elif t == "linear":
            layers.append(nn.Linear(s["in"], s["out"], bias=s["bias"]))
        else:
            raise NotMorphable(f"unknown layer type {t!r} in a network spec")
    return nn.Sequential(*layers)


def save(model: nn.Module, path: str | Path) -> None:
    """Write spec + weights atomically (temp file + rename): a parent is never read half-written."""
    seq = as_sequential(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in seq.state_dict().items()}
    write_atomic(path, lambda f: torch.save({"spec": describe(seq), "state_dict": state}, f))


def load(path: str | Path) -> nn.Sequential:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    seq = build(blob["spec"])
    seq.load_state_dict(blob["state_dict"])
    return seq


def depth(model: nn.Module) -> int:
    """Number of weight layers (conv + linear)."""
    return sum(isinstance(m, _WEIGHTED) for m in as_sequential(model))


# ---------------------------------------------------------------------- deepen
def deepen_points(seq: nn.Sequential) -> list[int]:
    """Positions (indices of ReLUs) after which an identity layer can be inserted."""
    return [i for i, m in enumerate(seq) if isinstance(m, nn.ReLU)]


def deepen(model: nn.Module, rng: np.random.Generator, position: int | None = None) -> nn.Sequential:
    """Insert an identity conv/linear + ReLU after the ReLU at ``position`` (random when None)."""
    seq = copy.deepcopy(as_sequential(model))
    points = deepen_points(seq)
    if not points:
        raise NotMorphable("no ReLU to deepen after")
    pos = int(rng.choice(points)) if position is None else position
    assert pos in points, f"layer {pos} is not a ReLU"
    prev = next(m for m in reversed(list(seq)[:pos]) if isinstance(m, _WEIGHTED))
    if isinstance(prev, _CONV):
        conv_cls = type(prev)
        # 3x3 whatever the parent's kernel: a 7x7 identity conv after a 330-filter layer added 5.3M
        # parameters in a flowers17 run (3x3: 1.0M); still exact, as only the centre tap is non-zero
        c, k = prev.out_channels, 3
        new: nn.Module = conv_cls(c, c, k, padding=k // 2, bias=True)
        with torch.no_grad():
            new.weight.zero_()
            centre = tuple([k // 2] * (new.weight.dim() - 2))
            for ch in range(c):
                new.weight[(ch, ch, *centre)] = 1.0
            new.bias.zero_()
    else:
        n = prev.out_features
        new = nn.Linear(n, n, bias=True)
        with torch.no_grad():
            new.weight.copy_(torch.eye(n))
            new.bias.zero_()
    layers = list(seq)
    layers[pos + 1 : pos + 1] = [new, nn.ReLU()]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------- widen / prune (unit remapping)
def hidden_layers(seq: nn.Sequential) -> list[int]:
    """Indices of conv/linear layers whose outputs feed another weight layer (not the output layer)."""
    weighted = [i for i, m in enumerate(seq) if isinstance(m, _WEIGHTED)]
    return weighted[:-1]


def _remap(seq: nn.Sequential, i: int, index: torch.Tensor, divide: bool) -> nn.Sequential:
    """New network whose layer ``i`` has output units ``index`` (an index into the old units; repeats
    allowed). BatchNorms up to the next weight layer follow; the next layer takes the matching inputs,
    divided by each unit's number of copies when ``divide`` (Net2WiderNet)."""
    seq = copy.deepcopy(seq)
    layers = list(seq)
    layer = layers[i]
    n_old = layer.out_channels if isinstance(layer, _CONV) else layer.out_features
    index = index.long()
    with torch.no_grad():
        _shrink_out(layer, index)
        j = i + 1
        while not isinstance(layers[j], _WEIGHTED):
            if isinstance(layers[j], _BN):
                _shrink_bn(layers[j], index)
            j += 1
        nxt = layers[j]
        w = nxt.weight.data
        if isinstance(nxt, nn.Linear) and isinstance(layer, _CONV):  # flatten in between: n_old blocks of s
            s = nxt.in_features // n_old
            w = w.reshape(w.shape[0], n_old, s)[:, index, :]
            if divide:
                w = w / torch.bincount(index, minlength=n_old)[index].to(w.dtype)[None, :, None]
            w = w.reshape(w.shape[0], -1)
            nxt.in_features = w.shape[1]
        else:
            w = w[:, index]
            if divide:
                shape = [1, -1] + [1] * (w.dim() - 2)
                w = w / torch.bincount(index, minlength=n_old)[index].to(w.dtype).reshape(shape)
            if isinstance(nxt, _CONV):
                nxt.in_channels = w.shape[1]
            else:
                nxt.in_features = w.shape[1]
        nxt.weight = nn.Parameter(w.contiguous())
    return nn.Sequential(*layers)


def _shrink_out(layer: nn.Module, index: torch.Tensor) -> None:
    layer.weight = nn.Parameter(layer.weight.data[index].clone())
    if layer.bias is not None:
        layer.bias = nn.Parameter(layer.bias.data[index].clone())
    if isinstance(layer, _CONV):
        layer.out_channels = len(index)
    else:
        layer.out_features = len(index)


def _shrink_bn(bn: nn.Module, index: torch.Tensor) -> None:
    bn.num_features = len(index)
    if bn.affine:
        bn.weight = nn.Parameter(bn.weight.data[index].clone())
        bn.bias = nn.Parameter(bn.bias.data[index].clone())
    if bn.running_mean is not None:
        bn.running_mean = bn.running_mean[index].clone()
        bn.running_var = bn.running_var[index].clone()


def widen(model: nn.Module, rng: np.random.Generator, factor: float = 1.5, layer: int | None = None,
          max_units: int = 1024) -> nn.Sequential:
    """Net2WiderNet on one hidden layer (random when None): ``ceil(n * factor)`` units, capped."""
    seq = as_sequential(model)
    candidates = hidden_layers(seq)
    if not candidates:
        raise NotMorphable("no hidden layer to widen")
    i = int(rng.choice(candidates)) if layer is None else layer
    m = seq[i]
    n = m.out_channels if isinstance(m, _CONV) else m.out_features
    extra = max(0, min(max_units, math.ceil(n * factor)) - n)
    copies = torch.as_tensor(rng.integers(0, n, size=extra), dtype=torch.long)
    return _remap(seq, i, torch.cat([torch.arange(n), copies]), divide=True)


def prune(model: nn.Module, fraction: float = 0.5) -> nn.Sequential:
    """L1 structured pruning: every hidden conv/linear layer keeps its ``1 - fraction`` strongest units."""
    seq = as_sequential(model)
    for i in hidden_layers(seq):  # indices stay valid: pruning changes widths, never the layer list
        w = seq[i].weight.data
        norms = w.abs().reshape(w.shape[0], -1).sum(1)
        keep = max(1, int(round(w.shape[0] * (1.0 - fraction))))
        index = torch.sort(torch.argsort(norms, descending=True)[:keep]).values
        seq = _remap(seq, i, index, divide=False)
    return seq


# ---------------------------------------------------------------------- distillation
def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                      temperature: float = 4.0, alpha: float = 0.9) -> torch.Tensor:
    """Hinton et al. 2015: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, y)."""
    t = float(temperature)
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                    reduction="batchmean", log_target=True)
    return alpha * t * t * soft + (1.0 - alpha) * F.cross_entropy(student_logits, targets)
