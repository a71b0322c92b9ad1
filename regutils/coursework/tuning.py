"""Checks for the exercises of the tuning chapter: flipping labels, k folds, memorized noise.

The examples show a wrong answer: nothing in this module solves an exercise. The library's
own `ru.data.flip_labels` does what exercise 1 asks, because
`Experiment(label_noise=...)` needs it; `check_flip_labels` accepts it, and the grader
(`regutils.grading`) gives no points to an answer that calls it.

>>> check_folds(lambda n, k: [(list(range(n)), list(range(n)))] * k)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: folds(23, 5) trains on indices it also validates on: [0, 1, 2, 3, 4]. Hint: ...
"""
from __future__ import annotations

import torch

from ..data import CLASSES
from ._checks import _check_new_tensor, _close, _correct, _number, _wrong


def check_flip_labels(flip) -> None:
    """Check `flip(labels, fraction, generator)`: a new tensor with round(fraction·n) labels moved
    to another class chosen at random, drawn from `generator` only."""
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        _check_flip_labels(flip)
    _correct("flip changes exactly round(fraction·n) labels, each to another class drawn at "
             "random from the generator, and leaves its input alone")


def _check_flip_labels(flip) -> None:
    labels = torch.arange(500) % CLASSES
    for fraction in (0.0, 0.3, 0.45):
        original = labels.clone()
        flipped = flip(labels, fraction, torch.Generator().manual_seed(0))
        _check_new_tensor(labels, original, flipped, f"flip(labels, {fraction}, generator)")
        if flipped.dtype != labels.dtype or flipped.min() < 0 or flipped.max() >= CLASSES:
            _wrong(f"the flipped labels should be whole numbers 0..{CLASSES - 1} like the input",
                   "keep the dtype: add an integer shift and take it modulo the number of classes")
        changed, expected = int((flipped != labels).sum()), round(fraction * len(labels))
        if changed == expected:
            continue
        if 0.8 * expected < changed < expected:
            _wrong(f"only {changed} of the {expected} chosen labels changed",
                   "a new class drawn from all ten lands on the old one a tenth of the time; "
                   "draw among the other nine, e.g. (y + randint(1, 10)) % 10")
        _wrong(f"with fraction {fraction}, {changed} of {len(labels)} labels changed instead of "
               f"{expected}", "choose round(fraction·n) distinct positions (the first ones of a "
               "random permutation) and change each of those")
    zeros = torch.zeros(900, dtype=torch.long)
    new_classes = flip(zeros, 0.5, torch.Generator().manual_seed(0))
    if len(torch.unique(new_classes[new_classes != 0])) < CLASSES - 1:
        _wrong("the flipped labels do not reach every other class",
               "draw the new class at random among the nine others instead of a fixed shift")
    again = flip(labels, 0.3, torch.Generator().manual_seed(0))
    other = flip(labels, 0.3, torch.Generator().manual_seed(1))
    if not torch.equal(again, flip(labels, 0.3, torch.Generator().manual_seed(0))):
        _wrong("the same generator seed gave different flips",
               "draw every random number from `generator`: torch.randperm(n, generator=generator)")
    if torch.equal(again, other):
        _wrong("two generator seeds gave the same flips", "draw the positions and the new classes "
               "from `generator`, not from a fixed seed")


def check_folds(folds) -> None:
    """Check `folds(n, k)`: k pairs (train indices, validation indices) where every index of
    range(n) validates exactly once and trains in the other k − 1 folds."""
    for n, k in ((23, 5), (10, 2), (12, 4)):
        pairs = [(_indices(train), _indices(val)) for train, val in folds(n, k)]
        if len(pairs) != k:
            _wrong(f"folds({n}, {k}) gave {len(pairs)} pairs", "return one (train, validation) "
                   "pair per fold, k in all")
        validated = sorted(i for _, val in pairs for i in val)
        for train, val in pairs:
            if set(train) & set(val):
                _wrong(f"folds({n}, {k}) trains on indices it also validates on: "
                       f"{sorted(set(train) & set(val))[:5]}",
                       "a fold's validation indices must be left out of its training indices")
            if set(train) | set(val) != set(range(n)):
                missing = sorted(set(range(n)) - set(train) - set(val))
                _wrong(f"folds({n}, {k}) leaves out the indices {missing[:5]} in one fold",
                       "each fold trains on every index it does not validate on")
        if validated != list(range(n)):
            unused = sorted(set(range(n)) - set(validated))
            if unused:
                _wrong(f"with n={n} and k={k} the indices {unused} never validate",
                       "the last fold takes the remainder: use bounds i·n//k to (i+1)·n//k")
            _wrong(f"with n={n} and k={k} some indices validate more than once",
                   "the validation parts must not overlap")
        sizes = [len(val) for _, val in pairs]
        if max(sizes) - min(sizes) > 1:
            _wrong(f"the validation folds have sizes {sizes}",
                   "make them as equal as possible: bounds i·n//k to (i+1)·n//k")
    _correct("every index validates exactly once, never in its own training part, in folds of "
             "equal size (±1)")


def _indices(values) -> list[int]:
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    try:
        return [int(i) for i in values]
    except (TypeError, ValueError):
        _wrong(f"expected a list or tensor of indices, got {type(values).__name__}",
               "return lists of whole numbers, or index tensors")


def check_memorized(run, share: float) -> None:
    """Check `share`: of the training images whose label was flipped, the share on which the
    trained model of `run` (kept with keep_model=True) predicts the flipped, wrong label."""
    answer = _number("share", share)
    if getattr(run, "model", None) is None:
        raise AssertionError("the run has no model: run the experiment with keep_model=True")
    experiment = run.experiment
    if not experiment.label_noise:
        raise AssertionError("the run's labels are clean: use a run with label_noise > 0")
    device = next(run.model.parameters()).device
    noisy = experiment.data(device)
    clean = experiment.replace(label_noise=0.0).data(device)
    flipped = noisy.y_train != clean.y_train
    was_training = run.model.training
    run.model.eval()
    with torch.no_grad():
        predicted = run.model(noisy.x_train).argmax(dim=1)
    run.model.train(was_training)
    expected = (predicted[flipped] == noisy.y_train[flipped]).float().mean().item()
    true_class = (predicted[flipped] == clean.y_train[flipped]).float().mean().item()
    if _close(answer, expected):
        return _correct(f"the network predicts the flipped label on {expected:.1%} of the "
                        f"{int(flipped.sum())} flipped images, and their true class on "
                        f"{true_class:.1%}")
    if _close(answer, true_class):
        _wrong("that is the share where the network predicts the true class",
               "compare the predictions with the flipped labels, noisy.y_train")
    if _close(answer, (predicted == noisy.y_train).float().mean().item()):
        _wrong("that is the accuracy on all training images",
               "keep only the flipped ones: noisy.y_train != clean.y_train")
    if _close(answer, flipped.float().mean().item()):
        _wrong("that is the share of flipped labels, the noise level",
               "compare the model's predictions on the flipped images with their labels")
    _wrong(f"{answer:.4f} is not the share of flipped images that get their flipped label",
           "predict on noisy.x_train in eval mode, take argmax, and compare on the flipped rows")
