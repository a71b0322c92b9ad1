"""Checks for the chapters' exercises: a right answer prints ✓, a wrong one raises an AssertionError
that says what is wrong and gives a hint.

Every check works out the true answer from what the student's own run produced, so it holds for
any profile, seed or data source. Each chapter's checks live in a module of their own.
"""
from . import batch_norm, dropout, layer_norm, penalties, weight_decay
from .overfitting import check_best_epoch, check_final_gap, check_rising_fraction

__all__ = ["check_final_gap", "check_best_epoch", "check_rising_fraction", "penalties",
           "weight_decay", "dropout", "batch_norm", "layer_norm"]
