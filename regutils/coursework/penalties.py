"""Checks for the exercises of the chapter "L1 and L2 penalties".

Each check works out the right answer itself: from tensors it draws, from the data it is given,
or from runs it makes (or recalls from the cache) with the profile's seeds. The example shows a
wrong answer: nothing in this module solves an exercise.

>>> import torch
>>> check_soft_threshold(lambda w, t: w * (w.abs() > t))  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: that is hard thresholding: it zeroes the small weights but does not shrink the others. ...
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import _check_new_tensor, _correct, _wrong

THRESHOLDS = (0.0, 0.1, 0.5, 2.0)


def _shrink_cases() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ties = torch.tensor([-0.5, -0.1, 0.0, 0.1, 0.5, -2.0, 2.0, 1e-9])
    return [torch.randn(500, generator=generator), torch.randn(7, 11, generator=generator) * 3,
            ties, torch.zeros(5)]


def check_soft_threshold(soft_threshold) -> None:
    """Check `soft_threshold(w, t)`: sign(w)·max(|w| − t, 0), on tensors and thresholds of its own."""
    if not callable(soft_threshold):
        _wrong(f"expected a function soft_threshold(w, threshold), got "
               f"{type(soft_threshold).__name__}", "pass the function itself, not its result")
    for w in _shrink_cases():
        for threshold in THRESHOLDS:
            original = w.clone()
            answer = soft_threshold(w, threshold)
            _check_new_tensor(w, original, answer, f"soft_threshold(w, {threshold})")
            expected = F.softshrink(w, threshold)
            answer = answer.detach().to(expected.dtype)
            if torch.allclose(answer, expected, atol=1e-6):
                continue
            _diagnose(w, threshold, answer)
    _correct("your soft_threshold equals F.softshrink on every test tensor, zeros and ties "
             "included")


def _diagnose(w: torch.Tensor, threshold: float, answer: torch.Tensor) -> None:
    near = lambda other: torch.allclose(answer, other.to(answer.dtype), atol=1e-6)
    if near((w.abs() - threshold).clamp_min(0.0)):
        _wrong("the sign is lost: negative weights come out positive",
               "multiply the shrunk size max(|w| − t, 0) by torch.sign(w)")
    if near(w - threshold * torch.sign(w)):
        _wrong(f"with threshold {threshold:g}, small weights overshoot past zero instead of "
               "stopping on it", "clamp the shrunk size |w| − t at zero before restoring the sign")
    if near(w * (w.abs() > threshold)):
        _wrong("that is hard thresholding: it zeroes the small weights but does not shrink the "
               "others", "every surviving weight moves towards zero by the threshold too")
    if near(torch.sign(w) * (w.abs() - threshold).clamp_max(0.0)):
        _wrong("clamp_max keeps the negative part", "use clamp_min(0.0): sizes below zero become 0")
    _wrong(f"with threshold {threshold:g} your result differs from soft-thresholding",
           "compute torch.sign(w) * (w.abs() - threshold).clamp_min(0.0)")


def check_ridge(X, y, strength: float, w_ridge, factors) -> None:
    """Check the ridge solution of ½·mean((Xw − y)²) + (λ/2)‖w‖² and its shrinkage per eigenvector."""
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    n = len(y)
    hessian = X.T @ X / n
    identity = torch.eye(hessian.shape[0], dtype=torch.float64)
    expected = torch.linalg.solve(hessian + strength * identity, X.T @ y / n)
    answer = _vector("w_ridge", w_ridge, expected.shape)
    if not torch.allclose(answer, expected, rtol=1e-6, atol=1e-9):
        plain = torch.linalg.solve(hessian, X.T @ y / n)
        summed = torch.linalg.solve(X.T @ X + strength * identity, X.T @ y)
        if torch.allclose(answer, plain, rtol=1e-6):
            _wrong("that is the unpenalized least-squares solution", "add λ·I to H before solving")
        if torch.allclose(answer, summed, rtol=1e-6):
            _wrong("that adds λ to XᵀX, the penalty against the *sum* of squared errors: a λ n "
                   "times weaker", "divide XᵀX and Xᵀy by n, as the mean squared error does")
        _wrong("that is not (H + λI)⁻¹Xᵀy/n for this data",
               "with H = X.T @ X / n, solve (H + λI) w = X.T @ y / n")
    eigenvalues = torch.linalg.eigvalsh(hessian)
    expected_factors = eigenvalues / (eigenvalues + strength)
    given = _vector("factors", factors, expected_factors.shape)
    if torch.allclose(given, expected_factors, rtol=1e-5):
        low, high = expected_factors.tolist()
        return _correct(f"w_λ = {[round(v, 4) for v in expected.tolist()]}; along the eigenvector "
                        f"of the smallest eigenvalue ({eigenvalues[0]:.4f}) the penalty keeps "
                        f"{low:.1%} of the solution, along the largest ({eigenvalues[-1]:.3f}) "
                        f"{high:.1%}: it shrinks the direction the data determines least")
    if torch.allclose(given, expected_factors.flip(0), rtol=1e-5):
        _wrong("the factors are in the reverse order", "torch.linalg.eigh gives the eigenvalues "
               "in ascending order; keep that order")
    if torch.allclose(given, 1 / expected_factors, rtol=1e-5):
        _wrong("those are the inverse ratios", "divide the component of w_λ by that of w_0, not "
               "the other way round")
    _wrong("those are not the shrinkage factors",
           "project w_λ and w_0 on the eigenvectors (eigenvectors.T @ w) and divide the results")


def check_near_best(technique: str, values, near_best) -> None:
    """Check `near_best`: the swept strengths whose paired validation loss is within noise of the best.

    The sweep is made here (or recalled from the cache) with the profile's seeds, so the check
    does not rest on a sweep the student passes.
    """
    from ..experiment import sweep

    values = [float(v) for v in values]
    if isinstance(near_best, (str, bytes)) or not hasattr(near_best, "__iter__"):
        _wrong(f"near_best should be a list of strengths, got {near_best!r}",
               "make a list with the strengths themselves, such as [0.003, 0.01]")
    answer = [float(v) for v in near_best]
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        result = sweep(technique, values)
    best = values[int(np.nanargmin(result.mean("val_loss")))]
    expected = [v for v in values if v == best or not result.paired("val_loss", v, best).excludes(0)]
    if _same_list(answer, expected):
        return _correct(f"{len(expected)} of the {len(values)} strengths are within noise of the "
                        f"best, λ = {best:g}: {', '.join(f'{v:g}' for v in expected)}")
    unknown = [v for v in answer if not any(math.isclose(v, known) for known in values)]
    if unknown:
        _wrong(f"{unknown[0]:g} is not one of the swept strengths", f"choose among {values}")
    if _same_list(answer, [best]):
        _wrong("that is only the best strength", "keep every strength whose paired interval "
               "against the best contains zero; the best one is in the list too")
    if best not in answer:
        _wrong(f"the best strength, λ = {best:g}, is missing", "include it: it is within noise "
               "of itself")
    overlap = [v for v in values if v == best or _intervals_overlap(result, v, best)]
    if _same_list(answer, overlap):
        _wrong("that compares the two means' own intervals, not the paired difference",
               "use result.paired('val_loss', value, best): the seeds are paired, so the "
               "difference per seed is much less noisy than either mean")
    by_accuracy = values[int(np.nanargmax(result.mean("val_acc")))]
    if by_accuracy != best and by_accuracy in answer and best not in answer:
        _wrong("that starts from the best validation accuracy", "the question is about the "
               "validation loss")
    if sorted(answer) == sorted(expected):
        _wrong("the right strengths, in another order", "keep the order of l2_sweep.values")
    _wrong("that is not the set of strengths within noise of the best",
           "for each value, keep it if not result.paired('val_loss', value, best).excludes(0)")


def _intervals_overlap(result, value, best) -> bool:
    index = {float(v): i for i, v in enumerate(result.values)}
    one, other = result.intervals("val_loss")[index[value]], result.intervals("val_loss")[index[best]]
    return one.low <= other.high and other.low <= one.high


def _same_list(answer: list[float], expected: list[float]) -> bool:
    return len(answer) == len(expected) and all(math.isclose(a, b) for a, b in zip(answer, expected))


def _vector(name: str, value, shape) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=torch.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be a tensor or a list of numbers, got "
                             f"{type(value).__name__}") from None
    if tensor.shape != shape:
        _wrong(f"{name} has shape {tuple(tensor.shape)}", f"it should have shape {tuple(shape)}")
    return tensor
