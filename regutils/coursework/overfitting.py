"""Checks for the exercises of the chapter "Seeing overfitting".

>>> from regutils.train import History
>>> history = History([dict(epoch=1, train_loss=0.01, train_acc=1.0, val_loss=0.4, val_acc=0.9,
...                            seconds=1.0)])
>>> check_final_gap(history, 0.1)
✓ correct: the final gap is 0.100 (train acc 1.000, val acc 0.900)
"""
from __future__ import annotations

from ._checks import _close, _correct, _history, _number, _position_of, _wrong


def check_final_gap(run, gap: float) -> None:
    """Check `gap`: training minus validation accuracy of the weights the run ends with."""
    history = _history(run)
    answer = _number("gap", gap)
    final = history.final()
    expected = final["generalization_gap"]
    if _close(answer, expected):
        return _correct(f"the final gap is {expected:.3f} (train acc {final['train_acc']:.3f}, "
                        f"val acc {final['val_acc']:.3f})")
    if expected != 0 and _close(answer, -expected):
        _wrong("the gap has the wrong sign", "it is training accuracy minus validation accuracy, "
               "so a network that does better on its training data has a positive gap")
    if expected != 0 and _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give the gap as a fraction, as the history "
               "stores accuracies (0.05, not 5)")
    if _close(answer, final["val_loss"] - final["train_loss"]):
        _wrong("that is the gap in loss", "this exercise asks for the gap in accuracy")
    for epoch, epoch_gap in enumerate(history.generalization_gap, start=1):
        if epoch < len(history) and _close(answer, epoch_gap):
            _wrong(f"that is the gap after epoch {epoch}",
                   f"use the last epoch, epoch {len(history)}")
    _wrong("that is not the final generalization gap",
           "take the training and the validation accuracy of the last epoch from the history "
           "(history['train_acc'] holds one value per epoch) and subtract")


def check_best_epoch(run, epoch: int) -> None:
    """Check `epoch`: the epoch (counted from 1) with the lowest validation loss."""
    history = _history(run)
    answer = _number("epoch", epoch)
    if answer != int(answer):
        _wrong(f"epoch {epoch!r} is not a whole number", "epochs are counted 1, 2, 3, ...")
    answer = int(answer)
    val_loss = history["val_loss"]
    lowest = min(val_loss)
    best = [e for e, loss in enumerate(val_loss, start=1) if loss == lowest]
    if answer in best:
        return _correct(f"validation loss is lowest after epoch {answer}: {lowest:.4f}")
    if answer + 1 in best:
        _wrong(f"epoch {answer} is off by one", "list positions count from 0 but epochs count "
               "from 1: add 1 to the position of the smallest value")
    if not 1 <= answer <= len(history):
        _wrong(f"the run has no epoch {answer}", f"its epochs are 1 to {len(history)}")
    if answer == _position_of(max, history["val_acc"]):
        _wrong(f"epoch {answer} has the highest validation accuracy",
               "the question asks for the lowest validation loss; the two need not agree")
    if answer == _position_of(min, history["train_loss"]):
        _wrong(f"epoch {answer} has the lowest training loss",
               "use the validation loss, history['val_loss']")
    _wrong(f"epoch {answer} does not have the lowest validation loss",
           "find the smallest value in history['val_loss'] and give its epoch")


def check_lowest_epochs(epochs) -> None:
    """Check `epochs`: per seed of the profile, the epoch of the baseline's lowest validation loss.

    The baseline runs are recomputed (or recalled from the cache) here, so the check does not
    rest on runs the student made.
    """
    from ..experiment import Experiment
    from ..profiles import get_profile

    seeds = get_profile().seeds
    if isinstance(epochs, (str, bytes)) or not hasattr(epochs, "__len__"):
        _wrong(f"lowest_epochs should be a list with one epoch per seed, got {epochs!r}",
               f"make a list of {len(seeds)} numbers, one for each run in `baselines`")
    if len(epochs) != len(seeds):
        _wrong(f"lowest_epochs has {len(epochs)} entries, but there are {len(seeds)} seeds",
               "give one epoch for each run in `baselines`, in the same order")
    for seed, epoch in zip(seeds, epochs):
        history = Experiment(seed=seed).run().history
        try:
            _quietly(check_best_epoch, history, epoch)
        except AssertionError as wrong:
            raise AssertionError(f"seed {seed}: {wrong}") from None
    found = [int(epoch) for epoch in epochs]
    _correct(f"the lowest validation loss came after epochs {found}: from {min(found)} to "
             f"{max(found)}, depending on the seed alone")


def _quietly(check, *arguments) -> None:
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        check(*arguments)


def check_rising_fraction(run, fraction: float, train_size: int | None = None) -> None:
    """Check `fraction`: the share of epochs after the first in which validation loss went up.

    With `train_size`, the run must be the baseline trained on that many images (the check
    recomputes it), so the fraction of another run does not pass.
    """
    history = _history(run)
    if train_size is not None:
        from ..experiment import Experiment
        reference = Experiment(train_size=train_size).run().history
        strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h.records]
        if strip(history) != strip(reference):
            _wrong(f"that is not the history of the baseline on {train_size} training images",
                   f"run ru.Experiment(train_size={train_size}).run() and use its .history")
    answer = _number("fraction", fraction)
    val_loss = history["val_loss"]
    if len(val_loss) < 2:
        _wrong("this run has a single epoch, so the loss never had a chance to rise",
               "make a run with at least two epochs")
    comparisons = len(val_loss) - 1
    rises = sum(later > earlier for earlier, later in zip(val_loss, val_loss[1:]))
    expected = rises / comparisons
    if _close(answer, expected):
        return _correct(f"validation loss rose in {rises} of {comparisons} epochs "
                        f"({expected:.0%})")
    if _close(answer, rises / len(val_loss)):
        _wrong("the denominator is off", f"epoch 1 has no previous epoch to compare with: a run "
               f"of {len(val_loss)} epochs gives {comparisons} comparisons")
    if _close(answer, 1 - expected):
        _wrong("that is the share of epochs in which the loss did not rise",
               "count the epochs whose validation loss is above the previous epoch's")
    if answer == rises and rises != expected:
        _wrong("that is a count", "divide it by the number of comparisons to get a fraction")
    if expected != 0 and _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give a fraction between 0 and 1")
    train_loss = history["train_loss"]
    if _close(answer, sum(b > a for a, b in zip(train_loss, train_loss[1:])) / comparisons):
        _wrong("that fraction is for the training loss", "use history['val_loss']")
    _wrong("that is not the fraction of epochs in which validation loss rose",
           "compare each epoch's validation loss with the one before it, count the rises, and "
           "divide by the number of comparisons")
