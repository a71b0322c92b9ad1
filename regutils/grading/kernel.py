"""Run one notebook, cell by cell, in a fresh kernel of its own, with nbclient.

The kernel gets its own working folder and environment (`sandbox`), the current Python (a kernel
spec of its own, not whichever `python3` spec the machine has), a deadline for the whole
notebook, and a cap on the output kept. After chosen cells the grader runs code of its own in the
same kernel (`after_cell`: the capture of an exercise's answers); its outputs go nowhere. Cell
errors come from nbclient's `on_cell_executed` hook (the kernel's execute reply), so they are
seen even when the output was cut. When the notebook ends, times out or its kernel dies, the
kernel's process group is killed, and with psutil any process left with the run's token too.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .sandbox import TOKEN_ENV

KERNEL_NAME = "regutils-grading"
MAX_OUTPUT = 5_000_000  # characters of output kept per notebook; the rest is dropped
TRUNCATED = "[the grader dropped the rest of this notebook's output: more than {:,} characters]\n"
STARTUP_TIMEOUT = 120


@dataclass
class CellResult:
    """What one cell did: its error (name and message), None if it ran without one."""

    error: tuple[str, str] | None = None


@dataclass
class NotebookRun:
    """What happened when a notebook ran: each finished cell, where it stopped, and why."""

    cells: dict[int, CellResult] = field(default_factory=dict)  # position -> result
    extra: dict[int, CellResult] = field(default_factory=dict)  # after-cell code, by position
    started: int | None = None    # the cell that was running last
    problem: str = ""             # why the run stopped early ("" if it ran to the end)
    seconds: float = 0.0
    truncated: bool = False

    @property
    def stopped(self) -> int | None:
        """The cell the run stopped in, if it stopped early."""
        return self.started if self.problem and self.started not in self.cells else None

    def failed(self, index: int) -> bool:
        return index in self.cells and self.cells[index].error is not None


class _Client(NotebookClient):
    """nbclient with a cap on the output it keeps."""

    def __init__(self, *args, max_output: int = MAX_OUTPUT, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_output, self.kept, self.truncated = max_output, 0, False

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content") or {}
        self.kept += len(str(content.get("text", ""))) + len(str(content.get("data", "")))
        if self.kept <= self.max_output:
            return super().output(outs, msg, display_id, cell_index)
        if not self.truncated:
            self.truncated = True
            outs.append(nbformat.v4.new_output("stream", name="stderr",
                                               text=TRUNCATED.format(self.max_output)))
        return None


def kernel_spec_folder(root: Path) -> Path:
    """Write a kernel spec that starts this Python's ipykernel; return the folder of specs."""
    folder = root / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "regutils grading", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return root / "kernels"


def run_notebook(notebook, work: Path, env: dict, timeout: float, specs: Path,
                 after_cell: Callable[[int], str | None] | None = None,
                 max_output: int = MAX_OUTPUT) -> NotebookRun:
    """Run the code cells of `notebook` (in place: outputs are written into it) in `work`.

    `after_cell(position)` may return code to run right after that cell; its result is kept in
    `NotebookRun.extra`. The whole notebook, that code included, gets `timeout` seconds.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    run = NotebookRun()
    deadline = time.monotonic() + timeout
    specs_manager = KernelSpecManager(kernel_dirs=[str(specs)], ensure_native_kernel=False)
    manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs_manager)
    target = {"results": run.cells}

    def record(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        error = ((content.get("ename", ""), content.get("evalue", ""))
                 if content.get("status") == "error" else None)
        target["results"][cell_index] = CellResult(error)

    client = _Client(notebook, km=manager, timeout_func=lambda cell: max(1, int(
        deadline - time.monotonic() + 1)), allow_errors=True, record_timing=False,
        shutdown_kernel="immediate", startup_timeout=STARTUP_TIMEOUT, on_cell_executed=record,
        resources={"metadata": {"path": str(work)}}, max_output=max_output)
    start = time.monotonic()
    log = open(work.parent / "kernel.log", "wb")  # what the kernel prints outside cells
    try:
        with client.setup_kernel(env=env, cwd=str(work), cleanup_kc=True, stdout=log,
                                 stderr=subprocess.STDOUT):
            try:
                _run_cells(client, notebook, run, target, after_cell, deadline, timeout)
            finally:
                _kill_group(manager)
    except DeadKernelError:
        run.problem = run.problem or "the kernel died"
    except Exception as problem:  # the kernel could not start, or nbclient gave up on it
        if not run.problem:
            run.problem = (f"the notebook could not run: {type(problem).__name__}: "
                           f"{_one_line(str(problem))}")
    finally:
        run.seconds = time.monotonic() - start
        run.truncated = client.truncated
        kill_leftovers(env.get(TOKEN_ENV, ""))
        log.close()
    return run


def _run_cells(client, notebook, run, target, after_cell, deadline, timeout) -> None:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        run.started = index
        try:
            target["results"] = run.cells
            client.execute_cell(cell, index)
            extra = after_cell(index) if after_cell else None
            if extra:
                target["results"] = run.extra
                client.execute_cell(nbformat.v4.new_code_cell(extra), index,
                                    store_history=False)
                target["results"] = run.cells
        except CellTimeoutError:
            run.problem = f"the notebook timed out after {timeout:g} s"
            return
        except DeadKernelError:
            run.problem = f"the kernel crashed ({_exit_status(client.km)})"
            return
        if time.monotonic() > deadline:
            run.problem = f"the notebook timed out after {timeout:g} s"
            run.started = next((i for i in range(index + 1, len(notebook.cells))
                                if notebook.cells[i].cell_type == "code"), index)
            return


def _exit_status(manager) -> str:
    """"exit code 3" or "killed by signal 9", from the kernel provisioner's public `poll`."""
    from jupyter_core.utils import run_sync

    try:
        code = run_sync(manager.provisioner.poll)()
    except Exception:
        code = None
    if code is None:
        return "it stopped answering"
    return f"exit code {code}" if code >= 0 else f"killed by signal {-code}"


def _kill_group(manager) -> None:
    """Kill the kernel's whole process group (what it started too), dead kernel or not."""
    from jupyter_core.utils import run_sync

    if os.name != "posix" or manager is None or not manager.has_kernel:
        return
    try:
        run_sync(manager.signal_kernel)(signal.SIGKILL)
    except Exception:  # already gone
        pass


def kill_leftovers(token: str) -> int:
    """Kill every process whose environment holds this run's token; how many (needs psutil).

    A process a student's cell started in a session of its own escapes the kernel's process
    group; it still inherited the run's environment.
    """
    try:
        import psutil
    except ImportError:
        return 0
    if not token:
        return 0
    killed = 0
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get(TOKEN_ENV) == token:
                process.kill()
                killed += 1
        except (psutil.Error, OSError):
            continue
    return killed


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
