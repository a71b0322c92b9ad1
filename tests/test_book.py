"""The book builds with zero warnings, no page shows an error, formulas come from the book itself,
and every chapter's Colab button opens its notebook edition."""
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


def test_colab_button_of_every_chapter_opens_its_notebook_edition(built_book):
    html, _ = built_book
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        page = (html / "chapters" / f"{notebook.stem}.html").read_text(encoding="utf-8")
        links = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', page)
        assert links, f"{notebook.stem} has no Colab button"
        assert all(link.endswith(f"/blob/main/edition/chapters/{notebook.name}") for link in links)
        assert (ROOT / "edition" / "chapters" / notebook.name).is_file()


def test_formulas_come_from_the_book_not_from_a_network(built_book):
    html, _ = built_book
    page = (html / "chapters" / "01_overfitting.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert any("mathjax/tex-svg-full.js" in src for src in scripts), scripts
    assert not [src for src in scripts if "://" in src], scripts
    assert (html / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000
