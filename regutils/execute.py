"""Executing the book's chapters on purpose, and telling when a committed chapter is stale.

The web book is built from the committed, executed chapters (no training at build time). Authors
re-execute them with one command, which stamps each notebook with what its outputs depend on, so a
test can tell when a committed chapter is stale:

    python -m regutils.execute --stale           # the chapters whose stamp no longer matches
    python -m regutils.execute chapters/01_overfitting.ipynb
    python -m regutils.execute --list            # each chapter: up to date, or why it is stale

Execution uses the `default` profile and strict claims (a claim of the text that fails stops the
chapter, and the committed notebook is left as it was).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

STAMP = "regutils"  # the notebook-metadata key of the execution stamp
# The modules whose code decides a chapter's numbers and claims; a change to any of them makes
# every chapter stale: training, the statistics, and what chooses and measures on its runs
# (selection, calibration, tuning). Figures (plots, twin, widgets) and the prose helpers (book)
# are left out on purpose: a new colour is no reason to retrain the book.
EVIDENCE_MODULES = ("data", "models", "regularizers", "techniques", "train", "history", "callbacks",
                    "experiment", "profiles", "stats", "claims", "selection", "calibration",
                    "tuning")
BOOK_PROFILE = "default"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds this regutils


def code_hash(notebook) -> str:
    """A hash of a notebook's code cells, their source only (not outputs, not metadata).

    >>> import nbformat
    >>> code_hash(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]))
    '4e2273679c3383d7'
    """
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode() + b"\0")
    return digest.hexdigest()[:16]


def expected_stamp(notebook, data_source: str, seed_offset: int = 0,
                   profile: str = BOOK_PROFILE) -> dict:
    """What an up-to-date stamp of `notebook` holds, executed now on `data_source`."""
    from .experiment import training_code_hash

    return {"code": code_hash(notebook),
            "evidence_code": training_code_hash(modules=EVIDENCE_MODULES),
            "profile": profile, "data_source": data_source, "seed_offset": seed_offset}


def stale_reasons(path: Path, data_source: str = "torchvision") -> list[str]:
    """Why the committed notebook at `path` no longer matches the code; empty when it is current."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    stamp = notebook.metadata.get(STAMP)
    if not stamp:
        return ["never executed by `python -m regutils.execute`"]
    expected = expected_stamp(notebook, data_source)
    meaning = {"code": "its code cells changed", "evidence_code": "regutils' training or "
               "evidence code changed", "profile": "it ran under another profile",
               "data_source": "it ran on other data", "seed_offset": "it ran under other seeds"}
    return [f"{meaning[key]} (stamp {stamp.get(key)!r}, now {value!r})"
            for key, value in expected.items() if stamp.get(key) != value]


_RUN_ONE = """
import sys, time, nbformat, nbclient
source, target, timeout, folder = sys.argv[1:5]
notebook = nbformat.read(source, as_version=4)
for attempt in range(3):  # many kernels starting at once: a start can fail, the notebook is fine
    client = nbclient.NotebookClient(notebook, timeout=int(timeout), kernel_name="python3",
                                     resources={"metadata": {"path": folder}})
    try:
        client.execute()
        break
    except RuntimeError as failure:
        if "Kernel died before replying" not in str(failure) or attempt == 2:
            raise
        time.sleep(2)
    finally:
        nbformat.write(notebook, target)  # a failed run too, to read where it stopped
"""


def execute(path: Path, *, out: Path | None = None, cache: Path | None = None,
            timeout: int = 1800, environment: dict | None = None) -> dict:
    """Execute one chapter in a fresh kernel; on success write it, stamped, to `out` (or in place).

    Claims are strict and logged; the result says whether it ran, how long, and its claims. A
    chapter that fails is written to `<out or chapter>.failed.ipynb`, never over the chapter.
    """
    import nbformat

    from .data import current_source

    path = Path(path).resolve()
    target = Path(out).resolve() if out else path
    with tempfile.TemporaryDirectory(prefix="regutils-execute-") as scratch:
        log, executed = Path(scratch) / "claims.jsonl", Path(scratch) / path.name
        env = {**os.environ, "REGUTILS_PROFILE": BOOK_PROFILE, "REGUTILS_CLAIMS": "strict",
               "REGUTILS_CLAIMS_LOG": str(log), **(environment or {})}
        if cache is not None:
            env["REGUTILS_CACHE"] = str(cache)
        # the kernel imports this very regutils (the one whose code the stamp hashes), not
        # whichever copy happens to be installed, such as another checkout's editable install
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                          env.get("PYTHONPATH")]))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _RUN_ONE, str(path), str(executed),
                               str(timeout), str(path.parent)], env=env, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - started
        claims = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        result = {"chapter": path.stem, "ok": done.returncode == 0, "seconds": round(seconds, 1),
                  "claims": len(claims), "held": sum(claim["holds"] for claim in claims),
                  "failed_claims": [claim["statement"] for claim in claims if not claim["holds"]]}
        if not executed.exists():
            result["error"] = (done.stderr or done.stdout)[-3000:]
            return result
        notebook = nbformat.read(executed, as_version=4)
        if not result["ok"]:
            failed = target.with_suffix(".failed.ipynb")
            nbformat.write(notebook, failed)
            result["error"] = (done.stderr or done.stdout)[-3000:]
            result["written"] = str(failed)
            return result
        offset = int(env.get("REGUTILS_SEED_OFFSET") or 0)
        notebook.metadata[STAMP] = {**expected_stamp(notebook, current_source(), offset,
                                                     env["REGUTILS_PROFILE"]),
                                    "seconds": result["seconds"],  # informative, not compared
                                    "claims": [{"statement": c["statement"], "holds": c["holds"],
                                                "converted": c["converted"]} for c in claims]}
        nbformat.write(notebook, target)
        result["written"] = str(target)
        return result


def chapters(root: Path | None = None) -> list[Path]:
    """The chapter notebooks of the book, in order."""
    root = Path(root) if root else Path(__file__).resolve().parent.parent
    return sorted((root / "chapters").glob("[0-9]*.ipynb"))


def execute_all(paths: list[Path], *, jobs: int = 1, out: Path | None = None,
                cache: Path | None = None, timeout: int = 1800, environment: dict | None = None,
                say=print) -> list[dict]:
    """Execute `paths`, `jobs` at a time, with a progress line per chapter; results in order."""
    results: dict[Path, dict] = {}
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = {pool.submit(execute, path, out=(out / path.name) if out else None,
                               cache=cache, timeout=timeout, environment=environment): path
                   for path in paths}
        for count, future in enumerate(as_completed(futures), 1):
            result = results[futures[future]] = future.result()
            state = "executed" if result["ok"] else "FAILED"
            say(f"[{count}/{len(paths)}] {result['chapter']}: {state} in {result['seconds']:.0f} s, "
                f"{result['held']} of {result['claims']} claims held", flush=True)
    return [results[path] for path in paths]


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="python -m regutils.execute", description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("chapters", nargs="*", type=Path, help="default: every chapter")
    options.add_argument("--stale", action="store_true", help="only the chapters that are stale")
    options.add_argument("--list", action="store_true",
                         help="execute nothing: list each chapter, up to date or why it is stale "
                              "(exit status 1 if any is stale)")
    options.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                         help="chapters executed at once (default: 2 or the core count)")
    options.add_argument("--cache", type=Path, default=None,
                         help="run cache (default: $REGUTILS_CACHE or ~/.cache/regutils/runs)")
    options.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    arguments = options.parse_args(argv)
    from .data import current_source
    source = current_source()
    if arguments.list:
        reasons = {path: stale_reasons(path, source) for path in chapters()}
        for path, why in reasons.items():
            print(f"{path.stem}: {'; '.join(why) if why else 'up to date'}")
        return 1 if any(reasons.values()) else 0
    paths = [path.resolve() for path in arguments.chapters] or chapters()
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if arguments.stale:
        paths = [path for path in paths if stale_reasons(path, source)]
    if source != "torchvision":
        print("regutils: executing on the offline digits, not full MNIST: claims are notes, and "
              "the stamp will mark these chapters stale for the book", file=sys.stderr)
    started = time.perf_counter()
    results = execute_all(paths, jobs=arguments.jobs, cache=arguments.cache,
                          timeout=arguments.timeout)
    claims = sum(r["claims"] for r in results)
    held = sum(r["held"] for r in results)
    print(f"{sum(r['ok'] for r in results)} of {len(results)} chapters executed in "
          f"{time.perf_counter() - started:.0f} s; claims: {held} of {claims} held")
    for result in results:
        if not result["ok"]:
            print(f"\n{result['chapter']} failed (the chapter is unchanged; the executed copy is "
                  f"{result.get('written', 'not written')}):\n{result.get('error', '')}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
