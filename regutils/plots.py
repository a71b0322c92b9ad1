"""Figures: train vs validation curves, sweeps with error bands, image grids. Nothing here trains.

Runs are drawn in the colours of `PALETTE`, a colour-blind-safe cycle; baselines in grey.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, MaxNLocator
import torch

from .data import MEAN, STD
from .regularizers import weights
from .history import History

BASELINE_COLOR = "0.55"
# Okabe and Ito's colours, which stay apart for readers with the common colour-vision
# deficiencies (blue, orange, bluish green, reddish purple, vermillion, sky blue, yellow, black).
# Importing regutils makes them Matplotlib's colour cycle, so "C0", "C1", ... in a chapter's own
# plots are the same colours as the runs drawn here.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
plt.rcParams["axes.prop_cycle"] = plt.cycler(color=PALETTE)


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
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize="small", loc="lower right")
    if title:
        figure.suptitle(title)
    return figure


def sweep(result, metric: str = "generalization_gap", *, ax=None, label: str | None = None,
          log: bool = False, ylabel: str | None = None, title: str | None = None) -> plt.Figure:
    """Mean of `metric` over seeds against the swept knob, with a band for its 95% interval."""
    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    else:
        figure = ax.figure
    values = np.asarray(result.values, dtype=float)
    mean, half_width = result.mean(metric), result.half_width(metric)
    line, = ax.plot(values, mean, marker="o", label=label or metric)
    if np.isfinite(half_width).any():
        ax.fill_between(values, mean - half_width, mean + half_width, color=line.get_color(),
                        alpha=0.2)
    if log and (values > 0).all():
        earlier = ax.xaxis.get_major_locator()  # a sweep drawn before on these axes keeps its ticks
        earlier = earlier.locs if isinstance(earlier, FixedLocator) else ()
        ax.set_xscale("log")
        ticks = sorted(set(values.tolist()) | set(earlier))
        ax.set_xticks(ticks, labels=[f"{v:g}" for v in ticks])
        ax.minorticks_off()
    elif log:  # a zero strength has no place on a log axis: linear near zero, log beyond
        ax.set_xscale("symlog", linthresh=_smallest_positive(values))
    knob = f"{result.technique} strength" if result.knob == "strength" else result.knob
    ax.set(xlabel=knob.replace("_", " "), ylabel=ylabel or metric.replace("_", " "))
    ax.set_title(band_caption(len(result.seeds)) if title is None else title, fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def band_caption(seeds: int) -> str:
    """What a sweep's band shows, for titles and captions.

    >>> band_caption(5)
    'mean over 5 seeds, band: 95% interval of the mean'
    """
    if seeds < 2:
        return "one seed: no interval"
    return f"mean over {seeds} seeds, band: 95% interval of the mean"


def pixels(images: torch.Tensor) -> np.ndarray:
    """Normalized MNIST images (as `load_mnist` gives them) back as pixel values in [0, 1]."""
    return (images.detach().float().cpu() * STD + MEAN).clamp(0, 1).squeeze().numpy()


def samples(images: torch.Tensor, labels: Sequence[int] | torch.Tensor | None = None, *,
            columns: int = 8, title: str | None = None) -> plt.Figure:
    """A grid of normalized MNIST images (as `load_mnist` gives them), labels as titles."""
    images = pixels(images.reshape(-1, 28, 28)).reshape(-1, 28, 28)
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


def _colors(colors: Sequence[str] | None, count: int) -> list[str]:
    """`colors` as a list of `count` colours (the colour cycle's if None), or a clear error."""
    if colors is None:
        return [f"C{index}" for index in range(count)]
    colors = list(colors)
    if len(colors) != count:
        raise ValueError(f"colors has {len(colors)} entries for {count} runs; give one per run")
    return colors


def _smallest_positive(values: np.ndarray) -> float:
    positive = values[values > 0]
    return float(positive.min()) if len(positive) else 1.0


def weight_histograms(models: Mapping[str, torch.nn.Module], *, layer: int = 0,
                      threshold: float = 1e-3, bins: int = 81, axes=None,
                      colors: Sequence[str] | None = None) -> plt.Figure:
    """Histograms of one weight matrix per model (the first layer's by default), side by side.

    Counts are on a log scale so that the tails and the pile-up at zero both show; the band
    |w| < `threshold` is shaded, and each title gives the share of weights inside it and the share
    that are exactly zero. All panels share one symmetric range, so their widths compare.
    `colors` gives one colour per model (default "C0", "C1", ...), so that a run keeps the colour
    it has in a chapter's other figures, such as `BASELINE_COLOR` for the baseline.

    >>> figure = weight_histograms({"none": model, "L1": l1_model},
    ...                            colors=[BASELINE_COLOR, "C0"])  # doctest: +SKIP
    """
    if not models:
        raise ValueError("models is empty; pass a mapping label → model")
    colors = _colors(colors, len(models))
    matrices = {}
    for label, model in models.items():
        found = list(weights(model))
        if not -len(found) <= layer < len(found):
            raise ValueError(f"layer must index the {len(found)} weight matrices of {label!r}, "
                             f"got {layer}")
        matrices[label] = found[layer].detach().float().cpu().flatten()
    if axes is None:
        figure, axes = plt.subplots(1, len(matrices), figsize=(3.4 * len(matrices), 3.0),
                                    sharex=True, sharey=True, layout="constrained", squeeze=False)
        axes = axes[0]
    else:
        figure = axes[0].figure
    limit = max(float(w.abs().max()) for w in matrices.values()) or 1.0
    edges = np.linspace(-limit, limit, bins + 1)
    for index, (ax, (label, values)) in enumerate(zip(axes, matrices.items())):
        near = float((values.abs() < threshold).float().mean())
        exact = float((values == 0).float().mean())
        ax.hist(values.numpy(), bins=edges, color=colors[index], log=True)
        ax.axvspan(-threshold, threshold, color="0.5", alpha=0.25, linewidth=0)
        ax.set_title(f"{label}\n|w| < {threshold:g}: {near:.1%}, w = 0: {exact:.1%}",
                     fontsize="small")
        ax.set_xlabel(f"weight of layer {layer + 1 if layer >= 0 else layer}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("number of weights")
    return figure


def per_epoch(runs: Mapping, metric: str, *, ax=None, ylabel: str | None = None,
              log: bool = False, title: str | None = None,
              colors: Sequence[str] | None = None) -> plt.Figure:
    """One recorded metric (such as "weight_norm") per epoch, one line per run: label → run.

    `colors` gives one colour per run, as in `weight_histograms`.
    """
    colors = _colors(colors, len(runs))
    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    else:
        figure = ax.figure
    for index, (label, run) in enumerate(runs.items()):
        history = _as_history(run)
        ax.plot(history["epoch"], history[metric], color=colors[index], label=label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=ylabel or metric.replace("_", " "))
    if title:
        ax.set_title(title, fontsize="small")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def loss_parts(run, *, baseline=None, label: str = "penalized", axes=None) -> plt.Figure:
    """What a penalized run optimized, taken apart, and why its validation curve must leave it out.

    Left: the objective (data loss + penalty, averaged over each epoch's batches), the penalty,
    and the data losses on the training and validation sets. Right: the validation data loss of
    the run against the `baseline`'s, and, dotted, the run's validation loss with its penalty
    added, the curve that would wrongly make the penalized run look worse.
    """
    history = _as_history(run)
    if axes is None:
        figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    else:
        figure = axes[0].figure
    epochs = history["epoch"]
    left, right = axes
    left.plot(epochs, history["objective"], color="C0", label="objective (data loss + penalty)")
    left.plot(epochs, history["penalty"], color="C0", linestyle=":", label="penalty")
    left.plot(epochs, history["train_loss"], color="C1", label="training data loss")
    left.plot(epochs, history["val_loss"], color="C1", linestyle="--",
              label="validation data loss")
    left.set(xlabel="epoch", ylabel="loss", title=f"{label}: the parts of the objective")
    if baseline is not None:
        right.plot(epochs, _as_history(baseline)["val_loss"], color=BASELINE_COLOR,
                   linestyle="--", label="no penalty: validation data loss")
    right.plot(epochs, history["val_loss"], color="C1", linestyle="--",
               label=f"{label}: validation data loss")
    with_penalty = np.add(history["val_loss"], history["penalty"])
    right.plot(epochs, with_penalty, color="C1", linestyle=":",
               label=f"{label}: validation loss + penalty (misleading)")
    right.set(xlabel="epoch", ylabel="loss", title="comparing validation curves")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return figure


def _finished_trials(study) -> tuple[list, list]:
    """The study's completed trials, and its pruned ones that reported at least one epoch."""
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    pruned = [t for t in study.trials if t.state.name == "PRUNED" and t.intermediate_values]
    if not complete:
        raise ValueError(f"study {study.study_name!r} has no completed trial to draw yet")
    return complete, pruned


def _last_reported(trial) -> float:
    return trial.intermediate_values[max(trial.intermediate_values)]


def study_history(study, *, ax=None, ylabel: str = "validation accuracy") -> plt.Figure:
    """Each trial's result in the order run, the best so far as a line; pruned trials as grey ×
    at the last value they reported.

    >>> figure = study_history(study)  # doctest: +SKIP
    """
    complete, pruned = _finished_trials(study)
    if ax is None:
        figure, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    else:
        figure = ax.figure
    ax.plot([t.number for t in complete], [t.value for t in complete], "o", color="C0",
            label="completed trial")
    if pruned:
        ax.plot([t.number for t in pruned], [_last_reported(t) for t in pruned], "x",
                color=BASELINE_COLOR, label="pruned (last epoch reported)")
    numbers = sorted(t.number for t in complete)
    values = {t.number: t.value for t in complete}
    best_so_far = np.maximum.accumulate([values[n] for n in numbers])
    ax.step(numbers, best_so_far, where="post", color="C1", label="best so far")
    ax.set(xlabel="trial", ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return figure


def study_strengths(study, *, axes=None, ylabel: str = "validation accuracy") -> plt.Figure:
    """One panel per tuned strength: each trial's strength against its result, the best starred.

    >>> figure = study_strengths(study)  # doctest: +SKIP
    """
    complete, pruned = _finished_trials(study)
    best = max(complete, key=lambda t: t.value)
    names = list(best.params)
    if axes is None:
        figure, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4), sharey=True,
                                    layout="constrained", squeeze=False)
        axes = axes[0]
    else:
        figure = axes[0].figure
    for ax, name in zip(axes, names):
        ax.plot([t.params[name] for t in complete], [t.value for t in complete], "o",
                color="C0", alpha=0.7, label="completed")
        if pruned:
            ax.plot([t.params[name] for t in pruned], [_last_reported(t) for t in pruned], "x",
                    color=BASELINE_COLOR, label="pruned")
        ax.plot([best.params[name]], [best.value], "*", color="C1", markersize=14, label="best")
        if getattr(best.distributions.get(name), "log", False):
            ax.set_xscale("log")
        ax.set_xlabel(f"{name.replace('_', ' ')} strength")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize="small", loc="lower left")
    return figure


def ablation(results: Mapping, metrics: Sequence[str] = ("val_acc", "test_acc", "generalization_gap"),
             *, xlabels: Sequence[str] | None = None, axes=None) -> plt.Figure:
    """One row per configuration, one panel per metric: each seed as a grey dot, mean ± 1 std.

    `results` maps a label to a sweep of a single value (one configuration over seeds); the first
    configuration's mean is the dotted line in every panel, to read the others against.

    >>> figure = ablation({"all four": full, "without dropout": no_dropout})  # doctest: +SKIP
    """
    if not results:
        raise ValueError("results is empty; pass a mapping label → sweep result of one value")
    for label, result in results.items():
        if len(getattr(result, "values", ())) != 1:
            raise ValueError(f"results[{label!r}] should be a sweep of one value (one "
                             f"configuration over seeds), got {getattr(result, 'values', result)!r}")
    xlabels = [m.replace("_", " ") for m in metrics] if xlabels is None else list(xlabels)
    if len(xlabels) != len(metrics):
        raise ValueError(f"xlabels has {len(xlabels)} entries for {len(metrics)} metrics")
    if axes is None:
        figure, axes = plt.subplots(1, len(metrics), figsize=(2.9 * len(metrics) + 1.8,
                                                              0.42 * len(results) + 1.3),
                                    sharey=True, layout="constrained", squeeze=False)
        axes = axes[0]
    else:
        figure = axes[0].figure
    rows = np.arange(len(results))
    for ax, metric, xlabel in zip(axes, metrics, xlabels):
        for row, result in zip(rows, results.values()):
            per_seed = result.metric(metric)[0]
            ax.plot(per_seed, np.full(len(per_seed), row), "o", color=BASELINE_COLOR,
                    markersize=4, label="one seed" if row == 0 else None)
            ax.errorbar(result.mean(metric)[0], row, xerr=result.std(metric)[0], fmt="D",
                        color="C0", capsize=3, label="mean ± std" if row == 0 else None)
        ax.axvline(next(iter(results.values())).mean(metric)[0], color="C0", linestyle=":")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(rows, labels=list(results))
    axes[0].set_ylim(len(results) - 0.5, -0.5)  # the first configuration on top
    axes[-1].legend(fontsize="small", loc="best")
    return figure


def reliability(reports: Mapping[str, list[dict]], *, ax=None,
                title: str | None = None) -> plt.Figure:
    """Reliability diagram: accuracy against confidence per bin, one line per labelled model.

    `reports` maps a label to the rows of `calibration.reliability`; the diagonal is perfect
    calibration, and a line below it is overconfident.

    >>> from regutils import calibration
    >>> rows = calibration.reliability(torch.tensor([[0.9, 0.1], [0.3, 0.7]]), torch.tensor([0, 0]))
    >>> figure = reliability({"model": rows})
    """
    if ax is None:
        figure, ax = plt.subplots(figsize=(4.2, 4.0), layout="constrained")
    else:
        figure = ax.figure
    ax.plot([0, 1], [0, 1], color=BASELINE_COLOR, linestyle=":", label="calibrated")
    for index, (label, rows) in enumerate(reports.items()):
        ax.plot([row["confidence"] for row in rows], [row["accuracy"] for row in rows],
                marker="o", color=f"C{index}", label=label)
    ax.set(xlabel="confidence (probability of the predicted class)",
           ylabel="accuracy of those answers", xlim=(0, 1.02), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    if title:
        ax.set_title(title, fontsize="small")
    return figure


def epoch_bands(groups: Mapping[str, Sequence], metric: str, *, ax=None,
                ylabel: str | None = None, title: str | None = None) -> plt.Figure:
    """`metric` per epoch, averaged over the runs (seeds) of each group, with its 95% interval.

    `groups` maps a label to the runs of one setting, one per seed (RunResults or Histories of
    equal length up to the shortest).

    >>> figure = epoch_bands({"none": baselines, "batch norm": normed}, "val_acc")  # doctest: +SKIP
    """
    from .stats import interval
    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    else:
        figure = ax.figure
    seeds = set()
    for index, (label, runs) in enumerate(groups.items()):
        histories = [_as_history(run) for run in runs]
        if not histories:
            raise ValueError(f"group {label!r} has no runs")
        seeds.add(len(histories))
        epochs = min(len(history) for history in histories)
        values = np.array([history[metric][:epochs] for history in histories])
        intervals = [interval(column) for column in values.T]
        mean = np.array([i.mean for i in intervals])
        half = np.array([i.half_width for i in intervals])
        x = np.arange(1, epochs + 1)
        ax.plot(x, mean, color=f"C{index}", label=label)
        if np.isfinite(half).any():
            ax.fill_between(x, mean - half, mean + half, color=f"C{index}", alpha=0.2)
    ax.set(xlabel="epoch", ylabel=ylabel or metric.replace("_", " "))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title if title is not None else band_caption(min(seeds)), fontsize="small")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def normalization_axes(kinds: Sequence[str] = ("batch", "layer"), *, examples: int = 6,
                       features: int = 8, axes=None) -> plt.Figure:
    """Which entries of a (batch, features) activation share one mean and variance, per norm.

    One panel per kind ("batch", "layer", "rms", or "ghost" for groups of two examples): rows are
    the examples of a mini-batch, columns the features (hidden units) of one layer; the shaded
    cells are normalized together, and every other cell belongs to another such set.

    >>> figure = normalization_axes(("batch", "layer"))
    """
    from matplotlib.patches import Rectangle
    shapes = {"batch": ("batch norm: one mean and variance\nper feature, over the batch",
                        lambda row, column: column == 2),
              "ghost": ("ghost batch norm: per feature,\nover a group of the batch",
                        lambda row, column: column == 2 and row < 2),
              "layer": ("layer norm: one mean and variance\nper example, over its features",
                        lambda row, column: row == 1),
              "rms": ("RMS norm: one root mean square\nper example (nothing subtracted)",
                      lambda row, column: row == 1)}
    unknown = [kind for kind in kinds if kind not in shapes]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}; use some of {', '.join(shapes)}")
    if axes is None:
        figure, axes = plt.subplots(1, len(kinds), figsize=(3.3 * len(kinds), 3.0),
                                    layout="constrained", squeeze=False)
        axes = axes[0]
    else:
        figure = axes[0].figure
    for index, (ax, kind) in enumerate(zip(axes, kinds)):
        title, shaded = shapes[kind]
        for row in range(examples):
            for column in range(features):
                inside = shaded(row, column)
                ax.add_patch(Rectangle((column, examples - 1 - row), 0.92, 0.92,
                                       facecolor=f"C{index}" if inside else "0.9",
                                       edgecolor="0.4" if inside else "0.8"))
        ax.set(xlim=(-0.2, features + 0.1), ylim=(-0.2, examples + 0.1), aspect="equal",
               xticks=[], yticks=[], xlabel="features (units of one layer) →",
               ylabel="← examples of the batch")
        ax.set_title(title, fontsize="small")
        for side in ax.spines.values():
            side.set_visible(False)
    return figure
