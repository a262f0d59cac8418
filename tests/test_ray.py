"""Ray as the distributed engine (issue 17, part 3), on a local Ray instance: a run through Ray gives what
the same run gives locally, a task whose worker process dies is run again and resumes from what had
travelled back to the driver, and bad input is one line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from hyperion_bench.cli import main
from hyperion_bench.ray_engine import FolderSender, FolderSink

ray = pytest.importorskip("ray")

# loaded by every Ray worker process (PYTHONPATH below): the task of seed 7 dies after its 4th send, the
# first time only, as if its node had been lost mid-run
INJECT = '''
import os

if os.environ.get("HB_FAULT_DIR"):
    import hyperion_bench.ray_engine as engine

    real = engine.FolderSender.__call__

    def call(self, folder):
        real(self, folder)
        if self.rel.endswith("seed-7"):
            self.calls = getattr(self, "calls", 0) + 1
            marker = os.path.join(os.environ["HB_FAULT_DIR"], "died")
            if self.calls == 4 and not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)

    engine.FolderSender.__call__ = call
'''


def test_an_unreachable_address_is_one_line(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not ray.is_initialized()  # this test comes first: the module's local instance is not up yet
    assert main(["run", "--suite", "zdt1", "--methods", "random", "--max-trials", "2", "--out", str(tmp_path),
                 "--backend", "ray", "--address", f"127.0.0.1:{port}"]) == 2
    assert "cannot reach a Ray head node there" in capsys.readouterr().err


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    inject = tmp_path_factory.mktemp("inject")
    (inject / "sitecustomize.py").write_text(INJECT)
    fault_dir = tmp_path_factory.mktemp("fault")
    env = {"PYTHONPATH": os.pathsep.join([str(inject), str(REPO)]), "HB_FAULT_DIR": str(fault_dir)}
    ray.init(include_dashboard=False, num_cpus=2, configure_logging=False,
             log_to_driver=False, runtime_env={"env_vars": env})
    yield fault_dir
    ray.shutdown()


def _configs(folder: Path) -> list[tuple]:
    frame = pd.read_csv(folder / "trials.csv")
    return [tuple(r) for r in frame.filter(like="config_").itertuples(index=False)]


def test_a_ray_run_gives_what_a_local_run_gives_and_travels_back(local_ray, tmp_path, capsys):
    args = ["run", "--suite", "zdt1", "--methods", "random,tpe", "--max-trials", "6", "--seeds", "2", "--quiet"]
    assert main([*args, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    assert "ray: 4 runs as tasks of" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    for method in ("random", "tpe"):
        for seed in (0, 1):
            there = tmp_path / "ray" / "zdt1" / method / f"seed-{seed}"
            assert (there / "done.json").exists() and (there / "history.jsonl").exists()
            assert _configs(there) == _configs(tmp_path / "local" / "zdt1" / method / f"seed-{seed}")
    assert not list((tmp_path / "ray" / "zdt1" / "random").glob(".seed-*.lock"))  # the driver's locks are gone


def test_a_lost_task_is_run_again_and_resumes_from_what_travelled_back(local_ray, tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--suite", "zdt1", "--methods", "tpe", "--max-trials", "10", "--seeds", "7-7",
                 "--backend", "ray", "--out", str(out), "--quiet"]) == 0
    assert (local_ray / "died").exists()  # the first attempt did die
    folder = out / "zdt1" / "tpe" / "seed-7"
    frame = pd.read_csv(folder / "trials.csv")
    assert len(frame) == 10 and frame["trial_id"].is_unique and set(frame["status"]) == {"completed"}
    import json

    meta = json.loads((folder / "metadata.json").read_text())
    assert len(meta["segments"]) == 2  # the retry resumed the first attempt's records: it did not start over
    asks = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines() if '"ask"' in line]
    assert len({a["ask"] for a in asks}) == 10  # ten suggestions, none asked twice but a rerun


def test_bad_ray_input_is_one_line(local_ray, tmp_path, capsys, monkeypatch):
    base = ["run", "--suite", "zdt1", "--methods", "random", "--max-trials", "2", "--out", str(tmp_path)]
    assert main([*base, "--backend", "ray", "--workers", "64"]) == 2
    assert "each run needs" in capsys.readouterr().err
    assert main([*base, "--address", "127.0.0.1:6379"]) == 2
    assert "--address goes with --backend ray" in capsys.readouterr().err
    assert main(["study", "smoke", "--out", str(tmp_path / "study"), "--address", "127.0.0.1:6379"]) == 2
    assert "--address goes with --backend ray" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed
    assert main([*base, "--backend", "ray"]) == 2
    assert capsys.readouterr().err.strip() == "error: --backend ray needs Ray: pip install -e '.[ray]'"


def test_the_sender_sends_only_what_changed_and_a_cut_log_whole(tmp_path):
    sink = FolderSink(str(tmp_path / "driver"))
    sent = []

    def send(sink_, rel, files, appended):
        sent.append((sorted(files), sorted(appended)))
        sink_.put(rel, files, appended)

    folder = tmp_path / "node"
    folder.mkdir()
    sender = FolderSender(sink, "s/m/seed-0", send)
    (folder / "trials.jsonl").write_text('{"a": 1}\n')
    (folder / "metadata.json").write_text("{}")
    sender(folder)
    with open(folder / "trials.jsonl", "a") as f:
        f.write('{"a": 2}\n')
    sender(folder)
    sender(folder)  # nothing changed: nothing sent
    (folder / "trials.jsonl").write_text('{"a": 1}\n')  # cut back (a torn line dropped on resume)
    sender(folder)
    assert sent == [(["metadata.json", "trials.jsonl"], []), ([], ["trials.jsonl"]), (["trials.jsonl"], [])]
    assert (tmp_path / "driver" / "s/m/seed-0" / "trials.jsonl").read_text() == '{"a": 1}\n'
    assert sink.get("s/m/seed-0").keys() == {"trials.jsonl", "metadata.json"}
