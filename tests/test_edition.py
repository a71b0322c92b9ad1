"""The notebook edition (edition/chapters/, from tools/edition.py) reads well without Jupyter Book.

It is what the chapters make now (not stale), holds no MyST markup, pins the regutils it was made
with, keeps every name a visible cell needs, and one chapter of it runs end to end.
"""
import builtins
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tools import edition

ROOT = Path(__file__).parent.parent
EDITION = sorted(edition.EDITION.glob("*.ipynb"))
CHAPTERS = sorted(edition.CHAPTERS.glob("*.ipynb"))
IPYTHON_NAMES = {"display", "get_ipython", "In", "Out", "exit", "quit", "_"}


def test_there_is_one_edition_notebook_per_chapter():
    assert [path.name for path in EDITION] == [path.name for path in CHAPTERS]


def test_the_committed_edition_is_what_the_chapters_make_now():
    stale = edition.stale(edition.Book.load(edition.pinned_revision()))
    assert not stale, ("the edition is stale; run `python tools/edition.py` and commit "
                       "edition/:\n" + "\n".join(stale))


def test_no_myst_markup_is_left_in_the_edition():
    left = {path.name: edition.leftover_myst(nbformat.read(path, as_version=4))
            for path in EDITION}
    assert sum(map(len, left.values())) == 0, left
    # The count sees the markup where there is some: the chapters are full of it.
    in_chapters = sum(len(edition.leftover_myst(nbformat.read(path, as_version=4)))
                      for path in CHAPTERS)
    assert in_chapters > 100


def test_check_command_passes_on_the_committed_edition():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "edition.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_edition_pins_the_commit_of_the_regutils_in_this_checkout():
    revision = edition.pinned_revision()
    assert edition.COMMIT.fullmatch(revision), revision
    for path in EDITION:
        install = next(cell for cell in nbformat.read(path, as_version=4).cells
                       if cell.cell_type == "code")
        assert f'REGUTILS_REVISION = "{revision}"' in install.source, path.name
    def git(*arguments):
        return subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True)

    if shutil.which("git") is None or git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout: the pinned commit cannot be looked up")
    if git("cat-file", "-e", f"{revision}^{{commit}}").returncode != 0:
        if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
            pytest.skip(f"the pinned commit {revision[:12]} is not in this shallow clone")
        pytest.fail(f"the pinned commit {revision} is not in this repository's history (a "
                    "rebased or squashed branch?): run `python tools/edition.py` and commit")
    changed = git("diff", "--stat", revision, "--", *edition.PACKAGE_FILES).stdout
    assert not changed, (f"regutils changed since the pinned commit {revision[:12]}, so Colab "
                         "would install an older one: commit, then run `python "
                         f"tools/edition.py` and commit edition/\n{changed}")


@pytest.mark.parametrize("path", EDITION, ids=lambda path: path.stem)
def test_no_cell_of_the_edition_reads_a_name_that_no_cell_before_it_binds(path):
    bound, missing = set(), []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "code":
            binds, reads = edition.names(cell.source)
            unbound = reads - bound - set(dir(builtins)) - IPYTHON_NAMES
            missing += [f"cell {index + 1}: {name}" for name in sorted(unbound)]
            bound |= binds
    assert not missing, missing


def test_glued_numbers_are_filled_in_as_the_book_formats_them():
    chapter = nbformat.read(edition.CHAPTERS / "01_overfitting.ipynb", as_version=4)
    train_acc = float(edition.glued(chapter)["train_acc"]["text/plain"])
    prose = "\n".join(cell.source for cell in nbformat.read(
        edition.EDITION / "01_overfitting.ipynb", as_version=4).cells
                      if cell.cell_type == "markdown")
    assert f"Training accuracy ends at {train_acc:.1%}" in prose
    assert "Zhang et al. (2017)" in prose and "## References" in prose


def test_edition_chapter_runs_end_to_end_in_the_quick_profile(tmp_path):
    """Chapter 1 of the edition, executed as a reader would (a fresh kernel, every cell)."""
    from nbclient import NotebookClient

    notebook = nbformat.read(edition.EDITION / "01_overfitting.ipynb", as_version=4)
    environment = {**os.environ, "REGUTILS_PROFILE": "quick",
                   "REGUTILS_CACHE": str(tmp_path / "runs")}
    started = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(edition.EDITION)}}).execute(env=environment)
    seconds = time.perf_counter() - started
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "every code cell ran"
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert not errors, [f"{error.ename}: {error.evalue}" for error in errors]
    print(f"edition chapter 1 executed in {seconds:.0f} s")


# --- the conversions, on a small made-up book ---------------------------------------------------

def glue_output(name: str, text: str) -> dict:
    prefix = "application/papermill.record/"
    return nbformat.v4.new_output("display_data", data={prefix + "text/plain": text},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


INSTALL = 'import sys\nREGUTILS_REVISION = "main"\nif "google.colab" in sys.modules:\n    pass'


def tiny_book(tmp_path, cells) -> tuple[edition.Book, Path]:
    (tmp_path / "chapters").mkdir(parents=True)
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nparts:\n  - caption: A\n"
                                       "    numbered: true\n    chapters:\n"
                                       "      - file: chapters/01_first\n"
                                       "      - file: chapters/02_second\n")
    chapter = tmp_path / "chapters" / "02_second.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), chapter)
    book = edition.Book.load("a" * 40, root=tmp_path, chapters=tmp_path / "chapters",
                             edition=tmp_path / "edition" / "chapters")
    return book, chapter


def made(tmp_path, cells) -> nbformat.NotebookNode:
    book, chapter = tiny_book(tmp_path, cells)
    return edition.make(chapter, book)


def markdown(notebook) -> str:
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def test_glue_citations_and_equations_become_plain_text(tmp_path):
    code = nbformat.v4.new_code_cell(INSTALL)
    checks = nbformat.v4.new_code_cell("glue('acc', 0.91234)", metadata={"tags": ["remove-cell"]})
    checks.outputs = [glue_output("acc", "0.91234"), glue_output("n", "12345"),
                      glue_output("name", "'weight_decay'")]
    text = ("# Second\n\n(sec-second)=\n## A section\n\n"
            "Accuracy {glue:text}`acc:.1%` over {glue:text}`n:,d` images with "
            "{glue:text}`name`. As {cite:t}`zhang2017understanding` and "
            "{cite:t}`krogh1992simple` found {cite:p}`tibshirani1996regression,krogh1992simple`."
            "\n\n$$\nx = 1\n$$\n\n$$\nL = \\ell + \\lambda \\Omega\n$$ (eq-objective)\n\n"
            "By {eq}`eq-objective`, see {ref}`sec-second`.\n% a comment\n\n"
            "A `{glue:text}` role in code stays.")
    notebook = made(tmp_path, [nbformat.v4.new_markdown_cell(text), code, checks])
    prose = markdown(notebook)
    assert "Accuracy 91.2% over 12,345 images with weight\\_decay." in prose
    assert "As Zhang et al. (2017) and Krogh and Hertz (1992) found " \
           "(Tibshirani, 1996; Krogh and Hertz, 1992)." in prose
    assert "$$\nx = 1\n$$\n\n$$\nL = \\ell + \\lambda \\Omega \\tag{2.1}\n$$" in prose
    assert "By (2.1), see A section." in prose
    assert "(sec-second)=" not in prose and "a comment" not in prose
    assert "A `{glue:text}` role in code stays." in prose
    references = notebook.cells[-1].source
    assert references.startswith("## References") and references.count("\n- ") == 3
    assert "Understanding deep learning requires rethinking generalization" in references
    assert edition.leftover_myst(notebook) == []
    assert notebook.cells[1].source.startswith("*The notebook edition of chapter 2 ")


def test_directives_become_quotes_details_and_display_math(tmp_path):
    text = ("```{note}\nBe **careful**.\n```\n\n"
            ":::{dropdown} The answer\nIt is $42$.\n:::\n\n"
            "```{admonition} Why\n:class: dropdown\nBecause.\n```\n\n"
            "```{math}\n:label: eq-m\na = b\n```\n\nSee {eq}`eq-m`.\n\n"
            "```python\n{cite:t}`not-a-role-in-code`\n```")
    notebook = made(tmp_path, [nbformat.v4.new_markdown_cell(text),
                               nbformat.v4.new_code_cell(INSTALL)])
    prose = markdown(notebook)
    assert "> **Note**\n>\n> Be **careful**." in prose
    assert "<details>\n<summary>The answer</summary>\n\nIt is $42$.\n\n</details>" in prose
    assert "<summary>Why</summary>\n\nBecause." in prose
    assert "$$\na = b\n\\tag{2.1}\n$$" in prose and "See (2.1)." in prose
    assert "```python\n{cite:t}`not-a-role-in-code`\n```" in prose
    assert edition.leftover_myst(notebook) == []


def test_cells_the_book_hides_are_collapsed_or_left_out(tmp_path):
    install = nbformat.v4.new_code_cell(INSTALL, metadata={"tags": ["hide-cell"]})
    helper = nbformat.v4.new_code_cell(
        "LIMIT = 3\ndef small(x):\n    return x < LIMIT\nglue('x', 1)\nassert small(1), 'a claim'",
        metadata={"tags": ["remove-cell"]})
    claims = nbformat.v4.new_code_cell("assert 2 > 1", metadata={"tags": ["remove-cell"]})
    solution = nbformat.v4.new_code_cell("answer = small(2)",
                                         metadata={"tags": ["hide-input", "solution"]})
    explorer = nbformat.v4.new_code_cell("explorer")
    explorer.outputs = [nbformat.v4.new_output("execute_result", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
        "text/html": "<div class='regutils-twin'></div>", "text/plain": "Explorer()"})]
    notebook = made(tmp_path, [nbformat.v4.new_markdown_cell("# T"), install, helper, claims,
                               solution, explorer])
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) == 4  # the claims cell is gone
    assert 'REGUTILS_REVISION = "' + "a" * 40 + '"' in code[0].source
    assert code[0].metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    kept = code[1].source
    assert "def small(x)" in kept and "LIMIT = 3" in kept
    assert "assert" not in kept and "glue" not in kept
    assert code[1].metadata["jupyter"] == {"source_hidden": True} and code[1].outputs == []
    assert code[2].metadata["jupyter"] == {"source_hidden": True}
    assert list(code[3].outputs[0].data) == ["text/html", "text/plain"]


def test_what_the_edition_cannot_write_stops_it_with_a_clear_error(tmp_path):
    install = nbformat.v4.new_code_cell(INSTALL)
    with pytest.raises(edition.EditionError, match=r"directive \{bibliography\}"):
        made(tmp_path / "a", [nbformat.v4.new_markdown_cell("```{bibliography}\n```"), install])
    with pytest.raises(edition.EditionError, match="glue no 'missing'"):
        made(tmp_path / "b", [nbformat.v4.new_markdown_cell("{glue:text}`missing:.2f`"), install])
    with pytest.raises(edition.EditionError, match="unknown citation key 'nobody2030'"):
        made(tmp_path / "c", [nbformat.v4.new_markdown_cell("{cite:t}`nobody2030`"), install])
    with pytest.raises(edition.EditionError, match="REGUTILS_REVISION"):
        made(tmp_path / "d", [nbformat.v4.new_code_cell("print('no install cell')")])


def test_links_still_arrive_from_the_edition_folder(tmp_path):
    text = ("See [the introduction](../intro.md), [chapter 1](01_first.ipynb#the-idea) and "
            "[x](https://a.b).")
    prose = markdown(made(tmp_path, [nbformat.v4.new_markdown_cell(text),
                                     nbformat.v4.new_code_cell(INSTALL)]))
    assert ("See [the introduction](../../intro.md), [chapter 1](01_first.ipynb#the-idea) "
            "and [x](https://a.b).") in prose


def test_stale_edition_is_reported(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("# T\n\nText."), nbformat.v4.new_code_cell(INSTALL)]
    book, chapter = tiny_book(tmp_path, cells)
    for path, text in edition.build(book).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert edition.stale(book) == []
    notebook = nbformat.read(chapter, as_version=4)
    notebook.cells[0].source += " More."
    nbformat.write(notebook, chapter)
    assert edition.stale(book) == ["edition/chapters/02_second.ipynb: differs from what the "
                                   "chapter makes"]
    assert json.loads((book.edition / "02_second.ipynb").read_text())["metadata"][
        "regutils_edition"]["regutils_revision"] == "a" * 40
