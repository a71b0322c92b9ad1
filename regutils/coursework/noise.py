"""Checks for the exercises of the chapter on noise."""
from __future__ import annotations

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
    _correct("add_noise adds zero-mean noise with std σ, fresh at every call, and leaves x alone")


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