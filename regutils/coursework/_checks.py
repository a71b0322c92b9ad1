"""What every exercise check shares: reading the answer, comparing it, and saying what is wrong."""
from __future__ import annotations

import math
from numbers import Real

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
    """Fail unless the student's function left `x` as it was and returned a tensor shaped like it."""
    if not torch.equal(x, original):
        _wrong("your function changed its input x", "compute a new tensor instead of writing "
               "into x in place (x - mean, not x -= mean; no sub_, div_ or mul_)")
    if not isinstance(answer, torch.Tensor) or answer.shape != x.shape:
        _wrong(f"{call} should return a tensor shaped like x {tuple(x.shape)}, got "
               f"{getattr(answer, 'shape', type(answer).__name__)}",
               "return a new tensor of the same shape as x")
