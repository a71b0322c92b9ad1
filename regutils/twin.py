"""The explorer's static twin: one precomputed figure per setting, switched in the page by a slider.

A web page built from a notebook has no kernel, so a live widget there is frozen. The twin is plain
HTML: a labelled range input (or a group of radio buttons for names) per knob, every figure
embedded as a PNG with alt text that carries its numbers, and a few lines of JavaScript that show
the figure of the chosen setting. It works from files, offline, and from the keyboard: arrow keys,
Home and End move a range input, arrow keys choose a radio button. The book's stylesheet
(`_static/figures.css`) shows the figures inverted, hues kept, in the theme's dark mode.
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
# Read by screen readers only: the sentence describing the figure just chosen.
_UNSEEN = ("position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;"
           "clip:rect(0,0,0,0);white-space:nowrap;border:0")

_SCRIPT = """<script>
(function () {
  var twin = document.getElementById("%(id)s");
  var frames = JSON.parse(twin.querySelector("script[type='application/json']").textContent);
  var controls = twin.querySelectorAll("[data-knob]");
  var figure = twin.querySelector("img"), status = twin.querySelector("[aria-live]");
  function show() {
    var key = Array.prototype.map.call(controls, function (control) {
      if (control.type === "range") {
        var label = JSON.parse(control.dataset.labels)[control.value];
        control.setAttribute("aria-valuetext", label);
        control.closest("div").querySelector("output").textContent = label;
        return control.value;
      }
      return control.querySelector("input:checked").value;
    }).join("-");
    figure.src = "data:image/png;base64," + frames[key].png;
    figure.alt = frames[key].alt;
    status.textContent = frames[key].alt;
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


def describe_setting(setting: Mapping) -> str:
    """The default alt text of a frame: its setting in words.

    >>> describe_setting({"p": 0.5, "technique": "dropout"})
    'Figure for p = 0.5, technique = dropout.'
    """
    return "Figure for " + ", ".join(f"{name} = {value_label(value)}"
                                     for name, value in setting.items()) + "."


def static_twin(choices: Mapping[str, Sequence], draw: Callable[[dict], plt.Figure],
                note: str = "", describe: Callable[[dict], str] = describe_setting) -> str:
    """HTML with one control per knob in `choices` switching between `draw(setting)` figures.

    `draw` gets a dict knob → value for every combination of the values and returns a figure;
    `describe` gets the same dict and returns that figure's alt text (say what it shows and its
    numbers: a screen reader reads it when the control moves).

    >>> page = static_twin({"strength": [0.0, 0.5]}, lambda s: plt.figure(figsize=(1, 1)))
    >>> page.count("<input") == 1 and 'max="1"' in page and 'alt="Figure for strength = 0."' in page
    True
    """
    names = list(choices)
    if not names or any(len(choices[name]) == 0 for name in names):
        raise ValueError("every knob of the static twin needs at least one value")
    drawn, alts = {}, {}
    for indices in itertools.product(*(range(len(choices[name])) for name in names)):
        setting = {name: choices[name][index] for name, index in zip(names, indices)}
        key = "-".join(map(str, indices))
        drawn[key], alts[key] = draw(setting), describe(setting)
    _share_limits(list(drawn.values()))
    frames = {key: {"png": png(figure), "alt": alts[key]} for key, figure in drawn.items()}
    first = frames["-".join("0" for _ in names)]
    identifier = "regutils-twin-" + hashlib.sha256(
        json.dumps({name: list(map(str, choices[name])) for name in names}).encode()
        + note.encode()).hexdigest()[:12]
    controls = "\n".join(_control(identifier, position, name, choices[name])
                         for position, name in enumerate(names))
    caption = html.escape(note) if note else (
        "Precomputed when this page was built: move the control to switch between the runs.")
    every_setting = "".join(f"<li>{html.escape(frame['alt'])}</li>" for frame in frames.values())
    # The frames go into a JSON script element, where only "</" could end it early.
    data = json.dumps(frames).replace("</", "<\\/")
    return (f'<div class="regutils-twin" id="{identifier}" role="group" '
            f'aria-label="Precomputed runs, one figure per setting">\n{controls}\n'
            f'<img class="dark-light" alt="{html.escape(first["alt"])}" style="max-width:100%" '
            f'src="data:image/png;base64,{first["png"]}">\n'
            f'<p aria-live="polite" style="{_UNSEEN}">{html.escape(first["alt"])}</p>\n'
            f'<p style="font-size:small">{caption}</p>\n'
            f'<details style="font-size:small"><summary>Every setting in words</summary>'
            f'<ul>{every_setting}</ul></details>\n'
            f'<script type="application/json">{data}</script>\n'
            f'{_SCRIPT % {"id": identifier}}\n</div>')


def _control(identifier: str, position: int, name: str, values: Sequence) -> str:
    label = html.escape(name.replace("_", " "))
    shown = [value_label(value) for value in values]
    if all(isinstance(value, str) for value in values):
        buttons = "".join(
            f'<label style="margin-right:0.8em"><input type="radio" name="{identifier}-{position}" '
            f'value="{index}"{" checked" if index == 0 else ""}> {html.escape(text)}</label>'
            for index, text in enumerate(shown))
        return (f'<div role="radiogroup" aria-labelledby="{identifier}-{position}" '
                f'data-knob="{label}"><b id="{identifier}-{position}">{label}</b>: {buttons}</div>')
    labels = html.escape(json.dumps(shown), quote=True)
    control = f"{identifier}-{position}"
    return (f'<div><label for="{control}"><b>{label}</b></label> '
            f'<input type="range" id="{control}" data-knob="{label}" min="0" '
            f'max="{len(values) - 1}" step="1" value="0" data-labels="{labels}" '
            f'aria-valuetext="{html.escape(shown[0], quote=True)}" '
            f'style="vertical-align:middle;width:16em"> '
            f'<output for="{control}">{html.escape(shown[0])}</output></div>')


def value_label(value) -> str:
    """A setting as its control shows it.

    >>> value_label(1e-4), value_label((256, 256)), value_label("layer_norm")
    ('0.0001', '256×256', 'layer norm')
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "×".join(map(str, value)) or "none"
    return str(value).replace("_", " ")  # a technique's code name, as words
