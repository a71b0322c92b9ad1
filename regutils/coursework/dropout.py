"""Checks for the exercises of the chapter "Dropout".

The examples show a wrong answer: nothing in this module solves an exercise.

>>> import torch
>>> check_inverted_dropout(lambda x, p: x * (torch.rand_like(x) >= p))  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: the kept entries are not scaled (with p = 0.2 they should be 1.25 times x). ...
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._checks import _check_new_tensor, _close, _correct, _number, _wrong, check_best_value

PROBABILITIES = (0.2, 0.5, 0.8)
ENTRIES = 200_000  # enough that a zero fraction off by 1% is many standard deviations off


def check_inverted_dropout(dropout) -> None:
    """Check `dropout(x, p)`: zeros a fraction p of `x`, scales the rest by 1/(1 − p), in train mode."""
    if not callable(dropout):
        _wrong(f"expected a function dropout(x, p), got {type(dropout).__name__}",
               "define it with def dropout(x, p): ... and pass the function itself")
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        torch.manual_seed(0)
        x = torch.rand(ENTRIES) + 0.5  # no zeros of its own: every zero in the output is a drop
        for p in PROBABILITIES:
            _check_one_probability(dropout, x, p)
        same = _matches_pytorch(dropout, x, 0.3)
    note = "; it reproduces F.dropout bit for bit" if same else (
        "; its masks differ from F.dropout's, which is fine (PyTorch draws its mask with "
        "torch.empty_like(x).bernoulli_(1 - p))")
    _correct("dropout keeps 1 − p of the entries, scales them by 1/(1 − p) and preserves the "
             f"mean{note}")


def _check_one_probability(dropout, x: torch.Tensor, p: float) -> None:
    original = x.clone()
    out = dropout(x, p)
    _check_new_tensor(x, original, out, f"dropout(x, {p})")
    out = out.detach().float()
    dropped = (out == 0).float().mean().item()
    spread = 5 * math.sqrt(p * (1 - p) / x.numel())  # five standard deviations of the fraction
    if abs(dropped - (1 - p)) < spread and p != 0.5:
        _wrong(f"with p = {p} you dropped {dropped:.1%} of the entries, which is 1 − p",
               "p is the probability of *dropping* a unit: draw the mask with probability "
               "1 − p of keeping it")
    if abs(dropped - p) >= spread:
        _wrong(f"with p = {p} you dropped {dropped:.1%} of the entries; about {p:.0%} should be "
               "zero", "draw one independent Bernoulli(1 − p) mask entry per element of x")
    kept = out != 0
    ratio = out[kept] / x[kept]
    if torch.allclose(ratio, torch.ones_like(ratio)):
        _wrong(f"the kept entries are not scaled (with p = {p} they should be {1 / (1 - p):.2f} "
               "times x)", "divide by 1 − p during training, so that the mean activation is "
               "the same as in evaluation mode")
    if torch.allclose(ratio, torch.full_like(ratio, 1 - p)):
        _wrong(f"the kept entries are multiplied by 1 − p = {1 - p:g} instead of divided",
               "inverted dropout divides the kept entries by 1 − p")
    if not torch.allclose(ratio, torch.full_like(ratio, 1 / (1 - p)), rtol=1e-5):
        _wrong(f"with p = {p} the kept entries are not x / (1 − p)",
               "multiply x by the 0/1 mask and divide by 1 − p; nothing else")
    mean_ratio = out.mean().item() / x.mean().item()
    if abs(mean_ratio - 1) > 0.02:
        _wrong(f"with p = {p} the mean of the output is {mean_ratio:.3f} times the mean of x",
               "the mask must be random and independent of x")


def _matches_pytorch(dropout, x: torch.Tensor, p: float) -> bool:
    torch.manual_seed(1)
    yours = dropout(x, p)
    torch.manual_seed(1)
    return torch.equal(yours, F.dropout(x, p, training=True))


def accuracy_in_train_mode(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                           seed: int = 0) -> float:
    """Accuracy of `model` with dropout left on (train mode), masks drawn after `manual_seed(seed)`."""
    was_training = model.training
    model.train()
    with torch.random.fork_rng(devices=[] if x.device.type == "cpu" else None), torch.no_grad():
        torch.manual_seed(seed)
        correct = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train(was_training)
    return correct


def check_train_mode_drop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                          drop: float) -> None:
    """Check `drop`: eval-mode accuracy minus train-mode accuracy (seed 0) of `model` on (x, y)."""
    from ..train import evaluate

    answer = _number("drop", drop)
    if not any(isinstance(m, torch.nn.Dropout) for m in model.modules()):
        _wrong("this model has no dropout layer, so both modes give the same accuracy",
               "use the model of a dropout run: Experiment('dropout', p).run(keep_model=True).model")
    _, eval_acc = evaluate(model, x, y)
    train_acc = accuracy_in_train_mode(model, x, y)
    expected = eval_acc - train_acc
    if _close(answer, expected):
        return _correct(f"eval mode {eval_acc:.1%}, train mode {train_acc:.1%}: the "
                        f"difference is {expected:+.1%}")
    if _close(answer, -expected):
        _wrong("the difference has the wrong sign", "subtract the train-mode accuracy from the "
               "eval-mode accuracy: dropout left on makes the network worse, so it is positive")
    if _close(answer, 0.0):
        _wrong("both of your accuracies were measured in the same mode", "ru.train.evaluate "
               "switches the model to eval mode itself; for the train-mode accuracy call "
               "model.train() and compare model(x).argmax(1) with y yourself, under torch.no_grad()")
    if _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give the difference as a fraction (0.05, not 5)")
    draws = [eval_acc - accuracy_in_train_mode(model, x, y, seed) for seed in range(1, 21)]
    if min(draws) - 0.002 <= answer <= max(draws) + 0.002:
        _wrong("that is a train-mode accuracy from a different set of dropout masks",
               "call torch.manual_seed(0) immediately before the train-mode forward pass, so "
               "that your masks are the ones this check draws")
    _wrong("that is not the eval-mode minus train-mode accuracy", "compute ru.train.evaluate("
           "model, x, y)[1], then, after model.train() and torch.manual_seed(0), the share of "
           "model(x).argmax(1) == y; subtract the second from the first")


def check_best_probability(result, p: float) -> None:
    """Check `p`: the swept value with the highest validation accuracy averaged over seeds."""
    check_best_value(result, p, name="p", symbol="p")