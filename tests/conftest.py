import matplotlib
import pytest
import torch

import regutils as ru

matplotlib.use("Agg")  # in this process only; notebook kernels keep their inline backend


@pytest.fixture(scope="session")
def data():
    """A small real MNIST split on the CPU, shared by the tests that only read it."""
    return ru.load_mnist(train_size=300, val_size=200, test_size=200, seed=0, device="cpu")


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
