"""The checks of the combining chapter accept the right answer and reject plausible wrong ones;
the ablation figure draws one row per configuration."""
import copy

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import regutils as ru
from regutils.coursework import combining
from regutils.experiment import SweepResult

COMBINATION = {"dropout": 0.3, "l2": 1e-3, "batch_norm": None, "early_stopping": 1}


def combination_without(name=None):
    """The quick-profile combination with `name` left out, over two seeds (real, cached)."""
    (first, strength), *others = [(n, s) for n, s in COMBINATION.items() if n != name]
    return ru.sweep(first, [strength], seeds=[0, 1], combined_with=dict(others), profile="quick")


@pytest.fixture(scope="module")
def without():
    return {name: combination_without(name) for name in COMBINATION}


@pytest.fixture(scope="module")
def full():
    return combination_without(None)


# --- check_rescale -----------------------------------------------------------------------------

def scale_layers(model, factor, keep=lambda layer, following: isinstance(following, nn.BatchNorm1d),
                 bias=False, in_place=False):
    model = model if in_place else copy.deepcopy(model)
    layers = list(model)
    with torch.no_grad():
        for layer, following in zip(layers, layers[1:] + [None]):
            if isinstance(layer, nn.Linear) and keep(layer, following):
                layer.weight.mul_(factor)
                if bias:
                    layer.bias.mul_(factor)
    return model


def test_rescale_accepts_the_layers_before_batch_norm_with_or_without_their_biases(capsys):
    combining.check_rescale(scale_layers)
    combining.check_rescale(lambda model, factor: scale_layers(model, factor, bias=True))
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_rescale_rejects_the_last_layer_gamma_in_place_and_a_missing_layer():
    with pytest.raises(AssertionError, match="last linear layer"):
        combining.check_rescale(lambda m, f: scale_layers(m, f, keep=lambda *_: True))
    with pytest.raises(AssertionError, match="changed the model it was given"):
        combining.check_rescale(lambda m, f: scale_layers(m, f, in_place=True))
    with pytest.raises(AssertionError, match="was not multiplied"):
        combining.check_rescale(lambda m, f: scale_layers(
            m, f, keep=lambda layer, following: layer.in_features == 12))
    with pytest.raises(AssertionError, match="was not multiplied"):
        combining.check_rescale(lambda m, f: copy.deepcopy(m))

    def scale_gamma(model, factor):
        model = copy.deepcopy(model)
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.BatchNorm1d):
                    layer.weight.mul_(factor)
        return model

    with pytest.raises(AssertionError, match="batch norm's own γ"):
        combining.check_rescale(scale_gamma)


def test_rescale_rejects_a_function_that_returns_nothing():
    def forgets_to_return(model, factor):
        scale_layers(model, factor)

    with pytest.raises(AssertionError, match="should return the rescaled model"):
        combining.check_rescale(forgets_to_return)


# --- check_interaction -------------------------------------------------------------------------

def cell(*names):
    """The combination of `names` at their typical strengths, over the profile's seeds (cached)."""
    if not names:
        return ru.sweep("none", [None]).metric("test_loss")[0]
    first, *others = sorted(names)
    typical = lambda name: ru.TECHNIQUES[name].typical
    return ru.sweep(first, [typical(first)], combined_with={n: typical(n) for n in others}
                    ).metric("test_loss")[0]


@pytest.fixture(scope="module")
def effects():
    with_bn = cell("batch_norm", "early_stopping") - cell("batch_norm")
    without_bn = cell("early_stopping") - cell()
    return with_bn, without_bn


def test_interaction_accepts_the_per_seed_difference_of_effects(effects, capsys):
    with_bn, without_bn = effects
    combining.check_interaction(list(with_bn - without_bn))
    assert capsys.readouterr().out.startswith("✓ correct")


def test_interaction_rejects_the_sign_one_side_the_mean_and_the_wrong_length(effects):
    with_bn, without_bn = effects
    expected = with_bn - without_bn
    for wrong, message in [(-expected, "sign is reversed"), (with_bn, "with batch norm only"),
                           (without_bn, "without batch norm only"), (expected / 2, "half")]:
        if not np.allclose(wrong, expected):
            with pytest.raises(AssertionError, match=message):
                combining.check_interaction(list(wrong))
    with pytest.raises(AssertionError, match="one value per seed"):
        combining.check_interaction(list(expected) + [0.0])
    with pytest.raises(AssertionError, match="list with one value per seed"):
        combining.check_interaction(float(expected.mean()))


# --- check_kept_gap ----------------------------------------------------------------------------

def kept(history):
    epoch = history.restored_epoch or len(history.records)
    record = history.records[epoch - 1]
    return record["train_acc"] - record["val_acc"]


def test_kept_gap_accepts_the_restored_epoch_or_else_the_last(capsys):
    combining.check_kept_gap(kept)
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("wrong, message", [
    (lambda h: h.records[-1]["train_acc"] - h.records[-1]["val_acc"], "last epoch trained"),
    (lambda h: kept(h) if h.restored_epoch is None else
     h.records[h.restored_epoch]["train_acc"] - h.records[h.restored_epoch]["val_acc"],
     "epoch after the restored one"),
    (lambda h: -kept(h), "sign is reversed"),
    (lambda h: 100 * kept(h), "percentage"),
    (lambda h: (lambda r: r["train_acc"] - r["val_acc"])(h.records[h.restored_epoch - 1]),
     "restored_epoch is None"),
])
def test_kept_gap_rejects_the_last_epoch_an_off_by_one_the_sign_and_no_fallback(wrong, message):
    with pytest.raises(AssertionError, match=message):
        combining.check_kept_gap(wrong)


def test_kept_gap_fails_the_last_epoch_whatever_the_profile():
    # the check's own histories restore an earlier epoch, so a short grading profile in which
    # early stopping never fires cannot let the last-epoch answer pass
    with pytest.raises(AssertionError):
        combining.check_kept_gap(lambda h: h.records[-1]["train_acc"] - h.records[-1]["val_acc"])


# --- plots.ablation ----------------------------------------------------------------------------

def test_ablation_plot_draws_a_row_per_configuration_and_a_dot_per_seed(full, without):
    results = {"all four": full, **{f"without {name}": r for name, r in without.items()}}
    figure = ru.plots.ablation(results, ["val_acc", "val_loss"], xlabels=["val acc", "val loss"])
    first = figure.axes[0]
    assert [t.get_text() for t in first.get_yticklabels()] == list(results)
    seed_dots = [line for line in first.lines if line.get_marker() == "o"]
    assert len(seed_dots) == len(results) and all(len(d.get_xdata()) == 2 for d in seed_dots)
    plt.close(figure)


def test_ablation_plot_rejects_a_sweep_of_several_values_and_nothing():
    several = SweepResult("dropout", "strength", [0.1, 0.3], [0])
    with pytest.raises(ValueError, match="sweep of one value"):
        ru.plots.ablation({"two values": several})
    with pytest.raises(ValueError, match="empty"):
        ru.plots.ablation({})
