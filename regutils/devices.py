"""Pick the device a run uses: CUDA, then Apple MPS, then the CPU."""
from __future__ import annotations

import torch

ACCEPTED = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"


def best_device() -> torch.device:
    """The fastest device present.

    >>> best_device().type in {"cuda", "mps", "cpu"}
    True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn a user's device choice into a `torch.device`, with a clear error if it cannot be used.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return best_device()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as {ACCEPTED}, got {device!r}")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {device!r}; use {ACCEPTED}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but no CUDA GPU is available here; "
                         "use 'auto' or 'cpu'")
    if resolved.type == "mps" and not best_device().type == "mps":
        raise ValueError(f"device {device!r} asked for, but Apple MPS is not available here; "
                         "use 'auto' or 'cpu'")
    if resolved.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"unknown device {device!r}; use {ACCEPTED}")
    return resolved
