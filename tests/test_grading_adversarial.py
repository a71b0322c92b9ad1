"""Submissions that try to fool the grader, each reported for what it is.

All of them are graded in one `check` call (two at a time) against the small chapter of
`grading_cases`. Unless a case says otherwise every answer is wrong, so any trick that worked would
show up as a passed exercise. The first four are the holes of the old grader (issue 19): a later
cell naming a check, monkeypatched checks, neutered check cells, a deleted check cell with a dummy.
"""
import csv
import json

import nbformat
import pytest

from regutils.grading.cli import main
from tests import grading_cases as cases
from tests.grading_cases import RIGHT, WRONG, hand_in, insert_after

TIMEOUT = 40  # per notebook; each takes 5-20 s on a busy 2-core machine


def append_name_only_cells(notebook, found):
    # (a) the old grader let the last cell naming a check decide
    for exercise in reversed(found):
        insert_after(notebook, exercise.check_cell, f'_ = "ru.coursework.{exercise.check}("')


def monkeypatch_checks(notebook, found):
    # (b) replace every check in the student's kernel by one that passes
    notebook.cells[found[0].solutions[0]].source += (
        "\nru.coursework.check_final_gap = lambda *a, **k: print('✓ correct')"
        "\nru.coursework.tuning.check_folds = lambda *a, **k: None"
        "\nru.coursework.tuning.check_flip_labels = lambda *a, **k: None"
        "\nru.coursework.layer_norm.check_best_normalization = lambda *a, **k: None")


def neuter_check_cells(notebook, found):
    # (c) a magic that skips the cell, dead code, a swallowed error, a tag that allows it
    cells = [notebook.cells[exercise.check_cell] for exercise in found]
    cells[0].source = "%%script true\n" + cells[0].source
    cells[1].source = "if False:\n    " + cells[1].source
    cells[2].source = f"try:\n    {cells[2].source}\nexcept AssertionError:\n    pass"
    cells[3].metadata["tags"] = ["raises-exception"]


def delete_a_check_and_add_a_dummy(notebook, found):
    # (d) the old grader took the exercise list from the submissions, not the handout
    del notebook.cells[found[1].check_cell]
    notebook.cells.append(nbformat.v4.new_code_cell('_ = "ru.coursework.check_zzz("'))


def kernel_tricks(notebook, found):
    # AssertionError that is no longer one, a print that shows nothing, a fake tick, and the
    # check rewritten on disk and reloaded, the judge's code too
    notebook.cells[found[0].solutions[0]].source += (
        "\nimport builtins\nbuiltins.AssertionError = type('Quiet', (Warning,), {})"
        "\nAssertionError = builtins.AssertionError\nprint('✓ correct: all exercises')"
        "\nbuiltins.print = lambda *a, **k: None"
        "\nimport importlib, pathlib, regutils.coursework.overfitting as checks"
        "\npath = pathlib.Path(checks.__file__)"
        "\npath.write_text(path.read_text() + '\\ndef check_final_gap(*a, **k):\\n    pass\\n')"
        "\nimportlib.reload(checks)"
        "\njudge = path.parent.parent / 'grading' / 'judge.py'"
        "\njudge.write_text(judge.read_text().replace('score\": 0.0', 'score\": 1.0'))")


def exit_the_kernel(notebook, found):
    # a flood of output, sys.exit in a cell (IPython survives it), then os._exit, which ends
    # the kernel for good
    insert_after(notebook, found[1].check_cell, "import os\nos._exit(0)")
    insert_after(notebook, found[0].check_cell, "import sys\nsys.exit(0)")
    insert_after(notebook, found[0].check_cell,
                 "for _ in range(120):\n    print('x' * 100_000)")


def take_the_packaged_answers(notebook, found):
    # what the library ships: nothing for folds any more, ru.data.flip_labels for flip
    notebook.cells[found[1].solutions[0]].source = \
        "from regutils.coursework.tuning import folds"
    notebook.cells[found[2].solutions[0]].source = (
        "def flip(labels, fraction, generator):\n"
        "    return ru.data.flip_labels(labels, fraction, generator)")


def rewrite_every_later_cell(notebook, found):
    # an IPython input transformer turns everything after it (the grader's own code too) into pass
    notebook.cells[found[0].solutions[0]].source += (
        "\nget_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])")


def shrink_the_input(notebook, found):
    # the old checks trusted the object handed to them
    notebook.cells[found[3].solutions[0]].source = (
        'sweeps = [sweeps[2]]\nbest_norm = "none"')


def answer_with_an_object_equal_to_anything(notebook, found):
    notebook.cells[found[3].solutions[0]].source = (
        'Anything = type("Anything", (str,), {"__eq__": lambda self, other: True,'
        ' "__hash__": str.__hash__})\nbest_norm = Anything("none")')


def attack_the_judge_then_hang(notebook, found):
    # functions that behave in the notebook and, outside IPython (in the judge), loop or exit;
    # then a loop that hangs the notebook itself
    outside = "    import builtins\n    if not hasattr(builtins, 'get_ipython'):\n"
    notebook.cells[found[1].solutions[0]].source = RIGHT[2].replace(
        "def folds(n, k):\n", "def folds(n, k):\n" + outside + "        while True:\n"
        "            pass\n")
    notebook.cells[found[2].solutions[0]].source = RIGHT[3].replace(
        "def flip(labels, fraction, generator):\n", "def flip(labels, fraction, generator):\n"
        + outside + "        import os\n        os._exit(3)\n")
    insert_after(notebook, found[2].check_cell, "while True:\n    pass")


def lose_the_cell_ids_and_edit_a_check(notebook, found):
    for cell in notebook.cells:
        cell.pop("id", None)
    notebook.nbformat_minor = 4
    notebook.cells[found[1].check_cell].source += "  # checked"


def fail_a_hidden_test(notebook, found):
    notebook.cells[found[1].solutions[0]].source = (
        RIGHT[2].replace("def folds(n, k):\n", "def folds(n, k):\n"
                         "    if k == 1:\n        raise ValueError('one fold?')\n"))


CASES = {  # student -> (answers, edit)
    "wrong": (WRONG, None),
    "a_append": (WRONG, append_name_only_cells),
    "b_patch": (WRONG, monkeypatch_checks),
    "c_magic": (WRONG, neuter_check_cells),
    "d_dummy": (WRONG, delete_a_check_and_add_a_dummy),
    "tricks": (WRONG, kernel_tricks),
    "ipython": (WRONG, rewrite_every_later_cell),
    "exits": (RIGHT, exit_the_kernel),
    "packaged": (WRONG, take_the_packaged_answers),
    "shrink": (WRONG, shrink_the_input),
    "anything": (WRONG, answer_with_an_object_equal_to_anything),
    "judge": (RIGHT, attack_the_judge_then_hang),
    "no_ids": (RIGHT, lose_the_cell_ids_and_edit_a_check),
    "partial": (RIGHT, fail_a_hidden_test),
    "right": (RIGHT, None),
    "untouched": ({}, None),
}
HIDDEN = '''from regutils.grading import hidden_test


@hidden_test("check_folds")
def a_single_fold(folds, reference):
    assert folds(7, 1) == reference["folds"](7, 1), "folds(n, 1) is one fold: all of range(n)"
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("adversarial")
    cases.write(cases.chapter(), base / "chapters" / "homework.ipynb")
    for student, (answers, edit) in CASES.items():
        cases.write(hand_in(answers, edit), base / "submissions" / student / "homework.ipynb")
    (base / "hidden.py").write_text(HIDDEN, encoding="utf-8")
    (base / "grading.toml").write_text(
        'hidden_tests = "hidden.py"\n[points]\ncheck_final_gap = 2\ncheck_folds = 2\n',
        encoding="utf-8")
    exit_code = main(["check", str(base / "submissions"), "--report", str(base / "report"),
                      "--chapters", str(base / "chapters"), "--grading",
                      str(base / "grading.toml"), "--timeout", str(TIMEOUT), "--jobs", "2"])
    with open(base / "report" / "grades.csv", newline="", encoding="utf-8") as file:
        grades = {}
        for row in csv.DictReader(file):
            grades.setdefault(row["student"], []).append(row)
    with open(base / "report" / "notebooks.csv", newline="", encoding="utf-8") as file:
        notebooks = {row["student"]: row for row in csv.DictReader(file)}
    return dict(exit_code=exit_code, grades=grades, notebooks=notebooks, base=base)


def statuses(graded, student):
    return [row["status"] for row in graded["grades"][student]]


def messages(graded, student):
    return [row["message"] for row in graded["grades"][student]]


def tampered(graded, student):
    return [row["tampered"] for row in graded["grades"][student]]


def test_every_wrong_answer_fails_whatever_the_notebook_does(graded):
    assert graded["exit_code"] == 0
    for student in ("wrong", "a_append", "b_patch", "c_magic", "d_dummy", "tricks", "ipython"):
        assert statuses(graded, student) == ["failed"] * 4, student
        assert [row["check"] for row in graded["grades"][student]] == cases.CHECKS, student


def test_the_wrong_answers_get_the_checks_own_messages(graded):
    assert messages(graded, "wrong")[0].startswith("the gap has the wrong sign")
    assert messages(graded, "b_patch") == messages(graded, "wrong")
    assert messages(graded, "c_magic") == messages(graded, "wrong")


def test_neutered_and_deleted_check_cells_are_restored_and_reported(graded):
    assert tampered(graded, "c_magic")[0].startswith("the check cell was edited (it began with "
                                                     "`%%script true`)")
    assert tampered(graded, "c_magic")[1].startswith("the check cell was edited (it began with "
                                                     "`if False:`)")
    assert tampered(graded, "c_magic")[2].startswith("the check cell was edited (it began with "
                                                     "`try:`)")
    assert tampered(graded, "c_magic")[3] == ("the check cell's tags were changed "
                                              "(+raises-exception); they were put back")
    assert tampered(graded, "d_dummy") == [
        "", "the check cell was deleted; it was put back as handed out", "", ""]
    assert graded["notebooks"]["d_dummy"]["tampered"] == "1"
    assert all(not note for note in tampered(graded, "a_append") + tampered(graded, "b_patch"))


def test_what_the_kernel_did_to_the_grader_is_up_for_review(graded):
    assert "names ru.coursework outside a check cell" in graded["notebooks"]["a_append"]["review"]
    review = graded["notebooks"]["tricks"]["review"]
    assert "uses builtins" in review
    assert "changed the grader's copy of regutils (coursework/overfitting.py, " \
           "grading/judge.py)" in review
    assert "uses IPython magics or the shell object" in graded["notebooks"]["ipython"]["review"]


def test_answers_the_kernel_could_not_hand_over_fail(graded):
    assert messages(graded, "ipython")[0] == "`gap` is not defined when the check cell runs" \
        or messages(graded, "ipython")[0].startswith("the grader could not read the answers")


def test_exits_end_what_comes_after_and_a_flood_changes_no_grade(graded):
    assert statuses(graded, "exits") == ["passed", "passed", "notebook error", "notebook error"]
    assert messages(graded, "exits")[2].startswith("the kernel crashed (exit code 0) in cell ")
    assert messages(graded, "exits")[3].startswith("not run: the kernel crashed")
    feedback = (graded["base"] / "report" / "feedback" / "exits.md").read_text(encoding="utf-8")
    assert "printed so much that the grader kept only the start" in feedback


def test_answers_the_package_ships_score_nothing(graded):
    assert statuses(graded, "packaged")[1:3] == ["failed", "failed"]
    assert "ImportError: cannot import name 'folds'" in messages(graded, "packaged")[1]
    assert messages(graded, "packaged")[2] == (
        "the answer calls regutils.data.flip_labels, which the exercise asks you to write "
        "yourself")


def test_inputs_come_from_the_chapter_and_answers_are_plain_data(graded):
    assert statuses(graded, "shrink")[3] == "failed"
    assert statuses(graded, "anything")[3] == "failed"
    assert messages(graded, "anything")[3].startswith("none does not have the highest "
                                                      "validation accuracy at batch size 32")


def test_those_answers_would_pass_the_check_in_the_notebook_itself(capsys):
    # the grader's judge is what makes them fail: called the way the notebook calls it, the
    # check accepts both (so the test above is not vacuous)
    from regutils.coursework.layer_norm import check_best_normalization

    chapter = {}
    exec(cases.SETUP, chapter)
    check_best_normalization([chapter["sweeps"][2]], 32, "none")
    anything = type("Anything", (str,), {"__eq__": lambda self, other: True,
                                         "__hash__": str.__hash__})("none")
    check_best_normalization(chapter["sweeps"], 32, anything)
    assert capsys.readouterr().out.count("✓ correct") == 2


def test_an_answer_that_hangs_or_ends_the_judge_fails_its_own_exercise_only(graded):
    assert statuses(graded, "judge") == ["passed", "failed", "failed", "notebook error"]
    assert messages(graded, "judge")[1] == f"the check did not finish within {TIMEOUT} s"
    assert messages(graded, "judge")[2].startswith("the grader's process ended (exit code 3)")
    assert messages(graded, "judge")[3].startswith(f"the notebook timed out after {TIMEOUT} s "
                                                   "in cell ")


def test_notebooks_without_cell_ids_are_restored_by_their_sources(graded):
    assert statuses(graded, "no_ids") == ["passed"] * 4
    assert tampered(graded, "no_ids")[1] == \
        "the check cell was deleted; it was put back as handed out"


def test_points_partial_credit_and_the_gradebook(graded):
    assert statuses(graded, "right") == ["passed"] * 4
    assert statuses(graded, "partial") == ["passed", "partial", "passed", "passed"]
    assert messages(graded, "partial")[1].startswith("hidden test 'a single fold': your code "
                                                     "raised ValueError: one fold?")
    with open(graded["base"] / "report" / "gradebook.csv", newline="", encoding="utf-8") as file:
        book = {row["student"]: row for row in csv.DictReader(file)}
    assert list(book["right"]) == [
        "student", "homework 1 check_final_gap", "homework 2 check_folds",
        "homework 3 check_flip_labels", "homework 4 check_best_normalization", "total"]
    assert book["right"]["total"] == "6" and book["partial"]["total"] == "5"
    assert book["partial"]["homework 2 check_folds"] == "1"
    assert book["untouched"]["total"] == "0" and book["wrong"]["total"] == "0"
    assert set(book) == set(CASES)


def test_feedback_files_say_what_passed_what_failed_and_why(graded):
    feedback = graded["base"] / "report" / "feedback"
    right = (feedback / "right.md").read_text(encoding="utf-8")
    assert "Exercise 1 (`check_final_gap`): **passed**, 2/2: ✓ correct: the final gap is" in right
    partial = (feedback / "partial.md").read_text(encoding="utf-8")
    assert "hidden tests: 0 of 1 passed" in partial
    magic = (feedback / "c_magic.md").read_text(encoding="utf-8")
    assert "**tampered:** the check cell was edited" in magic
    assert "To review" not in (feedback / "a_append.md").read_text(encoding="utf-8")


def test_an_untouched_handout_is_not_attempted(graded):
    assert statuses(graded, "untouched") == ["not attempted"] * 4
    assert json.loads(json.dumps(graded["notebooks"]["untouched"]))["points"] == "0"
