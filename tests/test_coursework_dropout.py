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


def test_inverted_dropout_rejects_a_mask_tied_to_position_or_reused():
    def first_entries(x, p):  # zeroes the first p·n entries: the right share, scale and mean
        out = x / (1 - p)
        out[: int(p * x.numel())] = 0
        return out

    with pytest.raises(AssertionError, match="where they are"):
        checks.check_inverted_dropout(first_entries)
    generator = torch.Generator().manual_seed(5)
    fixed = {}

    def same_mask(x, p):  # one random mask per p, reused at every call
        if p not in fixed:
            fixed[p] = (torch.rand(x.shape, generator=generator) >= p).float()
        return x * fixed[p] / (1 - p)

    with pytest.raises(AssertionError, match="same entries"):
        checks.check_inverted_dropout(same_mask)


# --- check_train_mode_drop ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_profile():
    ru.use_profile("quick")
    yield
    ru.profiles._chosen = None


def true_drop(p, seed=0):
    experiment = ru.Experiment("dropout", p)
    model = experiment.run(keep_model=True).model
    data = experiment.data(device=next(model.parameters()).device)
    eval_acc = ru.train.evaluate(model, data.x_val, data.y_val)[1]
    model.train()
    torch.manual_seed(seed)
    with torch.no_grad():
        train_acc = (model(data.x_val).argmax(1) == data.y_val).float().mean().item()
    model.eval()
    return eval_acc - train_acc


def test_train_mode_drop_accepts_the_right_answer(quick_profile, capsys):
    drop = true_drop(0.8)
    assert drop > 0
    checks.check_train_mode_drop(drop, p=0.8)
    checks.check_train_mode_drop(np.float32(drop), p=0.8)
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_train_mode_drop_rejects_same_mode_sign_percentage_and_other_masks(quick_profile):
    drop = true_drop(0.8)
    with pytest.raises(AssertionError, match="same mode"):
        checks.check_train_mode_drop(0.0, p=0.8)
    with pytest.raises(AssertionError, match="wrong sign"):
        checks.check_train_mode_drop(-drop, p=0.8)
    with pytest.raises(AssertionError, match="percentage"):
        checks.check_train_mode_drop(100 * drop, p=0.8)
    other = next(true_drop(0.8, seed) for seed in range(1, 21) if true_drop(0.8, seed) != drop)
    with pytest.raises(AssertionError, match="different set of dropout masks|p = 0.5"):
        checks.check_train_mode_drop(other, p=0.8)


def test_train_mode_drop_names_the_p_half_network(quick_profile):
    half, heavy = true_drop(0.5), true_drop(0.8)
    if abs(half - heavy) < 1e-6:
        pytest.skip("the two networks happen to lose the same share")
    with pytest.raises(AssertionError, match="p = 0.5"):
        checks.check_train_mode_drop(half, p=0.8)


# --- check_dropout_penalty ---------------------------------------------------------------------

def test_dropout_penalty_accepts_the_closed_form(capsys):
    checks.check_dropout_penalty(lambda w, x, p: p / (1 - p) * float((w ** 2 * x ** 2).sum()))
    assert "an L2 penalty weighted" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda w, x, p: p * float((w ** 2 * x ** 2).sum()), "factor"),
    (lambda w, x, p: p / (1 - p) * float((w ** 2).sum()), "w² alone"),
    (lambda w, x, p: p / (1 - p) * float((w * x).sum() ** 2), "squares the sum"),
    (lambda w, x, p: 0.0, "Monte-Carlo"),
])
def test_dropout_penalty_rejects_plausible_mistakes(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_dropout_penalty(wrong)


def test_train_mode_drop_leaves_the_callers_random_stream_alone(quick_profile, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path))  # an empty cache: the check trains
    drop = true_drop(0.8)
    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path / "empty"))
    assert leaves_random_stream_alone(lambda: checks.check_train_mode_drop(drop, p=0.8))
