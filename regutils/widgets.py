"""The knob explorer for Jupyter: a slider and a Run button that draw a run's curves over a baseline.

The drawing is the plain function `explore`, so tests and the static book call it without a kernel.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from . import plots
from .experiment import Experiment


def default_baseline(experiment: Experiment) -> Experiment:
    """The same experiment with no regularization technique."""
    return experiment.replace(technique="none", strength=None)


def explore(experiment: Experiment, knob: str | Mapping, value=None,
            baseline: Experiment | None = None, **run_options) -> plt.Figure:
    """Run `experiment` with `knob` set to `value` (cached) and draw its curves over the baseline.

    `knob` may also be a mapping of several fields to values: `{"technique": ..., "strength": ...}`.

    >>> figure = explore(Experiment("dropout", profile="quick"), "strength", 0.5)  # doctest: +SKIP
    """
    settings = dict(knob) if isinstance(knob, Mapping) else {knob: value}
    for name in settings:
        _check_knob(name)
    run = experiment.replace(**settings).run(**run_options)
    reference = (baseline or default_baseline(experiment)).run(**run_options)
    final = run.metrics
    label = ", ".join(f"{name} = {setting}" for name, setting in settings.items())
    title = (f"{label}: train acc {final['train_acc']:.3f}, validation acc "
             f"{final['val_acc']:.3f}, gap {final['generalization_gap']:.3f}")
    return plots.curves({label: run}, baseline=reference, title=title)


def explorer(experiment: Experiment, knob: str | Mapping, values: Sequence | None = None, *,
             baseline: Experiment | None = None, description: str | None = None):
    """A slider over `values` of `knob` and a Run button; results are cached, so revisits are instant.

    `knob` may also map several fields to their values, one control each (a slider for numbers,
    buttons for names): `explorer(exp, {"technique": [...], "strength": [...]})`. It shows the
    first values' curves straight away; Run draws the controls' values.
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
        controls[name] = kind(options=options, value=options[0], description=label,
                              style={"description_width": "initial"}, **extra)
    button = widgets.Button(description="Run", button_style="primary", icon="play")
    output = widgets.Output()

    def draw(_=None):
        with output:
            output.clear_output(wait=True)
            figure = explore(experiment, {name: c.value for name, c in controls.items()},
                             baseline=baseline)
            display(figure)
            plt.close(figure)

    button.on_click(draw)
    draw()  # the first values at once: recalled from the cache, or one run
    return widgets.VBox([widgets.HBox([*controls.values(), button]), output])


def _check_knob(name: str) -> None:
    if name not in Experiment.__dataclass_fields__:
        raise ValueError(f"unknown knob {name!r}; use an Experiment field such as 'strength', "
                         "'train_size' or 'hidden'")
