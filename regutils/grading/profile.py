"""The grading profile: the quick profile's data and network, trained long enough to overfit.

Under `quick` (3 epochs) validation loss is still falling when training ends, so several mistakes
give the right number: the last epoch is the lowest, no epoch rises, early stopping never fires
and its restored epoch is the last. Under `grading` the same small runs train 40 epochs (about a
second each on one core), past the point where they start to overfit, so those mistakes fail.

The chapters branch on the profile's name (`TRIALS[profile.name]`, `profile.name == "quick"`), so
the grading profile runs under the name `quick`: in every process of a grading run (the kernels,
through an IPython startup file, and the judge) `install()` puts it in place of `quick` before
anything runs. Nothing changes outside those processes.
"""
from __future__ import annotations

import dataclasses
import os

from ..profiles import PROFILES

GRADING = "grading"
EPOCHS = 40
ENV = "REGUTILS_GRADING_PROFILE"
STARTUP = "from regutils.grading.profile import install\ninstall()\n"


def choices() -> list[str]:
    """The profiles a check can use: `grading`, then the book's own."""
    return [GRADING, *PROFILES]


def settings(choice: str) -> dict[str, str]:
    """The environment that makes the processes of a grading run use the profile `choice`."""
    if choice not in choices():
        raise ValueError(f"unknown profile {choice!r}; use one of {', '.join(choices())}")
    return {"REGUTILS_PROFILE": "quick" if choice == GRADING else choice, ENV: choice}


def install() -> None:
    """In a process of a grading run under `grading`: make `quick` train `EPOCHS` epochs."""
    if os.environ.get(ENV) == GRADING:
        PROFILES["quick"] = dataclasses.replace(PROFILES["quick"], epochs=EPOCHS)


def describe(choice: str) -> str:
    """How the report names the profile."""
    if choice == GRADING:
        return f"`grading` profile (the `quick` data and network, {EPOCHS} epochs)"
    return f"`{choice}` profile"
