"""Checks for the exercises of the chapter "Layer normalization".

The examples show a wrong answer: nothing in this module solves an exercise.

>>> import torch
>>> def batch_axis(x, weight, bias, eps=1e-5):
...     return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) * weight + bias
>>> check_layer_norm(batch_axis)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: you normalized over the batch (dim 0): that is batch norm's axis. Hint: ...
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import _check_new_tensor, _correct, _number, _wrong

MATCH = 1e-5  # float32 rounding of two ways to compute the same normalization


def _inputs() -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Inputs whose rows differ in mean and scale, drawn without touching the caller's generator."""
    generator = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.randn(*shape, generator=generator)

    features = 24
    two_d = 3 * draw(16, features) + 5 * draw(16, 1)
    three_d = 2 * draw(4, 7, features) + 4 * draw(4, 7, 1)
    weight, bias = 1 + 0.5 * draw(features), 0.5 * draw(features)
    return {"2-D": (two_d, weight, bias), "3-D": (three_d, weight, bias)}


def _normalize(x: torch.Tensor, dims, weight, bias, eps: float, unbiased: bool = False,
               eps_outside: bool = False) -> torch.Tensor:
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
    scale = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    normalized = (x - mean) / scale
    return normalized if weight is None else normalized * weight + bias


def check_layer_norm(layer_norm: Callable, eps: float = 1e-5) -> None:
    """Check `layer_norm(x, weight, bias, eps)`: each sample normalized over its last dimension."""
    worst = 0.0
    for name, (x, weight, bias) in _inputs().items():
        original = x.clone()
        try:
            answer = layer_norm(x, weight, bias, eps)
        except Exception as error:  # the student's code failed: say so, with the input's shape
            _wrong(f"your function raised {type(error).__name__}: {error} on a {name} input of "
                   f"shape {tuple(x.shape)}", "normalize over the last dimension only, "
                   "x.mean(dim=-1, keepdim=True), so any leading dimensions work")
        _check_new_tensor(x, original, answer, f"layer_norm on a {name} input")
        expected = F.layer_norm(x, x.shape[-1:], weight, bias, eps)
        difference = (answer - expected).abs().max().item()
        if difference <= MATCH:
            worst = max(worst, difference)
            continue
        wrong_versions = [
            (_normalize(x, 0, weight, bias, eps), "you normalized over the batch (dim 0): that "
             "is batch norm's axis", "layer norm takes the mean and variance of each sample "
             "across its features, dim=-1"),
            (_normalize(x, -1, weight, bias, eps, unbiased=True), "you used the unbiased "
             "variance (divided by n − 1)", "layer norm divides by n: x.var(dim=-1, "
             "unbiased=False), or ((x - mean) ** 2).mean(dim=-1)"),
            (_normalize(x, -1, weight, bias, eps, eps_outside=True), "you added eps to the "
             "standard deviation", "eps goes under the square root: sqrt(var + eps)"),
            (_normalize(x, -1, None, None, eps), "the output is normalized but not scaled and "
             "shifted", "multiply by weight (γ) and add bias (β) at the end"),
            (_normalize(x, -1, bias, weight, eps), "weight and bias are swapped",
             "multiply by weight (γ), then add bias (β)"),
        ]
        if x.dim() == 3:
            wrong_versions.append((_normalize(x, tuple(range(1, x.dim())), weight, bias, eps),
                                   "on a 3-D input you normalized over the positions as well as "
                                   "the features", "nn.LayerNorm(features) normalizes each "
                                   "position's feature vector on its own: use dim=-1"))
            wrong_versions.append((_normalize(x, (0, 1), weight, bias, eps),
                                   "on a 3-D input you normalized over the batch and the "
                                   "positions: that is what batch norm would do",
                                   "use the last dimension, dim=-1"))
        for version, problem, hint in wrong_versions:
            if (answer - version).abs().max().item() <= MATCH:
                _wrong(problem, hint)
        _wrong(f"on the {name} input your output differs from F.layer_norm by up to "
               f"{difference:.3g}", "subtract each sample's mean over its features, divide by "
               "sqrt(variance + eps) with the biased variance, then apply weight and bias")
    _correct(f"your layer norm matches F.layer_norm on 2-D and 3-D inputs (largest difference "
             f"{worst:.1e})")


def _first_row_change(layer: nn.Module, batch: torch.Tensor, other: torch.Tensor) -> float:
    with torch.no_grad():
        mixed = torch.cat([batch[:1], other[1:]])
        return (layer(batch)[0] - layer(mixed)[0]).abs().max().item()


def check_first_row_change(first_row_change: Callable) -> None:
    """Check `first_row_change(layer, batch, other)`: how much sample 0's output moves when the rest
    of its batch is replaced by `other[1:]`, for layer norm and for batch norm in both modes."""
    generator = torch.Generator().manual_seed(1)
    batch = torch.randn(32, 16, generator=generator)
    other = 3 + 2 * torch.randn(32, 16, generator=generator)
    layer_norm = nn.LayerNorm(16)
    trained_bn = nn.BatchNorm1d(16)
    with torch.no_grad():
        trained_bn(torch.randn(256, 16, generator=generator))  # running stats away from 0 and 1
    cases = [("nn.LayerNorm", layer_norm, True), ("nn.BatchNorm1d in training mode", trained_bn,
                                                  True),
             ("nn.BatchNorm1d in evaluation mode", trained_bn, False)]
    results = []
    for label, layer, training in cases:
        layer.train(training)
        kept = (batch.clone(), other.clone())
        try:
            answer = first_row_change(layer, batch, other)
        except Exception as error:
            _wrong(f"your function raised {type(error).__name__}: {error} for {label}",
                   "run the layer on `batch` and on torch.cat([batch[:1], other[1:]]) and compare "
                   "row 0 of the two outputs")
        if layer.training != training:
            _wrong(f"your function switched {label} to "
                   f"{'training' if layer.training else 'evaluation'} mode",
                   "measure the layer in the mode it is given; the mode is part of what is tested")
        if not (torch.equal(batch, kept[0]) and torch.equal(other, kept[1])):
            _wrong("your function changed the batches it was given",
                   "build the mixed batch with torch.cat, which makes a new tensor")
        answer = _number(f"the change for {label}", answer)
        layer.train(training)
        expected = _first_row_change(layer, batch, other)
        with torch.no_grad():
            whole = (layer(batch) - layer(torch.cat([batch[:1], other[1:]]))).abs().max().item()
            unmixed = (layer(batch)[0] - layer(other)[0]).abs().max().item()
        if not (abs(answer - expected) <= 1e-5 + 1e-4 * abs(expected)):
            if abs(answer - whole) <= 1e-5 + 1e-4 * whole:
                _wrong(f"for {label} you compared every row of the two outputs",
                       "the other rows were replaced on purpose; compare row 0 only")
            if abs(answer - unmixed) <= 1e-5 + 1e-4 * unmixed:
                _wrong(f"for {label} you compared two different samples",
                       "keep sample 0 in both batches: torch.cat([batch[:1], other[1:]])")
            _wrong(f"for {label} the change should be {expected:.3g}, got {answer:.3g}",
                   "return the largest absolute difference between row 0 of layer(batch) and "
                   "row 0 of layer(mixed batch)")
        results.append(expected)
    _correct(f"sample 0 moves by {results[0]:.1e} under layer norm, {results[1]:.3f} under batch "
             f"norm in training mode and {results[2]:.1e} in evaluation mode")


def _sweeps_by_technique(sweeps) -> dict:
    if isinstance(sweeps, Mapping):
        sweeps = list(sweeps.values())
    sweeps = list(sweeps)
    if not sweeps or not all(hasattr(s, "technique") and hasattr(s, "mean") for s in sweeps):
        raise AssertionError("pass the sweeps as a list or dict of SweepResult objects, "
                             "such as [bn_sweep, ln_sweep, none_sweep]")
    knobs = {s.knob for s in sweeps}
    if knobs != {"batch_size"}:
        raise AssertionError(f"the sweeps should be over batch_size, got knob(s) {sorted(knobs)}")
    return {s.technique: s for s in sweeps}


def check_best_normalization(sweeps, batch_size: int, technique: str) -> None:
    """Check `technique`: the one whose sweep has the highest mean val acc at `batch_size`."""
    by_name = _sweeps_by_technique(sweeps)
    if not all(batch_size in s.values for s in by_name.values()):
        raise AssertionError(f"batch size {batch_size!r} is not in every sweep; the sweeps hold "
                             f"{sorted({v for s in by_name.values() for v in s.values})}")
    if not isinstance(technique, str):
        _wrong(f"give the technique's name, got {technique!r}",
               f"one of {', '.join(repr(name) for name in by_name)}")
    if technique not in by_name:
        _wrong(f"{technique!r} is not among the sweeps", f"choose one of "
               f"{', '.join(repr(name) for name in by_name)} (a sweep's name is sweep.technique)")

    def at(name, metric, size=batch_size):
        sweep = by_name[name]
        return float(sweep.mean(metric)[sweep.values.index(size)])

    val_acc = {name: at(name, "val_acc") for name in by_name}
    best = max(val_acc.values())
    winners = [name for name, value in val_acc.items() if value == best]
    if technique in winners:
        others = ", ".join(f"{name} {value:.3f}" for name, value in val_acc.items()
                           if name != technique)
        return _correct(f"at batch size {batch_size}, {technique} has the highest mean "
                        f"validation accuracy, {best:.3f} (others: {others})")
    train_acc = {name: at(name, "train_acc") for name in by_name}
    gap = {name: at(name, "generalization_gap") for name in by_name}
    if train_acc[technique] == max(train_acc.values()):
        _wrong(f"{technique} has the highest training accuracy at batch size {batch_size}",
               "compare validation accuracy, sweep.mean('val_acc')")
    if gap[technique] == min(gap.values()):
        _wrong(f"{technique} has the smallest generalization gap at batch size {batch_size}",
               "a small gap can come with low accuracy; compare validation accuracy")
    for size in by_name[technique].values:
        if size != batch_size and all(size in s.values for s in by_name.values()):
            scores = {name: at(name, "val_acc", size) for name in by_name}
            if scores[technique] == max(scores.values()):
                _wrong(f"{technique} is the best at batch size {size}, not {batch_size}",
                       "pick the entry of each sweep's mean('val_acc') at the position of "
                       f"{batch_size} in sweep.values")
    overall = {name: float(np.nanmax(s.mean("val_acc"))) for name, s in by_name.items()}
    if overall[technique] == max(overall.values()):
        _wrong(f"{technique} has the best validation accuracy over all batch sizes",
               f"the question asks about batch size {batch_size} only")
    _wrong(f"{technique} does not have the highest validation accuracy at batch size {batch_size}",
           "for each sweep take mean('val_acc') at the index of the batch size in sweep.values "
           "and pick the largest")
