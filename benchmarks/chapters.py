"""Execute every chapter notebook under one profile and tabulate time and accuracy per chapter.

Meant for a GPU and the `full` profile: `python benchmarks/chapters.py --profile full --jobs 11`.
Each chapter runs in its own kernel with its own run cache (nothing is recalled from an earlier
run), and the executed copies go to `--out`; the committed notebooks are not touched. For each
chapter the table gives its wall time, how many runs it trained, how many of its claims held
(recorded, never stopping the chapter), and the run with the best validation accuracy with that
run's test accuracy. Prints a Markdown table and, on its last line, JSON. The anchor network is
`benchmarks/anchor.py`; `benchmarks/gpu.sh` runs both on a lent GPU machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from regutils import execute as executor

ROOT = Path(__file__).resolve().parent.parent


def execute(chapter: Path, out: Path, profile: str, timeout: int) -> dict:
    """Run one chapter in a fresh kernel with its own run cache; its time, runs and best run."""
    runs = out / "runs" / chapter.stem
    runs.mkdir(parents=True, exist_ok=True)
    result = executor.execute(chapter, out=out / chapter.name, cache=runs, timeout=timeout,
                              environment={"REGUTILS_PROFILE": profile,
                                           "REGUTILS_CLAIMS": "record"})
    row = {"chapter": chapter.stem, "ok": result["ok"], "seconds": result["seconds"],
           "claims": result["claims"], "held": result["held"]}
    if not result["ok"]:
        row["error"] = result.get("error", "")[-1500:]
    entries = [json.loads(path.read_text()) for path in runs.glob("*.json")]
    row["runs"] = len(entries)
    if entries:
        best = max(entries, key=lambda entry: entry["history"]["records"][-1]["val_acc"])
        row["best_val_acc"] = best["history"]["records"][-1]["val_acc"]
        row["its_test_acc"] = best["history"].get("test_acc")
        row["best_run"] = describe(best["experiment"])
    (out / f"{chapter.stem}.json").write_text(json.dumps(row))  # kept even if the script is cut
    return row


def describe(experiment: dict) -> str:
    """A short name for a cached experiment: technique, strength and what it is combined with."""
    text = experiment["technique"]
    if experiment.get("strength") is not None:
        text += f" {experiment['strength']:g}"
    for name, strength in experiment.get("combined_with") or []:
        text += f" + {name}" + (f" {strength:g}" if strength is not None else "")
    return text


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--profile", default="full")
    options.add_argument("--jobs", type=int, default=1, help="chapters executed at once")
    options.add_argument("--out", type=Path, default=Path("chapter-runs"))
    options.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    options.add_argument("chapters", nargs="*", type=Path,
                         default=sorted((ROOT / "chapters").glob("*.ipynb")))
    arguments = options.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(arguments.jobs) as pool:
        rows = list(pool.map(lambda chapter: execute(chapter.resolve(), arguments.out,
                                                     arguments.profile, arguments.timeout),
                             arguments.chapters))
    total = time.perf_counter() - started
    import torch
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(f"profile {arguments.profile}, device {device}, {arguments.jobs} chapter(s) at once, "
          f"{total:.0f} s in all")
    print("| chapter | executed | time (s) | runs | claims held | best run by validation accuracy "
          "| its val acc | its test acc |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['chapter']} | {'yes' if row['ok'] else 'FAILED'} | {row['seconds']:.0f} "
              f"| {row['runs']} | {row['held']} of {row['claims']} | {row.get('best_run', '-')} "
              f"| {row.get('best_val_acc', 0):.3f} | {row.get('its_test_acc') or 0:.3f} |")
    for row in rows:
        if not row["ok"]:
            print(f"\n{row['chapter']} failed:\n{row['error']}")
    summary = {"profile": arguments.profile, "device": device, "seconds": round(total, 1),
               "chapters": rows}
    (arguments.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    sys.exit(0 if all(row["ok"] for row in rows) else 1)


if __name__ == "__main__":
    main()
