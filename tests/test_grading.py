"""Coursework tools: student versions of every chapter, and the report on checked submissions.

The main test builds five submissions from a real chapter (an endless loop, complete, partly
wrong, untouched, truncated JSON) and checks them all in one call; the small tests use notebooks
with a stand-in `ru.coursework`, so their kernels start without torch.
"""
import copy
import csv
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import regutils as ru
from regutils.coursework import grading
from regutils.coursework.__main__ import main
from regutils.coursework.grading import check_submissions, find_submissions
from regutils.coursework.students import (PLACEHOLDER, exercises, placeholder, student_version,
                                          write_student_versions)
from regutils.train import History

ROOT = Path(__file__).parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHAPTER = ROOT / "chapters" / "01_overfitting.ipynb"
TIMEOUT = 90  # seconds per notebook; chapter 1 takes 10-45 s under the quick profile


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def rows(report: Path) -> list[tuple]:
    return [(row["student"], row["notebook"], row["exercise"], row["check"], row["status"],
             row["message"]) for row in read_csv(report / "grades.csv")]


def processes_with(text: str) -> list[int]:
    """Live processes whose environment contains `text` (Linux)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if text.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


# --- student versions -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """Every chapter's student version, written by the command line; the chapters' digests."""
    before = {path.name: digest(path) for path in CHAPTERS}
    folder = tmp_path_factory.mktemp("handout")
    assert main(["student-versions", str(ROOT / "chapters"), str(folder)]) == 0
    return folder, before


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_student_version_replaces_solutions_and_keeps_the_rest(path, handout):
    folder, _ = handout
    chapter = nbformat.read(path, as_version=4)
    student = nbformat.read(folder / path.name, as_version=4)
    nbformat.validate(student)
    assert len(student.cells) == len(chapter.cells)
    found = exercises(chapter)
    assert [e.check for e in exercises(student)] == [e.check for e in found]
    assert len(found) >= 3
    solution_cells = {index: exercise.number for exercise in found for index in exercise.solutions}
    for index, (original, changed) in enumerate(zip(chapter.cells, student.cells)):
        assert changed.cell_type == original.cell_type
        assert changed.get("id") == original.get("id")
        if index in solution_cells:
            number = solution_cells[index]
            assert changed.source.endswith(PLACEHOLDER.format(number=number))
            assert changed.source.startswith(f"# Exercise {number}: ")
            code = [line for line in original.source.splitlines() if line.strip()]
            assert not any(line in changed.source.splitlines() for line in code)
            assert changed.metadata["tags"] == ["solution"]  # visible to the student
        else:
            assert changed.source == original.source  # checks and remove-cell claims included
            assert changed.metadata.get("tags") == original.metadata.get("tags")
        if changed.cell_type == "code":
            assert changed.outputs == [] and changed.execution_count is None
            assert "execution" not in changed.metadata
    assert student.metadata.kernelspec == chapter.metadata.kernelspec
    assert student.metadata.language_info == chapter.metadata.language_info
    assert "widgets" not in student.metadata  # the saved state of outputs that are gone


def test_student_versions_leave_the_chapters_unchanged(handout):
    _, before = handout
    assert {path.name: digest(path) for path in CHAPTERS} == before


def test_placeholder_names_what_the_check_needs_and_keeps_comments():
    source = "# the share of rising epochs\nsmall = run()\nrising = f(small)\nhelper = 3"
    assert placeholder(source, "ru.coursework.check_x(small, rising)", 3) == (
        "# Exercise 3: compute `small` and `rising`, then run the check cell below.\n"
        "# the share of rising epochs\n"
        'raise NotImplementedError("Exercise 3: write your solution here")')
    assert placeholder("x = (", "check(x)", 1).startswith(  # unparsable: a plain placeholder
        "# Exercise 1: write your solution here, then run the check cell below.")


def test_student_versions_refuse_to_overwrite_the_chapters_and_name_missing_folders(tmp_path):
    with pytest.raises(ValueError, match="holds the chapters themselves"):
        write_student_versions(ROOT / "chapters", ROOT / "chapters")
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        write_student_versions(tmp_path / "no-such-folder", tmp_path / "out")
    assert main(["student-versions", str(tmp_path / "no-such-folder"), str(tmp_path)]) == 2


def test_a_student_version_of_one_chapter_can_be_written_alone(tmp_path):
    (written, n_exercises), = write_student_versions(CHAPTER, tmp_path / "out")
    assert written == tmp_path / "out" / CHAPTER.name and n_exercises == 3


# --- checking submissions of a real chapter ---------------------------------------------------

def wrong_sign_message() -> str:
    """What check_final_gap says to a gap of the wrong sign (for any nonzero gap)."""
    history = History([dict(epoch=1, train_loss=0.1, train_acc=1.0, val_loss=0.4, val_acc=0.9,
                            seconds=1.0)])
    with pytest.raises(AssertionError) as wrong:
        ru.coursework.check_final_gap(history, -0.1)
    return str(wrong.value)


@pytest.fixture(scope="module")
def chapter_check(tmp_path_factory):
    """Five students hand in chapter 1; one `check` call grades them all."""
    base = tmp_path_factory.mktemp("chapter-check")
    chapter = nbformat.read(CHAPTER, as_version=4)
    handout = student_version(chapter)
    right = {e.number: chapter.cells[e.solutions[0]].source for e in exercises(chapter)}

    def hand_in(student, answers):
        notebook = copy.deepcopy(handout)
        for exercise in exercises(notebook):
            if exercise.number in answers:
                notebook.cells[exercise.solutions[0]].source = answers[exercise.number]
        path = base / "submissions" / student / CHAPTER.name
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
        return path

    hand_in("abe", {**right, 2: "while True:\n    pass"})  # checked first: the wait overlaps
    hand_in("ana", right)
    hand_in("ben", {**right, 1: 'gap = history["val_acc"][-1] - history["train_acc"][-1]'})
    hand_in("cleo", {})
    broken = hand_in("dan", right)
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text[: len(text) // 2], encoding="utf-8")
    cache = base / "cache"
    exit_code = main(["check", str(base / "submissions"), "--report", str(base / "report"),
                      "--timeout", str(TIMEOUT), "--jobs", "2", "--cache", str(cache)])
    loop_cell = exercises(handout)[1].solutions[0] + 1
    try:
        json.loads(text[: len(text) // 2])
    except json.JSONDecodeError as problem:
        json_problem = f"not valid JSON ({problem})"
    return dict(report=base / "report", exit_code=exit_code, cache=cache, loop_cell=loop_cell,
                json_problem=json_problem)


def test_check_reports_every_student_and_exercise_exactly(chapter_check):
    assert chapter_check["exit_code"] == 0
    name = CHAPTER.name
    checks = ["check_final_gap", "check_lowest_epochs", "check_rising_fraction"]
    loop = f"cell {chapter_check['loop_cell']} (`while True:`)"
    timed_out = f"the notebook timed out after {TIMEOUT} s in {loop}"
    expected = (
        [("abe", name, "1", checks[0], "passed", ""),
         ("abe", name, "2", checks[1], "notebook error", timed_out),
         ("abe", name, "3", checks[2], "notebook error",
          f"not run: {timed_out}, before this exercise")]
        + [("ana", name, str(n), check, "passed", "") for n, check in enumerate(checks, 1)]
        + [("ben", name, "1", checks[0], "failed", wrong_sign_message()),
           ("ben", name, "2", checks[1], "passed", ""),
           ("ben", name, "3", checks[2], "passed", "")]
        + [("cleo", name, str(n), check, "not attempted", "")
           for n, check in enumerate(checks, 1)]
        + [("dan", name, str(n), check, "notebook error", chapter_check["json_problem"])
           for n, check in enumerate(checks, 1)])
    assert rows(chapter_check["report"]) == expected


def test_check_summary_counts_and_notebook_problems(chapter_check):
    report = chapter_check["report"]
    notebooks = {row["student"]: row for row in read_csv(report / "notebooks.csv")}
    counts = {student: tuple(int(row[status]) for status in
                             ("passed", "failed", "not attempted", "notebook error"))
              for student, row in notebooks.items()}
    assert counts == {"ana": (3, 0, 0, 0), "ben": (2, 1, 0, 0), "cleo": (0, 0, 3, 0),
                      "dan": (0, 0, 0, 3), "abe": (1, 0, 0, 2)}
    assert [notebooks[s]["status"] for s in sorted(notebooks)] == [
        "notebook error", "ok", "ok", "ok", "notebook error"]
    assert notebooks["dan"]["problem"] == chapter_check["json_problem"]
    assert notebooks["abe"]["problem"] == (f"the notebook timed out after {TIMEOUT} s in cell "
                                           f"{chapter_check['loop_cell']} (`while True:`)")
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "5 notebooks from 5 students" in summary
    assert "| **all** | | **6** | **1** | **3** | **5** |" in summary
    assert "| abe | 01_overfitting.ipynb | 1 | 0 | 0 | 2 |" in summary
    assert wrong_sign_message() in summary


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")
def test_the_killed_notebook_leaves_no_kernel_behind(chapter_check):
    assert processes_with(f"REGUTILS_CACHE={chapter_check['cache']}") == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_timeout_kills_the_grandchild_in_its_own_session_too():
    # The kernel runs in a session of its own, as this grandchild does: killing the process
    # group of pytest alone would leave it running.
    grandchild = ("import subprocess, sys, time\n"
                  "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
                  " start_new_session=True)\n"
                  "print(child.pid, flush=True)\n"
                  "time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", grandchild], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    pid = int(process.stdout.readline())
    grading._kill_tree(process)
    process.stdout.close()
    for _ in range(50):
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"process {pid} is still running")


# --- grading rules, on small notebooks with a stand-in for ru.coursework ----------------------

STAND_IN = '''import types

def _check(expected):
    def check(value):
        assert value == expected, f"the answer is not {value}. Hint: count again"
        print("✓ correct")
    return check

ru = types.SimpleNamespace(coursework=types.SimpleNamespace(
    check_one=_check(1), check_two=_check(2), check_three=_check(3)))'''
NAMES = {1: "one", 2: "two", 3: "three"}


def homework(answers: dict, before: str = "x = 0", check_tags=None, drop_check=None):
    """A notebook of three exercises; `answers` maps an exercise to its solution's source."""
    cells = [new_markdown_cell("# Homework"), new_code_cell(STAND_IN), new_code_cell(before)]
    for number, name in NAMES.items():
        solution = answers.get(number, PLACEHOLDER.format(number=number))
        cells.append(new_code_cell(solution, metadata={"tags": ["solution"]}))
        if number != drop_check:
            cells.append(new_code_cell(f"ru.coursework.check_{name}(x{number})",
                                       metadata={"tags": (check_tags or {}).get(number, [])}))
    return new_notebook(cells=cells)


RIGHT = {1: "x1 = 1", 2: "x2 = 2", 3: "x3 = 3"}


@pytest.fixture(scope="module")
def small_check(tmp_path_factory):
    base = tmp_path_factory.mktemp("small-check")
    folder = base / "submissions"
    folder.mkdir()
    notebooks = {
        "right.ipynb": homework(RIGHT),
        "mixed.ipynb": homework({1: "x1 = 1", 2: "x2 = 5", 3: 'x3 = 3 + "a"'}),
        "cheat.ipynb": homework({1: "x1 = 7", 2: "x2 = 7", 3: "x3 = 3"}, drop_check=3,
                                check_tags={1: ["raises-exception"], 2: ["nbval-skip"]}),
        "broken_chapter.ipynb": homework({1: "x1 = 1", 2: "x2 = 5"}, before="1 / 0"),
        "crash.ipynb": homework({1: "x1 = 1", 2: "import os\nos._exit(3)"}),
        "ana/hw.ipynb": homework(RIGHT),
        "ana/lab/week2.ipynb": homework({1: "x1 = 1"}),
    }
    for name, notebook in notebooks.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / name)
    (folder / "ana" / "conftest.py").write_text("raise RuntimeError('a student conftest ran')")
    (folder / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (folder / "carl").mkdir()
    (folder / "dora").mkdir()
    (folder / "dora" / "hw.ipynb").write_text("{ not json", encoding="utf-8")
    (folder / "dora" / "notes.txt").write_text("not a notebook", encoding="utf-8")
    (folder / "odd.ipynb").write_text('{"cells": [{"cell_type": "code"}], "metadata": {}, '
                                      '"nbformat": 4, "nbformat_minor": 5}', encoding="utf-8")
    results = check_submissions(folder, base / "report", timeout=60, jobs=2)
    return dict(report=base / "report", results=results, notebooks=notebooks)


def grades_of(report: Path, student: str) -> list[tuple]:
    return [row[2:] for row in rows(report) if row[0] == student]


def test_right_answers_pass_and_a_placeholder_is_not_attempted(small_check):
    report, right = small_check["report"], homework(RIGHT)
    assert grades_of(report, "right") == [("1", "check_one", "passed", ""),
                                          ("2", "check_two", "passed", ""),
                                          ("3", "check_three", "passed", "")]
    assert grades_of(report, "mixed") == [
        ("1", "check_one", "passed", ""),
        ("2", "check_two", "failed", "the answer is not 5. Hint: count again"),
        ("3", "check_three", "failed",
         "cell 8 (`x3 = 3 + \"a\"`) raised TypeError: unsupported operand type(s) for +: "
         "'int' and 'str'")]
    assert right.cells[7].source == 'x3 = 3'  # cell 8 counted from 1 is the third solution


def test_tricks_with_the_check_cells_do_not_pass(small_check):
    assert grades_of(small_check["report"], "cheat") == [
        ("1", "check_one", "failed", "the answer is not 7. Hint: count again"),
        ("2", "check_two", "failed",
         "the check cell was skipped (it carries an nbval skip marker)"),
        ("3", "check_three", "failed", "the check cell calling check_three is missing from the "
                                       "notebook")]


def test_a_failing_chapter_cell_turns_later_failures_into_notebook_errors(small_check):
    failure = "cell 3 (`1 / 0`) raised ZeroDivisionError: division by zero"
    assert grades_of(small_check["report"], "broken_chapter") == [
        ("1", "check_one", "passed", ""),
        ("2", "check_two", "notebook error",
         f"{failure}, before this exercise; then the answer is not 5. Hint: count again"),
        ("3", "check_three", "not attempted", "")]
    notebooks = {row["student"]: row for row in read_csv(small_check["report"] / "notebooks.csv")}
    assert notebooks["broken_chapter"]["problem"] == f"{failure} (a cell of no exercise)"


def test_a_crashed_kernel_is_a_notebook_error_from_its_cell_on(small_check):
    crashed = "the kernel crashed (exit code 3) in cell 6 (`import os`)"
    assert grades_of(small_check["report"], "crash") == [
        ("1", "check_one", "passed", ""),
        ("2", "check_two", "notebook error", crashed),
        ("3", "check_three", "notebook error",
         f"not run: {crashed}, before this exercise")]


def test_folders_per_student_missing_and_broken_notebooks(small_check):
    report = small_check["report"]
    assert [row[:2] for row in rows(report) if row[0] in ("ana", "carl", "dora")] == (
        [("ana", "hw.ipynb")] * 3 + [("ana", "lab/week2.ipynb")] * 3
        + [("carl", "hw.ipynb")] * 3 + [("carl", "lab/week2.ipynb")] * 3
        + [("dora", "hw.ipynb")] * 3 + [("dora", "lab/week2.ipynb")] * 3)
    assert [row[4] for row in rows(report) if row[0] == "ana"] == (
        ["passed"] * 3 + ["passed", "not attempted", "not attempted"])
    assert {row[4:] for row in rows(report) if row[0] == "carl"} == {
        ("not attempted", "the notebook was not handed in")}
    dora = [row[4:] for row in rows(report) if row[0] == "dora"]
    assert dora[0][0] == "notebook error" and dora[0][1].startswith("not valid JSON (")
    assert dora[3:] == [("not attempted", "the notebook was not handed in")] * 3


def test_json_that_is_not_a_notebook_is_a_notebook_error(small_check):
    odd = grades_of(small_check["report"], "odd")
    assert [row[:3] for row in odd] == [("1", "check_one", "notebook error"),
                                        ("2", "check_two", "notebook error"),
                                        ("3", "check_three", "notebook error")]
    assert all(row[3].startswith("not a valid notebook (ValidationError: ") for row in odd)


def test_find_submissions_reads_both_layouts(small_check):
    found = find_submissions(small_check["report"].parent / "submissions")
    assert [(s.student, s.name) for s in found] == [
        ("ana", "hw.ipynb"), ("ana", "lab/week2.ipynb"), ("broken_chapter", "broken_chapter.ipynb"),
        ("carl", ""), ("cheat", "cheat.ipynb"), ("crash", "crash.ipynb"), ("dora", "hw.ipynb"),
        ("mixed", "mixed.ipynb"), ("odd", "odd.ipynb"), ("right", "right.ipynb")]


def test_the_command_line_names_a_missing_folder_and_bad_options(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nowhere"), "--report", str(tmp_path / "r")]) == 2
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["check", str(tmp_path / "empty"), "--report", str(tmp_path / "r")]) == 2
    assert "no notebooks" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "empty"), "--report", str(tmp_path / "r"),
                 "--timeout", "0"]) == 2
    assert "timeout must be a positive number" in capsys.readouterr().err
    (tmp_path / "empty" / "x.ipynb").write_text("{}")
    assert main(["check", str(tmp_path / "empty"), "--report", str(tmp_path / "empty" / "r")]) == 2
    assert "inside the submissions folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "--nbval-lax" in capsys.readouterr().out


def test_settings_in_the_submissions_folder_are_ignored(small_check):
    # ana's folder holds a conftest.py that raises and the submissions folder a pytest.ini with
    # a bad option: the notebooks run in a folder of their own, with an empty pytest.ini.
    assert [result.problem for result in small_check["results"] if result.student == "ana"] == [
        "", ""]
