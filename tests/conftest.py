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


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book built once per test session as readers get it: its HTML folder and build log."""
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


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty run cache (disk and memory) for one test."""
    from regutils import experiment
    monkeypatch.setenv("REGUTILS_CACHE", str(tmp_path / "runs"))
    monkeypatch.setattr(experiment, "_memory", {})
    return tmp_path / "runs"
