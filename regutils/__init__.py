"""Regularization, Hands-On: the shared training core of the book.

>>> import regutils as ru
>>> data = ru.load_mnist(train_size=2000, seed=0)                    # doctest: +SKIP
>>> model = ru.mlp(hidden=(256, 256), dropout=0.3)
>>> history = ru.fit(model, data, epochs=20, regularizers=[ru.L2(1e-4)],
...                  callbacks=[ru.EarlyStopping(patience=3)])       # doctest: +SKIP
>>> ru.plots.curves(history)                                         # doctest: +SKIP
"""
from . import book, calibration, claims, plots, selection, stats, twin, widgets
from .claims import ClaimFailed, Claims
from .data import DataError, MNISTSplit, load_mnist
from .devices import best_device
from .experiment import Experiment, RunResult, SweepResult, sweep
from .models import mlp
from .profiles import get_profile, use_profile
from .regularizers import (L1, L2, CoupledWeightDecay, DecoupledWeightDecay, InputNoise, MaxNorm,
                           ProximalL1, RandomAffine, RandomFlip, Regularizer,
                           WeightNoise)
from .techniques import TECHNIQUES
from .callbacks import Callback, EarlyStopping
from .history import History
from .train import TrainingDiverged, fit
from .widgets import LiveCurves

__version__ = "0.1.0"


def __getattr__(name: str):
    """`ru.coursework`, the exercise checks, imported when first used, not by `import regutils`."""
    if name == "coursework":
        import importlib

        return importlib.import_module(".coursework", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "load_mnist", "MNISTSplit", "DataError", "best_device", "mlp", "fit", "History", "Callback",
    "EarlyStopping", "LiveCurves", "TrainingDiverged", "Regularizer", "L1", "L2", "ProximalL1",
    "CoupledWeightDecay", "DecoupledWeightDecay", "MaxNorm", "InputNoise", "WeightNoise",
    "RandomAffine", "RandomFlip", "Experiment", "RunResult", "SweepResult", "sweep", "use_profile",
    "get_profile", "TECHNIQUES", "plots", "widgets", "twin", "book", "coursework", "stats",
    "claims", "Claims", "ClaimFailed", "calibration", "selection",
]
