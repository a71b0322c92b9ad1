"""A folder of finished runs, one JSON file per experiment: atomic writes, corrupt entries ignored."""
from __future__ import annotations

import functools
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch

ENV = "REGUTILS_CACHE"


def cache_dir() -> Path:
    """Where runs are kept: `$REGUTILS_CACHE`, else `~/.cache/regutils/runs`."""
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "regutils" / "runs")


def load(key: str) -> dict | None:
    """The saved entry for `key`, or None if there is none or it cannot be read (with a warning)."""
    path = cache_dir() / f"{key}.json"
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as file:
            entry = json.load(file)
        if not isinstance(entry, dict):
            raise ValueError(f"expected a JSON object, found {type(entry).__name__}")
        return entry
    except (OSError, ValueError) as broken:
        warnings.warn(f"regutils: ignoring the unreadable cache entry {path} ({broken}); "
                      "the run is computed again and the entry rewritten", stacklevel=3)
        return None


def save(key: str, entry: dict) -> bool:
    """Write `entry` for `key` atomically; on a read-only or full disk warn and return False."""
    return _write_atomically(f"{key}.json", lambda file: file.write(json.dumps(entry).encode()))


def load_weights(key: str) -> dict | None:
    """The saved model weights for `key` (loaded with `weights_only=True`), or None."""
    path = cache_dir() / f"{key}.pt"
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as broken:  # truncated or not a torch file at all
        warnings.warn(f"regutils: ignoring the unreadable weights file {path} ({broken}); "
                      "the run is trained again", stacklevel=3)
        return None


def save_weights(key: str, state: dict) -> bool:
    """Write a model's `state_dict` for `key` atomically."""
    return _write_atomically(f"{key}.pt", lambda file: torch.save(state, file))


def _write_atomically(name: str, write) -> bool:
    folder = cache_dir()
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, folder / name)  # readers see the old file or the new one, never half
        return True
    except (OSError, RuntimeError) as failure:  # torch.save reports some failed writes so
        _warn_unwritable(str(folder), str(failure))
        return False
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


@functools.lru_cache(maxsize=None)
def _warn_unwritable(folder: str, failure: str) -> None:
    warnings.warn(f"regutils: cannot write the run cache in {folder} ({failure}); results are "
                  f"kept in memory only. Set {ENV} to a writable folder to keep them", stacklevel=4)
