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


def _restore_mistakes(answer: int, best: int, stop: int, whole_run_best: int, measure: str) -> None:
    """The mistakes a restored-epoch answer shares whatever is monitored: the whole run's best,
    the stopping epoch, a position for an epoch."""
    if answer == whole_run_best:
        _wrong(f"epoch {answer} has the {measure} of the whole run, but training would have "
               f"stopped after epoch {stop}",
               "early stopping only sees the epochs it trained: take the best of those")
    if answer == stop:
        _wrong(f"epoch {answer} is where training stops", "the restored weights are those of "
               "the best epoch before it")
    if answer + 1 == best:
        _wrong(f"epoch {answer} is off by one", "epochs count from 1, list positions from 0")


def check_restored_epoch(run, patience: int, epoch: int) -> None:
    """Check `epoch`: the epoch whose weights early stopping with `patience` gives back, replayed
    on the validation losses of `run` (a run trained to the end)."""
    history, patience, answer, val_loss, (best, stop) = _replayed(run, patience, epoch)
    if answer == best:
        return _correct(f"with patience {patience} the weights of epoch {best} come back "
                        f"(val loss {val_loss[best - 1]:.4f}); training ended after epoch {stop}")
    _restore_mistakes(answer, best, stop, _position_of(min, val_loss), "lowest validation loss")
    if answer == _position_of(max, history["val_acc"][:stop]):
        _wrong(f"epoch {answer} has the highest validation accuracy",
               "early stopping here monitors the validation loss")
    _wrong(f"epoch {answer} is not the restored epoch",
           "find where training stops, then the lowest validation loss up to that epoch")


def _accuracy_stop(val_acc: list[float], patience: int, ties_improve: bool = False) -> tuple[int, int]:
    """(restored epoch, last epoch trained) of the patience rule on validation accuracy: the loss
    rule on the negated accuracies, where a tie counts as an improvement if `ties_improve`."""
    tie = -1e-12 if ties_improve else 0.0  # accuracies are whole multiples of 1 / images
    return stopping_point([-acc for acc in val_acc], patience, min_delta=tie)


def check_accuracy_restored_epoch(run, patience: int, epoch: int) -> None:
    """Check `epoch`: the epoch early stopping with `patience` restores when it monitors the
    validation accuracy of `run` (an epoch improves only on a strictly higher accuracy)."""
    history = _history(run)
    patience, answer = _patience(patience), _whole_epoch("epoch", epoch)
    val_acc = history["val_acc"]
    best, stop = _accuracy_stop(val_acc, patience)
    if answer == best:
        return _correct(f"watching accuracy, patience {patience} stops after epoch {stop} and gives "
                        f"back epoch {best} (val acc {val_acc[best - 1]:.2%})")
    if answer == _accuracy_stop(val_acc, patience, ties_improve=True)[0]:
        _wrong(f"epoch {answer} only equalled the best accuracy, and you counted that as an "
               "improvement", "an epoch improves only if its accuracy is strictly higher")
    if answer == stopping_point(history["val_loss"], patience)[0]:
        _wrong(f"epoch {answer} is the one the validation loss would restore",
               "replay the rule on history['val_acc'], where higher is better")
    _restore_mistakes(answer, best, stop, _position_of(max, val_acc), "highest validation accuracy")
    _wrong(f"epoch {answer} is not the restored epoch", "go through the accuracies in order, keep "
           "the best so far, and count the epochs that do not beat it")


def check_snapshot(snapshot) -> None:
    """Check `snapshot(model)`: a copy of the whole state, buffers included, safe from training.

    The model has a batch norm, whose running statistics are buffers, not parameters: a snapshot
    of the parameters alone would give back the *latest* statistics with the old weights.
    """
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                    torch.nn.ReLU(), torch.nn.Linear(3, 2))
        inputs = torch.randn(16, 4)
    with torch.no_grad():
        model.train()(inputs + 1)  # running statistics away from their starting values
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    expected = model.eval()(inputs).detach()
    saved = snapshot(model)
    if not isinstance(saved, dict):
        _wrong(f"snapshot should return a dict like model.state_dict(), got {type(saved).__name__}",
               "return a dict mapping each name to a tensor")
    missing = sorted(set(before) - set(saved))
    if missing:
        buffers = [name for name in missing if name in dict(model.named_buffers())]
        if buffers:
            _wrong(f"the snapshot leaves out the buffers {buffers}", "batch norm's running mean "
                   "and variance are buffers, not parameters: copy model.state_dict(), which holds "
                   "both, not model.named_parameters()")
        _wrong(f"the snapshot misses {missing}", "copy every entry of model.state_dict()")
    if not all(torch.equal(saved[k], before[k]) for k in before):
        _wrong("the snapshot does not hold the model's current state",
               "copy the values of model.state_dict(), do not change them")
    with torch.no_grad():  # stands for the training steps that follow
        model.train()
        for _ in range(3):
            model(3 * inputs - 2)
        for parameter in model.parameters():
            parameter.add_(1.0)
    if any(torch.equal(saved[k], model.state_dict()[k]) for k in before
           if not k.endswith("num_batches_tracked")):
        _wrong("the snapshot changed when the model trained on",
               "model.state_dict() holds references to the live tensors; store "
               "{k: v.detach().clone() for k, v in model.state_dict().items()} or copy.deepcopy it")
    model.load_state_dict(saved)
    if not torch.allclose(model.eval()(inputs), expected):
        _wrong("loading the snapshot does not give back the model's old outputs",
               "store a copy of every tensor of model.state_dict()")
    _correct("the snapshot kept the old weights and batch-norm statistics while the model moved on, "
             "and loading it restores the old outputs")


def generalization_loss_stop(val_loss: list[float], alpha: float) -> tuple[int, int]:
    """(restored epoch, last epoch trained) of Prechelt's GL_α criterion, replayed on `val_loss`.

    GL(t) = 100 · (L(t) / min_{s ≤ t} L(s) − 1): stop after the first epoch where GL exceeds α and
    give back the epoch of the lowest loss so far; without such an epoch, train to the end.
    """
    best = math.inf
    for epoch, loss in enumerate(val_loss, start=1):
        best = min(best, loss)
        if 100 * (loss / best - 1) > alpha:
            return val_loss.index(best) + 1, epoch
    return val_loss.index(min(val_loss)) + 1, len(val_loss)


def _gl_cases(run) -> list[tuple[list[float], float]]:
    own = _history(run)["val_loss"]
    bumpy = [1.0, 0.8, 0.7, 0.72, 0.69, 0.705, 0.74, 0.71, 0.80, 0.9]
    return [(own, 1.0), (own, 5.0), (own, 20.0), (bumpy, 2.0), (bumpy, 5.0), (bumpy, 50.0)]


def check_generalization_loss_stop(gl_stop, run) -> None:
    """Check `gl_stop(val_loss, alpha)` against Prechelt's GL_α on `run`'s losses and on others."""
    if not callable(gl_stop):
        _wrong(f"expected a function gl_stop(val_loss, alpha), got {type(gl_stop).__name__}",
               "define it with def gl_stop(val_loss, alpha): ... and pass the function")
    for val_loss, alpha in _gl_cases(run):
        expected = generalization_loss_stop(val_loss, alpha)
        try:
            answer = gl_stop(list(val_loss), alpha)
            answer = tuple(_whole_epoch("epoch", value) for value in answer)
        except AssertionError:
            raise
        except Exception as error:
            _wrong(f"gl_stop raised {type(error).__name__}: {error} for alpha = {alpha}",
                   "return a pair (restored epoch, last epoch trained)")
        if len(answer) != 2:
            _wrong(f"gl_stop should return two epochs, got {answer}",
                   "return (restored epoch, last epoch trained)")
        if answer == expected:
            continue
        if answer == expected[::-1]:
            _wrong("the two epochs are the wrong way round", "return (restored, stopped)")
        if answer == generalization_loss_stop(val_loss, 100 * alpha):
            _wrong(f"for alpha = {alpha} you compared the ratio minus one with alpha itself",
                   "GL is in percent: 100 · (L(t) / L_opt(t) − 1) > alpha")
        if answer[1] == expected[1] and answer[0] == answer[1]:
            _wrong("you gave back the epoch where training stopped", "restore the epoch with the "
                   "lowest validation loss up to the stop")
        if answer == (val_loss.index(min(val_loss)) + 1, expected[1]):
            _wrong("you restored the lowest loss of the whole run", "the rule only knows the "
                   "epochs it trained: take the lowest loss up to the stop")
        _wrong(f"for alpha = {alpha} the rule restores epoch {expected[0]} and stops after epoch "
               f"{expected[1]}, not {answer}", "keep the lowest loss so far, compute GL each epoch "
               "and stop at the first epoch where it exceeds alpha")
    restored, stopped = generalization_loss_stop(_history(run)["val_loss"], 5.0)
    _correct(f"on the baseline's losses GL_5 would stop after epoch {stopped} and restore epoch "
             f"{restored}")
