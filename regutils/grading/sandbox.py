"""A folder of its own for each run: a private copy of regutils, a run cache, a minimal environment.

The grader reads the regutils package it runs from into memory once (`PackageSnapshot`). Every
kernel and every judge gets a fresh copy of that snapshot first on its `PYTHONPATH`, so a notebook
that edits the package's files on disk changes only its own copy, and the grader notices
(`PackageSnapshot.changes`). The environment passes on only what running needs (the path, the
locale, where MNIST is); home, temporary, Jupyter and IPython folders all point inside the run's
folder, and a random token marks every process the run starts.

This is isolation between submissions, not a sandbox against a hostile student: the code still
runs as the teacher's user, with the teacher's Python. For an exam, run the grader in a container.
"""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from . import profile

TOKEN_ENV = "REGUTILS_GRADING_TOKEN"
PASSED_ON = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT", "COMSPEC",
             "PATHEXT", "WINDIR", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "REGUTILS_THREADS",
             "REGUTILS_OFFLINE")


@dataclass(frozen=True)
class PackageSnapshot:
    """The files of a package (path inside it -> bytes), read once."""

    name: str
    files: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, package: Path) -> "PackageSnapshot":
        files = tuple(sorted((path.relative_to(package).as_posix(), path.read_bytes())
                             for path in package.rglob("*")
                             if path.is_file() and "__pycache__" not in path.parts))
        return cls(package.name, files)

    def write(self, folder: Path) -> Path:
        """Write the package into `folder` (as `folder/<name>/...`); return `folder`."""
        for relative, data in self.files:
            target = folder / self.name / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return folder

    def changes(self, folder: Path) -> list[str]:
        """The package's files under `folder/<name>` that differ from the snapshot, or are new."""
        root = folder / self.name
        expected = {relative: hashlib.sha256(data).digest() for relative, data in self.files}
        changed = []
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(root).as_posix()
                if expected.pop(relative, None) != hashlib.sha256(path.read_bytes()).digest():
                    changed.append(relative)
        return changed + sorted(expected)


def pack(folder: Path) -> bytes:
    """The files under `folder` as an in-memory tar (a run cache, kept between copies)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=path.relative_to(folder).as_posix())
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> Path:
    """Write what `pack` made into `folder`; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        for member in archive.getmembers():
            if member.isfile() and not member.name.startswith(("/", "..")) and ".." not in \
                    Path(member.name).parts:
                target = folder / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(member).read())
    return folder


def prepare(root: Path, snapshot: PackageSnapshot, settings: dict) -> dict:
    """Make the folders of one run under `root`; return the environment its processes get.

    `settings` are the variables the run needs beyond the minimal ones (profile, data folder).
    """
    folders = {name: root / name for name in ("lib", "home", "tmp", "jupyter", "ipython",
                                              "cache", "work")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    snapshot.write(folders["lib"])
    startup = folders["ipython"] / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-regutils-grading.py").write_text(profile.STARTUP, encoding="utf-8")
    env = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
    env.update({
        "HOME": str(folders["home"]), "USERPROFILE": str(folders["home"]),
        "TMPDIR": str(folders["tmp"]), "TEMP": str(folders["tmp"]), "TMP": str(folders["tmp"]),
        "PYTHONPATH": str(folders["lib"]), "PYTHONNOUSERSITE": "1", "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_CONFIG_DIR": str(folders["jupyter"] / "config"),
        "JUPYTER_DATA_DIR": str(folders["jupyter"] / "data"),
        "JUPYTER_RUNTIME_DIR": str(folders["jupyter"] / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": str(folders["ipython"]),
        "MPLCONFIGDIR": str(folders["home"] / "matplotlib"),
        "XDG_CACHE_HOME": str(folders["home"] / "cache"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "REGUTILS_CACHE": str(folders["cache"]), "CUDA_VISIBLE_DEVICES": "",
        TOKEN_ENV: secrets.token_hex(16),
    })
    env.update({key: str(value) for key, value in settings.items()})
    return env


def python() -> str:
    """The interpreter every kernel and judge runs: the grader's own."""
    return sys.executable
