"""The book builds from the repository with zero warnings, and no page shows an error."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ERROR_SIGNS = ("Traceback (most recent call last)", "output_error", "Error executing")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    if shutil.which("jupyter-book") is None:
        pytest.fail("jupyter-book is not installed: run `pip install -r requirements.txt`")
    output = tmp_path_factory.mktemp("book")
    env = {**os.environ, "REGUTILS_PROFILE": "default",  # the book as readers get it
           "REGUTILS_CACHE": str(output / "runs")}
    done = subprocess.run(["jupyter-book", "build", str(ROOT), "-W", "-n", "--keep-going",
                           "--path-output", str(output)],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return output / "_build" / "html", done.stdout + done.stderr


def test_build_has_no_warnings(built_book):
    _, log = built_book
    warnings = [line for line in log.splitlines()
                if re.search(r"\bWARNING\b", line) and "Kernel is running over TCP" not in line]
    assert not warnings, "\n".join(warnings)


def test_every_chapter_page_exists_without_errors_and_with_figures(built_book):
    html, _ = built_book
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    assert chapters
    for notebook in chapters:
        page = (html / "chapters" / f"{notebook.stem}.html").read_text(encoding="utf-8")
        assert not [sign for sign in ERROR_SIGNS if sign in page], notebook.stem
        assert "<img" in page and "_images/" in page, f"{notebook.stem} shows no figure"
