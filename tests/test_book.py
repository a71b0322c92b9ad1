"""The book builds from the repository with zero warnings, and no page shows an error."""
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds the whole book under the default profile

ROOT = Path(__file__).parent.parent
ERROR_SIGNS = ("Traceback (most recent call last)", "output_error", "Error executing")


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
