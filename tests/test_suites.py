"""Suite files: every shipped one loads; every malformed one fails with one line naming file and key."""

import pytest

from conftest import CELL_SUITE, write_suite
from hyperion_bench.errors import UserError
from hyperion_bench.suites import list_suites, load_suite, parse_duration


def test_shipped_suites_load():
    names = list_suites()
    for required in ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10", "eurosat", "flowers17"):
        assert required in names
    for name in names:
        suite = load_suite(name)
        assert suite.name == name
        assert suite.objectives.weighted_sum


def test_flowers17_is_the_bag_of_baselines_problem():
    suite = load_suite("flowers17")
    assert len(suite.space.flat) == 13
    assert suite.objectives.pareto == ["neg_val_accuracy_pct", "log10_n_params"]
    assert suite.objectives.reference_point == [0.0, 8.0]
    assert (suite.min_epochs, suite.max_epochs) == (5, 25)


def test_cifar10_uses_the_hyperion_objective():
    assert load_suite("cifar10").objectives.weighted_sum == {"train_loss": 1.0, "n_params": 1e-5}


def test_mnist1d_searches_window_and_sampling_rate_with_the_architecture():
    roles = {p.name: p.role for p in load_suite("mnist1d").space.params}
    assert roles["window"] == roles["downsample"] == "pipeline"
    assert roles["op"] == roles["kernel"] == roles["activation"] == "fusion"


def test_suite_by_path(tmp_path):
    suite = load_suite(write_suite(tmp_path, CELL_SUITE))
    assert suite.family == "cell" and suite.space.nodes == 2
    assert suite.setting({}, "epochs") == 2
    assert suite.setting({"epochs": 5}, "epochs") == 5
    assert suite.setting({}, "momentum") == 0.9  # harness default


def test_unknown_suite_names_the_known_ones():
    with pytest.raises(UserError, match="unknown suite 'nope'.*digits"):
        load_suite("nope")


WD = "\n[params.weight_decay]\nrole='pipeline'\n"
BAD = [
    ("[data]\ndataset = 'digits'\n[network]\nfamily = 'cell'\n[objectives]\nweighted_sum = {val_error = 1.0}\n"
     "[params.lr]\nrole = 'pipeline'\ntype = 'float'\nlow = 0.5\nhigh = 0.1\n", "params.lr: impossible range"),
    (CELL_SUITE + WD + "type='choice'\nchoices=[]\n", "params.weight_decay.choices: needs a non-empty"),
    (CELL_SUITE + WD + "type='float'\nlow='a'\nhigh=1.0\n", "params.weight_decay.low: expected float"),
    (CELL_SUITE + WD.replace("pipeline", "macro") + "type='float'\nlow=0.1\nhigh=1.0\n",
     "params.weight_decay.role: must be pipeline"),
    (CELL_SUITE + WD + "type='float'\nlow=0.1\nhigh=1.0\nlgo=true\n",
     "params.weight_decay.lgo: unknown key"),
    (CELL_SUITE + "\n[params.colour]\nrole='pipeline'\ntype='choice'\nchoices=[1]\n", "params.colour: unknown key"),
    (CELL_SUITE.replace('"conv", ', '"conv", "warp", '), "params.op.choices: unknown op 'warp'"),
    (CELL_SUITE.replace("nodes = 2", "nodes = 'two'"), "network.nodes: expected int"),
    (CELL_SUITE.replace("epochs = 2", "epochs = 0"), "training.epochs: must be positive"),
    (CELL_SUITE.replace("batch_size = 16", "batch_size = 16\nlr = 0.1"), "malformed TOML"),
    (CELL_SUITE + "\n[extra]\n", "extra: unknown table"),
    (CELL_SUITE.replace('dataset = "digits"', 'dataset = "imagenet"'), "data.dataset: unknown dataset"),
    (CELL_SUITE.replace("val_error = 1.0", "accuracy = 1.0"), "objectives.weighted_sum.accuracy: unknown metric"),
    (CELL_SUITE + "\n[params.lr]\nrole='pipeline'\ntype='float'\nlow=0.1\nhigh=1.0\n",
     "params.lr: is also fixed in \\[training\\]"),
    (CELL_SUITE + "\n[budget]\nwallclock = '0s'\n", "budget.wallclock: '0s' is not a positive duration"),
    (CELL_SUITE + "\n[budget]\nmax_trials = 0\n", "budget.max_trials: must be at least 1"),
    (CELL_SUITE.replace('family = "cell"', 'family = "plain_cnn"'), "params.cells: not used by the plain_cnn family"),
]


@pytest.mark.parametrize("body,message", BAD)
def test_malformed_suites_fail_with_one_line_naming_file_and_key(tmp_path, body, message):
    path = write_suite(tmp_path, body)
    with pytest.raises(UserError, match=message) as info:
        load_suite(path)
    text = str(info.value)
    assert "\n" not in text
    assert str(path) in text


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("5m", 300), ("1.5h", 5400), (120, 120)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "0m", "-5m", "five minutes", "5y"])
def test_parse_duration_rejects_impossible_budgets(text):
    with pytest.raises(UserError):
        parse_duration(text)
