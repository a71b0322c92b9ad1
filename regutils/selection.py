"""Choices made on validation: a sweep's strength, the strengths within noise of it, a run's epoch.

Every choice here looks at the validation set only; the test set is for reporting the choice.

>>> import regutils as ru
>>> result = ru.sweep("l2", [1e-4, 1e-3], profile="quick")         # doctest: +SKIP
>>> ru.selection.best(result), ru.selection.near_best(result)       # doctest: +SKIP
(0.001, [0.0001, 0.001])
"""
from __future__ import annotations

import numpy as np

from .experiment import RunResult, SweepResult


def best(result: SweepResult, metric: str = "val_loss", *, lowest: bool = True):
    """The swept value whose mean `metric` over seeds is lowest (highest with `lowest=False`).

    Values with no finished run are passed over.

    >>> best(result), best(result, "val_acc", lowest=False)         # doctest: +SKIP
    """
    means = result.mean(metric)
    if not np.isfinite(means).any():
        raise ValueError(f"no finished run in the sweep over {result.values}; run it first")
    index = np.nanargmin(means) if lowest else np.nanargmax(means)
    return result.values[int(index)]


def near_best(result: SweepResult, metric: str = "val_loss", *, lowest: bool = True) -> list:
    """The best value and every swept value whose paired difference from it is within noise.

    "Within noise": the 95% interval of the difference, paired by seed, contains zero.

    >>> near_best(result)                                           # doctest: +SKIP
    [0.0001, 0.001]
    """
    chosen = best(result, metric, lowest=lowest)
    return [value for value in result.values
            if value == chosen or not result.paired(metric, value, chosen).excludes(0.0)]


def stopped_at_best(run: RunResult) -> RunResult:
    """The same run trained again for as many epochs as its lowest validation loss took.

    The epoch is chosen on validation; the returned run keeps its model for the test set.

    >>> early = stopped_at_best(run)                                # doctest: +SKIP
    >>> early.experiment.epochs == int(np.argmin(run.history["val_loss"])) + 1  # doctest: +SKIP
    True
    """
    epochs = int(np.argmin(run.history["val_loss"])) + 1
    return run.experiment.replace(epochs=epochs).run(keep_model=True)
