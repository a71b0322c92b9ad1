"""The batch-norm chapter's checks accept the right answer and reject plausible wrong ones."""
import pytest
import torch

import regutils as ru
from regutils.coursework import batch_norm as checks


def right(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=0)
    var = x.var(dim=0, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


# --- check_batch_norm_forward -------------------------------------------------------------------

def test_forward_accepts_a_right_answer_and_the_built_in(capsys):
    checks.check_batch_norm_forward(right)
    assert capsys.readouterr().out.startswith("✓ correct")
    checks.check_batch_norm_forward(lambda x, g, b: torch.nn.functional.batch_norm(
        x, None, None, g, b, training=True))


def unbiased(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + beta


def over_features(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def in_place(x, gamma, beta, eps=1e-5):
    x -= x.mean(0)
    return gamma * x / torch.sqrt(x.var(0, unbiased=False) + eps) + beta


@pytest.mark.parametrize("wrong, message", [
    (unbiased, "unbiased variance"),
    (over_features, "over its features"),
    (lambda x, g, b: g * (x - x.mean(0)) / x.std(0, unbiased=False) + b, "ε is missing"),
    (lambda x, g, b: right(x, 1.0, 0.0), "neither scaled"),
    (lambda x, g, b: g * (x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-5) + b,
     "variance instead of the standard deviation"),
    (lambda x, g, b: right(x, b, g), "swapped"),
    (in_place, "changed its input"),
    (lambda x, g, b: x, "differs from nn.BatchNorm1d"),
])
def test_forward_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_batch_norm_forward(wrong)


# --- check_running_statistics -------------------------------------------------------------------

@pytest.fixture
def batches():
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(8, 3, generator=generator) * 2 + 3 for _ in range(5)]


def averaged(batches, start_mean=0.0, start_var=1.0, momentum=0.1, unbiased=True):
    mean, var = torch.full((3,), start_mean), torch.full((3,), start_var)
    for batch in batches:
        mean = (1 - momentum) * mean + momentum * batch.mean(0)
        var = (1 - momentum) * var + momentum * batch.var(0, unbiased=unbiased)
    return mean, var


def test_running_statistics_accept_the_moving_average(batches, capsys):
    checks.check_running_statistics(batches, *averaged(batches))
    assert "match nn.BatchNorm1d" in capsys.readouterr().out
    layer = torch.nn.BatchNorm1d(3, momentum=0.3)
    for batch in batches:
        layer(batch)
    checks.check_running_statistics(batches, layer.running_mean, layer.running_var.numpy(),
                                    momentum=0.3)


def test_running_statistics_reject_plausible_mistakes(batches):
    mean, var = averaged(batches)
    cases = [
        ((averaged(batches, momentum=0.9)[0], var), "wrong way round"),
        ((torch.stack([b.mean(0) for b in batches]).mean(0), var), "plain average"),
        ((batches[-1].mean(0), var), "last batch"),
        ((averaged(batches, start_mean=1.0)[0], var), "start at 0"),
        ((mean, averaged(batches, unbiased=False)[1]), "biased batch variance"),
        ((mean, averaged(batches, start_var=0.0)[1]), "start at 1"),
        ((mean[:2], var), "one value per feature"),
    ]
    for (wrong_mean, wrong_var), message in cases:
        with pytest.raises(AssertionError, match=message):
            checks.check_running_statistics(batches, wrong_mean, wrong_var)


# --- check_time_to_threshold ----------------------------------------------------------------------

def history_of(val_acc, train_acc=None):
    train_acc = train_acc or [min(1.0, a + 0.05) for a in val_acc]
    return ru.History([dict(epoch=e, train_loss=0.1, train_acc=t, val_loss=0.3, val_acc=v,
                            seconds=0.5 + 0.1 * e)
                       for e, (v, t) in enumerate(zip(val_acc, train_acc), start=1)])


def test_time_to_threshold_accepts_the_first_epoch_and_cumulative_seconds(capsys):
    history = history_of([0.7, 0.91, 0.88, 0.92, 0.93])
    checks.check_time_to_threshold(history, 0.9, 2, 0.6 + 0.7)
    assert "epoch 2" in capsys.readouterr().out
    checks.check_time_to_threshold(history_of([0.5, 0.6]), 0.9, None, None)


def test_time_to_threshold_on_a_real_run(capsys):
    run = ru.Experiment("batch_norm", profile="quick").run()
    history = run.history
    threshold = history["val_acc"][-1]
    epoch = next(e for e, a in enumerate(history["val_acc"], 1) if a >= threshold)
    checks.check_time_to_threshold(run, threshold, epoch, sum(history["seconds"][:epoch]))
    assert capsys.readouterr().out.startswith("✓ correct")
    with pytest.raises(AssertionError, match="that one epoch|leaves out|whole run|not"):
        checks.check_time_to_threshold(run, threshold, epoch, history["seconds"][epoch - 1] + 9)


@pytest.mark.parametrize("epoch, seconds, message", [
    (1, None, "off by one"),
    (4, None, "stays above"),
    (5, None, "best validation accuracy"),
    (None, None, "did reach"),
    (2, 0.7, "that one epoch"),
    (2, 0.6, "leaves out"),
    (2, 0.6 + 0.7 + 0.8 + 0.9 + 1.0, "whole run"),
])
def test_time_to_threshold_rejects_plausible_mistakes(epoch, seconds, message):
    history = history_of([0.7, 0.91, 0.88, 0.92, 0.93])
    with pytest.raises(AssertionError, match=message):
        checks.check_time_to_threshold(history, 0.9, epoch, seconds)


def test_time_to_threshold_recognises_the_training_accuracy():
    history = history_of([0.7, 0.8, 0.91], train_acc=[0.95, 0.99, 1.0])
    with pytest.raises(AssertionError, match="training"):
        checks.check_time_to_threshold(history, 0.9, 1, 0.6)


def test_time_to_threshold_when_never_reached():
    with pytest.raises(AssertionError, match="never reached"):
        checks.check_time_to_threshold(history_of([0.5, 0.6]), 0.9, 2, 1.0)


# --- check_fold ---------------------------------------------------------------------------------

def folded_with(scale_of, bias_of):
    def fold(linear, norm):
        folded = torch.nn.Linear(linear.in_features, linear.out_features)
        with torch.no_grad():
            folded.weight.copy_(linear.weight * scale_of(norm)[:, None])
            folded.bias.copy_(bias_of(linear, norm, scale_of(norm)))
        return folded
    return fold


def true_scale(norm):
    return norm.weight / torch.sqrt(norm.running_var + norm.eps)


def true_bias(linear, norm, scale):
    return (linear.bias - norm.running_mean) * scale + norm.bias


def test_fold_accepts_the_folded_layer(capsys):
    checks.check_fold(folded_with(true_scale, true_bias))
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("wrong, message", [
    (folded_with(true_scale, lambda l, n, s: l.bias * s + n.bias), "ignores the running mean"),
    (folded_with(lambda n: n.weight / torch.sqrt(n.running_var),
                 lambda l, n, s: (l.bias - n.running_mean) * s + n.bias), "ε is missing"),
    (folded_with(true_scale, lambda l, n, s: (l.bias - n.running_mean) * s), "shift β"),
    (folded_with(true_scale, lambda l, n, s: -n.running_mean * s + n.bias), "old bias"),
    (folded_with(lambda n: n.weight, true_bias), "not divided by the running standard deviation"),
    (lambda linear, norm: torch.nn.Sequential(linear, norm), "should return an nn.Linear"),
    ("fold", "expected a function"),
])
def test_fold_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_fold(wrong)


def test_fold_that_changes_its_inputs_is_refused():
    def in_place(linear, norm):
        with torch.no_grad():
            linear.weight.mul_(true_scale(norm)[:, None])
            linear.bias.copy_(true_bias(linear, norm, true_scale(norm)))
        return linear
    with pytest.raises(AssertionError, match="changed the layers"):
        checks.check_fold(in_place)


# --- check_pair_output --------------------------------------------------------------------------

PAIR = torch.tensor([[0.3, -2.0, 5.0, 1.0], [1.7, 4.0, 5.0, 0.9]])


def test_pair_accepts_the_signs_and_the_zero(capsys):
    checks.check_pair_output(PAIR, [[-1, -1, 0, 1], [1, 1, 0, -1]])
    assert "±1" in capsys.readouterr().out
    # the check recomputes the truth from the pair it is given
    other = torch.tensor([[2.0, 1.0], [1.0, 1.0]])
    checks.check_pair_output(other, [[1, 0], [-1, 0]])


@pytest.mark.parametrize("answer, message", [
    ([[-1, -1, 1, 1], [1, 1, 1, -1]], "where they agree"),
    ([[1, 1, 0, -1], [-1, -1, 0, 1]], "every sign is flipped"),
    ([[-1, 1, 0, 1], [1, -1, 0, -1]], "some signs are wrong"),
    ([[-0.7, -3.0, 0.0, 0.05], [0.7, 3.0, 0.0, -0.05]], "not what batch norm gives"),
    ([[-1, -1, 0], [1, 1, 0]], "shape of the batch"),
    ("minus one", "should be a 2 × 4 tensor"),
])
def test_pair_names_the_mistake(answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_pair_output(PAIR, answer)
