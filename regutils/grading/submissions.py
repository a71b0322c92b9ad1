"""Which notebooks were handed in, whose they are, and which handout notebook each one answers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

FLAT = "*"  # the group of the notebooks that lie directly in the submissions folder


@dataclass(frozen=True)
class Submission:
    """One notebook handed in: whose it is, where it is, and how the report calls it.

    `name` is the notebook's path inside the student's folder, or its file name in a flat
    folder; `path` is None for a student folder without any notebook.
    """

    student: str
    path: Path | None
    name: str
    flat: bool = False


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
            found.append(Submission(entry.stem, entry, entry.name, flat=True))
        elif entry.is_dir():
            notebooks = sorted(path for path in entry.rglob("*.ipynb")
                               if not any(part.startswith(".")
                                          for part in path.relative_to(entry).parts))
            for path in notebooks:
                found.append(Submission(entry.name, path, path.relative_to(entry).as_posix()))
            if not notebooks:
                found.append(Submission(entry.name, None, ""))
    return found


def read(path: Path):
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
        nbformat.validate(notebook)  # every cell with its type, source and metadata
    except Exception as problem:  # JSON that is not a notebook, in one of many ways
        return f"not a valid notebook ({type(problem).__name__}: {_one_line(problem)})"
    return notebook


def handout_for(submission: Submission, notebook, handouts: dict) -> str | None:
    """The name of the handout notebook `submission` answers, or None if none fits.

    By file name first; otherwise (a flat folder of `student.ipynb` files, a renamed file) the
    handout that shares most cell ids or sources with it, if it shares at least half of its own.
    """
    base = Path(submission.name).name
    if base in handouts:
        return base
    if len(handouts) == 1 and submission.flat:
        return next(iter(handouts))
    if isinstance(notebook, str):
        return None
    mine = {cell.get("id") for cell in notebook.cells} | {cell.source for cell in notebook.cells}
    best, share = None, 0.0
    for name, handout in handouts.items():
        theirs = [cell for cell in handout.cells if cell.source.strip()]
        shared = sum(cell.get("id") in mine or cell.source in mine for cell in theirs)
        if theirs and shared / len(theirs) > share:
            best, share = name, shared / len(theirs)
    return best if share >= 0.5 else None


def _one_line(text) -> str:
    return " ".join(str(text).split())
