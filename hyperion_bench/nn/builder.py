"""Config of the joint space -> network. The one place that decides what a config means."""

from __future__ import annotations

from typing import Any

from torch import nn

from hyperion_bench.nn.cell_network import CellNetwork
from hyperion_bench.nn.genotype import Genotype, genotype_from_config
from hyperion_bench.nn.plain_cnn import PlainCNN
from hyperion_bench.suites import Suite


def count_params(model: nn.Module) -> int:
    """Trainable parameters: the model-size objective of every suite."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_network(suite: Suite, config: dict[str, Any], in_shape: tuple[int, ...], n_classes: int,
                  genotype: Genotype | None = None) -> tuple[nn.Module, Genotype | None]:
    """Build the network a config describes. A given ``genotype`` (from a one-shot search) wins."""
    s = suite.setting
    if suite.family == "plain_cnn":
        n_conv, n_fc = int(s(config, "n_conv_l")), int(s(config, "n_fc_l"))
        model = PlainCNN(
            in_shape,
            n_classes,
            conv_filters=[int(s(config, f"n_conv_{i}")) for i in range(n_conv)],
            kernel_size=int(s(config, "kernel_size")),
            batch_norm=bool(s(config, "batch_norm")),
            global_avg_pooling=bool(s(config, "global_avg_pooling")),
            fc_units=[int(s(config, f"n_fc_{i}")) for i in range(n_fc)],
        )
        return model, None
    if genotype is None:
        genotype = genotype_from_config(
            config, suite.network["nodes"], lambda name, j: suite.node_setting(config, name, j),
            edges_searched=bool(suite.space.fusion_bases()),
        )
    model = CellNetwork(
        in_shape,
        n_classes,
        genotype,
        cells=int(s(config, "cells")),
        channels=int(s(config, "channels")),
        stem_multiplier=suite.network["stem_multiplier"],
    )
    return model, genotype
