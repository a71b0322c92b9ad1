"""Checks for the exercises of the tuning chapter: class-dependent label noise, k folds, and how
much of the noise a network memorized. `check_flip_labels`, for the symmetric noise that
`ru.data.flip_labels` makes, stays for coursework of the chapter's earlier version.

Each check works out the truth itself, from inputs it makes or runs it recomputes.

>>> check_folds(lambda n, k: [(list(range(n)), [])] * k)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: with n=23 and k=5 the indices [0, 1, 2, ...] never validate...
"""
from __future__ import annotations

import torch

from ..data import CLASSES
from ._checks import _check_new_tensor, _close, _correct, _number, _wrong

# A class-dependent confusion: each digit turns into one it is often mistaken for.
CONFUSION = torch.tensor([6, 7, 7, 8, 9, 6, 5, 1, 3, 4])


def check_flip_to(flip_to) -> None:
    """Check `flip_to(labels, fraction, confusion, generator)`: a new tensor with round(fraction·n)
    labels, at random positions drawn from `generator` only, replaced by confusion[label]."""
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        _check_flip_to(flip_to)
    _correct("flip_to changes exactly round(fraction·n) labels at random positions, each to the "
             "class the confusion gives it, drawn from the generator, and leaves its input alone")


def _check_flip_to(flip_to) -> None:
    labels = torch.arange(500) % CLASSES
    flip = lambda given, fraction, generator: flip_to(given, fraction, CONFUSION.clone(), generator)
    for fraction, flipped in _flips(flip, labels, "flip_to(labels, {}, confusion, generator)"):
        if flipped.dtype != labels.dtype:
            _wrong(f"the labels came back as {flipped.dtype}, not {labels.dtype}",
                   "keep the dtype: index the confusion tensor with the chosen labels")
        changed = flipped != labels
        expected = round(fraction * len(labels))
        if int(changed.sum()) != expected:
            _wrong(f"with fraction {fraction}, {int(changed.sum())} of {len(labels)} labels changed "
                   f"instead of {expected}", "choose round(fraction·n) distinct positions (the "
                   "first ones of torch.randperm(n, generator=generator)) and change each of those")
        if not torch.equal(flipped[changed], CONFUSION[labels[changed]]):
            if torch.equal(labels[changed], CONFUSION[flipped[changed]]):
                _wrong("the confusion was applied backwards", "the new label of a digit y is "
                       "confusion[y]")
            _wrong("some changed labels are not the class the confusion gives",
                   "set flipped[chosen] = confusion[labels[chosen]]")
    sevens = torch.full((200,), 7)
    spread = flip_to(sevens, 0.5, CONFUSION.clone(), torch.Generator().manual_seed(0))
    if int((spread != 7).sum()) != 100:
        _wrong("on a tensor of sevens, not half of them changed", "choose the positions among all "
               "labels, not among the classes")
    _check_seeded(flip, labels, "draw the positions from `generator`, not from a fixed seed or a "
                  "fixed order")
    changed = flip(labels, 0.3, torch.Generator().manual_seed(0)) != labels
    if torch.equal(changed, labels < 0) or torch.equal(
            changed, torch.arange(len(labels)) < round(0.3 * len(labels))):
        _wrong("the first labels were flipped, not random ones", "take the first positions of a "
               "random permutation, torch.randperm(n, generator=generator)")


def check_flip_labels(flip) -> None:
    """Check `flip(labels, fraction, generator)`: a new tensor with round(fraction·n) labels moved
    to another class chosen at random, drawn from `generator` only."""
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        _check_flip_labels(flip)
    _correct("flip changes exactly round(fraction·n) labels, each to another class drawn at "
             "random from the generator, and leaves its input alone")


def _check_flip_labels(flip) -> None:
    labels = torch.arange(500) % CLASSES
    for fraction, flipped in _flips(flip, labels, "flip(labels, {}, generator)"):
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
    _check_seeded(flip, labels, "draw the positions and the new classes from `generator`, not "
                  "from a fixed seed")


def _flips(flip, labels: torch.Tensor, call: str):
    """(fraction, flip(labels, fraction, generator)) for each checked fraction, input untouched."""
    for fraction in (0.0, 0.3, 0.45):
        original = labels.clone()
        flipped = flip(labels, fraction, torch.Generator().manual_seed(0))
        _check_new_tensor(labels, original, flipped, call.format(fraction))
        yield fraction, flipped


def _check_seeded(flip, labels: torch.Tensor, hint: str) -> None:
    """One generator seed gives the same flips every time, and another seed other flips."""
    flipped = lambda seed: flip(labels, 0.3, torch.Generator().manual_seed(seed))
    if not torch.equal(flipped(0), flipped(0)):
        _wrong("the same generator seed gave different flips",
               "draw every random number from `generator`: torch.randperm(n, generator=generator)")
    if torch.equal(flipped(0), flipped(1)):
        _wrong("two generator seeds gave the same flips", hint)


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


def check_memorized(share: float, noise: float) -> None:
    """Check `share`: of the training images whose label was flipped, the share on which the
    network trained at that noise level for max(45, the profile's) epochs predicts the flipped,
    wrong label (no other run of the chapter has that noise level and length, so none of them
    answers the exercise). The run is recomputed (or recalled from the cache) here."""
    from ..experiment import Experiment
    from ..profiles import get_profile

    answer = _number("memorized", share)
    noise = _number("the noise level", noise)
    if not 0 < noise < 1:
        _wrong(f"noise level {noise} has no flipped labels to memorize", "pass NOISE, the "
               "share of labels the chapter flips")
    experiment = Experiment(label_noise=noise, epochs=max(45, get_profile().epochs))
    run = experiment.run(keep_model=True)
    device = next(run.model.parameters()).device
    noisy = experiment.data(device)
    clean = experiment.replace(label_noise=0.0).data(device)
    flipped = noisy.y_train != clean.y_train
    run.model.eval()
    with torch.no_grad():
        predicted = run.model(noisy.x_train).argmax(dim=1)
    expected = (predicted[flipped] == noisy.y_train[flipped]).float().mean().item()
    true_class = (predicted[flipped] == clean.y_train[flipped]).float().mean().item()
    if _close(answer, expected):
        return _correct(f"the network predicts the flipped label on {expected:.1%} of the "
                        f"{int(flipped.sum())} flipped images, and their true class on "
                        f"{true_class:.1%}")
    if _close(answer, true_class):
        _wrong("that is the share where the network predicts the true class",
               "compare the predictions with the flipped labels, given.y_train")
    if _close(answer, (predicted == noisy.y_train).float().mean().item()):
        _wrong("that is the accuracy on all training images",
               "keep only the flipped ones: given.y_train != true.y_train")
    if _close(answer, flipped.float().mean().item()):
        _wrong("that is the share of flipped labels, the noise level",
               "compare the model's predictions on the flipped images with their labels")
    if _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give a fraction between 0 and 1")
    _wrong(f"{answer:.4f} is not the share of flipped images that get their flipped label",
           "predict on given.x_train in eval mode, take argmax, and compare on the flipped rows")
