"""Student versions of the chapter notebooks: every solution replaced by a marked placeholder.

An exercise in a chapter is a code cell tagged `solution` followed by a check cell that calls
`ru.coursework...check_...`. The student version keeps every other cell as it is (the chapter's
own hidden `remove-cell` claims too, so the notebook still runs from top to bottom), clears all
outputs, shows the placeholder cells (no `hide-input`), and keeps the notebook's metadata.

>>> import nbformat
>>> from nbformat.v4 import new_code_cell, new_notebook
>>> chapter = new_notebook(cells=[
...     new_code_cell("gap = 0.1", metadata={"tags": ["hide-input", "solution"]}),
...     new_code_cell("ru.coursework.check_final_gap(history, gap)")])
>>> [(exercise.number, exercise.check) for exercise in exercises(chapter)]
[(1, 'check_final_gap')]
>>> print(student_version(chapter).cells[0].source)
# Exercise 1: compute `gap`, then run the check cell below.
raise NotImplementedError("Exercise 1: write your solution here")
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"
CHECK_CALL = re.compile(r"\bcoursework\.(?:\w+\.)?(check_\w+)\s*\(")
PLACEHOLDER = 'raise NotImplementedError("Exercise {number}: write your solution here")'
PLACEHOLDER_MARK = "write your solution here"
MAX_LINE = 99
# Cell metadata that describes one past execution; outputs go, so these go with them.
EXECUTION_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its number, its check, and the code cells it spans.

    `cells` are positions in `notebook.cells`: every code cell after the previous exercise's
    check cell (for exercise 1, from its first solution cell) up to and including its own check.
    """

    number: int
    check: str
    cells: tuple[int, ...]
    solutions: tuple[int, ...]

    @property
    def check_cell(self) -> int:
        return self.cells[-1]


def check_name(cell) -> str | None:
    """The check a code cell calls (`"check_final_gap"`), or None if it calls none."""
    if cell.cell_type != "code":
        return None
    code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("#"))
    found = CHECK_CALL.search(code)
    return found.group(1) if found else None


def is_solution(cell) -> bool:
    """True for a solution cell: tagged `solution`, or holding a student-version placeholder."""
    return cell.cell_type == "code" and (SOLUTION_TAG in cell.metadata.get("tags", [])
                                         or PLACEHOLDER_MARK in cell.source)


def exercises(notebook) -> list[Exercise]:
    """The notebook's exercises, numbered in the order of their check cells.

    A check repeated in consecutive check cells (a student who copied the check to try it)
    counts once, and its last cell is the one that decides.
    """
    code = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    found: list[tuple[str, int, int]] = []  # (check, first cell of the span, check cell)
    for index in code:
        name = check_name(notebook.cells[index])
        if name is None:
            continue
        if found and found[-1][0] == name:
            found[-1] = (name, found[-1][1], index)
        elif found:
            found.append((name, found[-1][2] + 1, index))
        else:
            solutions = [i for i in code if i < index and is_solution(notebook.cells[i])]
            found.append((name, solutions[0] if solutions else index, index))
    result = []
    for number, (name, start, check) in enumerate(found, start=1):
        cells = tuple(i for i in code if start <= i <= check)
        solutions = tuple(i for i in cells if is_solution(notebook.cells[i]))
        result.append(Exercise(number, name, cells, solutions))
    return result


def placeholder(solution: str, check: str, number: int) -> str:
    """The code a student sees instead of `solution`: what to write, then a NotImplementedError.

    >>> print(placeholder("def f(x):\\n    # double it\\n    return 2 * x", "check(f)", 2))
    # Exercise 2: write the function `f(x)`, then run the check cell below.
    # double it
    raise NotImplementedError("Exercise 2: write your solution here")
    """
    comments = [line.strip() for line in solution.splitlines() if line.strip().startswith("#")]
    task = _task(solution, check) or "write your solution here"
    header = f"# Exercise {number}: {task}, then run the check cell below."
    if len(header) > MAX_LINE:
        header = header.replace(", then run", ".\n# Then run", 1)
    return "\n".join([header, *comments, PLACEHOLDER.format(number=number)])


def _task(solution: str, check: str) -> str:
    """What the check needs from the solution: "compute `gap`", "write the function `f(x)`"."""
    try:
        solution_tree, check_tree = ast.parse(solution), ast.parse(check)
    except SyntaxError:  # IPython magics and the like: fall back to the plain placeholder
        return ""
    needed = {node.id for node in ast.walk(check_tree) if isinstance(node, ast.Name)}
    functions, values = [], []
    for node in solution_tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in needed:
            functions.append(f"`{_signature(solution, node)}`")
            needed.discard(node.name)
        for name in (n for n in ast.walk(node) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store)):
            if name.id in needed and not isinstance(node, (ast.FunctionDef,
                                                           ast.AsyncFunctionDef)):
                values.append(f"`{name.id}`")
                needed.discard(name.id)
    parts = []
    if functions:
        parts.append(f"write the function{'s' * (len(functions) > 1)} {_and(functions)}")
    if values:
        parts.append(f"compute {_and(values)}")
    return "; ".join(parts)


def _signature(source: str, function: ast.FunctionDef) -> str:
    line = source.splitlines()[function.lineno - 1].strip()
    if line.startswith("def ") and line.endswith(":"):
        return line[len("def "):-1].split(" -> ")[0]
    return f"{function.name}({ast.unparse(function.args)})"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def student_version(chapter):
    """A copy of `chapter` with solutions replaced by placeholders and every output cleared."""
    notebook = copy.deepcopy(chapter)
    notebook.metadata.pop("widgets", None)  # the saved state of widget outputs, now cleared
    for exercise in exercises(notebook):
        check = notebook.cells[exercise.check_cell].source
        for index in exercise.solutions:
            cell = notebook.cells[index]
            cell.source = placeholder(cell.source, check, exercise.number)
            cell.metadata["tags"] = [tag for tag in cell.metadata.get("tags", [])
                                     if tag != "hide-input"]
    for cell in notebook.cells:
        for key in EXECUTION_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(notebook)
    return notebook


def write_student_versions(source: str | Path, destination: str | Path) -> list[tuple[Path, int]]:
    """Write the student version of each notebook in `source` (a folder or one notebook) into
    `destination`; return each written path with its number of exercises."""
    source, destination = Path(source), Path(destination)
    if not source.exists():
        raise FileNotFoundError(f"no such folder or notebook: {source}")
    chapters = sorted(source.glob("*.ipynb")) if source.is_dir() else [source]
    if not chapters or chapters[0].suffix != ".ipynb":
        raise ValueError(f"no notebooks (*.ipynb) in {source}")
    if destination.exists() and not destination.is_dir():
        raise NotADirectoryError(f"the destination {destination} is a file, not a folder")
    originals = {chapter.resolve() for chapter in chapters}
    if any((destination / chapter.name).resolve() in originals for chapter in chapters):
        raise ValueError(f"the destination {destination} holds the chapters themselves; choose "
                         "another folder so that the solutions are not overwritten")
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        notebook = nbformat.read(chapter, as_version=4)
        target = destination / chapter.name
        nbformat.write(student_version(notebook), target)
        written.append((target, len(exercises(notebook))))
    return written
