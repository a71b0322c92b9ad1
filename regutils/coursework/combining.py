"""Checks for the exercises of the chapter "Combining techniques".

The examples show a wrong answer: nothing in this module solves an exercise.

>>> check_rescale(lambda model, factor: model)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: the weight matrix of layer 1 (...) was not multiplied by 0.5. Hint: ...
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ._checks import _close, _correct, _number, _wrong

FACTORS = (0.5, 3.0)  # one shrinks, one grows: a rescale that ignores its factor fails one


def _batch_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's outputs in train mode (batch statistics), on a copy so no running mean moves."""
    with torch.no_grad():
        return copy.deepcopy(model).train()(x)


def _layers_before_norm(model: nn.Sequential) -> list[int]:
    layers = list(model)
    return [i for i in range(len(layers) - 1)
            if isinstance(layers[i], nn.Linear) and isinstance(layers[i + 1], nn.BatchNorm1d)]


def check_rescale(rescale) -> None:
    """Check `rescale(model, factor)`: a copy of `model` whose weight matrices that feed a batch
    norm are multiplied by `factor`, so the penalty changes and the outputs do not."""
    from ..models import mlp
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        torch.manual_seed(0)
        model = mlp(hidden=(16, 8), norm="batch", in_features=12, classes=3)
        x = torch.randn(32, 12)
    before = _batch_outputs(model, x)
    original = {k: v.clone() for k, v in model.state_dict().items()}
    feeding = _layers_before_norm(model)
    last = max(i for i, layer in enumerate(model) if isinstance(layer, nn.Linear))
    for factor in FACTORS:
        answer = rescale(model, factor)
        if not all(torch.equal(v, original[k]) for k, v in model.state_dict().items()):
            _wrong("rescale changed the model it was given",
                   "work on a copy: model = copy.deepcopy(model) first, then scale its weights")
        if not isinstance(answer, nn.Module):
            _wrong(f"rescale should return the rescaled model, got {type(answer).__name__}",
                   "end the function with `return model` (the copy you scaled)")
        layers = list(answer)
        if len(layers) != len(model) or any(type(a) is not type(b) for a, b in zip(layers, model)):
            _wrong("the returned model has other layers than the one given",
                   "keep the layers; only multiply some weight matrices by the factor")
        scaled = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear)
                  and torch.allclose(layer.weight, factor * model[i].weight)]
        after = _batch_outputs(answer, x)
        if not torch.allclose(after, before, atol=1e-4, rtol=1e-3):
            if last in scaled:
                _wrong("the outputs changed: you scaled the last linear layer too",
                       "the last layer feeds no batch norm, so its scale reaches the logits; "
                       "scale only the layers followed by a BatchNorm1d")
            gammas = [i for i, layer in enumerate(layers) if isinstance(layer, nn.BatchNorm1d)
                      and not torch.allclose(layer.weight, model[i].weight)]
            if gammas:
                _wrong("the outputs changed: you scaled batch norm's own γ",
                       "γ multiplies the normalized values, so nothing undoes it; scale the "
                       "weight matrix of the linear layer before the batch norm")
            _wrong("the outputs changed", "multiply only the weight matrices of the linear "
                   "layers that a BatchNorm1d follows, and leave everything else as it was")
        if sorted(scaled) != feeding:
            missing = [i for i in feeding if i not in scaled]
            _wrong(f"the weight matrix of layer {missing[0]} ({layers[missing[0]]}) was not "
                   f"multiplied by {factor:g}",
                   "every linear layer followed by a BatchNorm1d gets weight × factor")
    _correct(f"the {len(feeding)} weight matrices before a batch norm shrank (penalty × "
             f"{FACTORS[0] ** 2:g} at factor {FACTORS[0]:g}), the outputs did not change")


def _check_sweeps(results) -> dict:
    if not hasattr(results, "items") or not results:
        raise AssertionError(f"expected a dict technique → sweep result, got {type(results).__name__}")
    for name, result in results.items():
        if not hasattr(result, "mean") or len(result.values) != 1:
            raise AssertionError(f"results[{name!r}] should be a sweep of one configuration over "
                                 f"seeds, as ru.sweep(...) gives it")
    return {name: float(result.mean("val_loss")[0]) for name, result in results.items()}


def check_most_needed(without: dict, technique: str) -> None:
    """Check `technique`: the one whose removal from the combination raises the mean validation
    loss the most; `without` maps each technique to the sweep of the combination without it."""
    val_loss = _check_sweeps(without)
    names = list(without)
    if technique not in without:
        _wrong(f"{technique!r} is not one of the techniques removed",
               f"answer with one of the keys of the dict: {names}")
    most = max(names, key=val_loss.get)
    if technique == most:
        others = ", ".join(f"{n} {val_loss[n]:.3f}" for n in names if n != most)
        return _correct(f"without {most} the mean validation loss is {val_loss[most]:.3f}, the "
                        f"highest (without {others})")
    if technique == min(names, key=val_loss.get):
        _wrong(f"without {technique} the validation loss is the lowest of all: the combination "
               "misses it least", "look for the highest mean validation loss")

    def mean_of(metric):
        return {n: float(without[n].mean(metric)[0]) for n in names}

    if technique == min(names, key=mean_of("val_acc").get):
        _wrong(f"without {technique} the validation accuracy is lowest",
               "this asks for the validation loss: result.mean('val_loss')")
    if technique == max(names, key=mean_of("generalization_gap").get):
        _wrong(f"without {technique} the generalization gap is largest",
               "this asks for the validation loss: result.mean('val_loss')")
    _wrong(f"without {technique} the mean validation loss is {val_loss[technique]:.3f}, not the "
           "highest", "compare without[name].mean('val_loss')[0] across the techniques")


def check_restored_gap(result, gap) -> None:
    """Check `gap`: the mean over seeds of training minus validation accuracy of the epoch each
    run ended with, which is the restored epoch when early stopping is in the combination."""
    if not hasattr(result, "runs") or len(getattr(result, "values", ())) != 1:
        raise AssertionError(f"expected a sweep of one configuration (from ru.sweep), got "
                             f"{type(result).__name__}")
    answer = _number("gap", gap)
    histories = [run.history for run in result.runs.values()]

    def mean_at(epoch_of, metric=None):
        values = []
        for history in histories:
            record = history.records[epoch_of(history) - 1]
            values.append(record["train_acc"] - record["val_acc"] if metric is None
                          else record[metric])
        return float(np.mean(values))

    def returned(history):
        return history.restored_epoch or len(history)

    expected = mean_at(returned)
    restored = any(h.restored_epoch for h in histories)
    if _close(answer, expected):
        return _correct(f"the mean gap over {len(histories)} seeds is {expected:.4f}"
                        + (" at the restored epochs" if restored else ""))
    last = mean_at(len)
    if restored and _close(answer, last):
        _wrong("that is the gap of the last epoch each run trained",
               "early stopping gave back the weights of history.restored_epoch; take the "
               "record of that epoch: history.records[history.restored_epoch - 1]")
    if _close(answer, -expected):
        _wrong("the sign is reversed", "the gap is training minus validation accuracy")
    if expected != 0 and _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give a fraction such as 0.08, not 8")
    if _close(answer, mean_at(returned, "val_loss") - mean_at(returned, "train_loss")):
        _wrong("that is the loss gap", "use the accuracies: train_acc − val_acc")
    gaps = [h.records[returned(h) - 1]["train_acc"] - h.records[returned(h) - 1]["val_acc"]
            for h in histories]
    if any(_close(answer, g) for g in gaps) and len(gaps) > 1:
        _wrong("that is the gap of one seed", "average over all the runs in result.runs")
    if _close(answer, float(np.std(gaps))) or (len(gaps) > 1 and _close(answer, float(np.std(gaps, ddof=1)))):
        _wrong("that is the spread over seeds", "give the mean over seeds")
    _wrong(f"{answer:.4f} is not the mean gap at the epochs the runs ended with",
           "for each run take history.records[history.restored_epoch - 1] and average "
           "train_acc − val_acc over the runs")
