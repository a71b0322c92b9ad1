"""Statistics the prose can lean on: means over seeds with 95% intervals, and paired differences.

Every comparison in the book repeats both arms over the same seeds. A seed fixes the training
subset and the initial weights, so the arms differ only by the technique; the difference per seed
cancels the luck of the draw that both arms share, and its mean gets a Student-t interval.
Spreads use the sample standard deviation (ddof = 1).

>>> interval([0.90, 0.92, 0.91])
Interval(mean=0.91, half_width=0.0248, n=3)
>>> paired_difference([0.91, 0.93, 0.92], [0.89, 0.91, 0.905]).excludes(0)
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _scipy_stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with the half-width of its two-sided confidence interval (Student t)."""

    mean: float
    half_width: float  # NaN with fewer than two values: one run says nothing about its spread
    n: int
    std: float = math.nan  # sample standard deviation of the values (ddof = 1)
    confidence: float = CONFIDENCE

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def excludes(self, value: float) -> bool:
        """True if `value` lies outside the interval: the data resolve a difference from it."""
        return bool(self.n >= 2 and (value < self.low or value > self.high))

    def above(self, value: float) -> bool:
        """True if the whole interval lies above `value`."""
        return bool(self.n >= 2 and self.low > value)

    def below(self, value: float) -> bool:
        """True if the whole interval lies below `value`."""
        return bool(self.n >= 2 and self.high < value)

    def scaled(self, factor: float) -> "Interval":
        """The same interval in other units: `acc.scaled(100)` in percentage points."""
        return Interval(self.mean * factor, self.half_width * abs(factor), self.n,
                        self.std * abs(factor), self.confidence)

    def format(self, spec: str = ".3f", unit: str = "") -> str:
        """`'0.912 ± 0.004'`; with one value, just the value."""
        if self.n < 2:
            return f"{self.mean:{spec}}{unit}"
        return f"{self.mean:{spec}}{unit} ± {self.half_width:{spec}}{unit}"

    def __repr__(self) -> str:
        return f"Interval(mean={self.mean:.4g}, half_width={self.half_width:.3g}, n={self.n})"


def sample_std(values: Sequence[float]) -> float:
    """The sample standard deviation (ddof = 1); NaN for fewer than two values.

    >>> round(sample_std([1.0, 2.0, 3.0]), 3)
    1.0
    """
    values = _finite(values)
    return float(np.std(values, ddof=1)) if len(values) >= 2 else math.nan


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """The Student-t multiplier of a two-sided interval for the mean of `n` values.

    >>> round(t_quantile(5), 3)
    2.776
    """
    if n < 2:
        return math.nan
    return float(_scipy_stats.t.ppf(0.5 + confidence / 2, df=n - 1))


def interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of `values` (NaNs dropped) with its two-sided Student-t confidence interval."""
    values = _finite(values)
    if len(values) == 0:
        raise ValueError("no values to average: every run is missing or NaN")
    std = sample_std(values)
    half = t_quantile(len(values), confidence) * std / math.sqrt(len(values))
    return Interval(float(np.mean(values)), half, len(values), std, confidence)


def paired_difference(treatment: Sequence[float], control: Sequence[float],
                      confidence: float = CONFIDENCE) -> Interval:
    """The mean of `treatment − control` over paired seeds, with its interval.

    Both sequences are indexed by the same seeds; a seed missing (NaN) in either arm is dropped
    from both.
    """
    treatment, control = np.asarray(treatment, float), np.asarray(control, float)
    if treatment.shape != control.shape:
        raise ValueError(f"paired arms need one value per seed each, got {treatment.shape} and "
                         f"{control.shape}")
    return interval(treatment - control, confidence)


def binomial_se(accuracy: float, n: int) -> float:
    """The standard error of an accuracy measured on `n` images: √(p(1−p)/n).

    >>> round(binomial_se(0.9, 1000), 4)
    0.0095
    """
    return math.sqrt(accuracy * (1 - accuracy) / n)


def _finite(values: Sequence[float]) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    return values[~np.isnan(values)]
