"""A network spec -> the network. The one place that turns a decoded plan into modules.

The specs are what :func:`hyperion_bench.plan.decode` makes of a config (the only reader of configs);
the builder never sees a config or a suite, so every method's network is built by the same code from the
same kind of description.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from hyperion_bench.nn.cell_network import CellNetwork
from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.plain_cnn import PlainCNN


@dataclass(frozen=True)
class PlainCnnSpec:
    """The bag-of-baselines plain CNN (flowers17): conv layers, then fully connected ones."""

    conv_filters: tuple[int, ...]
    kernel_size: int
    batch_norm: bool
    global_avg_pooling: bool
    fc_units: tuple[int, ...]


@dataclass(frozen=True)
class CellSpec:
    """A stack of ``cells`` cells of one genotype (None: the inner loop derives it; it must then be
    passed to :func:`build_network`)."""

    cells: int
    channels: int
    stem_multiplier: int
    genotype: Genotype | None


NetworkSpec = PlainCnnSpec | CellSpec


def count_params(model: nn.Module) -> int:
    """Trainable parameters: the model-size objective of every suite."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_network(spec: NetworkSpec, in_shape: tuple[int, ...], n_classes: int,
                  genotype: Genotype | None = None) -> tuple[nn.Module, Genotype | None]:
    """Build the network ``spec`` describes; returns it and its genotype (None for the plain CNN).
    ``genotype`` (a one-shot search's derivation) is the cell of a spec that leaves it open."""
    if isinstance(spec, PlainCnnSpec):
        model = PlainCNN(in_shape, n_classes, conv_filters=list(spec.conv_filters), kernel_size=spec.kernel_size,
                         batch_norm=spec.batch_norm, global_avg_pooling=spec.global_avg_pooling,
                         fc_units=list(spec.fc_units))
        return model, None
    genotype = genotype if genotype is not None else spec.genotype
    if genotype is None:
        raise ValueError("a searched cell has no genotype until the one-shot search derives it")
    model = CellNetwork(in_shape, n_classes, genotype, cells=spec.cells, channels=spec.channels,
                        stem_multiplier=spec.stem_multiplier)
    return model, genotype
