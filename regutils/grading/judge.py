"""The judge: a fresh process, after the student's kernel is gone, that runs the checks itself.

    python -m regutils.grading.judge job.json

For each exercise it takes the check's inputs from the teacher's chapter (pickled by `capture` in
the grader's own kernel), puts in the student's answers (plain data, or functions compiled from
their source), and calls a freshly imported check on them, then the teacher's hidden tests. No
cell of the student's notebook ever ran in this process: a check replaced, silenced or fooled in
the notebook is the real one here, and an object the student shrank or forged is not used.

Only the student's own functions run here, when a check calls them. Calls they make to a function
the exercise asks them to write themselves (`guards`, such as `regutils.data:flip_labels`) are
seen, since the judge compiles their source under a file name of its own, and score nothing.
Each exercise's result is one JSON line, written as soon as it is known.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import io
import json
import math
import random
import signal
import sys
import traceback
from pathlib import Path

from . import hidden, safe

PRINTED = 4_000  # characters of what a check printed, kept for the feedback
_guard_hits: set[str] = set()


class _OutOfTime(BaseException):
    """Raised in the judge when one exercise's tests take too long."""


def main(argv: list[str] | None = None) -> int:
    from .profile import install

    install()
    job_path = Path((argv or sys.argv[1:])[0])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    results = open(job["results"], "a", encoding="utf-8")
    guards = {label for exercise in job["exercises"] for label in exercise.get("guards", [])}
    for label in sorted(guards):
        _install_guard(label)
    tests = hidden.load(job["hidden_tests"]) if job.get("hidden_tests") else []
    for exercise in job["exercises"]:
        results.write(json.dumps({"event": "start", "number": exercise["number"]}) + "\n")
        results.flush()
        outcome = judge(exercise, tests, job.get("notebook", ""), job.get("seconds", 60))
        results.write(json.dumps({"event": "done", "number": exercise["number"], **outcome})
                      + "\n")
        results.flush()
    return 0


def judge(exercise: dict, tests: list, notebook: str, seconds: float) -> dict:
    """Run the check and hidden tests of one exercise; each test's score (0 to 1) and message."""
    reference = _load_reference(exercise["reference"])
    answers = json.loads(Path(exercise["answers"]).read_text(encoding="utf-8")) \
        if exercise.get("answers") and Path(exercise["answers"]).is_file() else None
    if answers is None:
        return {"answers": "the grader found no answers saved for this exercise", "tests": []}
    arguments, keywords, problems = _inputs(reference, answers)
    if problems:
        return {"answers": "; ".join(problems), "tests": []}
    check = getattr(importlib.import_module(exercise["module"]), exercise["check"])
    _guard_hits.clear()
    results = [{"name": "check", "weight": 1.0,
                **_run(lambda: check(*arguments, **keywords), seconds)}]
    teacher = {saved["expression"]: saved["value"] for saved in
               [*reference["arguments"], *reference["keywords"].values()]
               if saved["kind"] == "answer"}
    for test in hidden.for_exercise(tests, exercise["check"], notebook):
        extra = {"reference": teacher} if "reference" in inspect.signature(test).parameters else {}
        results.append({"name": test.__name__.replace("_", " "),
                        "weight": test.hidden_test["weight"], "hidden": True,
                        **_run(lambda: test(*arguments, **keywords, **extra), seconds)})
    guarded = sorted(_guard_hits & set(exercise.get("guards", [])))
    return {"tests": results, "guarded": guarded}


def _load_reference(path: str) -> dict:
    import cloudpickle  # the teacher's chapter wrote it, in the grader's own kernel

    return cloudpickle.loads(Path(path).read_bytes())


def _inputs(reference: dict, answers: dict) -> tuple[list, dict, list[str]]:
    """The check's arguments: the teacher's inputs with the student's answers put in."""
    problems = []

    def value_of(saved):
        if saved["kind"] != "answer":
            return saved["value"]
        entry = answers.get(saved["expression"])
        if entry is None:
            problems.append(f"`{saved['expression']}` was not saved")
        elif "value" in entry:
            try:
                return safe.decode(entry["value"])
            except Exception as error:  # source that no longer compiles alone, and the like
                problems.append(f"`{saved['expression']}` could not be rebuilt here "
                                f"({type(error).__name__}: {_one_line(error)})")
        else:
            problems.append(next(iter(entry.values())))
        return None

    arguments = [value_of(saved) for saved in reference["arguments"]]
    keywords = {name: value_of(saved) for name, saved in reference["keywords"].items()}
    return arguments, keywords, problems


def _run(call, seconds: float) -> dict:
    """Call one test: score 1 when it returns None or True, its number in [0, 1], 0 if it fails."""
    _seed()
    printed = io.StringIO()
    alarm = _alarm(seconds)
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            value = call()
    except AssertionError as failure:
        return {"score": 0.0, "message": _one_line(failure) or "the check failed",
                "printed": printed.getvalue()[-PRINTED:]}
    except _OutOfTime:
        return {"score": 0.0, "message": f"the check did not finish within {seconds:g} s"}
    except Exception as error:
        return {"score": 0.0, "message": _error_message(error),
                "printed": printed.getvalue()[-PRINTED:]}
    except BaseException as error:  # SystemExit, KeyboardInterrupt from the student's code
        return {"score": 0.0, "message": f"the answer stopped the check ({type(error).__name__})"}
    finally:
        alarm()
    return {"score": _score(value), "message": "", "printed": printed.getvalue()[-PRINTED:]}


def _score(value) -> float:
    if value is None or value is True:
        return 1.0
    if value is False:
        return 0.0
    if isinstance(value, (int, float)) and math.isfinite(value):
        return min(1.0, max(0.0, float(value)))
    return 1.0


def _error_message(error: Exception) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = "your code" if any(frame.filename == safe.ANSWER_FILE for frame in frames) \
        else "the check"
    return f"{where} raised {type(error).__name__}: {_one_line(error)}"


def _seed() -> None:
    """The same random state before every test, whatever ran before it."""
    random.seed(0)
    with contextlib.suppress(ImportError):
        import numpy
        numpy.random.seed(0)
    with contextlib.suppress(ImportError):
        import torch
        torch.manual_seed(0)


def _alarm(seconds: float):
    """Raise `_OutOfTime` after `seconds` (POSIX); return the function that cancels it."""
    if not hasattr(signal, "SIGALRM"):
        return lambda: None

    def ring(signum, frame):
        raise _OutOfTime()
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return cancel


def _install_guard(label: str) -> None:
    """Wrap `module:name` so that a call from the student's code is recorded."""
    module_name, _, name = label.partition(":")
    try:
        owner = importlib.import_module(module_name)
        original = getattr(owner, name)
    except (ImportError, AttributeError):
        return

    @functools.wraps(original)
    def guarded(*args, **kwargs):
        frame = inspect.currentframe()
        while frame is not None:
            if frame.f_code.co_filename == safe.ANSWER_FILE:
                _guard_hits.add(label)
                break
            frame = frame.f_back
        return original(*args, **kwargs)

    setattr(owner, name, guarded)


def _one_line(text) -> str:
    return " ".join(str(text).split())


if __name__ == "__main__":
    raise SystemExit(main())
