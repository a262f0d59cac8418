"""Network morphisms, pruning and distillation (BULK & CUT), and the lineage hook in ``evaluate``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from conftest import write_suite
from hyperion_bench.evaluate import evaluate
from hyperion_bench.lineage import Lineage
from hyperion_bench.nn import count_params, morph
from hyperion_bench.nn.plain_cnn import PlainCNN
from hyperion_bench.suites import load_suite


def trained_like(in_shape=(3, 16, 16), batch_norm=True, gap=False, fc=(10, 6), seed=0
                 ) -> tuple[nn.Module, torch.Tensor]:
    """A plain CNN with non-trivial BatchNorm statistics, in eval mode, and an input batch."""
    torch.manual_seed(seed)
    model = PlainCNN(in_shape, 5, [6, 8], 3, batch_norm, gap, list(fc))
    x = torch.randn(16, *in_shape)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x + torch.randn_like(x))  # moves the running statistics away from (0, 1)
    return model.eval(), x


def max_diff(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return (a.eval()(x) - b.eval()(x)).abs().max().item()


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("gap", [False, True])
def test_deepening_after_every_relu_preserves_the_function(batch_norm, gap):
    model, x = trained_like(batch_norm=batch_norm, gap=gap)
    seq = morph.as_sequential(model)
    points = morph.deepen_points(seq)
    kinds = set()
    for pos in points:
        child = morph.deepen(model, np.random.default_rng(0), position=pos)
        kinds.add(type(child[pos + 1]).__name__)
        assert morph.depth(child) == morph.depth(model) + 1
        assert max_diff(model, child, x) < 1e-5
    assert kinds == {"Conv2d", "Linear"}  # both conv and linear layers were inserted


def test_deepening_a_1d_network_preserves_the_function():
    model, x = trained_like(in_shape=(2, 20))
    child = morph.deepen(model, np.random.default_rng(0), position=morph.deepen_points(morph.as_sequential(model))[0])
    assert isinstance(child[1 + 1], nn.Conv1d) and max_diff(model, child, x) < 1e-5


@pytest.mark.parametrize("gap", [False, True])
def test_widening_every_hidden_layer_preserves_the_function(gap):
    model, x = trained_like(gap=gap)
    seq = morph.as_sequential(model)
    for i in morph.hidden_layers(seq):  # both convs (one feeds the flatten) and the hidden linears
        child = morph.widen(model, np.random.default_rng(i), factor=2.0, layer=i)
        old = seq[i].weight.shape[0]
        assert child[i].weight.shape[0] == 2 * old
        assert count_params(child) > count_params(model)
        assert max_diff(model, child, x) < 1e-5


def test_pruning_lowers_n_params_keeps_the_strongest_filters_and_still_runs():
    model, x = trained_like()
    seq = morph.as_sequential(model)
    first = seq[0].weight.detach()
    strongest = torch.sort(torch.argsort(first.abs().sum((1, 2, 3)), descending=True)[:3]).values
    child = morph.prune(model, fraction=0.5)
    assert count_params(child) < count_params(model)
    assert torch.equal(child[0].weight, first[strongest])  # L1 criterion: the 3 largest of 6 filters stay
    assert child.eval()(x).shape == (16, 5)
    tiny = morph.prune(morph.prune(morph.prune(child, 0.9), 0.9), 0.9)
    assert all(m.weight.shape[0] >= 1 for m in tiny if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_checkpoints_round_trip_spec_and_weights(tmp_path):
    model, x = trained_like()
    child = morph.widen(morph.deepen(model, np.random.default_rng(1)), np.random.default_rng(2))
    morph.save(child, tmp_path / "c.pt")
    assert max_diff(child, morph.load(tmp_path / "c.pt"), x) == 0.0


def test_cell_networks_are_not_morphable():
    class Cell(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(morph.NotMorphable):
        morph.as_sequential(nn.Sequential(nn.Conv2d(1, 2, 3), Cell()))


def test_distillation_loss_is_cross_entropy_share_when_student_equals_teacher():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    same = morph.distillation_loss(logits, logits, y, temperature=4.0, alpha=0.9)
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert torch.allclose(same, 0.1 * ce, atol=1e-6)  # KL(teacher || student) = 0
    student = torch.randn(8, 5, requires_grad=True)
    loss = morph.distillation_loss(student, logits, y)
    assert loss > same
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0


# ---------------------------------------------------------------- the lineage hook in evaluate
PLAIN_SUITE = """
[data]
dataset = "digits"
[network]
family = "plain_cnn"
[training]
epochs = 2
batch_size = 32
lr = 0.01
optimizer = "adam"
n_conv_l = 1
n_conv_0 = 8
n_fc_l = 1
n_fc_0 = 16
kernel_size = 3
batch_norm = true
global_avg_pooling = false
[params.n_fc_1]
role = "macro"
type = "int"
low = 2
high = 4
[objectives]
weighted_sum = { val_error = 1.0 }
pareto = ["val_error", "log10_n_params"]
reference_point = [1.0, 8.0]
"""


def test_lineage_grows_prunes_distils_and_saves(tmp_path, tiny_images):
    suite = load_suite(write_suite(tmp_path, PLAIN_SUITE))
    config = {"n_fc_1": 2}
    assert Lineage.from_constants({"seed": 0, "suite": "x"}) is None  # no lineage keys: evaluate as before
    parent_ckpt = tmp_path / "ckpt" / "parent.pt"
    parent = evaluate(suite, config, tiny_images, lineage=Lineage(save_checkpoint=str(parent_ckpt)))
    assert parent_ckpt.exists()
    grown = evaluate(suite, config, tiny_images, epochs=1, lineage=Lineage(
        parent_checkpoint=str(parent_ckpt), transform="deepen", transform_seed=0,
        save_checkpoint=str(tmp_path / "ckpt" / "grown.pt")))
    assert grown["n_params"] > parent["n_params"]
    cut = evaluate(suite, config, tiny_images, epochs=1, lineage=Lineage(
        parent_checkpoint=str(parent_ckpt), transform="prune", distill=True, prune_fraction=0.5))
    assert cut["n_params"] < parent["n_params"] and np.isfinite(cut["val_loss"])


def test_an_inherited_network_starts_where_the_parent_ended(tmp_path, tiny_images):
    """Function preservation end to end: (almost) zero-lr training of a widened child keeps the parent's error."""
    no_bn = PLAIN_SUITE.replace("batch_norm = true", "batch_norm = false")  # BN statistics move even at lr 0
    suite = load_suite(write_suite(tmp_path, no_bn))
    ckpt = tmp_path / "p.pt"
    parent = evaluate(suite, {"n_fc_1": 2}, tiny_images, lineage=Lineage(save_checkpoint=str(ckpt)))
    frozen = load_suite(write_suite(tmp_path, no_bn.replace("lr = 0.01", "lr = 1e-12"), "frozen.toml"))
    child = evaluate(frozen, {"n_fc_1": 2}, tiny_images, epochs=1, lineage=Lineage(
        parent_checkpoint=str(ckpt), transform="widen", transform_seed=3))
    assert child["val_error"] == parent["val_error"]
