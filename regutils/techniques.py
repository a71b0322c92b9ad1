"""The book's techniques by name: what each strength means, its range, and how it is set up.

A technique's setup says which model options, regularizer hooks and callbacks it adds; the
training loop itself never sees a technique's name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from . import regularizers as reg
from .regularizers import check_strength
from .callbacks import EarlyStopping


@dataclass(frozen=True)
class Setup:
    """What a technique (or several) adds to a run: model options, regularizers, callbacks."""

    model_options: dict = field(default_factory=dict)
    regularizers: tuple = ()
    callbacks: tuple = ()

    def __add__(self, other: "Setup") -> "Setup":
        clash = set(self.model_options) & set(other.model_options)
        if clash:
            raise ValueError(f"two techniques both set the model option(s) {sorted(clash)}")
        return Setup({**self.model_options, **other.model_options},
                     self.regularizers + other.regularizers, self.callbacks + other.callbacks)


@dataclass(frozen=True)
class Technique:
    """A named technique: the meaning and range of its strength, and how to set it up."""

    name: str
    summary: str
    strength: str | None           # what the strength means; None: the technique has none
    low: float = 0.0
    high: float = math.inf
    high_open: bool = False
    low_open: bool = False
    typical: float | None = None   # a sensible strength, used when none is given
    build: Callable[[float | None], Setup] = lambda strength: Setup()
    integer: bool = False

    @property
    def range(self) -> str:
        if self.strength is None:
            return "-"
        opening = "(" if self.low_open else "["
        closing = ")" if self.high_open or math.isinf(self.high) else "]"
        return f"{opening}{self.low:g}, {self.high:g}{closing}"

    def setup(self, strength: float | None) -> Setup:
        """The setup at `strength`, after checking it lies in range."""
        return self.build(self.check(strength))

    def check(self, strength: float | None) -> float | None:
        """`strength` checked against this technique's range (its typical value if None)."""
        if self.strength is None:
            if strength is not None:
                raise ValueError(f"technique {self.name!r} takes no strength (it is on or off); "
                                 f"leave the strength out, got {strength!r}")
            return None
        if strength is None:
            return self.typical
        value = check_strength(f"{self.name} strength ({self.strength})", strength,
                               self.low, self.high, self.high_open, self.low_open)
        if self.integer:
            if value != int(value):
                raise ValueError(f"{self.name} strength ({self.strength}) must be a whole "
                                 f"number in {self.range}, got {strength!r}")
            return int(value)
        return value


TECHNIQUES: dict[str, Technique] = {t.name: t for t in [
    Technique("none", "no regularization: the baseline", None),
    Technique("l1", "L1 penalty λ·Σ|w| added to the loss", "λ", typical=1e-4,
              build=lambda s: Setup(regularizers=(reg.L1(s),))),
    Technique("l2", "L2 penalty (λ/2)·‖w‖² added to the loss", "λ", typical=1e-3,
              build=lambda s: Setup(regularizers=(reg.L2(s),))),
    Technique("proximal_l1", "L1 by soft-thresholding after each step (exact zeros)", "λ",
              typical=1e-4, build=lambda s: Setup(regularizers=(reg.ProximalL1(s),))),
    Technique("max_norm", "each unit's incoming weights kept within norm c after every step",
              "c: the largest L2 norm of a unit's incoming weights", low_open=True, typical=3.0,
              build=lambda s: Setup(regularizers=(reg.MaxNorm(s),))),
    Technique("coupled_weight_decay", "λ·w added to the gradient, as Adam(weight_decay=λ)", "λ",
              typical=1e-3, build=lambda s: Setup(regularizers=(reg.CoupledWeightDecay(s),))),
    Technique("decoupled_weight_decay", "weights shrunk by (1 − lr·λ) each step, as AdamW", "λ",
              typical=1e-2, build=lambda s: Setup(regularizers=(reg.DecoupledWeightDecay(s),))),
    Technique("dropout", "dropout on every hidden layer", "drop probability p", 0.0, 1.0, True,
              typical=0.3, build=lambda s: Setup(model_options={"dropout": s})),
    Technique("input_dropout", "dropout on the input pixels", "drop probability p", 0.0, 1.0,
              True, typical=0.2, build=lambda s: Setup(model_options={"input_dropout": s})),
    Technique("batch_norm", "batch normalization after each hidden linear layer", None,
              build=lambda s: Setup(model_options={"norm": "batch"})),
    Technique("ghost_batch_norm", "batch normalization with statistics over groups of m "
              "examples of each batch", "m: examples per normalization group", 2.0, 65536.0,
              typical=16, integer=True,
              build=lambda s: Setup(model_options={"norm": "batch", "ghost_batch": s})),
    Technique("layer_norm", "layer normalization after each hidden linear layer", None,
              build=lambda s: Setup(model_options={"norm": "layer"})),
    Technique("rms_norm", "RMS normalization (layer norm without centring) after each hidden "
              "linear layer", None, build=lambda s: Setup(model_options={"norm": "rms"})),
    Technique("input_noise", "Gaussian noise on the training inputs", "σ in pixel std units",
              typical=0.5, build=lambda s: Setup(regularizers=(reg.InputNoise(s),))),
    Technique("weight_noise", "Gaussian noise on the weights for each forward pass", "σ",
              typical=0.01, build=lambda s: Setup(regularizers=(reg.WeightNoise(s),))),
    Technique("augmentation", "per-image random rotation, shift and zoom",
              "s: ±15°·s rotation, ±10%·s shift and zoom", 0.0, reg.RandomAffine.MAX_STRENGTH,
              typical=1.0, build=lambda s: Setup(regularizers=(reg.RandomAffine(s),))),
    Technique("flip", "mirror each training image left to right, with probability p",
              "probability p of mirroring an image", 0.0, 1.0, typical=0.5,
              build=lambda s: Setup(regularizers=(reg.RandomFlip(s),))),
    Technique("early_stopping", "stop when validation loss stops improving; keep the best epoch",
              "patience in epochs", 1.0, 1000.0, typical=3, integer=True,
              build=lambda s: Setup(callbacks=(EarlyStopping(patience=s),))),
]}


def get_technique(name: str) -> Technique:
    """The technique called `name`, or a clear error listing the known ones."""
    if not isinstance(name, str) or name not in TECHNIQUES:
        raise ValueError(f"unknown technique {name!r}; use one of {', '.join(TECHNIQUES)}")
    return TECHNIQUES[name]


def describe() -> str:
    """A table of the techniques, their strengths and ranges (the README shows it)."""
    rows = [f"{'technique':<24}{'strength':<44}{'range':<12}typical"]
    for t in TECHNIQUES.values():
        rows.append(f"{t.name:<24}{t.strength or '(no strength: on or off)':<44}{t.range:<12}"
                    f"{'' if t.typical is None else t.typical}")
    return "\n".join(rows)
