"""The built book in a real browser, opened as files with no server and no network.

Every chapter page loads without JavaScript errors and shows its figures, and moving a static
slider (or choosing another button) of an explorer's twin shows another figure. Screenshots go to
`test-artifacts/screenshots/`. Needs Debian's `chromium` (`apt-get install chromium`, which
`.ci/run` does) and PyPI's `playwright`; Playwright's own browser download is not used.
"""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHROMIUM = os.environ.get("REGUTILS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# Stock Jupyter Book 1.0.4 pages declare this constant twice; it is theirs, not the book's.
KNOWN_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `apt-get install chromium` "
                    "(or set REGUTILS_CHROMIUM to a Chromium binary)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def open_page(browser, path: Path):
    """A page of the built book with its uncaught JavaScript errors collected as it loads."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path.as_uri(), wait_until="load")
    return page


def unexpected(errors: list[str]) -> list[str]:
    return [error for error in errors if not any(known in error for known in KNOWN_ERRORS)]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_page_loads_without_script_errors_and_shows_its_figures(built_book, browser,
                                                                        notebook):
    html, _ = built_book
    page = open_page(browser, html / "chapters" / f"{notebook.stem}.html")
    sizes = page.eval_on_selector_all(".cell_output img",
                                      "images => images.map(image => image.naturalWidth)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{notebook.stem}.png"))
    errors = unexpected(page.errors)
    page.close()
    assert not errors, f"JavaScript errors on {notebook.stem}: {errors}"
    assert sizes and all(width > 0 for width in sizes), f"{notebook.stem}: figures {sizes}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_every_static_twin_switches_figures(built_book, browser, notebook):
    html, _ = built_book
    page = open_page(browser, html / "chapters" / f"{notebook.stem}.html")
    twins = page.locator(".regutils-twin")
    assert twins.count() >= 1, f"{notebook.stem} has no static slider"
    for index in range(twins.count()):
        twin = twins.nth(index)
        figure = twin.locator("img")
        for slider_index in range(twin.locator("input[type=range]").count()):
            slider = twin.locator("input[type=range]").nth(slider_index)
            before, label = figure.get_attribute("src"), twin.locator("output").nth(
                slider_index).text_content()
            slider.scroll_into_view_if_needed()
            slider.focus()
            page.keyboard.press("End")  # as a reader would: the last setting
            assert figure.get_attribute("src") != before, f"{notebook.stem}: figure unchanged"
            assert twin.locator("output").nth(slider_index).text_content() != label
        radios = twin.locator("input[type=radio]")
        if radios.count() > 1:
            before = figure.get_attribute("src")
            radios.nth(radios.count() - 1).check()
            assert figure.get_attribute("src") != before, f"{notebook.stem}: button did nothing"
        twin.screenshot(path=str(ARTIFACTS / f"{notebook.stem}-twin-{index + 1}.png"))
    errors = unexpected(page.errors)
    page.close()
    assert not errors, f"JavaScript errors on {notebook.stem}: {errors}"


def test_home_page_lists_every_chapter(built_book, browser):
    html, _ = built_book
    page = open_page(browser, html / "intro.html")  # index.html only redirects here
    links = page.eval_on_selector_all("nav a", "links => links.map(link => link.href)")
    errors = unexpected(page.errors)
    page.close()
    assert not errors
    for notebook in CHAPTERS:
        assert any(f"chapters/{notebook.stem}.html" in link for link in links), notebook.stem
