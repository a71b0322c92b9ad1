"""The grading tool: student versions, putting submissions back in order, what crosses to the judge,
and the report on real submissions of chapter 1 and of the small chapter of `grading_cases`.

The submissions built to fool the grader are in `test_grading_adversarial.py`.
"""
import copy
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell

import regutils as ru
from regutils.grading import handout as handouts, safe, sandbox, spec
from regutils.grading.cli import main
from regutils.grading.handout import exercises
from regutils.grading.release import (PLACEHOLDER, placeholder, student_version,
                                      write_student_versions)
from regutils.grading.restore import restore
from regutils.grading.submissions import find_submissions
from regutils.history import History
from tests import grading_cases as cases

ROOT = Path(__file__).parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHAPTER = ROOT / "chapters" / "01_overfitting.ipynb"
TIMEOUT = 240  # seconds per notebook; chapter 1 takes 15-60 s under the grading profile


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def rows(report: Path) -> list[tuple]:
    return [(row["student"], row["notebook"], row["exercise"], row["check"], row["status"],
             row["message"]) for row in read_csv(report / "grades.csv")]


# --- student versions -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """Every chapter's student version, written by the command line; the chapters' digests."""
    before = {path.name: digest(path) for path in CHAPTERS}
    folder = tmp_path_factory.mktemp("handout")
    assert main(["student-versions", str(ROOT / "chapters"), str(folder)]) == 0
    return folder, before


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_student_version_replaces_solutions_locks_checks_and_keeps_the_rest(path, handout):
    folder, _ = handout
    chapter = nbformat.read(path, as_version=4)
    student = nbformat.read(folder / path.name, as_version=4)
    nbformat.validate(student)
    assert len(student.cells) == len(chapter.cells)
    found = exercises(chapter)
    assert [e.check for e in exercises(student)] == [e.check for e in found]
    assert len(found) >= 3
    solution_cells = {index: exercise.number for exercise in found for index in exercise.solutions}
    check_cells = {exercise.check_cell for exercise in found}
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
        if index in check_cells:
            assert changed.metadata["editable"] is False and changed.metadata["deletable"] is False
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


def test_check_calls_are_read_from_the_syntax_tree_not_from_strings_or_comments():
    def call(source):
        return handouts.check_call(new_code_cell(source))
    assert call('_ = "ru.coursework.check_one("') is None
    assert call("# ru.coursework.check_one(x)") is None
    assert call("if False:\n    ru.coursework.check_one(x)") is None
    assert call("ru.coursework.layer_norm.check_best_normalization(sweeps, 32, technique=best)") \
        == handouts.CheckCall("regutils.coursework.layer_norm", "check_best_normalization",
                              ("sweeps", "32"), (("technique", "best"),))


# --- putting a submission back in order -------------------------------------------------------

def test_restore_puts_back_edited_retagged_and_deleted_check_cells():
    notebook = cases.hand_in(cases.RIGHT)
    found = exercises(notebook)
    first = notebook.cells[found[0].check_cell]
    first.source = "pass  # " + first.source
    notebook.cells[found[1].check_cell].metadata["tags"] = ["raises-exception", "nbval-skip"]
    notebook.cells[found[2].check_cell].cell_type = "markdown"
    del notebook.cells[found[3].check_cell]
    restored = restore(notebook, cases.handout())
    handed_out = cases.handout()
    for number, exercise in enumerate(exercises(handed_out), start=1):
        cell = restored.notebook.cells[restored.check_cells[number]]
        assert cell.source == handed_out.cells[exercise.check_cell].source
        assert cell.cell_type == "code"
        assert cell.metadata.get("tags", []) == []
    assert restored.tampered == {
        1: ["the check cell was edited (it began with `pass  # ru.coursework.check_final_gap...`); "
            "it was put back as handed out"],
        2: ["the check cell's tags were changed (+nbval-skip, +raises-exception); they were put "
            "back"],
        3: ["the check cell was turned into a markdown cell; it was put back"],
        4: ["the check cell was deleted; it was put back as handed out"]}
    last = restored.spans[4]
    assert restored.notebook.cells[last[0]].source == cases.RIGHT[4]  # the answer, then its check
    assert last[-1] == restored.check_cells[4] == len(restored.notebook.cells) - 1


def test_restore_leaves_a_faithful_submission_as_it_is():
    notebook = cases.hand_in(cases.RIGHT)
    restored = restore(notebook, cases.handout())
    assert restored.tampered == {}
    assert [cell.source for cell in restored.notebook.cells] == \
        [cell.source for cell in notebook.cells]


def test_restore_sees_a_moved_check_cell():
    notebook = cases.hand_in(cases.RIGHT)
    found = exercises(notebook)
    moved = notebook.cells.pop(found[3].check_cell)
    notebook.cells.insert(found[0].check_cell, moved)
    restored = restore(notebook, cases.handout())
    assert restored.tampered == {4: ["the check cell was moved"]}
    assert restored.check_cells[4] < restored.check_cells[1]


def test_restore_matches_cells_by_source_when_the_ids_are_gone():
    notebook = cases.hand_in(cases.RIGHT)
    for cell in notebook.cells:
        cell["id"] = f"new-{id(cell)}"
    restored = restore(notebook, cases.handout())
    assert restored.tampered == {}
    assert [cell.source for cell in restored.notebook.cells] == \
        [cell.source for cell in notebook.cells]


# --- what crosses from the kernel to the judge ------------------------------------------------

OFFSET = 3


def helper(x):
    return x + OFFSET


def answer_function(x):
    return torch.tensor(helper(x)) * 2


answer_function.__module__ = "__main__"  # as if written in a notebook: carried as its source


def test_answers_cross_as_plain_data_and_functions_as_source():
    values = {"gap": 0.25, "epochs": [3, 4], "pair": (1, "a"), "none": None,
              "w": torch.arange(3.0), "nan": float("nan"), "weird": "$str", "f": answer_function}
    decoded = safe.decode(json.loads(safe.dumps(values))["f"]["value"])
    assert decoded is not answer_function and decoded(1).tolist() == 8.0
    back = {name: safe.decode(entry["value"]) for name, entry in
            json.loads(safe.dumps(values)).items()}
    assert back["gap"] == 0.25 and back["epochs"] == [3, 4] and back["pair"] == (1, "a")
    assert back["none"] is None and torch.equal(back["w"], torch.arange(3.0))
    assert back["weird"] == "$str" and back["nan"] != back["nan"]


def test_objects_that_pretend_are_reduced_to_plain_values_or_refused():
    Anything = type("Anything", (str,), {"__eq__": lambda self, other: True,
                                         "__hash__": str.__hash__})
    assert type(safe.decode(safe.encode(Anything("dropout")))) is str
    Tensor = type("Tensor", (torch.Tensor,), {"__eq__": lambda self, other: True})
    assert type(safe.decode(safe.encode(torch.zeros(2).as_subclass(Tensor)))) is torch.Tensor
    encoded = json.loads(safe.dumps({"model": torch.nn.Linear(2, 2), "history": History([])}))
    assert "cannot be carried" in encoded["model"]["unsupported"]
    assert "cannot be carried" in encoded["history"]["unsupported"]


def test_an_answer_file_cannot_run_code_in_the_judge(tmp_path):
    # what a forged file could hold: a pickle, or records that name code; decoding only builds data
    with pytest.raises(ValueError, match="unknown record"):
        safe.decode({"__reduce__": ["os.system", "touch pwned"]})
    assert safe.decode({"$tuple": [{"$str": "os.system('touch pwned')"}]}) == \
        ("os.system('touch pwned')",)
    assert not (tmp_path / "pwned").exists()


# --- the grading file --------------------------------------------------------------------------

def test_grading_file_gives_points_hidden_tests_and_guards(tmp_path):
    (tmp_path / "hidden.py").write_text("", encoding="utf-8")
    (tmp_path / "grading.toml").write_text(
        'hidden_tests = "hidden.py"\n[points]\ndefault = 2\ncheck_folds = 3\n'
        '"hw.ipynb:1" = 0.5\n[forbidden]\ncheck_layer_norm = "torch.nn.functional:layer_norm"\n',
        encoding="utf-8")
    loaded = spec.load(tmp_path / "grading.toml")
    assert loaded.points_for("hw.ipynb", 1, "check_folds") == 0.5
    assert loaded.points_for("other.ipynb", 1, "check_folds") == 3.0
    assert loaded.points_for("hw.ipynb", 2, "check_rotate") == 2.0
    assert loaded.guards_for("check_layer_norm") == ["torch.nn.functional:layer_norm"]
    assert loaded.guards_for("check_flip_labels") == ["regutils.data:flip_labels",
                                                      "regutils.data:with_label_noise"]
    assert loaded.hidden_tests == (tmp_path / "hidden.py").resolve()
    assert spec.load(None).guards_for("check_inverted_dropout") == ["torch.nn.functional:dropout",
                                                                   "torch:dropout"]


def test_a_guard_records_the_answers_calls_even_through_a_module_and_not_the_checks(monkeypatch):
    from regutils.grading import judge, safe
    import torch.nn.functional as F

    monkeypatch.setattr(F, "dropout", F.dropout)  # put back after the test
    judge._install_guard("torch.nn.functional:dropout")
    judge._guard_hits.clear()
    F.dropout(torch.ones(4), 0.5)  # a check's own call
    assert judge._guard_hits == set()
    answer = {}
    exec(compile("import torch\ndef my_dropout(x, p):\n    return torch.nn.Dropout(p)(x)\n",
                 safe.ANSWER_FILE, "exec"), answer)
    answer["my_dropout"](torch.ones(4), 0.5)
    assert judge._guard_hits == {"torch.nn.functional:dropout"}


@pytest.mark.parametrize("check, answer", [
    ("check_fold", "import torch\n"
                   "def answer(linear, norm):\n    return torch.nn.utils.fuse_linear_bn_eval(linear, norm)\n"),
    ("check_fold", "from torch.nn.utils.fusion import fuse_linear_bn_eval\n"
                   "def answer(linear, norm):\n    return fuse_linear_bn_eval(linear, norm)\n"),
    ("check_sequence_batch_norm", "import torch\n"
                                  "def answer(linear, norm):\n    return norm.train()(linear(torch.ones(4, 2)))\n"),
])
def test_the_shipped_answers_of_chapters_5_and_6_are_guarded(monkeypatch, check, answer):
    import importlib
    from regutils.grading import judge, safe

    labels = spec.load(None).guards_for(check)
    for label in labels:  # put every guarded function back after the test
        module, _, name = label.partition(":")
        owner = importlib.import_module(module)
        monkeypatch.setattr(owner, name, getattr(owner, name))
    for label in labels:
        judge._install_guard(label)
    judge._guard_hits.clear()
    namespace = {}
    exec(compile(answer, safe.ANSWER_FILE, "exec"), namespace)
    with torch.no_grad():
        namespace["answer"](torch.nn.Linear(2, 3).eval(), torch.nn.BatchNorm1d(3).eval())
    assert judge._guard_hits and judge._guard_hits <= set(labels)


@pytest.mark.parametrize("text, message", [
    ("[points]\ncheck_folds = -1\n", "points.check_folds must be a number >= 0, got -1"),
    ("[points]\ncheck_folds = 'two'\n", "must be a number >= 0, got 'two'"),
    ("[forbidden]\ncheck_x = ['layer_norm']\n", "must list 'module:function' names"),
    ("[pointz]\n", "unknown key"),
    ('hidden_tests = "nowhere.py"\n', "nowhere.py does not exist"),
])
def test_a_bad_grading_file_says_what_is_wrong(tmp_path, text, message):
    (tmp_path / "grading.toml").write_text(text, encoding="utf-8")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        spec.load(tmp_path / "grading.toml")


# --- the sandbox -------------------------------------------------------------------------------

def test_each_run_gets_a_copy_of_regutils_and_none_of_the_teachers_environment(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("TEACHERS_SECRET_TOKEN", "do-not-share")
    snapshot = sandbox.PackageSnapshot.of(Path(ru.__file__).parent)
    env = sandbox.prepare(tmp_path / "run", snapshot, {"REGUTILS_PROFILE": "quick"})
    assert "TEACHERS_SECRET_TOKEN" not in env and env["HOME"].startswith(str(tmp_path))
    assert env["REGUTILS_CACHE"].startswith(str(tmp_path)) and env["REGUTILS_PROFILE"] == "quick"
    copied = Path(env["PYTHONPATH"]) / "regutils"
    assert snapshot.changes(Path(env["PYTHONPATH"])) == []
    (copied / "coursework" / "overfitting.py").write_text("check_final_gap = print\n")
    (copied / "extra.py").write_text("")
    assert snapshot.changes(Path(env["PYTHONPATH"])) == ["coursework/overfitting.py", "extra.py"]
    found = subprocess.run([sys.executable, "-c", "import regutils; print(regutils.__file__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True,
                           check=True).stdout
    assert Path(found.strip()).parent == copied


def test_training_does_not_import_the_grader():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, regutils as ru; ru.Experiment; print(sorted(m for m in "
         "sys.modules if m.startswith(('regutils.grading', 'regutils.coursework', 'nbclient', "
         "'cloudpickle', 'jupyter_client'))))"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert loaded.stdout.strip() == "[]"


@pytest.mark.skipif(os.name != "posix", reason="process groups and sessions (POSIX)")
def test_leftover_processes_of_a_run_are_found_by_its_token_and_killed():
    pytest.importorskip("psutil")
    from regutils.grading.kernel import kill_leftovers

    token = f"test-{time.monotonic_ns()}"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             env={**os.environ, sandbox.TOKEN_ENV: token}, start_new_session=True)
    try:
        assert kill_leftovers(token) == 1
        assert child.wait(timeout=10) != 0
    finally:
        child.kill()


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
    from tests.grading_traps import TRAPS

    base = tmp_path_factory.mktemp("chapter-check")
    chapter = nbformat.read(CHAPTER, as_version=4)
    given = student_version(chapter)
    right = {e.number: chapter.cells[e.solutions[0]].source for e in exercises(chapter)}

    def hand_in(student, answers):
        notebook = copy.deepcopy(given)
        for exercise in exercises(notebook):
            if exercise.number in answers:
                notebook.cells[exercise.solutions[0]].source = answers[exercise.number]
        return cases.write(notebook, base / "submissions" / student / CHAPTER.name)

    hand_in("ana", right)
    hand_in("ben", {**right, 1: 'gap = history["val_acc"][-1] - history["train_acc"][-1]'})
    hand_in("cleo", {})
    broken = hand_in("dan", right)
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text[: len(text) // 2], encoding="utf-8")
    hand_in("fay", TRAPS[CHAPTER.name])
    exit_code = main(["check", str(base / "submissions"), "--report", str(base / "report"),
                      "--chapters", str(ROOT / "chapters"), "--timeout", str(TIMEOUT),
                      "--jobs", "2"])
    try:
        json.loads(text[: len(text) // 2])
    except json.JSONDecodeError as problem:
        json_problem = f"not valid JSON ({problem})"
    return dict(report=base / "report", exit_code=exit_code, json_problem=json_problem)


@pytest.mark.slow  # grades five submissions of chapter 1 (minutes)
def test_check_reports_every_student_and_exercise_exactly(chapter_check):
    assert chapter_check["exit_code"] == 0
    name = CHAPTER.name
    checks = ["check_final_gap", "check_lowest_epochs", "check_rising_fraction"]
    found = rows(chapter_check["report"])
    expected = (
        [("ana", name, str(n), check, "passed", "") for n, check in enumerate(checks, 1)]
        + [("ben", name, "1", checks[0], "failed", wrong_sign_message()),
           ("ben", name, "2", checks[1], "passed", ""),
           ("ben", name, "3", checks[2], "passed", "")]
        + [("cleo", name, str(n), check, "not attempted", "")
           for n, check in enumerate(checks, 1)]
        + [("dan", name, str(n), check, "notebook error", chapter_check["json_problem"])
           for n, check in enumerate(checks, 1)])
    assert found[:-3] == expected
    assert [row[4] for row in found[-3:]] == ["failed"] * 3  # fay: each exercise's trap


@pytest.mark.slow  # grades five submissions of chapter 1 (minutes)
def test_under_the_grading_profile_each_trap_of_chapter_1_gets_its_own_diagnosis(chapter_check):
    # under quick (3 epochs, loss still falling) all three of these answers would pass
    fay = [row[5] for row in rows(chapter_check["report"]) if row[0] == "fay"]
    assert fay[0].startswith("that is the gap after epoch ")
    assert fay[1].startswith("seed 0: epoch ")
    assert fay[2].startswith("the denominator is off")


@pytest.mark.slow  # grades five submissions of chapter 1 (minutes)
def test_check_summary_gradebook_and_feedback(chapter_check):
    report = chapter_check["report"]
    notebooks = {row["student"]: row for row in read_csv(report / "notebooks.csv")}
    counts = {student: tuple(int(row[status]) for status in
                             ("passed", "failed", "not attempted", "notebook error"))
              for student, row in notebooks.items()}
    assert counts == {"ana": (3, 0, 0, 0), "ben": (2, 1, 0, 0), "cleo": (0, 0, 3, 0),
                      "dan": (0, 0, 0, 3), "fay": (0, 3, 0, 0)}
    assert notebooks["dan"]["problem"] == chapter_check["json_problem"]
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "5 notebooks from 5 students" in summary
    assert "| **all** | | | **5** | **4** | **3** | **3** | **0** |" in summary
    assert wrong_sign_message() in summary
    book = {row["student"]: row for row in read_csv(report / "gradebook.csv")}
    assert [book[s]["total"] for s in sorted(book)] == ["3", "2", "0", "0", "0"]
    feedback = (report / "feedback" / "ben.md").read_text(encoding="utf-8")
    assert f"Exercise 1 (`check_final_gap`): **failed**, 0/1: {wrong_sign_message()}" in feedback


@pytest.mark.slow  # grades five submissions of chapter 1 (minutes)
def test_the_killed_notebook_leaves_no_kernel_behind(chapter_check):
    psutil = pytest.importorskip("psutil")
    left = []
    for process in psutil.process_iter():
        try:
            if sandbox.TOKEN_ENV in process.environ():
                left.append(process.pid)
        except psutil.Error:
            continue
    assert left == []


# --- grading rules, on the small chapter -------------------------------------------------------

@pytest.fixture(scope="module")
def small_check(tmp_path_factory):
    base = tmp_path_factory.mktemp("small-check")
    folder = base / "submissions"
    cases.write(cases.chapter(), base / "chapters" / "homework.ipynb")
    wrong_three = {**cases.RIGHT, 2: cases.WRONG[2], 3: 'flip = 3 + "a"'}
    notebooks = {
        "mixed/homework.ipynb": cases.hand_in(wrong_three),
        "broken_chapter/homework.ipynb": cases.hand_in(
            {1: cases.RIGHT[1], 2: cases.WRONG[2]},
            lambda notebook, found: notebook.cells.__setitem__(
                1, new_code_cell(notebook.cells[1].source + "\n1 / 0"))),
        "crash/homework.ipynb": cases.hand_in({**cases.RIGHT, 2: "import os\nos._exit(3)"}),
        "ana/homework.ipynb": cases.hand_in(cases.RIGHT),
        "ana/lab/week2.ipynb": cases.hand_in({1: cases.RIGHT[1]}),
    }
    for name, notebook in notebooks.items():
        cases.write(notebook, folder / name)
    (folder / "ana" / "conftest.py").write_text("raise RuntimeError('a student conftest ran')")
    (folder / "carl").mkdir()
    (folder / "dora").mkdir()
    (folder / "dora" / "homework.ipynb").write_text("{ not json", encoding="utf-8")
    (folder / "dora" / "notes.txt").write_text("not a notebook", encoding="utf-8")
    odd = folder / "odd" / "homework.ipynb"
    odd.parent.mkdir()
    odd.write_text('{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, '
                   '"nbformat_minor": 5}', encoding="utf-8")
    code = main(["check", str(folder), "--report", str(base / "report"), "--chapters",
                 str(base / "chapters"), "--timeout", "60", "--jobs", "2"])
    return dict(report=base / "report", exit_code=code)


def grades_of(report: Path, student: str, notebook: str = "homework.ipynb") -> list[tuple]:
    return [row[2:] for row in rows(report) if row[0] == student and row[1] == notebook]


def test_a_cell_error_in_an_exercise_is_its_message(small_check):
    assert small_check["exit_code"] == 0
    mixed = grades_of(small_check["report"], "mixed")
    assert [row[2] for row in mixed] == ["passed", "failed", "failed", "passed"]
    assert mixed[2][3].startswith("cell ") and mixed[2][3].endswith(
        "(`flip = 3 + \"a\"`) raised TypeError: unsupported operand type(s) for +: 'int' and "
        "'str'")


def test_a_failing_chapter_cell_turns_later_failures_into_notebook_errors(small_check):
    broken = grades_of(small_check["report"], "broken_chapter")
    assert [row[2] for row in broken] == ["passed", "notebook error", "not attempted",
                                          "not attempted"]
    assert broken[1][3].startswith("cell 2 (`import torch`) raised ZeroDivisionError: division "
                                   "by zero, before this exercise; then ")
    notebooks = {row["student"]: row for row in read_csv(small_check["report"] / "notebooks.csv")}
    assert notebooks["broken_chapter"]["problem"] == (
        "cell 2 (`import torch`) raised ZeroDivisionError: division by zero (a cell of no "
        "exercise)")


def test_a_crashed_kernel_is_a_notebook_error_from_its_cell_on(small_check):
    crash = grades_of(small_check["report"], "crash")
    crashed = "the kernel crashed (exit code 3) in cell 7 (`import os`)"
    assert crash == [("1", "check_final_gap", "passed", ""),
                     ("2", "check_folds", "notebook error", crashed),
                     ("3", "check_flip_labels", "notebook error",
                      f"not run: {crashed}, before this exercise"),
                     ("4", "check_best_normalization", "notebook error",
                      f"not run: {crashed}, before this exercise")]


def test_folders_per_student_missing_and_broken_notebooks(small_check):
    report = small_check["report"]
    assert [row[2] for row in grades_of(report, "ana")] == ["passed"] * 4
    assert [row[2] for row in grades_of(report, "ana", "lab/week2.ipynb")] == (
        ["passed"] + ["not attempted"] * 3)  # matched to the handout by its cells
    assert {row[4:] for row in rows(report) if row[0] == "carl"} == {
        ("not attempted", "the notebook was not handed in")}
    dora = grades_of(report, "dora")
    assert dora[0][2] == "notebook error" and dora[0][3].startswith("not valid JSON (")
    odd = grades_of(report, "odd")
    assert [row[2] for row in odd] == ["notebook error"] * 4
    assert all(row[3].startswith("not a valid notebook (ValidationError: ") for row in odd)


def test_find_submissions_reads_both_layouts(tmp_path):
    (tmp_path / "ana" / "lab").mkdir(parents=True)
    for name in ("ana/hw.ipynb", "ana/lab/week2.ipynb", "ben.ipynb", ".hidden.ipynb"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "carl").mkdir()
    found = find_submissions(tmp_path)
    assert [(s.student, s.name, s.flat) for s in found] == [
        ("ana", "hw.ipynb", False), ("ana", "lab/week2.ipynb", False), ("ben", "ben.ipynb", True),
        ("carl", "", False)]


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
    assert main(["check", str(tmp_path / "empty"), "--report", str(tmp_path / "r"),
                 "--chapters", str(tmp_path / "no-chapters")]) == 2
    assert "give --chapters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "--grading" in capsys.readouterr().out


def test_a_handout_that_does_not_fit_its_chapter_is_refused(tmp_path):
    cases.write(cases.chapter(), tmp_path / "chapters" / "homework.ipynb")
    other = cases.handout()
    del other.cells[-1]  # the last check cell
    cases.write(other, tmp_path / "handout" / "homework.ipynb")
    from regutils.grading.reference import load_assignments

    with pytest.raises(ValueError, match="has the checks"):
        load_assignments(tmp_path / "chapters", tmp_path / "handout")


def test_syntax_trees_are_built_one_thread_at_a_time():
    # the grader reads notebooks in threads; CPython 3.11's ast.parse, called from two threads at
    # once while the garbage collector runs finalizers, fails with "AST constructor recursion depth
    # mismatch" (seen as "the checker failed on this notebook" for a right answer)
    from concurrent.futures import ThreadPoolExecutor

    class Finalized:
        def __del__(self):
            pass

    source = "\n".join(f"x{i} = [(a, b) for a in range({i}) for b in {{'k': [1, (2, 3)]}}]"
                       for i in range(300))

    def parse_often(_):
        for _ in range(20):
            for _ in range(50):
                cycle = Finalized()
                cycle.me = cycle
            handouts.parse(source)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(parse_often, range(8)))
