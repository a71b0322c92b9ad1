"""The weight-decay chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch

import regutils as ru
from regutils.coursework import weight_decay


@pytest.fixture(scope="module")
def decoupled():
    """A small real decoupled-decay run (quick profile, cached)."""
    return ru.Experiment("decoupled_weight_decay", 1.0, profile="quick").run()


@pytest.fixture(scope="module")
def result():
    """A small real sweep of decoupled decay over two seeds (quick profile, cached)."""
    return ru.sweep("decoupled_weight_decay", [0.1, 10.0, 300.0], profile="quick")


def shrink_of(run, steps=None):
    config = run.experiment.resolved()
    steps = steps or len(run.history) * (config.train_size // config.batch_size)
    return (1 - config.lr * config.strength) ** steps


# --- check_total_shrink ------------------------------------------------------------------------

def test_total_shrink_accepts_the_right_answer(decoupled, capsys):
    for answer in (shrink_of(decoupled), np.float64(shrink_of(decoupled)),
                   torch.tensor(shrink_of(decoupled), dtype=torch.float64)):
        weight_decay.check_total_shrink(decoupled, answer)
        assert capsys.readouterr().out.startswith("✓ correct")


def test_total_shrink_rejects_a_single_step(decoupled):
    config = decoupled.experiment.resolved()
    with pytest.raises(AssertionError, match="a single step"):
        weight_decay.check_total_shrink(decoupled, 1 - config.lr * config.strength)


def test_total_shrink_rejects_one_shrink_per_epoch(decoupled):
    with pytest.raises(AssertionError, match="one shrink per epoch"):
        weight_decay.check_total_shrink(decoupled, shrink_of(decoupled, len(decoupled.history)))


def test_total_shrink_rejects_the_linear_approximation(decoupled):
    config = decoupled.experiment.resolved()
    steps = len(decoupled.history) * (config.train_size // config.batch_size)
    with pytest.raises(AssertionError, match="linear approximation"):
        weight_decay.check_total_shrink(decoupled, 1 - config.lr * config.strength * steps)


def test_total_shrink_needs_a_decoupled_run():
    run = ru.Experiment(profile="quick").run()
    with pytest.raises(AssertionError, match="decoupled_weight_decay"):
        weight_decay.check_total_shrink(run, 0.5)


# --- check_adamw_step --------------------------------------------------------------------------

W = torch.tensor([0.8, -0.3, 0.05, 1.5])
GRAD = torch.tensor([0.02, 0.4, -0.01, -0.2])
LR, DECAY = 0.01, 0.5


def test_adamw_step_accepts_the_hand_computed_step(capsys):
    new_w = (1 - LR * DECAY) * W - LR * GRAD / (GRAD.abs() + 1e-8)
    for answer in (new_w, new_w.numpy(), new_w.tolist()):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, answer)
        assert capsys.readouterr().out.startswith("✓ correct")


def test_adamw_step_rejects_the_coupled_step():
    coupled = GRAD + DECAY * W
    with pytest.raises(AssertionError, match="Adam\\(weight_decay=λ\\)"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, W - LR * coupled / coupled.abs())


def test_adamw_step_rejects_a_missing_decay():
    with pytest.raises(AssertionError, match="decay is missing"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, W - LR * GRAD / GRAD.abs())


def test_adamw_step_rejects_decay_without_the_learning_rate():
    with pytest.raises(AssertionError, match="instead of lr·λ·w"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, (1 - DECAY) * W - LR * GRAD / GRAD.abs())


def test_adamw_step_rejects_the_wrong_shape():
    with pytest.raises(AssertionError, match="shape"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, W[:2])


# --- check_best_strength -----------------------------------------------------------------------

def test_best_strength_accepts_the_best_mean(result, capsys):
    best = result.values[int(np.argmax(result.mean("val_acc")))]
    weight_decay.check_best_strength(result, best)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_best_strength_rejects_the_smallest_gap(result):
    # at λ = 300 the network underfits: the smallest gap, not the best validation accuracy
    smallest_gap = result.values[int(np.argmin(result.mean("generalization_gap")))]
    assert smallest_gap != result.values[int(np.argmax(result.mean("val_acc")))]
    with pytest.raises(AssertionError, match="smallest generalization gap"):
        weight_decay.check_best_strength(result, smallest_gap)


def test_best_strength_rejects_a_value_not_swept(result):
    with pytest.raises(AssertionError, match="not one of the swept strengths"):
        weight_decay.check_best_strength(result, 5.0)
