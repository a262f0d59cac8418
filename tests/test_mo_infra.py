"""Multi-objective infrastructure: ZDT suites, the in-process fast path, waiting schedulers, baselines
settings and their overrides, cheap objectives."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import write_suite
from hyperion_bench.cli import main
from hyperion_bench.errors import UserError
from hyperion_bench.inprocess import InProcessBackend
from hyperion_bench.method_settings import check_overrides, load_baseline, parse_cli_options, resolve_settings
from hyperion_bench.methods import METHODS
from hyperion_bench.metrics import hypervolume
from hyperion_bench.suites import load_suite
from hyperion_bench.synthetic import evaluate_synthetic, objectives

ZDT_BODY = """
[data]
dataset = "{dataset}"
[network]
family = "synthetic"
{extra}
[objectives]
weighted_sum = {{ f1 = 1.0 }}
pareto = ["f1", "f2"]
reference_point = [1.1, 11.0]
{tail}
"""


def zdt_closed_form(name: str, x: np.ndarray) -> tuple[float, float]:
    """Zitzler, Deb & Thiele (2000), written out independently of pymoo."""
    f1 = x[0]
    g = 1 + 9 * np.mean(x[1:])
    h = {"zdt1": 1 - np.sqrt(f1 / g), "zdt2": 1 - (f1 / g) ** 2,
         "zdt3": 1 - np.sqrt(f1 / g) - (f1 / g) * np.sin(10 * np.pi * f1)}[name]
    return f1, g * h


@pytest.mark.parametrize("name", ["zdt1", "zdt2", "zdt3"])
def test_zdt_suites_compute_the_published_functions(name):
    suite = load_suite(name)
    assert [p.name for p in suite.space.flat] == [f"x{i}" for i in range(30)]
    assert all(p.low == 0.0 and p.high == 1.0 for p in suite.space.flat)
    assert suite.objectives.pareto == ["f1", "f2"] and suite.objectives.reference_point == [1.1, 11.0]
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.random(30)
        values = objectives(suite, {f"x{i}": v for i, v in enumerate(x)})
        assert np.allclose([values["f1"], values["f2"]], zdt_closed_form(name, x))


def test_synthetic_trial_reports_every_epoch_with_the_same_values():
    reports = []
    suite = load_suite("zdt1")
    config = {f"x{i}": 0.25 for i in range(30)}
    out = evaluate_synthetic(suite, config, epochs=1, report=lambda **m: reports.append(m))
    assert len(reports) == 1 and out["weighted_sum"] == pytest.approx(out["f1"] + out["f2"])


@pytest.mark.parametrize("extra, tail, message", [
    ("n_var = 1", "", "network.n_var: must be between 2 and 1000"),
    ("n_var = 3", "[params.epochs]\nrole = \"pipeline\"\ntype = \"int\"\nlow = 1\nhigh = 3",
     "a synthetic suite generates its parameters"),
    ("", "[params.lr]\nrole = \"pipeline\"\ntype = \"float\"\nlow = 0.1\nhigh = 1.0",
     "params.lr: not used by the synthetic family"),
    ("", "[training]\nlr = 0.1", "training.lr: not used by the synthetic family"),
    ("", "[baselines.mo-bohb]\neta = \"three\"", r"mo-bohb.eta: expected int \(like 2\), got 'three'"),
    ("", "[baselines.mo-bohb]\nbogus = 1", "mo-bohb has no meta-parameter 'bogus'"),
    ("", "[baselines.magic]\neta = 1", "baselines.magic: unknown method"),
])
def test_bad_synthetic_suites_fail_with_one_line(tmp_path, extra, tail, message):
    path = write_suite(tmp_path, ZDT_BODY.format(dataset="zdt1", extra=extra, tail=tail))
    with pytest.raises(UserError, match=message) as err:
        load_suite(path)
    assert "\n" not in str(err.value)


def test_synthetic_family_and_dataset_go_together(tmp_path):
    with pytest.raises(UserError, match="family 'synthetic' goes with the datasets"):
        load_suite(write_suite(tmp_path, ZDT_BODY.format(dataset="digits", extra="", tail="")))


# ---------------------------------------------------------------- baselines settings and overrides
def test_every_mo_method_has_a_baselines_file_with_a_citation():
    for name, info in METHODS.items():
        if info.multi_objective:
            base = load_baseline(name)
            assert base.name == name and base.citation, name


def test_overrides_precedence_and_typing():
    assert resolve_settings("mo-bohb")["eta"] == 2
    suite_table = {"mo-bohb": {"eta": 3, "gamma": 0.2}}
    settings = resolve_settings("mo-bohb", suite_table, {"eta": "4"})
    assert settings["eta"] == 4 and settings["gamma"] == 0.2 and settings["num_candidates"] == 24
    assert check_overrides("mo-bohb", {"gamma": "1"}, "x", parse=True) == {"gamma": 1.0}  # an int is a fine float
    assert check_overrides("mo-bohb", {"brackets": "successive_halving"}, "x", parse=True) == {
        "brackets": "successive_halving"}
    assert check_overrides("sh-emoa", {"eta": 3}, "x") == {"eta": 3}


@pytest.mark.parametrize("items, message", [
    (["mo-bohb.eta"], "expected METHOD.KEY=VALUE"),
    (["eta=3"], "expected METHOD.KEY=VALUE"),
])
def test_cli_option_syntax_errors(items, message):
    with pytest.raises(UserError, match=message):
        parse_cli_options(items)


@pytest.mark.parametrize("overrides, message", [
    ({"etaa": "3"}, r"mo-bohb has no meta-parameter 'etaa' \(known: brackets, categorical_top"),
    ({"eta": "true"}, r"expected int \(like 2\), got True"),
    ({"eta": "2.5"}, r"expected int \(like 2\), got 2.5"),
    ({"gamma": "x y"}, "cannot read 'x y' as float"),
])
def test_bad_overrides_are_one_line_user_errors(overrides, message):
    with pytest.raises(UserError, match=message):
        check_overrides("mo-bohb", overrides, "--method-option", parse=True)


def test_cli_rejects_bad_method_options(capsys, tmp_path):
    args = ["run", "--suite", "zdt1", "--methods", "mo-random", "--max-trials", "2", "--out", str(tmp_path)]
    assert main([*args, "--method-option", "mo-bohb.eta=3"]) == 2
    assert "is not among --methods" in capsys.readouterr().err
    assert main([*args, "--method-option", "mo-random.eta=3"]) == 2
    assert "mo-random has no meta-parameter 'eta' (known: none)" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing ran


# ---------------------------------------------------------------- the fast path, end to end
def test_zdt_run_in_process_writes_the_usual_records(tmp_path, capsys):
    out = tmp_path / "runs"
    code = main(["run", "--suite", "zdt1", "--methods", "mo-random,sh-emoa,moasha", "--max-trials", "12",
                 "--seeds", "1", "--out", str(out), "--method-option", "sh-emoa.min_population=4"])
    assert code == 0
    for method in ("mo-random", "sh-emoa", "moasha"):
        folder = out / "zdt1" / method / "seed-0"
        assert (folder / "done.json").exists()
        rows = pd.read_csv(folder / "trials.csv")
        assert len(rows) == 12 and set(rows["status"]) == {"completed"}
        assert {"f1", "f2", "config_x0", "weighted_sum"} <= set(rows.columns)
        meta = json.loads((folder / "metadata.json").read_text())
        assert meta["metric"] == ["f1", "f2"] and meta["n_trials"] == 12
        lines = (folder / "epochs.jsonl").read_text().splitlines()
        assert len(lines) == 12
    meta = json.loads((out / "zdt1" / "sh-emoa" / "seed-0" / "metadata.json").read_text())
    assert meta["method_settings"]["min_population"] == 4 and meta["method_settings"]["population"] == 100
    rows = pd.read_csv(out / "zdt1" / "sh-emoa" / "seed-0" / "trials.csv")
    assert set(rows["budget_epochs"]) == {1}
    table = capsys.readouterr().out
    hv = hypervolume(rows[["f1", "f2"]].to_numpy(), [1.1, 11.0])
    assert f"{hv:.4g}" in table


def test_in_process_backend_records_a_failing_trial():
    def trial_fn(config: dict[str, Any], report: Any) -> None:
        report(epoch=1, f1=0.5)
        raise ValueError("boom\nsecond line")

    backend = InProcessBackend(trial_fn)
    trial = backend.start_trial({"x": 1})
    statuses, results = backend.fetch_status_results([trial.trial_id])
    assert statuses[trial.trial_id][1] == "Failed"
    assert results[0][1]["f1"] == 0.5
    assert backend.stderr(trial.trial_id) == ["HB_ERROR: ValueError: boom\n"]
    assert backend.busy_trial_ids() == []


def test_harness_tuner_waits_for_a_synchronous_optimizer(tmp_path, monkeypatch):
    """Batches of 3, the next batch only after all three results: with 2 workers the optimiser must
    wait, and Syne Tune's Tuner alone ends the run at the first None."""
    from syne_tune import StoppingCriterion, Tuner

    from hyperion_bench.methods.optimizer import Optimizer, Suggestion
    from hyperion_bench.methods.scheduler import OptimizerScheduler
    from hyperion_bench.tuner import HarnessTuner

    class Batches(Optimizer):
        def __init__(self, **kw: Any):
            super().__init__(**kw)
            self.out: set[int] = set()
            self.batch: list[int] = []

        def ask(self, key: int) -> Suggestion | None:
            if len(self.batch) == 3:
                if self.out:
                    return None
                self.batch = []
            self.batch.append(key)
            self.out.add(key)
            return Suggestion(self.space.sample(self.rng), epochs=None)

        def tell(self, key: int, objectives: np.ndarray | None, result: dict[str, Any]) -> None:
            self.out.discard(key)

    from hyperion_bench.trial import run_trial

    suite = load_suite("zdt1")
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    suggested = {}
    for tuner_cls in (Tuner, HarnessTuner):
        sched = OptimizerScheduler.for_suite(Batches, suite=suite, seed=0, max_trials=7,
                                             constants={"hb_suite": str(suite.path)}, settings={})
        tuner = tuner_cls(trial_backend=InProcessBackend(run_trial), scheduler=sched,
                          stop_criterion=StoppingCriterion(max_wallclock_time=60), n_workers=2, sleep_time=0.0,
                          save_tuner=False, tuner_name=tuner_cls.__name__, suffix_tuner_name=False)
        tuner.run()
        suggested[tuner_cls.__name__] = sched.n_suggested
        assert not sched._pending
    assert suggested == {"Tuner": 3, "HarnessTuner": 7}


# ---------------------------------------------------------------- cheap objectives
def test_cheap_model_size_matches_the_built_network():
    from hyperion_bench.nn import count_params
    from hyperion_bench.plan import network_of
    from hyperion_bench.problems import n_params_of

    suite = load_suite("flowers17")
    rng = np.random.default_rng(0)
    for _ in range(3):
        config = suite.space.sample(rng)
        model, _ = network_of(suite, config, (3, 16, 16), 17)
        assert n_params_of(suite, config, (3, 16, 16), 17) == count_params(model)


def test_context_cheap_objectives_for_zdt_is_f1():
    from hyperion_bench.methods.optimizer import Context

    context = Context.for_suite(load_suite("zdt1"))
    assert context.cheap_objectives({"x0": 0.3, "x1": 0.9}) == {"f1": 0.3}


def test_random_and_mo_random_are_one_random_search_with_one_stream():
    """Issue 19: random search existed twice (``mo_random.MORandom`` drew from ``JointSpace.sample``, a
    stream of its own); now one class serves any number of objectives, and a seed is one stream."""
    from hyperion_bench.methods import make_run_scheduler, method_class, method_info

    assert method_class(method_info("mo-random")) is method_class(method_info("random"))
    suite = load_suite("zdt1")
    configs = []
    for name in ("random", "mo-random"):
        sched = make_run_scheduler(name, suite=suite, seed=3, max_trials=5, constants={})
        assert sched.optimizer.n_objectives == (1 if name == "random" else 2)
        configs.append([sched.optimizer.ask(k).config for k in range(5)])
    assert configs[0] == configs[1] and len({json.dumps(c, sort_keys=True) for c in configs[0]}) == 5
