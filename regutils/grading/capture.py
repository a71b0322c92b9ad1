"""What the grader runs inside a kernel, right after an exercise's check cell: save its inputs.

In a student's kernel only the answers are saved, as plain data (`safe`), to be judged in another
process; whatever the student's cells did to the kernel can then make an answer wrong, not a
check pass. In the kernel of the teacher's chapter (trusted) every argument of the check call is
saved with cloudpickle: the inputs the judge uses in place of the student's objects.
"""
from __future__ import annotations

import json
import os


def answer_snippet(path: str, names: list[str]) -> str:
    """The code that saves the values of `names` in a student's kernel into `path`.

    >>> print(answer_snippet("/tmp/a.json", ["gap"]))
    __import__("regutils.grading.capture", fromlist=["save_answers"]).save_answers('/tmp/a.json', {'gap': lambda: gap})
    """
    values = "{" + ", ".join(f"{name!r}: lambda: {name}" for name in names) + "}"
    return (f'__import__("regutils.grading.capture", fromlist=["save_answers"])'
            f".save_answers({path!r}, {values})")


def reference_snippet(path: str, arguments: list[str], keywords: dict[str, str],
                      answers: list[str]) -> str:
    """The code that saves every argument of a check call in the kernel of the teacher's chapter."""
    def thunks(expressions):
        return "[" + ", ".join(f"lambda: ({e})" for e in expressions) + "]"
    return (f'__import__("regutils.grading.capture", fromlist=["save_reference"])'
            f".save_reference({path!r}, {arguments!r}, {thunks(arguments)}, {keywords!r}, "
            f"{thunks(keywords.values())}, {answers!r})")


def save_answers(path: str, values: dict) -> None:
    """Write each answer as plain data, or why it could not be read."""
    from . import safe

    answers, problems = {}, {}
    for name, value in values.items():
        try:
            answers[name] = value()
        except NameError:
            problems[name] = {"missing": f"`{name}` is not defined when the check cell runs"}
        except Exception as error:  # an answer that raises when read is still the student's
            problems[name] = {"unreadable": f"reading `{name}` raised {type(error).__name__}"}
    encoded = json.loads(safe.dumps(answers))
    encoded.update(problems)
    _write(path, json.dumps(encoded).encode())


def save_reference(path: str, arguments: list[str], thunks: list, keywords: dict,
                   keyword_thunks: list, answers: list[str]) -> None:
    """Pickle every argument of the teacher's check call, each marked as an answer or an input.

    An argument is an answer when it is one of `answers` (names the solution cells set) and plain
    data or a function (what a student's kernel can hand over); everything else is an input the
    judge takes from here.
    """
    import cloudpickle

    from . import safe

    def saved(expression, thunk):
        value = thunk()
        kind = "input"
        if expression in answers:
            try:
                safe.encode(value)
                kind = "answer"
            except safe.Unsupported:
                pass
        return {"expression": expression, "kind": kind, "value": value}

    record = {"arguments": [saved(e, t) for e, t in zip(arguments, thunks)],
              "keywords": {k: saved(e, t) for (k, e), t in zip(keywords.items(), keyword_thunks)}}
    _write(path, cloudpickle.dumps(record))
    kinds = {saved["expression"]: saved["kind"]
             for saved in [*record["arguments"], *record["keywords"].values()]}
    _write(f"{path}.json", json.dumps(kinds).encode())


def _write(path: str, data: bytes) -> None:
    temporary = f"{path}.part"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
