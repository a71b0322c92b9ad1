"""The teacher's grading file: points per exercise, hidden tests, functions an answer may not call.

Everything is found by what the handout holds (a check's name, or a notebook and an exercise
number), so a chapter whose exercises change needs no new list. Without a file every exercise is
worth one point, and the only guarded functions are the library's own answers to exercises.
A grading file in TOML (or the same keys in JSON)::

    hidden_tests = "hidden_tests.py"          # relative to this file; keep both from students

    [points]
    default = 1
    check_final_gap = 2                        # every exercise with this check
    "04_dropout.ipynb:3" = 3                   # exercise 3 of that handout notebook

    [forbidden]                                # the exercise asks the student to write these
    check_layer_norm = ["torch.nn.functional:layer_norm"]

>>> spec = GradingSpec(points={"check_final_gap": 2.0, "01_overfitting.ipynb:3": 0.5})
>>> [spec.points_for("01_overfitting.ipynb", n, c) for n, c in
...  [(1, "check_final_gap"), (2, "check_lowest_epochs"), (3, "check_rising_fraction")]]
[2.0, 1.0, 0.5]
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

# An exercise asks students to write these, and the library or PyTorch ships them: an answer
# that calls them scores nothing. (`ru.data.flip_labels` is what Experiment(label_noise=...)
# uses: it stays. `nn.Dropout` and `nn.Softshrink` call the functions below, and are caught too.)
SHIPPED_ANSWERS = {
    "check_flip_labels": ("regutils.data:flip_labels", "regutils.data:with_label_noise"),
    "check_soft_threshold": ("torch.nn.functional:softshrink",),
    "check_inverted_dropout": ("torch.nn.functional:dropout", "torch:dropout"),
    "check_fold": ("torch.nn.utils.fusion:fuse_linear_bn_eval", "torch.nn.utils.fusion:fuse_linear_bn_weights",
                   "torch.nn.utils:fuse_linear_bn_eval", "torch.nn.utils:fuse_linear_bn_weights"),
    "check_sequence_batch_norm": ("torch.nn.functional:batch_norm", "torch:batch_norm"),
}


@dataclass(frozen=True)
class GradingSpec:
    """Points, hidden tests and guarded functions for every exercise."""

    points: dict[str, float] = field(default_factory=dict)
    default_points: float = 1.0
    forbidden: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hidden_tests: Path | None = None
    source: Path | None = None

    def points_for(self, notebook: str, number: int, check: str) -> float:
        """An exercise's points: by notebook and number, else by check, else the default."""
        for key in (f"{notebook}:{number}", f"{notebook}:{check}", check):
            if key in self.points:
                return self.points[key]
        return self.default_points

    def guards_for(self, check: str) -> list[str]:
        """The `module:name` functions an answer to `check` may not call."""
        return sorted({*SHIPPED_ANSWERS.get(check, ()), *self.forbidden.get(check, ())})


def load(path: str | Path | None) -> GradingSpec:
    """The grading file at `path` (TOML or JSON); the defaults when `path` is None."""
    if path is None:
        return GradingSpec()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no grading file {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        data = tomllib.loads(text)
    unknown = set(data) - {"points", "forbidden", "hidden_tests"}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; use points, forbidden, "
                         "hidden_tests")
    points = {str(key): _points(path, key, value) for key, value in data.get("points", {}).items()}
    default = points.pop("default", 1.0)
    forbidden = {}
    for check, labels in data.get("forbidden", {}).items():
        if isinstance(labels, str):
            labels = [labels]
        bad = [label for label in labels if not isinstance(label, str) or ":" not in label]
        if bad:
            raise ValueError(f"{path}: forbidden.{check} must list 'module:function' names, "
                             f"got {bad}")
        forbidden[check] = tuple(labels)
    hidden = data.get("hidden_tests")
    if hidden is not None:
        hidden = (path.parent / hidden).resolve()
        if not hidden.is_file():
            raise FileNotFoundError(f"{path}: the hidden tests file {hidden} does not exist")
    return GradingSpec(points, default, forbidden, hidden, path)


def _points(path: Path, key, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{path}: points.{key} must be a number >= 0, got {value!r}")
    return float(value)
