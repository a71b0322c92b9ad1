"""A small chapter for the grading tests, its handout, and the ways students hand it back.

The chapter has four exercises with real checks that need no training (a history written down,
made-up sweeps), so a kernel runs it in seconds: a value (`check_final_gap`), two functions
(`check_folds`, and `check_flip_labels`, whose answer the library ships as `ru.data.flip_labels`)
and an answer that depends on an object of the chapter (`check_best_normalization`).
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from regutils.grading.handout import exercises
from regutils.grading.release import student_version

SETUP = '''import torch
import regutils as ru
from regutils.experiment import RunResult, SweepResult
from regutils.history import History

history = History([dict(epoch=e, train_loss=1 / e, train_acc=0.8 + 0.05 * e, val_loss=0.5,
                        val_acc=0.8, seconds=0.1) for e in (1, 2, 3)])


def made_up(technique, val_acc, train_acc):
    result = SweepResult(technique, "batch_size", [32], [0])
    record = dict(epoch=1, train_loss=0.1, train_acc=train_acc, val_loss=0.3, val_acc=val_acc,
                  seconds=0.1)
    result.runs[(32, 0)] = RunResult(ru.Experiment(technique, batch_size=32), History([record]))
    return result


sweeps = [made_up("batch_norm", 0.91, 0.99), made_up("layer_norm", 0.90, 0.96),
          made_up("none", 0.88, 0.97)]'''

RIGHT = {
    1: 'gap = history["train_acc"][-1] - history["val_acc"][-1]',
    2: '''def folds(n, k):
    bounds = [i * n // k for i in range(k + 1)]
    return [([j for j in range(n) if not bounds[i] <= j < bounds[i + 1]],
             list(range(bounds[i], bounds[i + 1]))) for i in range(k)]''',
    3: '''def flip(labels, fraction, generator):
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count]
    shift = torch.randint(1, 10, (count,), generator=generator)
    flipped = labels.clone()
    flipped[chosen] = (labels[chosen] + shift) % 10
    return flipped''',
    4: 'best_norm = max(sweeps, key=lambda sweep: sweep.mean("val_acc")[0]).technique',
}
WRONG = {
    1: 'gap = history["val_acc"][-1] - history["train_acc"][-1]',
    2: '''def folds(n, k):
    return [(list(range(n)), list(range(n)))] * k''',
    3: '''def flip(labels, fraction, generator):
    return labels.clone()''',
    4: 'best_norm = "none"',
}
CHECKS = ["check_final_gap", "check_folds", "check_flip_labels", "check_best_normalization"]
CALLS = ["ru.coursework.check_final_gap(history, gap)", "ru.coursework.tuning.check_folds(folds)",
         "ru.coursework.tuning.check_flip_labels(flip)",
         "ru.coursework.layer_norm.check_best_normalization(sweeps, 32, best_norm)"]


@functools.lru_cache(maxsize=1)
def _chapter():
    cells = [new_markdown_cell("# Homework"), new_code_cell(SETUP)]
    for number, call in enumerate(CALLS, start=1):
        cells += [new_markdown_cell(f"**{number}.** Exercise {number}."),
                  new_code_cell(RIGHT[number], metadata={"tags": ["hide-input", "solution"]}),
                  new_code_cell(call)]
    return new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def chapter():
    """The chapter as the teacher keeps it: solutions tagged, hidden in the book (the same cell
    ids at every call, as a chapter file has)."""
    return copy.deepcopy(_chapter())


def handout():
    return student_version(chapter())


def hand_in(answers: dict, edit=None):
    """The handout with `answers` (exercise -> source) in its answer cells, then `edit`ed."""
    notebook = copy.deepcopy(handout())
    found = exercises(notebook)
    for exercise in found:
        if exercise.number in answers:
            notebook.cells[exercise.solutions[0]].source = answers[exercise.number]
    if edit is not None:
        edit(notebook, found)
    return notebook


def write(notebook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def insert_after(notebook, position: int, source: str, **metadata):
    notebook.cells.insert(position + 1, new_code_cell(source, metadata=metadata))
