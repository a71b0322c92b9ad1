"""The built book in a real browser, opened as files with no server and no network.

Every request that is not for a file is blocked, and a page fails on any blocked or failed request
and on any JavaScript error. Every formula is typeset (by the copy of MathJax in the book), every
figure loads, and every static slider (or button) of an explorer's twin shows another figure and
another alt text, also from the keyboard. axe-core finds no serious or critical accessibility
violation, in the light and the dark colour mode. Screenshots go to `test-artifacts/screenshots/`.

Needs Debian's `chromium` (`apt-get install chromium`, which `.ci/run` does), PyPI's `playwright`
(its own browser download is not used) and npm's `axe-core` (`npm install` in the repository, as
`.ci/run` does; it is used by the test only, never shipped in the book).
"""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PAGES = ["intro", "teachers", "bibliography"] + [f"chapters/{path.stem}" for path in CHAPTERS]
CHROMIUM = os.environ.get("REGUTILS_CHROMIUM", "/usr/bin/chromium")
AXE = Path(os.environ.get("REGUTILS_AXE", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# Stock Jupyter Book 1.0.4 pages declare this constant twice; it is theirs, not the book's.
KNOWN_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

# Fonts loaded and the theme's colour transitions over (at most 5 s), so that what is checked is
# what a reader sees, not a page halfway from light to dark.
SETTLED = """() => Promise.race([
  document.fonts.ready.then(() => Promise.all(
    document.getAnimations().map(animation => animation.finished.catch(() => null)))),
  new Promise(resolve => setTimeout(resolve, 5000))])"""

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


def open_page(browser, path: Path, color_scheme: str = "light"):
    """A page of the built book, loaded with the network cut off and its formulas typeset.

    Collected while it loads: `page.errors` (uncaught JavaScript errors), `page.blocked`
    (requests that left the files, aborted) and `page.missing` (files that could not be read).
    """
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
    page.errors, page.blocked, page.missing = [], [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("requestfailed", lambda request: request.url.startswith("file:")
            and page.missing.append(request.url))

    def only_files(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.evaluate(SETTLED)
    return page


def problems(page) -> list[str]:
    """What went wrong while the page loaded, one line each."""
    errors = [error for error in page.errors if not any(known in error for known in KNOWN_ERRORS)]
    return ([f"JavaScript error: {error}" for error in errors]
            + [f"network request (blocked): {url}" for url in page.blocked]
            + [f"file not found: {url}" for url in page.missing])


@pytest.mark.parametrize("name", PAGES)
def test_page_works_offline_and_typesets_every_formula(built_book, browser, name):
    html, _ = built_book
    page = open_page(browser, html / f"{name}.html")
    formulas = page.eval_on_selector_all(
        ".math", "nodes => nodes.map(node => node.querySelector('mjx-container') !== null)")
    typeset_errors = page.locator("mjx-merror").count()
    found = problems(page)
    page.close()
    assert not found, "\n".join(found)
    if name.startswith("chapters/") or name == "intro":  # the pages with mathematics
        assert formulas, f"{name}: no formula found"
    assert all(formulas), f"{name}: {formulas.count(False)} of {len(formulas)} formulas not typeset"
    assert typeset_errors == 0, f"{name}: {typeset_errors} formulas with TeX errors"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_page_shows_its_figures(built_book, browser, notebook):
    html, _ = built_book
    page = open_page(browser, html / "chapters" / f"{notebook.stem}.html")
    sizes = page.eval_on_selector_all(".cell_output img",
                                      "images => images.map(image => image.naturalWidth)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{notebook.stem}.png"))
    found = problems(page)
    page.close()
    assert not found, "\n".join(found)
    assert sizes and all(width > 0 for width in sizes), f"{notebook.stem}: figures {sizes}"


def shown(twin) -> tuple[str, str]:
    figure = twin.locator("img")
    return figure.get_attribute("src"), figure.get_attribute("alt")


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_every_static_twin_switches_figure_and_alt_text_from_the_keyboard(built_book, browser,
                                                                          notebook):
    html, _ = built_book
    page = open_page(browser, html / "chapters" / f"{notebook.stem}.html")
    twins = page.locator(".regutils-twin")
    assert twins.count() >= 1, f"{notebook.stem} has no static slider"
    for index in range(twins.count()):
        twin = twins.nth(index)
        sliders = twin.locator("input[type=range]")
        for slider_index in range(sliders.count()):
            slider = sliders.nth(slider_index)
            before, value_text = shown(twin), slider.get_attribute("aria-valuetext")
            slider.scroll_into_view_if_needed()
            slider.focus()
            page.keyboard.press("End")  # as a reader would: the last setting
            after = shown(twin)
            assert after[0] != before[0], f"{notebook.stem}: figure unchanged"
            assert after[1] != before[1], f"{notebook.stem}: alt text unchanged"
            assert slider.get_attribute("aria-valuetext") not in (None, value_text)
            assert twin.locator("[aria-live]").text_content() == after[1]
        radios = twin.locator("input[type=radio]")
        if radios.count() > 1:
            before = shown(twin)
            radios.nth(0).focus()
            page.keyboard.press("ArrowRight")  # the next button of the group
            assert radios.nth(1).is_checked(), f"{notebook.stem}: arrow key chose no button"
            after = shown(twin)
            assert after[0] != before[0] and after[1] != before[1], f"{notebook.stem}: button"
        twin.screenshot(path=str(ARTIFACTS / f"{notebook.stem}-twin-{index + 1}.png"))
    found = problems(page)
    page.close()
    assert not found, "\n".join(found)


@pytest.fixture(scope="module")
def axe_script() -> str:
    if not AXE.is_file():
        pytest.fail(f"no axe-core at {AXE}: run `npm install` in the repository (package.json "
                    "pins it), or set REGUTILS_AXE to an axe.min.js")
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_accessibility_violations(built_book, browser, axe_script, name,
                                                      color_scheme):
    html, _ = built_book
    page = open_page(browser, html / f"{name}.html", color_scheme=color_scheme)
    page.add_script_tag(content=axe_script)  # into this page only: the book does not ship it
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    theme = page.evaluate("() => document.documentElement.dataset.theme")
    page.close()
    serious = [f"{violation['id']} ({violation['impact']}): {violation['help']}, e.g. "
               f"{violation['nodes'][0]['target']}" for violation in result["violations"]
               if violation["impact"] in ("serious", "critical")]
    assert theme == color_scheme
    assert not serious, "\n".join(serious)


def test_figures_are_inverted_in_dark_mode_and_left_alone_in_light_mode(built_book, browser):
    html, _ = built_book
    filters = {}
    for color_scheme in ("light", "dark"):
        page = open_page(browser, html / "chapters" / f"{CHAPTERS[0].stem}.html", color_scheme)
        filters[color_scheme] = page.eval_on_selector_all(
            ".cell_output img", "images => images.map(image => getComputedStyle(image).filter)")
        twin = page.locator(".regutils-twin").first
        twin.scroll_into_view_if_needed()
        twin.screenshot(path=str(ARTIFACTS / f"{CHAPTERS[0].stem}-twin-{color_scheme}.png"))
        page.close()
    assert filters["dark"] and all("invert" in value for value in filters["dark"])
    assert all(value == "none" for value in filters["light"])


def test_home_page_lists_every_chapter(built_book, browser):
    html, _ = built_book
    page = open_page(browser, html / "intro.html")  # index.html only redirects here
    links = page.eval_on_selector_all("nav a", "links => links.map(link => link.href)")
    found = problems(page)
    page.close()
    assert not found, "\n".join(found)
    for notebook in CHAPTERS:
        assert any(f"chapters/{notebook.stem}.html" in link for link in links), notebook.stem
