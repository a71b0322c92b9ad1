"""Checks for the exercises of the chapter "Weight decay, coupled and decoupled".

>>> import torch
>>> w, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.5])
>>> check_adamw_step(w, grad, 0.1, 0.5, w * (1 - 0.1 * 0.5) - 0.1 * grad / (grad.abs() + 1e-8))
✓ correct: one AdamW step gives [0.85, -2] (decay moved the weights by [-0.05, 0.1])
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..data import load_mnist
from ..profiles import get_profile
from ._checks import _close, _correct, _history, _number, _wrong

STEP_TOLERANCE = 1e-5


def check_adamw_step(w, grad, lr: float, weight_decay: float, new_w) -> None:
    """Check `new_w`: the weights `w` after one AdamW step (the first) with gradient `grad`."""
    w, grad, answer, lr, weight_decay = _step_inputs(w, grad, lr, weight_decay, new_w,
                                                     "new_w")
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


def check_adam_l2_step(w, grad, lr: float, weight_decay: float, new_w) -> None:
    """Check `new_w`: the weights `w` after one step (the first) of Adam(weight_decay=λ)."""
    w, grad, answer, lr, weight_decay = _step_inputs(w, grad, lr, weight_decay, new_w,
                                                     "new_w_coupled")
    expected = _one_step(torch.optim.Adam, w, grad, lr, weight_decay)
    if _near(answer, expected):
        flipped = [i for i in range(len(w)) if torch.sign(expected[i] - w[i]) != torch.sign(-grad[i])]
        where = (f"; the decay reversed the step of weight{'s' if len(flipped) > 1 else ''} "
                 f"{', '.join(str(i) for i in flipped)}, where λ·w outweighs the gradient"
                 if flipped else "")
        return _correct(f"one Adam(weight_decay=λ) step gives {_short(expected)}{where}")
    if _near(answer, _one_step(torch.optim.AdamW, w, grad, lr, weight_decay)):
        _wrong("that is AdamW's step: the decay went around Adam's normalization",
               "in Adam(weight_decay=λ) the decay is added to the gradient first, g̃ = g + λ·w, "
               "and the step is lr·g̃/(|g̃| + ε)")
    if _near(answer, _one_step(torch.optim.Adam, w, grad, lr, 0.0)):
        _wrong("the decay is missing: that is a plain Adam step", "add λ·w to the gradient first")
    _wrong("those are not the weights after one Adam(weight_decay=λ) step",
           "on the first step m̂ = g̃ and v̂ = g̃² with g̃ = g + λ·w, so the step is "
           "lr·g̃/(|g̃| + ε)")


def check_paper_lambda(run, paper_lambda: float, normalized_lambda: float) -> None:
    """Check the paper's λ (λ_paper = lr·λ, constant schedule) and its normalized λ for `run`."""
    experiment = getattr(run, "experiment", None)
    if experiment is None or experiment.technique != "decoupled_weight_decay":
        _wrong("this check needs the run of a decoupled_weight_decay experiment",
               "pass the RunResult of ru.Experiment(\"decoupled_weight_decay\", λ).run()")
    config = experiment.resolved()
    paper = _number("paper_lambda", paper_lambda)
    normalized = _number("normalized_lambda", normalized_lambda)
    expected = config.lr * config.strength
    if not _close(paper, expected):
        if _close(paper, config.strength / config.lr):
            _wrong("that divides by the learning rate", "PyTorch shrinks by lr·λ per step; the "
                   "paper's λ is that shrink: λ_paper = lr·λ")
        if _close(paper, config.strength):
            _wrong("that is PyTorch's λ itself", "the paper's decay is not multiplied by the base "
                   "learning rate, so its λ is PyTorch's λ times lr")
        _wrong("that is not the paper's λ for this run", "for a constant schedule it is lr·λ")
    epochs = len(_history(run))
    scale = math.sqrt(config.batch_size / (_train_size(config) * epochs))
    expected_normalized = expected / scale
    if _close(normalized, expected_normalized):
        return _correct(f"λ_paper = {config.lr:g} × {config.strength:g} = {expected:.3g}; with "
                        f"b = {config.batch_size}, B = {_train_size(config):,} and T = {epochs}, "
                        f"the normalized decay is {expected_normalized:.3g}")
    if _close(normalized, expected * scale):
        _wrong("that multiplies by √(b/(BT)) instead of dividing",
               "λ = λ_norm·√(b/(BT)), so λ_norm = λ_paper / √(b/(BT))")
    _wrong("that is not the normalized decay", "λ_norm = λ_paper / √(b/(BT)) with b the batch "
           "size, B the training images and T the epochs")


def check_matched_strength(matched: float, lr: float, coupled: float, candidates) -> None:
    """Check `matched`: the candidate decoupled λ whose final weight norm, at `lr`, is closest to
    that of coupled λ = `coupled`, averaged over the profile's seeds (the runs are made here)."""
    from ..experiment import Experiment

    candidates = [float(c) for c in candidates]
    answer = _number("matched", matched)
    seeds = get_profile().seeds

    def norm(technique, strength):
        return float(np.mean([Experiment(technique, strength, lr=lr, seed=seed).run()
                              .history["weight_norm"][-1] for seed in seeds]))

    with torch.random.fork_rng(devices=[]):  # the student's own random stream is left untouched
        target = norm("coupled_weight_decay", coupled)
        norms = [norm("decoupled_weight_decay", c) for c in candidates]
    expected = candidates[int(np.argmin([abs(n - target) for n in norms]))]
    if _close(answer, expected):
        ratio, inverse = expected / coupled, 1 / lr
        closer = "the gradient RMS" if abs(math.log(ratio / 1000)) < abs(math.log(ratio / inverse)) \
            else "the inverse learning rate"
        return _correct(f"coupled λ = {coupled:g} ends at ‖w‖ = {target:.2f}, decoupled λ = "
                        f"{expected:g} at {norms[candidates.index(expected)]:.2f}: a ratio of "
                        f"{ratio:.0f}, closer to the prediction from {closer} (1000 against 1/η = "
                        f"{inverse:.0f})")
    if _close(answer, coupled / lr):
        _wrong(f"{answer:g} is the 1/η prediction, not a measurement",
               "compare the final weight norms of the grid's runs and pick the closest")
    if not any(_close(answer, c) for c in candidates):
        _wrong(f"{answer:g} is not one of the candidates", f"pick one of {candidates}")
    _wrong(f"λ = {answer:g} does not end at the weight norm closest to the coupled run's "
           f"({target:.2f})", "average history['weight_norm'][-1] over the seeds for each "
           "candidate and take the one nearest the coupled run's")


def _train_size(config) -> int:
    if config.train_size is not None:
        return config.train_size
    profile = get_profile(config.profile)  # "every image the source holds": ask the data
    return len(load_mnist(None, val_size=profile.val_size, test_size=profile.test_size,
                          seed=config.seed).y_train)


def _tensor(name: str, value) -> torch.Tensor:
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=torch.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be a tensor or an array of numbers, got "
                             f"{type(value).__name__}") from None


def _step_inputs(w, grad, lr, weight_decay, new_w, name: str):
    """The inputs of a one-step exercise as tensors and numbers, the answer shaped like `w`."""
    w, grad = _tensor("w", w), _tensor("grad", grad)
    answer = _tensor(name, new_w)
    if answer.shape != w.shape:
        _wrong(f"{name} has shape {tuple(answer.shape)}, w has {tuple(w.shape)}",
               "the step changes every weight and keeps the shape")
    return w, grad, answer, _number("lr", lr), _number("weight_decay", weight_decay)


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

