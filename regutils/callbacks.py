"""The per-run and per-epoch hooks of `fit` (a regularizer's are per batch); early stopping."""
from __future__ import annotations

import math

from torch import nn

from .history import History
from .regularizers import check_strength


class Callback:
    """Hooks called once per run and once per epoch; `on_epoch_end` returns True to stop.

    `on_train_end` is called however training ends: finished, stopped by a callback, interrupted
    by Ctrl-C, diverged, or ended by an error a callback raised (a pruned Optuna trial).
    """

    def on_train_begin(self, model: nn.Module, history: History) -> None:
        pass

    def on_epoch_end(self, model: nn.Module, history: History) -> bool | None:
        return None

    def on_train_end(self, model: nn.Module, history: History) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when the validation data loss has not improved by `min_delta` for `patience` epochs.

    With `restore_best`, the model gets back a *copy* of the best epoch's weights: keeping
    `model.state_dict()` itself would keep references that follow the live weights.

    >>> EarlyStopping(patience=3)
    EarlyStopping(patience=3, min_delta=0.0, restore_best=True)
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0, restore_best: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        self.patience = patience
        self.min_delta = check_strength("min_delta", min_delta)
        if not isinstance(restore_best, bool):
            raise TypeError(f"restore_best must be True or False, got {restore_best!r}")
        self.restore_best = restore_best

    def on_train_begin(self, model, history):
        self.best_loss, self.best_state, self.waited = math.inf, None, 0

    def on_epoch_end(self, model, history):
        val_loss = history.records[-1]["val_loss"]
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.waited = val_loss, 0
            history.best_epoch = len(history)
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.waited += 1
        if self.waited >= self.patience:
            history.stopped_epoch = len(history)
            return True
        return False

    def on_train_end(self, model, history):
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)
            history.restored_epoch = history.best_epoch

    def __repr__(self) -> str:
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"restore_best={self.restore_best})")
