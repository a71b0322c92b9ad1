"""Run sizes for three settings: `quick` for tests, `default` for the book on a CPU, `full` for a GPU."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

ENV = "REGUTILS_PROFILE"
SEED_OFFSET_ENV = "REGUTILS_SEED_OFFSET"  # shifts every profile's seeds: another draw of noise


@dataclass(frozen=True)
class Profile:
    """How big an experiment is: data, model and training length."""

    name: str
    train_size: int | None  # None: the whole training pool of the source
    val_size: int | None    # at most this many of the fixed validation images; None: all of them
    test_size: int | None   # at most this many of the fixed test images; None: all of them
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    seeds: tuple[int, ...]  # the seeds every comparison is repeated over, paired across arms


# The default profile is sized by measurement (benchmarks/README.md): on full MNIST a run takes
# about 2 s on one CPU core, 5,000 validation images put one accuracy's binomial standard error
# near 0.4 points, and 5 seeds resolve the paired loss differences the chapters conclude from.
PROFILES = {
    "quick": Profile("quick", train_size=300, val_size=500, test_size=500, hidden=(64,),
                     epochs=3, batch_size=64, lr=1e-3, seeds=(0, 1)),
    "default": Profile("default", train_size=1000, val_size=5000, test_size=None,
                       hidden=(256, 256), epochs=30, batch_size=64, lr=1e-3,
                       seeds=(0, 1, 2, 3, 4)),
    "full": Profile("full", train_size=None, val_size=None, test_size=None, hidden=(512, 512),
                    epochs=20, batch_size=128, lr=1e-3, seeds=(0, 1, 2, 3, 4)),
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
    profile = PROFILES[name]
    offset = seed_offset()
    if offset:
        profile = dataclasses.replace(profile, seeds=tuple(offset + s for s in profile.seeds))
    return profile


def seed_offset() -> int:
    """`$REGUTILS_SEED_OFFSET`, added to every profile seed (0 when unset).

    The book's claims are checked again under shifted seeds (`benchmarks/claims.py`): new
    training subsets, initial weights and noise, the same held-out sets.
    """
    value = os.environ.get(SEED_OFFSET_ENV, "0").strip() or "0"
    if not value.isdigit():
        raise ValueError(f"{SEED_OFFSET_ENV} must be a whole number >= 0, got {value!r}")
    return int(value)
