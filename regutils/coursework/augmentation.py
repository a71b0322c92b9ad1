"""Checks for the exercises of the chapter "Data augmentation".

>>> check_rotate(_reference_rotate)
✓ correct: each image turned by its own angle, with a black border
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data import BACKGROUND
from ._checks import _check_new_tensor, _close, _correct, _number, _wrong

PIXEL_TOLERANCE = 1e-4


def _reference_rotate(x: torch.Tensor, degrees: torch.Tensor, *, black: float = BACKGROUND,
                      per_sample: bool = True, scale: float = math.pi / 180) -> torch.Tensor:
    """Each image of `x` (N×1×28×28, normalized) turned by degrees[i], padded with `black`."""
    angle = degrees.to(x.dtype) * scale
    if not per_sample:
        angle = angle[:1].expand(len(x))
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - black, grid, align_corners=False) + black


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool((a - b).abs().max() < PIXEL_TOLERANCE)


def check_rotate(rotate) -> None:
    """Check `rotate(x, degrees)`: image i turned by degrees[i] (counterclockwise), black border."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 1, 28, 28, generator=generator)
    degrees = torch.tensor([90.0, -90.0, 30.0, -12.0, 0.0, 45.0])
    original = x.clone()
    answer = rotate(x, degrees)
    _check_new_tensor(x, original, answer, "rotate(x, degrees)")
    answer = answer.detach().float()
    if _same(answer, _reference_rotate(x, degrees)):
        return _correct("each image turned by its own angle, with a black border")
    if _same(answer, _reference_rotate(x, -degrees)):
        _wrong("your images turn the wrong way", "a positive angle should turn the digit "
               "counterclockwise, as torch.rot90(x, 1, dims=(2, 3)) does for 90°: use "
               "[[cos, −sin, 0], [sin, cos, 0]]")
    if _same(answer, _reference_rotate(x, degrees, scale=1.0)):
        _wrong("the angles were used as radians", "torch.cos and torch.sin take radians: "
               "multiply the degrees by π/180 (torch.deg2rad)")
    if _same(answer, _reference_rotate(x, degrees, black=0.0)):
        _wrong("the corners are filled with 0, which in normalized units is not black but a "
               "faint gray", "grid_sample pads with zeros: subtract ru.data.BACKGROUND before "
               "sampling and add it back afterwards")
    if _same(answer, _reference_rotate(x, degrees, per_sample=False)):
        _wrong("every image was turned by the first angle", "build one 2×3 matrix per image "
               "(theta of shape N×2×3), one for each entry of degrees")
    _wrong("the rotated images do not match", "build theta (N×2×3) from cos and sin of each "
           "angle in radians, then F.affine_grid(theta, x.shape, align_corners=False) and "
           "F.grid_sample(x − BACKGROUND, grid, align_corners=False) + BACKGROUND")


def check_best_strength(result, strength: float) -> None:
    """Check `strength`: the value of the sweep with the highest mean validation accuracy."""
    answer = _number("strength", strength)
    values = list(result.values)
    val_acc = result.mean("val_acc")
    best = values[int(val_acc.argmax())]
    if _close(answer, best):
        return _correct(f"strength {best:g} reaches the highest mean validation accuracy, "
                        f"{val_acc.max():.3f}")
    if answer == int(answer) and 0 <= int(answer) < len(values) and values[int(answer)] == best:
        _wrong(f"{answer:g} is the position of the best value in the list, not the value",
               f"index result.values with it: result.values[{int(answer)}] = {best:g}")
    gap = result.mean("generalization_gap")
    if _close(answer, values[int(gap.argmin())]):
        _wrong("that strength has the smallest generalization gap", "a small gap is not the "
               "goal: the question asks for the highest validation accuracy")
    if _close(answer, values[int(result.mean("train_acc").argmax())]):
        _wrong("that strength has the highest training accuracy",
               "use result.mean('val_acc')")
    if answer not in values:
        _wrong(f"{answer:g} is not one of the sweep's strengths", f"they are {values}")
    _wrong(f"strength {answer:g} does not have the highest mean validation accuracy",
           "take result.mean('val_acc'), find its largest entry, and give the matching value "
           "of result.values")


def check_flipped_accuracy(model, x_val: torch.Tensor, y_val: torch.Tensor,
                           accuracy: float) -> None:
    """Check `accuracy`: the model's accuracy on the validation digits mirrored left to right."""
    answer = _number("accuracy", accuracy)
    was_training = model.training
    model.eval()

    def score(images):
        with torch.no_grad():
            return (model(images).argmax(1) == y_val).float().mean().item()

    try:
        expected = score(torch.flip(x_val, dims=(3,)))
        upside_down = score(torch.flip(x_val, dims=(2,)))
        clean = score(x_val)
    finally:
        model.train(was_training)
    if _close(answer, expected):
        return _correct(f"on mirrored digits the model scores {expected:.3f}, against "
                        f"{clean:.3f} on the digits as written")
    if _close(answer, 100 * expected):
        _wrong("that looks like a percentage", "give the accuracy as a fraction between 0 and 1")
    if _close(answer, upside_down):
        _wrong("that is the accuracy on digits flipped upside down", "mirror left to right: "
               "flip the last dimension, torch.flip(x_val, dims=(3,))")
    if _close(answer, clean):
        _wrong("that is the accuracy on the unflipped digits", "flip the images before the "
               "forward pass")
    if _close(answer, 1 - expected):
        _wrong("that is the error rate", "give the share of correct predictions")
    _wrong("that is not the accuracy on the mirrored validation digits",
           "in eval mode and under torch.no_grad(), predict torch.flip(x_val, dims=(3,)) and "
           "compare the argmax with y_val")
