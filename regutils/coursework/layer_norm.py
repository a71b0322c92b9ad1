"""Checks for the exercises of the chapter "Layer normalization".

The chapter's exercises use `check_rms_invariances`, `check_sequence_batch_norm` and
`check_resolved`; the other checks remain for earlier versions of it. The examples show a wrong
answer: nothing in this module solves an exercise.

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


# The six changes of the chapter's invariance table, each applied to (weights, inputs) of one
# layer without bias; the chapter measures batch and layer norm, the exercise asks about RMSNorm.
def _invariance_changes(generator: torch.Generator) -> dict:
    one_row = torch.ones(16, 1)
    one_row[3] = 2.5
    one_example = torch.ones(32, 1)
    one_example[5] = 3.0
    row_shift, input_shift = torch.randn(1, 20, generator=generator), torch.randn(1, 20, generator=generator)
    return {"whole weight matrix × 2.5": lambda w, x: (2.5 * w, x),
            "same vector added to every row of W": lambda w, x: (w + row_shift, x),
            "one unit's weights × 2.5": lambda w, x: (one_row * w, x),
            "every input × 3": lambda w, x: (w, 3 * x),
            "same vector added to every input": lambda w, x: (w, x + input_shift),
            "one example × 3": lambda w, x: (w, one_example * x)}


def _rms(h: torch.Tensor) -> torch.Tensor:
    return h / torch.sqrt(h.pow(2).mean(dim=-1, keepdim=True) + 1e-5)


def check_rms_invariances(answers) -> None:
    """Check `answers`: for each change of the invariance table, whether RMSNorm's output stays."""
    generator = torch.Generator().manual_seed(2)
    inputs = torch.randn(32, 20, generator=generator) + 0.5
    weights = torch.randn(16, 20, generator=generator)
    changes = _invariance_changes(generator)
    if not isinstance(answers, Mapping):
        _wrong(f"rms_invariant should be a dict from change to True or False, got "
               f"{type(answers).__name__}", "use the keys of CHANGES: {change: True, ...}")
    missing = [change for change in changes if change not in answers]
    unknown = [change for change in answers if change not in changes]
    if missing or unknown:
        _wrong(f"the answer should have one entry per change; missing {missing}, unknown {unknown}",
               f"use exactly these keys: {list(changes)}")
    truth = {}
    for change, apply in changes.items():
        new_weights, new_inputs = apply(weights, inputs)
        moved = (_rms(inputs @ weights.T) - _rms(new_inputs @ new_weights.T)).abs().max().item()
        truth[change] = moved < 1e-3
    wrong = [change for change in changes if bool(answers[change]) != truth[change]
             or not isinstance(answers[change], (bool, np.bool_))]
    if not wrong:
        return _correct("RMSNorm divides each example by its own root mean square, so it cannot see "
                        "any rescaling of an example's pre-activations, and subtracts nothing, so "
                        "it sees every shift")
    shifts = [change for change in wrong if "added" in change]
    if shifts and all(truth[change] is False for change in shifts):
        _wrong(f"{shifts[0]!r} does change RMSNorm's output", "RMSNorm subtracts no mean: a "
               "shift that layer norm would remove changes the root mean square and the direction")
    if "one unit's weights × 2.5" in wrong:
        _wrong("scaling one unit's weights changes RMSNorm's output", "only that unit grows; the "
               "root mean square over the units, and so every output, changes")
    _wrong(f"the answer for {wrong[0]!r} is not right", "write out RMSNorm(W x) after the change and "
           "see whether the common factor cancels between the numerator and the root mean square")


def check_sequence_batch_norm(sequence_batch_norm, eps: float = 1e-5) -> None:
    """Check `sequence_batch_norm(x)`: each feature normalized over the batch and the positions."""
    if not callable(sequence_batch_norm):
        _wrong(f"expected a function sequence_batch_norm(x), got {type(sequence_batch_norm).__name__}",
               "define it with def sequence_batch_norm(x, eps=1e-5): ... and pass the function")
    generator = torch.Generator().manual_seed(5)
    x = (torch.randn(6, 9, 5, generator=generator) * torch.tensor([1.0, 3.0, 0.3, 2.0, 5.0])
         + torch.randn(1, 9, 1, generator=generator) + 2)
    x[..., 2] = 2 + 1e-3 * torch.randn(6, 9, generator=generator)  # almost constant: ε matters
    original = x.clone()
    try:
        with torch.no_grad():
            answer = sequence_batch_norm(x)
    except Exception as error:
        _wrong(f"your function raised {type(error).__name__}: {error} on a (6, 9, 5) input",
               "reduce over dim=(0, 1), the batch and the positions, with keepdim=True")
    _check_new_tensor(x, original, answer, "sequence_batch_norm(x)")
    expected = F.batch_norm(x.transpose(1, 2), None, None, training=True, eps=eps).transpose(1, 2)
    if torch.allclose(answer, expected, atol=MATCH * 10):
        return _correct("each feature is normalized with one mean and variance over the batch and "
                        "all positions, as BatchNorm1d on (batch, features, positions) does")
    mistakes = {
        "you normalized over the batch only, one set of statistics per position":
            ("pool the positions too: reduce over dim=(0, 1)", _normalize(x, 0, None, None, eps)),
        "you normalized each position over its features: that is layer norm":
            ("batch norm keeps one set of statistics per feature; reduce over dim=(0, 1)",
             _normalize(x, -1, None, None, eps)),
        "you normalized each sequence over its positions":
            ("pool the batch too: reduce over dim=(0, 1)", _normalize(x, 1, None, None, eps)),
        "you divided by the unbiased variance":
            ("use the biased variance, unbiased=False", _normalize(x, (0, 1), None, None, eps,
                                                                   unbiased=True)),
        "ε is missing or outside the square root":
            ("divide by torch.sqrt(var + eps)", _normalize(x, (0, 1), None, None, eps,
                                                           eps_outside=True)),
    }
    for problem, (hint, wrong) in mistakes.items():
        if torch.allclose(answer, wrong, atol=MATCH * 10):
            _wrong(problem, hint)
    difference = (answer - expected).abs().max().item()
    _wrong(f"your output differs from batch norm over batch and positions by up to {difference:.3g}",
           "subtract x.mean(dim=(0, 1), keepdim=True) and divide by the square root of the biased "
           "variance over the same dimensions plus eps")


def check_resolved(sweeps, batch_size: int, low, high, resolved) -> None:
    """Check the 95% interval of layer norm minus no normalization in test accuracy at `batch_size`,
    paired by seed, and whether it resolves a difference from zero."""
    by_name = _sweeps_by_technique(sweeps)
    for name in ("layer_norm", "none"):
        if name not in by_name:
            _wrong(f"the sweeps should include {name!r}", "pass the dict batch_sweeps")
        if batch_size not in by_name[name].values:
            _wrong(f"batch size {batch_size!r} is not in the {name} sweep", "use BATCH_SIZES[0]")
    if by_name["layer_norm"].seeds != by_name["none"].seeds:
        _wrong("the two sweeps were run with different seeds, so they cannot be paired",
               "run both over the same seeds")
    differences = (by_name["layer_norm"].at(batch_size, "test_acc")
                   - by_name["none"].at(batch_size, "test_acc"))
    n = len(differences)
    from ..stats import t_quantile
    half = t_quantile(n) * float(np.std(differences, ddof=1)) / np.sqrt(n)
    mean = float(np.mean(differences))
    expected_low, expected_high = mean - half, mean + half
    low, high = _number("low", low), _number("high", high)
    if not isinstance(resolved, (bool, np.bool_)):
        _wrong(f"resolved should be True or False, got {resolved!r}",
               "resolved = low > 0 or high < 0")

    def near(a, b):
        return abs(a - b) <= 1e-6 + 1e-6 * abs(b)

    if not (near(low, expected_low) and near(high, expected_high)):
        if near(low, 100 * expected_low) and near(high, 100 * expected_high):
            _wrong("your interval is in percentage points", "keep accuracies as fractions here")
        population = t_quantile(n) * float(np.std(differences)) / np.sqrt(n)
        if near(high - mean, population):
            _wrong("you used the population standard deviation (ddof = 0)",
                   "the sample standard deviation divides by n − 1: np.std(d, ddof=1)")
        normal = 1.959964 * float(np.std(differences, ddof=1)) / np.sqrt(n)
        if near(high - mean, normal):
            _wrong("you used 1.96, the normal quantile", f"with {n} seeds the t quantile is "
                   f"larger: ru.stats.t_quantile({n}) = {t_quantile(n):.3f}")
        arms = [by_name[name].at(batch_size, "test_acc") for name in ("layer_norm", "none")]
        unpaired = t_quantile(n) * np.sqrt(np.var(arms[0], ddof=1) / n + np.var(arms[1], ddof=1) / n)
        if near(high - mean, float(unpaired)):
            _wrong("that interval treats the two arms as unpaired", "subtract seed by seed first, "
                   "then take the mean and spread of the n differences")
        if near(low, -expected_high) and near(high, -expected_low):
            _wrong("that is no normalization minus layer norm", "subtract the other way round")
        _wrong(f"the interval should be [{expected_low:.4f}, {expected_high:.4f}]",
               "mean ± t_quantile(n) · s / √n of the per-seed differences")
    truth = expected_low > 0 or expected_high < 0
    if bool(resolved) != truth:
        _wrong(f"resolved should be {truth}", "a difference is resolved when zero lies outside the "
               "interval: low > 0 or high < 0")
    verdict = "resolves" if truth else "does not resolve"
    _correct(f"layer norm minus no normalization at batch size {batch_size}: {mean:+.4f}, 95% "
             f"interval [{expected_low:.4f}, {expected_high:.4f}]; it {verdict} a difference "
             f"with {n} seeds")
