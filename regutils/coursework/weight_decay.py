"""Checks for the exercises of the chapter "Weight decay, coupled and decoupled".

>>> import torch
>>> w, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.5])
>>> check_adamw_step(w, grad, 0.1, 0.5, w * (1 - 0.1 * 0.5) - 0.1 * grad / (grad.abs() + 1e-8))
✓ correct: one AdamW step gives [0.85, -2] (decay moved the weights by [-0.05, 0.1])
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import load_mnist
from ..profiles import get_profile
from ._checks import _close, _correct, _history, _number, _wrong, check_best_value

STEP_TOLERANCE = 1e-5


def check_total_shrink(run, shrink: float) -> None:
    """Check `shrink`: the factor decoupled decay alone multiplies a weight by over the whole run."""
    experiment = getattr(run, "experiment", None)
    if experiment is None or experiment.technique != "decoupled_weight_decay":
        _wrong("this check needs the run of a decoupled_weight_decay experiment",
               "pass the RunResult of ru.Experiment(\"decoupled_weight_decay\", λ).run()")
    history = _history(run)
    answer = _number("shrink", shrink)
    config = experiment.resolved()
    steps_per_epoch = _steps_per_epoch(config)
    steps = steps_per_epoch * len(history)
    per_step = 1 - config.lr * config.strength
    expected = per_step ** steps
    if _close(answer, expected):
        return _correct(f"{steps} steps of (1 − {config.lr:g}·{config.strength:g}) = "
                        f"{per_step:.6g} multiply a weight by {expected:.4g}")
    if _close(answer, per_step):
        _wrong("that is the factor of a single step", f"the run made {steps_per_epoch} steps in "
               f"each of its {len(history)} epochs, and each step multiplies by that factor again")
    if _close(answer, per_step ** len(history)):
        _wrong("that counts one shrink per epoch", f"the weights shrink at every optimizer step: "
               f"{steps_per_epoch} per epoch")
    if _close(answer, max(0.0, 1 - config.strength) ** steps):
        _wrong("the learning rate is missing", "decoupled decay shrinks by lr·λ per step, not λ")
    if _close(answer, 1 - config.lr * config.strength * steps):
        _wrong("that is the linear approximation 1 − N·lr·λ",
               "the factors multiply: raise (1 − lr·λ) to the power N")
    _wrong("that is not the factor decay alone applies over the run",
           "each optimizer step multiplies a weight by (1 − lr·λ); count the steps: epochs × "
           "(training images // batch size)")


def check_adamw_step(w, grad, lr: float, weight_decay: float, new_w) -> None:
    """Check `new_w`: the weights `w` after one AdamW step (the first) with gradient `grad`."""
    w, grad = _tensor("w", w), _tensor("grad", grad)
    answer = _tensor("new_w", new_w)
    if answer.shape != w.shape:
        _wrong(f"new_w has shape {tuple(answer.shape)}, w has {tuple(w.shape)}",
               "the step changes every weight and keeps the shape")
    lr, weight_decay = _number("lr", lr), _number("weight_decay", weight_decay)
    expected = _one_step(torch.optim.AdamW, w, grad, lr, weight_decay)
    if _near(answer, expected):
        decay = expected - _one_step(torch.optim.AdamW, w, grad, lr, 0.0)
        return _correct(f"one AdamW step gives {_short(expected)} (decay moved the weights by "
                        f"{_short(decay)})")
    if _near(answer, _one_step(torch.optim.Adam, w, grad, lr, weight_decay)):
        _wrong("that is Adam(weight_decay=λ): the decay went into the gradient",
               "in AdamW the decay does not pass through Adam's division by √v; shrink the "
               "weights by lr·λ·w apart from the Adam step")
    if _near(answer, _one_step(torch.optim.Adam, w, grad, lr, 0.0)):
        _wrong("the decay is missing: that is a plain Adam step",
               "subtract lr·λ·w as well")
    if _near(answer, w * (1 - weight_decay) + (expected - w * (1 - lr * weight_decay))):
        _wrong("the decay is λ·w instead of lr·λ·w", "decoupled decay is scaled by the "
               "learning rate too: w ← w − lr·λ·w − lr·m̂/(√v̂ + ε)")
    _wrong("those are not the weights after one AdamW step",
           "on the first step Adam's bias-corrected moments are m̂ = g and v̂ = g², so the Adam "
           "part is lr·g/(|g| + ε); the decay part is lr·λ·w")


def check_best_strength(result, strength: float) -> None:
    """Check `strength`: the swept value with the highest validation accuracy, averaged over seeds."""
    if not hasattr(result, "mean") or getattr(result, "knob", None) != "strength":
        _wrong("this check needs a SweepResult over strength",
               "pass what ru.sweep(technique, values) returned")
    check_best_value(result, strength, name="strength", symbol="λ", noun="strengths")


def _steps_per_epoch(config) -> int:
    train_size = config.train_size
    if train_size is None:  # "every image the source holds": ask the data how many that is
        profile = get_profile(config.profile)
        train_size = len(load_mnist(None, val_size=profile.val_size,
                                    test_size=profile.test_size, seed=config.seed).y_train)
    return train_size // min(config.batch_size, train_size)


def _tensor(name: str, value) -> torch.Tensor:
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=torch.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be a tensor or an array of numbers, got "
                             f"{type(value).__name__}") from None


def _one_step(optimizer, w, grad, lr, weight_decay) -> torch.Tensor:
    parameter = torch.nn.Parameter(w.clone())
    parameter.grad = grad.clone()
    optimizer([parameter], lr=lr, weight_decay=weight_decay).step()
    return parameter.detach()


def _near(answer: torch.Tensor, expected: torch.Tensor) -> bool:
    return bool(torch.allclose(answer, expected, rtol=STEP_TOLERANCE, atol=STEP_TOLERANCE))


def _short(tensor: torch.Tensor) -> str:
    values = tensor.flatten().tolist()
    text = ", ".join(f"{value:.4g}" for value in values[:4])
    return f"[{text}{', …' if len(values) > 4 else ''}]"

