"""Run sizes for three settings: `quick` for tests, `default` for the book on a CPU, `full` for a GPU."""
from __future__ import annotations

import os
from dataclasses import dataclass

ENV = "REGUTILS_PROFILE"


@dataclass(frozen=True)
class Profile:
    """How big an experiment is: data, model and training length."""

    name: str
    train_size: int | None  # None: every training image the source holds
    val_size: int | None    # None: the source's default (12,000 full MNIST, 1,000 offline)
    test_size: int | None
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    seeds: tuple[int, ...]  # how many seeds a sweep averages over


PROFILES = {
    "quick": Profile("quick", train_size=300, val_size=500, test_size=500, hidden=(64,),
                     epochs=3, batch_size=64, lr=1e-3, seeds=(0, 1)),
    "default": Profile("default", train_size=1000, val_size=1000, test_size=1000,
                       hidden=(256, 256), epochs=30, batch_size=64, lr=1e-3, seeds=(0, 1, 2)),
    "full": Profile("full", train_size=None, val_size=None, test_size=None, hidden=(512, 512),
                    epochs=20, batch_size=128, lr=1e-3, seeds=(0, 1, 2)),
}

_chosen: str | None = None


def use_profile(name: str) -> Profile:
    """Choose the profile for this process, overriding `$REGUTILS_PROFILE`: `use_profile("full")`."""
    global _chosen
    profile = get_profile(name)
    _chosen = profile.name
    return profile


def get_profile(name: str | None = None) -> Profile:
    """The profile called `name`; with None, the one chosen by `use_profile` or `$REGUTILS_PROFILE`.

    >>> get_profile("quick").epochs
    3
    """
    if name is None:
        name = _chosen or os.environ.get(ENV) or "default"
    if not isinstance(name, str) or name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; use one of {', '.join(PROFILES)} "
                         f"(set by use_profile() or the {ENV} environment variable)")
    return PROFILES[name]
