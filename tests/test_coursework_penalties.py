"""The checks of the penalties chapter accept the right answer and reject plausible wrong ones."""
import pytest
import torch

import regutils as ru
from regutils.coursework import penalties
from regutils.experiment import RunResult, SweepResult
from regutils.train import History


@pytest.fixture(scope="module")
def model():
    """A small real model trained with an L1 penalty (quick profile, cached)."""
    return ru.Experiment("l1", 1e-3, profile="quick").run(keep_model=True).model


@pytest.fixture(scope="module")
def result():
    """A small real sweep of the L2 strength (quick profile, cached)."""
    return ru.sweep("l2", [0.0, 1e-3, 1.0], seeds=[0], profile="quick")


def made_up_sweep(val_loss, val_acc, train_acc):
    """A sweep whose runs have the given final accuracies, for cases a real run may not show."""
    values = [0.0, 0.01, 1.0]
    result = SweepResult("l2", "strength", values, [0])
    for value, loss, val, train in zip(values, val_loss, val_acc, train_acc):
        history = History([dict(epoch=1, objective=1.0, penalty=0.0, train_loss=0.1,
                                train_acc=train, val_loss=loss, val_acc=val, seconds=0.1)],
                          test_acc=val)
        result.runs[(value, 0)] = RunResult(ru.Experiment("l2", value), history)
    return result


# --- check_l1_penalty ------------------------------------------------------------------------

def test_l1_penalty_accepts_the_hand_sum_and_ru_L1(model, capsys):
    by_hand = 1e-4 * sum(w.abs().sum() for w in ru.regularizers.weights(model))
    penalties.check_l1_penalty(model, 1e-4, by_hand)  # a tensor with a gradient is fine
    penalties.check_l1_penalty(model, 1e-4, ru.L1(1e-4).penalty(model))
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_l1_penalty_rejects_biases_a_mean_and_the_l2_formula(model):
    with pytest.raises(AssertionError, match="includes the biases"):
        penalties.check_l1_penalty(model, 1e-4, 1e-4 * sum(p.abs().sum() for p in model.parameters()))
    with pytest.raises(AssertionError, match="a mean, not a sum"):
        penalties.check_l1_penalty(model, 1e-4, sum(1e-4 * w.abs().mean()
                                                    for w in ru.regularizers.weights(model)))
    with pytest.raises(AssertionError, match="the L2 penalty"):
        penalties.check_l1_penalty(model, 1e-4, ru.L2(1e-4).penalty(model))
    with pytest.raises(AssertionError, match="strength λ is missing"):
        penalties.check_l1_penalty(model, 1e-4, sum(w.abs().sum() for w in ru.regularizers.weights(model)))


# --- check_near_zero_fraction ----------------------------------------------------------------

def test_near_zero_fraction_accepts_the_share_of_the_first_layer(model, capsys):
    w = model[1].weight
    penalties.check_near_zero_fraction(model, (w.abs() < 1e-3).float().mean())
    penalties.check_near_zero_fraction(model, (w.abs() < 1e-2).float().mean(), threshold=1e-2)
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_near_zero_fraction_rejects_exact_zeros_missing_abs_and_all_layers():
    torch.manual_seed(0)
    model = ru.mlp(hidden=(16,))
    with torch.no_grad():
        model[1].weight[:, :100] = 0.0
    w = model[1].weight
    with pytest.raises(AssertionError, match="exactly zero"):
        penalties.check_near_zero_fraction(model, (w == 0).float().mean())
    with pytest.raises(AssertionError, match="absolute value is missing"):
        penalties.check_near_zero_fraction(model, (w < 1e-3).float().mean())
    with pytest.raises(AssertionError, match="NOT near zero"):
        penalties.check_near_zero_fraction(model, 1 - (w.abs() < 1e-3).float().mean())
    every = torch.cat([m.flatten() for m in ru.regularizers.weights(model)])
    with pytest.raises(AssertionError, match="every layer"):
        penalties.check_near_zero_fraction(model, (every.abs() < 1e-3).float().mean())


# --- check_best_strength ---------------------------------------------------------------------

def test_best_strength_accepts_the_lowest_mean_validation_loss(result, capsys):
    best = result.values[int(result.mean("val_loss").argmin())]
    penalties.check_best_strength(result, best)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_best_strength_rejects_a_position_and_an_unswept_value(result):
    with pytest.raises(AssertionError, match="not one of the swept strengths"):
        penalties.check_best_strength(result, 0.5)
    with pytest.raises(AssertionError, match="position in the list"):
        penalties.check_best_strength(result, 2)


def test_best_strength_rejects_the_smallest_gap_and_the_best_accuracy():
    result = made_up_sweep(val_loss=[0.43, 0.34, 2.30], val_acc=[0.91, 0.90, 0.10],
                           train_acc=[1.0, 0.99, 0.10])
    penalties.check_best_strength(result, 0.01)
    with pytest.raises(AssertionError, match="smallest generalization gap"):
        penalties.check_best_strength(result, 1.0)
    with pytest.raises(AssertionError, match="highest validation accuracy"):
        penalties.check_best_strength(result, 0.0)
