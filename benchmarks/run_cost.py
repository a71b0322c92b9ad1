"""What one default-profile run costs: the price of one widget setting and the unit of a chapter.

Trains the baseline of the `default` profile (1,000 images, 256-256, 30 epochs, 5,000 validation
and 10,000 test images) several times without the cache, in this process, and prints the median
wall and CPU seconds per run; then reads each committed chapter's execution time from its stamp
and adds them up (the book's execution time on one core, the authors' command runs two at once).
The last line is `target_ratio=<median CPU seconds / 3 s>`: at most 1 meets the target. A run
trains on one torch thread, so its CPU time is what its wall time is on an idle core; on a
shared, busy machine the wall time is longer by the wait for the core (the load is printed).

    python benchmarks/run_cost.py             # 5 runs
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import nbformat

import regutils as ru
from regutils import execute as executor

TARGET_SECONDS = 3.0


def main() -> float:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=5)
    arguments = options.parse_args()
    experiment = ru.Experiment(profile="default")
    experiment.run(cache_results=False)  # warm-up: data, kernels, allocator
    walls, cpus = [], []
    for _ in range(arguments.runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = experiment.run(cache_results=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"default-profile run on {result.metrics['data_source']}: median {statistics.median(walls):.2f} s "
          f"wall (min {min(walls):.2f}), {statistics.median(cpus):.2f} s CPU, over {len(walls)} runs")
    chapters = {}
    for path in executor.chapters():
        stamp = nbformat.read(path, as_version=4).metadata.get(executor.STAMP, {})
        chapters[path.stem] = stamp.get("seconds")
    for name, seconds in chapters.items():
        print(f"{name}: executed in {seconds if seconds is not None else '?'} s")
    known = [s for s in chapters.values() if s is not None]
    print(f"whole book: {sum(known):.0f} s of chapter execution ({len(known)} of {len(chapters)} "
          "chapters stamped with a time)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ratio = statistics.median(cpus) / TARGET_SECONDS
    print(json.dumps({"run_wall_s": statistics.median(walls), "run_cpu_s": statistics.median(cpus),
                      "chapters_s": chapters}))
    print(f"target_ratio={ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
