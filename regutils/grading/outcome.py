"""From what a notebook's run and its judge saw to one grade per exercise.

- `passed`: every test of the exercise (its check, the hidden tests) passed in the judge;
- `partial`: some did (the points are the weighted share of the tests passed);
- `failed`: none did, the answer could not be read, or it calls a function it should write;
- `not attempted`: a cell of the exercise still raises the placeholder's NotImplementedError,
  or the notebook was not handed in;
- `notebook error`: the notebook is not valid JSON, crashed or timed out before the exercise's
  check ran, or a cell of no exercise failed before an exercise that then failed too;
- `not graded`: the teacher's chapter itself could not give the exercise's inputs.
"""
from __future__ import annotations

from .report import Grade

FULL = 1 - 1e-9


def grades_of(submission, assignment, restored, run, judged: dict, options):
    """Each exercise's Grade, and what went wrong with the notebook itself ("" if nothing)."""
    cells = _Cells(restored.notebook, run)
    spans = restored.spans
    in_exercises = {index for span in spans.values() for index in span}
    expected = assignment.failing_cells  # what fails in the teacher's own run fails here too
    chapter_failure = next((index for index in sorted(run.cells)
                            if index not in in_exercises and run.failed(index)
                            and restored.notebook.cells[index].source not in expected), None)
    grades = []
    for exercise in assignment.exercises:
        number = exercise.number
        status, score, message, tests, praise = _decide(exercise, assignment, restored, run,
                                                         judged.get(number), cells)
        if status == "failed" and chapter_failure is not None \
                and chapter_failure < min(spans[number]):  # perhaps only a consequence
            status = "notebook error"
            message = f"{cells.error(chapter_failure)}, before this exercise; then {message}"
        points = options.spec.points_for(assignment.name, number, exercise.check)
        grades.append(Grade(submission.student, submission.name, number, exercise.check, status,
                            round(points * score, 4), points, message,
                            tuple(restored.tampered.get(number, ())), tuple(tests), praise))
    problems = [cells.where(run.problem)] if run.problem else []
    if chapter_failure is not None:
        problems.append(f"{cells.error(chapter_failure)} (a cell of no exercise)")
    return grades, "; ".join(problems)


def _decide(exercise, assignment, restored, run, outcome, cells):
    """status, share of the points (0 to 1), message, tests, what the passing check printed."""
    number = exercise.number
    if number in assignment.problems:
        return "not graded", 0.0, assignment.problems[number], [], ""
    span = restored.spans[number]
    errors = [index for index in span if run.failed(index)]
    if any(run.cells[index].error[0] == "NotImplementedError" for index in errors) or \
            _untouched(exercise, assignment, restored):
        return "not attempted", 0.0, "", [], ""
    check = restored.check_cells[number]
    if check not in run.cells:
        if not run.problem:
            return "notebook error", 0.0, "the check cell did not run", [], ""
        if run.stopped is None or run.stopped in span:
            return "notebook error", 0.0, cells.where(run.problem), [], ""
        return "notebook error", 0.0, f"not run: {cells.where(run.problem)}, before this " \
                                      "exercise", [], ""
    answer_errors = [index for index in errors if index != check]
    if outcome is None or outcome.get("answers"):
        if answer_errors:
            return "failed", 0.0, cells.error(answer_errors[0]), [], ""
        if outcome is None:
            extra = run.extra.get(check)
            why = f" ({extra.error[0]}: {extra.error[1]})" if extra and extra.error else ""
            return "failed", 0.0, f"the grader could not read the answers after the check " \
                                  f"cell{why}", [], ""
        return "failed", 0.0, outcome["answers"], [], ""
    tests = outcome.get("tests", [])
    total = sum(test["weight"] for test in tests) or 1.0
    share = sum(test["weight"] * test["score"] for test in tests) / total
    guarded = outcome.get("guarded", [])
    if guarded:
        names = ", ".join(label.replace(":", ".") for label in guarded)
        return "failed", 0.0, f"the answer calls {names}, which the exercise asks you to write " \
                              "yourself", tests, ""
    failing = next((test for test in tests if test["score"] < FULL), None)
    message = ""
    if failing is not None:
        message = failing["message"] if not failing.get("hidden") else \
            f"hidden test '{failing['name']}': {failing['message'] or 'not passed'}"
    if failing is not None and failing is tests[0] and answer_errors:
        message = cells.error(answer_errors[0])
    praise = next((line for line in reversed(tests[0].get("printed", "").splitlines())
                   if line.startswith("✓")), "") if tests else ""
    status = "passed" if share >= FULL else "failed" if share <= 0 else "partial"
    return status, share, message, tests, praise


def _untouched(exercise, assignment, restored) -> bool:
    """True when every answer cell still holds the handout's placeholder as it was given."""
    placeholders = [assignment.handout.cells[i].source for i in exercise.solutions]
    answers = [restored.notebook.cells[i].source
               for i in restored.solutions.get(exercise.number, ())]
    return bool(placeholders) and len(answers) == len(placeholders) and answers == placeholders


class _Cells:
    """A notebook's cells with what the run saw of each, for messages that name a cell."""

    def __init__(self, notebook, run):
        self.notebook, self.run = notebook, run

    def name(self, index: int) -> str:
        """`cell 25 (`while True:`)`: its position counting every cell from 1, its first line."""
        first_line = next((line.strip() for line in self.notebook.cells[index].source.splitlines()
                           if line.strip()), "")
        if len(first_line) > 40:
            first_line = first_line[:37] + "..."
        return f"cell {index + 1} (`{first_line}`)"

    def error(self, index: int) -> str:
        name, value = self.run.cells[index].error
        return f"{self.name(index)} raised {name}: {_one_line(value)}"

    def where(self, problem: str) -> str:
        stopped = self.run.stopped
        return f"{problem} in {self.name(stopped)}" if stopped is not None else problem


def _one_line(text) -> str:
    import re

    return " ".join(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text)).split())
