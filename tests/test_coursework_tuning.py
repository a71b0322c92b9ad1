"""The tuning chapter's checks accept the right answer and reject plausible wrong ones."""
import pytest
import torch

import regutils as ru
from regutils.coursework import tuning as checks
from regutils.data import flip_labels
from tests.helpers import leaves_random_stream_alone


# --- check_flip_to -------------------------------------------------------------------------------

def flip_to(labels, fraction, confusion, generator):
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count]
    flipped = labels.clone()
    flipped[chosen] = confusion[labels[chosen]]
    return flipped


def test_flip_to_accepts_a_right_answer_and_leaves_the_random_stream_alone(capsys):
    checks.check_flip_to(flip_to)
    assert capsys.readouterr().out.startswith("✓ correct")
    assert leaves_random_stream_alone(lambda: checks.check_flip_to(flip_to))


def _in_place(labels, fraction, confusion, generator):
    chosen = torch.randperm(len(labels), generator=generator)[:round(fraction * len(labels))]
    labels[chosen] = confusion[labels[chosen]]
    return labels


def _backwards(labels, fraction, confusion, generator):
    inverse = torch.argsort(confusion)  # not a permutation here: a wrong "inverse"
    chosen = torch.randperm(len(labels), generator=generator)[:round(fraction * len(labels))]
    flipped = labels.clone()
    flipped[chosen] = inverse[labels[chosen]]
    return flipped


def _first_ones(labels, fraction, confusion, generator):
    flipped = labels.clone()
    count = round(fraction * len(labels))
    flipped[:count] = confusion[labels[:count]]
    return flipped


def _fixed_seed(labels, fraction, confusion, generator):
    return flip_to(labels, fraction, confusion, torch.Generator().manual_seed(0))


def _symmetric(labels, fraction, confusion, generator):
    return flip_labels(labels, fraction, generator)  # the library's symmetric noise


def _each_with_chance(labels, fraction, confusion, generator):
    flipped = labels.clone()
    hit = torch.rand(len(labels), generator=generator) < fraction
    flipped[hit] = confusion[labels[hit]]
    return flipped


@pytest.mark.parametrize("wrong, message", [
    (_in_place, "changed its input"), (_backwards, "instead of|not the class the confusion"),
    (_first_ones, "two generator seeds gave the same"), (_fixed_seed, "two generator seeds"),
    (_symmetric, "not the class the confusion gives"), (_each_with_chance, "instead of"),
    (lambda labels, fraction, confusion, generator: labels.float(), "dtype"),
])
def test_flip_to_rejects_plausible_mistakes_and_the_librarys_symmetric_noise(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_flip_to(wrong)


# --- check_flip_labels ---------------------------------------------------------------------------

def test_flip_labels_accepts_the_library_function_and_a_hand_written_one(capsys):
    def by_hand(labels, fraction, generator):
        count = round(fraction * len(labels))
        chosen = torch.randperm(len(labels), generator=generator)[:count]
        flipped = labels.clone()
        shift = torch.randint(1, 10, (count,), generator=generator)
        flipped[chosen] = (labels[chosen] + shift) % 10
        return flipped

    checks.check_flip_labels(flip_labels)
    checks.check_flip_labels(by_hand)
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_flip_labels_check_leaves_the_callers_random_stream_alone():
    assert leaves_random_stream_alone(lambda: checks.check_flip_labels(flip_labels))


def _in_place(labels, fraction, generator):
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count]
    labels[chosen] = (labels[chosen] + 1) % 10
    return labels


def _any_class(labels, fraction, generator):
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count]
    flipped = labels.clone()
    flipped[chosen] = torch.randint(0, 10, (count,), generator=generator)
    return flipped


def _next_class(labels, fraction, generator):
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count]
    flipped = labels.clone()
    flipped[chosen] = (labels[chosen] + 1) % 10
    return flipped


def _global_stream(labels, fraction, generator):
    return flip_labels(labels, fraction, torch.Generator().manual_seed(torch.seed() % 1000))


def _each_with_chance(labels, fraction, generator):
    flipped = labels.clone()
    hit = torch.rand(len(labels), generator=generator) < fraction
    flipped[hit] = (labels[hit] + torch.randint(1, 10, (int(hit.sum()),), generator=generator)) % 10
    return flipped


def _fixed_seed(labels, fraction, generator):
    return flip_labels(labels, fraction, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("wrong, message", [
    (_in_place, "changed its input"), (_any_class, "draw among the other nine"),
    (_next_class, "do not reach every other class"), (_global_stream, "same generator seed"),
    (_each_with_chance, "instead of"), (_fixed_seed, "two generator seeds gave the same"),
    (lambda labels, fraction, generator: labels.float(), "whole numbers"),
])
def test_flip_labels_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_flip_labels(wrong)


# --- check_folds ---------------------------------------------------------------------------------

def right_folds(n, k):
    index = torch.arange(n)
    parts = [index[i * n // k:(i + 1) * n // k] for i in range(k)]
    return [(torch.cat(parts[:i] + parts[i + 1:]), part) for i, part in enumerate(parts)]


def test_folds_accepts_tensors_and_lists(capsys):
    checks.check_folds(right_folds)
    checks.check_folds(lambda n, k: [(train.tolist(), val.tolist())
                                     for train, val in right_folds(n, k)])
    assert capsys.readouterr().out.count("✓ correct") == 2


def _drops_remainder(n, k):
    size = n // k
    return [([j for j in range(n) if not i * size <= j < (i + 1) * size],
             list(range(i * size, (i + 1) * size))) for i in range(k)]


def _trains_on_everything(n, k):
    return [(list(range(n)), val.tolist()) for _, val in right_folds(n, k)]


def _uneven(n, k):
    size = -(-n // k)  # ceil: the last fold gets what is left
    bounds = [min(i * size, n) for i in range(k + 1)]
    return [([j for j in range(n) if not bounds[i] <= j < bounds[i + 1]],
             list(range(bounds[i], bounds[i + 1]))) for i in range(k)]


def _forgets_a_training_part(n, k):
    return [(train.tolist()[:-1], val.tolist()) for train, val in right_folds(n, k)]


@pytest.mark.parametrize("wrong, message", [
    (_drops_remainder, "never validate"), (_trains_on_everything, "also validates on"),
    (_uneven, "sizes"), (_forgets_a_training_part, "leaves out the indices"),
    (lambda n, k: right_folds(n, k)[:-1], "pairs"),
    (lambda n, k: [(None, None)] * k, "list or tensor of indices"),
])
def test_folds_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_folds(wrong)


# --- check_memorized -----------------------------------------------------------------------------

NOISE = 0.4


@pytest.fixture(scope="module")
def noisy_run():
    # what the check recomputes: at least 45 epochs, whatever the profile
    epochs = max(45, ru.get_profile().epochs)
    return ru.Experiment(label_noise=NOISE, epochs=epochs).run(keep_model=True)


def shares(run):
    device = next(run.model.parameters()).device
    noisy = run.experiment.data(device)
    clean = run.experiment.replace(label_noise=0.0).data(device)
    flipped = noisy.y_train != clean.y_train
    with torch.no_grad():
        predicted = run.model.eval()(noisy.x_train).argmax(1)
    return {"right": (predicted[flipped] == noisy.y_train[flipped]).float().mean().item(),
            "true class": (predicted[flipped] == clean.y_train[flipped]).float().mean().item(),
            "all images": (predicted == noisy.y_train).float().mean().item(),
            "noise level": flipped.float().mean().item()}


def test_memorized_accepts_the_right_share(noisy_run, capsys):
    checks.check_memorized(shares(noisy_run)["right"], NOISE)
    assert "flipped images" in capsys.readouterr().out


def test_memorized_is_measurable_under_the_grading_profile_too(noisy_run):
    # with at least 45 epochs even the quick profile memorizes much of the noise, so the
    # exercise's answer is not near zero under any profile
    assert shares(noisy_run)["right"] > 0.3


@pytest.mark.parametrize("mistake, message", [
    ("true class", "predicts the true class"), ("all images", "all training images"),
    ("noise level", "the noise level"),
])
def test_memorized_rejects_plausible_mistakes(noisy_run, mistake, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_memorized(shares(noisy_run)[mistake], NOISE)


def test_memorized_refuses_a_noise_level_without_noise_and_a_non_number():
    with pytest.raises(AssertionError, match="no flipped labels"):
        checks.check_memorized(0.5, 0.0)
    with pytest.raises(AssertionError, match="single number"):
        checks.check_memorized("half", NOISE)
