"""The plain CNN family of the bag-of-baselines Flowers problem (Guerrero-Viu et al., 2021).

Why it exists: the multi-objective baselines are defined on this 13-parameter space, not on cells.
Conv blocks are conv -> ReLU -> optional BatchNorm -> max-pool 2 (as in the authors' code); then
optional global average pooling (else flatten), ``n_fc_l`` hidden fully connected layers with ReLU,
and a linear output layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hyperion_bench.nn.ops import batchnorm, conv


class PlainCNN(nn.Module):
    def __init__(self, in_shape: tuple[int, ...], n_classes: int, conv_filters: list[int], kernel_size: int,
                 batch_norm: bool, global_avg_pooling: bool, fc_units: list[int]):
        super().__init__()
        dim = len(in_shape) - 1
        pool = nn.MaxPool1d if dim == 1 else nn.MaxPool2d
        layers: list[nn.Module] = []
        c, size = in_shape[0], list(in_shape[1:])
        for filters in conv_filters:
            layers += [conv(dim, c, filters, kernel_size, bias=True), nn.ReLU()]
            if batch_norm:
                layers.append(batchnorm(dim, filters))
            if min(size) >= 2:  # a 1x1 map cannot be pooled further
                layers.append(pool(2))
                size = [s // 2 for s in size]
            c = filters
        if global_avg_pooling:
            layers += [nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)]
            features = c
        else:
            features = c * math.prod(size)  # plain ints: also builds on the meta device (problems.n_params_of)
        layers.append(nn.Flatten())
        for units in fc_units:
            layers += [nn.Linear(features, units), nn.ReLU()]
            features = units
        layers.append(nn.Linear(features, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
