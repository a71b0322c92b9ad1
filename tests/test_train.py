import ast
import copy
from pathlib import Path

import pytest
import torch

import regutils as ru
from regutils import train
from regutils.train import evaluate
from tests.helpers import same_records, tiny_model

RECORD_KEYS = {"epoch", "objective", "penalty", "train_loss", "train_acc", "val_loss", "val_acc",
               "weight_norm", "seconds"}


class Recorder(ru.Regularizer):
    """Logs each hook call and the batch sizes it sees."""

    def __init__(self):
        self.calls, self.batch_images = [], 0

    def transform(self, x, y):
        self.calls.append("transform")
        self.batch_images += len(x)
        return x, y

    def before_forward(self, model):
        self.calls.append("before_forward")

    def penalty(self, model):
        self.calls.append("penalty")
        return 0.0

    def after_backward(self, model):
        self.calls.append("after_backward")

    def before_step(self, model, optimizer):
        self.calls.append("before_step")

    def after_step(self, model, optimizer):
        self.calls.append("after_step")


def test_history_records_every_metric_per_epoch(data):
    history = ru.fit(tiny_model(), data, epochs=3, regularizers=[ru.L2(1e-2)])
    assert len(history) == 3 and history["epoch"] == [1, 2, 3]
    assert set(history.records[0]) == RECORD_KEYS
    assert all(p > 0 for p in history["penalty"])
    assert all(o > p for o, p in zip(history["objective"], history["penalty"]))
    assert 0 <= history.test_acc <= 1 and history.data_source == data.source
    final = history.final()
    assert final["generalization_gap"] == pytest.approx(final["train_acc"] - final["val_acc"])


def test_train_metrics_are_measured_in_eval_mode_on_clean_data(data):
    model = tiny_model(dropout=0.5)
    history = ru.fit(model, data, epochs=2, regularizers=[ru.InputNoise(3.0)])
    loss, accuracy = evaluate(model, data.x_train, data.y_train)
    assert history["train_loss"][-1] == pytest.approx(loss)
    assert history["train_acc"][-1] == pytest.approx(accuracy)
    assert model.training  # evaluate puts the model back in the mode it found


def test_hooks_run_in_order_on_training_batches_only(data):
    recorder = Recorder()
    ru.fit(tiny_model(), data, epochs=1, batch_size=100, regularizers=[recorder])
    assert recorder.calls[:6] == ["transform", "before_forward", "penalty", "after_backward",
                                  "before_step", "after_step"]
    assert recorder.batch_images == 300  # validation and test never pass through the hooks


def test_same_seed_same_history_on_cpu(data):
    runs = [ru.fit(tiny_model(dropout=0.3), data, epochs=2, seed=7,
                   regularizers=[ru.InputNoise(0.3), ru.RandomAffine(1.0)]) for _ in range(2)]
    assert same_records(*runs)
    other = ru.fit(tiny_model(dropout=0.3), data, epochs=2, seed=8)
    assert not same_records(runs[0], other)


def test_early_stopping_restores_a_real_copy_of_the_best_epoch(data):
    stopper = ru.EarlyStopping(patience=2)
    model = tiny_model()
    history = ru.fit(model, data, epochs=60, lr=3e-3, callbacks=[stopper])
    assert history.stopped_epoch is not None and history.stopped_epoch < 60
    best = history.best_epoch
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    assert history.stopped_epoch == best + 2
    val_loss, _ = evaluate(model, data.x_val, data.y_val)
    assert val_loss == pytest.approx(history["val_loss"][best - 1], rel=1e-5)
    assert history.final()["val_loss"] == history["val_loss"][best - 1]


def test_early_stopping_min_delta_stops_sooner(data):
    patient = ru.fit(tiny_model(), data, epochs=40, callbacks=[ru.EarlyStopping(3)])
    strict = ru.fit(tiny_model(), data, epochs=40, callbacks=[ru.EarlyStopping(3, min_delta=0.5)])
    assert len(strict) < len(patient)


def test_without_restore_the_model_keeps_the_last_weights(data):
    model = tiny_model()
    history = ru.fit(model, data, epochs=60, lr=3e-3,
                     callbacks=[ru.EarlyStopping(2, restore_best=False)])
    assert history.restored_epoch is None
    assert evaluate(model, data.x_val, data.y_val)[0] == pytest.approx(history["val_loss"][-1])


class InterruptAt(ru.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, model, history):
        if len(history) == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_returns_the_history_so_far(data, capsys):
    history = ru.fit(tiny_model(), data, epochs=10, callbacks=[InterruptAt(2)])
    assert history.interrupted and len(history) == 2 and history.test_acc is not None
    assert "interrupted after 2 finished epoch(s)" in capsys.readouterr().err


class Ends(ru.Callback):
    def __init__(self):
        self.ended = 0

    def on_train_end(self, model, history):
        self.ended += 1


def test_a_diverging_run_stops_with_a_clear_message_and_ends_the_callbacks(data):
    ends = Ends()
    with pytest.raises(ru.TrainingDiverged, match="lower the learning rate") as stopped:
        ru.fit(tiny_model(), data, epochs=5, optimizer="sgd", lr=1e12, callbacks=[ends])
    assert isinstance(stopped.value.history, ru.History)
    assert ends.ended == 1


def test_a_callback_raising_still_ends_every_callback(data):
    class Prune(ru.Callback):  # as an Optuna pruner does
        def on_epoch_end(self, model, history):
            raise RuntimeError("pruned")
    stopper, ends = ru.EarlyStopping(patience=5), Ends()
    with pytest.raises(RuntimeError, match="pruned"):
        ru.fit(tiny_model(), data, epochs=3, callbacks=[stopper, Prune(), ends])
    assert ends.ended == 1


@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 0}, ValueError, "epochs must be an int >= 1, got 0"),
    ({"batch_size": -1}, ValueError, "batch_size must be an int >= 1"),
    ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'"),
    ({"lr": -0.1}, ValueError, "lr must be in"),
    ({"regularizers": ["l2"]}, TypeError, "expected Regularizer objects"),
    ({"callbacks": [ru.L2(0.1)]}, TypeError, "expected Callback objects"),
])
def test_bad_arguments_to_fit(data, kwargs, error, message):
    with pytest.raises(error, match=message):
        ru.fit(tiny_model(), data, **{"epochs": 1, **kwargs})


def test_optimizer_weight_decay_skips_biases(data):
    model = tiny_model()
    optimizer = ru.train.make_optimizer(model, "sgd", 0.1, weight_decay=0.5)
    decays = {tuple(p.shape): group["weight_decay"] for group in optimizer.param_groups
              for p in group["params"]}
    assert decays[(32, 784)] == 0.5 and decays[(32,)] == 0.0


def test_history_round_trips_through_a_dict(data):
    history = ru.fit(tiny_model(), data, epochs=1)
    assert ru.History.from_dict(history.to_dict()) == history
    with pytest.raises(KeyError, match="no metric 'val_accuracy'"):
        history["val_accuracy"]


def test_batch_norm_model_trains_when_the_set_is_smaller_than_a_batch():
    tiny = ru.load_mnist(train_size=20, val_size=20, test_size=20, device="cpu")
    history = ru.fit(tiny_model(norm="batch"), tiny, epochs=2, batch_size=64)
    assert len(history) == 2


def test_fit_uses_the_chosen_cpu_threads_and_gives_them_back(data, monkeypatch):
    seen = []

    class Spy(ru.Callback):
        def on_epoch_end(self, model, history):
            seen.append(torch.get_num_threads())
    before = torch.get_num_threads()
    monkeypatch.setenv("REGUTILS_THREADS", "1")
    ru.fit(tiny_model(), data, epochs=1, callbacks=[Spy()])
    assert seen == [1] and torch.get_num_threads() == before
    monkeypatch.setenv("REGUTILS_THREADS", "zero")
    with pytest.raises(ValueError, match="REGUTILS_THREADS must be a whole number"):
        ru.fit(tiny_model(), data, epochs=1)


def test_weight_norm_is_recorded_and_shrinks_under_strong_decay(data):
    free = ru.fit(tiny_model(), data, epochs=3)
    decayed = ru.fit(tiny_model(), data, epochs=3, regularizers=[ru.DecoupledWeightDecay(100.0)])
    assert decayed["weight_norm"][-1] < 0.5 * free["weight_norm"][-1]
    model = tiny_model()
    expected = torch.cat([w.flatten() for w in ru.regularizers.weights(model)]).norm().item()
    assert ru.train.weight_norm(model) == pytest.approx(expected, rel=1e-6)


class Raises(torch.nn.Module):
    """A model whose forward pass (or, with `in_backward`, backward pass) fails."""

    def __init__(self, model, in_backward=False):
        super().__init__()
        self.model, self.in_backward = model, in_backward

    def forward(self, x):
        out = self.model(x)
        if not self.in_backward:
            raise RuntimeError("forward failed")

        def fail(grad):
            raise RuntimeError("backward failed")
        out.register_hook(fail)
        return out


@pytest.mark.parametrize("in_backward", [False, True], ids=["forward", "backward"])
def test_a_failing_step_never_leaves_perturbed_weights(data, in_backward):
    model = Raises(tiny_model(), in_backward)
    clean = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    noises = [ru.WeightNoise(0.5), ru.WeightNoise(0.5)]
    with pytest.raises(RuntimeError, match="failed"):
        train.train_step(model, optimizer, data.x_train[:8], data.y_train[:8], noises)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, clean[name]), name


def test_stacked_perturbations_are_undone_in_reverse_order(data):
    model = tiny_model()
    clean = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # the step changes nothing
    train.train_step(model, optimizer, data.x_train[:8], data.y_train[:8],
                     [ru.WeightNoise(0.5), ru.InputNoise(0.1), ru.WeightNoise(0.5)])
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, clean[name]), name


@pytest.mark.parametrize("order", ["decay first", "noise first"])
def test_decoupled_decay_survives_weight_noise_in_either_order(data, order):
    """The issue's measurement: the decay was lost when it came first (w/w0 = 1.00, not 0.56)."""
    hooks = [ru.DecoupledWeightDecay(50.0), ru.WeightNoise(0.01)]
    noise_only = ru.fit(tiny_model(), data, epochs=2, regularizers=[ru.WeightNoise(0.01)])
    both = ru.fit(tiny_model(), data, epochs=2,
                  regularizers=hooks if order == "decay first" else hooks[::-1])
    assert both["weight_norm"][-1] < 0.8 * noise_only["weight_norm"][-1]


class NoFusedKernels(torch.optim.Adam):
    """Adam as torch before 2.4 has it on the CPU: the option exists, the kernels do not."""

    def __init__(self, params, lr, fused=None):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be floating point "
                               "Tensors of supported devices: ['cuda']")
        super().__init__(params, lr=lr)


class NoFusedOption(torch.optim.Adam):
    """Adam as torch before the option existed: `fused=` is an unexpected keyword."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)


def test_fused_kernels_are_used_where_this_torch_has_them():
    try:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], fused=True)
        has_them = True
    except (TypeError, RuntimeError):
        has_them = False
    assert bool(train.make_optimizer(tiny_model(), "adam", 1e-3).defaults.get("fused")) is has_them


@pytest.mark.parametrize("older", [NoFusedKernels, NoFusedOption])
def test_without_fused_kernels_training_falls_back_to_the_same_result(data, monkeypatch, older):
    fused = ru.fit(tiny_model(), data, epochs=2)
    monkeypatch.setitem(train.OPTIMIZERS, "adam", older)
    assert not train.make_optimizer(tiny_model(), "adam", 1e-3).defaults.get("fused")
    plain = ru.fit(tiny_model(), data, epochs=2)
    for metric in ("train_loss", "val_loss", "weight_norm"):
        assert plain[metric] == pytest.approx(fused[metric], rel=1e-4), metric


PACKAGE = Path(ru.__file__).parent
LOOP = ("train", "callbacks", "history", "regularizers", "data", "models", "devices")


def imported_modules(module: str) -> set[str]:
    """The regutils modules `module` imports, at the top or inside a function."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
    return {name.split(".")[0] for name in found}


def test_the_loop_imports_no_drawing_and_no_module_imports_back():
    for module in LOOP:
        assert not imported_modules(module) & {"plots", "widgets", "twin", "experiment"}, module
    modules = [path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"]
    graph = {module: imported_modules(module) & set(modules) for module in modules}

    def reaches(start, goal, seen=()):
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, (*seen, nxt)))
                   for nxt in graph[start])
    assert [module for module in modules if reaches(module, module)] == []
