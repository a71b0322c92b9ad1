"""The noise chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch

import regutils as ru
from regutils.coursework import noise as checks
from regutils.data import STD
from tests.helpers import leaves_random_stream_alone


def right_noise(x, sigma):
    return x + sigma * torch.randn_like(x)


# --- check_add_noise ---------------------------------------------------------------------------

def test_add_noise_accepts_a_right_answer(capsys):
    checks.check_add_noise(right_noise)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_add_noise_leaves_the_callers_random_stream_alone():
    assert leaves_random_stream_alone(lambda: checks.check_add_noise(right_noise))


@pytest.mark.parametrize("wrong, message", [
    (lambda x, sigma: x + sigma * STD * torch.randn_like(x), "pixel std"),
    (lambda x, sigma: x + sigma ** 0.5 * torch.randn_like(x), "square root"),
    (lambda x, sigma: x.add_(sigma * torch.randn_like(x)), "changed its input"),
    (lambda x, sigma: x + sigma * torch.rand_like(x), "mean"),
    (lambda x, sigma: x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(0)),
     "same noise"),
])
def test_add_noise_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_add_noise(wrong)


# --- check_noisy_accuracy ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    profile = ru.get_profile("quick")
    data = ru.load_mnist(profile.train_size, val_size=profile.val_size,
                         test_size=profile.test_size, seed=0)
    model = ru.Experiment("input_noise", 1.0, profile="quick").run(keep_model=True).model
    return model, data


def noisy_acc(model, data, sigma, scale=1.0, seed=0):
    noise = torch.randn(data.x_test.shape, generator=torch.Generator().manual_seed(seed))
    return ru.train.evaluate(model, data.x_test + sigma * scale * noise, data.y_test)[1]


def test_noisy_accuracy_accepts_the_right_answer(trained, capsys):
    model, data = trained
    checks.check_noisy_accuracy(model, data.x_test, data.y_test, 1.5, noisy_acc(model, data, 1.5))
    assert capsys.readouterr().out.startswith("✓ correct")


def test_noisy_accuracy_rejects_the_clean_accuracy(trained):
    model, data = trained
    clean = ru.train.evaluate(model, data.x_test, data.y_test)[1]
    with pytest.raises(AssertionError, match="clean images"):
        checks.check_noisy_accuracy(model, data.x_test, data.y_test, 1.5, clean)


def test_noisy_accuracy_rejects_noise_in_raw_pixel_units(trained):
    model, data = trained
    wrong = noisy_acc(model, data, 3.0, scale=STD)
    assert wrong != noisy_acc(model, data, 3.0)
    with pytest.raises(AssertionError, match="pixel std"):
        checks.check_noisy_accuracy(model, data.x_test, data.y_test, 3.0, wrong)


def test_noisy_accuracy_rejects_a_percentage(trained):
    model, data = trained
    with pytest.raises(AssertionError, match="percentage"):
        checks.check_noisy_accuracy(model, data.x_test, data.y_test, 1.5,
                                    100 * noisy_acc(model, data, 1.5))


# --- check_best_sigma --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def noise_sweep():
    return ru.sweep("input_noise", [0.0, 1.0, 8.0], profile="quick")


def test_best_sigma_accepts_the_right_answer(noise_sweep, capsys):
    best = noise_sweep.values[int(np.argmax(noise_sweep.mean("val_acc")))]
    checks.check_best_sigma(noise_sweep, best)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_best_sigma_rejects_a_value_outside_the_sweep(noise_sweep):
    with pytest.raises(AssertionError, match="not one of the swept values"):
        checks.check_best_sigma(noise_sweep, 0.5)


def test_best_sigma_rejects_a_wrong_value_with_a_reason(noise_sweep):
    best = noise_sweep.values[int(np.argmax(noise_sweep.mean("val_acc")))]
    wrong = next(v for v in noise_sweep.values if v != best)
    with pytest.raises(AssertionError, match=f"σ = {wrong:g}"):
        checks.check_best_sigma(noise_sweep, wrong)
