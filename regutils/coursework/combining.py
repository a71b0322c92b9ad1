"""Checks for the exercises of the chapter "Combining techniques".

Each check works out the truth itself: `check_rescale` on a model it builds, `check_interaction`
from the runs it recomputes (or recalls from the cache), `check_kept_gap` on histories it makes.
The examples show a wrong answer: nothing in this module solves an exercise.

>>> check_rescale(lambda model, factor: model)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: the weight matrix of layer 1 ... was not multiplied by 0.5...
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


def _test_loss_per_seed(on: frozenset) -> np.ndarray:
    """The test loss of the combination `on` (techniques at their typical strengths), per seed."""
    from ..experiment import sweep
    from ..techniques import TECHNIQUES

    names = sorted(on)
    if not names:
        return sweep("none", [None]).metric("test_loss")[0]
    first, *others = names
    return sweep(first, [TECHNIQUES[first].typical],
                 combined_with={name: TECHNIQUES[name].typical for name in others}
                 ).metric("test_loss")[0]


def check_interaction(values) -> None:
    """Check `values`: per seed, the effect of early stopping on the test loss with batch norm
    minus its effect without (dropout and L2 off), the runs recomputed or recalled here."""
    from ..profiles import get_profile

    seeds = get_profile().seeds
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        _wrong(f"interaction should be a list with one value per seed, got {values!r}",
               f"make a list of {len(seeds)} numbers, one per seed")
    if len(values) != len(seeds):
        _wrong(f"interaction has {len(values)} values, but the profile has {len(seeds)} seeds",
               "give one value per seed, in the order of profile.seeds")
    answer = np.array([_number("each value", v) for v in values])
    bn, es = frozenset({"batch_norm"}), frozenset({"early_stopping"})
    none, both = _test_loss_per_seed(frozenset()), _test_loss_per_seed(bn | es)
    with_bn = both - _test_loss_per_seed(bn)
    without_bn = _test_loss_per_seed(es) - none
    expected = with_bn - without_bn
    close = lambda a, b: np.allclose(a, b, rtol=1e-6, atol=1e-6)
    if close(answer, expected):
        return _correct(f"early stopping's effect on the test loss changes by "
                        f"{expected.mean():+.4f} on average when batch norm is on "
                        f"({', '.join(f'{v:+.4f}' for v in expected)} per seed)")
    if close(answer, -expected):
        _wrong("the sign is reversed", "take the effect with batch norm minus the effect without")
    if close(answer, with_bn):
        _wrong("that is early stopping's effect with batch norm only", "subtract its effect "
               "without batch norm: (ES alone − baseline)")
    if close(answer, without_bn):
        _wrong("that is early stopping's effect without batch norm only", "the question asks "
               "for the difference of the two effects")
    if close(answer, expected / 2):
        _wrong("that is half the difference", "do not divide by two: give the effect with batch "
               "norm minus the effect without")
    if close(answer, np.full(len(seeds), expected.mean())):
        _wrong("every entry is the mean", "give one value per seed, not their average")
    _wrong("those are not the per-seed differences of early stopping's effect",
           "per seed: (BN + ES − BN) − (ES − baseline), with the test loss of each run")


def _history(records, restored=None):
    from ..history import History
    return History([dict(epoch=i + 1, train_loss=0.1, val_loss=0.3, train_acc=train, val_acc=val,
                         seconds=1.0) for i, (train, val) in enumerate(records)],
                   restored_epoch=restored, best_epoch=restored,
                   stopped_epoch=len(records) if restored else None)


def check_kept_gap(kept_gap) -> None:
    """Check `kept_gap(history)`: training minus validation accuracy of the epoch whose weights
    the run ends with (history.restored_epoch, or the last epoch when it is None)."""
    records = [(0.80, 0.78), (0.93, 0.88), (0.99, 0.90), (1.00, 0.89), (1.00, 0.885)]
    cases = {"early stopping kept epoch 3 of 5": (_history(records, restored=3), 0.99 - 0.90),
             "no early stopping": (_history(records), 1.00 - 0.885),
             "early stopping kept the last epoch": (_history(records[:3], restored=3),
                                                    0.99 - 0.90)}
    for case, (history, expected) in cases.items():
        try:
            answer = _number("kept_gap(history)", kept_gap(history))
        except (TypeError, IndexError, KeyError) as failure:
            if history.restored_epoch is None:
                _wrong(f"{case}: your function failed ({type(failure).__name__}: {failure}); "
                       "there restored_epoch is None", "fall back to the last epoch, "
                       "len(history.records), when history.restored_epoch is None")
            raise
        if _close(answer, expected):
            continue
        if history.restored_epoch and _close(answer, records[len(history) - 1][0]
                                             - records[len(history) - 1][1]):
            _wrong(f"{case}: that is the gap of the last epoch trained",
                   "early stopping gave back the weights of history.restored_epoch; take the "
                   "record of that epoch: history.records[history.restored_epoch - 1]")
        if history.restored_epoch and _close(answer, records[history.restored_epoch][0]
                                             - records[history.restored_epoch][1]):
            _wrong(f"{case}: that is the epoch after the restored one", "epochs count from 1, "
                   "list positions from 0: history.records[history.restored_epoch - 1]")
        if _close(answer, -expected):
            _wrong(f"{case}: the sign is reversed", "the gap is training minus validation "
                   "accuracy")
        if _close(answer, 100 * expected):
            _wrong(f"{case}: that looks like a percentage", "give a fraction such as 0.09")
        if history.restored_epoch is None:
            _wrong(f"{case}: restored_epoch is None there, so the run keeps its last epoch",
                   "fall back to len(history.records) when restored_epoch is None")
        _wrong(f"{case}: {answer:.4f} is not the gap of the kept epoch ({expected:.4f})",
               "take the record of the epoch the run ends with and return train_acc − val_acc")
    _correct("the gap of the kept epoch: the restored one with early stopping, the last without")
