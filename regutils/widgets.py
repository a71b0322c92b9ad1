"""Jupyter's live views: curves redrawn as a run trains, and the knob explorer.

The explorer is a slider and a Run button that draw a run's curves over a baseline. The drawing is
the plain function `explore`, so tests and the static book call it without a kernel. The
explorer's output also carries its static twin (see `twin`), which the web book shows instead.
"""
from __future__ import annotations

import functools
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch

from . import plots
from .callbacks import Callback
from .experiment import Experiment
from .twin import static_twin, value_label


class LiveCurves(Callback):
    """Redraw the curves after every epoch in Jupyter; elsewhere, do nothing.

    >>> history = ru.fit(model, data, epochs=20, callbacks=[ru.LiveCurves()])  # doctest: +SKIP
    """

    def on_train_begin(self, model, history):
        from IPython import get_ipython
        from IPython.display import display
        self.handle = display(None, display_id=True) if get_ipython() is not None else None

    def on_epoch_end(self, model, history):
        if self.handle is not None:
            figure = plots.curves(history)
            self.handle.update(figure)
            plt.close(figure)
        return False


def default_baseline(experiment: Experiment) -> Experiment:
    """The same experiment with no regularization technique."""
    return experiment.replace(technique="none", strength=None)


Baseline = Experiment | Callable[[Experiment], Experiment] | None


def explore(experiment: Experiment, knob: str | Mapping, value=None,
            baseline: Baseline = None, *, names: Mapping[str, str] | None = None,
            inputs: int = 0,
            **run_options) -> plt.Figure:
    """Run `experiment` with `knob` set to `value` (cached) and draw its curves over the baseline.

    `knob` may also be a mapping of several fields to values: `{"technique": ..., "strength": ...}`.
    `baseline` is an Experiment, or a function of the setting's experiment that returns one (a
    baseline that follows the knob: `lambda e: e.replace(technique="none")`); None is the
    experiment without its technique. `names` gives a knob the name its title shows, such as
    {"strength": "patience"}.
    With `inputs`, a row of that many training images follows the curves, as the setting's
    regularizers hand them to the network (augmented, noisy, flipped): what it trains on.

    >>> figure = explore(Experiment("dropout", profile="quick"), "strength", 0.5)  # doctest: +SKIP
    """
    label, run, reference = _runs(experiment, knob, value, baseline, names=names, **run_options)
    final = run.metrics
    title = (f"{label}: train acc {final['train_acc']:.3f}, validation acc "
             f"{final['val_acc']:.3f}, gap {final['generalization_gap']:.3f}")
    if not inputs:
        return plots.curves({label: run}, baseline=reference, title=title)
    settings = dict(knob) if isinstance(knob, Mapping) else {knob: value}
    images, labels = seen_inputs(experiment.replace(**settings), _check_inputs(inputs))
    figure = plt.figure(figsize=(10, 5.1), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=(3.6, 1.5))
    plots.curves({label: run}, baseline=reference, axes=top.subplots(1, 2))
    top.suptitle(title)
    for ax, image, digit in zip(bottom.subplots(1, len(images)), images, labels):
        ax.imshow(plots.pixels(image), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(str(int(digit)), fontsize="small")
        ax.axis("off")
    bottom.suptitle("training images as this setting shows them to the network", fontsize="small")
    return figure


def seen_inputs(experiment: Experiment, count: int = 8):
    """The first `count` training images of `experiment` after its regularizers' `transform`.

    The draw is seeded by the experiment's seed (and leaves the global random state alone), so
    the same setting always shows the same images.

    >>> images, labels = seen_inputs(Experiment("augmentation", 2.0, profile="quick"), 4)
    >>> tuple(images.shape)
    (4, 1, 28, 28)
    """
    config = experiment.resolved()
    data = config.data("cpu")
    x, y = data.x_train[:_check_inputs(count)], data.y_train[:count]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        for regularizer in config.setup().regularizers:
            x, y = regularizer.transform(x, y)
    return x, y


def _check_inputs(count) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 16:
        raise ValueError(f"inputs must be a whole number of images from 1 to 16, got {count!r}")
    return count


def describe(experiment: Experiment, knob: str | Mapping, value=None,
             baseline: Baseline = None, *, names: Mapping[str, str] | None = None,
             inputs: int = 0, **run_options) -> str:
    """What `explore` draws for this setting, with its final numbers, in words: its alt text.

    `names` gives a knob the name its control shows, such as {"train_size": "training images"}.

    >>> describe(Experiment("dropout", profile="quick"), "strength", 0.5)  # doctest: +SKIP
    'Loss and accuracy per epoch for strength = 0.5 (coloured) and the baseline (grey). Final
    training accuracy 93.0%, validation accuracy 85.5%, gap 7.5 points; the baseline's ...'
    """
    settings = dict(knob) if isinstance(knob, Mapping) else {knob: value}
    names = names or {}
    shown = ", ".join(f"{names.get(name, name.replace('_', ' '))} = {value_label(setting)}"
                      for name, setting in settings.items())
    _, run, reference = _runs(experiment, knob, value, baseline, **run_options)
    final = run.metrics
    shown_inputs = (f", and {inputs} training images as this setting shows them to the network"
                    if inputs else "")
    return (f"Loss and accuracy per epoch for {shown} (coloured) and the baseline (grey)"
            f"{shown_inputs}. Final training accuracy {final['train_acc']:.1%}, validation "
            f"accuracy {final['val_acc']:.1%}, gap {100 * final['generalization_gap']:.1f} "
            f"points; the baseline's validation accuracy {reference.metrics['val_acc']:.1%}.")


def _runs(experiment: Experiment, knob: str | Mapping, value, baseline: Baseline,
          names: Mapping[str, str] | None = None, **run_options):
    """The label of the setting, its run and the baseline's run (both recalled when cached)."""
    for one in (experiment, baseline if not callable(baseline) else None):
        if one is not None and not isinstance(one, Experiment):
            raise TypeError(f"explore takes an Experiment such as Experiment('dropout'), "
                            f"got {one!r}")
    settings = dict(knob) if isinstance(knob, Mapping) else {knob: value}
    for name in settings:
        _check_knob(name)
    chosen = experiment.replace(**settings)
    run = chosen.run(**run_options)
    if isinstance(baseline, Experiment):
        reference_experiment = baseline
    elif baseline is not None:
        reference_experiment = baseline(chosen)
        if not isinstance(reference_experiment, Experiment):
            raise TypeError(f"the baseline function must return an Experiment, got "
                            f"{reference_experiment!r}")
    else:
        reference_experiment = default_baseline(experiment)
    reference = reference_experiment.run(**run_options)
    names = names or {}
    label = ", ".join(f"{names.get(name, name)} = {value_label(setting)}"
                      for name, setting in settings.items())
    return label, run, reference


def explorer(experiment: Experiment, knob: str | Mapping, values: Sequence | None = None, *,
             baseline: Baseline = None, description: str | None = None,
             static: bool = True, inputs: int = 0):
    """A slider over `values` of `knob` and a Run button; results are cached, so revisits are instant.

    `knob` may also map several fields to their values, one control each (a slider for numbers,
    buttons for names): `explorer(exp, {"technique": [...], "strength": [...]})`. It shows the
    first values' curves straight away; Run draws the controls' values. With `static`, every
    setting is run once more (or recalled) for the twin that the web book shows instead. Titles
    name each knob as its control does (`description`, for a single knob). `baseline` is as in
    `explore`. With `inputs`, each drawing also shows that many training images as the setting
    transforms them.
    """
    import ipywidgets as widgets
    from IPython.display import display

    choices = {name: list(options) for name, options in
               (knob.items() if isinstance(knob, Mapping) else [(knob, values or [])])}
    controls = {}
    for name, options in choices.items():
        _check_knob(name)
        if not options:
            raise ValueError(f"no values for {name!r}; pass the settings the control should offer")
        kind = (widgets.ToggleButtons if all(isinstance(o, str) for o in options)
                else widgets.SelectionSlider)
        extra = {"continuous_update": False} if kind is widgets.SelectionSlider else {}
        label = description if description and len(choices) == 1 else name.replace("_", " ")
        shown = [(value_label(o), o) for o in options] if kind is widgets.ToggleButtons else options
        controls[name] = kind(options=shown, value=options[0], description=label,
                              style={"description_width": "initial"}, **extra)
    button = widgets.Button(description="Run", button_style="primary", icon="play")
    output = widgets.Output()

    def draw(_=None):
        with output:
            output.clear_output(wait=True)
            figure = explore(experiment, {name: c.value for name, c in controls.items()},
                             baseline=baseline, names=labels, inputs=inputs)
            display(figure)
            plt.close(figure)

    labels = {name: control.description for name, control in controls.items()}
    button.on_click(draw)
    draw()  # the first values at once: recalled from the cache, or one run
    twin = None
    if static:
        knobs = lambda setting: {name: setting[labels[name]] for name in choices}
        twin = static_twin(
            {labels[name]: options for name, options in choices.items()},
            lambda setting: explore(experiment, knobs(setting), baseline=baseline, names=labels,
                                    inputs=inputs),
            describe=lambda setting: describe(experiment, knobs(setting), baseline=baseline,
                                              names=labels, inputs=inputs),
            note="Precomputed when this page was built, one run per setting: move the control "
                 "to switch between them. Run the notebook to train other settings.")
    return _explorer_class()([widgets.HBox([*controls.values(), button]), output], twin=twin)


@functools.cache
def _explorer_class():
    import ipywidgets as widgets  # imported on first use: regutils itself needs no Jupyter

    class Explorer(widgets.VBox):
        """The live controls for Jupyter; its display also carries the static twin as HTML."""

        def __init__(self, children, twin: str | None = None):
            super().__init__(children)
            self.twin = twin

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            if self.twin is not None:  # a page without a kernel shows this; Jupyter, the widget
                bundle["text/html"] = self.twin
            return bundle

    return Explorer


def _check_knob(name: str) -> None:
    if not isinstance(name, str) or name not in Experiment.__dataclass_fields__:
        raise ValueError(f"unknown knob {name!r}; use an Experiment field such as 'strength', "
                         "'train_size' or 'hidden'")
