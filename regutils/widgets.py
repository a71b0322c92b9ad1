"""The knob explorer for Jupyter: a slider and a Run button that draw a run's curves over a baseline.

The drawing is the plain function `explore`, so tests and the static book call it without a kernel.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt

from . import plots
from .experiment import Experiment


def default_baseline(experiment: Experiment) -> Experiment:
    """The same experiment with no regularization technique."""
    return experiment.replace(technique="none", strength=None)


def explore(experiment: Experiment, knob: str, value, baseline: Experiment | None = None,
            **run_options) -> plt.Figure:
    """Run `experiment` with `knob` set to `value` (cached) and draw its curves over the baseline.

    >>> figure = explore(Experiment("dropout", profile="quick"), "strength", 0.5)  # doctest: +SKIP
    """
    if knob not in Experiment.__dataclass_fields__:
        raise ValueError(f"unknown knob {knob!r}; use an Experiment field such as 'strength', "
                         "'train_size' or 'hidden'")
    run = experiment.replace(**{knob: value}).run(**run_options)
    reference = (baseline or default_baseline(experiment)).run(**run_options)
    final = run.metrics
    title = (f"{knob} = {value}: train acc {final['train_acc']:.3f}, validation acc "
             f"{final['val_acc']:.3f}, gap {final['generalization_gap']:.3f}")
    return plots.curves({f"{knob} = {value}": run}, baseline=reference, title=title)


def explorer(experiment: Experiment, knob: str, values: Sequence, *,
             baseline: Experiment | None = None, description: str | None = None):
    """A slider over `values` of `knob` and a Run button; results are cached, so revisits are instant.

    It shows the first value's curves straight away; Run draws the slider's value.
    """
    import ipywidgets as widgets
    from IPython.display import display

    values = list(values)
    if not values:
        raise ValueError("values is empty; pass the settings the slider should offer")
    slider = widgets.SelectionSlider(options=values, value=values[0], continuous_update=False,
                                     description=description or knob,
                                     style={"description_width": "initial"})
    button = widgets.Button(description="Run", button_style="primary", icon="play")
    output = widgets.Output()

    def draw(_=None):
        with output:
            output.clear_output(wait=True)
            figure = explore(experiment, knob, slider.value, baseline)
            display(figure)
            plt.close(figure)

    button.on_click(draw)
    draw()  # the first value at once: recalled from the cache, or one run
    return widgets.VBox([widgets.HBox([slider, button]), output])
