"""Checks for the exercises of the chapter "Data augmentation".

Each check works out the truth itself: `check_shear` from where single bright pixels must land,
the others by recomputing (or recalling from the cache) the runs the exercise names.

>>> check_shear(lambda x, factor: x)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: the image did not slant...
"""
from __future__ import annotations

import torch

from ..data import BACKGROUND
from ._checks import _check_new_tensor, _correct, _number, _wrong

SIDE = 28
CENTRE = (SIDE - 1) / 2  # 13.5: the row that a horizontal shear leaves where it is
POSITION_TOLERANCE = 0.02  # pixels: bilinear interpolation moves a point's centroid exactly
# Bright single pixels (row, column), away from the border so that no factor below moves them out.
POINTS = [(4, 14), (9, 10), (14, 16), (19, 12), (24, 15)]
FACTORS = (0.3, -0.2, 0.15, 0.0)


def _point_image(points) -> torch.Tensor:
    image = torch.full((1, SIDE, SIDE), BACKGROUND)
    for row, column in points:
        image[0, row, column] = BACKGROUND + 3.0
    return image


def _row_centroids(image: torch.Tensor) -> dict[int, float]:
    """Per row holding ink, the mean column of the ink (its excess over black)."""
    ink = (image[0] - BACKGROUND).clamp_min(0)
    columns = torch.arange(SIDE, dtype=ink.dtype)
    centroids = {}
    for row in range(SIDE):
        mass = ink[row].sum()
        if mass > 1e-3:
            centroids[row] = float((ink[row] * columns).sum() / mass)
    return centroids


def _landed(answer: torch.Tensor, factors: torch.Tensor, expected_shift) -> bool:
    """True if every point of every image moved sideways by expected_shift(factor, row)."""
    for image, factor in zip(answer, factors.tolist()):
        centroids = _row_centroids(image)
        for row, column in POINTS:
            target = column + expected_shift(factor, row)
            if row not in centroids or abs(centroids[row] - target) > POSITION_TOLERANCE:
                return False
    return True


def check_shear(shear) -> None:
    """Check `shear(x, factor)`: row r of image i moves sideways by factor[i]·(13.5 − r) pixels,
    the rest padded with black."""
    factors = torch.tensor(FACTORS)
    x = _point_image(POINTS).unsqueeze(0).repeat(len(factors), 1, 1, 1)
    original = x.clone()
    answer = shear(x, factors)
    _check_new_tensor(x, original, answer, "shear(x, factor)")
    answer = answer.detach().float().cpu()
    black = torch.full((1, 1, SIDE, SIDE), BACKGROUND)
    border = shear(black, torch.tensor([0.5])).detach().float().cpu()
    if not torch.allclose(border, black, atol=1e-4):
        if torch.allclose(border[0, 0, 0, :4], torch.zeros(4), atol=1e-4):
            _wrong("the corners that come in from outside the frame are 0, which in normalized "
                   "units is a faint gray, not black", "grid_sample pads with zeros: subtract "
                   "ru.data.BACKGROUND before sampling and add it back afterwards")
        _wrong("a black image does not stay black", "pad with ru.data.BACKGROUND, the normalized "
               "black, and change nothing else")
    if _landed(answer, factors, lambda k, row: k * (CENTRE - row)):
        return _correct("every row moves sideways by factor·(13.5 − row) pixels, each image by "
                        "its own factor, with a black border")
    if _landed(answer, factors, lambda k, row: -k * (CENTRE - row)):
        _wrong("your digits slant the wrong way", "a positive factor should move the top rows to "
               "the right: the grid reads the input at x + factor·y, so put the factor at "
               "theta[:, 0, 1]")
    moved_rows = any(set(_row_centroids(image)) != {row for row, _ in POINTS}
                     for image in answer)
    if moved_rows:
        _wrong("rows moved up or down: that is a vertical shear", "a horizontal shear changes "
               "only the column: the factor belongs in the first row of theta, theta[:, 0, 1]")
    first = factors[:1].expand(len(factors))
    if _landed(answer, first, lambda k, row: k * (CENTRE - row)):
        _wrong("every image was slanted by the first factor", "build one 2×3 matrix per image "
               "(theta of shape N×2×3), one for each entry of factor")
    if _landed(answer, factors, lambda k, row: 0.0):
        _wrong("the image did not slant", "build theta = [[1, factor, 0], [0, 1, 0]] for each "
               "image and sample the image on F.affine_grid(theta, x.shape)")
    _wrong("the image did not slant as asked: some rows did not move by factor·(13.5 − row) "
           "pixels", "use theta = [[1, factor, 0], [0, 1, 0]] per image, "
           "F.affine_grid(theta, x.shape, align_corners=False) and F.grid_sample(x − BACKGROUND, "
           "grid, align_corners=False) + BACKGROUND")


def check_within_noise(strengths, values) -> None:
    """Check `strengths`: those of `values` whose mean validation loss, paired by seed with the
    strength of lowest mean validation loss, has a 95% interval of the difference containing 0.

    The sweep over `values` is recomputed (or recalled from the cache) here.
    """
    from ..experiment import sweep

    values = list(values)
    if len(values) < 2:
        _wrong(f"the sweep needs at least two strengths, got {values}", "pass STRENGTHS")
    if isinstance(strengths, (str, bytes)) or not hasattr(strengths, "__iter__"):
        _wrong(f"within_noise should be a list of strengths, got {strengths!r}",
               "make a list such as [0.5, 1]")
    answer = [_number("each strength", s) for s in strengths]
    result = sweep("augmentation", values)

    def near(metric, pick):
        best = values[int(pick(result.mean(metric)))]
        return [v for v in values if not result.paired(metric, v, best).excludes(0)]

    import numpy as np

    expected = near("val_loss", np.argmin)
    if sorted(answer) == sorted(expected):
        return _correct(f"by validation loss, the strengths within noise of the best are "
                        f"{expected}")
    if len(answer) == 1 and answer[0] in expected:
        _wrong(f"{answer[0]:g} is only the strength with the lowest mean validation loss",
               "the question asks for every strength whose paired difference from it has an "
               "interval containing zero")
    if sorted(answer) == sorted(near("val_acc", np.argmax)):
        _wrong("that is the range by validation accuracy", "use the validation loss: the best "
               "strength has the lowest mean val_loss")
    if sorted(answer) == sorted(near("test_loss", np.argmin)):
        _wrong("that range was chosen on the test set", "choose on the validation set: "
               "result.mean('val_loss') and result.paired('val_loss', ...)")
    best = values[int(np.argmin(result.mean("val_loss")))]
    best_interval = result.intervals("val_loss")[values.index(best)]
    overlapping = [v for v, interval in zip(values, result.intervals("val_loss"))
                   if interval.low <= best_interval.high and best_interval.low <= interval.high]
    if sorted(answer) == sorted(overlapping) and overlapping != expected:
        _wrong("that compares the two strengths' own intervals, unpaired", "compare seed by seed: "
               "result.paired('val_loss', value, best) is the interval of the paired difference")
    if any(a not in values for a in answer):
        _wrong(f"{[a for a in answer if a not in values]} are not among the swept strengths",
               f"they are {values}")
    _wrong(f"{sorted(answer)} are not the strengths within noise of the best by validation loss",
           "find the strength of lowest mean validation loss, then keep every strength v for "
           "which not result.paired('val_loss', v, best).excludes(0)")


def _per_digit_accuracy(model, x, y) -> torch.Tensor:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predicted = model(x.to(device)).argmax(1).cpu()
    model.train(was_training)
    y = y.cpu()
    return torch.tensor([(predicted[y == digit] == digit).float().mean().item()
                         for digit in range(10)])


def check_most_hurt(digit) -> None:
    """Check `digit`: the one whose test accuracy (images as written) falls the most when the
    profile's first-seed network is trained with flips, ru.Experiment("flip", 0.5).

    Both networks and the test set are recomputed (or recalled from the cache) here.
    """
    from ..experiment import Experiment

    answer = _number("most_hurt", digit)
    if answer != int(answer) or not 0 <= answer <= 9:
        _wrong(f"{digit!r} is not a digit", "give a whole number from 0 to 9")
    answer = int(answer)
    data = Experiment().data()
    flipped = Experiment("flip", 0.5).run(keep_model=True).model
    plain = Experiment().run(keep_model=True).model
    change = (_per_digit_accuracy(flipped, data.x_test, data.y_test)
              - _per_digit_accuracy(plain, data.x_test, data.y_test))
    worst = [d for d in range(10) if change[d] == change.min()]
    if answer in worst:
        return _correct(f"trained with flips, the network reads {answer}s worse by "
                        f"{-100 * change[answer]:.1f} points on the test set, the largest drop "
                        f"of any digit")
    if change[answer] == change.max():
        _wrong(f"digit {answer} is the one flips hurt least (or help most)",
               "the question asks for the largest fall: the most negative change")
    mirrored = torch.flip(data.x_test, dims=(3,))
    mirror_change = (_per_digit_accuracy(flipped, mirrored, data.y_test)
                     - _per_digit_accuracy(plain, mirrored, data.y_test))
    if answer in [d for d in range(10) if mirror_change[d] == mirror_change.min()]:
        _wrong("that is the largest fall on mirrored test images", "use the test digits as "
               "written: data.x_test, not flipped")
    _wrong(f"flips cost digit {answer} {-100 * change[answer]:.1f} points, not the most",
           "compute each digit's test accuracy with both networks, subtract (flips − baseline) "
           "and take the digit of the most negative change")
