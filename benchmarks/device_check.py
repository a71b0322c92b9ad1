"""Run every technique through `regutils` on the best device and report time and accuracy.

Meant for a GPU machine: `python benchmarks/device_check.py --profile full`. It also checks that
two runs with the same seed give the same history on this device, and says how far apart they are
if not. Prints a table and, on its last line, a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

import regutils as ru


def differences(first: ru.History, second: ru.History) -> float:
    """The largest difference between two histories' metrics (wall time aside)."""
    worst = 0.0
    for a, b in zip(first.records, second.records):
        for key in a:
            if key != "seconds":
                worst = max(worst, abs(a[key] - b[key]))
    return worst


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--profile", default="full", choices=list(ru.profiles.PROFILES))
    options.add_argument("--seed", type=int, default=0)
    arguments = options.parse_args()
    device = ru.best_device()
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""))
    rows = []
    for name, technique in ru.TECHNIQUES.items():
        experiment = ru.Experiment(name, technique.typical, profile=arguments.profile,
                                   seed=arguments.seed)
        started = time.perf_counter()
        result = experiment.run(cache_results=False)
        seconds = time.perf_counter() - started
        final = result.metrics
        rows.append({"technique": name, "strength": experiment.strength, "seconds": seconds,
                     "epochs": final["epochs"], "train_acc": final["train_acc"],
                     "val_acc": final["val_acc"], "test_acc": final["test_acc"],
                     "data_source": final["data_source"]})
        print(f"{name:<24}{str(experiment.strength):<8}{seconds:7.2f} s  {final['epochs']:3d} ep"
              f"  train {final['train_acc']:.4f}  val {final['val_acc']:.4f}"
              f"  test {final['test_acc']:.4f}  ({final['data_source']})", flush=True)
    repeat = ru.Experiment("dropout", 0.3, profile=arguments.profile, seed=arguments.seed)
    first, second = (repeat.run(cache_results=False).history for _ in range(2))
    largest = differences(first, second)
    print(f"same seed twice on {device.type}: largest metric difference {largest:.3g}")
    print(json.dumps({"device": str(device), "profile": arguments.profile, "rows": rows,
                      "repeat_largest_difference": largest}))


if __name__ == "__main__":
    main()
