"""Checks for the exercises of the chapter "L1 and L2 penalties".

>>> import torch
>>> from torch import nn
>>> layer = nn.Linear(2, 1)
>>> with torch.no_grad():
...     _ = layer.weight.copy_(torch.tensor([[0.5, -0.25]]))
>>> check_l1_penalty(layer, 0.1, 0.075)
✓ correct: λ·Σ|w| = 0.1 × 0.75 = 0.075 over 2 weights (biases left out)
"""
from __future__ import annotations

import torch

from ..regularizers import weights
from ._checks import _close, _correct, _number, _wrong, check_best_value


def _weight_matrices(model) -> list[torch.Tensor]:
    if not isinstance(model, torch.nn.Module):
        raise AssertionError(f"expected a model (a torch.nn.Module, such as `run.model`), "
                             f"got {type(model).__name__}")
    found = [w.detach() for w in weights(model)]
    if not found:
        raise AssertionError("this model has no weight matrices")
    return found


def check_l1_penalty(model, strength: float, penalty) -> None:
    """Check `penalty`: λ·Σ|w| over the weight matrices of `model` (no biases), at λ = `strength`."""
    matrices = _weight_matrices(model)
    strength = _number("strength", strength)
    answer = _number("penalty", penalty)
    total = sum(w.abs().sum().item() for w in matrices)
    expected = strength * total
    count = sum(w.numel() for w in matrices)
    if _close(answer, expected):
        return _correct(f"λ·Σ|w| = {strength:g} × {total:.4g} = {expected:.4g} over {count:,} "
                        "weights (biases left out)")
    everything = sum(p.detach().abs().sum().item() for p in model.parameters())
    if everything != total and _close(answer, strength * everything):
        _wrong("that sum includes the biases", "penalize the weight matrices only: the "
               "parameters with p.ndim >= 2, as ru.regularizers.weights(model) gives them")
    if _close(answer, total):
        _wrong("the strength λ is missing", "multiply the sum of absolute values by λ")
    if _close(answer, strength * total / count) or _close(
            answer, strength * sum(w.abs().mean().item() for w in matrices)):
        _wrong("that is a mean, not a sum", "L1 adds up |w| over every weight: .abs().sum()")
    squares = sum(w.pow(2).sum().item() for w in matrices)
    if _close(answer, strength * squares) or _close(answer, 0.5 * strength * squares):
        _wrong("that is the L2 penalty", "L1 uses the absolute values |w|, not the squares")
    _wrong("that is not λ·Σ|w| for this model",
           "loop over ru.regularizers.weights(model), add up w.abs().sum() and multiply by λ")


def check_near_zero_fraction(model, fraction: float, threshold: float = 1e-3) -> None:
    """Check `fraction`: the share of the first layer's weights w with |w| < `threshold`."""
    first = _weight_matrices(model)[0]
    answer = _number("fraction", fraction)
    expected = (first.abs() < threshold).float().mean().item()
    if _close(answer, expected):
        return _correct(f"{expected:.1%} of the first layer's {first.numel():,} weights have "
                        f"|w| < {threshold:g}")
    exact = (first == 0).float().mean().item()
    if exact != expected and _close(answer, exact):
        _wrong("that counts the weights that are exactly zero",
               f"count those within {threshold:g} of zero: w.abs() < {threshold:g}")
    if expected != 0 and _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give a fraction between 0 and 1")
    if _close(answer, 1 - expected):
        _wrong("that is the share of weights that are NOT near zero",
               f"count the weights with |w| < {threshold:g}")
    signed = (first < threshold).float().mean().item()
    if signed != expected and _close(answer, signed):
        _wrong("the absolute value is missing", "every negative weight is below the threshold; "
               "compare w.abs(), not w")
    matrices = _weight_matrices(model)
    everywhere = (sum((w.abs() < threshold).sum().item() for w in matrices)
                  / sum(w.numel() for w in matrices))
    if len(matrices) > 1 and _close(answer, everywhere):
        _wrong("that counts the weights of every layer", "use the first weight matrix only: "
               "next(ru.regularizers.weights(model))")
    _wrong(f"that is not the share of first-layer weights with |w| < {threshold:g}",
           "take the first weight matrix w, then (w.abs() < threshold).float().mean()")


def check_best_strength(result, strength: float) -> None:
    """Check `strength`: the value of a sweep whose mean final validation loss is lowest."""
    check_best_value(result, strength, name="strength", symbol="λ", metric="val_loss",
                     noun="strengths")