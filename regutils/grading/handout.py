"""The exercises of a chapter or a handout: its check cells, read from their syntax trees.

An exercise of a chapter is a code cell tagged `solution` followed by a check cell: a cell whose
code calls `ru.coursework...check_...(...)`. Grading reads the exercises from the handout, never
from what a student handed in (`release` makes the handout, `restore` puts its check cells back
into a submission).

>>> from nbformat.v4 import new_code_cell, new_notebook
>>> chapter = new_notebook(cells=[
...     new_code_cell("gap = 0.1", metadata={"tags": ["hide-input", "solution"]}),
...     new_code_cell("ru.coursework.check_final_gap(history, gap)")])
>>> [(exercise.number, exercise.check) for exercise in exercises(chapter)]
[(1, 'check_final_gap')]
"""
from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from pathlib import Path

SOLUTION_TAG = "solution"
PLACEHOLDER_MARK = "write your solution here"  # in every placeholder a student version holds
_PARSING = threading.Lock()


def parse(source: str) -> ast.Module:
    """`ast.parse`, one thread at a time. The grader reads notebooks in threads (`--jobs`), and
    CPython (3.11 at least) keeps one recursion count for every thread that builds a syntax tree:
    two at once can fail with "SystemError: AST constructor recursion depth mismatch"
    (python/cpython#106905), which reported a sound notebook as one the checker failed on."""
    with _PARSING:
        return ast.parse(source)


@dataclass(frozen=True)
class CheckCall:
    """A check cell's call: `module.check(*arguments, **keywords)`, arguments as source text."""

    module: str
    check: str
    arguments: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exercise:
    """One exercise of a trusted notebook (a chapter or its handout).

    `cells` are positions in `notebook.cells`: every code cell after the previous exercise's
    check cell (for exercise 1, from its first solution cell) up to and including its own check.
    """

    number: int
    check: str
    cells: tuple[int, ...]
    solutions: tuple[int, ...]
    call: CheckCall

    @property
    def check_cell(self) -> int:
        return self.cells[-1]


def check_call(cell) -> CheckCall | None:
    """The check a code cell calls, read from its syntax tree; None if it calls none.

    >>> from nbformat.v4 import new_code_cell
    >>> check_call(new_code_cell("ru.coursework.tuning.check_folds(folds)"))
    CheckCall(module='regutils.coursework.tuning', check='check_folds', arguments=('folds',), keywords=())
    """
    if cell.cell_type != "code":
        return None
    try:
        tree = parse(cell.source)
    except SyntaxError:
        return None
    for statement in tree.body:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            continue
        chain = _attribute_chain(statement.value.func)
        if chain and "coursework" in chain[:-1] and chain[-1].startswith("check_"):
            inside = chain[chain.index("coursework") + 1:-1]
            call = statement.value
            return CheckCall(".".join(["regutils", "coursework", *inside]), chain[-1],
                             tuple(ast.unparse(argument) for argument in call.args),
                             tuple((k.arg, ast.unparse(k.value)) for k in call.keywords if k.arg))
    return None


def _attribute_chain(node) -> list[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return []


def is_solution(cell) -> bool:
    """True for a solution cell: tagged `solution`, or holding a student-version placeholder."""
    return cell.cell_type == "code" and (SOLUTION_TAG in cell.metadata.get("tags", [])
                                         or PLACEHOLDER_MARK in cell.source)


def exercises(notebook) -> list[Exercise]:
    """The exercises of a chapter or a handout, numbered in the order of their check cells."""
    code = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    found, previous = [], None
    for index in code:
        call = check_call(notebook.cells[index])
        if call is None:
            continue
        if previous is None:
            solutions = [i for i in code if i < index and is_solution(notebook.cells[i])]
            start = solutions[0] if solutions else index
        else:
            start = previous + 1
        cells = tuple(i for i in code if start <= i <= index)
        found.append(Exercise(len(found) + 1, call.check, cells,
                              tuple(i for i in cells if is_solution(notebook.cells[i])), call))
        previous = index
    return found


def answer_names(notebook, exercise: Exercise) -> list[str]:
    """The names the exercise's solution cells set (assigned, defined or imported)."""
    names = set()
    for index in exercise.solutions:
        try:
            tree = parse(notebook.cells[index].source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
    return sorted(names)


def notebooks_in(source: Path) -> list[Path]:
    """The notebooks of a folder (sorted), or the one notebook `source` names."""
    if not source.exists():
        raise FileNotFoundError(f"no such folder or notebook: {source}")
    found = sorted(source.glob("*.ipynb")) if source.is_dir() else [source]
    if not found or found[0].suffix != ".ipynb":
        raise ValueError(f"no notebooks (*.ipynb) in {source}")
    return found
