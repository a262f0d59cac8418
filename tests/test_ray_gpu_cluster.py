"""A real two-node Ray cluster whose nodes declare GPUs (issue 17, part 5), on this GPU-less machine.

Ray hands a task the GPU ids it reserved for it in ``CUDA_VISIBLE_DEVICES`` whether or not the GPUs
exist. What this checks is our side of that contract: a run sent with ``--device cuda`` asks Ray for
``workers x gpus-per-trial`` GPUs, lands on both nodes, takes as its GPUs exactly the ids Ray gave its
task (``placement.visible_gpus``), pins each warm worker to its own id, and records it per trial and in
``metadata.json``. The one thing faked is CUDA itself: a ``sitecustomize`` on the cluster's
``PYTHONPATH`` makes torch report as many CUDA devices as ``CUDA_VISIBLE_DEVICES`` names (so the run's
CUDA check passes); the trials then fail at their first CUDA tensor, and are recorded as failed, which
is all this test needs of them. Real GPU runs of the same code are owed (``benchmarks/gpu_owed.sh``).
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
from test_runner import FAST_DIGITS

from conftest import REPO, write_suite
from hyperion_bench.cli import main

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

FAKE_CUDA = """
import os

if os.environ.get("HB_TEST_FAKE_CUDA"):  # only in this test's Ray cluster and the workers it starts
    import torch

    def _count():
        return len([g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()])

    class _Properties:
        total_memory = 16 * 2**30

    torch.cuda.is_available = lambda: _count() > 0
    torch.cuda.device_count = _count
    torch.cuda.get_device_name = lambda device=None: "fake GPU (test)"
    torch.cuda.get_device_properties = lambda device=None: _Properties()
"""


@pytest.fixture(scope="module")
def gpu_nodes(tmp_path_factory):
    fake = tmp_path_factory.mktemp("fake-cuda")
    (fake / "sitecustomize.py").write_text(textwrap.dedent(FAKE_CUDA))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "num_gpus": 0,
                                                            "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1, num_gpus=2) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": f"{fake}:{REPO}", "HB_TEST_FAKE_CUDA": "1"}})
    yield cluster, nodes
    ray.shutdown()
    cluster.shutdown()


def test_runs_on_gpu_nodes_see_only_the_gpus_ray_gave_them(gpu_nodes, tmp_path, capsys):
    _, nodes = gpu_nodes
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05, 0.1"))
    out = tmp_path / "out"
    assert main(["run", "--suite", str(suite), "--methods", "random,tpe", "--seeds", "2", "--max-trials", "2",
                 "--device", "cuda", "--backend", "ray", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    folders = sorted(out.glob("s/*/seed-*"))
    assert len(folders) == 4
    used_nodes = set()
    for folder in folders:
        meta = json.loads((folder / "metadata.json").read_text())
        seen = meta["hardware"]["gpus"]
        assert len(seen) == 1 and seen[0] in {"0", "1"}, seen  # one of its node's two ids, the one Ray gave
        assert meta["hardware"]["gpus_per_trial"] == 1
        rows = pd.read_csv(folder / "trials.csv", dtype={"gpus": str})
        assert len(rows) == 2 and set(rows["gpus"]) == set(seen)  # each worker pinned to the task's GPU only
        assert set(rows["status"]) == {"failed"}  # the first CUDA tensor: no real GPU behind the fake
        used_nodes |= {s["ray_node_id"] for s in meta["segments"]}
    assert used_nodes == {n.node_id for n in nodes}
    assert main(["report", str(out), "--format", "csv"]) == 0
    assert "fake GPU (test)" in capsys.readouterr().out  # the hardware column names the model and share


def test_more_gpus_per_run_than_any_node_has_is_a_one_line_error(gpu_nodes, tmp_path, capsys):
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05"))
    assert main(["run", "--suite", str(suite), "--methods", "random", "--max-trials", "1", "--device", "cuda",
                 "--workers", "1", "--gpus-per-trial", "4", "--backend", "ray", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --backend ray: each run needs") and "largest node has" in err[-1]
