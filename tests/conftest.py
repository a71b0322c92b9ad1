"""Fixtures shared by the tests; shared plain functions are in tests/helpers.py."""
import os
import shutil
import subprocess
from pathlib import Path

import matplotlib
import pytest

import regutils as ru

matplotlib.use("Agg")  # in this process only; notebook kernels keep their inline backend


@pytest.fixture(scope="session")
def data():
    """A small real MNIST split on the CPU, shared by the tests that only read it."""
    return ru.load_mnist(train_size=300, val_size=200, test_size=200, seed=0, device="cpu")


ROOT = Path(__file__).parent.parent


BOOK_FILES = ("_config.yml", "_toc.yml", "intro.md", "bibliography.md", "teachers.md",
              "references.bib", "LICENSE", "chapters", "_static", "_extra")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book re-executed from its code, then built as readers get it: HTML folder and build log.

    Every chapter is executed afresh (strict claims, the default profile, an empty run cache) in
    a copy of the book, so the pages prove that the code makes the numbers; the build itself then
    executes nothing, as README command 1 does.
    """
    from regutils import execute as executor
    built = os.environ.get("REGUTILS_BUILT_BOOK")
    if built:  # a book built before: `jupyter-book build . --path-output DIR > DIR/build.log`
        folder = Path(built)
        return folder / "_build" / "html", (folder / "build.log").read_text(encoding="utf-8")
    if shutil.which("jupyter-book") is None:
        pytest.fail("jupyter-book is not installed: run `pip install -r requirements.txt`")
    output = tmp_path_factory.mktemp("book")
    copy = output / "source"
    copy.mkdir()
    for name in BOOK_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns(
                ".ipynb_checkpoints", "*.failed.ipynb"))
        elif source.exists():
            shutil.copy2(source, copy / name)
    results = executor.execute_all(executor.chapters(copy), jobs=2, cache=output / "runs",
                               environment={"REGUTILS_PROFILE": "default"})
    failed = [r for r in results if not r["ok"]]
    assert not failed, "\n\n".join(f"{r['chapter']}: {r.get('error', '')}" for r in failed)
    done = subprocess.run(["jupyter-book", "build", str(copy), "-W", "-n", "--keep-going",
                           "--path-output", str(output)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return output / "_build" / "html", done.stdout + done.stderr


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty run cache (disk and memory) for one test."""
    from regutils import experiment
    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path / "runs"))
    monkeypatch.setattr(experiment, "_memory", {})
    return tmp_path / "runs"
