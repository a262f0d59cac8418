"""The one-shot half of a trial: what a config hands to DARTS, the supernet it builds, the search's record."""

import json
import subprocess
import sys
import time

import pytest
import torch

from conftest import CELL_SUITE, searched, write_suite
from hyperion_bench.evaluate import evaluate
from hyperion_bench.methods import make_scheduler
from hyperion_bench.nn import count_params
from hyperion_bench.nn.darts import DartsSettings, search
from hyperion_bench.nn.genotype import Genotype
from hyperion_bench.nn.supernet import SuperNetwork
from hyperion_bench.oneshot import (
    decode_subset,
    encode_subset,
    expected_size_penalty,
    full_inner_config,
    needs_search,
    node_candidates,
    reduced_supernet,
)
from hyperion_bench.plan import network_of
from hyperion_bench.suites import DEFAULTS, load_suite

ONESHOT = CELL_SUITE + """
[oneshot]
epochs = 1
batch_size = 16
"""
OUTER = {"cells": 1, "channels": 4, "op@0": "conv", "op@1": "sep_conv", "kernel@0": 3, "kernel@1": 5,
         "activation@0": "relu", "activation@1": "tanh", "edges@0": "0+1", "edges@1": "0+2"}


@pytest.fixture
def suite(tmp_path):
    return load_suite(write_suite(tmp_path, ONESHOT))


def test_subsets_round_trip_with_the_suites_types(suite):
    assert decode_subset(suite, "kernel", encode_subset([3, 5])) == [3, 5]
    assert decode_subset(suite, "op", "skip|conv") == ["skip", "conv"]
    with pytest.raises(AssertionError):
        encode_subset([])


def test_outer_values_per_node_mean_no_search(suite):
    assert [len(c) for c in node_candidates(suite, OUTER)] == [1, 1]
    assert not needs_search(suite, OUTER)


def test_inner_subset_times_outer_values_gives_the_candidates(suite):
    config = {**OUTER, "inner@kernel": "3|5"}
    del config["kernel@0"], config["kernel@1"]
    assert node_candidates(suite, config) == [[("conv", 3, "relu"), ("conv", 5, "relu")],
                                              [("sep_conv", 3, "tanh"), ("sep_conv", 5, "tanh")]]
    # n_m = 2: a second outer value per node adds candidates on that node only
    config["activation@1.1"] = "relu"
    assert len(node_candidates(suite, config)[0]) == 2 and len(node_candidates(suite, config)[1]) == 4
    # equivalent candidates merge: a skip is one candidate whatever the kernel and activation
    skip = {**config, "op@0": "skip", "inner@activation": "relu|tanh"}
    assert node_candidates(suite, skip)[0] == [("skip", 0, "-")]


def test_the_built_supernet_has_exactly_the_candidates_the_config_asks_for(suite):
    config = {"cells": 3, "channels": 4, "inner@op": "conv|max_pool|skip", "inner@kernel": "3|5",
              "activation@0": "relu", "activation@1": "tanh"}
    net = reduced_supernet(*searched(suite, config), (1, 8, 8), 3)
    assert net.candidates_per_edge() == [5, 5]  # conv x {3,5}, max_pool x {3,5}, skip
    for cell in net.cells:
        assert all(len(edge.ops) == 5 for edge in cell.edges)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 3)


@pytest.mark.parametrize("optimizer", ["darts", "hyperdarts"])
def test_a_search_under_torch_compile_follows_the_eager_one(suite, monkeypatch, optimizer):
    """[oneshot] compile: the supernet runs the whole DARTS search through torch.compile. The mode is
    recorded and the backend swapped for aot_eager (dynamo + AOTAutograd, no inductor code generation,
    which takes minutes on two cores); benchmarks/darts_step.py --compile checks inductor itself."""
    from hyperion_bench.oneshot import run_search

    real, modes = torch.compile, []

    def compile_spy(net, mode=None):
        modes.append(mode)
        return real(net, backend="aot_eager")

    monkeypatch.setattr(torch, "compile", compile_spy)
    config = {**OUTER, "inner@op": "conv|skip|max_pool", "inner_optimizer": optimizer}  # hyperdarts: the
    del config["op@0"], config["op@1"]  # hypernetwork and the supernet it feeds are compiled as one module
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 1, 8, 8, generator=g), torch.arange(32) % 3
    torch.manual_seed(1)  # the supernet's initial weights
    eager = run_search(*searched(suite, config), x, y, 3, seed=0, deadline=None)
    suite.oneshot["compile"] = "reduce-overhead"
    torch.manual_seed(1)
    compiled = run_search(*searched(suite, config), x, y, 3, seed=0, deadline=None)
    assert modes == ["reduce-overhead"]
    assert compiled[1]["search_loss"] == pytest.approx(eager[1]["search_loss"], rel=1e-4)
    assert compiled[0] == eager[0]  # the same genotype
    assert compiled[1]["candidates_per_edge"] == "3 3"


def test_a_trial_with_inner_parameters_searches_derives_and_records(suite, tiny_images):
    config = {**OUTER, "inner@op": "conv|skip|max_pool"}
    del config["op@0"], config["op@1"]
    reports = []
    final = evaluate(suite, config, tiny_images, epochs=2, report=lambda **m: reports.append(m))
    assert len(reports) == 2
    assert final["candidates_per_edge"] == "3 3" and final["max_candidates_per_edge"] == 3
    assert final["search_epochs"] == 1 and final["search_steps"] >= 1 and final["search_s"] > 0
    geno = Genotype.from_json(final["genotype"])
    assert {e.op for node in geno.normal for e in node} <= {"conv", "skip", "max_pool"}
    built, _ = network_of(suite, config, (1, 8, 8), 3, genotype=geno)
    assert final["n_params"] == count_params(built)  # the derived network, built by the one builder


def test_darts_config_hands_every_fusion_parameter_to_the_inner_loop(suite):
    config = full_inner_config(suite.space, DEFAULTS)
    assert config["inner@op"].split("|") == ["conv", "sep_conv", "dil_conv", "max_pool", "avg_pool", "skip"]
    assert config["inner@kernel"] == "3|4|5" and config["inner@activation"] == "relu|tanh"
    assert not any("@" in k and not k.startswith("inner@") for k in config)  # no per-node values
    assert config["channels"] == 4  # DEFAULTS' 16 is not a choice here: the middle choice of (4, 8)
    assert needs_search(suite, config)


def test_darts_method_suggests_one_run_per_seed(suite):
    sched = make_scheduler("darts", space=suite.space, metric="weighted_sum", seed=0, max_trials=5,
                           constants={"hb_seed": 0})
    first = sched.suggest()
    assert first is not None and first.config["hb_seed"] == 0 and "inner@op" in first.config
    assert sched.suggest() is None


def test_darts_method_refuses_a_suite_without_cell_parameters(tmp_path):
    from hyperion_bench.errors import UserError

    flowers = load_suite("flowers17")
    with pytest.raises(UserError, match="darts needs a cell suite"):
        make_scheduler("darts", space=flowers.space, metric="weighted_sum", seed=0, max_trials=1, constants={})


def test_size_penalty_pushes_alphas_towards_smaller_candidates():
    cands = [[("conv", 3, "relu"), ("skip", 0, "-")]]
    net = SuperNetwork((1, 8, 8), 3, cands, cells=1, channels=4)
    penalty = expected_size_penalty(net, 1e-3)
    (grad,) = torch.autograd.grad(penalty(), [net.alphas_normal[0]])
    assert (grad[:, 0] > 0).all() and (grad[:, 1] < 0).all()  # descending: less conv, more skip


def test_search_stops_at_the_deadline():
    torch.manual_seed(0)
    net = SuperNetwork((1, 8, 8), 3, [[("conv", 3, "relu"), ("skip", 0, "-")]], cells=1, channels=4)
    x, y = torch.randn(64, 1, 8, 8), torch.arange(64) % 3
    info = search(net, x, y, DartsSettings(epochs=50, batch_size=8), deadline=time.time() - 1)
    assert info["search_epochs"] == 1 and info["search_steps"] == 1


def test_oneshot_table_is_validated(tmp_path):
    from hyperion_bench.errors import UserError

    for body, key in (("[oneshot]\norder = 3\n", "oneshot.order"), ("[oneshot]\nepoch = 3\n", "oneshot.epoch"),
                      ("[hyperion]\nn_m = 0\n", "hyperion.n_m"), ("[oneshot]\nfast = 1\n", "oneshot.fast"),
                      ('[oneshot]\ncompile = "fastest"\n', "oneshot.compile")):
        with pytest.raises(UserError, match=key.replace(".", r"\.")):
            load_suite(write_suite(tmp_path, CELL_SUITE + body))


def test_memory_benchmark_runs_on_the_cpu(tmp_path, capsys):
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("hyperion_memory", REPO / "benchmarks" / "hyperion_memory.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out, saved = tmp_path / "mem.md", tmp_path / "configs.csv"
    tiny = ["--device", "cpu", "--steps", "1", "--cells", "1", "--channels", "4", "--batch", "2", "--fast"]
    assert bench.main([*tiny, "--proposals", "6", "--save-configs", str(saved), "--out", str(out)]) == 0
    text = out.read_text()
    assert "DARTS (full)" in text and "25 25 25 25" in text  # Table 3: 25 candidates per edge
    assert "hyperion #0" in text and "median Hyperion peak_tensor_mb / full DARTS" in text
    rows = json.loads((tmp_path / "mem.json").read_text())["rows"]
    assert len(rows) > 1 and all(r["peak_tensor_mb"] > 0 for r in rows)  # measured on the CPU (MemTracker)
    assert rows[0]["peak_tensor_mb"] > max(r["peak_tensor_mb"] for r in rows[1:])  # 25 candidates: the largest
    # the proposals saved here are measured again from the file (what a GPU machine without syne-tune does),
    # under --fake (FakeTensorMode: shapes only): the same supernets and the same tensor peaks, no arithmetic
    assert bench.main([*tiny, "--trials", str(saved), "--fake", "--out", str(tmp_path / "fake.md")]) == 0
    fake = json.loads((tmp_path / "fake.json").read_text())
    assert fake["complete"] is True
    assert [(r["split"], r["candidates_per_edge"]) for r in fake["rows"]] == [(r["split"], r["candidates_per_edge"])
                                                                            for r in rows]
    assert [r["peak_tensor_mb"] for r in fake["rows"]] == pytest.approx([r["peak_tensor_mb"] for r in rows], rel=1e-9)
    # bad input: one line on stderr, exit 2 (a suite error is the CLI's own, tested there)
    for bad, message in ((["--steps", "0"], "--steps must be at least 1"),
                         (["--trials", str(tmp_path / "nope.csv")], "no such file")):
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "hyperion_memory.py"), "--device", "cpu",
                               *bad], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr
