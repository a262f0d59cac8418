"""A trial's config decoded once into what the trial will do: :class:`TrialPlan`.

Why it exists (issue 19, Part 7): a config of the joint space used to be read piecemeal: ``evaluate``
asked the suite for each training value, ``oneshot`` asked again for every node's values, the builder
once more, each with its own fallback to defaults. One such fallback trained Hyperion's one-candidate
subspaces with the default ``conv`` (issue 12). Here the config is decoded at the trial's entry, with
the one defaulting rule (:meth:`Suite.setting`: the config's value, else the suite's fixed value, else
the harness default; a value the suite searches but the config lacks is a KeyError), into typed parts:

- :class:`Training`: how the network is trained (epochs, batch, optimiser, learning rate, ...);
- :class:`Signal`: the 1-D sensing pipeline (window, downsampling), used where the data is 1-D;
- the network: :class:`~hyperion_bench.nn.builder.PlainCnnSpec` or :class:`~hyperion_bench.nn.builder.CellSpec`
  (its genotype set when the config fixes the cell, None when the inner loop will derive it);
- :class:`~hyperion_bench.oneshot.InnerSearch` or None: the candidates per node, the one-shot optimiser and
  its settings.

``evaluate``, the one-shot search (:func:`hyperion_bench.oneshot.run_search`) and the builder consume
these parts and never read the config again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyperion_bench.method_settings import inner_loop
from hyperion_bench.nn.builder import CellSpec, NetworkSpec, PlainCnnSpec, build_network
from hyperion_bench.nn.genotype import Genotype, genotype_from_config
from hyperion_bench.oneshot import InnerSearch, darts_settings, inner_optimizer, needs_search, node_candidates
from hyperion_bench.suites import Suite


@dataclass(frozen=True)
class Training:
    """How the network of a trial is trained (``evaluate``)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    optimizer: str  # "sgd" (with momentum, Nesterov when momentum > 0) or "adam"
    momentum: float
    augment: bool  # images only: random flips and translations


@dataclass(frozen=True)
class Signal:
    """The 1-D sensing pipeline: keep a centred ``window`` of samples (0 = all), then average every
    ``downsample`` samples (the Hyperion paper's window size and sampling rate)."""

    window: int
    downsample: int

    def length(self, samples: int) -> int:
        """Samples left of a signal of ``samples`` (a window longer than the signal, or a downsampling
        above the length, leaves it as it is: :func:`hyperion_bench.evaluate.prepare_signal` rejects
        those configs before training)."""
        if 0 < self.window < samples:
            samples = self.window
        if self.downsample > 1 and samples >= self.downsample:
            samples //= self.downsample
        return samples

    def shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """A 1-D input shape (channels, samples) after the pipeline; any other shape as it is."""
        return (in_shape[0], self.length(in_shape[1])) if len(in_shape) == 2 else tuple(in_shape)


@dataclass(frozen=True)
class TrialPlan:
    training: Training
    signal: Signal
    network: NetworkSpec
    search: InnerSearch | None  # None: the config fixes the network; nothing is searched


def decode(suite: Suite, config: dict[str, Any], *, epochs: int | None = None, genotype: Genotype | None = None,
           oneshot: Mapping[str, Mapping[str, Any]] | None = None) -> TrialPlan:
    """The plan of ``config`` on ``suite``. ``epochs`` (a multi-fidelity method's budget) replaces the
    config's; a given ``genotype`` (a cell derived elsewhere) is built as it is, with nothing searched;
    ``oneshot`` (``TrialConstants.oneshot``: the command line's darts / hyperdarts settings) goes on top of
    the suite's inner-loop settings. Raises KeyError for a value the suite searches but the config lacks
    (an ``edges@j`` too)."""
    s = suite.setting
    training = Training(
        epochs=int(epochs if epochs is not None else s(config, "epochs")),
        batch_size=int(s(config, "batch_size")),
        lr=float(s(config, "lr")),
        weight_decay=float(s(config, "weight_decay")),
        optimizer=str(s(config, "optimizer")),
        momentum=float(s(config, "momentum")),
        augment=bool(s(config, "augment")),
    )
    network, search = decode_network(suite, config, genotype, oneshot)
    return TrialPlan(training, signal_of(suite, config), network, search)


def signal_of(suite: Suite, config: dict[str, Any]) -> Signal:
    return Signal(int(suite.setting(config, "window")), int(suite.setting(config, "downsample")))


def decode_network(suite: Suite, config: dict[str, Any], genotype: Genotype | None = None,
                   oneshot: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[NetworkSpec, InnerSearch | None]:
    """The network part of the plan: its spec, and the inner search that will derive its cell (or None)."""
    s = suite.setting
    if suite.family == "plain_cnn":
        n_conv, n_fc = int(s(config, "n_conv_l")), int(s(config, "n_fc_l"))
        plain = PlainCnnSpec(
            conv_filters=tuple(int(s(config, f"n_conv_{i}")) for i in range(n_conv)),
            kernel_size=int(s(config, "kernel_size")),
            batch_norm=bool(s(config, "batch_norm")),
            global_avg_pooling=bool(s(config, "global_avg_pooling")),
            fc_units=tuple(int(s(config, f"n_fc_{i}")) for i in range(n_fc)),
        )
        return plain, None
    search = None
    if genotype is None and needs_search(suite, config):
        search = inner_search(suite, config, oneshot or {})
    elif genotype is None:
        genotype = genotype_from_config(config, suite.network["nodes"],
                                        lambda name, j: suite.node_setting(config, name, j),
                                        edges_searched=bool(suite.space.fusion_bases()))
    cell = CellSpec(cells=int(s(config, "cells")), channels=int(s(config, "channels")),
                    stem_multiplier=int(suite.network["stem_multiplier"]), genotype=genotype)
    return cell, search


def inner_search(suite: Suite, config: dict[str, Any], oneshot: Mapping[str, Mapping[str, Any]]) -> InnerSearch:
    """The inner loop of a searching config: its candidates, optimiser and settings (the suite's, with the
    command line's ``oneshot`` on top)."""
    optimizer = inner_optimizer(config)
    both = inner_loop(suite.oneshot, suite.hyperdarts, oneshot)
    loop, hyper = both["darts"], both["hyperdarts"]
    return InnerSearch(
        optimizer=optimizer,
        candidates=tuple(tuple(c) for c in node_candidates(suite, config)),
        settings=darts_settings(loop, hyper, optimizer),
        hypernet=str(hyper["hypernet"]),
        hidden=int(hyper["hidden"]),
        fast=bool(loop["fast"]),
        compile=str(loop["compile"]),
        search_fraction=float(loop["search_fraction"]),
        size_weight=float(suite.objectives.weighted_sum.get("n_params", 0.0)),
    )


def network_of(suite: Suite, config: dict[str, Any], in_shape: tuple[int, ...], n_classes: int,
               genotype: Genotype | None = None) -> tuple[Any, Genotype | None]:
    """The network ``config`` describes (decoded, then built); for callers outside a trial (counting
    parameters, tests). A searching config needs its derived ``genotype``."""
    network, _ = decode_network(suite, config, genotype)
    return build_network(network, in_shape, n_classes)
