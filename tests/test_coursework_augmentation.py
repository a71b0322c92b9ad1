"""The augmentation chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import regutils as ru
from regutils.coursework import augmentation as checks
from regutils.data import BACKGROUND
from tests.helpers import leaves_random_stream_alone


def rotate(x, degrees, *, sign=1.0, radians=False, black=BACKGROUND, first_only=False):
    angle = degrees if radians else torch.deg2rad(degrees)
    angle = sign * (angle[:1].expand(len(x)) if first_only else angle)
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - black, grid, align_corners=False) + black


# --- check_rotate ---------------------------------------------------------------------------

def test_rotate_accepts_a_right_answer(capsys):
    checks.check_rotate(rotate)
    assert capsys.readouterr().out.startswith("✓ correct")
    assert leaves_random_stream_alone(lambda: checks.check_rotate(rotate))


@pytest.mark.parametrize("wrong, message", [
    (lambda x, d: rotate(x, d, sign=-1.0), "wrong way"),
    (lambda x, d: rotate(x, d, radians=True), "as radians"),
    (lambda x, d: rotate(x, d, black=0.0), "faint gray"),
    (lambda x, d: rotate(x, d, first_only=True), "first angle"),
    (lambda x, d: x.mul_(2.0), "changed its input"),
    (lambda x, d: torch.rot90(x, 1, dims=(2, 3)), "first angle"),
    (lambda x, d: x.clone(), "do not match"),
])
def test_rotate_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_rotate(wrong)


# --- check_best_strength ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def strength_sweep():
    return ru.sweep("augmentation", [0.0, 1.0, 5.0], seeds=[0, 1], epochs=2)


def test_best_strength_accepts_the_argmax(strength_sweep, capsys):
    best = strength_sweep.values[int(np.argmax(strength_sweep.mean("val_acc")))]
    checks.check_best_strength(strength_sweep, best)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_best_strength_rejects_a_value_not_swept_and_a_wrong_one(strength_sweep):
    with pytest.raises(AssertionError, match="not one of the swept strengths"):
        checks.check_best_strength(strength_sweep, 2.5)
    best = strength_sweep.values[int(np.argmax(strength_sweep.mean("val_acc")))]
    wrong = next(v for v in strength_sweep.values if v != best)
    with pytest.raises(AssertionError):
        checks.check_best_strength(strength_sweep, wrong)


# --- check_flipped_accuracy -------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    run = ru.Experiment("augmentation", 1.0, epochs=2).run(keep_model=True)
    data = ru.load_mnist(300, val_size=200, test_size=100, seed=0, device="cpu")
    return run.model.cpu(), data.x_val, data.y_val


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def test_flipped_accuracy_accepts_the_right_answer(trained, capsys):
    model, x, y = trained
    checks.check_flipped_accuracy(model, x, y, accuracy(model, torch.flip(x, dims=(3,)), y))
    assert "mirrored digits" in capsys.readouterr().out


@pytest.mark.parametrize("make, message", [
    (lambda m, x, y: accuracy(m, torch.flip(x, dims=(2,)), y), "upside down"),
    (lambda m, x, y: accuracy(m, x, y), "unflipped"),
    (lambda m, x, y: 100 * accuracy(m, torch.flip(x, dims=(3,)), y), "percentage"),
])
def test_flipped_accuracy_rejects_plausible_mistakes(trained, make, message):
    model, x, y = trained
    with pytest.raises(AssertionError, match=message):
        checks.check_flipped_accuracy(model, x, y, make(model, x, y))
