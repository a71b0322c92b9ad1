"""Checks for the exercises of the chapter "Batch normalization".

The chapter's exercises use `check_fold`, `check_running_statistics` and `check_pair_output`;
`check_batch_norm_forward` and `check_time_to_threshold` remain for earlier versions of it. The
examples show a wrong answer: nothing in this module solves an exercise.

>>> import torch
>>> def batch_norm(x, gamma, beta, eps=1e-5):
...     return gamma * (x - x.mean(dim=0)) / torch.sqrt(x.var(dim=0) + eps) + beta
>>> check_batch_norm_forward(batch_norm)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: you divided by the unbiased variance (n − 1 in the denominator). Hint: ...
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import _check_new_tensor, _correct, _history, _number, _position_of, _wrong

EPS = 1e-5  # nn.BatchNorm1d's default
FORWARD_TOLERANCE = 1e-4


def _reference_input() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch whose features differ in scale, one so small that forgetting ε shows."""
    generator = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 3.0, 0.5, 1e-3, 10.0, 2.0])
    x = torch.randn(32, len(scales), generator=generator) * scales + 2.0
    gamma = torch.rand(len(scales), generator=generator) + 0.5
    beta = torch.randn(len(scales), generator=generator)
    return x, gamma, beta


def _normalized(x: torch.Tensor, dim: int, unbiased: bool, eps: float) -> torch.Tensor:
    mean = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, unbiased=unbiased, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def check_batch_norm_forward(batch_norm) -> None:
    """Check `batch_norm(x, gamma, beta)`: training-mode batch norm of a (batch, features) tensor."""
    if not callable(batch_norm):
        _wrong(f"expected a function batch_norm(x, gamma, beta), got {type(batch_norm).__name__}",
               "define it with def batch_norm(x, gamma, beta, eps=1e-5): ... and pass the "
               "function itself")
    x, gamma, beta = _reference_input()
    original = x.clone()
    with torch.no_grad():
        out = batch_norm(x, gamma, beta)
    _check_new_tensor(x, original, out, "batch_norm(x, gamma, beta)")
    out = out.detach().float()
    reference = nn.BatchNorm1d(x.shape[1], eps=EPS)
    with torch.no_grad():
        reference.weight.copy_(gamma)
        reference.bias.copy_(beta)
        expected = reference.train()(x)
    difference = (out - expected).abs().max().item()
    if difference < FORWARD_TOLERANCE:
        return _correct("your batch norm matches nn.BatchNorm1d in training mode (largest "
                        f"difference {difference:.1e})")
    mistakes = {
        "you divided by the unbiased variance (n − 1 in the denominator)":
            ("in training mode the batch is normalized by its biased variance, the mean of the "
             "squared deviations: x.var(dim=0, unbiased=False)",
             gamma * _normalized(x, 0, True, EPS) + beta),
        "you normalized each example over its features instead of each feature over the batch":
            ("batch norm takes the mean and variance of each feature over the batch: reduce "
             "over dim=0", gamma * _normalized(x, 1, False, EPS) + beta),
        "ε is missing from the denominator":
            ("divide by sqrt(var + eps) with eps = 1e-5: a feature with almost no variance "
             "would otherwise be blown up", gamma * _normalized(x, 0, False, 0.0) + beta),
        "the output is normalized but neither scaled by γ nor shifted by β":
            ("return gamma * x_hat + beta", _normalized(x, 0, False, EPS)),
        "you divided by the variance instead of the standard deviation":
            ("divide by torch.sqrt(var + eps)",
             gamma * (x - x.mean(0)) / (x.var(0, unbiased=False) + EPS) + beta),
        "γ and β are swapped":
            ("scale by gamma, then add beta", beta * _normalized(x, 0, False, EPS) + gamma),
    }
    for problem, (hint, wrong) in mistakes.items():
        if torch.allclose(out, wrong, atol=FORWARD_TOLERANCE, rtol=0):
            _wrong(problem, hint)
    _wrong(f"your output differs from nn.BatchNorm1d's by up to {difference:.3g}",
           "subtract each feature's batch mean, divide by sqrt(biased variance + 1e-5), then "
           "scale by gamma and add beta")


def running_statistics(batches, momentum: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """The running mean and variance a fresh nn.BatchNorm1d holds after seeing `batches`."""
    batches = [torch.as_tensor(batch, dtype=torch.float32) for batch in batches]
    layer = nn.BatchNorm1d(batches[0].shape[1], momentum=momentum).train()
    with torch.no_grad():
        for batch in batches:
            layer(batch)
    return layer.running_mean.clone(), layer.running_var.clone()


def _as_vector(name: str, value, features: int) -> torch.Tensor:
    try:
        vector = torch.as_tensor(value, dtype=torch.float32).detach().flatten()
    except (TypeError, ValueError, RuntimeError):
        _wrong(f"{name} should be a tensor of {features} numbers, got {type(value).__name__}",
               "give one value per feature, as bn.running_mean holds them")
    if vector.numel() != features:
        _wrong(f"{name} should hold one value per feature ({features}), got {vector.numel()}",
               "average over the examples of each batch (dim=0), not over the features")
    return vector


def _exponential_average(values, momentum: float, start: torch.Tensor) -> torch.Tensor:
    running = start.clone()
    for value in values:
        running = (1 - momentum) * running + momentum * value
    return running


def check_running_statistics(batches, running_mean, running_var, momentum: float = 0.1) -> None:
    """Check the running mean and variance after training steps on `batches`, from a fresh layer."""
    batches = [torch.as_tensor(batch, dtype=torch.float32) for batch in batches]
    if not batches or any(batch.dim() != 2 or len(batch) < 2 for batch in batches):
        _wrong("batches should be a list of (batch, features) tensors of at least two rows",
               "pass the list of batches you fed the layer")
    momentum = _number("momentum", momentum)
    features = batches[0].shape[1]
    mean = _as_vector("running_mean", running_mean, features)
    var = _as_vector("running_var", running_var, features)
    expected_mean, expected_var = running_statistics(batches, momentum)
    means = [batch.mean(0) for batch in batches]
    unbiased = [batch.var(0, unbiased=True) for batch in batches]
    biased = [batch.var(0, unbiased=False) for batch in batches]
    zeros, ones = torch.zeros(features), torch.ones(features)

    def close(a, b):
        return torch.allclose(a, b, rtol=1e-4, atol=1e-5)

    if not close(mean, expected_mean):
        if close(mean, _exponential_average(means, 1 - momentum, zeros)):
            _wrong("the running mean has the momentum the wrong way round", "PyTorch keeps "
                   "1 − momentum of the old value and adds momentum times the new batch mean: "
                   "running = (1 - momentum) * running + momentum * batch_mean")
        if close(mean, torch.stack(means).mean(0)):
            _wrong("that is the plain average of the batch means", "the running mean is an "
                   "exponential moving average that starts at 0, so early batches count less")
        if close(mean, means[-1]):
            _wrong("that is the last batch's mean", "update the running mean once per batch "
                   "and keep the result from one step to the next")
        if close(mean, _exponential_average(means, momentum, ones)):
            _wrong("the running mean should start at 0", "nn.BatchNorm1d starts running_mean at "
                   "zeros and running_var at ones")
        _wrong("the running mean is not what nn.BatchNorm1d holds after these batches",
               "start from zeros and, for each batch, set running = (1 - momentum) * running + "
               "momentum * batch.mean(dim=0)")
    if not close(var, expected_var):
        if close(var, _exponential_average(biased, momentum, ones)):
            _wrong("the running variance uses the biased batch variance", "the running estimate "
                   "uses the unbiased variance, batch.var(dim=0) with n − 1 in the denominator, "
                   "even though the batch itself is normalized by the biased one")
        if close(var, _exponential_average(unbiased, momentum, zeros)):
            _wrong("the running variance should start at 1", "nn.BatchNorm1d starts running_var "
                   "at ones")
        if close(var, _exponential_average(unbiased, 1 - momentum, ones)):
            _wrong("the running variance has the momentum the wrong way round",
                   "running = (1 - momentum) * running + momentum * batch.var(dim=0)")
        _wrong("the running variance is not what nn.BatchNorm1d holds after these batches",
               "start from ones and, for each batch, set running = (1 - momentum) * running + "
               "momentum * batch.var(dim=0) (the unbiased variance)")
    _correct(f"after {len(batches)} steps with momentum {momentum:g} your running statistics "
             "match nn.BatchNorm1d's")


def epochs_to_reach(history, threshold: float, metric: str = "val_acc") -> int | None:
    """The first epoch (from 1) at which `metric` is at least `threshold`; None if never."""
    for epoch, value in enumerate(_history(history)[metric], start=1):
        if value >= threshold:
            return epoch
    return None


def check_time_to_threshold(run, threshold: float, epoch, seconds) -> None:
    """Check `epoch` and `seconds`: when validation accuracy first reached `threshold`, and the
    training time (the history's "seconds", summed up to and including that epoch) it took."""
    history = _history(run)
    threshold = _number("threshold", threshold)
    val_acc, times = history["val_acc"], history["seconds"]
    expected = epochs_to_reach(history, threshold)
    if expected is None:
        if epoch is None and seconds is None:
            return _correct(f"this run never reached a validation accuracy of {threshold:.1%} "
                            f"(its best was {max(val_acc):.1%})")
        _wrong(f"this run never reached a validation accuracy of {threshold:.1%}; its best was "
               f"{max(val_acc):.1%}", "answer epoch = None and seconds = None")
    if epoch is None:
        _wrong(f"the run did reach {threshold:.1%}, in epoch {expected}",
               "look for the first epoch whose val_acc is at least the threshold")
    answer = _number("epoch", epoch)
    if answer != expected:
        if answer + 1 == expected:
            _wrong(f"epoch {answer:g} is off by one", "list positions count from 0 but epochs "
                   "from 1: add 1 to the position")
        train_epoch = epochs_to_reach(history, threshold, "train_acc")
        if train_epoch is not None and answer == train_epoch:
            _wrong(f"epoch {answer:g} is when the *training* accuracy reached the threshold",
                   "use history['val_acc']")
        stays = next(e for e in range(len(val_acc), 0, -1)
                     if e == 1 or val_acc[e - 2] < threshold) if val_acc[-1] >= threshold else None
        if stays is not None and answer == stays:
            _wrong(f"from epoch {answer:g} on the accuracy stays above the threshold, but it "
                   f"first reached it in epoch {expected}", "give the first epoch at which "
                   "val_acc >= threshold")
        if answer == _position_of(max, val_acc):
            _wrong(f"epoch {answer:g} has the best validation accuracy",
                   "the question asks for the first epoch that reaches the threshold")
        _wrong(f"validation accuracy first reached {threshold:.1%} in another epoch than "
               f"{answer:g}", "go through history['val_acc'] from the start and stop at the "
               "first value >= threshold; epochs count from 1")
    spent = sum(times[:expected])
    answer_seconds = _number("seconds", seconds)
    if math.isclose(answer_seconds, spent, rel_tol=1e-6, abs_tol=1e-9):
        return _correct(f"validation accuracy first reached {threshold:.1%} in epoch {expected}, "
                        f"after {spent:.2f} s of training")
    if math.isclose(answer_seconds, times[expected - 1], rel_tol=1e-6, abs_tol=1e-9):
        _wrong("that is the time of that one epoch", "add up the seconds of every epoch up to "
               "and including it: sum(history['seconds'][:epoch])")
    if math.isclose(answer_seconds, sum(times[:expected - 1]), rel_tol=1e-6, abs_tol=1e-9):
        _wrong("that leaves out the epoch that reached the threshold",
               "sum(history['seconds'][:epoch]) includes it")
    if math.isclose(answer_seconds, sum(times), rel_tol=1e-6, abs_tol=1e-9):
        _wrong("that is the time of the whole run", "stop adding at the epoch that reached the "
               "threshold")
    _wrong(f"the training time up to epoch {expected} is not {answer_seconds:g} s",
           "sum(history['seconds'][:epoch])")


def _folding_case() -> tuple[nn.Linear, nn.BatchNorm1d]:
    """A linear layer and a batch norm after it whose running statistics are far from 0 and 1."""
    generator = torch.Generator().manual_seed(3)
    linear = nn.Linear(12, 5)
    norm = nn.BatchNorm1d(5)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(5, 12, generator=generator))
        linear.bias.copy_(torch.randn(5, generator=generator))
        norm.weight.copy_(torch.rand(5, generator=generator) + 0.5)
        norm.bias.copy_(torch.randn(5, generator=generator))
        norm.running_mean.copy_(3 * torch.randn(5, generator=generator))
        norm.running_var.copy_(torch.tensor([4.0, 0.25, 9.0, 1e-4, 2.0]))  # one almost constant
    return linear, norm.eval()


def check_fold(fold) -> None:
    """Check `fold(linear, norm)`: one nn.Linear equal to `norm(linear(x))` in evaluation mode."""
    if not callable(fold):
        _wrong(f"expected a function fold(linear, norm), got {type(fold).__name__}",
               "define it with def fold(linear, norm): ... and pass the function itself")
    linear, norm = _folding_case()
    before = {name: tensor.clone() for name, tensor in
              [*linear.state_dict().items(), *(("norm." + k, v) for k, v in norm.state_dict().items())]}
    with torch.no_grad():
        folded = fold(linear, norm)
    after = {name: tensor for name, tensor in
             [*linear.state_dict().items(), *(("norm." + k, v) for k, v in norm.state_dict().items())]}
    if any(not torch.equal(before[name], after[name]) for name in before):
        _wrong("your function changed the layers it was given",
               "compute the new weight and bias from copies; write them into a new nn.Linear")
    if not isinstance(folded, nn.Linear) or folded.weight.shape != linear.weight.shape:
        _wrong(f"fold should return an nn.Linear with a {tuple(linear.weight.shape)} weight, got "
               f"{type(folded).__name__}", "make a new nn.Linear(linear.in_features, "
               "linear.out_features) and copy the folded weight and bias into it")
    if folded.bias is None:
        _wrong("the folded layer has no bias", "batch norm's shift and the running mean end up in "
               "the bias: create the nn.Linear with bias=True")
    x = torch.randn(64, 12, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = norm(linear(x))
        answer = folded(x)
    difference = (answer - expected).abs().max().item()
    if torch.allclose(answer, expected, rtol=1e-4, atol=1e-4):
        return _correct(f"the folded layer computes norm(linear(x)) in evaluation mode (largest "
                        f"difference {difference:.1e})")
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    mistakes = {
        "the folded layer ignores the running mean":
            ("subtract norm.running_mean from linear's output before scaling: the bias becomes "
             "(linear.bias - running_mean) * scale + norm.bias",
             linear.bias * scale + norm.bias),
        "ε is missing: you divided by sqrt(running_var)":
            ("divide by torch.sqrt(norm.running_var + norm.eps); one unit here has almost no "
             "variance", (linear.bias - norm.running_mean) * norm.weight
             / torch.sqrt(norm.running_var) + norm.bias),
        "batch norm's own shift β (norm.bias) is missing":
            ("add norm.bias at the end", (linear.bias - norm.running_mean) * scale),
        "the old bias of the linear layer is missing":
            ("the linear layer's bias passes through the normalization too: use "
             "(linear.bias - running_mean) * scale + norm.bias", -norm.running_mean * scale + norm.bias),
    }
    with torch.no_grad():
        for problem, (hint, wrong_bias) in mistakes.items():
            if torch.allclose(folded.bias, wrong_bias, rtol=1e-3, atol=1e-3):
                _wrong(problem, hint)
        if torch.allclose(folded.weight, linear.weight * norm.weight[:, None], rtol=1e-3, atol=1e-3):
            _wrong("the weight is scaled by γ but not divided by the running standard deviation",
                   "each row i of the weight is multiplied by γ_i / sqrt(running_var_i + eps)")
    _wrong(f"the folded layer's output differs from norm(linear(x)) by up to {difference:.3g}",
           "in evaluation mode, norm(z) = (z - running_mean) / sqrt(running_var + eps) * weight + "
           "bias with z = linear.weight @ x + linear.bias; collect the terms that multiply x")


def check_pair_output(pair, answer) -> None:
    """Check `answer`: training-mode batch norm (γ = 1, β = 0) of the two-example batch `pair`."""
    pair = torch.as_tensor(pair, dtype=torch.float32)
    if pair.dim() != 2 or len(pair) != 2:
        _wrong("pair should be the (2, features) batch of the exercise", "pass the tensor `pair`")
    try:
        answer = torch.as_tensor(answer, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        _wrong(f"pair_output should be a 2 × {pair.shape[1]} tensor of numbers, got "
               f"{type(answer).__name__}", "write it as torch.tensor([[...], [...]])")
    if answer.shape != pair.shape:
        _wrong(f"pair_output should have the shape of the batch, {tuple(pair.shape)}, got "
               f"{tuple(answer.shape)}", "one row per example, one column per feature")
    expected = (pair - pair.mean(0)) / torch.sqrt(pair.var(0, unbiased=False) + EPS)
    if torch.allclose(answer, expected, atol=0.01):
        return _correct("with two examples every unit becomes ±1, the sign of which example is "
                        "larger, and a feature on which they agree becomes 0")
    equal = (pair[0] == pair[1])
    if equal.any() and torch.allclose(answer[:, ~equal], expected[:, ~equal], atol=0.01):
        _wrong("the features where both examples differ are right, but not the one where they agree",
               "when both values are equal, x − μ is 0 for both, and 0 / sqrt(0 + ε) is 0")
    if torch.allclose(answer, -expected, atol=0.01):
        _wrong("every sign is flipped", "the larger of the two values lies above the mean: +1")
    if torch.allclose(answer[:, ~equal].abs(), torch.ones_like(answer[:, ~equal]), atol=0.01):
        _wrong("the values are ±1 but some signs are wrong", "in each feature the larger value "
               "gets +1 and the smaller −1")
    _wrong("that is not what batch norm gives for this pair", "μ is the midpoint of the two values "
           "and σ half their distance (the biased standard deviation): (x − μ) / σ is ±1")
