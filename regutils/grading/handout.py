"""The handout is the truth: its exercises, its student versions, and submissions put back in order.

An exercise of a chapter is a code cell tagged `solution` followed by a check cell: a cell whose
code calls `ru.coursework...check_...(...)`. The student version keeps every other cell as it is
(the chapter's own hidden `remove-cell` claims too, so the notebook still runs from top to
bottom), replaces each solution by a placeholder, clears all outputs, shows the placeholder cells
(no `hide-input`), marks the check cells as neither editable nor deletable (JupyterLab honours
that) and keeps the notebook's metadata.

Grading reads the exercises from the handout, never from what a student handed in, and puts the
handout's check cells back into each submission (`restore`) before it runs: a check cell that was
edited, re-tagged, turned into text or deleted is restored and reported as tampered with.

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
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"
PLACEHOLDER = 'raise NotImplementedError("Exercise {number}: write your solution here")'
PLACEHOLDER_MARK = "write your solution here"
MAX_LINE = 99
# Cell metadata that describes one past execution; outputs go, so these go with them.
EXECUTION_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
LOCKED = {"editable": False, "deletable": False}


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
        tree = ast.parse(cell.source)
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
            tree = ast.parse(notebook.cells[index].source)
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


# --- student versions ---------------------------------------------------------------------------

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


def notebooks_in(source: Path) -> list[Path]:
    """The notebooks of a folder (sorted), or the one notebook `source` names."""
    if not source.exists():
        raise FileNotFoundError(f"no such folder or notebook: {source}")
    found = sorted(source.glob("*.ipynb")) if source.is_dir() else [source]
    if not found or found[0].suffix != ".ipynb":
        raise ValueError(f"no notebooks (*.ipynb) in {source}")
    return found


# --- putting a submission back in order ---------------------------------------------------------

@dataclass
class Restored:
    """A submission with the handout's check cells back in place.

    `check_cells` maps each exercise number to the position of its check cell in `notebook`;
    `tampered` to what was wrong with that check cell in the submission (empty if nothing);
    `spans` to the code cells of the exercise, from the cell after the previous check cell.
    """

    notebook: object
    check_cells: dict[int, int]
    tampered: dict[int, list[str]] = field(default_factory=dict)
    spans: dict[int, tuple[int, ...]] = field(default_factory=dict)
    solutions: dict[int, tuple[int, ...]] = field(default_factory=dict)


def restore(submission, handout) -> Restored:
    """`submission` with every check cell of `handout` restored (re-added where deleted).

    Cells are matched by cell id, then, for notebooks whose ids were lost, by identical source.
    """
    notebook = copy.deepcopy(submission)
    cells = list(notebook.cells)
    handed_out = exercises(handout)
    matched = _match(handout.cells, cells)
    tampered: dict[int, list[str]] = {}
    placed: dict[int, object] = {}  # exercise number -> the restored cell object
    for exercise in handed_out:
        original = handout.cells[exercise.check_cell]
        position = matched.get(exercise.check_cell)
        notes = []
        if position is None:
            notes.append("the check cell was deleted; it was put back as handed out")
            position = _insertion_point(exercise.check_cell, matched, len(cells))
            cells.insert(position, None)
            matched = {h: s + (s >= position) for h, s in matched.items()}
        else:
            notes += _differences(original, cells[position])
        cells[position] = _fresh_copy(original)
        matched[exercise.check_cell] = position
        placed[exercise.number] = cells[position]
        if notes:
            tampered[exercise.number] = notes
    notebook.cells = cells
    positions = {id(cell): index for index, cell in enumerate(cells)}
    check_cells = {number: positions[id(cell)] for number, cell in placed.items()}
    for number in _out_of_order([check_cells[n] for n in sorted(check_cells)]):
        tampered.setdefault(number, []).append("the check cell was moved")
    spans, solutions, previous = {}, {}, None
    code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    for exercise in handed_out:
        end = check_cells[exercise.number]
        answer_cells = [matched[i] for i in exercise.solutions if i in matched]
        start = (previous + 1 if previous is not None and previous < end
                 else min(answer_cells + [end]))
        spans[exercise.number] = tuple(i for i in code if start <= i <= end)
        solutions[exercise.number] = tuple(answer_cells)
        previous = end
    return Restored(notebook, check_cells, tampered, spans, solutions)


def _out_of_order(positions: list[int]) -> list[int]:
    """The exercise numbers (from 1) whose check cells fall outside the longest run in order."""
    best = [[]]  # best[k]: an increasing run of length k ending as low as possible
    for number, position in enumerate(positions, start=1):
        runs = [run for run in best if not run or positions[run[-1] - 1] < position]
        longest = max(runs, key=len)
        candidate = longest + [number]
        if len(candidate) < len(best):
            if positions[best[len(candidate)][-1] - 1] > position:
                best[len(candidate)] = candidate
        else:
            best.append(candidate)
    kept = set(best[-1])
    return [number for number in range(1, len(positions) + 1) if number not in kept]


def _match(handout_cells: list, cells: list) -> dict[int, int]:
    """Handout cell position -> submission cell position, by id, then by identical source."""
    by_id = {cell.get("id"): index for index, cell in enumerate(cells) if cell.get("id")}
    matched = {}
    for index, cell in enumerate(handout_cells):
        found = by_id.get(cell.get("id")) if cell.get("id") else None
        if found is not None and found not in matched.values():
            matched[index] = found
    taken = set(matched.values())
    for index, cell in enumerate(handout_cells):
        if index in matched or not cell.source.strip():
            continue
        after = max((s for h, s in matched.items() if h < index), default=-1)
        for position in range(after + 1, len(cells)):
            if position not in taken and cells[position].source == cell.source \
                    and cells[position].cell_type == cell.cell_type:
                matched[index] = position
                taken.add(position)
                break
    return matched


def _insertion_point(handout_index: int, matched: dict[int, int], length: int) -> int:
    """Where a deleted handout cell goes: before the next handout cell still there (so after
    whatever the student wrote in its exercise), else after the last one before it."""
    after = [s for h, s in matched.items() if h > handout_index]
    before = [s for h, s in matched.items() if h < handout_index]
    if after and (not before or min(after) > max(before)):
        return min(after)
    return max(before) + 1 if before else length


def _differences(original, cell) -> list[str]:
    if cell.cell_type != original.cell_type:
        return [f"the check cell was turned into a {cell.cell_type} cell; it was put back"]
    notes = []
    if cell.source != original.source:
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        shown = first if len(first) <= 40 else first[:37] + "..."
        notes.append(f"the check cell was edited (it began with `{shown}`); "
                     "it was put back as handed out")
    tags, handed = set(cell.metadata.get("tags", [])), set(original.metadata.get("tags", []))
    if tags != handed:
        changes = ([f"+{tag}" for tag in sorted(tags - handed)]
                   + [f"-{tag}" for tag in sorted(handed - tags)])
        notes.append(f"the check cell's tags were changed ({', '.join(changes)}); "
                     "they were put back")
    return notes


def _fresh_copy(original):
    cell = copy.deepcopy(original)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell
