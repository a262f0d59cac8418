"""The joint space: per-node expansion and the encodings every optimiser library sees."""

import math

import numpy as np
import pytest

from hyperion_bench.space import JointSpace, Param, edge_choices, parse_edges


@pytest.fixture
def space() -> JointSpace:
    return JointSpace(
        [
            Param("lr", "float", "pipeline", low=1e-4, high=1.0, log=True),
            Param("momentum", "float", "pipeline", low=0.0, high=0.99),
            Param("batch_size", "int", "pipeline", low=1, high=512, log=True),
            Param("cells", "int", "macro", low=1, high=3),
            Param("op", "choice", "fusion", choices=("conv", "skip", "max_pool")),
            Param("kernel", "choice", "fusion", choices=(3, 5)),
        ],
        nodes=3,
    )


def test_fusion_parameters_expand_per_node_with_generated_edges(space):
    names = space.names
    assert [n for n in names if n.startswith("op@")] == ["op@0", "op@1", "op@2"]
    assert [n for n in names if n.startswith("edges@")] == ["edges@0", "edges@1", "edges@2"]
    assert space["edges@2"].choices == edge_choices(2)
    assert len(edge_choices(2)) == 6  # pairs of 4 states
    assert parse_edges("1+3") == (1, 3)
    assert space.fusion_bases() == ["op", "kernel", "edges"]


def test_no_fusion_parameters_means_no_edges():
    s = JointSpace([Param("lr", "float", "pipeline", low=0.1, high=1.0)], nodes=0)
    assert s.names == ["lr"]


def test_samples_are_valid_and_seeded(space):
    a = [space.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    for _ in range(200):
        space.validate(space.sample(rng))


def test_unit_cube_roundtrip(space):
    rng = np.random.default_rng(1)
    for _ in range(100):
        config = space.sample(rng)
        back = space.from_unit(space.to_unit(config))
        for p in space.flat:
            if p.kind == "float":
                assert math.isclose(back[p.name], config[p.name], rel_tol=1e-9)
            else:
                assert back[p.name] == config[p.name], p.name


def test_unit_cube_covers_int_ends_evenly():
    p = Param("cells", "int", "macro", low=1, high=3)
    values = [p.from_unit(u) for u in np.linspace(0, 1, 3001)]
    counts = [values.count(v) for v in (1, 2, 3)]
    assert min(counts) > 900  # each value gets about a third of the cube


def test_validate_rejects_out_of_domain(space):
    config = space.sample(np.random.default_rng(0))
    with pytest.raises(AssertionError):
        space.validate({**config, "cells": 7})
    with pytest.raises(AssertionError):
        space.validate({**config, "op@1": "sep_conv"})
    with pytest.raises(AssertionError):
        space.validate({k: v for k, v in config.items() if k != "lr"})


def test_clean_casts_library_values(space):
    config = space.sample(np.random.default_rng(0))
    raw = {**config, "cells": np.float64(2.7), "batch_size": 600.0, "lr": np.float32(0.5)}
    out = space.clean(raw)
    assert out["cells"] == 3 and isinstance(out["cells"], int)
    assert out["batch_size"] == 512
    assert isinstance(out["lr"], float)
    space.validate(out)


def test_syne_tune_encoding(space):
    from syne_tune.config_space import Categorical, Float, Integer

    st = space.to_syne_tune()
    assert set(st) == set(space.names)
    assert isinstance(st["op@0"], Categorical) and list(st["op@0"].categories) == ["conv", "skip", "max_pool"]
    assert isinstance(st["cells"], Integer) and (st["cells"].lower, st["cells"].upper) == (1, 3)
    assert isinstance(st["lr"], Float) and (st["lr"].lower, st["lr"].upper) == (1e-4, 1.0)


def test_hyperopt_encoding_samples_inside_domain(space):
    from hyperopt.pyll.stochastic import sample

    hp_space = space.to_hyperopt()
    rng = np.random.default_rng(0)
    for _ in range(200):
        space.validate(space.clean(sample(hp_space, rng=rng)))


def test_flaml_encoding_keeps_inclusive_int_bounds(space):
    fl = space.to_flaml()
    assert fl["cells"].lower == 1 and fl["cells"].upper == 4  # FLAML's upper bound is exclusive
    rng = np.random.default_rng(0)
    seen = {fl["cells"].sample(random_state=rng) for _ in range(300)}
    assert seen == {1, 2, 3}


def test_optuna_encoding(space):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(50):
        trial = study.ask()
        config = space.suggest_optuna(trial)
        space.validate(config)
        study.tell(trial, 0.0)


def test_cheapest_sets_macro_ints_low(space):
    assert space.cheapest() == {"cells": 1}
