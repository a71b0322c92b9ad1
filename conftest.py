"""Test settings for the whole suite, the chapter notebooks included (nbval kernels inherit them)."""
import os
import shutil
import tempfile

import pytest

# MPLBACKEND is deliberately left alone: notebook kernels inherit this environment, and with
# MPLBACKEND=Agg they would lose their inline figures. tests/conftest.py picks Agg in-process.

MADE_CACHE = pytest.StashKey[str]()  # the run cache folder this session made, removed at its end


def pytest_configure(config: pytest.Config) -> None:
    """Quick runs in a throwaway cache, set before any test runs or nbval starts a kernel.

    A hook, not a fixture: nbval's notebook cells are not functions, so they get no fixtures,
    and their kernels read the settings from the environment they start in.
    """
    # Tests and notebook checks run at the `quick` size unless the caller asks otherwise.
    os.environ.setdefault("REGUTILS_PROFILE", "quick")
    # Runs are cached in a fresh folder, never in the user's own cache.
    if "REGUTILS_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="regutils-test-cache-")
        config.stash[MADE_CACHE] = folder
        # runs in <folder>/runs, and the parsed offline digits beside them in <folder>
        os.environ["REGUTILS_CACHE"] = os.path.join(folder, "runs")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(MADE_CACHE, None)
    if folder is not None:
        os.environ.pop("REGUTILS_CACHE", None)
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every notebook cell nbval collects: `notebooks`, and `slow` (minutes for the chapters)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.slow)
