"""The weight-decay chapter's checks accept the right answer and reject plausible wrong ones."""
import numpy as np
import pytest
import torch

import regutils as ru
from regutils.coursework import weight_decay


@pytest.fixture(scope="module")
def decoupled():
    """A small real decoupled-decay run (quick profile, cached)."""
    return ru.Experiment("decoupled_weight_decay", 1.0, profile="quick").run()


# --- check_adamw_step --------------------------------------------------------------------------

W = torch.tensor([0.8, -0.3, 0.05, 1.5])
GRAD = torch.tensor([0.02, 0.4, -0.01, -0.2])
LR, DECAY = 0.01, 0.5


def test_adamw_step_accepts_the_hand_computed_step(capsys):
    new_w = (1 - LR * DECAY) * W - LR * GRAD / (GRAD.abs() + 1e-8)
    for answer in (new_w, new_w.numpy(), new_w.tolist()):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, answer)
        assert capsys.readouterr().out.startswith("✓ correct")


def test_adamw_step_rejects_the_coupled_step():
    coupled = GRAD + DECAY * W
    with pytest.raises(AssertionError, match="Adam\\(weight_decay=λ\\)"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, W - LR * coupled / coupled.abs())


def test_adamw_step_rejects_a_missing_decay():
    with pytest.raises(AssertionError, match="decay is missing"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, W - LR * GRAD / GRAD.abs())


def test_adamw_step_rejects_decay_without_the_learning_rate():
    with pytest.raises(AssertionError, match="instead of lr·λ·w"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, (1 - DECAY) * W - LR * GRAD / GRAD.abs())


def test_adamw_step_rejects_the_wrong_shape():
    with pytest.raises(AssertionError, match="shape"):
        weight_decay.check_adamw_step(W, GRAD, LR, DECAY, W[:2])


def test_adam_l2_step_accepts_the_coupled_step_and_names_the_reversed_weights(capsys):
    seen = GRAD + DECAY * W
    weight_decay.check_adam_l2_step(W, GRAD, LR, DECAY, W - LR * seen / (seen.abs() + 1e-8))
    out = capsys.readouterr().out
    assert out.startswith("✓ correct") and "weights 2, 3" in out


def test_adam_l2_step_rejects_the_adamw_step_and_a_missing_decay():
    with pytest.raises(AssertionError, match="AdamW's step"):
        weight_decay.check_adam_l2_step(W, GRAD, LR, DECAY,
                                        (1 - LR * DECAY) * W - LR * GRAD / GRAD.abs())
    with pytest.raises(AssertionError, match="decay is missing"):
        weight_decay.check_adam_l2_step(W, GRAD, LR, DECAY, W - LR * GRAD / GRAD.abs())


# --- check_paper_lambda ------------------------------------------------------------------------

def paper_values(run):
    config = run.experiment.resolved()
    paper = config.lr * config.strength
    return paper, paper / (config.batch_size / (config.train_size * len(run.history))) ** 0.5


def test_paper_lambda_accepts_the_conversion(decoupled, capsys):
    weight_decay.check_paper_lambda(decoupled, *paper_values(decoupled))
    assert capsys.readouterr().out.startswith("✓ correct")


def test_paper_lambda_rejects_pytorchs_lambda_a_division_and_an_inverted_normalization(decoupled):
    config = decoupled.experiment.resolved()
    paper, normalized = paper_values(decoupled)
    with pytest.raises(AssertionError, match="PyTorch's λ itself"):
        weight_decay.check_paper_lambda(decoupled, config.strength, normalized)
    with pytest.raises(AssertionError, match="divides by the learning rate"):
        weight_decay.check_paper_lambda(decoupled, config.strength / config.lr, normalized)
    with pytest.raises(AssertionError, match="instead of dividing"):
        weight_decay.check_paper_lambda(decoupled, paper, paper * paper / normalized)


def test_paper_lambda_needs_a_decoupled_run():
    with pytest.raises(AssertionError, match="decoupled_weight_decay"):
        weight_decay.check_paper_lambda(ru.Experiment(profile="quick").run(), 1e-3, 1.0)


# --- check_matched_strength --------------------------------------------------------------------

def test_matched_strength_measures_the_norms_itself(capsys):
    candidates = [0.1, 10.0, 300.0]
    ru.use_profile("quick")
    try:
        def norm(technique, strength):
            return np.mean([ru.Experiment(technique, strength, lr=3e-3, seed=s).run()
                            .history["weight_norm"][-1] for s in ru.get_profile().seeds])
        target = norm("coupled_weight_decay", 1e-2)
        matched = min(candidates, key=lambda c: abs(norm("decoupled_weight_decay", c) - target))
        weight_decay.check_matched_strength(matched, lr=3e-3, coupled=1e-2, candidates=candidates)
        assert capsys.readouterr().out.startswith("✓ correct")
        with pytest.raises(AssertionError, match="1/η prediction"):
            weight_decay.check_matched_strength(1e-2 / 3e-3, lr=3e-3, coupled=1e-2,
                                                candidates=candidates)
        wrong = next(c for c in candidates if c != matched)
        with pytest.raises(AssertionError, match="closest to the coupled"):
            weight_decay.check_matched_strength(wrong, lr=3e-3, coupled=1e-2, candidates=candidates)
    finally:
        ru.profiles._chosen = None


def test_matched_strength_leaves_the_callers_random_stream_alone(tmp_path, monkeypatch):
    from tests.helpers import leaves_random_stream_alone

    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path))  # an empty cache: the check trains
    ru.use_profile("quick")
    try:
        def check():
            try:
                weight_decay.check_matched_strength(10.0, lr=3e-3, coupled=1e-2,
                                                    candidates=[0.1, 10.0])
            except AssertionError:  # right or wrong, the stream must be as it was
                pass
        assert leaves_random_stream_alone(check)
    finally:
        ru.profiles._chosen = None
