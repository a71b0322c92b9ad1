"""Plain functions several test modules share (fixtures live in conftest.py)."""
import torch

import regutils as ru


def same_records(first: ru.History, second: ru.History) -> bool:
    """Histories equal in every metric but wall time."""
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h.records]
    return strip(first) == strip(second) and first.test_acc == second.test_acc


def tiny_model(**options) -> torch.nn.Module:
    """A one-hidden-layer MLP of width 32 with the same initial weights every time."""
    torch.manual_seed(0)
    return ru.mlp(hidden=(32,), **options)


def leaves_random_stream_alone(call) -> bool:
    """True if `call()` leaves the global torch generator where it found it."""
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    call()
    return torch.equal(torch.rand(3), expected)
