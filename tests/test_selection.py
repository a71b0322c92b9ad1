"""Choices on validation: the best swept value, the values within noise of it, the best epoch."""
from types import SimpleNamespace

import numpy as np
import pytest

from regutils import selection
from regutils.experiment import SweepResult

SEEDS = [0, 1, 2, 3, 4]


def sweep_of(losses: dict) -> SweepResult:
    """A finished sweep whose runs have the given validation losses (one list per value)."""
    result = SweepResult("l2", "strength", list(losses), SEEDS)
    for value, per_seed in losses.items():
        for seed, loss in zip(SEEDS, per_seed):
            result.runs[(value, seed)] = SimpleNamespace(metrics={"val_loss": loss,
                                                                  "val_acc": 1 - loss})
    return result


def test_best_is_the_lowest_mean_and_highest_for_accuracies():
    result = sweep_of({1e-4: [0.30, 0.31, 0.29, 0.30, 0.30], 1e-3: [0.20, 0.21, 0.19, 0.20, 0.20],
                       1e-2: [0.25, 0.26, 0.24, 0.25, 0.25]})
    assert selection.best(result) == 1e-3
    assert selection.best(result, "val_acc", lowest=False) == 1e-3
    assert selection.best(result, "val_acc") == 1e-4  # the lowest accuracy, as asked


def test_near_best_keeps_what_the_paired_interval_cannot_separate():
    shift = np.array([0.02, -0.015, 0.01, -0.02, 0.012])  # noise of either sign around zero
    result = sweep_of({1e-4: list(0.30 + np.arange(5) * 0.01),
                       1e-3: list(0.20 + np.arange(5) * 0.01),
                       3e-3: list(0.20 + np.arange(5) * 0.01 + shift),
                       1e-2: list(0.25 + np.arange(5) * 0.01)})
    assert selection.best(result) in (1e-3, 3e-3)
    assert selection.near_best(result) == [1e-3, 3e-3]  # 1e-4 and 1e-2 are clearly worse, paired


def test_a_sweep_without_finished_runs_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="run it first"):
        selection.best(SweepResult("l2", "strength", [1e-4], SEEDS))


def test_stopped_at_best_retrains_to_the_epoch_of_lowest_validation_loss():
    asked = {}

    class Config:
        def replace(self, **fields):
            asked.update(fields)
            return SimpleNamespace(run=lambda keep_model: ("trained", keep_model))

    run = SimpleNamespace(experiment=Config(), history={"val_loss": [0.5, 0.3, 0.2, 0.25, 0.4]})
    assert selection.stopped_at_best(run) == ("trained", True)
    assert asked == {"epochs": 3}
