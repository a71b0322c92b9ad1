"""The augmentation chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import regutils as ru
from regutils.coursework import augmentation as checks
from regutils.data import BACKGROUND
from tests.helpers import leaves_random_stream_alone


def shear(x, factor, *, sign=1.0, black=BACKGROUND, vertical=False, first_only=False):
    factor = sign * (factor[:1].expand(len(x)) if first_only else factor)
    one, zero = torch.ones_like(factor), torch.zeros_like(factor)
    rows = ([one, zero, zero], [factor, one, zero]) if vertical else ([one, factor, zero],
                                                                       [zero, one, zero])
    theta = torch.stack([torch.stack(rows[0], 1), torch.stack(rows[1], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - black, grid, align_corners=False) + black


# --- check_shear ----------------------------------------------------------------------------

def test_shear_accepts_a_right_answer(capsys):
    checks.check_shear(shear)
    assert capsys.readouterr().out.startswith("✓ correct")
    assert leaves_random_stream_alone(lambda: checks.check_shear(shear))


@pytest.mark.parametrize("wrong, message", [
    (lambda x, k: shear(x, k, sign=-1.0), "wrong way"),
    (lambda x, k: shear(x, k, black=0.0), "faint gray"),
    (lambda x, k: shear(x, k, vertical=True), "vertical shear"),
    (lambda x, k: shear(x, k, first_only=True), "first factor"),
    (lambda x, k: x.mul_(2.0), "changed its input"),
    (lambda x, k: x.clone(), "did not slant"),
    (lambda x, k: torch.rot90(x, 1, dims=(2, 3)), "vertical shear"),
    (lambda x, k: x[..., :27], "shaped like x"),
])
def test_shear_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_shear(wrong)


def test_the_chapters_own_transform_cannot_pass_for_a_shear():
    def affine_rotation(x, factor):  # the chapter's transform, turned by the factor in radians
        angle = factor
        cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)],
                            1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x - BACKGROUND, grid, align_corners=False) + BACKGROUND
    with pytest.raises(AssertionError):
        checks.check_shear(affine_rotation)


# --- check_within_noise ----------------------------------------------------------------------

VALUES = [0.0, 1.0, 5.0]


@pytest.fixture(scope="module")
def strength_sweep():
    return ru.sweep("augmentation", VALUES)  # what the check recomputes, in this profile


def near(result, metric, pick):
    best = VALUES[int(pick(result.mean(metric)))]
    return [v for v in VALUES if not result.paired(metric, v, best).excludes(0)]


def test_within_noise_accepts_the_paired_range_by_validation_loss(strength_sweep, capsys):
    checks.check_within_noise(near(strength_sweep, "val_loss", np.argmin), VALUES)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_within_noise_rejects_strengths_not_swept_and_a_wrong_range(strength_sweep):
    expected = near(strength_sweep, "val_loss", np.argmin)
    with pytest.raises(AssertionError):
        checks.check_within_noise([2.5], VALUES)
    wrong = [v for v in VALUES if v not in expected] or VALUES[:1]
    if sorted(wrong) != sorted(expected):
        with pytest.raises(AssertionError):
            checks.check_within_noise(wrong, VALUES)
    if len(expected) > 1:
        lowest = VALUES[int(np.argmin(strength_sweep.mean("val_loss")))]
        with pytest.raises(AssertionError, match="only the strength with the lowest"):
            checks.check_within_noise([lowest], VALUES)
    with pytest.raises(AssertionError, match="list of strengths"):
        checks.check_within_noise("0.5", VALUES)


# --- check_most_hurt -------------------------------------------------------------------------

def per_digit(model, x, y):
    model.eval()
    with torch.no_grad():
        predicted = model(x).argmax(1)
    return np.array([(predicted[y == d] == d).float().mean().item() for d in range(10)])


@pytest.fixture(scope="module")
def change():
    data = ru.Experiment().data()
    flipped = ru.Experiment("flip", 0.5).run(keep_model=True).model
    plain = ru.Experiment().run(keep_model=True).model
    return per_digit(flipped, data.x_test, data.y_test) - per_digit(plain, data.x_test,
                                                                     data.y_test)


def test_most_hurt_accepts_the_digit_of_the_largest_fall(change, capsys):
    checks.check_most_hurt(int(np.argmin(change)))
    assert capsys.readouterr().out.startswith("✓ correct")


def test_most_hurt_rejects_the_digit_flips_help_most_and_non_digits(change):
    if change.max() > change.min():
        with pytest.raises(AssertionError, match="hurt least"):
            checks.check_most_hurt(int(np.argmax(change)))
    for bad in (10, 2.5, "3"):
        with pytest.raises(AssertionError):
            checks.check_most_hurt(bad)
