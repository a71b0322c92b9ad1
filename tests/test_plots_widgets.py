import html
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex

import regutils as ru


@pytest.fixture(scope="module")
def runs():
    return {"none": ru.Experiment(profile="quick").run(),
            "dropout": ru.Experiment("dropout", 0.5, profile="quick").run()}


def test_curves_draw_train_and_validation_per_run(runs):
    figure = ru.plots.curves(runs["dropout"], baseline=runs["none"])
    loss_axis, accuracy_axis = figure.axes
    assert len(loss_axis.lines) == 4 and len(accuracy_axis.lines) == 4
    solid, dashed = accuracy_axis.lines[2], accuracy_axis.lines[3]
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    assert solid.get_color() == dashed.get_color()  # one colour per run
    plt.close(figure)


def test_curves_mark_the_restored_epoch(fresh_cache):
    result = ru.Experiment("early_stopping", 1, profile="quick", epochs=15).run()
    figure = ru.plots.curves(result)
    markers = [line for line in figure.axes[0].lines if line.get_marker() == "o"]
    assert (len(markers) == 1) == (result.history.restored_epoch is not None)
    plt.close(figure)


def test_sweep_plot_has_an_error_band(fresh_cache):
    result = ru.sweep("dropout", [0.0, 0.5], seeds=[0, 1], profile="quick")
    figure = ru.plots.sweep(result)
    assert len(figure.axes[0].collections) == 1  # the ±1 std band
    assert figure.axes[0].get_xlabel() == "dropout strength"
    plt.close(figure)


def test_sample_grid(data):
    figure = ru.plots.samples(data.x_train[:10], data.y_train[:10], columns=5)
    assert len(figure.axes) == 10
    plt.close(figure)


def test_explore_is_a_plain_function_drawing_over_the_baseline(runs):
    figure = ru.widgets.explore(ru.Experiment("dropout", profile="quick"), "strength", 0.5)
    assert "strength = 0.5" in figure.texts[0].get_text()
    assert len(figure.axes[0].lines) == 4
    plt.close(figure)


def test_explore_can_show_the_training_images_as_the_setting_transforms_them():
    experiment = ru.Experiment("augmentation", 2.0, profile="quick")
    figure = ru.widgets.explore(experiment, "strength", 2.0, inputs=4)
    images = [ax for ax in figure.axes if ax.images]
    assert len(images) == 4 and len(figure.axes) == 6  # two panels of curves, four images
    plt.close(figure)
    moved, labels = ru.widgets.seen_inputs(experiment, 4)
    again, _ = ru.widgets.seen_inputs(experiment, 4)
    plain, plain_labels = ru.widgets.seen_inputs(experiment.replace(strength=0.0), 4)
    assert torch.equal(moved, again) and torch.equal(labels, plain_labels)  # seeded: reproducible
    assert not torch.equal(moved, plain) and torch.equal(plain, experiment.data("cpu").x_train[:4])
    words = ru.widgets.describe(experiment, "strength", 2.0, inputs=4)
    assert "4 training images as this setting shows them" in words
    with pytest.raises(ValueError, match="inputs must be a whole number of images from 1 to 16, "
                                         "got 40"):
        ru.widgets.explore(experiment, "strength", 2.0, inputs=40)


def test_explorer_builds_a_slider_that_does_not_update_while_dragging():
    box = ru.widgets.explorer(ru.Experiment("dropout", profile="quick"), "strength",
                              [0.0, 0.25, 0.5])
    slider, button = box.children[0].children
    assert slider.continuous_update is False and button.description == "Run"
    with pytest.raises(ValueError, match="no values for 'strength'"):
        ru.widgets.explorer(ru.Experiment(profile="quick"), "strength", [])


def test_explorer_with_two_knobs_draws_both_settings():
    import ipywidgets
    box = ru.widgets.explorer(
        ru.Experiment("coupled_weight_decay", 1e-3, profile="quick"),
        {"technique": ["coupled_weight_decay", "decoupled_weight_decay"],
         "strength": [1e-3, 1e-2]})
    technique, strength, button = box.children[0].children
    assert isinstance(technique, ipywidgets.ToggleButtons) and strength.continuous_update is False
    assert technique._options_labels == ("coupled weight decay", "decoupled weight decay")  # words
    assert technique.value == "coupled_weight_decay"  # the code name is what the run gets
    figure = ru.widgets.explore(ru.Experiment("coupled_weight_decay", 1e-3, profile="quick"),
                                {"technique": "decoupled_weight_decay", "strength": 1e-2})
    assert "technique = decoupled weight decay, strength = 0.01" in figure.texts[0].get_text()
    plt.close(figure)
    with pytest.raises(ValueError, match="unknown knob 'width'"):
        ru.widgets.explore(ru.Experiment(profile="quick"), "width", 3)


def test_explore_names_the_knob_and_takes_a_baseline_that_follows_it(runs):
    experiment = ru.Experiment("early_stopping", 2, profile="quick")
    figure = ru.widgets.explore(experiment, "strength", 1, names={"strength": "patience"})
    assert "patience = 1:" in figure.texts[0].get_text()
    plt.close(figure)
    followed = []

    def same_batch_size(chosen):
        followed.append(chosen.batch_size)
        return chosen.replace(technique="none", strength=None)
    figure = ru.widgets.explore(ru.Experiment("batch_norm", profile="quick"), "batch_size", 32,
                                baseline=same_batch_size)
    assert followed == [32] and "batch_size = 32" in figure.texts[0].get_text()
    plt.close(figure)
    with pytest.raises(TypeError, match="must return an Experiment"):
        ru.widgets.explore(ru.Experiment(profile="quick"), "batch_size", 32,
                           baseline=lambda chosen: "none")


def test_live_curves_redraw_after_every_epoch_in_jupyter(data, monkeypatch):
    import IPython
    import IPython.display
    updates = []

    class Handle:
        def update(self, figure):
            updates.append(figure)
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())  # as inside a kernel
    monkeypatch.setattr(IPython.display, "display", lambda *args, **kwargs: Handle())
    history = ru.fit(ru.mlp(hidden=(16,)), data, epochs=2, callbacks=[ru.LiveCurves()])
    assert len(updates) == len(history) == 2
    assert all(len(figure.axes) == 2 for figure in updates)


def test_live_curves_outside_jupyter_do_nothing(data):
    assert len(ru.fit(ru.mlp(hidden=(16,)), data, epochs=1, callbacks=[ru.LiveCurves()])) == 1


def test_two_sweeps_on_one_log_axis_keep_both_ticks(fresh_cache):
    first = ru.sweep("l2", [1e-4, 1e-2], seeds=[0], profile="quick")
    second = ru.sweep("coupled_weight_decay", [1e-3, 1e-1], seeds=[0], profile="quick")
    figure = ru.plots.sweep(first, "val_acc", log=True)
    ru.plots.sweep(second, "val_acc", log=True, ax=figure.axes[0])
    ticks = [float(t) for t in figure.axes[0].get_xticks()]
    assert ticks == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    plt.close(figure)


def _twin_frames(page):
    import json
    import re
    return json.loads(re.search(r'<script type="application/json">(.*?)</script>', page).group(1))


def _twin_figures(page):
    return {key: frame["png"] for key, frame in _twin_frames(page).items()}


def test_explorer_output_carries_a_static_twin_with_one_figure_per_value():
    box = ru.widgets.explorer(ru.Experiment("dropout", profile="quick"), "strength",
                              [0.0, 0.25, 0.5], description="p")
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # Jupyter shows the live widget
    page = bundle["text/html"]                                    # the web book shows this
    figures = _twin_figures(page)
    assert sorted(figures) == ["0", "1", "2"]
    assert len(set(figures.values())) == 3                        # three different runs drawn
    assert 'type="range"' in page and 'max="2"' in page and "<b>p</b>" in page
    assert ru.widgets.explorer(ru.Experiment("dropout", profile="quick"), "strength", [0.0],
                               static=False).twin is None


def test_static_twin_of_two_knobs_has_buttons_a_slider_and_every_combination():
    box = ru.widgets.explorer(ru.Experiment("coupled_weight_decay", 1e-3, profile="quick"),
                              {"technique": ["coupled_weight_decay", "decoupled_weight_decay"],
                               "strength": [1e-3, 1e-2, 1e-1]})
    page = box.twin
    assert page.count('type="radio"') == 2 and page.count('type="range"') == 1
    assert sorted(_twin_figures(page)) == [f"{t}-{s}" for t in range(2) for s in range(3)]


def test_static_twin_shares_the_y_range_across_settings():
    limits = []

    def draw(setting):
        figure, ax = plt.subplots()
        ax.plot([0, 1], [0, setting["height"]])
        limits.append(ax)
        return figure

    ru.twin.static_twin({"height": [1.0, 10.0]}, draw)
    assert limits[0].get_ylim() == limits[1].get_ylim()
    with pytest.raises(ValueError, match="at least one value"):
        ru.twin.static_twin({"height": []}, draw)


def test_every_frame_of_the_twin_has_alt_text_with_its_own_numbers():
    experiment = ru.Experiment("dropout", profile="quick")
    page = ru.widgets.explorer(experiment, "strength", [0.0, 0.5], description="p").twin
    alts = [frame["alt"] for frame in _twin_frames(page).values()]
    run = experiment.replace(strength=0.5).run()
    expected = (f"p = 0.5 (coloured) and the baseline (grey). Final training accuracy "
                f"{run.metrics['train_acc']:.1%}, validation accuracy {run.metrics['val_acc']:.1%}, "
                f"gap {100 * run.metrics['generalization_gap']:.1f} points")
    assert expected in alts[1] and "p = 0 " in alts[0] and alts[0] != alts[1]
    assert f'alt="{html.escape(alts[0])}"' in page        # the first frame is shown at first
    assert all(html.escape(alt) in page.split("<details")[1] for alt in alts)  # all, as text


def test_twin_controls_are_labelled_for_screen_readers():
    page = ru.widgets.explorer(ru.Experiment("coupled_weight_decay", 1e-3, profile="quick"),
                               {"technique": ["coupled_weight_decay", "decoupled_weight_decay"],
                                "strength": [1e-3, 1e-2]}).twin
    slider = re.search(r"<input type=\"range\"[^>]*>", page).group(0)
    identifier = re.search(r'id="([^"]+)"', slider).group(1)
    assert f'<label for="{identifier}"><b>strength</b></label>' in page
    assert 'aria-valuetext="0.001"' in slider
    group = re.search(r'<div role="radiogroup" aria-labelledby="([^"]+)"', page).group(1)
    assert f'<b id="{group}">technique</b>' in page
    assert 'aria-live="polite"' in page and 'class="dark-light"' in page


def test_runs_are_drawn_in_the_colour_blind_safe_palette(runs):
    figure = ru.plots.curves({"a": runs["none"], "b": runs["dropout"]})
    colours = {to_hex(line.get_color()).upper() for line in figure.axes[0].lines}
    assert colours == set(ru.plots.PALETTE[:2])
    plt.close(figure)
    figure, ax = plt.subplots()
    assert to_hex(ax.plot([0, 1])[0].get_color()).upper() == ru.plots.PALETTE[0]  # "C0" in a chapter's own plot
    plt.close(figure)


def test_epoch_bands_draw_a_mean_and_a_band_per_group(fresh_cache):
    seeds = [ru.Experiment(seed=seed, profile="quick").run() for seed in (0, 1)]
    figure = ru.plots.epoch_bands({"none": seeds, "one seed": seeds[:1]}, "val_acc")
    ax = figure.axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 1  # one seed: a line, no band
    mean = np.mean([run.history["val_acc"] for run in seeds], axis=0)
    assert np.allclose(ax.lines[0].get_ydata(), mean)
    assert all(float(t).is_integer() for t in ax.get_xticks())
    plt.close(figure)
    with pytest.raises(ValueError, match="group 'empty' has no runs"):
        ru.plots.epoch_bands({"empty": []}, "val_acc")


def test_normalization_axes_shade_a_column_for_batch_norm_and_a_row_for_layer_norm():
    figure = ru.plots.normalization_axes(("batch", "layer"), examples=4, features=5)
    shaded = [[patch.get_xy() for patch in ax.patches if patch.get_facecolor()[:3] != (0.9, 0.9, 0.9)]
              for ax in figure.axes]
    assert {x for x, _ in shaded[0]} == {2} and len(shaded[0]) == 4   # one feature, every example
    assert len({y for _, y in shaded[1]}) == 1 and len(shaded[1]) == 5  # one example, every feature
    plt.close(figure)
    with pytest.raises(ValueError, match="unknown kinds \\['group'\\]"):
        ru.plots.normalization_axes(("group",))
