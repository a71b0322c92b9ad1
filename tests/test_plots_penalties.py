"""The weight histograms of the penalties chapter."""
import matplotlib.pyplot as plt
import pytest
import torch

import regutils as ru


def test_weight_histograms_one_panel_per_model_with_the_zero_shares_in_the_title():
    torch.manual_seed(0)
    dense, sparse = ru.mlp(hidden=(16,)), ru.mlp(hidden=(16,))
    with torch.no_grad():
        sparse[1].weight[:, :392] = 0.0  # half the first layer exactly zero
    figure = ru.plots.weight_histograms({"dense": dense, "sparse": sparse})
    assert len(figure.axes) == 2
    assert "w = 0: 0.0%" in figure.axes[0].get_title()
    assert "w = 0: 50.0%" in figure.axes[1].get_title()
    counts = sum(bar.get_height() for bar in figure.axes[1].containers[0])
    assert counts == sparse[1].weight.numel()  # every weight of the first layer, once
    plt.close(figure)


def test_weight_histograms_pick_a_layer_and_reject_a_missing_one():
    model = ru.mlp(hidden=(16,))
    figure = ru.plots.weight_histograms({"m": model}, layer=1)
    assert sum(bar.get_height() for bar in figure.axes[0].containers[0]) == 16 * 10
    plt.close(figure)
    with pytest.raises(ValueError, match="layer must index the 2 weight matrices"):
        ru.plots.weight_histograms({"m": model}, layer=2)


def quick_runs():
    return {"none": ru.Experiment(profile="quick").run(),
            "L2": ru.Experiment("l2", 1e-2, profile="quick").run()}


def test_per_epoch_draws_one_line_per_run():
    runs = quick_runs()
    figure = ru.plots.per_epoch(runs, "weight_norm")
    lines = figure.axes[0].lines
    assert len(lines) == 2
    assert list(lines[1].get_ydata()) == runs["L2"].history["weight_norm"]
    plt.close(figure)


def test_loss_parts_add_the_penalty_to_the_validation_curve_only_where_it_says_so():
    runs = quick_runs()
    history = runs["L2"].history
    figure = ru.plots.loss_parts(runs["L2"], baseline=runs["none"], label="L2")
    left, right = figure.axes
    assert list(left.lines[0].get_ydata()) == history["objective"]
    misleading = right.lines[-1]
    assert "misleading" in misleading.get_label()
    expected = [v + p for v, p in zip(history["val_loss"], history["penalty"])]
    assert list(misleading.get_ydata()) == pytest.approx(expected)
    plt.close(figure)


def test_histograms_and_per_epoch_take_one_colour_per_run():
    from matplotlib.colors import to_rgba
    model = ru.mlp(hidden=(16,))
    figure = ru.plots.weight_histograms({"a": model, "b": model},
                                        colors=[ru.plots.BASELINE_COLOR, "C1"])
    assert figure.axes[0].patches[0].get_facecolor() == to_rgba(ru.plots.BASELINE_COLOR)
    plt.close(figure)
    figure = ru.plots.per_epoch(quick_runs(), "weight_norm", colors=["0.55", "C2"])
    assert to_rgba(figure.axes[0].lines[0].get_color()) == to_rgba("0.55")
    plt.close(figure)
    with pytest.raises(ValueError, match="colors has 1 entries for 2 runs"):
        ru.plots.weight_histograms({"a": model, "b": model}, colors=["C0"])
