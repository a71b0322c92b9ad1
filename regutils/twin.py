"""The explorer's static twin: one precomputed figure per setting, switched in the page by a slider.

A web page built from a notebook has no kernel, so a live widget there is frozen. The twin is plain
HTML: a range input (or radio buttons for names) per knob, every figure embedded as a PNG, and a few
lines of JavaScript that show the figure of the chosen setting. It works from files, offline.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt

DPI = 80
COLORS = 64  # a palette PNG of line plots is a quarter of the size and looks the same

_SCRIPT = """<script>
(function () {
  var twin = document.getElementById("%(id)s");
  var figures = JSON.parse(twin.querySelector("script[type='application/json']").textContent);
  var controls = twin.querySelectorAll("[data-knob]");
  function show() {
    var key = Array.prototype.map.call(controls, function (control) {
      if (control.type === "range") {
        control.closest("div").querySelector("output").textContent =
          JSON.parse(control.dataset.labels)[control.value];
        return control.value;
      }
      return control.querySelector("input:checked").value;
    }).join("-");
    twin.querySelector("img").src = "data:image/png;base64," + figures[key];
  }
  Array.prototype.forEach.call(controls, function (control) {
    control.addEventListener("input", show);
    control.addEventListener("change", show);
  });
})();
</script>"""


def png(figure: plt.Figure, dpi: int = DPI) -> str:
    """`figure` as base64 text of a palette PNG, closed afterwards.

    >>> png(plt.figure(figsize=(1, 1))).startswith("iVBOR")
    True
    """
    from PIL import Image

    rendered = io.BytesIO()
    figure.savefig(rendered, format="png", dpi=dpi)
    plt.close(figure)
    image = Image.open(rendered).convert("RGB").quantize(COLORS, method=Image.Quantize.MEDIANCUT)
    compact = io.BytesIO()
    image.save(compact, format="PNG", optimize=True)
    return base64.b64encode(compact.getvalue()).decode("ascii")


def _share_limits(figures: list[plt.Figure]) -> None:
    """Give the same axes of all figures the same y-range, so switching shows real movement."""
    for position in range(min(len(figure.axes) for figure in figures)):
        axes = [figure.axes[position] for figure in figures]
        low = min(ax.get_ylim()[0] for ax in axes)
        high = max(ax.get_ylim()[1] for ax in axes)
        for ax in axes:
            ax.set_ylim(low, high)


def static_twin(choices: Mapping[str, Sequence], draw: Callable[[dict], plt.Figure],
                note: str = "") -> str:
    """HTML with one control per knob in `choices` switching between `draw(setting)` figures.

    `draw` gets a dict knob → value for every combination of the values and returns a figure.

    >>> page = static_twin({"strength": [0.0, 0.5]}, lambda s: plt.figure(figsize=(1, 1)))
    >>> page.count("<input") == 1 and 'max="1"' in page
    True
    """
    names = list(choices)
    if not names or any(len(choices[name]) == 0 for name in names):
        raise ValueError("every knob of the static twin needs at least one value")
    drawn = {}
    for indices in itertools.product(*(range(len(choices[name])) for name in names)):
        setting = {name: choices[name][index] for name, index in zip(names, indices)}
        drawn["-".join(map(str, indices))] = draw(setting)
    _share_limits(list(drawn.values()))
    figures = {key: png(figure) for key, figure in drawn.items()}
    first = "-".join("0" for _ in names)
    identifier = "regutils-twin-" + hashlib.sha256(
        json.dumps({name: list(map(str, choices[name])) for name in names}).encode()
        + note.encode()).hexdigest()[:12]
    controls = "\n".join(_control(identifier, name, choices[name]) for name in names)
    caption = html.escape(note) if note else (
        "Precomputed when this page was built: move the control to switch between the runs.")
    return (f'<div class="regutils-twin" id="{identifier}">\n{controls}\n'
            f'<img alt="train and validation curves for the chosen setting" '
            f'style="max-width:100%" src="data:image/png;base64,{figures[first]}">\n'
            f'<p style="font-size:small;color:#555">{caption}</p>\n'
            f'<script type="application/json">{json.dumps(figures)}</script>\n'
            f'{_SCRIPT % {"id": identifier}}\n</div>')


def _control(identifier: str, name: str, values: Sequence) -> str:
    label = html.escape(name.replace("_", " "))
    shown = [_label(value) for value in values]
    if all(isinstance(value, str) for value in values):
        buttons = "".join(
            f'<label style="margin-right:0.8em"><input type="radio" name="{identifier}-{label}" '
            f'value="{index}"{" checked" if index == 0 else ""}> {html.escape(text)}</label>'
            for index, text in enumerate(shown))
        return f'<div data-knob="{label}"><b>{label}</b>: {buttons}</div>'
    labels = html.escape(json.dumps(shown), quote=True)
    return (f'<div><label><b>{label}</b> <input type="range" data-knob="{label}" min="0" '
            f'max="{len(values) - 1}" step="1" value="0" data-labels="{labels}" '
            f'style="vertical-align:middle;width:16em"></label> '
            f'<output>{html.escape(shown[0])}</output></div>')


def _label(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "×".join(map(str, value)) or "none"
    return str(value)
