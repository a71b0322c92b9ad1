"""Check a folder of student notebooks with nbval and report every exercise of every student.

Each notebook runs on its own: a copy (outputs cleared) in an empty temporary folder, one pytest
process with a fresh kernel, `--nbval-lax` under the `quick` profile, none of the repository's
pytest settings, and a time limit after which the process and its kernel are killed. A small
pytest plugin (`_nbval_recorder`) logs each cell as it finishes, so a notebook that hangs or
crashes still reports the exercises it completed. Each exercise ends up with one status:

- `passed`: its check cell ran without error;
- `failed`: its check raised (the report gives the check's message), or a cell of the exercise did;
- `not attempted`: the placeholder of the student version still raises NotImplementedError, or
  the notebook was not handed in;
- `notebook error`: the notebook is not valid JSON, crashed, or timed out before the check ran, or
  a cell that belongs to no exercise failed before the exercise, which then failed as well.

>>> counts([Grade("ana", "01.ipynb", 1, "check_final_gap", "passed"),
...         Grade("ana", "01.ipynb", 2, "check_best_epoch", "not attempted")])
{'passed': 1, 'failed': 0, 'not attempted': 1, 'notebook error': 0}
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import _nbval_recorder
from .students import Exercise, exercises

STATUSES = ("passed", "failed", "not attempted", "notebook error")
DEFAULT_TIMEOUT = 300.0
DEFAULT_PROFILE = "quick"
FLAT = "*"  # the group of the notebooks that lie directly in the submissions folder
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Submission:
    """One notebook handed in: whose it is, where it is, and which handout notebook it answers.

    `name` is how the report calls the notebook (its path inside the student's folder, or its
    file name in a flat folder); notebooks of the same `group` answer the same handout notebook.
    `path` is None for a student folder without any notebook.
    """

    student: str
    path: Path | None
    name: str
    group: str


@dataclass(frozen=True)
class Grade:
    """One row of the report: how one student did on one exercise of one notebook."""

    student: str
    notebook: str
    exercise: int | None
    check: str
    status: str
    message: str = ""


@dataclass(frozen=True)
class NotebookReport:
    """What happened to one submitted notebook: its exercises, its run time, its problem if any."""

    student: str
    notebook: str
    grades: tuple[Grade, ...]
    seconds: float | None = None
    problem: str = ""

    @property
    def status(self) -> str:
        return "notebook error" if self.problem else "ok"


@dataclass
class CellRun:
    """What the recorder saw while one notebook ran."""

    results: dict[int, dict] = field(default_factory=dict)  # code cell number -> its record
    started: int | None = None  # the code cell that was running last
    problem: str = ""           # why the run stopped early ("" if it ran to the end)
    seconds: float = 0.0


def find_submissions(folder: str | Path) -> list[Submission]:
    """The notebooks in `folder`: `student.ipynb` files, or one folder of notebooks per student.

    Hidden files and folders and `.ipynb_checkpoints` are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"the submissions folder {folder} does not exist "
                                f"or is not a folder")
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry, entry.name, FLAT))
        elif entry.is_dir():
            notebooks = sorted(path for path in entry.rglob("*.ipynb")
                               if not any(part.startswith(".")
                                          for part in path.relative_to(entry).parts))
            for path in notebooks:
                name = path.relative_to(entry).as_posix()
                found.append(Submission(entry.name, path, name, name))
            if not notebooks:
                found.append(Submission(entry.name, None, "", ""))
    return found


def check_submissions(folder: str | Path, report: str | Path, timeout: float = DEFAULT_TIMEOUT,
                      profile: str = DEFAULT_PROFILE, jobs: int = 1,
                      cache: str | Path | None = None, progress=None) -> list[NotebookReport]:
    """Run every notebook in `folder`, grade each exercise, and write the report into `report`.

    `cache` is the run cache the notebooks share (default: a temporary one for this call);
    `progress`, if given, is called with a line of text as each notebook finishes.

    >>> check_submissions("submissions", "report", timeout=300)  # doctest: +SKIP
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs must be a whole number >= 1, got {jobs}")
    if Path(folder).resolve() in Path(report).resolve().parents:
        raise ValueError(f"the report folder {report} is inside the submissions folder "
                         f"{folder}; put it outside, or the next check takes it for a student")
    submissions = find_submissions(folder)
    if not submissions:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {folder}, neither directly nor in "
                                "one folder per student")
    notebooks = {submission: _read(submission.path) for submission in submissions
                 if submission.path is not None}
    expected = _expected_checks(notebooks)
    with tempfile.TemporaryDirectory(prefix="regutils-grading-cache-") as temporary_cache:
        environment = _environment(profile, Path(cache or temporary_cache))
        reports = {}
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_submission, submission, notebooks.get(submission),
                                   expected, timeout, environment): submission
                       for submission in submissions if submission.path is not None}
            for future in as_completed(futures):
                result = future.result()
                reports[futures[future]] = result
                if progress is not None:
                    progress(_progress_line(result))
    results = [reports[submission] for submission in submissions if submission in reports]
    results += _missing_notebooks(submissions, expected)
    results.sort(key=lambda result: (result.student, result.notebook))
    write_report(results, report, folder=folder, profile=profile, timeout=timeout)
    return results


def _read(path: Path):
    """The notebook at `path`, or the reason it cannot be read, as a string."""
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except UnicodeDecodeError as problem:
        return f"not a text file ({problem.reason} at byte {problem.start})"
    except json.JSONDecodeError as problem:
        return f"not valid JSON ({problem})"
    try:
        notebook = nbformat.reads(text, as_version=4)
        exercises(notebook)  # reads the type, tags and source of every cell
    except Exception as problem:  # JSON that is not a notebook, in one of many ways
        return f"not a valid notebook ({type(problem).__name__}: {_one_line(str(problem))})"
    return notebook


def _expected_checks(notebooks: dict) -> dict[str, list[str]]:
    """For each group, the checks that most of its notebooks have, in order: what the handout had.

    A group whose notebooks disagree without a majority (a flat folder of different chapters)
    gets none; each of its notebooks is then judged by its own checks.
    """
    lists: dict[str, Counter] = {}
    for submission, notebook in notebooks.items():
        if not isinstance(notebook, str):
            checks = tuple(exercise.check for exercise in exercises(notebook))
            if checks:
                lists.setdefault(submission.group, Counter())[checks] += 1
    expected = {}
    for group, counter in lists.items():
        checks, count = counter.most_common(1)[0]
        if 2 * count > sum(counter.values()):
            expected[group] = list(checks)
    return expected


def _grade_submission(submission: Submission, notebook, expected: dict, timeout: float,
                      environment: dict) -> NotebookReport:
    try:
        return _grade(submission, notebook, expected, timeout, environment)
    except Exception as problem:  # one odd notebook must not stop the check of the others
        message = f"the checker failed on this notebook ({type(problem).__name__}: {problem})"
        return _all_exercises(submission, expected.get(submission.group, []), "notebook error",
                              message, problem=message)


def _grade(submission: Submission, notebook, expected: dict, timeout: float,
           environment: dict) -> NotebookReport:
    checks = expected.get(submission.group, [])
    if isinstance(notebook, str):
        return _all_exercises(submission, checks, "notebook error", notebook, problem=notebook)
    own = [exercise.check for exercise in exercises(notebook)]
    if not set(own) <= set(checks):  # not a copy of the group's handout: judge it on its own
        checks = own
    if not checks:
        return NotebookReport(submission.student, submission.name, (),
                              problem="no exercise check cell (ru.coursework...check_...) "
                                      "in the notebook")
    run = run_notebook(notebook, timeout, environment)
    grades, problem = grade(notebook, run, checks, submission.student, submission.name)
    return NotebookReport(submission.student, submission.name, tuple(grades), run.seconds,
                          problem)


def _all_exercises(submission: Submission, checks: list[str], status: str, message: str,
                   problem: str = "") -> NotebookReport:
    grades = [Grade(submission.student, submission.name, number, check, status, message)
              for number, check in enumerate(checks, start=1)]
    if not grades:
        grades = [Grade(submission.student, submission.name, None, "", status, message)]
    return NotebookReport(submission.student, submission.name, tuple(grades), problem=problem)


def _missing_notebooks(submissions: list[Submission], expected: dict) -> list[NotebookReport]:
    """For folder-per-student submissions: a report for each handout notebook a student lacks."""
    groups = sorted({s.group for s in submissions if s.group not in ("", FLAT)})
    students = sorted({s.student for s in submissions if s.group != FLAT})
    handed_in = {(s.student, s.group) for s in submissions}
    missing = []
    for student in students:
        lacking = [group for group in groups if (student, group) not in handed_in]
        for group in lacking:
            missing.append(_all_exercises(Submission(student, None, group, group),
                                          expected.get(group, []), "not attempted",
                                          "the notebook was not handed in"))
        if not groups and (student, "") in handed_in:
            missing.append(_all_exercises(Submission(student, None, "", ""), [],
                                          "notebook error", "no notebook in the folder",
                                          problem="no notebook in the folder"))
    return missing


def _environment(profile: str, cache: Path) -> dict:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    environment.update(REGUTILS_PROFILE=profile, REGUTILS_CACHE=str(cache),
                       PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return environment


def run_notebook(notebook, timeout: float, environment: dict) -> CellRun:
    """Run `notebook` under pytest + nbval in a temporary folder; kill it after `timeout` s."""
    run = CellRun()
    with tempfile.TemporaryDirectory(prefix="regutils-grading-") as folder:
        folder = Path(folder)
        copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
        for cell in copy.cells:  # nbval compares no outputs of cells that were never run
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(copy, folder / "submission.ipynb")
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        shutil.copy(_nbval_recorder.__file__, folder / "_regutils_recorder.py")
        log = folder / "cells.jsonl"
        env = dict(environment, JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
                   **{_nbval_recorder.LOG_ENV: str(log)})
        command = [sys.executable, "-m", "pytest", "submission.ipynb", "-q", "--color=no",
                   "-c", "pytest.ini", "--rootdir", str(folder), "--noconftest",
                   "-o", "addopts=", "-p", "no:cacheprovider", "-p", "nbval.plugin",
                   "-p", "_regutils_recorder", "--nbval-lax", "--nbval-current-env",
                   "--nbval-cell-timeout", str(int(timeout) + 60)]
        start = time.monotonic()
        with open(folder / "pytest.log", "wb") as output:
            returncode = _run_with_timeout(command, folder, env, timeout, output)
        run.seconds = time.monotonic() - start
        for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
            record = json.loads(line)
            if record["event"] == "start":
                run.started = record["cell"]
            elif record["event"] == "done":
                run.results[record["cell"]] = record
            elif record["event"] == "crash" and not run.problem:
                run.problem = record["message"]
            elif record["event"] == "setup" and not run.problem:
                run.problem = f"the notebook could not run: {_one_line(record['message'])}"
        if returncode is None:
            run.problem = f"the notebook timed out after {timeout:g} s"
        elif returncode not in (0, 1) and not run.problem:
            tail = (folder / "pytest.log").read_text(encoding="utf-8", errors="replace").strip()
            last_line = _one_line(tail.splitlines()[-1]) if tail else "no output"
            run.problem = (f"the notebook could not run: pytest stopped with exit code "
                           f"{returncode} ({last_line})")
    return run


def _run_with_timeout(command: list[str], folder: Path, env: dict, timeout: float,
                      output) -> int | None:
    """The exit code of `command`, or None if it ran out of time and was killed with its kernel."""
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=output,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=os.name == "posix")
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(process)
        return None
    except BaseException:  # Ctrl-C: leave no pytest and no kernel behind
        _kill_tree(process)
        raise


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill `process` and every process below it; the kernel runs in a session of its own."""
    if os.name != "posix":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        process.wait()
        return
    family = [process.pid, *_descendants(process.pid)]  # read before anything is killed
    own_group = os.getpgrp()
    for pid in family:
        try:
            group = os.getpgid(pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.wait()


def _descendants(pid: int) -> list[int]:
    """The processes below `pid`, from /proc on Linux or `ps` elsewhere."""
    parents = {}
    if Path("/proc").is_dir() and Path(f"/proc/{os.getpid()}/stat").exists():
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                parents[int(stat.parent.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    else:
        listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="],
                                 capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            child, parent = line.split()
            parents[int(child)] = int(parent)
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its_parent in parents.items() if its_parent == parent]
        found += children
        frontier += children
    return found


def grade(notebook, run: CellRun, checks: list[str], student: str,
          name: str) -> tuple[list[Grade], str]:
    """The grade of each of `checks` in `notebook` after `run`, and the notebook's own problem."""
    cells = _Cells(notebook, run)
    found = exercises(notebook)
    unmatched: dict[str, list[Exercise]] = {}
    for exercise in found:
        unmatched.setdefault(exercise.check, []).append(exercise)
    in_exercises = {index for exercise in found for index in exercise.cells}
    chapter_failure = next((index for index in cells.number
                            if index not in in_exercises and cells.failed(index)), None)
    grades = []
    for number, check in enumerate(checks, start=1):
        exercise = unmatched[check].pop(0) if unmatched.get(check) else None
        status, message = _status(cells, exercise, check)
        if (status == "failed" and chapter_failure is not None
                and chapter_failure < exercise.cells[0]):  # perhaps only a consequence
            status = "notebook error"
            message = f"{cells.error(chapter_failure)}, before this exercise; then {message}"
        grades.append(Grade(student, name, number, check, status, message))
    problems = [cells.where(run.problem)] if run.problem else []
    if chapter_failure is not None:
        problems.append(f"{cells.error(chapter_failure)} (a cell of no exercise)")
    return grades, "; ".join(problems)


def _status(cells: _Cells, exercise: Exercise | None, check: str) -> tuple[str, str]:
    if exercise is None:
        return "failed", f"the check cell calling {check} is missing from the notebook"
    errors = [index for index in exercise.cells if cells.failed(index)]
    if any(cells.result(index).get("ename") == "NotImplementedError" for index in errors):
        return "not attempted", ""
    check_result = cells.result(exercise.check_cell)
    problem = cells.run.problem
    if check_result is None:
        if not problem:
            return "notebook error", "the check cell did not run"
        if cells.stopped is None or cells.stopped in exercise.cells:
            return "notebook error", cells.where(problem)
        return "notebook error", f"not run: {cells.where(problem)}, before this exercise"
    if check_result["outcome"] == "passed":
        return "passed", ""
    if check_result["outcome"] == "skipped":
        return "failed", "the check cell was skipped (it carries an nbval skip marker)"
    first = errors[0] if errors else exercise.check_cell
    return "failed", cells.error(first, is_check=first == exercise.check_cell)


class _Cells:
    """A notebook's cells together with what the recorder saw of each (nbval counts code cells)."""

    def __init__(self, notebook, run: CellRun):
        self.notebook, self.run = notebook, run
        self.number = {index: number for number, index in enumerate(
            i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")}
        running = run.started if run.started not in run.results else None
        self.stopped = next((i for i, n in self.number.items() if n == running), None)

    def result(self, index: int) -> dict | None:
        return self.run.results.get(self.number[index])

    def failed(self, index: int) -> bool:
        return (self.result(index) or {}).get("outcome") == "failed"

    def name(self, index: int) -> str:
        """`cell 25 (`while True:`)`: its position counting every cell from 1, its first line."""
        first_line = next((line.strip() for line in self.notebook.cells[index].source.splitlines()
                           if line.strip()), "")
        if len(first_line) > 40:
            first_line = first_line[:37] + "..."
        return f"cell {index + 1} (`{first_line}`)"

    def error(self, index: int, is_check: bool = False) -> str:
        """What went wrong in a failed cell; for a check's AssertionError, just its message."""
        result = self.result(index)
        if is_check and result.get("ename") == "AssertionError":
            return _one_line(result["evalue"])
        error = (f"{result['ename']}: {_one_line(result['evalue'])}" if result.get("ename")
                 else _one_line(result.get("message", "it failed")))
        return error if is_check else f"{self.name(index)} raised {error}"

    def where(self, problem: str) -> str:
        return f"{problem} in {self.name(self.stopped)}" if self.stopped is not None else problem


def _one_line(text: str) -> str:
    return " ".join(_ANSI.sub("", str(text)).split())


def counts(grades) -> dict[str, int]:
    """How many of `grades` have each status."""
    found = Counter(grade.status for grade in grades)
    return {status: found[status] for status in STATUSES}


def _progress_line(result: NotebookReport) -> str:
    found = counts(result.grades)
    summary = ", ".join(f"{n} {status}" for status, n in found.items() if n)
    seconds = f" in {result.seconds:.0f} s" if result.seconds is not None else ""
    return f"{result.student}, {result.notebook}: {summary or 'no exercises'}{seconds}"


def write_report(results: list[NotebookReport], report: str | Path, folder="submissions",
                 profile: str = DEFAULT_PROFILE, timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Write `grades.csv` (one row per student and exercise), `notebooks.csv` (one per notebook)
    and `summary.md` into the folder `report`; return their paths."""
    report = Path(report)
    report.mkdir(parents=True, exist_ok=True)
    grades = [grade for result in results for grade in result.grades]
    with open(report / "grades.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "notebook", "exercise", "check", "status", "message"])
        for grade in grades:
            writer.writerow([grade.student, grade.notebook,
                             "" if grade.exercise is None else grade.exercise, grade.check,
                             grade.status, grade.message])
    with open(report / "notebooks.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "notebook", "status", *STATUSES, "seconds", "problem"])
        for result in results:
            found = counts(result.grades)
            writer.writerow([result.student, result.notebook, result.status,
                             *(found[status] for status in STATUSES),
                             "" if result.seconds is None else f"{result.seconds:.1f}",
                             result.problem])
    (report / "summary.md").write_text(summary(results, folder, profile, timeout),
                                       encoding="utf-8")
    return [report / "grades.csv", report / "notebooks.csv", report / "summary.md"]


def summary(results: list[NotebookReport], folder="submissions", profile: str = DEFAULT_PROFILE,
            timeout: float = DEFAULT_TIMEOUT) -> str:
    """The report as Markdown: totals, one line per student and notebook, then the details."""
    grades = [grade for result in results for grade in result.grades]
    students = sorted({result.student for result in results})
    total = counts(grades)
    lines = ["# Coursework report", "",
             f"{len(results)} notebook{'s' * (len(results) != 1)} from {len(students)} "
             f"student{'s' * (len(students) != 1)} in `{folder}`, checked with nbval "
             f"(`--nbval-lax`) under the `{profile}` profile, at most {timeout:g} s per notebook.",
             "", "| student | notebook | " + " | ".join(STATUSES) + " |",
             "|---|---|" + "---:|" * len(STATUSES)]
    for result in results:
        found = counts(result.grades)
        lines.append(f"| {result.student} | {result.notebook or '–'} | "
                     + " | ".join(str(found[status]) for status in STATUSES) + " |")
    lines.append("| **all** | | " + " | ".join(f"**{total[s]}**" for s in STATUSES) + " |")
    lines += ["", "## Details", ""]
    for result in results:
        seconds = f", ran in {result.seconds:.0f} s" if result.seconds is not None else ""
        lines.append(f"### {result.student}: {result.notebook or 'no notebook'}{seconds}")
        lines.append("")
        if result.problem:
            lines.append(f"- **The notebook:** {result.problem}")
        for grade in result.grades:
            label = (f"Exercise {grade.exercise} (`{grade.check}`)" if grade.exercise is not None
                     else "All exercises")
            message = f": {grade.message}" if grade.message else ""
            lines.append(f"- {label}: **{grade.status}**{message}")
        lines.append("")
    return "\n".join(lines)

