"""Shared fixtures: tiny suites written on the fly, and small synthetic datasets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from hyperion_bench.data import Dataset

REPO = Path(__file__).resolve().parents[1]


def make_tiny_data(shape: tuple[int, ...], n: int = 96, n_classes: int = 3, seed: int = 0) -> Dataset:
    """Separable classes, so that training can be checked."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % n_classes
    x = torch.randn((n, *shape), generator=g) * 0.5 + y.view(-1, *([1] * len(shape))).float()
    a, b = n // 2, 3 * n // 4
    return Dataset("tiny", x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], n_classes)


@pytest.fixture
def tiny_images() -> Dataset:
    return make_tiny_data((1, 8, 8))


@pytest.fixture
def tiny_signals() -> Dataset:
    return make_tiny_data((1, 40))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny convs: two OpenMP threads only contend (40x slower on the shared 2-core CI machine). A module
    opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HYPERION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "hb-cache"))


def hyperion(suite, outer: str = "tpe", seed: int = 0, **options):
    """Hyperion's optimiser on ``suite`` with its [hyperion] settings, the outer kind and ``options`` on top."""
    from hyperion_bench.methods import make_optimizer

    return make_optimizer("hyperion", space=suite.space, seed=seed,
                          options={**suite.hyperion, "outer": outer, **options})


def one_value(value: float | None):
    """A single-objective value as the optimiser protocol tells it: a one-entry vector, or None (failed)."""
    import numpy as np

    return None if value is None else np.array([value], dtype=float)


def searched(suite, config: dict) -> tuple:
    """(the inner search, the cell) a searching config decodes to: ``run_search(*searched(...), x, y, ...)``."""
    from hyperion_bench.plan import decode

    plan = decode(suite, config)
    return plan.search, plan.network


def write_suite(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


CELL_SUITE = """
[data]
dataset = "digits"

[network]
family = "cell"
nodes = 2

[training]
epochs = 2
batch_size = 16
lr = 0.05

[params.cells]
role = "macro"
type = "int"
low = 1
high = 3

[params.channels]
role = "macro"
type = "choice"
choices = [4, 8]

[params.op]
role = "fusion"
type = "choice"
choices = ["conv", "sep_conv", "dil_conv", "max_pool", "avg_pool", "skip"]

[params.kernel]
role = "fusion"
type = "choice"
choices = [3, 4, 5]

[params.activation]
role = "fusion"
type = "choice"
choices = ["relu", "tanh"]

[objectives]
weighted_sum = { val_error = 1.0, n_params = 1e-5 }
"""


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/* from the current output")
