"""A suite's problem as an object: a training problem or a synthetic one (pymoo's ``Problem`` is the model).

Why: what differs between a suite whose trial trains a network and one whose trial *is* a test function
(ZDT) used to be decided by ``suite.family == "synthetic"`` in five modules (the runner, the trial, the
MO context, the cheap objectives, the data shape). Each such question is now a method of the suite's
:class:`Problem`, and :func:`problem_of` is the one place that looks at the family:

- ``in_process``: trials run in the tuning process (microseconds each) or in warm workers;
- ``load_data``: the dataset with the suite's split, or None when the trial needs none;
- ``data_shape``: (input shape, classes), for optimisers that build networks to count their size;
- ``cheap_objectives``: the objectives known from a config without training (MS-EHVI's cheap one);
- ``evaluate``: the trial body.

Heavy modules (torch, the networks, pymoo) are imported inside the methods that use them, so that
building a problem (the command line, a study's validation) stays cheap; none of them imports this one.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from hyperion_bench.protocol import TrialConstants
from hyperion_bench.suites import Suite

logger = logging.getLogger(__name__)

SIZE_METRICS = ("n_params", "log10_n_params")
Shape = tuple[tuple[int, ...], int]  # (input shape, number of classes)
CheapFunction = Callable[[dict[str, Any]], "dict[str, float] | None"]


class Problem(ABC):
    in_process: bool

    def __init__(self, suite: Suite):
        self.suite = suite

    @abstractmethod
    def load_data(self, data_dir: str | None = None, download: bool = False) -> Any:
        """The suite's dataset (split and normalised), or None when trials need no data."""

    @abstractmethod
    def data_shape(self, data_dir: str | None = None) -> Shape | None:
        """(input shape, classes) of the data, or None when unknown or irrelevant."""

    @abstractmethod
    def cheap_objectives(self, shape: Shape | None) -> CheapFunction | None:
        """A function config -> {objective: exact value} for the objectives known without training, or None."""

    @abstractmethod
    def evaluate(self, params: dict[str, Any], data: Any, given: TrialConstants, report: Any) -> dict[str, Any]:
        """Run one trial of ``params`` (a config without the harness constants ``given``); report each epoch."""


class TrainingProblem(Problem):
    """A network trained on a dataset: the cell and plain-CNN families."""

    in_process = False

    def load_data(self, data_dir: str | None = None, download: bool = False) -> Any:
        from hyperion_bench.data import load_suite_data

        return load_suite_data(self.suite, data_dir or None, download=download)

    def data_shape(self, data_dir: str | None = None) -> Shape | None:
        """From the processed-tensor cache the runner warmed; None (and a log line) when the data is missing,
        e.g. tests without data: an optimiser then just gets no cheap objectives."""
        try:
            data = self.load_data(data_dir)
        except Exception as exc:
            logger.info("no data shape for %s: %s", self.suite.name, exc)
            return None
        return tuple(data.in_shape), int(data.n_classes)

    def cheap_objectives(self, shape: Shape | None) -> CheapFunction | None:
        """The model size, exact: the network is built on PyTorch's ``meta`` device (shapes only, no memory,
        no compute) by the same ``build_network`` trials use, so the count is the one the trial reports."""
        if shape is None or not any(m in SIZE_METRICS for m in self.suite.objectives.pareto):
            return None
        in_shape, n_classes = shape

        def cheap(config: dict[str, Any]) -> dict[str, float]:
            n = n_params_of(self.suite, config, in_shape, n_classes)
            return {"n_params": float(n), "log10_n_params": math.log10(max(n, 1))}

        return cheap

    def evaluate(self, params: dict[str, Any], data: Any, given: TrialConstants, report: Any) -> dict[str, Any]:
        import torch

        from hyperion_bench.evaluate import evaluate
        from hyperion_bench.lineage import Lineage

        torch.set_num_threads(int(given.threads))
        return evaluate(self.suite, params, data, epochs=int(given.epochs) if given.epochs else None, report=report,
                        seed=int(given.seed), device=str(given.device),
                        deadline=float(given.deadline) if given.deadline else None,
                        lineage=Lineage.from_constants(dict(given.meta)),
                        oneshot={k: dict(v) for k, v in given.oneshot.items()})


class SyntheticProblem(Problem):
    """The trial is the test function itself (ZDT1-3 from pymoo): no data, no training, in process."""

    in_process = True

    def load_data(self, data_dir: str | None = None, download: bool = False) -> Any:
        return None

    def data_shape(self, data_dir: str | None = None) -> Shape | None:
        return None

    def cheap_objectives(self, shape: Shape | None) -> CheapFunction | None:
        from hyperion_bench.synthetic import cheap_objectives

        return lambda config: cheap_objectives(self.suite, config)

    def evaluate(self, params: dict[str, Any], data: Any, given: TrialConstants, report: Any) -> dict[str, Any]:
        from hyperion_bench.synthetic import evaluate_synthetic

        return evaluate_synthetic(self.suite, params, epochs=int(given.epochs) if given.epochs else None,
                                  report=report)


def problem_of(suite: Suite) -> Problem:
    """The suite's problem (the one place that looks at the family to decide how trials run)."""
    return SyntheticProblem(suite) if suite.family == "synthetic" else TrainingProblem(suite)


def n_params_of(suite: Suite, config: dict[str, Any], in_shape: tuple[int, ...], n_classes: int) -> int:
    """Trainable parameters of the network ``config`` describes, counted without allocating it."""
    import torch

    from hyperion_bench.nn import build_network, count_params
    from hyperion_bench.plan import decode_network, signal_of

    network, _ = decode_network(suite, config)
    shape = signal_of(suite, config).shape(tuple(in_shape))  # 1-D: window and sampling rate change the length
    with torch.device("meta"):
        model, _ = build_network(network, shape, n_classes)
    return count_params(model)
