"""Small model builders; dropout and normalization are their options."""
from __future__ import annotations

from typing import Sequence

from torch import nn

NORMS = {None: None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


def mlp(hidden: Sequence[int] = (256, 256), *, dropout: float = 0.0, input_dropout: float = 0.0,
        norm: str | None = None, in_features: int = 28 * 28, classes: int = 10) -> nn.Sequential:
    """A fully connected network: each hidden layer is Linear → norm → ReLU → Dropout.

    `norm` is None, "batch" or "layer"; `dropout` acts on hidden units, `input_dropout` on pixels.

    >>> [type(layer).__name__ for layer in mlp(hidden=(128,), dropout=0.5, norm="batch")]
    ['Flatten', 'Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']
    """
    hidden = _check_widths(hidden)
    _check_probability("dropout", dropout)
    _check_probability("input_dropout", input_dropout)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use None, 'batch' or 'layer'")
    layers: list[nn.Module] = [nn.Flatten()]
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout))
    width = in_features
    for out in hidden:
        layers.append(nn.Linear(width, out))
        if norm is not None:
            layers.append(NORMS[norm](out))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = out
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def _check_widths(hidden: Sequence[int]) -> tuple[int, ...]:
    if isinstance(hidden, int):
        hidden = (hidden,)
    widths = tuple(hidden)
    if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
        raise ValueError(f"hidden must be a sequence of positive ints such as (256, 256), "
                         f"got {hidden!r}")
    return widths


def _check_probability(name: str, p: float) -> None:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
