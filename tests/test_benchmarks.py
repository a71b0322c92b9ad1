"""Smoke runs of the benchmark scripts: they run and print what they promise (no timing asserts)."""
import json
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def run(script: str, *arguments: str) -> list[str]:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *arguments],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_speed_prints_the_ratio_on_its_last_line():
    lines = run("speed.py", "--quick")
    assert re.fullmatch(r"ratio=\d+\.\d\d", lines[-1]), lines[-1]
    assert float(lines[-1].split("=")[1]) > 0
    assert any(line.startswith("| classic | 64 |") for line in lines)


def test_device_check_runs_every_technique():
    summary = json.loads(run("device_check.py", "--profile", "quick")[-1])
    import regutils as ru
    assert [row["technique"] for row in summary["rows"]] == list(ru.TECHNIQUES)
    assert summary["repeat_largest_difference"] == 0  # the same seed, the same history (CPU)


def test_chapters_script_executes_a_chapter_and_tabulates_it(tmp_path):
    chapter = Path(__file__).parent.parent / "chapters" / "08_early_stopping.ipynb"
    lines = run("chapters.py", "--profile", "quick", "--out", str(tmp_path), str(chapter))
    summary = json.loads(lines[-1])
    row, = summary["chapters"]
    assert row["chapter"] == "08_early_stopping" and row["ok"] and row["runs"] > 0
    assert 0 < row["its_test_acc"] <= 1 and row["claims"] >= row["held"] >= 0
    assert (tmp_path / "08_early_stopping.ipynb").is_file()  # executed copy; the chapter untouched
    assert any(line.startswith("| 08_early_stopping | yes |") for line in lines)


def test_anchor_scores_the_test_set_at_its_checkpoints():
    lines = run("anchor.py", "--quick")
    summary = json.loads(lines[-1])
    assert summary["epochs"] == 2 and summary["train_images"] == 2000
    assert set(summary["test_acc"]) == {"2"} and 0.5 < summary["test_acc"]["2"] <= 1
    assert lines[0].startswith("after  2 epochs: test accuracy")
