"""The early-stopping chapter's checks accept the right answer and reject plausible wrong ones."""
import pytest
import torch

import regutils as ru
from regutils.coursework import early_stopping as checks
from regutils.train import History

# best at epoch 4; patience 2 stops after epoch 6; the lowest loss of all comes later, at epoch 8;
# epoch 3 is the first rise over the previous epoch; epoch 7 has the best accuracy of epochs 1-6
VAL_LOSS = [0.50, 0.40, 0.45, 0.38, 0.39, 0.41, 0.42, 0.30]
VAL_ACC = [0.80, 0.85, 0.84, 0.86, 0.88, 0.87, 0.89, 0.90]


@pytest.fixture(scope="module")
def history():
    return History([dict(epoch=e, val_loss=v, val_acc=a, train_loss=0.1, train_acc=1.0)
                    for e, (v, a) in enumerate(zip(VAL_LOSS, VAL_ACC), start=1)])


def test_stopping_point_agrees_with_the_callback(data):
    torch.manual_seed(0)
    callback = ru.EarlyStopping(patience=1)
    run = ru.fit(ru.mlp(hidden=(16,)), data, epochs=8, callbacks=[callback], lr=0.05)
    torch.manual_seed(0)
    full = ru.fit(ru.mlp(hidden=(16,)), data, epochs=8, lr=0.05)
    best, stop = checks.stopping_point(full["val_loss"], 1)
    assert best == run.best_epoch and stop == len(run)


def test_stop_epoch_accepts_the_right_answer(history, capsys):
    checks.check_stop_epoch(history, 2, 6)
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("answer, message", [
    (4, "best epoch"), (5, "off by one"), (7, "off by one"), (20, "no epoch 20"), (2.5, "whole"),
])
def test_stop_epoch_rejects_plausible_mistakes(history, answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_stop_epoch(history, 2, answer)


def test_stop_epoch_recognises_comparing_with_the_previous_epoch():
    losses = [0.5, 0.4, 0.45, 0.42, 0.41, 0.43, 0.44]  # rises at 3; the best stays epoch 2
    history = History([dict(epoch=e, val_loss=v, val_acc=0.9) for e, v in enumerate(losses, 1)])
    checks.check_stop_epoch(history, 3, 5)
    with pytest.raises(AssertionError, match="compared each epoch with the one before"):
        checks.check_stop_epoch(history, 3, 7)  # never three non-improvements in a row


def test_restored_epoch_accepts_the_right_answer(history, capsys):
    checks.check_restored_epoch(history, 2, 4)
    assert "epoch 4 come back" in capsys.readouterr().out


@pytest.mark.parametrize("answer, message", [
    (8, "lowest validation loss of the whole run"), (6, "where training stops"),
    (3, "off by one"), (5, "highest validation accuracy"),
])
def test_restored_epoch_rejects_plausible_mistakes(history, answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_restored_epoch(history, 2, answer)


# accuracies with a tie at epoch 4 and their best at epoch 9, after the patience-2 stop at epoch 6
ACCURACIES = [0.80, 0.85, 0.84, 0.85, 0.83, 0.82, 0.86, 0.85, 0.90]
LOSSES = [0.50, 0.45, 0.40, 0.41, 0.42, 0.43, 0.39, 0.44, 0.45]


@pytest.fixture
def accuracy_history():
    return History([dict(epoch=e, val_loss=l, val_acc=a)
                    for e, (l, a) in enumerate(zip(LOSSES, ACCURACIES), 1)])


def test_accuracy_restored_epoch_accepts_the_right_answer(accuracy_history, capsys):
    checks.check_accuracy_restored_epoch(accuracy_history, 2, 2)
    assert "stops after epoch 4 and gives back epoch 2" in capsys.readouterr().out


@pytest.mark.parametrize("patience, answer, message", [
    (2, 4, "counted that as an improvement"),  # the tie kept the count at zero
    (3, 3, "the validation loss would restore"), (2, 9, "highest validation accuracy of the whole run"),
    (3, 5, "where training stops"), (3, 1, "off by one"), (3, 6, "not the restored epoch"),
])
def test_accuracy_restored_epoch_rejects_plausible_mistakes(accuracy_history, patience, answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_accuracy_restored_epoch(accuracy_history, patience, answer)


def test_snapshot_accepts_a_copy(capsys):
    checks.check_snapshot(lambda m: {k: v.detach().clone() for k, v in m.state_dict().items()})
    assert capsys.readouterr().out.startswith("✓ correct")


@pytest.mark.parametrize("wrong, message", [
    (lambda m: m.state_dict(), "changed when the model trained on"),
    (lambda m: {k: v.detach().clone() for k, v in m.named_parameters()}, "leaves out the buffers"),
    (lambda m: [v.clone() for v in m.state_dict().values()], "should return a dict"),
    (lambda m: {k: torch.zeros_like(v) for k, v in m.state_dict().items()}, "current state"),
])
def test_snapshot_rejects_the_reference_bug(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_snapshot(wrong)


def test_snapshot_by_deepcopy_is_accepted(capsys):
    import copy
    checks.check_snapshot(lambda m: copy.deepcopy(m.state_dict()))
    assert capsys.readouterr().out.startswith("✓ correct")


# --- check_generalization_loss_stop --------------------------------------------------------------

def test_generalization_loss_stop_by_hand():
    # epoch 3 is 100·(0.45/0.40 − 1) = 12.5% above the best so far; epoch 7, 0.42/0.38: 10.5%
    assert checks.generalization_loss_stop(VAL_LOSS, 5.0) == (2, 3)
    assert checks.generalization_loss_stop(VAL_LOSS, 12.0) == (2, 3)
    assert checks.generalization_loss_stop(VAL_LOSS, 13.0) == (8, 8)  # never: to the end


def right_gl(val_loss, alpha):
    best = float("inf")
    for epoch, loss in enumerate(val_loss, 1):
        best = min(best, loss)
        if 100 * (loss / best - 1) > alpha:
            return val_loss.index(best) + 1, epoch
    return val_loss.index(min(val_loss)) + 1, len(val_loss)


def test_generalization_loss_stop_accepts_the_rule(history, capsys):
    checks.check_generalization_loss_stop(right_gl, history)
    assert "GL_5" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda v, a: right_gl(v, a)[::-1], "wrong way round"),
    (lambda v, a: right_gl(v, 100 * a), "in percent"),
    (lambda v, a: (right_gl(v, a)[1],) * 2, "where training stopped"),
    (lambda v, a: (v.index(min(v)) + 1, right_gl(v, a)[1]), "lowest loss of the whole run"),
    (lambda v, a: (1, 1), "not \\(1, 1\\)"),
    ("gl", "expected a function"),
])
def test_generalization_loss_stop_names_the_mistake(history, wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_generalization_loss_stop(wrong, history)
