"""The exercise checks accept the right answer and reject plausible wrong ones with a useful message."""
import numpy as np
import pytest
import torch

import regutils as ru
from regutils import coursework
from regutils.train import History


@pytest.fixture(scope="module")
def run():
    """A small real run (quick profile, cached): the kind of history the exercises use."""
    return ru.Experiment(profile="quick").run()


def records(val_loss, train_loss=None, val_acc=None, train_acc=None):
    """A made-up history with the given per-epoch values, for cases a real run may not show."""
    epochs = len(val_loss)
    train_loss = train_loss or [1.0 / epoch for epoch in range(1, epochs + 1)]
    val_acc = val_acc or [0.8] * epochs
    train_acc = train_acc or [0.9] * epochs
    return History([dict(epoch=epoch, objective=t, penalty=0.0, train_loss=t, train_acc=ta,
                         val_loss=v, val_acc=va, seconds=0.1)
                    for epoch, (t, ta, v, va) in enumerate(
                        zip(train_loss, train_acc, val_loss, val_acc), start=1)])


# --- check_final_gap -------------------------------------------------------------------------

def test_final_gap_accepts_the_right_answer_in_any_numeric_form(run, capsys):
    history = run.history
    gap = history["train_acc"][-1] - history["val_acc"][-1]
    for answer in (gap, np.float64(gap), np.float32(gap), torch.tensor(gap)):
        coursework.check_final_gap(history, answer)
        assert capsys.readouterr().out.startswith("✓ correct")
    coursework.check_final_gap(run, gap)  # the RunResult itself works too


def test_final_gap_rejects_the_wrong_sign(run):
    history = run.history
    gap = history["train_acc"][-1] - history["val_acc"][-1]
    assert gap > 0  # the quick run already fits its training set better than new data
    with pytest.raises(AssertionError, match="wrong sign"):
        coursework.check_final_gap(history, -gap)


def test_final_gap_rejects_a_percentage_and_the_loss_gap(run):
    final = run.history.final()
    with pytest.raises(AssertionError, match="percentage"):
        coursework.check_final_gap(run, 100 * final["generalization_gap"])
    with pytest.raises(AssertionError, match="gap in loss"):
        coursework.check_final_gap(run, final["val_loss"] - final["train_loss"])


def test_final_gap_rejects_an_earlier_epoch():
    history = records([0.5, 0.4, 0.45], train_acc=[0.8, 0.9, 1.0], val_acc=[0.6, 0.85, 0.9])
    with pytest.raises(AssertionError, match="after epoch 1. Hint: use the last epoch, epoch 3"):
        coursework.check_final_gap(history, 0.8 - 0.6)


def test_final_gap_rejects_what_is_not_a_number(run):
    with pytest.raises(AssertionError, match="single number"):
        coursework.check_final_gap(run, [0.1])
    with pytest.raises(AssertionError, match="single number"):
        coursework.check_final_gap(run, None)
    with pytest.raises(AssertionError, match="History"):
        coursework.check_final_gap(run.history.records, 0.1)


# --- check_best_epoch ------------------------------------------------------------------------

def test_best_epoch_accepts_the_epoch_counted_from_one(run, capsys):
    val_loss = run.history["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    coursework.check_best_epoch(run.history, best)
    assert "✓ correct" in capsys.readouterr().out
    coursework.check_best_epoch(run.history, np.int64(best))


def test_best_epoch_rejects_the_zero_based_position(run):
    position = int(np.argmin(run.history["val_loss"]))
    with pytest.raises(AssertionError, match="off by one"):
        coursework.check_best_epoch(run.history, position)


def test_best_epoch_rejects_the_best_accuracy_and_the_lowest_training_loss():
    history = records(val_loss=[0.6, 0.4, 0.5, 0.55], val_acc=[0.7, 0.8, 0.82, 0.81],
                      train_loss=[0.5, 0.3, 0.2, 0.1])
    coursework.check_best_epoch(history, 2)
    with pytest.raises(AssertionError, match="highest validation accuracy"):
        coursework.check_best_epoch(history, 3)
    with pytest.raises(AssertionError, match="lowest training loss"):
        coursework.check_best_epoch(history, 4)
    with pytest.raises(AssertionError, match="no epoch 7"):
        coursework.check_best_epoch(history, 7)
    with pytest.raises(AssertionError, match="whole number"):
        coursework.check_best_epoch(history, 2.5)


# --- check_rising_fraction -------------------------------------------------------------------

def test_rising_fraction_accepts_the_right_fraction(run, capsys):
    val_loss = run.history["val_loss"]
    rises = sum(later > earlier for earlier, later in zip(val_loss, val_loss[1:]))
    coursework.check_rising_fraction(run, rises / (len(val_loss) - 1))
    assert "✓ correct" in capsys.readouterr().out


def test_rising_fraction_rejects_dividing_by_all_epochs():
    history = records(val_loss=[0.6, 0.4, 0.5, 0.55, 0.52])  # rises in 2 of 4 comparisons
    coursework.check_rising_fraction(history, 0.5)
    with pytest.raises(AssertionError, match="denominator"):
        coursework.check_rising_fraction(history, 2 / 5)
    with pytest.raises(AssertionError, match="a count"):
        coursework.check_rising_fraction(history, 2)
    with pytest.raises(AssertionError, match="percentage"):
        coursework.check_rising_fraction(history, 50)


def test_rising_fraction_rejects_counting_falls_or_the_training_loss():
    history = records(val_loss=[0.6, 0.4, 0.5, 0.55], train_loss=[0.5, 0.3, 0.2, 0.1])
    coursework.check_rising_fraction(history, 2 / 3)
    with pytest.raises(AssertionError, match="did not rise"):
        coursework.check_rising_fraction(history, 1 / 3)
    with pytest.raises(AssertionError, match="training loss"):
        coursework.check_rising_fraction(history, 0.0)


def test_rising_fraction_needs_two_epochs():
    with pytest.raises(AssertionError, match="single epoch"):
        coursework.check_rising_fraction(records(val_loss=[0.5]), 0.0)


def test_lowest_epochs_are_checked_against_the_baselines_recomputed(capsys):
    ru.use_profile("quick")
    try:
        truth = [int(np.argmin(ru.Experiment(seed=s).run().history["val_loss"])) + 1
                 for s in ru.get_profile().seeds]
        coursework.check_lowest_epochs(truth)
        assert "✓ correct" in capsys.readouterr().out
        with pytest.raises(AssertionError, match="one epoch per seed"):
            coursework.check_lowest_epochs(truth[0])
        with pytest.raises(AssertionError, match=f"has 1 entries, but there are {len(truth)}"):
            coursework.check_lowest_epochs(truth[:1])
        with pytest.raises(AssertionError, match="seed .*off by one"):
            coursework.check_lowest_epochs([epoch - 1 for epoch in truth])
    finally:
        ru.profiles._chosen = None


def test_rising_fraction_of_another_run_does_not_pass_when_the_size_is_given():
    other = ru.Experiment(profile="quick", train_size=200).run()
    val_loss = other.history["val_loss"]
    right_for_it = sum(b > a for a, b in zip(val_loss, val_loss[1:])) / (len(val_loss) - 1)
    ru.use_profile("quick")
    try:
        with pytest.raises(AssertionError, match="not the history of the baseline on 100"):
            coursework.check_rising_fraction(other, right_for_it, train_size=100)
        small = ru.Experiment(train_size=100).run()
        loss = small.history["val_loss"]
        coursework.check_rising_fraction(small, sum(b > a for a, b in zip(loss, loss[1:]))
                                         / (len(loss) - 1), train_size=100)
    finally:
        ru.profiles._chosen = None
