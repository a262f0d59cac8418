"""MS-EHVI, MO-BANANAS and BULK & CUT: ask/tell loops on pure functions, promotion, the exact cheap objective."""

from __future__ import annotations

import numpy as np
import pytest
from test_mo_methods import CONSTANTS, MF_SUITE, drive

from conftest import write_suite
from hyperion_bench.errors import UserError
from hyperion_bench.methods import make_run_scheduler
from hyperion_bench.methods.bulk_and_cut import BulkAndCut, LrGP, pareto_epsilon_greedy
from hyperion_bench.methods.mo_bananas import MOBananas, crowding_distance, promote, sh_rungs
from hyperion_bench.methods.ms_ehvi import MSEHVI, init_points
from hyperion_bench.methods.optimizer import Context
from hyperion_bench.space import JointSpace, Param
from hyperion_bench.suites import load_suite
from hyperion_bench.synthetic import objectives

FAST_EHVI = {"raw_samples": "32", "n_local": "32", "mc_samples": "16", "fit_maxiter": "30"}


@pytest.fixture
def mf_suite(tmp_path):
    return load_suite(write_suite(tmp_path, MF_SUITE.replace("max_epochs = 4", "max_epochs = 9"), "zdt-mf.toml"))


# ---------------------------------------------------------------- MS-EHVI
def test_ms_ehvi_loop_is_exact_valid_seeded_and_survives_failures(mf_suite):
    sched, seen = drive("ms-ehvi", mf_suite, 12, fail_every=5, options=FAST_EHVI)
    opt = sched.optimizer
    assert len(seen) == 12 and sched.n_failed == 2 and opt.n_init == 4  # 12 // 3 Sobol points
    for config, epochs in seen:
        mf_suite.space.validate(config)
        assert epochs == mf_suite.max_epochs  # single fidelity: the full budget
    assert len(opt.suggest_seconds) == 8  # every later suggestion came from the model
    _, again = drive("ms-ehvi", mf_suite, 12, fail_every=5, options=FAST_EHVI)
    assert again == seen


def test_ms_ehvi_never_models_the_cheap_objective(mf_suite, monkeypatch):
    """Spy on the GP: it is fitted on f2 only; f1 (= x0 on ZDT, exact) comes from the context for
    every scored candidate."""
    import botorch.models

    fitted_outputs = []
    real = botorch.models.SingleTaskGP

    def spy(train_X, train_Y, *a, **kw):
        fitted_outputs.append(train_Y.shape[-1])
        return real(train_X, train_Y, *a, **kw)

    monkeypatch.setattr(botorch.models, "SingleTaskGP", spy)
    calls = []
    context = Context.for_suite(mf_suite, max_trials=9)
    cheap = context.cheap
    context.cheap = lambda config: calls.append(config) or cheap(config)
    opt = MSEHVI(mf_suite.space, 2, 0, 1, 9, {**{k: int(v) for k, v in FAST_EHVI.items()}}, context)
    assert opt.cheap_idx == [0] and opt.exp_idx == [1]
    for key in range(9):
        s = opt.ask(key)
        opt.tell(key, np.array(list(objectives(mf_suite, s.config).values())), {})
    assert fitted_outputs and set(fitted_outputs) == {1}  # one modelled output: f2
    assert opt.fit_targets == [1]
    assert len(calls) > 64  # the candidates' f1 came from the exact cheap function
    u = opt.space.to_unit(opt.space.sample(np.random.default_rng(5)))
    assert opt.cheap_vector(u)[0] == pytest.approx(opt.space.from_unit(u)["x0"])


def test_ms_ehvi_models_everything_without_cheap_objectives(mf_suite):
    context = Context(objective_names=["f1", "f2"], reference_point=[1.1, 11.0], max_trials=6)
    opt = MSEHVI(mf_suite.space, 2, 0, 1, 9, {k: int(v) for k, v in FAST_EHVI.items()}, context)
    assert opt.cheap_idx == [] and opt.exp_idx == [0, 1]
    for key in range(6):
        s = opt.ask(key)
        opt.tell(key, np.array(list(objectives(mf_suite, s.config).values())), {})
    assert opt.fit_targets == [0, 1]


def test_ms_ehvi_sobol_design_shrinks_for_small_budgets():
    assert init_points(50, None) == 50 and init_points(50, 150) == 50
    assert init_points(50, 12) == 4 and init_points(50, 3) == 2 and init_points(50, 1) == 1


# ---------------------------------------------------------------- MO-BANANAS
def test_sh_rungs_follow_the_authors_budgets():
    assert sh_rungs(5, 25, 3) == [9, 25]  # flowers: get_budgets(5, 25, 3) = [25, 9]
    assert sh_rungs(1, 9, 3) == [1, 3, 9]
    assert sh_rungs(1, 1, 3) == [1]


def test_promotion_takes_fronts_then_hypervolume_and_never_failures():
    a, b, c, d = (1.0, 4.0), (2.0, 2.0), (5.0, 1.0), (3.0, 3.0)
    ys = [np.array(d), None, np.array(a), np.array(b), np.array(c)]
    assert sorted(promote(ys, 3)) == [2, 3, 4]  # the whole first front; d is dominated by b
    assert promote(ys, 1) == [3]  # b has the largest hypervolume contribution of the front
    assert sorted(promote(ys, 4)) == [0, 2, 3, 4]
    assert promote([None, None], 1) == []


def test_crowding_distance_keeps_the_boundary():
    cd = crowding_distance(np.array([[0.0, 3.0], [1.0, 2.0], [1.1, 1.9], [3.0, 0.0]]))
    assert np.isinf(cd[0]) and np.isinf(cd[3])
    assert cd[1] == pytest.approx(1.1 / 3 + 1.1 / 3) and cd[2] == pytest.approx(2 / 3 + 2 / 3)  # by hand


def test_mo_bananas_successive_halving_promotes_the_best_third(mf_suite):
    """Hand-made results: at rung 0 the objective is (key, -key) except that keys are scored so that
    exactly known configs win; the next rung must re-run exactly those configs for more epochs."""
    context = Context(objective_names=["f1", "f2"], reference_point=[1.1, 11.0])
    opt = MOBananas(mf_suite.space, 2, 0, 1, 9, {"n_init": 4, "train_steps": 20}, context)
    assert opt.rungs == [1, 3, 9]
    key = 0
    for _ in range(4):  # the initial population, full epochs
        s = opt.ask(key)
        assert s.epochs == 9
        opt.tell(key, np.array(list(objectives(mf_suite, s.config).values())), {})
        key += 1
    rung0 = []
    for _ in range(10):  # a bracket: 10 candidates at 1 epoch; nothing else until all are told
        s = opt.ask(key)
        assert s.epochs == 1 and s.meta == {"rung": 0}
        rung0.append((key, s.config))
        key += 1
    assert opt.ask(key) is None  # waiting for the rung
    scores = {k: np.array([float(i), 0.0]) for i, (k, _) in enumerate(rung0)}  # one chain: lower f1 is better
    scores[rung0[9][0]] = None  # a failure is never promoted
    for k, _ in rung0:
        opt.tell(k, scores[k], {})
    promoted = [opt.ask(key + i) for i in range(3)]  # 10 // 3 go on
    assert [p.epochs for p in promoted] == [3, 3, 3] and opt.ask(key + 3) is None
    assert [p.config for p in promoted] == [rung0[i][1] for i in range(3)]
    assert opt.decisions[-1] == {"rung": 0, "n": 10, "promoted": [0, 1, 2]}


def test_mo_bananas_loop_is_exact_valid_seeded(mf_suite):
    sched, seen = drive("mo-bananas", mf_suite, 40, fail_every=7, options={"train_steps": "20"})
    assert len(seen) == 40 and sched.n_failed == 40 // 7
    assert {e for _, e in seen} == {1, 3, 9}
    for config, _ in seen:
        mf_suite.space.validate(config)
    _, again = drive("mo-bananas", mf_suite, 40, fail_every=7, options={"train_steps": "20"})
    assert again == seen


def test_mo_bananas_mutation_changes_at_most_three_keys():
    space = JointSpace([Param(f"x{i}", "float", "pipeline", low=0.0, high=1.0) for i in range(8)])
    opt = MOBananas(space, 2, 0, 1, 1, {}, Context(["f1", "f2"], [1.0, 1.0]))
    u = np.full(8, 0.5)
    for _ in range(20):
        child = opt.mutate(u)
        assert np.sum(child != u) <= 3 and np.all((child >= 0) & (child <= 1))


# ---------------------------------------------------------------- BULK & CUT
FLOWERS_LIKE = """
[data]
dataset = "digits"
[network]
family = "plain_cnn"
[training]
epochs = 6
optimizer = "adam"
n_conv_0 = 8
n_conv_1 = 8
n_conv_2 = 8
n_fc_0 = 8
n_fc_1 = 8
n_fc_2 = 8
kernel_size = 3
batch_norm = true
global_avg_pooling = false
[params.n_conv_l]
role = "macro"
type = "int"
low = 1
high = 3
[params.n_fc_l]
role = "macro"
type = "int"
low = 1
high = 3
[params.lr]
role = "pipeline"
type = "float"
low = 1e-4
high = 1e-1
log = true
[objectives]
weighted_sum = { val_error = 1.0 }
pareto = ["neg_val_accuracy_pct", "log10_n_params"]
reference_point = [0.0, 8.0]
[budget]
min_epochs = 1
max_epochs = 6
"""


def test_bulk_and_cut_phases_parents_and_trial_constants(tmp_path):
    suite = load_suite(write_suite(tmp_path, FLOWERS_LIKE))
    context = Context(objective_names=list(suite.objectives.pareto), reference_point=[0.0, 8.0], max_trials=20)
    context.folder = str(tmp_path / "run")
    opt = BulkAndCut(suite.space, 2, 0, 1, 6, {}, context)
    kinds = []
    for key in range(20):
        s = opt.ask(key)
        suite.space.validate(s.config)
        kind = s.meta.get("transform", "random")
        kinds.append(kind)
        assert s.meta["save_checkpoint"] == str(tmp_path / "run" / "checkpoints" / f"trial-{key}.pt")
        if kind == "random":
            assert s.epochs == 6 and "parent_checkpoint" not in s.meta
        elif kind in ("deepen", "widen"):
            assert s.epochs == 6 and not s.meta.get("distill")
        else:
            assert kind == "prune" and s.meta["distill"] and s.epochs == 2  # a third of the epochs
            assert 0 < s.meta["prune_fraction"] < 1
        if kind != "random":
            parent = next(p for p in opt.population if p["checkpoint"] == s.meta["parent_checkpoint"])
            assert {k: v for k, v in s.config.items() if k != "lr"} == \
                {k: v for k, v in parent["config"].items() if k != "lr"}
        # the trial would write its network; the key decides a made-up (accuracy, size) pair
        (tmp_path / "run" / "checkpoints").mkdir(parents=True, exist_ok=True)
        _save_network(suite, s.config, s.meta["save_checkpoint"])
        opt.tell(key, np.array([-float(key % 7), 3.0 + key % 3]), {"n_params": 10 ** (3 + key % 3)})
    # 0.35 / 0.40 / 0.25 of 20 trials: keys 0-6 random, 7-14 grow, 15-19 cut
    assert kinds[:7] == ["random"] * 7
    assert set(kinds[7:15]) <= {"deepen", "widen"} and len(set(kinds[7:15])) == 2
    assert kinds[15:] == ["prune"] * 5
    assert len(opt.gps[0].y) == 15 and len(opt.gps[1].y) == 5  # one lr GP for phases 1-2, one for phase 3
    log = (tmp_path / "run" / "checkpoints" / "lineage.csv").read_text().splitlines()
    assert len(log) == 21 and log[-1].startswith("19,2,prune,")


def _save_network(suite, config, path):
    """What a trial leaves for its children: the config's plain CNN (16x16 RGB, 17 classes), untrained."""
    from hyperion_bench.nn import morph
    from hyperion_bench.plan import network_of

    morph.save(network_of(suite, config, (3, 16, 16), 17)[0], path)


def test_bulk_and_cut_asks_the_lr_gp_with_the_childs_size_after_the_morph(tmp_path, monkeypatch):
    """The GP is told the trained child's measured size, so it must be asked with that size too: a pruned
    child of a 3-conv parent is several times smaller than the parent, a widened one larger."""
    from hyperion_bench.lineage import Lineage
    from hyperion_bench.nn import count_params, morph

    suite = load_suite(write_suite(tmp_path, FLOWERS_LIKE))
    context = Context(objective_names=list(suite.objectives.pareto), reference_point=[0.0, 8.0], max_trials=20)
    context.folder = str(tmp_path / "run")
    opt = BulkAndCut(suite.space, 2, 0, 1, 6, {}, context)
    asked = []
    real_choose = LrGP.choose
    monkeypatch.setattr(LrGP, "choose", lambda self, features: asked.append(features.copy()) or
                        real_choose(self, features))
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    checked = set()
    for key in range(20):
        s = opt.ask(key)
        kind = s.meta.get("transform", "random")
        if kind != "random":
            parent = morph.load(s.meta["parent_checkpoint"])
            child = Lineage(parent_checkpoint=s.meta["parent_checkpoint"], transform=kind,
                            transform_seed=s.meta["transform_seed"],
                            prune_fraction=s.meta.get("prune_fraction", 0.5),
                            widen_factor=s.meta.get("widen_factor", 1.5)).prepare(None, None)
            assert asked[-1][1] * 8.0 == pytest.approx(np.log10(count_params(child)))
            if kind == "prune":
                assert count_params(child) < count_params(parent)
            checked.add(kind)
        _save_network(suite, s.config, s.meta["save_checkpoint"])
        n_params = count_params(morph.load(s.meta["save_checkpoint"])) if kind == "random" else 0
        opt.tell(key, np.array([-float(key % 7), np.log10(max(n_params, 10))]), {"n_params": n_params})
    assert checked == {"deepen", "widen", "prune"}


def test_bulk_and_cut_rejects_suites_without_networks(tmp_path):
    suite = load_suite(write_suite(tmp_path, MF_SUITE, "zdt.toml"))
    with pytest.raises(UserError, match="'bulk-and-cut' needs the plain_cnn network family.*'synthetic'"):
        make_run_scheduler("bulk-and-cut", suite=suite, seed=0, max_trials=5, constants=CONSTANTS)


def test_pareto_epsilon_greedy_walks_down_the_fronts():
    pool = [{"objectives": np.array(p)} for p in [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]]
    rng = np.random.default_rng(0)
    assert all(pareto_epsilon_greedy(pool, 1.0, rng) is pool[0] for _ in range(10))
    assert all(pareto_epsilon_greedy(pool, 0.0, rng) is pool[2] for _ in range(10))  # the last front stops it
    picks = [pareto_epsilon_greedy(pool, 0.85, rng) is pool[0] for _ in range(400)]
    assert 0.78 < np.mean(picks) < 0.92
    assert pareto_epsilon_greedy([], 0.85, rng) is None


def test_lr_gp_lower_confidence_bound_finds_the_good_learning_rate():
    rng = np.random.default_rng(0)
    gp = LrGP(kappa=0.5, n_candidates=200, min_points=3, rng=rng)
    features = np.array([0.3, 0.5])
    for lr in np.linspace(0.0, 1.0, 12):
        gp.add(features, lr, (lr - 0.7) ** 2)  # best lr at 0.7 of the log range
    assert abs(gp.choose(features) - 0.7) < 0.1


def test_bulk_and_cut_takes_budget_and_folder_from_the_runs_constants(tmp_path):
    """The runner passes the wall-clock budget and the (method, seed) folder; checkpoints go below it and
    the phases follow the wall clock (half the budget gone: phase 1, growing)."""
    suite = load_suite(write_suite(tmp_path, FLOWERS_LIKE))
    constants = {**CONSTANTS, "hb_wallclock_s": 100.0, "hb_folder": str(tmp_path / "run")}
    sched = make_run_scheduler("bulk-and-cut", suite=suite, seed=0, max_trials=None, constants=constants)
    opt = sched.optimizer
    assert opt.context.wallclock_s == 100.0 and opt.context.folder == str(tmp_path / "run")
    suggestion = opt.ask(0)
    assert suggestion.meta["save_checkpoint"] == str(tmp_path / "run" / "checkpoints" / "trial-0.pt")
    opt.started -= 50.0
    assert opt.progress() == pytest.approx(0.5, abs=0.01) and opt.phase() == 1
