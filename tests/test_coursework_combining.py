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
from regutils.experiment import RunResult, SweepResult
from regutils.train import History

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


def made_up_sweep(records_per_seed, restored=None):
    """A one-value sweep whose runs have the given epoch records (and restored epochs)."""
    result = SweepResult("dropout", "strength", [0.3], list(range(len(records_per_seed))))
    for seed, records in enumerate(records_per_seed):
        history = History([dict(epoch=e, train_loss=0.1, val_loss=0.3, seconds=0.1, **r)
                           for e, r in enumerate(records, 1)], test_acc=0.9,
                          restored_epoch=None if restored is None else restored[seed])
        result.runs[(0.3, seed)] = RunResult(ru.Experiment("dropout", 0.3), history)
    return result


def made_up_removals(val_loss, val_acc, gap):
    """Removal sweeps with given final validation loss, accuracy and gap, for rankings a real
    run may not show."""
    removals = {}
    for name, loss, acc, g in zip(["dropout", "l2", "batch_norm", "early_stopping"],
                                  val_loss, val_acc, gap):
        result = made_up_sweep([[dict(train_acc=acc + g, val_acc=acc)]])
        result.runs[(0.3, 0)].history.records[0]["val_loss"] = loss
        removals[name] = result
    return removals


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


# --- check_most_needed -------------------------------------------------------------------------

def test_most_needed_accepts_the_highest_validation_loss_of_real_removals(without, capsys):
    most = max(without, key=lambda name: without[name].mean("val_loss")[0])
    combining.check_most_needed(without, most)
    assert capsys.readouterr().out.startswith("✓ correct")
    with pytest.raises(AssertionError, match="not one of the techniques"):
        combining.check_most_needed(without, "weight_decay")


def test_most_needed_rejects_the_least_needed_the_lowest_accuracy_and_the_largest_gap():
    removals = made_up_removals(val_loss=[0.28, 0.29, 0.31, 0.35],
                                val_acc=[0.915, 0.907, 0.900, 0.904],
                                gap=[0.080, 0.093, 0.076, 0.096])
    combining.check_most_needed(removals, "early_stopping")
    with pytest.raises(AssertionError, match="misses it least"):
        combining.check_most_needed(removals, "dropout")
    with pytest.raises(AssertionError, match="validation accuracy is lowest"):
        combining.check_most_needed(removals, "batch_norm")
    removals = made_up_removals(val_loss=[0.28, 0.30, 0.31, 0.35],
                                val_acc=[0.915, 0.907, 0.900, 0.904],
                                gap=[0.080, 0.099, 0.076, 0.096])
    with pytest.raises(AssertionError, match="generalization gap is largest"):
        combining.check_most_needed(removals, "l2")


# --- check_restored_gap ------------------------------------------------------------------------

def test_restored_gap_accepts_the_gap_of_the_epochs_the_runs_ended_with(full, capsys):
    histories = [run.history for run in full.runs.values()]
    by_hand = np.mean([h.generalization_gap[h.restored_epoch - 1] for h in histories])
    combining.check_restored_gap(full, by_hand)
    combining.check_restored_gap(full, full.mean("generalization_gap")[0])
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_restored_gap_rejects_the_last_epoch_the_sign_a_percentage_and_one_seed():
    epochs = [dict(train_acc=0.95, val_acc=0.90), dict(train_acc=1.0, val_acc=0.91),
              dict(train_acc=1.0, val_acc=0.89)]
    result = made_up_sweep([epochs, [dict(r, val_acc=r["val_acc"] - 0.02) for r in epochs]],
                           restored=[2, 1])
    expected = np.mean([1.0 - 0.91, 0.95 - 0.88])
    combining.check_restored_gap(result, expected)
    with pytest.raises(AssertionError, match="last epoch each run trained"):
        combining.check_restored_gap(result, np.mean([1.0 - 0.89, 1.0 - 0.87]))
    with pytest.raises(AssertionError, match="sign is reversed"):
        combining.check_restored_gap(result, -expected)
    with pytest.raises(AssertionError, match="percentage"):
        combining.check_restored_gap(result, 100 * expected)
    with pytest.raises(AssertionError, match="gap of one seed"):
        combining.check_restored_gap(result, 1.0 - 0.91)
    with pytest.raises(AssertionError, match="single number"):
        combining.check_restored_gap(result, [expected])


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
