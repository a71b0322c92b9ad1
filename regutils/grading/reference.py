"""The chapters' own runs: each handout notebook's chapter, run once with its solutions.

Its check calls' inputs (the history, the sweep, the model, the fixed tensors) are saved in the
grader's own kernel with cloudpickle; they, not the objects of a student's notebook, are what the
judge passes to the checks. Its run cache becomes the starting cache of every submission, and the
cells of the chapter that fail under the profile are noted, so that the same failure in a
submission is not held against the student.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import capture, kernel, release, sandbox
from .handout import Exercise, answer_names, exercises, notebooks_in


@dataclass
class Assignment:
    """One handout notebook, the chapter it was made from, and what the chapter's run saved."""

    name: str
    handout: object
    chapter: object
    exercises: list[Exercise]
    answer_names: dict[int, list[str]] = field(default_factory=dict)
    records: dict[int, bytes] = field(default_factory=dict)     # exercise -> pickled inputs
    kinds: dict[int, dict[str, str]] = field(default_factory=dict)
    cache: bytes = b""
    problems: dict[int, str] = field(default_factory=dict)      # exercise -> why ungradable
    solution_failures: dict[int, str] = field(default_factory=dict)
    failing_cells: dict[str, str] = field(default_factory=dict)  # source -> its error
    seconds: float = 0.0


def load_assignments(chapters: str | Path, handout: str | Path | None = None) -> dict:
    """Handout name -> Assignment, from the chapters (with solutions) and, if given, the handout
    folder that was released (else the student versions of the chapters, as made for students)."""
    chapter_paths = notebooks_in(Path(chapters))
    released = {path.name: path for path in notebooks_in(Path(handout))} \
        if handout is not None else {}
    missing = sorted(set(released) - {path.name for path in chapter_paths})
    if missing:
        raise ValueError(f"no chapter for the handout notebook(s) {missing} in {chapters}")
    found = {}
    for path in chapter_paths:
        if released and path.name not in released:
            continue
        chapter = nbformat.read(path, as_version=4)
        given = nbformat.read(released[path.name], as_version=4) if released else \
            release.student_version(chapter)
        handed_out, theirs = exercises(given), exercises(chapter)
        if [e.check for e in handed_out] != [e.check for e in theirs]:
            raise ValueError(f"the handout {path.name} has the checks "
                             f"{[e.check for e in handed_out]}, its chapter "
                             f"{[e.check for e in theirs]}: grade with the chapters it was made "
                             "from")
        if handed_out:
            found[path.name] = Assignment(path.name, given, chapter, handed_out, {
                e.number: answer_names(chapter, e) for e in theirs})
    return found


def run_reference(assignment: Assignment, snapshot, options, cache: Path | None) -> None:
    """Run the teacher's chapter once, saving every check call's inputs and the run cache."""
    chapter = exercises(assignment.chapter)
    with tempfile.TemporaryDirectory(prefix="regutils-grading-reference-") as folder:
        root = Path(folder)
        env = sandbox.prepare(root, snapshot, options.settings())
        if cache is not None:
            env["REGUTILS_CACHE"] = str(cache)
            cache.mkdir(parents=True, exist_ok=True)
        specs = kernel.kernel_spec_folder(root / "jupyter")
        saved = root / "reference"
        saved.mkdir()
        at_check = {e.check_cell: e for e in chapter}

        def after(index):
            exercise = at_check.get(index)
            if exercise is None:
                return None
            call = exercise.call
            return capture.reference_snippet(str(saved / f"{exercise.number}.pkl"),
                                             list(call.arguments), dict(call.keywords),
                                             assignment.answer_names[exercise.number])

        notebook = nbformat.from_dict(json.loads(json.dumps(assignment.chapter)))
        run = kernel.run_notebook(notebook, root / "work", env, max(options.timeout, 1800),
                                  specs, after_cell=after)
        assignment.seconds = run.seconds
        for exercise in chapter:
            path = saved / f"{exercise.number}.pkl"
            result = run.cells.get(exercise.check_cell)
            if path.is_file():
                assignment.records[exercise.number] = path.read_bytes()
                assignment.kinds[exercise.number] = json.loads(
                    Path(f"{path}.json").read_text(encoding="utf-8"))
            else:
                reason = run.problem or (f"{run.extra[exercise.check_cell].error[0]}: "
                                         f"{run.extra[exercise.check_cell].error[1]}"
                                         if exercise.check_cell in run.extra
                                         and run.extra[exercise.check_cell].error
                                         else "its check cell did not run")
                assignment.problems[exercise.number] = (
                    f"the chapter's own run could not give this exercise's inputs ({reason})")
            if result is not None and result.error is not None:
                assignment.solution_failures[exercise.number] = \
                    f"{result.error[0]}: {_one_line(result.error[1])}"
        in_exercises = {index for exercise in chapter for index in exercise.cells}
        for index, result in run.cells.items():
            if result.error is not None and index not in in_exercises:
                assignment.failing_cells[notebook.cells[index].source] = \
                    f"cell {index + 1}: {result.error[0]}: {_one_line(result.error[1])}"
        assignment.cache = sandbox.pack(Path(env["REGUTILS_CACHE"]))




def _one_line(text) -> str:
    return " ".join(str(text).split())
