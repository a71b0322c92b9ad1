"""The noise chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch

import regutils as ru
from regutils.coursework import noise as checks
from regutils.data import STD
from regutils.experiment import Experiment, RunResult, SweepResult
from regutils.history import History
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


# --- check_matching_lambda, check_sigma_units ---------------------------------------------------

def test_matching_lambda_accepts_n_sigma_squared_and_names_mistakes(capsys):
    checks.check_matching_lambda(1000, 0.5, 250.0)
    assert "nσ²" in capsys.readouterr().out
    for answer, message in [(0.25, "mean"), (500.0, "variance"), (125.0, "factor ½"),
                            (7.0, "does not give the same minimizer")]:
        with pytest.raises(AssertionError, match=message):
            checks.check_matching_lambda(1000, 0.5, answer)


def test_sigma_units_divide_by_the_pixel_std(capsys):
    checks.check_sigma_units(0.1, 0.1 / ru.data.STD)
    assert capsys.readouterr().out.startswith("✓ correct")
    for answer, message in [(0.1 * ru.data.STD, "other way"), (0.1, "units differ"),
                            (1.0, "not the same noise")]:
        with pytest.raises(AssertionError, match=message):
            checks.check_sigma_units(0.1, answer)


def test_sigma_units_from_pixels_in_minus_one_to_one_take_the_width_into_account(capsys):
    checks.check_sigma_units(0.1, 0.05 / ru.data.STD, pixel_range=(-1, 1))
    assert capsys.readouterr().out.startswith("✓ correct")
    for answer, message in [(0.1 / ru.data.STD, "conversion for pixels in \\[0, 1\\]"),
                            (0.2 / ru.data.STD, "width of the pixel range goes the other way"),
                            (0.05 * ru.data.STD, "other way"), (0.1, "units differ"),
                            (1.0, "not the same noise")]:
        with pytest.raises(AssertionError, match=message):
            checks.check_sigma_units(0.1, answer, pixel_range=(-1, 1))


# --- check_candidates ---------------------------------------------------------------------------

def loss_sweep(losses):
    """An input-noise sweep whose seeds end at the given validation losses, and accuracies."""
    values = list(losses)
    result = SweepResult("input_noise", "strength", values, [0, 1, 2, 3, 4])
    for value, seeds in losses.items():
        for seed, loss in enumerate(seeds):
            history = History([dict(epoch=1, train_loss=0.01, train_acc=1.0, val_loss=loss,
                                    val_acc=0.9 - loss / 10, seconds=1.0)], test_loss=loss, test_acc=0.9)
            result.runs[(value, seed)] = RunResult(Experiment("input_noise", value, seed=seed), history)
    return result


def baseline_runs(losses):
    return [RunResult(Experiment(seed=seed), History([dict(epoch=1, train_loss=0.01, train_acc=1.0,
                                                           val_loss=loss, val_acc=0.85, seconds=1.0)],
                                                     test_loss=loss, test_acc=0.85))
            for seed, loss in enumerate(losses)]


SWEEP = {1.0: [0.30, 0.32, 0.31, 0.29, 0.30], 2.0: [0.31, 0.30, 0.33, 0.28, 0.32],
         4.0: [0.40, 0.41, 0.42, 0.39, 0.40]}
BASE = [0.45, 0.47, 0.44, 0.46, 0.45]


def test_candidates_are_the_values_within_noise_of_the_lowest(capsys):
    checks.check_candidates(loss_sweep(SWEEP), baseline_runs(BASE), [2.0, 1.0])
    assert "within noise of it: 1, 2" in capsys.readouterr().out


@pytest.mark.parametrize("answer, message", [
    ([1.0], "best value only"),
    ([1.0, 2.0, 4.0], "not within noise: \\[4.0\\]"),
    ([1.0, 3.0], "not values of the sweep"),
])
def test_candidates_name_the_mistake(answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_candidates(loss_sweep(SWEEP), baseline_runs(BASE), answer)


def test_add_noise_says_correct_once(capsys):
    checks.check_add_noise(right_noise)
    assert capsys.readouterr().out.count("✓ correct") == 1
