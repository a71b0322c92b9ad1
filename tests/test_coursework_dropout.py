"""The dropout chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import regutils as ru
from regutils.coursework import dropout as checks
from tests.helpers import leaves_random_stream_alone


def inverted(x, p):
    mask = torch.empty_like(x).bernoulli_(1 - p)
    return x * (mask / (1 - p))


# --- check_inverted_dropout ------------------------------------------------------------------

def test_inverted_dropout_accepts_a_right_answer_and_says_it_matches_pytorch(capsys):
    checks.check_inverted_dropout(inverted)
    assert "bit for bit" in capsys.readouterr().out
    checks.check_inverted_dropout(lambda x, p: F.dropout(x, p, training=True))


def test_inverted_dropout_accepts_another_mask_construction(capsys):
    checks.check_inverted_dropout(lambda x, p: x * (torch.rand_like(x) >= p) / (1 - p))
    out = capsys.readouterr().out
    assert out.startswith("✓ correct") and "differ from F.dropout" in out


def test_inverted_dropout_leaves_the_callers_random_stream_alone():
    assert leaves_random_stream_alone(lambda: checks.check_inverted_dropout(inverted))


@pytest.mark.parametrize("wrong, message", [
    (lambda x, p: x * torch.empty_like(x).bernoulli_(1 - p), "not scaled"),
    (lambda x, p: x * torch.empty_like(x).bernoulli_(1 - p) * (1 - p), "instead of divided"),
    (lambda x, p: x * torch.empty_like(x).bernoulli_(p) / p, "which is 1 − p"),
    (lambda x, p: x * torch.empty_like(x).bernoulli_(1 - p) / (1 - p) ** 2, "not x / \\(1 − p\\)"),
    (lambda x, p: x.mul_(torch.empty_like(x).bernoulli_(1 - p) / (1 - p)), "changed its input"),
    (lambda x, p: x, "should be zero"),
])
def test_inverted_dropout_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_inverted_dropout(wrong)


# --- check_train_mode_drop ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """A small dropout model trained in the quick profile, and the validation data of its run."""
    run = ru.Experiment("dropout", 0.8, profile="quick").run(keep_model=True)
    profile = ru.get_profile("quick")
    data = ru.load_mnist(profile.train_size, val_size=profile.val_size,
                         test_size=profile.test_size, seed=0, device="cpu")
    return run.model.cpu(), data


def train_mode_accuracy(model, data, seed=0):
    model.train()
    torch.manual_seed(seed)
    with torch.no_grad():
        return (model(data.x_val).argmax(1) == data.y_val).float().mean().item()


def test_train_mode_drop_accepts_the_right_answer(trained, capsys):
    model, data = trained
    drop = ru.train.evaluate(model, data.x_val, data.y_val)[1] - train_mode_accuracy(model, data)
    assert drop > 0
    checks.check_train_mode_drop(model, data.x_val, data.y_val, drop)
    assert capsys.readouterr().out.startswith("✓ correct")
    checks.check_train_mode_drop(model, data.x_val, data.y_val, np.float32(drop))


def test_train_mode_drop_rejects_both_modes_the_same_and_the_wrong_sign(trained):
    model, data = trained
    with pytest.raises(AssertionError, match="same mode"):
        checks.check_train_mode_drop(model, data.x_val, data.y_val, 0.0)
    drop = ru.train.evaluate(model, data.x_val, data.y_val)[1] - train_mode_accuracy(model, data)
    with pytest.raises(AssertionError, match="wrong sign"):
        checks.check_train_mode_drop(model, data.x_val, data.y_val, -drop)
    with pytest.raises(AssertionError, match="percentage"):
        checks.check_train_mode_drop(model, data.x_val, data.y_val, 100 * drop)


def test_train_mode_drop_recognises_masks_drawn_without_the_seed(trained):
    model, data = trained
    eval_acc = ru.train.evaluate(model, data.x_val, data.y_val)[1]
    other = next(eval_acc - train_mode_accuracy(model, data, seed) for seed in range(1, 21)
                 if train_mode_accuracy(model, data, seed) != train_mode_accuracy(model, data))
    with pytest.raises(AssertionError, match="different set of dropout masks"):
        checks.check_train_mode_drop(model, data.x_val, data.y_val, other)


def test_train_mode_drop_rejects_a_model_without_dropout(trained):
    _, data = trained
    with pytest.raises(AssertionError, match="no dropout layer"):
        checks.check_train_mode_drop(ru.mlp((16,)), data.x_val, data.y_val, 0.0)


# --- check_best_probability ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def swept():
    return ru.sweep("input_dropout", [0.0, 0.5, 0.9], seeds=[0, 1], profile="quick")


def test_best_probability_accepts_the_argmax_of_the_mean(swept, capsys):
    best = swept.values[int(np.argmax(swept.mean("val_acc")))]
    checks.check_best_probability(swept, best)
    assert capsys.readouterr().out.startswith("✓ correct")


def test_best_probability_rejects_a_value_not_swept_and_a_wrong_pick(swept):
    with pytest.raises(AssertionError, match="not one of the swept values"):
        checks.check_best_probability(swept, 0.3)
    best = swept.values[int(np.argmax(swept.mean("val_acc")))]
    wrong = next(value for value in swept.values if value != best)
    with pytest.raises(AssertionError, match=f"p = {wrong:g}"):
        checks.check_best_probability(swept, wrong)


def test_best_probability_names_the_smallest_gap_when_that_is_the_mistake():
    result = ru.SweepResult("dropout", "strength", [0.0, 0.5, 0.9], [0])
    for value, (train_acc, val_acc, val_loss) in zip(
            result.values, [(1.0, 0.90, 0.40), (0.99, 0.92, 0.30), (0.80, 0.78, 0.90)]):
        history = ru.History([dict(epoch=1, objective=1.0, penalty=0.0, train_loss=0.1,
                                   train_acc=train_acc, val_loss=val_loss, val_acc=val_acc,
                                   seconds=0.1)])
        result.runs[(value, 0)] = ru.RunResult(ru.Experiment("dropout", value or None), history)
    with pytest.raises(AssertionError, match="smallest generalization gap"):
        checks.check_best_probability(result, 0.9)
    checks.check_best_probability(result, 0.5)
