"""Checks for the exercises of the chapter on noise.

The chapter's exercises use `check_matching_lambda`, `check_sigma_units` and `check_candidates`;
the other checks remain for earlier versions of it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import STD
from ..train import evaluate
from ._checks import _check_new_tensor, _close, _correct, _number, _wrong, check_best_value


def check_add_noise(add_noise) -> None:
    """Check `add_noise(x, sigma)`: x plus fresh Gaussian noise of std sigma, x left unchanged."""
    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        torch.manual_seed(0)
        _check_add_noise(add_noise, torch.randn(2_000, 1, 28, 28))
    _correct("add_noise adds zero-mean noise with std σ, fresh at every call, and leaves x alone")


def _check_add_noise(add_noise, x: torch.Tensor) -> None:
    for sigma in (0.0, 0.5, 2.0):
        original = x.clone()
        noisy = add_noise(x, sigma)
        _check_new_tensor(x, original, noisy, f"add_noise(x, {sigma})")
        noise = noisy - x
        std, mean = noise.std().item(), noise.mean().item()
        if sigma == 0:
            if std > 1e-6:
                _wrong("with sigma = 0 the images should come back unchanged",
                       "scale the noise by sigma, so that no noise means no change")
            continue
        if abs(mean) > 0.02:
            _wrong(f"the noise has mean {mean:.3f}", "use zero-mean noise: torch.randn_like(x)")
        if abs(std - sigma * STD) < 0.02 * sigma:
            _wrong(f"the noise has std {std:.3f}, σ times the pixel std {STD}",
                   "the images are already normalized, so σ is in units of the pixel std: "
                   "multiply randn by sigma alone")
        if abs(std - sigma ** 0.5) < 0.02 * sigma ** 0.5 and abs(sigma ** 0.5 - sigma) > 0.1:
            _wrong(f"the noise has std {std:.3f}, the square root of σ",
                   "σ is the standard deviation, not the variance")
        if abs(std - sigma) > 0.02 * sigma:
            _wrong(f"with sigma = {sigma} the noise has std {std:.3f}",
                   "add sigma * torch.randn_like(x)")
        if torch.equal(add_noise(x, sigma), noisy):
            _wrong("two calls gave the same noise", "draw fresh noise at every call")


def check_noisy_accuracy(model, x, y, sigma: float, accuracy: float, seed: int = 0) -> None:
    """Check `accuracy`: the model's accuracy on x + σ·noise drawn from a generator seeded `seed`."""
    answer = _number("accuracy", accuracy)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    noise = torch.randn(x.shape, generator=generator, device=x.device)
    _, expected = evaluate(model, x + sigma * noise, y)
    if _close(answer, expected):
        return _correct(f"accuracy {expected:.3f} on images with noise of std {sigma:g}")
    _, clean = evaluate(model, x, y)
    if sigma != 0 and _close(answer, clean):
        _wrong("that is the accuracy on the clean images", "add sigma times the noise to x first")
    _, pixel_units = evaluate(model, x + sigma * STD * noise, y)
    if sigma != 0 and _close(answer, pixel_units):
        _wrong("the noise was scaled by the pixel std", "the images are normalized: σ is already "
               "in units of the pixel std, so add sigma * noise")
    if _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give a fraction between 0 and 1")
    if 0 <= answer <= 1 and abs(answer - expected) < 0.05:
        _wrong(f"close ({expected:.3f} expected) but not the same noise",
               f"draw it with torch.randn(x.shape, generator=g, device=x.device), where "
               f"g = torch.Generator(device=x.device).manual_seed({seed})")
    _wrong("that is not the accuracy on the noisy images",
           "draw the noise from a seeded generator, add sigma times it to x, and call "
           "ru.train.evaluate(model, noisy_x, y)")


def check_best_sigma(result, sigma: float) -> None:
    """Check `sigma`: the σ of the sweep with the highest mean validation accuracy."""
    check_best_value(result, sigma, name="sigma", symbol="σ")


def check_matching_lambda(n: int, sigma: float, answer) -> None:
    """Check `answer`: the λ of the penalty λ‖w‖² that, added to the *summed* squared error
    Σᵢ (yᵢ − wᵀxᵢ)² over `n` examples, gives the same minimizer as input noise of std `sigma`."""
    n, sigma, answer = int(_number("n", n)), _number("sigma", sigma), _number("matching_lambda", answer)
    expected = n * sigma ** 2
    if _close(answer, expected):
        return _correct(f"each of the {n} terms adds σ²‖w‖² in expectation, so λ = nσ² = {expected:g}")
    if _close(answer, sigma ** 2):
        _wrong("σ² is the answer for the *mean* squared error", "here the errors are summed over "
               "the n examples: each contributes its own σ²‖w‖²")
    if _close(answer, n * sigma):
        _wrong("λ should grow with the noise's variance, not its standard deviation",
               "with noise σε, ε ~ N(0, I), the expected square E[(σ wᵀε)²] is σ²‖w‖²")
    if _close(answer, n * sigma ** 2 / 2) or _close(answer, sigma ** 2 / 2):
        _wrong("there is no factor ½ in this loss", "the loss is Σᵢ (yᵢ − wᵀxᵢ)² with no ½ in front")
    _wrong(f"λ = {answer:g} does not give the same minimizer", "expand E[(yᵢ − wᵀ(xᵢ + σεᵢ))²]: "
           "the cross term vanishes and one term σ²‖w‖² is left for every example")


def check_sigma_units(paper_sigma: float, answer, pixel_range=(0.0, 1.0)) -> None:
    """Check `answer`: the σ for `ru.InputNoise` (normalized pixel units) that adds the same noise
    as std `paper_sigma` on pixels scaled to `pixel_range`, black to white."""
    paper_sigma, answer = _number("paper_sigma", paper_sigma), _number("our_sigma", answer)
    low, high = (_number("pixel_range", end) for end in pixel_range)
    width = high - low  # a unit of the paper's scale is 1 / width of ours in [0, 1]
    expected = paper_sigma / (width * STD)
    if _close(answer, expected):
        return _correct(f"std {paper_sigma:g} on pixels in [{low:g}, {high:g}] is std "
                        f"{paper_sigma / width:g} on [0, 1] and {expected:.3f} in units of the pixel "
                        f"std {STD}")
    if width != 1 and _close(answer, paper_sigma / STD):
        _wrong(f"that is the conversion for pixels in [0, 1]; these span [{low:g}, {high:g}]",
               f"first bring the std to the [0, 1] scale, which is {width:g} times narrower")
    if width != 1 and _close(answer, paper_sigma * width / STD):
        _wrong("the width of the pixel range goes the other way", f"a range {width:g} times wider "
               "makes the same noise a larger number: divide by the width")
    if _close(answer, paper_sigma * STD / width) or _close(answer, paper_sigma * STD):
        _wrong("the conversion goes the other way", "normalized pixels are (pixel − mean) / std, so "
               "a noise of std s on [0, 1] pixels has std s / std after normalizing")
    if _close(answer, paper_sigma):
        _wrong("the units differ", f"ru.InputNoise works on normalized pixels, whose unit is the "
               f"pixel std {STD} of the [0, 1] scale")
    _wrong(f"{answer:g} is not the same noise", "bring the std to the [0, 1] scale, then divide by "
           "ru.data.STD")


def check_candidates(sweep, baseline_runs, candidates) -> None:
    """Check `candidates`: the σ values of `sweep` (and 0.0, the baseline runs) whose mean validation
    loss is within noise of the lowest, by a paired 95% interval that contains zero."""
    from ..stats import paired_difference
    values = [0.0, *sweep.values]
    per_value = {0.0: np.array([run.metrics["val_loss"] for run in baseline_runs], float)}
    for value in sweep.values:
        per_value[value] = sweep.at(value, "val_loss")
    if any(len(v) != len(per_value[0.0]) for v in per_value.values()):
        _wrong("the baseline runs and the sweep have different numbers of seeds",
               "pass the baseline runs of the same seeds as the sweep")
    best = min(values, key=lambda v: per_value[v].mean())
    truth = sorted(v for v in values if v == best
                   or not paired_difference(per_value[v], per_value[best]).excludes(0.0))
    try:
        answer = sorted(float(_number("candidate", value)) for value in candidates)
    except TypeError:
        _wrong(f"candidates should be a list of σ values, got {type(candidates).__name__}",
               "make a list such as [1.0, 2.0]")
    if len(answer) == len(truth) and all(_close(a, t) for a, t in zip(answer, truth)):
        return _correct(f"lowest mean validation loss at σ = {best:g}; within noise of it: "
                        f"{', '.join(f'{v:g}' for v in truth)}")
    unknown = [a for a in answer if not any(_close(a, v) for v in values)]
    if unknown:
        _wrong(f"{unknown} are not values of the sweep", f"choose from {values}")
    if len(answer) == 1 and _close(answer[0], best):
        _wrong("that is the best value only", "include every σ whose paired difference to the "
               "best has an interval that contains zero")
    by_acc = max(values, key=lambda v: (np.array([r.metrics["val_acc"] for r in baseline_runs])
                                        if v == 0.0 else sweep.at(v, "val_acc")).mean())
    if any(_close(a, by_acc) for a in answer) and not any(_close(by_acc, t) for t in truth):
        _wrong(f"σ = {by_acc:g} has the best validation accuracy but not a loss within noise of the best",
               "judge by the validation loss, as the exercise asks")
    missing = [t for t in truth if not any(_close(a, t) for a in answer)]
    extra = [a for a in answer if not any(_close(a, t) for t in truth)]
    _wrong(f"missing {missing}, not within noise: {extra}", "for each σ, take the per-seed "
           "differences to the best σ's validation loss and check whether their 95% interval "
           "(ru.stats.paired_difference) excludes zero")
