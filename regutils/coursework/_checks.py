"""What every exercise check shares: reading the answer, comparing it, and saying what is wrong."""
from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

from ..train import History

TOLERANCE = 1e-6


def _history(run) -> History:
    history = getattr(run, "history", run)
    if not isinstance(history, History):
        raise AssertionError(f"expected a History (such as `run.history`) or the run itself, "
                             f"got {type(run).__name__}")
    if not len(history):
        raise AssertionError("the history is empty: the run finished no epoch")
    return history


def _number(name: str, value) -> float:
    if hasattr(value, "item"):  # a NumPy or torch scalar; arrays of several values stay as they are
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            pass
    if isinstance(value, bool) or not isinstance(value, Real):
        raise AssertionError(f"{name} should be a single number, got {value!r} "
                             f"({type(value).__name__})")
    return float(value)


def _close(answer: float, expected: float) -> bool:
    return math.isclose(answer, expected, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _position_of(pick, values: list[float]) -> int:
    """The epoch (from 1) of the first value that `pick` (min or max) chooses."""
    return values.index(pick(values)) + 1


def _correct(message: str) -> None:
    print(f"✓ correct: {message}")


def _wrong(problem: str, hint: str) -> None:
    raise AssertionError(f"{problem}. Hint: {hint}.")


def _check_new_tensor(x, original, answer, call: str) -> None:
    """Fail unless the student's function left `x` alone and returned a tensor shaped like it."""
    if not torch.equal(x, original):
        _wrong("your function changed its input x", "compute a new tensor instead of writing "
               "into x in place (x - mean, not x -= mean; no sub_, div_ or mul_)")
    if not isinstance(answer, torch.Tensor) or answer.shape != x.shape:
        _wrong(f"{call} should return a tensor shaped like x {tuple(x.shape)}, got "
               f"{getattr(answer, 'shape', type(answer).__name__)}",
               "return a new tensor of the same shape as x")


METRIC_NAMES = {"val_acc": "validation accuracy", "val_loss": "validation loss",
                "train_acc": "training accuracy", "test_acc": "test accuracy",
                "generalization_gap": "generalization gap"}


def check_best_value(result, answer, *, name: str, symbol: str, metric: str = "val_acc",
                     noun: str = "values") -> None:
    """Check `answer`: a swept value whose mean `metric` over seeds is the best of the sweep.

    The best is the highest mean for an accuracy, the lowest for a loss; any of several tied
    values passes, and a value whose runs diverged (a NaN mean) never wins. Every "best swept
    value" exercise uses this one check, so the same mistake gets the same answer everywhere.
    """
    if not hasattr(result, "mean") or not getattr(result, "values", None):
        _wrong(f"expected the result of ru.sweep(...), got {type(result).__name__}",
               "pass the SweepResult itself as the first argument")
    answer = _number(name, answer)
    values = [float(value) for value in result.values]
    lowest = metric.endswith("loss")

    def best_of(metric_name: str, low: bool) -> list[float]:
        try:
            means = np.asarray(result.mean(metric_name), dtype=float)
        except KeyError:  # a metric these runs did not record
            return []
        if np.isnan(means).all():
            return []
        target = np.nanmin(means) if low else np.nanmax(means)
        return [value for value, mean in zip(values, means) if mean == target]

    def picked(choices: list[float]) -> bool:
        return any(_close(answer, value) for value in choices)

    best = best_of(metric, lowest)
    if not best:
        _wrong("every run of the sweep diverged (its means are NaN)",
               "sweep smaller strengths or a smaller learning rate")
    if picked(best):
        means = np.asarray(result.mean(metric), dtype=float)
        best_mean = np.nanmin(means) if lowest else np.nanmax(means)
        return _correct(f"{symbol} = {answer:g} has the {'lowest' if lowest else 'highest'} mean "
                        f"{METRIC_NAMES[metric]}, {best_mean:.3f} over {len(result.seeds)} "
                        f"seed{'s' * (len(result.seeds) != 1)}")
    if not picked(values):
        if answer == int(answer) and 0 <= answer < len(values):
            _wrong(f"{answer:g} looks like a position in the list, not one of the swept {noun}",
                   f"give the value itself: result.values[{int(answer)}] = "
                   f"{values[int(answer)]:g}")
        _wrong(f"{answer:g} is not one of the swept {noun}", f"pick one of {values}")
    shown = f"{symbol} = {answer:g}"
    other = "val_loss" if metric == "val_acc" else "val_acc"
    traps = [
        ("generalization_gap", True, "has the smallest generalization gap",
         "a small gap can also mean the network fits nothing well (too strong a regularizer "
         "underfits); choose by the " + METRIC_NAMES[metric]),
        (other, other.endswith("loss"),
         f"has the {'lowest' if other.endswith('loss') else 'highest'} {METRIC_NAMES[other]}",
         f"this exercise asks for the {METRIC_NAMES[metric]}: result.mean('{metric}')"),
        ("train_acc", False, "has the highest training accuracy",
         f"the training accuracy rewards memorizing; use result.mean('{metric}')"),
        ("test_acc", False, "has the best test accuracy",
         "never choose with the test set; it is kept for the final report"),
    ]
    for trap_metric, low, what, hint in traps:
        if picked(best_of(trap_metric, low)):
            _wrong(f"{shown} {what}", hint)
    single = np.asarray(result.metric(metric), dtype=float)  # (values, seeds)
    chosen = next(i for i, value in enumerate(values) if _close(answer, value))
    if single.size and not np.isnan(single).all():
        top = np.nanmin(single) if lowest else np.nanmax(single)
        if top in single[chosen]:
            _wrong(f"{shown} has the best single run, not the best mean over seeds",
                   f"average over the seeds first: result.mean('{metric}')")
    _wrong(f"{shown} does not have the {'lowest' if lowest else 'highest'} mean "
           f"{METRIC_NAMES[metric]}", f"take result.mean('{metric}'), find its "
           f"{'smallest' if lowest else 'largest'} entry, and give the matching entry of "
           "result.values")
