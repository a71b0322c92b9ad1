"""Smoke run of benchmarks/augmentation.py: it runs and prints its ratio last (no timing asserts)."""
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "augmentation.py"


def test_augmentation_benchmark_prints_the_ratio_last():
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"ratio=\d+\.\d\d", lines[-1]), lines[-1]
    assert float(lines[-1].split("=")[1]) > 0
    assert any(line.startswith("| torchvision RandomAffine") for line in lines)
    assert any(line.startswith("| ru.RandomAffine(1.0)") for line in lines)
