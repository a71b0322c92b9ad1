"""Under the grading profile, the mistakes that long enough runs are needed to catch do fail.

Chapter 1's are graded in `test_grading.py`. Here: early stopping (chapter 8), where under `quick`
training never stops, and combining (chapter 10), whose restored-epoch gap under `quick` is the
last epoch's (the case the review found). Every other exercise's mistake is in `grading_traps`;
`teachers.md` gives the result of grading all of them.
"""
import copy
import csv
from pathlib import Path

import nbformat
import pytest

from regutils.grading.cli import main
from regutils.grading.handout import exercises
from regutils.grading.release import student_version
from tests.grading_traps import TRAPS

ROOT = Path(__file__).parent.parent
CHAPTERS = ["08_early_stopping.ipynb", "10_combining.ipynb"]
pytestmark = pytest.mark.slow  # runs two chapters, twice


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("traps")
    for name in CHAPTERS:
        chapter = nbformat.read(ROOT / "chapters" / name, as_version=4)
        (base / "chapters").mkdir(exist_ok=True)
        nbformat.write(chapter, base / "chapters" / name)
        notebook = copy.deepcopy(student_version(chapter))
        for exercise in exercises(notebook):
            notebook.cells[exercise.solutions[0]].source = TRAPS[name][exercise.number]
        (base / "submissions" / "traps").mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, base / "submissions" / "traps" / name)
    assert main(["check", str(base / "submissions"), "--report", str(base / "report"),
                 "--chapters", str(base / "chapters"), "--timeout", "600", "--jobs", "2"]) == 0
    with open(base / "report" / "grades.csv", newline="", encoding="utf-8") as file:
        return {(row["notebook"], int(row["exercise"])): row for row in csv.DictReader(file)}


def test_each_mistake_of_early_stopping_fails_with_its_diagnosis(graded):
    name = "08_early_stopping.ipynb"
    assert [graded[(name, n)]["status"] for n in (1, 2, 3)] == ["failed"] * 3
    assert "you compared the ratio minus one with alpha itself" in graded[(name, 1)]["message"]
    assert "is the one the validation loss would restore" in graded[(name, 2)]["message"]
    assert graded[(name, 3)]["message"].startswith("the snapshot leaves out the buffers")


def test_the_last_epochs_gap_is_not_the_restored_one(graded):
    name = "10_combining.ipynb"
    assert graded[(name, 3)]["status"] == "failed"
    assert graded[(name, 3)]["message"].startswith("early stopping kept epoch 3 of 5: that is the "
                                                   "gap of the last epoch trained")
    assert graded[(name, 1)]["message"].startswith("the outputs changed: you scaled batch norm's")
