"""benchmarks/mutation.py narrows mutmut's configuration per run; a wrong table there silently measures nothing.

The script itself is slow (not CI); its configuration step is not."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mutation():
    spec = importlib.util.spec_from_file_location("hb_mutation_script", REPO / "benchmarks" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_module_and_test_file_named_by_the_script_exists(mutation):
    configured = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    for name, (path, tests) in mutation.MODULES.items():
        assert (REPO / path).is_file(), name
        assert path in configured, f"{path} is not in pyproject's [tool.mutmut] only_mutate"
        for test in tests:
            assert (REPO / "tests" / test).is_file(), (name, test)
    for name, node_ids in mutation.DESELECT.items():
        assert name in mutation.MODULES
        for node in node_ids:
            file, _, func = node.partition("::")
            assert f"def {func}(" in (REPO / file).read_text(), node


def test_configure_narrows_the_copy_and_deselects(mutation, tmp_path):
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    mutation.configure(tmp_path, ["hyperion_bench/nn/supernet_fast.py"], ["tests/test_supernet_fast.py"],
                       ["tests/test_supernet_fast.py::test_x"])
    cfg = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    mm = cfg["tool"]["mutmut"]
    assert mm["only_mutate"] == ["hyperion_bench/nn/supernet_fast.py"]
    assert mm["pytest_add_cli_args_test_selection"] == ["tests/test_supernet_fast.py"]
    assert mm["pytest_add_cli_args"] == ["--deselect", "tests/test_supernet_fast.py::test_x"]
    assert mm["process_isolation"] == "forkserver"
    assert cfg["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]  # the rest of the file is kept
    mutation.configure(tmp_path, ["hyperion_bench/metrics.py"], ["tests/test_metrics.py"])
    assert tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["mutmut"]["pytest_add_cli_args"] == []
