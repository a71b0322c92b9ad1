"""The one training loop: the optimizer, one step through the regularizers' hooks, and `fit`."""
from __future__ import annotations

import functools
import inspect
import math
import os
import sys
import time
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .callbacks import Callback
from .data import MNISTSplit, batches, check_seed
from .history import History
from .regularizers import Regularizer, check_strength, weights

THREADS_ENV = "REGUTILS_THREADS"
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
EVAL_CHUNK = 4096  # images per forward pass when measuring: bounds memory on full MNIST


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; `.history` holds the epochs before it."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Optimizer groups that decay the weight matrices only, not biases or normalization scales."""
    decayed = {id(p) for p in weights(model)}
    return [{"params": [p for p in model.parameters() if id(p) in decayed],
             "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if id(p) not in decayed],
             "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, optimizer: str | Callable, lr: float,
                   weight_decay: float = 0.0, momentum: float = 0.0) -> torch.optim.Optimizer:
    """Build `optimizer` ("adam", "adamw", "sgd", or a callable taking the parameters).

    `momentum` is SGD's (heavy ball, as `torch.optim.SGD`); the named optimizers use torch's
    fused kernels where this torch has them for the model's device.

    >>> make_optimizer(nn.Linear(3, 2), "sgd", lr=0.1).param_groups[0]["weight_decay"]
    0.0
    """
    if callable(optimizer):
        return optimizer(model.parameters())
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)} "
                         "or a callable that takes the parameters")
    lr = check_learning_rate(lr)
    groups = parameter_groups(model, check_strength("weight_decay", weight_decay))
    momentum = check_momentum(momentum, optimizer)
    kind = OPTIMIZERS[optimizer]
    if momentum:
        kind = functools.partial(kind, momentum=momentum)
    device = next(model.parameters()).device.type
    if device in ("cpu", "cuda") and "fused" in inspect.signature(kind).parameters:
        # one fused kernel per step instead of a Python loop over the parameters: about a fifth
        # of a small model's CPU epoch (benchmarks/README.md)
        try:
            return kind(groups, lr=lr, fused=True)
        except RuntimeError:  # torch before 2.4 has the option but no fused kernels for the CPU
            pass
    return kind(groups, lr=lr)


def check_momentum(momentum: float, optimizer: str = "sgd") -> float:
    """`momentum` if it lies in [0, 1) and the optimizer takes one ("sgd"), else a clear error."""
    momentum = check_strength("momentum", momentum, 0.0, 1.0, high_open=True)
    if momentum and optimizer != "sgd":
        raise ValueError(f"momentum applies to optimizer 'sgd' only (Adam and AdamW keep moving "
                         f"averages of their own), got momentum={momentum} with {optimizer!r}")
    return momentum


def check_learning_rate(lr: float) -> float:
    """`lr` as a float if it is a finite number above zero, else a clear error."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr must be a number in (0, inf), got {lr!r}")
    if not 0 < lr < math.inf:
        raise ValueError(f"lr must be in (0, inf), got {lr!r}")
    return float(lr)


@torch.no_grad()
def weight_norm(model: nn.Module) -> float:
    """The Euclidean norm of all weight matrices of `model` together (biases and scales left out)."""
    return math.sqrt(sum(w.pow(2).sum().item() for w in weights(model)))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` in eval mode on `(x, y)`, on the model's device."""
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device)
    for start in range(0, len(y), EVAL_CHUNK):
        logits = model(x[start:start + EVAL_CHUNK])
        target = y[start:start + EVAL_CHUNK]
        loss_sum += F.cross_entropy(logits, target, reduction="sum")
        correct += (logits.argmax(dim=1) == target).sum()
    model.train(was_training)
    return loss_sum.item() / len(y), correct.item() / len(y)


def fit(model: nn.Module, data: MNISTSplit, epochs: int = 20, *,
        regularizers: Sequence[Regularizer] = (), callbacks: Sequence[Callback] = (),
        optimizer: str | Callable = "adam", lr: float = 1e-3, weight_decay: float = 0.0,
        momentum: float = 0.0, batch_size: int = 64, seed: int = 0,
        device: str | torch.device | None = None, progress: bool | None = None) -> History:
    """Train `model` on `data.x_train` and record train and validation metrics every epoch.

    `weight_decay` is the optimizer's own (on weight matrices only); a Ctrl-C returns the history
    so far with `interrupted=True`. To watch the curves grow in Jupyter, pass
    `callbacks=[regutils.LiveCurves()]`.

    >>> import regutils as ru
    >>> data = ru.load_mnist(train_size=200, device="cpu")
    >>> history = ru.fit(ru.mlp(hidden=(32,)), data, epochs=2, regularizers=[ru.L2(1e-4)])
    >>> len(history)
    2
    """
    _check_epochs(epochs, batch_size)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module such as regutils.mlp(), got {model!r}")
    if not isinstance(data, MNISTSplit):
        raise TypeError(f"data must be an MNISTSplit from regutils.load_mnist(), got {data!r}")
    check_seed(seed)
    threads = cpu_threads()
    regularizers, callbacks = _check_hooks(regularizers, Regularizer), _check_hooks(callbacks, Callback)
    if device is not None:
        data = data.to(device)
    model.to(data.device)
    torch.manual_seed(seed)  # dropout masks and noise draw from the global generator
    shuffle = torch.Generator().manual_seed(seed)
    opt = make_optimizer(model, optimizer, lr, weight_decay, momentum)
    batch_size = min(batch_size, len(data.y_train))
    steps = len(data.y_train) // batch_size
    history = History(data_source=data.source)
    for callback in callbacks:
        callback.on_train_begin(model, history)
    bar = _progress_bar(epochs, steps, progress)
    threads_before = torch.get_num_threads()
    if data.device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            objective, penalty = _train_one_epoch(model, data, opt, regularizers, batch_size, shuffle)
            if not (math.isfinite(objective) and math.isfinite(penalty)):
                raise TrainingDiverged(
                    f"the training loss became {objective} in epoch {epoch}: the step is too "
                    f"large for this model; lower the learning rate (lr={lr}) or the strength "
                    "of the regularizer", history)
            train_loss, train_acc = evaluate(model, data.x_train, data.y_train)
            val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
            history.records.append(dict(
                epoch=epoch, objective=objective, penalty=penalty, train_loss=train_loss,
                train_acc=train_acc, val_loss=val_loss, val_acc=val_acc,
                weight_norm=weight_norm(model), seconds=time.perf_counter() - started))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(val_acc=f"{val_acc:.3f}", train_acc=f"{train_acc:.3f}")
            stops = [callback.on_epoch_end(model, history) for callback in callbacks]
            if any(stops):
                break
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"regutils: interrupted after {len(history)} finished epoch(s); "
              "returning the history so far", file=sys.stderr)
    finally:
        torch.set_num_threads(threads_before)
        if bar is not None:
            bar.close()
        for callback in callbacks:  # however training ended, diverged or raising included
            callback.on_train_end(model, history)
    history.test_loss, history.test_acc = evaluate(model, data.x_test, data.y_test)
    return history


def cpu_threads() -> int:
    """Torch threads `fit` uses on the CPU: `$REGUTILS_THREADS`, else 1.

    For these small networks one thread is the safe choice: on a busy 2-core machine two threads
    wait on each other and an epoch can take several times longer (benchmarks/README.md).
    """
    value = os.environ.get(THREADS_ENV, "1")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, regularizers: Sequence[Regularizer] = ()):
    """One optimizer step on the batch `(x, y)` through every regularizer's hooks, phase by phase.

    Returns the objective (data loss plus penalty) and the penalty, both detached. The phases and
    their order are the contract in `regutils.regularizers`.
    """
    for regularizer in regularizers:
        x, y = regularizer.transform(x, y)
    perturbed = []
    try:
        for regularizer in regularizers:
            perturbed.append(regularizer)  # before the call: a hook failing halfway is undone too
            regularizer.before_forward(model)
        data_loss = F.cross_entropy(model(x), y)
        penalty = sum((r.penalty(model) for r in regularizers), torch.zeros((), device=x.device))
        objective = data_loss + penalty
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
    finally:  # even if the forward or backward pass raised: never keep perturbed weights
        for regularizer in reversed(perturbed):
            regularizer.after_backward(model)
    for regularizer in regularizers:
        regularizer.before_step(model, optimizer)
    optimizer.step()
    for regularizer in regularizers:
        regularizer.after_step(model, optimizer)
    return objective.detach(), penalty.detach()


def _train_one_epoch(model, data, optimizer, regularizers, batch_size, shuffle) -> tuple[float, float]:
    model.train()
    objective_sum = torch.zeros((), device=data.device)
    penalty_sum = torch.zeros((), device=data.device)
    steps = 0
    for x, y in batches(data.x_train, data.y_train, batch_size, shuffle):
        objective, penalty = train_step(model, optimizer, x, y, regularizers)
        objective_sum += objective
        penalty_sum += penalty
        steps += 1
    return objective_sum.item() / steps, penalty_sum.item() / steps


def _check_epochs(epochs: int, batch_size: int) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _check_hooks(objects: Iterable, kind: type) -> list:
    if isinstance(objects, kind):
        raise TypeError(f"pass a list of {kind.__name__} objects, such as [{objects!r}], "
                        f"got a single {objects!r}")
    objects = list(objects)
    for obj in objects:
        if not isinstance(obj, kind):
            raise TypeError(f"expected {kind.__name__} objects such as regutils.L2(1e-4), "
                            f"got {obj!r}")
    return objects


def _progress_bar(epochs: int, steps_per_epoch: int, progress: bool | None):
    if progress is None:
        progress = epochs * steps_per_epoch >= 5000  # long runs only: a few seconds need no bar
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=epochs, desc="epochs", unit="epoch", leave=False)
