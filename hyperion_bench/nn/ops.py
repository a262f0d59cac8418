"""Candidate operations of a cell edge, for 1-D signals and 2-D images alike.

Why one module for both dimensionalities: the Hyperion motor use case searches 1-D networks with the
same op / kernel / activation vocabulary as the image suites, so every op is written once against
``dim`` and the layer classes are looked up per dimension. Orderings follow DARTS (quark0/darts
``operations.py``): activation -> conv -> BatchNorm; separable convs stack two depthwise-pointwise
blocks; a stride-2 skip is a FactorizedReduce. Even kernels (Table 1 has k=4) get asymmetric "same"
padding so every op maps length L to ceil(L / stride) and edges can be summed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d}
_AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d}
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def conv(dim: int, c_in: int, c_out: int, k: int, stride: int = 1, dilation: int = 1, groups: int = 1,
         bias: bool = False) -> nn.Module:
    """A convolution with 'same' padding (asymmetric for even kernels)."""
    total = dilation * (k - 1)
    layer = _CONV[dim](c_in, c_out, k, stride=stride, dilation=dilation, groups=groups, bias=bias,
                       padding=total // 2 if total % 2 == 0 else 0)
    return layer if total % 2 == 0 else nn.Sequential(SamePad(dim, total), layer)


def batchnorm(dim: int, c: int, affine: bool = True) -> nn.Module:
    return _BN[dim](c, affine=affine)


class SamePad(nn.Module):
    """Pads ``total`` positions per spatial axis, the extra one on the right/bottom."""

    def __init__(self, dim: int, total: int, value: float = 0.0):
        super().__init__()
        left = total // 2
        self.pad = (left, total - left) * dim
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, value=self.value)


def pool(dim: int, kind: str, k: int, stride: int) -> nn.Module:
    cls = _MAXPOOL[dim] if kind == "max" else _AVGPOOL[dim]
    if k % 2 == 1:
        extra = {"count_include_pad": False} if kind == "avg" else {}
        return cls(k, stride=stride, padding=k // 2, **extra)
    fill = float("-inf") if kind == "max" else 0.0
    return nn.Sequential(SamePad(dim, k - 1, fill), cls(k, stride=stride))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing half the inputs: two offset 1x1 stride-2 convs, concatenated.

    DARTS' version breaks on odd sizes (the offset path is one shorter); padding one position on the
    right before offsetting keeps both paths at ceil(L / 2).
    """

    def __init__(self, dim: int, c_in: int, c_out: int, act: str = "relu", affine: bool = True):
        super().__init__()
        assert c_out % 2 == 0, "FactorizedReduce needs an even channel count"
        self.dim = dim
        self.act = ACTIVATIONS[act]()
        self.conv_1 = _CONV[dim](c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = _CONV[dim](c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = batchnorm(dim, c_out, affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        shifted = F.pad(x, (0, 1) * self.dim)[(..., *([slice(1, None)] * self.dim))]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    """The DARTS 'none' op: an edge that contributes nothing (used in supernets)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        index = (..., *([slice(None, None, self.stride)] * (x.dim() - 2)))
        return x[index].mul(0.0)


def act_conv_bn(dim: int, c_in: int, c_out: int, k: int, act: str, stride: int = 1,
                affine: bool = True) -> nn.Sequential:
    return nn.Sequential(ACTIVATIONS[act](), conv(dim, c_in, c_out, k, stride), batchnorm(dim, c_out, affine))


def dil_conv(dim: int, c: int, k: int, act: str, stride: int, affine: bool = True) -> nn.Sequential:
    return nn.Sequential(
        ACTIVATIONS[act](),
        conv(dim, c, c, k, stride, dilation=2, groups=c),
        conv(dim, c, c, 1),
        batchnorm(dim, c, affine),
    )


def sep_conv(dim: int, c: int, k: int, act: str, stride: int, affine: bool = True) -> nn.Sequential:
    return nn.Sequential(
        ACTIVATIONS[act](),
        conv(dim, c, c, k, stride, groups=c),
        conv(dim, c, c, 1),
        batchnorm(dim, c, affine),
        ACTIVATIONS[act](),
        conv(dim, c, c, k, 1, groups=c),
        conv(dim, c, c, 1),
        batchnorm(dim, c, affine),
    )


def make_op(op: str, dim: int, c: int, k: int, act: str, stride: int, affine: bool = True) -> nn.Module:
    """One candidate operation on a C -> C edge. Pools and skips ignore the activation."""
    if op == "conv":
        return act_conv_bn(dim, c, c, k, act, stride, affine)
    if op == "sep_conv":
        return sep_conv(dim, c, k, act, stride, affine)
    if op == "dil_conv":
        return dil_conv(dim, c, k, act, stride, affine)
    if op in ("max_pool", "avg_pool"):
        return pool(dim, op[:3], k, stride)
    if op == "skip":
        return nn.Identity() if stride == 1 else FactorizedReduce(dim, c, c, affine=affine)
    if op == "none":
        return Zero(stride)
    raise ValueError(f"unknown op {op!r}")
