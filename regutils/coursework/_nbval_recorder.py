"""A pytest plugin for `grading`: one JSON line per notebook cell that nbval runs, written at once.

`grading` copies this file next to the notebook it checks and loads it with `-p`, so it imports
only the standard library and pytest (no regutils, no torch). The lines survive a timeout, which
is how the report knows which cells had finished. Each line is one of::

    {"event": "start", "cell": 3}
    {"event": "done", "cell": 3, "outcome": "failed", "ename": "AssertionError", "evalue": "..."}
    {"event": "crash", "cell": 3, "message": "the kernel crashed (killed by signal 9)"}
    {"event": "setup", "cell": 0, "message": "..."}   (the kernel could not start)
"""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

LOG_ENV = "REGUTILS_GRADING_LOG"
CRASH_EXIT_CODE = 70
_running = {"item": None}


def _write(record: dict) -> None:
    with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def _kernel_process(item):
    """The kernel's `subprocess.Popen`, or None before it starts (jupyter_client 7 and 8)."""
    kernel = getattr(item.parent, "kernel", None)
    manager = getattr(kernel, "km", None)
    provisioner = getattr(manager, "provisioner", None)
    return getattr(provisioner, "process", None) or getattr(manager, "kernel", None)


def _watch_kernel() -> None:
    """Stop pytest as soon as the kernel dies mid-cell; nbval alone would wait out its timeout."""
    while True:
        time.sleep(0.5)
        item = _running["item"]
        process = _kernel_process(item) if item is not None else None
        if process is None or process.poll() is None or _running["item"] is not item:
            continue
        code = process.returncode
        how = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
        _write({"event": "crash", "cell": item.cell_num, "message": f"the kernel crashed ({how})"})
        os._exit(CRASH_EXIT_CODE)


def pytest_sessionstart(session) -> None:
    threading.Thread(target=_watch_kernel, daemon=True, name="kernel-watch").start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if hasattr(item, "cell_num"):
        _write({"event": "start", "cell": item.cell_num})
        _running["item"] = item
    try:
        yield
    finally:
        _running["item"] = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if not hasattr(item, "cell_num"):
        return
    if call.when == "setup" and report.failed:
        _write({"event": "setup", "cell": item.cell_num,
                "message": _last_line(str(report.longrepr))})
    if call.when != "call":
        return
    # An error output counts even where nbval passed the cell (a `raises-exception` tag).
    errors = [output for output in getattr(item, "test_outputs", None) or []
              if output.get("output_type") == "error"]
    record = {"event": "done", "cell": item.cell_num,
              "outcome": "failed" if errors else report.outcome}
    if errors:
        record.update(ename=errors[0].get("ename", ""), evalue=errors[0].get("evalue", ""))
    elif report.failed:
        record["message"] = _last_line(str(report.longrepr))
    _write(record)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown failure"
