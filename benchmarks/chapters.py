"""Execute every chapter notebook under one profile and tabulate time and accuracy per chapter.

Meant for a GPU and the `full` profile: `python benchmarks/chapters.py --profile full --jobs 11`.
Each chapter runs in its own kernel with its own run cache (nothing is recalled from an earlier
run), and the executed copies go to `--out`; the committed notebooks are not touched. For each
chapter the table gives its wall time, how many runs it trained, and the run with the best
validation accuracy with that run's test accuracy. It then trains the sanity anchor, a 784→128→10
network with batch norm and dropout. Prints a Markdown table and, on its last line, JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXECUTE = """
import sys, time, nbformat, nbclient
notebook = nbformat.read(sys.argv[1], as_version=4)
for attempt in range(3):  # many kernels starting at once: a start can fail, the notebook is fine
    client = nbclient.NotebookClient(notebook, timeout=int(sys.argv[3]), kernel_name="python3",
                                     resources={"metadata": {"path": sys.argv[4]}})
    try:
        client.execute()
        break
    except RuntimeError as failure:
        if "Kernel died before replying" not in str(failure) or attempt == 2:
            raise
        time.sleep(2)
    finally:
        nbformat.write(notebook, sys.argv[2])  # also a failed run, to read where it stopped
"""


def execute(chapter: Path, out: Path, profile: str, timeout: int) -> dict:
    """Run one chapter in a fresh kernel with its own run cache; its time, runs and best run."""
    runs = out / "runs" / chapter.stem
    runs.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "REGUTILS_PROFILE": profile, "REGUTILS_CACHE": str(runs)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", EXECUTE, str(chapter),
                           str(out / chapter.name), str(timeout), str(chapter.parent)],
                          env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    row = {"chapter": chapter.stem, "ok": done.returncode == 0, "seconds": round(seconds, 1)}
    if done.returncode != 0:
        row["error"] = (done.stderr or done.stdout)[-1500:]
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


def anchor(profile: str) -> dict:
    """The sanity anchor: 784→128→10 with batch norm and dropout 0.2, the profile's training."""
    import regutils as ru

    started = time.perf_counter()
    result = ru.Experiment("dropout", 0.2, combined_with={"batch_norm": None}, hidden=(128,),
                           profile=profile).run(cache_results=False)
    final = result.metrics
    return {"test_acc": final["test_acc"], "val_acc": final["val_acc"],
            "epochs": final["epochs"], "data_source": final["data_source"],
            "seconds": round(time.perf_counter() - started, 1)}


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
    print("| chapter | executed | time (s) | runs | best run | its val acc | its test acc |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['chapter']} | {'yes' if row['ok'] else 'FAILED'} | {row['seconds']:.0f} "
              f"| {row['runs']} | {row.get('best_run', '-')} | {row.get('best_val_acc', 0):.3f} "
              f"| {row.get('its_test_acc') or 0:.3f} |")
    for row in rows:
        if not row["ok"]:
            print(f"\n{row['chapter']} failed:\n{row['error']}")
    summary = {"profile": arguments.profile, "device": device, "seconds": round(total, 1),
               "chapters": rows, "anchor": anchor(arguments.profile)}
    print(f"anchor 784-128-10, batch norm + dropout 0.2: test accuracy "
          f"{summary['anchor']['test_acc']:.4f} ({summary['anchor']['data_source']})")
    (arguments.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    sys.exit(0 if all(row["ok"] for row in rows) else 1)


if __name__ == "__main__":
    main()
