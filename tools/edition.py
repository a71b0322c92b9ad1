"""The notebook edition: the chapters as they read in plain Jupyter and Colab, made from them.

The chapters are written for Jupyter Book. Their numbers come in through `{glue:text}` roles, their
citations through `{cite:t}`, their equations carry labels, and the book's own check cells are
tagged `remove-cell`; opened in Jupyter or Colab all of that is raw markup. The edition is the
same notebooks with

- every glued number filled in from the chapter's saved outputs (the book's run), formatted as
  the book formats it, and a note that the reader's own run will differ within noise;
- citations as "Author (year)" and "(Author, year)", with the works cited listed at the end;
- equation labels as `\\tag{chapter.n}`, the book's numbers, and `{eq}` references as "(chapter.n)";
- directives (admonitions, dropdowns, `{math}`, figures) as plain Markdown;
- the book's hidden check cells left out, except for the definitions later cells use, which stay
  as a collapsed cell; solutions and other hidden cells collapsed
  (`"jupyter": {"source_hidden": true}`);
- the Colab install cell pinned to the commit the edition was made from.

The chapters stay the single source: run this after changing them (or regutils), and commit both.

    python tools/edition.py            # chapters/*.ipynb -> edition/chapters/
    python tools/edition.py --check    # exit 1 if the committed edition is stale or has MyST left

The Markdown conversion is in tools/myst.py. Both need what the book build needs (myst-nb for the
glue formats, pybtex for the references).
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
import subprocess
import symtable
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

if not __package__:  # run as a script, `python tools/edition.py`: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.myst import (HEADING, Bibliography, EditionError, Prose,  # noqa: E402
                        equation_numbers, glued, leftover_myst)

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
EDITION = ROOT / "edition" / "chapters"
# What pip installs on Colab: a change here after the pinned commit makes the pin wrong.
PACKAGE_FILES = ("regutils", "pyproject.toml")
# The chapters' install cell sets this; the edition writes the commit into it.
REVISION_LINE = re.compile(r'^REGUTILS_REVISION = "[^"\n]*".*$', re.M)
COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Book:
    """What a chapter's edition needs from the rest of the book."""
    bibliography: Bibliography
    revision: str
    numbers: dict = field(default_factory=dict)  # chapter stem -> its number in the book
    titles: dict = field(default_factory=dict)   # chapter stem -> its title
    labels: dict = field(default_factory=dict)   # target label -> (chapter stem, heading)
    chapters: Path = CHAPTERS
    edition: Path = EDITION
    root: Path = ROOT

    @classmethod
    def load(cls, revision: str, root: Path = ROOT, chapters: Path = CHAPTERS,
             edition: Path = EDITION) -> "Book":
        """The book at `root`: its references, the chapters' numbers (from _toc.yml) and titles."""
        numbers, titles, labels = {}, {}, {}
        toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
        numbered = [entry["file"] for part in toc.get("parts", []) if part.get("numbered")
                    for entry in part.get("chapters", [])]
        for number, file in enumerate(numbered, start=1):
            numbers[Path(file).stem] = number
        for path in sorted(chapters.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            prose = "\n\n".join(cell.source for cell in notebook.cells
                                if cell.cell_type == "markdown")
            title = HEADING.search(prose)
            titles[path.stem] = title.group("text") if title else path.stem
            for match in re.finditer(r"^\((?P<label>[^()\s]+)\)=[ \t]*\n+#{1,6}[ \t]+(?P<text>.+)$",
                                     prose, re.M):
                labels[match.group("label")] = (path.stem, match.group("text").strip())
        return cls(Bibliography(root / "references.bib"), revision, numbers, titles, labels,
                   chapters, edition, root)


# --- code cells ----------------------------------------------------------------------------------

def names(source: str) -> tuple[set[str], set[str]]:
    """The names a cell binds at the top level, and those it reads from earlier cells.

    A name counts as read from earlier cells when a statement (or a function it defines) reads it
    and neither that statement nor one before it in the cell binds it.

    >>> bound, read = names("def near(m):\\n    return first(m) < LIMIT\\nfor k in near(model): k")
    >>> sorted(bound), sorted(read)
    (['k', 'near'], ['LIMIT', 'first', 'model'])
    """
    code = _python(source)
    bound, read = set(), set()
    for node in ast.parse(code).body:
        binds, reads = _scope_names(ast.get_source_segment(code, node) or "")
        read |= reads - binds - bound
        bound |= binds
    return bound, read


def _scope_names(code: str) -> tuple[set[str], set[str]]:
    table = symtable.symtable(code, "<statement>", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    reads = set()

    def collect(scope, top):
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                reads.add(symbol.get_name())
        for child in scope.get_children():
            collect(child, False)

    collect(table, True)
    return binds, reads


def _python(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def _statements_needed(source: str, wanted: set[str]) -> tuple[list[str], set[str]]:
    """The top-level statements of `source` that bind a name in `wanted` (and the statements
    before them that those need), as source text, and the names they read from earlier cells."""
    code = _python(source)
    lines = code.split("\n")
    statements = [(node, *names(ast.get_source_segment(code, node) or ""))
                  for node in ast.parse(code).body]
    chosen, wanted = set(), set(wanted)
    for index in reversed(range(len(statements))):
        _, binds, reads = statements[index]
        if binds & wanted:
            chosen.add(index)
            wanted = (wanted - binds) | reads
    texts = []
    for index in sorted(chosen):
        node = statements[index][0]
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        texts.append("\n".join(lines[first - 1:node.end_lineno]))
    return texts, wanted


def _hidden(cell, source: bool = False, outputs: bool = False) -> None:
    """Collapse the cell's code or outputs, as Jupyter and Colab read it from the metadata."""
    hidden = {"source_hidden": True} if source else {}
    hidden |= {"outputs_hidden": True} if outputs else {}
    if hidden:
        cell.metadata["jupyter"] = {**cell.metadata.get("jupyter", {}), **hidden}


def _readable_outputs(cell) -> None:
    """Drop the book's glue records, and the live widget's view, which has no saved state here
    (so Jupyter and Colab show the explorer's static twin until the cell runs again)."""
    kept = []
    for output in cell.get("outputs", []):
        if output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix"):
            continue
        if "data" in output:
            output["data"].pop("application/vnd.jupyter.widget-view+json", None)
        kept.append(output)
    cell.outputs = kept


def _pin(cell, revision: str, where: str) -> None:
    if len(REVISION_LINE.findall(cell.source)) != 1:
        raise EditionError(f"{where}: the first code cell (the Colab install) must set "
                           'REGUTILS_REVISION = "main" on one line, which the edition pins')
    cell.source = REVISION_LINE.sub(
        f'REGUTILS_REVISION = "{revision}"  # the commit this edition was made from', cell.source)


# --- one chapter ---------------------------------------------------------------------------------

def make(chapter: Path, book: Book) -> nbformat.NotebookNode:
    """The edition of one chapter notebook."""
    notebook = nbformat.read(chapter, as_version=4)
    stem = chapter.stem
    values = glued(notebook)
    prose = Prose(book, stem, values, equation_numbers(notebook, book.numbers.get(stem)))
    cells = [copy.deepcopy(cell) for cell in notebook.cells]

    # Which hidden check cells define something a kept cell reads: walk backwards (liveness).
    removed = {i for i, cell in enumerate(cells)
               if cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", [])}
    wanted, kept_definitions = set(), {}
    for index in reversed(range(len(cells))):
        cell = cells[index]
        if cell.cell_type != "code":
            continue
        if index in removed:
            texts, wanted = _statements_needed(cell.source, wanted)
            if texts:
                kept_definitions[index] = texts
        else:
            bound, read = names(cell.source)
            wanted = (wanted - bound) | read

    out, first_code = [], True
    for index, cell in enumerate(cells):
        prose.where = f"{stem}, cell {index + 1}"
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            prose.attachments = {}
            cell.source = _tidy(prose.convert(cell.source))
            if prose.attachments:
                cell["attachments"] = {**cell.get("attachments", {}), **prose.attachments}
            out.append(cell)
            continue
        if cell.cell_type != "code":
            out.append(cell)
            continue
        if index in removed:
            if index in kept_definitions:
                cell.source = ("# What the book's hidden check cell defines for the cells below "
                               "(its checks left out).\n" + "\n\n".join(kept_definitions[index]))
                cell.outputs, cell.execution_count = [], None
                cell.metadata["tags"] = ["hide-cell"]
                _hidden(cell, source=True)
                out.append(cell)
            continue
        if first_code:
            _pin(cell, book.revision, prose.where)
            first_code = False
        _readable_outputs(cell)
        if "remove-output" in tags:
            cell.outputs = []
        _hidden(cell, source=bool(tags & {"hide-input", "remove-input", "hide-cell"}),
                outputs=bool(tags & {"hide-output", "hide-cell"}))
        out.append(cell)

    number = book.numbers.get(stem)
    source = Path(os.path.relpath(chapter.resolve(), book.edition.resolve())).as_posix()
    note = nbformat.v4.new_markdown_cell(
        f"*The notebook edition of {'chapter ' + str(number) if number else 'a chapter'} of "
        f"Regularization, Hands-On, for Jupyter and Colab, made from "
        f"[`chapters/{chapter.name}`]({source}). "
        "The numbers in the text were filled in from the book's own run, whose outputs are saved "
        "below; when you run the cells, yours will differ from them within run-to-run noise.*")
    note["id"] = "edition-note"
    first_markdown = next((i for i, cell in enumerate(out) if cell.cell_type == "markdown"), -1)
    out.insert(first_markdown + 1, note)
    if prose.cited:
        references = nbformat.v4.new_markdown_cell(
            "## References\n\n" + "\n".join(f"- {entry}" for entry in
                                            book.bibliography.references(prose.cited)))
        references["id"] = "edition-references"
        out.append(references)
    notebook.cells = out
    notebook.metadata["regutils_edition"] = {"made_from": f"chapters/{chapter.name}",
                                             "regutils_revision": book.revision}
    return notebook


def _tidy(text: str) -> str:
    """No runs of blank lines left where targets and comments were taken out."""
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# --- the whole edition ---------------------------------------------------------------------------

def render(notebook) -> str:
    return nbformat.writes(notebook) + "\n"


def build(book: Book) -> dict[Path, str]:
    """Every chapter's edition as the text of its file, by the path it belongs at."""
    return {book.edition / chapter.name: render(make(chapter, book))
            for chapter in sorted(book.chapters.glob("*.ipynb"))}


def stale(book: Book) -> list[str]:
    """The edition files that differ from what the chapters make now, or are missing or extra."""
    expected = build(book)
    present = set(book.edition.glob("*.ipynb"))
    problems = [f"{path.relative_to(book.root)}: missing" for path in expected if not path.exists()]
    problems += [f"{path.relative_to(book.root)}: differs from what the chapter makes"
                 for path, text in expected.items()
                 if path.exists() and path.read_text(encoding="utf-8") != text]
    problems += [f"{path.relative_to(book.root)}: no chapter makes it"
                 for path in sorted(present - set(expected))]
    return problems


def pinned_revision(edition: Path = EDITION) -> str:
    """The commit the committed edition pins (the same in every notebook, or an error)."""
    pins = {json.loads(path.read_text(encoding="utf-8"))["metadata"]["regutils_edition"]
            ["regutils_revision"] for path in sorted(edition.glob("*.ipynb"))}
    if len(pins) != 1:
        raise EditionError(f"the edition's notebooks pin {len(pins)} revisions ({sorted(pins)}); "
                           "run `python tools/edition.py` to make them again")
    return pins.pop()


def current_revision(root: Path = ROOT) -> str:
    """The commit checked out, refused while regutils has changes it does not hold."""
    def git(*arguments):
        return subprocess.run(["git", "-C", str(root), *arguments], capture_output=True,
                              text=True, check=True).stdout.strip()
    changed = git("status", "--porcelain", "--", *PACKAGE_FILES)
    if changed:
        raise EditionError("regutils has uncommitted changes, which Colab could not install "
                           f"from a commit:\n{changed}\ncommit them first, or pass --revision")
    return git("rev-parse", "HEAD")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--revision", help="the commit (or tag) Colab installs regutils from "
                        "(default: the commit checked out)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the "
                        "committed edition is stale or has MyST markup left")
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            book = Book.load(arguments.revision or pinned_revision())
            problems = stale(book) + [
                f"{path.relative_to(ROOT)}: MyST left: {leftover}"
                for path in sorted(book.edition.glob("*.ipynb"))
                for leftover in leftover_myst(nbformat.read(path, as_version=4))]
            print("\n".join(problems) or f"the edition is up to date ({book.revision})")
            return 1 if problems else 0
        book = Book.load(arguments.revision or current_revision())
        files = build(book)
    except EditionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    book.edition.mkdir(parents=True, exist_ok=True)
    for old in set(book.edition.glob("*.ipynb")) - set(files):
        old.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        leftovers = len(leftover_myst(nbformat.reads(text, as_version=4)))
        print(f"{path.relative_to(ROOT)}: MyST left {leftovers}")
    print(f"regutils pinned to {book.revision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
