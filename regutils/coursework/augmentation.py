"""Checks for the exercises of the chapter "Data augmentation".

`check_rotate` knows no way to rotate an image: it turns smooth test images whose rotated
versions it can write down directly (a Gaussian spot moved to where the rotation takes it), so
nothing here solves the exercise.

>>> check_rotate(lambda x, degrees: x.clone())  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: the rotated images do not match. Hint: build theta (N×2×3) ...
"""
from __future__ import annotations

import math

import torch

from ..data import BACKGROUND
from ._checks import _check_new_tensor, _close, _correct, _number, _wrong, check_best_value

PIXEL_TOLERANCE = 0.1   # of a spot 2 high: bilinear sampling blurs it by a few hundredths
SPOT = (0.3, -0.2, 0.2, 2.0)  # centre (x, y) and width in the grid's units of [-1, 1], height
ANGLES = (90.0, -90.0, 30.0, -12.0, 0.0, 45.0)
SIZE = 28


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    """The x and y coordinate, in [-1, 1], of each pixel centre (F.affine_grid's convention)."""
    centres = (2 * torch.arange(SIZE, dtype=torch.float64) + 1) / SIZE - 1
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    return x, y


def _spots(radians: torch.Tensor, black: float = BACKGROUND) -> torch.Tensor:
    """Images of the spot, image i sampled at every pixel p from R(radians[i])·p."""
    x, y = _grid()
    centre_x, centre_y, width, height = SPOT
    images = []
    for angle in radians.tolist():
        cos, sin = math.cos(angle), math.sin(angle)
        from_x, from_y = cos * x - sin * y, sin * x + cos * y
        inside = (from_x.abs() <= 1) & (from_y.abs() <= 1)
        spot = height * torch.exp(-((from_x - centre_x) ** 2 + (from_y - centre_y) ** 2)
                                  / (2 * width ** 2))
        images.append(torch.where(inside, BACKGROUND + spot, torch.full_like(x, black)))
    return torch.stack(images)[:, None].float()


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool((a - b).abs().max() < PIXEL_TOLERANCE)


def check_rotate(rotate) -> None:
    """Check `rotate(x, degrees)`: image i turned by degrees[i] (counterclockwise), black border."""
    degrees = torch.tensor(ANGLES)
    radians = torch.deg2rad(degrees.double())
    x = _spots(torch.zeros(len(ANGLES), dtype=torch.float64))
    original = x.clone()
    answer = rotate(x, degrees)
    _check_new_tensor(x, original, answer, "rotate(x, degrees)")
    answer = answer.detach().float()
    if _same(answer, _spots(radians)):
        return _correct("each image turned by its own angle, with a black border")
    if _same(answer, _spots(-radians)):
        _wrong("your images turn the wrong way", "a positive angle should turn the digit "
               "counterclockwise, as torch.rot90(x, 1, dims=(2, 3)) does for 90°: use "
               "[[cos, −sin, 0], [sin, cos, 0]]")
    if _same(answer, _spots(degrees.double())):
        _wrong("the angles were used as radians", "torch.cos and torch.sin take radians: "
               "multiply the degrees by π/180 (torch.deg2rad)")
    turned = ANGLES.index(45.0)
    corners = answer[turned, 0, [0, 0, -1, -1], [0, -1, 0, -1]] if answer.ndim == 4 else None
    if corners is not None and bool((corners.abs() < 0.05).all()):
        _wrong("the corners are filled with 0, which in normalized units is not black but a "
               "faint gray", "grid_sample pads with zeros: subtract ru.data.BACKGROUND before "
               "sampling and add it back afterwards")
    if _same(answer, _spots(radians[:1].expand(len(ANGLES)))):
        _wrong("every image was turned by the first angle", "build one 2×3 matrix per image "
               "(theta of shape N×2×3), one for each entry of degrees")
    _wrong("the rotated images do not match", "build theta (N×2×3) from cos and sin of each "
           "angle in radians, then F.affine_grid(theta, x.shape, align_corners=False) and "
           "F.grid_sample(x − BACKGROUND, grid, align_corners=False) + BACKGROUND")


def check_best_strength(result, strength: float) -> None:
    """Check `strength`: the value of the sweep with the highest mean validation accuracy."""
    check_best_value(result, strength, name="strength", symbol="strength", noun="strengths")


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
