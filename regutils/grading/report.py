"""The report of a check: a gradebook to import, the long table, one feedback file per student.

- `gradebook.csv`: one row per student, one column of points per exercise (named by notebook,
  number and check) and a `total`: the shape an LMS or Gradescope imports;
- `grades.csv`: one row per student and exercise: status, points, message, tampering;
- `notebooks.csv`: one row per notebook: its totals, run time, its problem, what to review;
- `summary.md`: all of it, to read; `feedback/<student>.md`: what a student may be sent.

>>> counts([Grade("ana", "01.ipynb", 1, "check_final_gap", "passed", 1.0, 1.0),
...         Grade("ana", "01.ipynb", 2, "check_best_epoch", "not attempted", 0.0, 1.0)])
{'passed': 1, 'partial': 0, 'failed': 0, 'not attempted': 1, 'notebook error': 0, 'not graded': 0}
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

STATUSES = ("passed", "partial", "failed", "not attempted", "notebook error", "not graded")


@dataclass(frozen=True)
class Grade:
    """How one student did on one exercise of one notebook."""

    student: str
    notebook: str
    exercise: int | None
    check: str
    status: str
    score: float
    points: float
    message: str = ""
    tampered: tuple[str, ...] = ()
    tests: tuple[dict, ...] = ()
    praise: str = ""


@dataclass(frozen=True)
class NotebookReport:
    """What happened to one submitted notebook: its exercises, its run time, its problem if any."""

    student: str
    notebook: str
    handout: str
    grades: tuple[Grade, ...]
    seconds: float | None = None
    problem: str = ""
    flags: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def status(self) -> str:
        return "notebook error" if self.problem else "ok"

    @property
    def score(self) -> float:
        return round(sum(grade.score for grade in self.grades), 4)

    @property
    def points(self) -> float:
        return sum(grade.points for grade in self.grades)


def counts(grades) -> dict[str, int]:
    """How many of `grades` have each status."""
    found = Counter(grade.status for grade in grades)
    return {status: found[status] for status in STATUSES}


def column(handout: str, number: int, check: str) -> str:
    """A gradebook column: `01_overfitting 1 check_final_gap`."""
    return f"{Path(handout).stem} {number} {check}"


def write_report(results: list[NotebookReport], report: str | Path, assignments: dict,
                 folder="submissions", options=None) -> list[Path]:
    """Write every file of the report into the folder `report`; return their paths."""
    report = Path(report)
    report.mkdir(parents=True, exist_ok=True)
    written = [_grades_csv(results, report / "grades.csv"),
               _gradebook_csv(results, assignments, report / "gradebook.csv"),
               _notebooks_csv(results, report / "notebooks.csv")]
    (report / "summary.md").write_text(summary(results, folder, options), encoding="utf-8")
    written.append(report / "summary.md")
    feedback = report / "feedback"
    feedback.mkdir(exist_ok=True)
    for student in sorted({result.student for result in results}):
        path = feedback / f"{_file_name(student)}.md"
        path.write_text(student_feedback(student, [r for r in results if r.student == student]),
                        encoding="utf-8")
        written.append(path)
    return written


def _grades_csv(results, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "notebook", "exercise", "check", "status", "points",
                         "max_points", "message", "tampered"])
        for grade in (grade for result in results for grade in result.grades):
            writer.writerow([grade.student, grade.notebook,
                             "" if grade.exercise is None else grade.exercise, grade.check,
                             grade.status, _number(grade.score), _number(grade.points),
                             grade.message, "; ".join(grade.tampered)])
    return path


def _gradebook_csv(results, assignments: dict, path: Path) -> Path:
    columns = [column(name, e.number, e.check)
               for name in sorted(assignments) for e in assignments[name].exercises
               if any(result.handout == name for result in results)]
    rows: dict[str, dict] = {}
    for result in results:
        row = rows.setdefault(result.student, {})
        for grade in result.grades:
            if grade.exercise is not None:
                key = column(result.handout, grade.exercise, grade.check)
                row[key] = row.get(key, 0.0) + grade.score
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", *columns, "total"])
        for student in sorted(rows):
            scores = [rows[student].get(key, 0.0) for key in columns]
            writer.writerow([student, *map(_number, scores), _number(sum(scores))])
    return path


def _notebooks_csv(results, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "notebook", "status", "points", "max_points", *STATUSES,
                         "tampered", "seconds", "problem", "review"])
        for result in results:
            found = counts(result.grades)
            writer.writerow([result.student, result.notebook, result.status,
                             _number(result.score), _number(result.points),
                             *(found[status] for status in STATUSES),
                             sum(bool(grade.tampered) for grade in result.grades),
                             "" if result.seconds is None else f"{result.seconds:.1f}",
                             result.problem, "; ".join(result.flags)])
    return path


def summary(results: list[NotebookReport], folder="submissions", options=None) -> str:
    """The report as Markdown: totals, one line per student and notebook, then the details."""
    grades = [grade for result in results for grade in result.grades]
    students = sorted({result.student for result in results})
    total = counts(grades)
    shown = [status for status in STATUSES if total[status] or status in ("passed", "failed")]
    how = ""
    if options is not None:
        offset = f", seeds shifted by {options.seed_offset}" if options.seed_offset else ""
        from .profile import describe

        how = (f", each run in a kernel of its own under the {describe(options.profile)}"
               f"{offset}, at most {options.timeout:g} s per notebook")
    lines = ["# Coursework report", "",
             f"{len(results)} notebook{'s' * (len(results) != 1)} from {len(students)} "
             f"student{'s' * (len(students) != 1)} in `{folder}`{how}; every exercise judged "
             "by the grader on the chapter's own inputs.", "",
             "| student | notebook | points | " + " | ".join(shown) + " | tampered |",
             "|---|---|---:|" + "---:|" * len(shown) + "---:|"]
    for result in results:
        found = counts(result.grades)
        lines.append(f"| {result.student} | {result.notebook or '–'} | "
                     f"{_number(result.score)}/{_number(result.points)} | "
                     + " | ".join(str(found[status]) for status in shown)
                     + f" | {sum(bool(g.tampered) for g in result.grades)} |")
    lines.append("| **all** | | | " + " | ".join(f"**{total[s]}**" for s in shown)
                 + f" | **{sum(bool(g.tampered) for g in grades)}** |")
    lines += ["", "## Details", ""]
    for result in results:
        lines += _details(result, teacher=True) + [""]
    return "\n".join(lines)


def student_feedback(student: str, results: list[NotebookReport]) -> str:
    """The feedback file of one student: each exercise's result, points and hint."""
    lines = [f"# Feedback for {student}", ""]
    for result in results:
        lines += _details(result, teacher=False) + [""]
    return "\n".join(lines)


def _details(result: NotebookReport, teacher: bool) -> list[str]:
    seconds = f", ran in {result.seconds:.0f} s" if result.seconds is not None else ""
    lines = [f"### {result.student}: {result.notebook or 'no notebook'}, "
             f"{_number(result.score)}/{_number(result.points)} points{seconds}", ""]
    if result.problem:
        lines.append(f"- **The notebook:** {result.problem}")
    if result.truncated:
        lines.append("- **The notebook:** printed so much that the grader kept only the start")
    if teacher and result.flags:
        lines.append(f"- **To review:** {'; '.join(result.flags)}")
    for grade in result.grades:
        label = (f"Exercise {grade.exercise} (`{grade.check}`)" if grade.exercise is not None
                 else "All exercises")
        points = f", {_number(grade.score)}/{_number(grade.points)}" if grade.exercise else ""
        message = f": {grade.message}" if grade.message else ""
        if not teacher and grade.status == "passed" and grade.praise:
            message = f": {grade.praise}"
        lines.append(f"- {label}: **{grade.status}**{points}{message}")
        hidden = [test for test in grade.tests if test.get("hidden")]
        if hidden:
            passed = sum(test["score"] >= 1 for test in hidden)
            lines.append(f"  - hidden tests: {passed} of {len(hidden)} passed")
        for note in grade.tampered:
            lines.append(f"  - **tampered:** {note}")
    return lines


def _number(value: float) -> str:
    return f"{value:.4g}" if value != int(value) else str(int(value))


def _file_name(student: str) -> str:
    return re.sub(r"[^\w.-]+", "_", student).strip("._") or "student"
