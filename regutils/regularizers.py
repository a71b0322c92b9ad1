"""Each regularization technique as one small object plugged into the hooks of the training step.

For every training batch, `train.train_step` runs one phase after the other, and within a phase
calls every regularizer's hook in list order:

1. `transform(x, y)` – change the training batch (noise, augmentation);
2. `before_forward(model)` – perturb the weights for this forward pass only (weight noise);
3. `penalty(model)` – a term added to the data loss (L1, L2), at the weights of the forward pass;
4. `after_backward(model)` – undo what `before_forward` did, in reverse list order; it runs even
   if the forward or backward pass raised, and the gradients stay those of the perturbed weights;
5. `before_step(model, optimizer)` – change the gradient or the weights before the step (decay);
6. `after_step(model, optimizer)` – after the optimizer step (a proximal shrink).

The contract that lets any techniques combine: a change to the weights that must not last is
made in phase 2 and undone in phase 4, so from phase 5 on every hook sees the clean weights; a
change that must last (decay, shrink) belongs to phases 5 and 6, where no later hook takes it
back. The list order can still shift a result slightly (noise added before or after a rotation,
coupled decay of weights already decayed), but never cancel a technique.

A technique overrides only the hooks it needs. Validation and test data never pass through them.
"""
from __future__ import annotations

import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .data import BACKGROUND


class Regularizer:
    """The hooks, each doing nothing; a technique overrides the ones it needs."""

    def transform(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, y

    def before_forward(self, model: nn.Module) -> None:
        pass

    def penalty(self, model: nn.Module) -> torch.Tensor | float:
        return 0.0

    def after_backward(self, model: nn.Module) -> None:
        pass

    def before_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        pass

    def after_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        pass

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def weights(model: nn.Module) -> Iterator[nn.Parameter]:
    """The weight matrices (and kernels) of `model`: no biases, no normalization scales.

    >>> len(list(weights(nn.Linear(3, 2))))
    1
    """
    return (p for p in model.parameters() if p.ndim >= 2)


def check_strength(name: str, value: float, low: float = 0.0, high: float = math.inf,
                   high_open: bool = False, low_open: bool = False) -> float:
    """`value` as a float if it lies in [low, high] (or with open ends); a clear error if not."""
    opening = "(" if low_open else "["
    closing = ")" if high_open or math.isinf(high) else "]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in {opening}{low:g}, {high:g}{closing}, "
                        f"got {value!r}")
    value = float(value)
    above = value >= high if high_open else value > high
    below = value <= low if low_open else value < low
    if not math.isfinite(value) or below or above:
        raise ValueError(f"{name} must be in {opening}{low:g}, {high:g}{closing}, got {value!r}")
    return value


class L1(Regularizer):
    """Add λ·Σ|w| over the weight matrices to the loss.

    >>> L1(1e-4).penalty(nn.Linear(2, 1)).item() >= 0
    True
    """

    def __init__(self, strength: float):
        self.strength = check_strength("L1 strength λ", strength)

    def penalty(self, model: nn.Module) -> torch.Tensor:
        return self.strength * sum(w.abs().sum() for w in weights(model))


class L2(Regularizer):
    """Add (λ/2)·‖w‖² over the weight matrices to the loss, so its gradient is λ·w.

    >>> L2(1e-4).penalty(nn.Linear(2, 1)).item() >= 0
    True
    """

    def __init__(self, strength: float):
        self.strength = check_strength("L2 strength λ", strength)

    def penalty(self, model: nn.Module) -> torch.Tensor:
        return 0.5 * self.strength * sum(w.pow(2).sum() for w in weights(model))


class ProximalL1(Regularizer):
    """After each step, soft-threshold the weights by lr·λ: small weights become exactly zero."""

    def __init__(self, strength: float):
        self.strength = check_strength("proximal L1 strength λ", strength)

    @torch.no_grad()
    def after_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        threshold = optimizer.param_groups[0]["lr"] * self.strength
        for w in weights(model):
            w.copy_(w.sign() * (w.abs() - threshold).clamp_min(0.0))


class MaxNorm(Regularizer):
    """After each step, scale back every unit whose incoming weight vector is longer than c.

    Each row of a weight matrix (one unit's incoming weights) is kept within an L2 ball of radius
    c; shorter rows are left alone (Srivastava et al., 2014, §5.1).

    >>> layer = nn.Linear(4, 2)
    >>> MaxNorm(0.1).after_step(layer, None)
    >>> bool((layer.weight.norm(dim=1) <= 0.1 + 1e-6).all())
    True
    """

    def __init__(self, max_norm: float):
        self.max_norm = check_strength("max-norm radius c", max_norm, low_open=True)

    @torch.no_grad()
    def after_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        for w in weights(model):
            w.copy_(torch.renorm(w.flatten(1), p=2, dim=0, maxnorm=self.max_norm).view_as(w))


class CoupledWeightDecay(Regularizer):
    """Add λ·w to each weight's gradient before the step: L2 folded into the gradient.

    This is what `torch.optim.Adam(weight_decay=λ)` does; for Adam the decay is then rescaled by
    the adaptive step, unlike the decoupled kind.
    """

    def __init__(self, strength: float):
        self.strength = check_strength("weight decay λ", strength)

    @torch.no_grad()
    def before_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        for w in weights(model):
            if w.grad is not None:
                w.grad.add_(w, alpha=self.strength)


class DecoupledWeightDecay(Regularizer):
    """Shrink each weight by the factor (1 − lr·λ) before the step, apart from the gradient (AdamW).

    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    def __init__(self, strength: float):
        self.strength = check_strength("decoupled weight decay λ", strength)

    @torch.no_grad()
    def before_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        shrink = 1.0 - optimizer.param_groups[0]["lr"] * self.strength
        for w in weights(model):
            w.mul_(shrink)


class InputNoise(Regularizer):
    """Add Gaussian noise of standard deviation σ (in units of the pixel std) to each training batch.

    >>> x, _ = InputNoise(0.5).transform(torch.zeros(2, 1, 28, 28), None)
    >>> bool(x.std() > 0)
    True
    """

    def __init__(self, std: float):
        self.std = check_strength("input noise σ", std)

    def transform(self, x, y):
        return x + self.std * torch.randn_like(x), y


class WeightNoise(Regularizer):
    """Perturb the weights by Gaussian noise of std σ for one forward pass, then restore them.

    >>> model, noise = nn.Linear(3, 2), WeightNoise(0.1)
    >>> clean = model.weight.detach().clone()
    >>> noise.before_forward(model); bool(torch.equal(model.weight, clean))
    False
    >>> noise.after_backward(model); bool(torch.equal(model.weight, clean))
    True
    """

    def __init__(self, std: float):
        self.std = check_strength("weight noise σ", std)
        self._clean: list[torch.Tensor] = []

    @torch.no_grad()
    def before_forward(self, model: nn.Module) -> None:
        self._clean = []
        for w in weights(model):
            self._clean.append(w.detach().clone())
            w.add_(self.std * torch.randn_like(w))

    @torch.no_grad()
    def after_backward(self, model: nn.Module) -> None:
        for w, clean in zip(weights(model), self._clean):
            w.copy_(clean)
        self._clean = []


class RandomAffine(Regularizer):
    """Rotate, shift and scale each training image by its own random amount, on the device, in batches.

    One knob scales every range: at strength s, rotations up to ±15°·s, shifts up to ±10%·s of the
    image side and zoom by up to ±10%·s. No flips (those are `RandomFlip`): for digits a mirror
    image is not a transform that keeps the label.

    >>> x, _ = RandomAffine(1.0).transform(torch.zeros(8, 1, 28, 28), None)
    >>> x.shape
    torch.Size([8, 1, 28, 28])
    """

    MAX_STRENGTH = 5.0

    def __init__(self, strength: float):
        self.strength = check_strength("augmentation strength", strength, 0.0, self.MAX_STRENGTH)
        self.max_rotation = math.radians(15.0) * self.strength
        self.max_shift = 0.10 * self.strength
        self.max_zoom = 0.10 * self.strength

    def transform(self, x, y):
        if self.strength == 0:
            return x, y
        count = len(x)

        def uniform(*shape):
            return (2 * torch.rand(*shape, device=x.device) - 1)

        angle = uniform(count) * self.max_rotation
        zoom = 1 + uniform(count) * self.max_zoom
        shift = uniform(count, 2) * self.max_shift * 2  # grid coordinates span [-1, 1]: width 2
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], dim=1),
                             torch.stack([sin, cos, shift[:, 1]], dim=1)], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # grid_sample pads with zeros, so shift black to zero first: the border stays black
        moved = F.grid_sample(x - BACKGROUND, grid, padding_mode="zeros", align_corners=False)
        return moved + BACKGROUND, y


class RandomFlip(Regularizer):
    """Mirror each training image left to right with probability p, each image drawn on its own.

    The labels stay as they are: use it only where a mirrored example keeps its class (photos of
    cats, not digits or letters; chapter 9 measures what it does to MNIST).

    >>> x = torch.arange(4.0).view(1, 1, 1, 4).repeat(2, 1, 1, 1)
    >>> RandomFlip(1.0).transform(x, None)[0][0, 0, 0].tolist()
    [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, probability: float):
        self.probability = check_strength("flip probability p", probability, 0.0, 1.0)

    def transform(self, x, y):
        if self.probability == 0:
            return x, y
        flipped = torch.rand(len(x), device=x.device) < self.probability
        mask = flipped.view(-1, *([1] * (x.ndim - 1)))
        return torch.where(mask, torch.flip(x, dims=(-1,)), x), y
