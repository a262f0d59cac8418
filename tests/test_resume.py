"""Trial-level resume (issue 14, part 2): a rerun of an interrupted command keeps every finished trial,
replays the optimiser's history into a fresh optimiser, runs again only what was running, and goes on
with what is left of the budget.

The central check: a run cut where a kill would leave it (after n tells, with one trial asked and not
told) and then resumed proposes exactly the configs, in exactly the order, of the same run left alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from syne_tune.constants import ST_RESULTS_DATAFRAME_FILENAME
from syne_tune.experiments import load_experiment
from test_runner import FAST_DIGITS

from conftest import write_suite
from hyperion_bench.cli import main
from hyperion_bench.errors import UserError
from hyperion_bench.history import HISTORY_FILE, read_log
from hyperion_bench.records import TRIALS_LOG

FAST_CELLS = FAST_DIGITS.replace("LRS", "0.05, 0.1") + "\n[hyperion]\nn_init = 2\n"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def cut_like_a_kill(src: Path, dst: Path, n_tells: int) -> None:
    """Copy a finished (method, seed) folder and cut it back to what a kill right after the ``n_tells``-th
    tell and one more ask would leave: the history up to there, the rows of the told trials, Syne Tune's
    results of those trials, no done.json, the last segment open."""
    shutil.copytree(src, dst)
    kept, tells, asked_after = [], 0, False
    for event in _lines(dst / HISTORY_FILE):
        if "tell" in event:
            if tells == n_tells:
                break
            tells += 1
        elif tells == n_tells:
            if asked_after:
                break
            asked_after = True
        kept.append(event)
    trial_of = {e["ask"]: e["trial_id"] for e in kept if "ask" in e}
    told_ids = {trial_of[e["tell"]] for e in kept if "tell" in e}
    (dst / HISTORY_FILE).write_text("".join(json.dumps(e) + "\n" for e in kept))
    rows = [r for r in _lines(dst / TRIALS_LOG) if r["trial_id"] in told_ids]
    (dst / TRIALS_LOG).write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = dst / "syne-tune" / ST_RESULTS_DATAFRAME_FILENAME
    frame = pd.read_csv(results)
    frame[frame["trial_id"].isin(told_ids)].to_csv(results, index=False)
    (dst / "done.json").unlink()
    meta = json.loads((dst / "metadata.json").read_text())
    meta["segments"][-1]["ended_unix"] = None
    (dst / "metadata.json").write_text(json.dumps(meta))


def configs_by_key(folder: Path) -> list[dict]:
    """Each suggestion's finished row (config and status), in the order the optimiser asked for them."""
    trial_of = {}
    for event in _lines(folder / HISTORY_FILE):
        if "ask" in event:
            trial_of[event["ask"]] = event["trial_id"]  # a rerun's trial id replaces the killed one's
    rows = {r["trial_id"]: r for r in _lines(folder / TRIALS_LOG)}
    return [{k: v for k, v in rows[trial_of[key]].items() if k.startswith("config_") or k == "status"}
            for key in sorted(trial_of)]


def _run(suite: str, method: str, n: int, out: Path, *extra: str) -> int:
    return main(["run", "--suite", suite, "--methods", method, "--max-trials", str(n), "--seeds", "1",
                 "--out", str(out), "--quiet", *extra])


@pytest.mark.parametrize("method", ["random", "tpe", "anneal", "blendsearch", "mo-random", "mo-bohb", "sh-emoa",
                                    "mo-bananas", "mo-rea", "motpe", "nsga2"])
def test_a_resumed_run_asks_exactly_what_an_uninterrupted_one_asks(tmp_path, capsys, method):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", method, 16, whole) == 0
    src = whole / "zdt1" / method / "seed-0"
    cut_like_a_kill(src, cut / "zdt1" / method / "seed-0", n_tells=7)
    capsys.readouterr()
    assert _run("zdt1", method, 16, cut) == 0
    said = capsys.readouterr().out
    assert "resuming: 7 finished trials kept, 1 that were running run again" in said
    resumed = cut / "zdt1" / method / "seed-0"
    assert configs_by_key(resumed) == configs_by_key(src)
    frame = pd.read_csv(resumed / "trials.csv")
    assert len(frame) == 16 and frame["trial_id"].is_unique and set(frame["status"]) == {"completed"}
    # Syne Tune reads the whole run back, earlier segment included, with no trial id twice
    experiment = load_experiment("syne-tune", local_path=str(resumed))
    assert set(experiment.results["trial_id"]) == set(frame["trial_id"])
    assert json.loads((resumed / "metadata.json").read_text())["n_trials"] == 16


def test_hyperion_resumes_its_learners_exactly(tmp_path, capsys):
    suite = str(write_suite(tmp_path, FAST_CELLS))
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run(suite, "hyperion", 5, whole) == 0
    src = whole / "s" / "hyperion" / "seed-0"
    cut_like_a_kill(src, cut / "s" / "hyperion" / "seed-0", n_tells=3)
    assert _run(suite, "hyperion", 5, cut) == 0
    assert "resuming: 3 finished trials kept, 1 that were running run again" in capsys.readouterr().out
    assert configs_by_key(cut / "s" / "hyperion" / "seed-0") == configs_by_key(src)


def test_an_ask_that_comes_out_different_restarts_the_run_and_keeps_the_attempt(tmp_path, capsys):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", "tpe", 8, whole) == 0
    folder = cut / "zdt1" / "tpe" / "seed-0"
    cut_like_a_kill(whole / "zdt1" / "tpe" / "seed-0", folder, n_tells=4)
    events = _lines(folder / HISTORY_FILE)
    events[0]["config"]["x0"] = 0.123456  # as if the method had drawn from an unseeded generator
    (folder / HISTORY_FILE).write_text("".join(json.dumps(e) + "\n" for e in events))
    capsys.readouterr()
    assert _run("zdt1", "tpe", 8, cut) == 0
    said = capsys.readouterr().out
    assert "cannot resume (suggestion 0 comes out different when asked again" in said
    aside = [p for p in folder.parent.iterdir() if p.name.startswith("seed-0.interrupted-")]
    assert len(aside) == 1 and len(_lines(aside[0] / TRIALS_LOG)) == 4
    assert len(pd.read_csv(folder / "trials.csv")) == 8


def test_a_changed_budget_is_not_resumed_into(tmp_path, capsys):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", "random", 8, whole) == 0
    cut_like_a_kill(whole / "zdt1" / "random" / "seed-0", cut / "zdt1" / "random" / "seed-0", n_tells=4)
    capsys.readouterr()
    assert _run("zdt1", "random", 9, cut) == 0
    assert "cannot resume (its budget changed since the earlier attempt)" in capsys.readouterr().out


def test_the_wall_clock_of_earlier_segments_counts(tmp_path, capsys):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", "random", 8, whole, "--budget", "1h") == 0
    folder = cut / "zdt1" / "random" / "seed-0"
    cut_like_a_kill(whole / "zdt1" / "random" / "seed-0", folder, n_tells=4)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["segments"][-1]["started_unix"] -= 3600  # this segment ran for an hour before it was killed
    (folder / "metadata.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert _run("zdt1", "random", 8, cut, "--budget", "1h") == 0
    said = capsys.readouterr().out
    assert "wall-clock budget was used up before the interruption" in said
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["n_trials"] == 4 and meta["wallclock_used_s"] >= 3600 and len(meta["segments"]) == 2
    assert (folder / "done.json").exists()


def test_a_torn_last_line_is_dropped_and_cut_from_the_file(tmp_path):
    log = tmp_path / "trials.jsonl"
    log.write_text('{"trial_id": 0}\n{"trial_id": 1}\n{"trial_id": 2, "sta')
    read = read_log(log)
    assert [r["trial_id"] for r in read.records] == [0, 1] and read.torn
    assert log.read_text() == '{"trial_id": 0}\n{"trial_id": 1}\n'  # appendable again
    log.write_text('{"trial_id": 0}\n{"trial_id": 1, "sta\n')  # cut short, then a newline
    read = read_log(log)
    assert [r["trial_id"] for r in read.records] == [0] and read.torn
    assert not read_log(log).torn


def test_a_damaged_line_inside_a_log_is_a_one_line_error(tmp_path):
    log = tmp_path / "history.jsonl"
    log.write_text('{"ask": 0}\nGARBAGE\n{"tell": 0}\n')
    with pytest.raises(UserError, match=r"history.jsonl: line 2 is damaged"):
        read_log(log)


def test_a_torn_record_is_dropped_on_resume_and_said(tmp_path, capsys):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", "tpe", 8, whole) == 0
    folder = cut / "zdt1" / "tpe" / "seed-0"
    cut_like_a_kill(whole / "zdt1" / "tpe" / "seed-0", folder, n_tells=4)
    with open(folder / TRIALS_LOG, "a") as f:
        f.write('{"trial_id": 4, "status": "compl')  # the kill came while the 5th row was written
    capsys.readouterr()
    assert _run("zdt1", "tpe", 8, cut) == 0
    assert "dropped a torn last line of trials.jsonl" in capsys.readouterr().out
    assert configs_by_key(folder) == configs_by_key(whole / "zdt1" / "tpe" / "seed-0")


def test_moasha_keeps_no_history_so_it_restarts_and_keeps_the_attempt(tmp_path, capsys):
    assert _run("zdt1", "moasha", 6, tmp_path) == 0
    folder = tmp_path / "zdt1" / "moasha" / "seed-0"
    (folder / "done.json").unlink()  # as if it had been killed
    capsys.readouterr()
    assert _run("zdt1", "moasha", 6, tmp_path) == 0
    assert "cannot resume (MOASHAScheduler keeps no history to replay)" in capsys.readouterr().out
    assert len([p for p in folder.parent.iterdir() if p.name.startswith("seed-0.interrupted-")]) == 1


def test_bulk_and_cut_says_why_it_is_not_replayed(tmp_path):
    from test_bag_methods import FLOWERS_LIKE

    from hyperion_bench.history import CannotReplay
    from hyperion_bench.methods.bulk_and_cut import BulkAndCut
    from hyperion_bench.methods.optimizer import Context
    from hyperion_bench.methods.scheduler import OptimizerScheduler
    from hyperion_bench.suites import load_suite

    suite = load_suite(write_suite(tmp_path, FLOWERS_LIKE))
    context = Context(objective_names=list(suite.objectives.pareto), reference_point=[0.0, 8.0], max_trials=4,
                        suite=suite, folder=str(tmp_path))
    scheduler = OptimizerScheduler.for_suite(BulkAndCut, suite=suite, seed=0, max_trials=4, constants={}, settings={},
                            context=context)
    with pytest.raises(CannotReplay, match="lineage.csv"):
        scheduler.replay([{"ask": 0, "trial_id": 0, "config": {}}], {})


def test_a_half_written_syne_tune_results_file_does_not_stop_the_resume(tmp_path, capsys):
    """Seen in the kill test: Syne Tune's results.csv.zip, written in place, cut by a kill, made every later
    resume of that (method, seed) crash while reading it back (BadZipFile, exit 1)."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", "tpe", 8, whole) == 0
    folder = cut / "zdt1" / "tpe" / "seed-0"
    cut_like_a_kill(whole / "zdt1" / "tpe" / "seed-0", folder, n_tells=4)
    results = folder / "syne-tune" / ST_RESULTS_DATAFRAME_FILENAME
    results.write_bytes(results.read_bytes()[: results.stat().st_size // 2])
    assert _run("zdt1", "tpe", 8, cut) == 0
    assert configs_by_key(folder) == configs_by_key(whole / "zdt1" / "tpe" / "seed-0")


def test_a_failed_row_whose_tell_the_kill_cut_off_is_told_not_run_again(tmp_path, capsys):
    """Syne Tune writes a failed trial's row (the recorder) before telling the scheduler: a kill in between
    leaves the row without its tell. The row is kept and told; the trial is not trained again."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run("zdt1", "tpe", 8, whole) == 0
    folder = cut / "zdt1" / "tpe" / "seed-0"
    cut_like_a_kill(whole / "zdt1" / "tpe" / "seed-0", folder, n_tells=4)  # key 4 asked, not told
    asked = [e for e in _lines(folder / HISTORY_FILE) if "ask" in e][-1]
    with open(folder / TRIALS_LOG, "a") as f:
        f.write(json.dumps({"trial_id": asked["trial_id"], "status": "failed", "error": "RuntimeError: boom"}) + "\n")
    capsys.readouterr()
    assert _run("zdt1", "tpe", 8, cut) == 0
    assert "resuming: 5 finished trials kept, 0 that were running run again" in capsys.readouterr().out
    frame = pd.read_csv(folder / "trials.csv")
    assert len(frame) == 8 and frame["trial_id"].is_unique and (frame["status"] == "failed").sum() == 1
    events = _lines(folder / HISTORY_FILE)
    assert {"tell": asked["ask"], "error": True} in events  # logged: a second resume replays it in place
    (folder / "done.json").unlink()  # and that second resume replays the whole history without a hitch
    assert _run("zdt1", "tpe", 8, cut) == 0
    assert "cannot resume" not in capsys.readouterr().out
