"""Checks for the exercises of the chapter on early stopping.

>>> from regutils.train import History
>>> losses = [0.5, 0.4, 0.45, 0.38, 0.39, 0.41, 0.42]
>>> history = History([dict(epoch=e, val_loss=v, val_acc=0.9) for e, v in enumerate(losses, 1)])
>>> check_stop_epoch(history, 2, 6)
✓ correct: with patience 2 training ends after epoch 6 (best epoch 4, val loss 0.3800)
"""
from __future__ import annotations

import math

import torch

from ._checks import _correct, _history, _number, _position_of, _wrong


def stopping_point(val_loss: list[float], patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    """(best epoch, last epoch trained) of early stopping replayed on a list of validation losses.

    The rule is `ru.EarlyStopping`'s: an epoch improves if its loss is below the best so far minus
    `min_delta`; training ends after `patience` epochs in a row without improvement.
    """
    best_loss, best_epoch, waited = math.inf, 0, 0
    for epoch, loss in enumerate(val_loss, start=1):
        if loss < best_loss - min_delta:
            best_loss, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_loss)


def _stop_comparing_with_previous(val_loss: list[float], patience: int) -> int:
    """The stopping epoch of the mistaken rule that compares each epoch with the one before."""
    waited = 0
    for epoch in range(2, len(val_loss) + 1):
        waited = 0 if val_loss[epoch - 1] < val_loss[epoch - 2] else waited + 1
        if waited >= patience:
            return epoch
    return len(val_loss)


def _whole_epoch(name: str, value) -> int:
    answer = _number(name, value)
    if answer != int(answer):
        _wrong(f"epoch {value!r} is not a whole number", "epochs are counted 1, 2, 3, ...")
    return int(answer)


def _patience(patience) -> int:
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise AssertionError(f"patience should be a whole number >= 1, got {patience!r}")
    return patience


def _replayed(run, patience, epoch):
    """The checked inputs of an epoch exercise and where early stopping ends on `run`'s losses."""
    history = _history(run)
    patience = _patience(patience)
    val_loss = history["val_loss"]
    return (history, patience, _whole_epoch("epoch", epoch), val_loss,
            stopping_point(val_loss, patience))


def check_stop_epoch(run, patience: int, epoch: int) -> None:
    """Check `epoch`: the last epoch that early stopping with `patience` would train, replayed on
    the validation losses of `run` (a run trained to the end)."""
    history, patience, answer, val_loss, (best, stop) = _replayed(run, patience, epoch)
    if answer == stop:
        return _correct(f"with patience {patience} training ends after epoch {stop} "
                        f"(best epoch {best}, val loss {val_loss[best - 1]:.4f})")
    if answer == best:
        _wrong(f"epoch {answer} is the best epoch, the one whose weights are restored",
               f"training goes on for {patience} more epoch(s) without improvement before it stops")
    if answer == stop - 1 or answer == stop + 1:
        _wrong(f"epoch {answer} is off by one", "count the epochs without improvement after the "
               "best one: training stops at the end of the epoch where that count reaches the "
               "patience")
    if answer == _stop_comparing_with_previous(val_loss, patience):
        _wrong("you compared each epoch with the one before it",
               "compare with the best loss so far: an epoch that improves on the previous one "
               "but not on the best still counts as a wasted epoch")
    if not 1 <= answer <= len(history):
        _wrong(f"the run has no epoch {answer}", f"its epochs are 1 to {len(history)}")
    _wrong(f"early stopping with patience {patience} does not stop after epoch {answer}",
           "walk through history['val_loss'], keep the best loss so far and count the epochs "
           "since it last improved")


def check_restored_epoch(run, patience: int, epoch: int) -> None:
    """Check `epoch`: the epoch whose weights early stopping with `patience` gives back, replayed
    on the validation losses of `run` (a run trained to the end)."""
    history, patience, answer, val_loss, (best, stop) = _replayed(run, patience, epoch)
    if answer == best:
        return _correct(f"with patience {patience} the weights of epoch {best} come back "
                        f"(val loss {val_loss[best - 1]:.4f}); training ended after epoch {stop}")
    if answer == _position_of(min, val_loss):
        _wrong(f"epoch {answer} has the lowest validation loss of the whole run, but training "
               f"would have stopped after epoch {stop}",
               "early stopping only sees the epochs it trained: take the best of those")
    if answer == stop:
        _wrong(f"epoch {answer} is where training stops", "the restored weights are those of "
               "the best epoch before it")
    if answer + 1 == best:
        _wrong(f"epoch {answer} is off by one", "epochs count from 1, list positions from 0")
    if answer == _position_of(max, history["val_acc"][:stop]):
        _wrong(f"epoch {answer} has the highest validation accuracy",
               "early stopping here monitors the validation loss")
    _wrong(f"epoch {answer} is not the restored epoch",
           "find where training stops, then the lowest validation loss up to that epoch")


def check_snapshot(snapshot) -> None:
    """Check `snapshot(model)`: it returns the model's weights as a copy, safe from later training."""
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                    torch.nn.Linear(3, 2))
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved = snapshot(model)
    if not isinstance(saved, dict) or set(saved) != set(before):
        _wrong(f"snapshot should return a dict with the keys of model.state_dict(), got "
               f"{type(saved).__name__}", "return a dict mapping each name to a tensor")
    if not all(torch.equal(saved[k], before[k]) for k in before):
        _wrong("the snapshot does not hold the model's current weights",
               "copy the values of model.state_dict(), do not change them")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)  # stands for the training steps that follow
    if any(torch.equal(saved[k], model.state_dict()[k]) for k in before):
        _wrong("the snapshot changed when the model trained on",
               "model.state_dict() holds references to the live tensors; store "
               "{k: v.detach().clone() for k, v in model.state_dict().items()} or copy.deepcopy it")
    _correct("the snapshot kept the old weights while the model moved on")
