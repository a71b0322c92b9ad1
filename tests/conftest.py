import os
import shutil
import subprocess
from pathlib import Path

import matplotlib
import pytest
import torch

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
    built = os.environ.get("REGUTILS_BUILT_BOOK")
    if built:  # a book built before: `jupyter-book build . --path-output DIR > DIR/build.log`
        folder = Path(built)
        return folder / "_build" / "html", (folder / "build.log").read_text(encoding="utf-8")
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


def same_records(first: ru.History, second: ru.History) -> bool:
    """Histories equal in every metric but wall time."""
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h.records]
    return strip(first) == strip(second) and first.test_acc == second.test_acc


def tiny_model(**options) -> torch.nn.Module:
    torch.manual_seed(0)
    return ru.mlp(hidden=(32,), **options)


def leaves_random_stream_alone(call) -> bool:
    """True if `call()` leaves the global torch generator where it found it."""
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    call()
    return torch.equal(torch.rand(3), expected)
