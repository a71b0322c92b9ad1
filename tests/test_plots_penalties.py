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
