"""Checks for the chapters' exercises: a right answer prints ✓, a wrong one raises an AssertionError
that says what is wrong and gives a hint.

Every check works out the true answer from what the student's own run produced, so it holds for
any profile, seed or data source. Each chapter's checks live in a module of their own.
"""
from . import (augmentation, batch_norm, combining, dropout, early_stopping, layer_norm, noise,
               penalties, tuning, weight_decay)
from .overfitting import (check_best_epoch, check_final_gap, check_lowest_epochs,
                          check_rising_fraction)

__all__ = ["check_final_gap", "check_best_epoch", "check_lowest_epochs", "check_rising_fraction", "penalties",
           "weight_decay", "dropout", "batch_norm", "layer_norm", "noise", "early_stopping",
           "augmentation", "combining", "tuning"]
