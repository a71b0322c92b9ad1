"""Figures: train vs validation curves, sweeps with error bands, image grids. Nothing here trains."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .data import MEAN, STD
from .train import Callback, History

BASELINE_COLOR = "0.55"


def _as_history(run) -> History:
    return run.history if hasattr(run, "history") else run


def curves(runs, *, baseline=None, title: str | None = None, axes=None) -> plt.Figure:
    """Loss and accuracy per epoch: solid lines train, dashed validation, one colour per run.

    `runs` is a History (or RunResult) or a mapping label → History; `baseline`, if given, is
    drawn in grey underneath. Early stopping's restored epoch is marked with a dot.

    >>> figure = curves(history)  # doctest: +SKIP
    """
    if not isinstance(runs, Mapping):
        runs = {"run": runs}
    if axes is None:
        figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    else:
        figure = axes[0].figure
    drawn = ({"baseline": baseline} if baseline is not None else {}) | dict(runs)
    for index, (label, run) in enumerate(drawn.items()):
        history = _as_history(run)
        color = BASELINE_COLOR if baseline is not None and index == 0 else f"C{index - (baseline is not None)}"
        epochs = history["epoch"]
        for ax, metric in zip(axes, ("loss", "acc")):
            ax.plot(epochs, history[f"train_{metric}"], color=color, label=f"{label}: train")
            ax.plot(epochs, history[f"val_{metric}"], color=color, linestyle="--",
                    label=f"{label}: validation")
            if history.restored_epoch is not None:
                best = history.restored_epoch
                ax.plot([best], [history[f"val_{metric}"][best - 1]], "o", color=color)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize="small", loc="lower right")
    if title:
        figure.suptitle(title)
    return figure


def sweep(result, metric: str = "generalization_gap", *, ax=None, label: str | None = None,
          log: bool = False, ylabel: str | None = None, title: str | None = None) -> plt.Figure:
    """Mean of `metric` against the swept knob with a ±1 standard deviation band over seeds."""
    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    else:
        figure = ax.figure
    values = np.asarray(result.values, dtype=float)
    mean, spread = result.mean(metric), result.std(metric)
    line, = ax.plot(values, mean, marker="o", label=label or metric)
    ax.fill_between(values, mean - spread, mean + spread, color=line.get_color(), alpha=0.2)
    if log and (values > 0).all():
        ax.set_xscale("log")
        ax.set_xticks(values, labels=[f"{v:g}" for v in values])
        ax.minorticks_off()
    elif log:  # a zero strength has no place on a log axis: linear near zero, log beyond
        ax.set_xscale("symlog", linthresh=_smallest_positive(values))
    knob = f"{result.technique} strength" if result.knob == "strength" else result.knob
    ax.set(xlabel=knob.replace("_", " "), ylabel=ylabel or metric.replace("_", " "))
    ax.set_title(f"mean ± std over {len(result.seeds)} seed(s)" if title is None else title,
                 fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def samples(images: torch.Tensor, labels: Sequence[int] | torch.Tensor | None = None, *,
            columns: int = 8, title: str | None = None) -> plt.Figure:
    """A grid of normalized MNIST images (as `load_mnist` gives them), labels as titles."""
    images = (images.detach().float().cpu().reshape(-1, 28, 28) * STD + MEAN).clamp(0, 1).numpy()
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.0),
                                squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            ax.imshow(images[index], cmap="gray_r", vmin=0, vmax=1)
            if labels is not None:
                ax.set_title(str(int(labels[index])), fontsize="small")
    if title:
        figure.suptitle(title)
    return figure


class LiveCurves(Callback):
    """Redraw the curves after every epoch in Jupyter (`fit(..., live=True)`); elsewhere, nothing."""

    def on_train_begin(self, model, history):
        from IPython import get_ipython
        from IPython.display import display
        self.handle = display(None, display_id=True) if get_ipython() is not None else None

    def on_epoch_end(self, model, history):
        if self.handle is not None:
            figure = curves(history)
            self.handle.update(figure)
            plt.close(figure)
        return False


def _smallest_positive(values: np.ndarray) -> float:
    positive = values[values > 0]
    return float(positive.min()) if len(positive) else 1.0
