"""Student versions of the chapters: every solution replaced by a placeholder, checks locked.

The student version keeps every other cell as it is (the chapter's own hidden `remove-cell`
claims too, so the notebook still runs from top to bottom), clears all outputs, shows the
placeholder cells (no `hide-input`), marks the check cells as neither editable nor deletable
(JupyterLab honours that) and keeps the notebook's metadata.

>>> from nbformat.v4 import new_code_cell, new_notebook
>>> chapter = new_notebook(cells=[
...     new_code_cell("gap = 0.1", metadata={"tags": ["hide-input", "solution"]}),
...     new_code_cell("ru.coursework.check_final_gap(history, gap)")])
>>> print(student_version(chapter).cells[0].source)
# Exercise 1: compute `gap`, then run the check cell below.
raise NotImplementedError("Exercise 1: write your solution here")
"""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat

from .handout import exercises, notebooks_in, parse

PLACEHOLDER = 'raise NotImplementedError("Exercise {number}: write your solution here")'
MAX_LINE = 99
# Cell metadata that describes one past execution; outputs go, so these go with them.
EXECUTION_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
LOCKED = {"editable": False, "deletable": False}


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
        solution_tree, check_tree = parse(solution), parse(check)
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
        check = notebook.cells[exercise.check_cell]
        for index in exercise.solutions:
            cell = notebook.cells[index]
            cell.source = placeholder(cell.source, check.source, exercise.number)
            cell.metadata["tags"] = [tag for tag in cell.metadata.get("tags", [])
                                     if tag != "hide-input"]
        check.metadata.update(LOCKED)
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
    chapters = notebooks_in(source)
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
