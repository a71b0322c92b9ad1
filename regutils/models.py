"""Small model builders; dropout and normalization are their options."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class GhostBatchNorm1d(nn.BatchNorm1d):
    """Batch norm whose training-mode statistics come from groups of `ghost_batch` examples.

    Each batch is cut into consecutive groups of `ghost_batch` examples (the last may be smaller)
    and every group is normalized with its own mean and biased variance (Hoffer et al., 2017).
    The running averages are updated once per batch, with the mean of the batch and the mean of
    the groups' unbiased variances. Evaluation mode, and any batch no larger than `ghost_batch`,
    is plain `nn.BatchNorm1d`.

    >>> layer = GhostBatchNorm1d(3, ghost_batch=2)
    >>> layer(torch.tensor([[0.0, 1, 2], [2, 3, 6], [5, 5, 5], [7, 5, 9]])).abs().round(decimals=3)
    tensor([[1., 1., 1.],
            [1., 1., 1.],
            [1., 0., 1.],
            [1., 0., 1.]], grad_fn=<RoundBackward1>)
    """

    def __init__(self, num_features: int, ghost_batch: int, **options):
        super().__init__(num_features, **options)
        self.ghost_batch = check_ghost_batch(ghost_batch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or len(x) <= self.ghost_batch:
            return super().forward(x)
        if x.dim() != 2:
            raise ValueError(f"GhostBatchNorm1d takes (batch, features) inputs, got shape "
                             f"{tuple(x.shape)}")
        groups = x.split(self.ghost_batch)
        if len(groups[-1]) == 1:
            raise ValueError(f"a batch of {len(x)} leaves a group of one example with ghost batch "
                             f"{self.ghost_batch}, whose variance is zero; use a batch size that "
                             "leaves no remainder of one")
        if len(x) % self.ghost_batch == 0:  # equal groups: one reshape, no Python loop
            grouped = x.reshape(-1, self.ghost_batch, x.shape[1])
            mean = grouped.mean(dim=1, keepdim=True)
            var = grouped.var(dim=1, unbiased=False, keepdim=True)
            normalized = ((grouped - mean) / torch.sqrt(var + self.eps)).reshape_as(x)
            unbiased = var.squeeze(1) * self.ghost_batch / (self.ghost_batch - 1)
        else:
            parts = [(g - g.mean(0)) / torch.sqrt(g.var(0, unbiased=False) + self.eps)
                     for g in groups]
            normalized = torch.cat(parts)
            unbiased = torch.stack([g.var(0, unbiased=True) for g in groups])
        if self.track_running_stats:
            self._update_running(x.mean(dim=0), unbiased.mean(dim=0))
        if self.affine:
            normalized = normalized * self.weight + self.bias
        return normalized

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        self.num_batches_tracked += 1
        factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                  else self.momentum)  # None: a cumulative average, as nn.BatchNorm1d does
        self.running_mean.mul_(1 - factor).add_(factor * mean.detach())
        self.running_var.mul_(1 - factor).add_(factor * var.detach())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, ghost_batch={self.ghost_batch}"


class RMSNorm(nn.Module):
    """Root-mean-square normalization (Zhang and Sennrich, 2019): layer norm without centring.

    Each example's features are divided by their root mean square, sqrt(mean(h²) + eps), then
    scaled by a learned gain per feature; nothing is subtracted and there is no shift.

    >>> [round(v, 4) for v in RMSNorm(2)(torch.tensor([[3.0, 4.0]]))[0].tolist()]  # / √12.5
    [0.8485, 1.1314]
    """

    def __init__(self, features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight

    def extra_repr(self) -> str:
        return f"{len(self.weight)}, eps={self.eps}"


NORMS = {None: None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "rms": RMSNorm}


def check_ghost_batch(ghost_batch: int | None) -> int | None:
    """`ghost_batch` if it is None or a whole number >= 2, else a clear error."""
    if ghost_batch is None:
        return None
    if isinstance(ghost_batch, bool) or not isinstance(ghost_batch, int) or ghost_batch < 2:
        raise ValueError(f"ghost_batch must be a whole number >= 2 (examples per normalization "
                         f"group) or None, got {ghost_batch!r}")
    return ghost_batch


def mlp(hidden: Sequence[int] = (256, 256), *, dropout: float = 0.0, input_dropout: float = 0.0,
        norm: str | None = None, ghost_batch: int | None = None, activation: str = "relu",
        init_std: float | None = None, in_features: int = 28 * 28,
        classes: int = 10) -> nn.Sequential:
    """A fully connected network: each hidden layer is Linear → norm → activation → Dropout.

    `norm` is None, "batch", "layer" or "rms"; with "batch", `ghost_batch` = m normalizes each
    group of m examples of a training batch with its own statistics (`GhostBatchNorm1d`).
    `activation` is "relu", "sigmoid" or "tanh"; `dropout` acts on hidden units, `input_dropout`
    on pixels. `init_std` draws every weight and bias from N(0, init_std²) instead of PyTorch's
    default (uniform, scaled by each layer's fan-in).

    >>> [type(layer).__name__ for layer in mlp(hidden=(128,), dropout=0.5, norm="batch")]
    ['Flatten', 'Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']
    >>> round(float(mlp((30,), activation="sigmoid", init_std=1.0)[1].weight.std()), 1)
    1.0
    >>> mlp((16,), norm="batch", ghost_batch=8)[2].ghost_batch
    8
    """
    hidden = _check_widths(hidden)
    for name, size in (("in_features", in_features), ("classes", classes)):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{name} must be an int >= 1, got {size!r}")
    _check_probability("dropout", dropout)
    _check_probability("input_dropout", input_dropout)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use None, 'batch', 'layer' or 'rms'")
    ghost_batch = check_ghost_batch(ghost_batch)
    if ghost_batch is not None and norm != "batch":
        raise ValueError(f"ghost_batch is an option of batch norm; with norm={norm!r} leave it "
                         "out (None)")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    check_init_std(init_std)
    layers: list[nn.Module] = [nn.Flatten()]
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout))
    width = in_features
    for out in hidden:
        layers.append(nn.Linear(width, out))
        if ghost_batch is not None:
            layers.append(GhostBatchNorm1d(out, ghost_batch))
        elif norm is not None:
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


class TokenBatchNorm(nn.Module):
    """Batch norm for (batch, positions, features): one mean and variance per feature, taken over
    the batch and the positions together.

    >>> TokenBatchNorm(4)(torch.randn(3, 5, 4)).shape
    torch.Size([3, 5, 4])
    """

    def __init__(self, features: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(features)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.norm(tokens.transpose(1, 2)).transpose(1, 2)


SEQUENCE_NORMS = {None: None, "layer": nn.LayerNorm, "rms": RMSNorm, "batch": TokenBatchNorm}
NORM_POSITIONS = ("pre", "post")


class RowTransformer(nn.Module):
    """A small Transformer encoder that reads each image as a sequence of 28 rows of 28 pixels.

    `norm` ("layer", "rms", "batch" over the batch and positions, or None) is placed as
    `norm_position` says. "pre" (the default) normalizes the input of the attention and of the
    feed-forward part of each block, x + f(norm(x)), and the output of the last block; "post", as
    in the original Transformer, normalizes after each residual sum, norm(x + f(x)). With
    `norm=None` the norms are left out and nothing else changes.

    >>> RowTransformer(width=32, depth=1)(torch.zeros(5, 1, 28, 28)).shape
    torch.Size([5, 10])
    """

    def __init__(self, width: int = 64, depth: int = 2, heads: int = 4, *, norm: str | None = "layer",
                 norm_position: str = "pre", dropout: float = 0.0, rows: int = 28,
                 classes: int = 10):
        super().__init__()
        if norm not in SEQUENCE_NORMS:
            raise ValueError(f"the row transformer takes norm None, 'layer', 'rms' or 'batch', "
                             f"got {norm!r}")
        if norm_position not in NORM_POSITIONS:
            raise ValueError(f"norm_position must be 'pre' or 'post', got {norm_position!r}")
        _check_probability("dropout", dropout)
        if width % heads:
            raise ValueError(f"width must be a multiple of heads={heads}, got {width}")
        self.norm_position = norm_position
        self.embed = nn.Linear(rows, width)
        self.position = nn.Parameter(0.02 * torch.randn(1, rows, width))
        self.blocks = nn.ModuleList(_Block(width, heads, norm, norm_position, dropout)
                                    for _ in range(depth))
        final = norm is not None and norm_position == "pre"  # post-norm ends normalized already
        self.norm = SEQUENCE_NORMS[norm](width) if final else nn.Identity()
        self.head = nn.Linear(width, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(images.flatten(1, -2) if images.dim() == 4 else images) + self.position
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens).mean(dim=1))  # average over the rows, then classify


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, norm: str | None, position: str, dropout: float):
        super().__init__()
        make = SEQUENCE_NORMS[norm] or (lambda features: nn.Identity())
        self.post = position == "post"
        self.norm_attention = make(width)
        self.attention = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm_feed_forward = make(width)
        self.feed_forward = nn.Sequential(nn.Linear(width, 2 * width), nn.ReLU(),
                                          nn.Dropout(dropout), nn.Linear(2 * width, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.post:
            tokens = self.norm_attention(tokens + self._attend(tokens))
            return self.norm_feed_forward(tokens + self.feed_forward(tokens))
        tokens = tokens + self._attend(self.norm_attention(tokens))
        return tokens + self.feed_forward(self.norm_feed_forward(tokens))

    def _attend(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.attention(tokens, tokens, tokens, need_weights=False)[0]


def row_transformer(hidden: Sequence[int] = (64, 64), *, dropout: float = 0.0,
                    norm: str | None = None, input_dropout: float = 0.0,
                    ghost_batch: int | None = None) -> RowTransformer:
    """A pre-norm `RowTransformer` with one block per entry of `hidden` (all of one width).

    >>> row_transformer((32, 32), norm="layer").blocks.__len__()
    2
    """
    widths = _check_widths(hidden)
    if len(set(widths)) != 1:
        raise ValueError(f"a row transformer's blocks share one width, got hidden={hidden!r}")
    if input_dropout:
        raise ValueError("the row transformer has no input dropout; use the mlp")
    if ghost_batch is not None:
        raise ValueError("the row transformer has no ghost batch norm; use the mlp")
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
