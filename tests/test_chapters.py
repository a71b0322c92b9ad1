"""The committed chapter notebooks: executed cleanly, portable, every glued number defined.

These read the notebooks as committed (with outputs); `pytest --nbval-lax chapters/` runs them.
"""
import re
from pathlib import Path

import nbformat
import pytest

CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("*.ipynb"))
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
MACHINE_PATHS = ("/work/", "/root/", "/tmp/", "/home/")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            yield from cell.get("outputs", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_is_committed_executed_without_errors(path):
    code_cells = [cell for cell in read(path).cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells), "run every cell"
    errors = [output for output in outputs(read(path)) if output.output_type == "error"]
    assert not errors, f"error outputs: {[error.ename for error in errors]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_outputs_name_no_path_of_the_machine_that_ran_them(path):
    text = "\n".join(str(output) for output in outputs(read(path)))
    found = [prefix for prefix in MACHINE_PATHS if prefix in text]
    assert not found, f"outputs contain machine paths starting with {found}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_glued_name_in_the_prose_is_glued_by_the_code(path):
    notebook = read(path)
    glued = {output.metadata["scrapbook"]["name"] for output in outputs(notebook)
             if "scrapbook" in output.get("metadata", {})}
    used = {role.split("::")[-1].rsplit(":", 1)[0]
            for cell in notebook.cells if cell.cell_type == "markdown"
            for role in GLUE_ROLE.findall(cell.source)}
    assert used <= glued, f"used in the text but never glued: {sorted(used - glued)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_first_code_cell_installs_regutils_only_on_colab(path):
    first = next(cell for cell in read(path).cells if cell.cell_type == "code")
    assert '"google.colab" in sys.modules' in first.source and "pip" in first.source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_solutions_are_hidden_in_the_book(path):
    for cell in read(path).cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            assert "hide-input" in tags, f"solution cell without hide-input:\n{cell.source}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_committed_chapter_is_not_stale(path):
    """Its code and regutils' training code are what it was executed with, on full MNIST."""
    from regutils import execute as executor
    reasons = executor.stale_reasons(path, data_source="torchvision")
    assert not reasons, (f"{path.name} is stale: {'; '.join(reasons)}. Re-execute it with "
                         f"`python -m regutils.execute --stale`")


def test_the_kernel_imports_the_regutils_that_stamps_the_chapter(tmp_path):
    """Another copy installed (an editable install of another checkout) must not run the chapter."""
    from regutils import execute as executor
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import regutils, pathlib\nprint(pathlib.Path(regutils.__file__).resolve().parent.parent)")])
    source = tmp_path / "probe.ipynb"
    nbformat.write(notebook, source)
    decoy = tmp_path / "decoy" / "regutils"  # first on the path the caller hands down
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy regutils was imported')\n")
    result = executor.execute(source, environment={"PYTHONPATH": str(decoy.parent)})
    assert result["ok"], result.get("error")
    printed = read(source).cells[0].outputs[0]["text"].strip()
    assert Path(printed) == executor.PACKAGE_ROOT
