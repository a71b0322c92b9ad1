"""Checks for the exercises of the chapter "Dropout".

The example shows a wrong answer: nothing in this module solves an exercise.

>>> import torch
>>> check_inverted_dropout(lambda x, p: x * (torch.rand_like(x) >= p))  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: the kept entries are not scaled (with p = 0.2 they should be 1.25 times x). ...
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import _check_new_tensor, _close, _correct, _number, _wrong

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
    tenth = x.numel() // 10
    for where, part in (("first", out[:tenth]), ("last", out[-tenth:])):
        share = (part == 0).float().mean().item()
        if abs(share - p) >= 5 * math.sqrt(p * (1 - p) / tenth):
            _wrong(f"with p = {p}, {share:.0%} of the {where} tenth of the entries are dropped",
                   "draw every entry's mask independently: which entries drop must not depend on "
                   "where they are")
    again = dropout(x, p).detach().float()
    if torch.equal(again == 0, out == 0):
        _wrong("two calls dropped exactly the same entries", "draw a fresh random mask at every "
               "call, as training draws a new one for every batch")


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


def check_train_mode_drop(drop: float, p: float = 0.8) -> None:
    """Check `drop`: eval-mode minus train-mode validation accuracy of the hidden-dropout run at
    drop probability `p` (first seed), masks drawn after `manual_seed(0)`.

    The run and its validation images are taken here (recalled from the cache, or trained), so
    the check does not rest on a model the student passes.
    """
    answer = _number("accuracy_drop", drop)
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        _check_train_mode_drop(answer, p)


def _check_train_mode_drop(answer: float, p: float) -> None:
    from ..experiment import Experiment
    from ..train import evaluate

    experiment = Experiment("dropout", p)
    model = experiment.run(keep_model=True).model
    data = experiment.data(device=next(model.parameters()).device)
    _, eval_acc = evaluate(model, data.x_val, data.y_val)
    train_acc = accuracy_in_train_mode(model, data.x_val, data.y_val)
    expected = eval_acc - train_acc
    if _close(answer, expected):
        return _correct(f"eval mode {eval_acc:.1%}, train mode {train_acc:.1%}: leaving dropout "
                        f"on at p = {p:g} costs {expected:.1%} of the validation images")
    if _close(answer, -expected):
        _wrong("the difference has the wrong sign", "subtract the train-mode accuracy from the "
               "eval-mode accuracy: dropout left on makes the network worse, so it is positive")
    if _close(answer, 0.0):
        _wrong("both of your accuracies were measured in the same mode", "ru.train.evaluate "
               "switches the model to eval mode itself; for the train-mode accuracy call "
               "model.train() and compare model(x).argmax(1) with y yourself, under torch.no_grad()")
    if _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give the difference as a fraction (0.05, not 5)")
    other = Experiment("dropout", 0.5).run(keep_model=True).model if p != 0.5 else None
    if other is not None:
        other_drop = (evaluate(other, data.x_val, data.y_val)[1]
                      - accuracy_in_train_mode(other, data.x_val, data.y_val))
        if _close(answer, other_drop):
            _wrong("that is the p = 0.5 network of the chapter's pitfall",
                   f"use the run with p = {p:g}: ru.Experiment('dropout', {p:g})")
    draws = [eval_acc - accuracy_in_train_mode(model, data.x_val, data.y_val, seed)
             for seed in range(1, 21)]
    if min(draws) - 0.002 <= answer <= max(draws) + 0.002:
        _wrong("that is a train-mode accuracy from a different set of dropout masks",
               "call torch.manual_seed(0) immediately before the train-mode forward pass, so "
               "that your masks are the ones this check draws")
    _wrong("that is not the eval-mode minus train-mode accuracy", "compute ru.train.evaluate("
           "model, x, y)[1], then, after model.train() and torch.manual_seed(0), the share of "
           "model(x).argmax(1) == y; subtract the second from the first")


def check_dropout_penalty(dropout_penalty) -> None:
    """Check `dropout_penalty(w, x, p)`: E_mask[(y − w·x̃)²] − (y − w·x)² for a linear model whose
    inputs x̃ pass through inverted dropout with drop probability p.

    The check compares the formula with a Monte-Carlo average of its own, on data of its own.
    """
    if not callable(dropout_penalty):
        _wrong(f"expected a function dropout_penalty(w, x, p), got "
               f"{type(dropout_penalty).__name__}", "pass the function itself")
    generator = torch.Generator().manual_seed(0)
    for p in (0.2, 0.5, 0.8):
        w = torch.randn(6, generator=generator, dtype=torch.float64)
        x = torch.randn(6, generator=generator, dtype=torch.float64)
        y = torch.randn((), generator=generator, dtype=torch.float64)
        answer = _number(f"dropout_penalty(w, x, {p})", dropout_penalty(w.clone(), x.clone(), p))
        masks = (torch.rand(400_000, 6, generator=generator, dtype=torch.float64) >= p).double()
        monte_carlo = (((y - (masks * x / (1 - p)) @ w) ** 2).mean() - (y - x @ w) ** 2).item()
        exact = p / (1 - p) * float((w ** 2 * x ** 2).sum())
        if not math.isclose(monte_carlo, exact, rel_tol=0.02):  # the check's own sanity
            raise RuntimeError(f"Monte-Carlo {monte_carlo:.4f} against {exact:.4f}")
        if _close(answer, exact):
            continue
        if _close(answer, p * float((w ** 2 * x ** 2).sum())) or _close(
                answer, (1 - p) * float((w ** 2 * x ** 2).sum())):
            _wrong(f"with p = {p} the factor in front of Σ w²x² is wrong",
                   "each kept input is divided by 1 − p; the variance of m/(1 − p) is p/(1 − p)")
        if _close(answer, p / (1 - p) * float((w ** 2).sum())):
            _wrong("that penalizes w² alone", "each weight is weighed by the square of its input: "
                   "Σ w_j² x_j²")
        if _close(answer, p / (1 - p) * float((w * x).sum() ** 2)):
            _wrong("that squares the sum, not the terms", "the masks are independent, so the "
                   "cross terms average to zero: Σ w_j² x_j²")
        _wrong(f"with p = {p} your penalty is {answer:.4f}; a Monte-Carlo average over 400,000 "
               f"masks gives {monte_carlo:.4f}", "expand (y − Σ w_j m_j x_j/(1 − p))², average "
               "over independent masks m_j, and subtract (y − w·x)²")
    _correct("your penalty matches the Monte-Carlo average for p = 0.2, 0.5 and 0.8: for a linear "
             "model, dropout on the inputs adds (p/(1 − p))·Σ w_j² x_j², an L2 penalty weighted "
             "by the inputs")
