"""What in a student's cells is worth a teacher's look: code that reaches for the grader itself.

None of it changes a grade (the judge runs the checks outside the student's kernel); the report
lists it under "to review", because a function answer that does these things runs inside the
judge and could try the same there.

>>> from nbformat.v4 import new_code_cell, new_notebook
>>> handout = new_notebook(cells=[new_code_cell("x = 1")])
>>> suspicious(new_notebook(cells=[new_code_cell("import builtins\\nbuiltins.print = id")]), handout)
['cell 1 uses builtins (the interpreter itself)']
"""
from __future__ import annotations

import re

PATTERNS = (
    (r"\bcoursework\b", "names ru.coursework outside a check cell"),
    (r"\bregutils\.grading\b|\bgrading\.(judge|capture|safe)\b", "names the grader"),
    (r"\bbuiltins\b|__builtins__", "uses builtins (the interpreter itself)"),
    (r"\bsys\.modules\b|\bimportlib\b|__import__|\breload\(", "changes what imports find"),
    (r"\bget_ipython\b|^\s*%%|^\s*%(?!matplotlib)\w", "uses IPython magics or the shell object"),
    (r"\bos\._exit\b|\bsys\.exit\b|(?<![.\w])(exit|quit)\(|\bos\.kill\b",
     "ends the process"),
    (r"(?<![.\w])(exec|eval|compile)\s*\(", "runs code from strings"),
    (r"\bsetattr\s*\(|\bglobals\s*\(\s*\)\s*\[", "sets attributes or globals by name"),
    (r"\bsys\._getframe\b|\binspect\.(currentframe|stack)\b|\bgc\.get_", "inspects frames"),
    (r"\bctypes\b|\bsubprocess\b|^\s*!", "runs outside Python"),
    (r"site-packages|\.__file__|__spec__", "looks for installed files"),
)


def suspicious(notebook, handout) -> list[str]:
    """One line per cell and reason, for the code cells that are not in the handout as given."""
    given = {cell.source for cell in handout.cells if cell.cell_type == "code"}
    found = []
    for position, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code" or cell.source in given:
            continue
        reasons = [reason for pattern, reason in PATTERNS
                   if re.search(pattern, cell.source, flags=re.MULTILINE)]
        found += [f"cell {position} {reason}" for reason in reasons]
    return found
