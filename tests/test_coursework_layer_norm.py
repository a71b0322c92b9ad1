"""The layer-norm chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import regutils as ru
from regutils.coursework import layer_norm as checks
from regutils.experiment import Experiment, RunResult, SweepResult
from regutils.train import History
from tests.helpers import leaves_random_stream_alone


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def normalized_over(dims, unbiased=False, eps_outside=False, affine=True):
    def norm(x, weight, bias, eps=1e-5):
        centred = x - x.mean(dim=dims, keepdim=True)
        std = x.var(dim=dims, keepdim=True, unbiased=unbiased).add(0 if eps_outside else eps).sqrt()
        out = centred / (std + eps if eps_outside else std)
        return out * weight + bias if affine else out
    return norm


def in_place(x, weight, bias, eps=1e-5):
    x -= x.mean(dim=-1, keepdim=True)
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight + bias


# --- check_layer_norm ---------------------------------------------------------------------------

def test_layer_norm_accepts_a_scratch_version_and_pytorchs(capsys):
    checks.check_layer_norm(layer_norm)
    checks.check_layer_norm(lambda x, w, b, eps=1e-5: F.layer_norm(x, x.shape[-1:], w, b, eps))
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("wrong, message", [
    (normalized_over(0), "batch norm's axis"),
    (normalized_over(-1, unbiased=True), "unbiased variance"),
    (normalized_over(-1, eps_outside=True), "added eps to the standard deviation"),
    (normalized_over(-1, affine=False), "not scaled and shifted"),
    (lambda x, w, b, eps=1e-5: layer_norm(x, b, w, eps), "swapped"),
    (in_place, "changed its input"),
    (lambda x, w, b, eps=1e-5: normalized_over(tuple(range(1, x.dim())))(x, w, b, eps),
     "positions as well"),
    (lambda x, w, b, eps=1e-5: x, "differs from F.layer_norm"),
])
def test_layer_norm_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_layer_norm(wrong)


def test_layer_norm_leaves_the_callers_random_stream_alone():
    assert leaves_random_stream_alone(lambda: checks.check_layer_norm(layer_norm))


# --- check_first_row_change ---------------------------------------------------------------------

def first_row_change(layer, batch, other):
    with torch.no_grad():
        mixed = torch.cat([batch[:1], other[1:]])
        return (layer(batch)[0] - layer(mixed)[0]).abs().max().item()


def test_first_row_change_accepts_the_right_answer(capsys):
    checks.check_first_row_change(first_row_change)
    out = capsys.readouterr().out
    assert out.startswith("✓ correct") and "layer norm" in out


def whole_output(layer, batch, other):
    with torch.no_grad():
        return (layer(batch) - layer(torch.cat([batch[:1], other[1:]]))).abs().max().item()


def different_samples(layer, batch, other):
    with torch.no_grad():
        return (layer(batch)[0] - layer(other)[0]).abs().max().item()


def switches_to_eval(layer, batch, other):
    layer.eval()
    return first_row_change(layer, batch, other)


@pytest.mark.parametrize("wrong, message", [
    (whole_output, "compared every row"),
    (different_samples, "two different samples"),
    (switches_to_eval, "switched .* to evaluation mode"),
    (lambda layer, batch, other: 0.0, "the change should be"),
])
def test_first_row_change_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_first_row_change(wrong)


# --- check_best_normalization -------------------------------------------------------------------

def fake_sweep(technique, accuracies):
    """A SweepResult over batch sizes whose runs have the given (train acc, val acc), one seed."""
    result = SweepResult(technique, "batch_size", list(accuracies), [0])
    for size, (train_acc, val_acc) in accuracies.items():
        history = History([dict(epoch=1, train_loss=0.1, train_acc=train_acc, val_loss=0.3,
                                val_acc=val_acc, seconds=1.0)])
        result.runs[(size, 0)] = RunResult(Experiment(technique, batch_size=size), history)
    return result


@pytest.fixture
def sweeps():
    return {"none": fake_sweep("none", {2: (0.96, 0.86), 32: (0.99, 0.89)}),
            "batch_norm": fake_sweep("batch_norm", {2: (0.73, 0.70), 32: (1.0, 0.91)}),
            "layer_norm": fake_sweep("layer_norm", {2: (0.95, 0.87), 32: (1.0, 0.90)}),
            }


def test_best_normalization_accepts_the_right_answer(sweeps, capsys):
    checks.check_best_normalization(sweeps, 2, "layer_norm")
    checks.check_best_normalization(list(sweeps.values()), 32, "batch_norm")
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("answer, size, message", [
    ("batch_norm", 2, "smallest generalization gap"),
    ("none", 2, "highest training accuracy"),
    ("group_norm", 2, "not among the sweeps"),
    (1, 2, "give the technique's name"),
])
def test_best_normalization_rejects_plausible_mistakes(sweeps, answer, size, message):
    if answer == "none":  # make the unnormalized network the best fitter at batch size 2
        sweeps["none"] = fake_sweep("none", {2: (0.99, 0.86), 32: (0.99, 0.89)})
    with pytest.raises(AssertionError, match=message):
        checks.check_best_normalization(sweeps, size, answer)


def test_best_normalization_names_the_other_batch_size(sweeps):
    sweeps["batch_norm"] = fake_sweep("batch_norm", {2: (0.95, 0.70), 32: (0.99, 0.91)})
    sweeps["none"] = fake_sweep("none", {2: (0.99, 0.86), 32: (0.99, 0.89)})
    with pytest.raises(AssertionError, match="best at batch size 32, not 2"):
        checks.check_best_normalization(sweeps, 2, "batch_norm")


def test_best_normalization_on_real_quick_sweeps(capsys):
    real = {t: ru.sweep(t, [2, 32], seeds=[0], knob="batch_size", epochs=1, profile="quick")
            for t in ["none", "batch_norm", "layer_norm"]}
    means = {t: r.mean("val_acc")[0] for t, r in real.items()}
    best = max(means, key=means.get)
    checks.check_best_normalization(real, 2, best)
    assert capsys.readouterr().out.startswith("✓ correct")
    worst = min(means, key=means.get)
    if means[worst] < means[best]:
        with pytest.raises(AssertionError, match="Hint"):
            checks.check_best_normalization(real, 2, worst)


def test_best_normalization_wants_batch_size_sweeps():
    strength = SweepResult("dropout", "strength", [0.1], [0])
    with pytest.raises(AssertionError, match="over batch_size"):
        checks.check_best_normalization([strength], 2, "dropout")


# --- check_rms_invariances ----------------------------------------------------------------------

RMS_TRUTH = {"whole weight matrix × 2.5": True, "same vector added to every row of W": False,
             "one unit's weights × 2.5": False, "every input × 3": True,
             "same vector added to every input": False, "one example × 3": True}


def test_rms_invariances_accept_the_truth(capsys):
    checks.check_rms_invariances(RMS_TRUTH)
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("change, message", [
    ("same vector added to every input", "does change RMSNorm's output"),
    ("one unit's weights × 2.5", "scaling one unit's weights"),
    ("every input × 3", "is not right"),
])
def test_rms_invariances_name_the_wrong_entry(change, message):
    answer = dict(RMS_TRUTH, **{change: not RMS_TRUTH[change]})
    with pytest.raises(AssertionError, match=message):
        checks.check_rms_invariances(answer)


def test_rms_invariances_want_every_change_as_a_bool():
    with pytest.raises(AssertionError, match="missing"):
        checks.check_rms_invariances({"every input × 3": True})
    with pytest.raises(AssertionError, match="is not right"):
        checks.check_rms_invariances(dict(RMS_TRUTH, **{"every input × 3": "yes"}))
    with pytest.raises(AssertionError, match="should be a dict"):
        checks.check_rms_invariances([True] * 6)


# --- check_sequence_batch_norm ------------------------------------------------------------------

def over(dims, unbiased=False, eps_outside=False):
    def norm(x, eps=1e-5):
        mean, var = x.mean(dim=dims, keepdim=True), x.var(dim=dims, keepdim=True, unbiased=unbiased)
        return (x - mean) / (var.sqrt() + eps if eps_outside else torch.sqrt(var + eps))
    return norm


def test_sequence_batch_norm_accepts_the_pooled_statistics(capsys):
    checks.check_sequence_batch_norm(over((0, 1)))
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("wrong, message", [
    (over(0), "over the batch only"),
    (over(-1), "that is layer norm"),
    (over(1), "over its positions"),
    (over((0, 1), unbiased=True), "unbiased variance"),
    (over((0, 1), eps_outside=True), "outside the square root"),
    (lambda x, eps=1e-5: x - x.mean(dim=(0, 1)), "differs from batch norm"),
])
def test_sequence_batch_norm_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_sequence_batch_norm(wrong)


# --- check_resolved -----------------------------------------------------------------------------

def seeded_sweep(technique, test_accs):
    """A batch-size sweep at batch size 2 whose seeds end at the given test accuracies."""
    result = SweepResult(technique, "batch_size", [2], list(range(len(test_accs))))
    for seed, acc in enumerate(test_accs):
        history = History([dict(epoch=1, train_loss=0.1, train_acc=0.9, val_loss=0.3, val_acc=acc,
                                seconds=1.0)], test_loss=0.3, test_acc=acc)
        result.runs[(2, seed)] = RunResult(Experiment(technique, batch_size=2, seed=seed), history)
    return result


def interval_of(differences):
    d = np.asarray(differences)
    half = ru.stats.t_quantile(len(d)) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean() - half, d.mean() + half


@pytest.fixture
def paired_sweeps():
    return {"none": seeded_sweep("none", [0.80, 0.86, 0.84, 0.90, 0.82]),
            "layer_norm": seeded_sweep("layer_norm", [0.83, 0.87, 0.88, 0.89, 0.85])}


def test_resolved_accepts_the_paired_interval(paired_sweeps, capsys):
    d = [0.03, 0.01, 0.04, -0.01, 0.03]
    low, high = interval_of(d)
    checks.check_resolved(paired_sweeps, 2, low, high, bool(low > 0 or high < 0))
    assert capsys.readouterr().out.startswith("✓ correct")


def test_resolved_names_the_mistakes(paired_sweeps):
    d = np.array([0.03, 0.01, 0.04, -0.01, 0.03])
    low, high = interval_of(d)
    with pytest.raises(AssertionError, match="resolved should be"):
        checks.check_resolved(paired_sweeps, 2, low, high, not bool(low > 0 or high < 0))
    t = ru.stats.t_quantile(5)
    population = t * d.std() / np.sqrt(5)
    with pytest.raises(AssertionError, match="ddof = 0"):
        checks.check_resolved(paired_sweeps, 2, d.mean() - population, d.mean() + population, True)
    normal = 1.959964 * d.std(ddof=1) / np.sqrt(5)
    with pytest.raises(AssertionError, match="normal quantile"):
        checks.check_resolved(paired_sweeps, 2, d.mean() - normal, d.mean() + normal, True)
    arms = [paired_sweeps[n].at(2, "test_acc") for n in ("layer_norm", "none")]
    unpaired = t * np.sqrt(arms[0].var(ddof=1) / 5 + arms[1].var(ddof=1) / 5)
    with pytest.raises(AssertionError, match="unpaired"):
        checks.check_resolved(paired_sweeps, 2, d.mean() - unpaired, d.mean() + unpaired, False)
    with pytest.raises(AssertionError, match="the other way round"):
        checks.check_resolved(paired_sweeps, 2, -high, -low, False)
    with pytest.raises(AssertionError, match="percentage points"):
        checks.check_resolved(paired_sweeps, 2, 100 * low, 100 * high, False)
