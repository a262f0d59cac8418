"""A real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``; issue 17, part 5): the runs
land on both nodes, and when a node is removed mid-run its runs are retried on the other and resume from
what had travelled back: every run finishes, nothing finished is lost, and the report equals a local
run's for the deterministic synthetic suite."""

from __future__ import annotations

import json
import os
import threading
import time

import pandas as pd
import pytest
from test_runner import FAST_DIGITS

from conftest import REPO, write_suite
from hyperion_bench.cli import main

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402


@pytest.fixture(scope="module")
def two_nodes():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    yield cluster, nodes
    ray.shutdown()
    cluster.shutdown()


def _segments(folder) -> list[dict]:
    path = folder / "metadata.json"
    return json.loads(path.read_text()).get("segments", []) if path.exists() else []


def test_runs_spread_over_both_nodes_and_match_a_local_run(two_nodes, tmp_path, capsys):
    _, nodes = two_nodes
    args = ["run", "--suite", "zdt1", "--methods", "mo-random,sh-emoa", "--max-trials", "20", "--seeds", "2",
            "--quiet"]
    assert main([*args, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "ray"), "--format", "csv"]) == 0
    there = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert main(["report", str(tmp_path / "local"), "--format", "csv"]) == 0
    here = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    timing = ["wallclock_used_s_mean"]
    pd.testing.assert_frame_equal(there.drop(columns=timing), here.drop(columns=timing))
    used = {s["ray_node_id"] for f in (tmp_path / "ray" / "zdt1").glob("*/seed-*") for s in _segments(f)}
    assert used == {n.node_id for n in nodes}


def test_a_node_removed_mid_run_loses_nothing(two_nodes, tmp_path):
    cluster, nodes = two_nodes
    suite = write_suite(tmp_path, FAST_DIGITS.replace("LRS", "0.05, 0.1"))
    out = tmp_path / "out"
    result = {}
    run = threading.Thread(target=lambda: result.setdefault("rc", main(
        ["run", "--suite", str(suite), "--methods", "random", "--max-trials", "8", "--seeds", "2", "--quiet",
         "--backend", "ray", "--out", str(out)])))
    run.start()
    victim = nodes[1]
    deadline = time.time() + 240
    removed = None
    while time.time() < deadline and removed is None:  # wait until a run on the victim has finished a trial
        for folder in out.glob("s/random/seed-*"):
            seg = _segments(folder)
            log = folder / "trials.jsonl"
            if seg and seg[-1].get("ray_node_id") == victim.node_id and log.exists() and log.read_text().strip():
                removed = (folder, len(log.read_text().splitlines()))
                cluster.remove_node(victim, allow_graceful=False)
                break
        time.sleep(0.2)
    assert removed is not None, "no run reached the second node in time"
    run.join(timeout=600)
    assert result.get("rc") == 0
    folder, rows_before = removed
    frame = pd.read_csv(folder / "trials.csv")
    assert len(frame) == 8 and frame["trial_id"].is_unique and set(frame["status"]) == {"completed"}
    segments = _segments(folder)
    assert len(segments) >= 2 and segments[-1]["ray_node_id"] != victim.node_id  # resumed on the other node
    kept = [json.loads(line) for line in (folder / "trials.jsonl").read_text().splitlines()][:rows_before]
    assert all(r["status"] == "completed" for r in kept)  # what had travelled back before the loss is kept
    assert not os.path.exists(out / "s" / "random" / ".seed-0.lock")
