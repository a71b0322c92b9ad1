"""Small model builders; dropout and normalization are their options."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

NORMS = {None: None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def mlp(hidden: Sequence[int] = (256, 256), *, dropout: float = 0.0, input_dropout: float = 0.0,
        norm: str | None = None, activation: str = "relu", init_std: float | None = None,
        in_features: int = 28 * 28, classes: int = 10) -> nn.Sequential:
    """A fully connected network: each hidden layer is Linear → norm → activation → Dropout.

    `norm` is None, "batch" or "layer"; `activation` "relu", "sigmoid" or "tanh"; `dropout` acts
    on hidden units, `input_dropout` on pixels. `init_std` draws every weight and bias from
    N(0, init_std²) instead of PyTorch's default (uniform, scaled by each layer's fan-in).

    >>> [type(layer).__name__ for layer in mlp(hidden=(128,), dropout=0.5, norm="batch")]
    ['Flatten', 'Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']
    >>> round(float(mlp((30,), activation="sigmoid", init_std=1.0)[1].weight.std()), 1)
    1.0
    """
    hidden = _check_widths(hidden)
    for name, size in (("in_features", in_features), ("classes", classes)):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{name} must be an int >= 1, got {size!r}")
    _check_probability("dropout", dropout)
    _check_probability("input_dropout", input_dropout)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use None, 'batch' or 'layer'")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    check_init_std(init_std)
    layers: list[nn.Module] = [nn.Flatten()]
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout))
    width = in_features
    for out in hidden:
        layers.append(nn.Linear(width, out))
        if norm is not None:
            layers.append(NORMS[norm](out))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = out
    layers.append(nn.Linear(width, classes))
    network = nn.Sequential(*layers)
    if init_std is not None:
        with torch.no_grad():
            for layer in network:
                if isinstance(layer, nn.Linear):
                    layer.weight.normal_(0.0, init_std)
                    layer.bias.normal_(0.0, init_std)
    return network


def check_init_std(init_std: float | None) -> float | None:
    """`init_std` if it is None or a finite number above zero, else a clear error."""
    if init_std is None:
        return None
    if isinstance(init_std, bool) or not isinstance(init_std, (int, float)):
        raise TypeError(f"init_std must be None (PyTorch's default) or a number > 0, got "
                        f"{init_std!r}")
    if not 0 < init_std < float("inf"):
        raise ValueError(f"init_std must be > 0 and finite, got {init_std!r}")
    return float(init_std)


class RowTransformer(nn.Module):
    """A small Transformer encoder that reads each image as a sequence of 28 rows of 28 pixels.

    `norm="layer"` puts a LayerNorm before the attention and before the feed-forward part of each
    block (pre-norm) and after the last block; `norm=None` leaves all three out.

    >>> RowTransformer(width=32, depth=1)(torch.zeros(5, 1, 28, 28)).shape
    torch.Size([5, 10])
    """

    def __init__(self, width: int = 64, depth: int = 2, heads: int = 4, *, norm: str | None = "layer",
                 dropout: float = 0.0, rows: int = 28, classes: int = 10):
        super().__init__()
        if norm not in (None, "layer"):
            raise ValueError(f"the row transformer takes norm None or 'layer', got {norm!r}")
        _check_probability("dropout", dropout)
        if width % heads:
            raise ValueError(f"width must be a multiple of heads={heads}, got {width}")
        self.embed = nn.Linear(rows, width)
        self.position = nn.Parameter(0.02 * torch.randn(1, rows, width))
        self.blocks = nn.ModuleList(_Block(width, heads, norm, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(width) if norm else nn.Identity()
        self.head = nn.Linear(width, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(images.flatten(1, -2) if images.dim() == 4 else images) + self.position
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens).mean(dim=1))  # average over the rows, then classify


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, norm: str | None, dropout: float):
        super().__init__()
        self.norm_attention = nn.LayerNorm(width) if norm else nn.Identity()
        self.attention = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm_feed_forward = nn.LayerNorm(width) if norm else nn.Identity()
        self.feed_forward = nn.Sequential(nn.Linear(width, 2 * width), nn.ReLU(),
                                          nn.Dropout(dropout), nn.Linear(2 * width, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        normed = self.norm_attention(tokens)
        tokens = tokens + self.attention(normed, normed, normed, need_weights=False)[0]
        return tokens + self.feed_forward(self.norm_feed_forward(tokens))


def row_transformer(hidden: Sequence[int] = (64, 64), *, dropout: float = 0.0,
                    norm: str | None = None, input_dropout: float = 0.0) -> RowTransformer:
    """A `RowTransformer` with one block per entry of `hidden` (all of one width), as `mlp` reads it.

    >>> row_transformer((32, 32), norm="layer").blocks.__len__()
    2
    """
    widths = _check_widths(hidden)
    if len(set(widths)) != 1:
        raise ValueError(f"a row transformer's blocks share one width, got hidden={hidden!r}")
    if input_dropout:
        raise ValueError("the row transformer has no input dropout; use the mlp")
    return RowTransformer(widths[0], len(widths), norm=norm, dropout=dropout)


MODELS = {"mlp": mlp, "row_transformer": row_transformer}


def _check_widths(hidden: Sequence[int]) -> tuple[int, ...]:
    if isinstance(hidden, int):
        hidden = (hidden,)
    widths = tuple(hidden) if isinstance(hidden, (list, tuple, range)) else (None,)
    if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
        raise ValueError(f"hidden must be a sequence of positive ints such as (256, 256), "
                         f"got {hidden!r}")
    return widths


def _check_probability(name: str, p: float) -> None:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
