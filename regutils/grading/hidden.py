"""Hidden tests: a teacher's own tests of an exercise, kept in a file the students never get.

A hidden test is a function marked with `hidden_test(check)`. The judge calls it with the same
arguments as the exercise's check, taken as the check gets them (the student's answers, the
grader's own inputs), and with `reference=` the teacher's answers when it asks for them. It passes
by returning None or True, scores a share of its weight by returning a number between 0 and 1,
and fails by raising an AssertionError, whose message goes into the student's feedback.

>>> @hidden_test("check_folds", weight=2)
... def folds_of_one(folds):
...     assert len(folds(7, 1)) == 1, "folds(n, 1) is a single fold"
>>> folds_of_one.hidden_test
{'check': 'check_folds', 'weight': 2.0, 'notebook': None}
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable


def hidden_test(check: str, weight: float = 1.0, notebook: str | None = None) -> Callable:
    """Mark a function as a hidden test of the exercise whose check is `check`.

    `weight` counts against the exercise's other tests (its check weighs 1); `notebook`, a
    handout file name, limits the test to that notebook when two use the same check.
    """
    if not isinstance(check, str) or not check.startswith("check_"):
        raise ValueError(f"hidden_test needs the name of a check, such as 'check_folds', "
                         f"got {check!r}")
    if not weight > 0:
        raise ValueError(f"the weight of a hidden test must be > 0, got {weight!r}")

    def mark(function: Callable) -> Callable:
        function.hidden_test = {"check": check, "weight": float(weight), "notebook": notebook}
        return function
    return mark


def load(path: str | Path) -> list[Callable]:
    """The hidden tests of a Python file, in the order the file defines them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no hidden tests file {path}")
    spec = importlib.util.spec_from_file_location(f"hidden_tests_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [value for value in vars(module).values()
            if callable(value) and isinstance(getattr(value, "hidden_test", None), dict)]


def for_exercise(tests: list[Callable], check: str, notebook: str) -> list[Callable]:
    """The tests that apply to the exercise `check` of the handout notebook `notebook`."""
    return [test for test in tests if test.hidden_test["check"] == check
            and test.hidden_test["notebook"] in (None, notebook)]
