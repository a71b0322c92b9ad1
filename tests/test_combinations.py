"""Every pair of the techniques the CLI accepts, in both orders, keeps the effect of each.

One training step of a tiny model per pair, through the real hooks, next to the same step with
one technique of the pair left out. Each technique's hooks draw their noise from a stream of their
own, so the partner draws exactly the same in both steps and any difference is the technique's.
"""
from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import regutils as ru
from regutils.regularizers import weights
from regutils.techniques import TECHNIQUES

LR = 0.1
# Strong enough for one SGD step to show each effect.
STRENGTHS = {
    "l1": 1e-2, "l2": 1e-1,
    "proximal_l1": 0.1,              # threshold lr·λ = 0.01, about a quarter of the first layer
    "coupled_weight_decay": 0.5,
    "decoupled_weight_decay": 5.0,   # shrink factor 1 − lr·λ = 0.5
    "max_norm": 0.5,                 # below the ~0.58 of a fresh unit's incoming weights
    "dropout": 0.5, "input_dropout": 0.5, "batch_norm": None, "layer_norm": None,
    "ghost_batch_norm": 8, "rms_norm": None,
    "input_noise": 0.5, "weight_noise": 0.05, "augmentation": 1.0, "flip": 1.0,
    "early_stopping": 2,
}
NORMALIZATIONS = ("batch_norm", "ghost_batch_norm", "layer_norm", "rms_norm")
CLASHING = {frozenset(pair) for pair in itertools.combinations(NORMALIZATIONS, 2)}  # one `norm`
ORDERED_PAIRS = list(itertools.permutations(STRENGTHS, 2))
PAIRS = [pair for pair in ORDERED_PAIRS if frozenset(pair) not in CLASHING]
CLASHING_PAIRS = [pair for pair in ORDERED_PAIRS if frozenset(pair) in CLASHING]


class Spy(ru.Regularizer):
    """Records what one position in the list sees: the batch, the weights, the gradients."""

    def __init__(self):
        self.seen = {}

    def transform(self, x, y):
        self.seen["batch"] = x.clone()
        return x, y

    def before_forward(self, model):
        self.seen["forward_weights"] = [w.detach().clone() for w in weights(model)]

    def before_step(self, model, optimizer):
        self.seen["step_weights"] = [w.detach().clone() for w in weights(model)]
        self.seen["gradients"] = [w.grad.clone() for w in weights(model)]


class OwnStream(ru.Regularizer):
    """A regularizer whose every hook draws from a seeded stream of its own, not the shared one."""

    def __init__(self, inner: ru.Regularizer):
        self.inner, self.seed = inner, zlib.crc32(type(inner).__name__.encode())

    def _own(self, hook: str, *args):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return getattr(self.inner, hook)(*args)

    def transform(self, x, y):
        return self._own("transform", x, y)

    def before_forward(self, model):
        self._own("before_forward", model)

    def penalty(self, model):
        return self._own("penalty", model)

    def after_backward(self, model):
        self._own("after_backward", model)

    def before_step(self, model, optimizer):
        self._own("before_step", model, optimizer)

    def after_step(self, model, optimizer):
        self._own("after_step", model, optimizer)


@dataclass
class Step:
    setup: object
    model: nn.Module
    first: dict   # what a spy before every technique saw
    last: dict    # what a spy after every technique saw
    penalty: float


def one_step(batch, technique: str, combined_with: dict | None = None) -> Step:
    """One SGD step with the techniques in the order `Experiment` gives them, between two spies."""
    experiment = ru.Experiment(technique, STRENGTHS[technique], combined_with=combined_with or {},
                               hidden=(32,), profile="quick")
    setup = experiment.setup()
    torch.manual_seed(0)  # the same initial weights whatever the model options
    model = experiment.build_model()
    first, last = Spy(), Spy()
    hooks = [first, *map(OwnStream, setup.regularizers), last]
    torch.manual_seed(1)  # the same dropout masks
    _, penalty = ru.train.train_step(model, torch.optim.SGD(model.parameters(), lr=LR),
                                     *batch, hooks)
    return Step(setup, model, first.seen, last.seen, penalty.item())


def norm(tensors) -> float:
    """The Euclidean norm of several tensors together."""
    return torch.sqrt(sum(t.pow(2).sum() for t in tensors)).item()


def zero_share(model) -> float:
    """The share of exact zeros among the weight matrices' entries."""
    matrices = list(weights(model))
    return sum((w == 0).sum().item() for w in matrices) / sum(w.numel() for w in matrices)


def adds_its_penalty(name):
    def check(pair: Step, without: Step):
        forward = pair.last["forward_weights"]  # the weights the penalty was taken at
        own = (STRENGTHS[name] * sum(w.abs().sum() for w in forward) if name == "l1"
               else 0.5 * STRENGTHS[name] * sum(w.pow(2).sum() for w in forward))
        assert pair.penalty == pytest.approx(without.penalty + own.item(), rel=1e-5)
    return check


def zeros_stay_zero(pair: Step, without: Step):
    zeros, zeros_without = zero_share(pair.model), zero_share(without.model)
    assert zeros > 0.2 and zeros_without < 0.01, f"{zeros:.1%} zeros, {zeros_without:.1%} without"


def changes_the_gradient_by_lambda_w(pair: Step, without: Step):
    clean = pair.first["step_weights"]
    for grad, grad_without, w in zip(pair.last["gradients"], without.last["gradients"], clean):
        added = grad - grad_without
        assert torch.nn.functional.cosine_similarity(added.flatten(), w.flatten(), dim=0) > 0.9999
        # λ·w of the clean weights, or of weights a decoupled decay shrank by half just before
        ratio = (added.norm() / (STRENGTHS["coupled_weight_decay"] * w.norm())).item()
        assert 0.45 < ratio < 1.01, f"the gradient changed by {ratio:.3f}·λ·w"


def shrinks_the_weights(pair: Step, without: Step):
    decayed, free = norm(weights(pair.model)), norm(weights(without.model))
    assert decayed < 0.75 * free, f"weight norm {decayed:.3f}, {free:.3f} without the decay"


def keeps_every_unit_within_c(pair: Step, without: Step):
    radius = STRENGTHS["max_norm"]
    longest = max(w.flatten(1).norm(dim=1).max().item() for w in weights(pair.model))
    assert longest <= radius * (1 + 1e-5), f"a unit's incoming weights have norm {longest:.4f}"
    free = max(w.flatten(1).norm(dim=1).max().item() for w in weights(without.model))
    assert free <= radius or longest < free  # where the partner alone leaves longer rows


def changes_the_batch(pair: Step, without: Step):
    moved = (pair.last["batch"] - without.last["batch"]).abs().mean().item()
    assert moved > 0.1, moved


def perturbs_then_restores(pair: Step, without: Step):
    clean, noisy = pair.first["forward_weights"], pair.last["forward_weights"]
    assert all(not torch.equal(c, n) for c, n in zip(clean, noisy))  # the forward pass was noisy
    # every before_step hook, and so the step itself, starts from the clean weights, bit for bit
    assert all(torch.equal(c, s) for c, s in zip(clean, pair.first["step_weights"]))


def has_layers(kind, after: type, p: float | None = None):
    def check(pair: Step, without: Step):
        layers = list(pair.model)
        found = [layer for before, layer in zip(layers, layers[1:])
                 if isinstance(layer, kind) and isinstance(before, after)]
        assert found and all(p is None or layer.p == p for layer in found)
    return check


def stops_early(pair: Step, without: Step):
    stoppers = [c for c in pair.setup.callbacks if isinstance(c, ru.EarlyStopping)]
    assert [s.patience for s in stoppers] == [STRENGTHS["early_stopping"]]


EFFECTS = {
    "l1": adds_its_penalty("l1"),
    "l2": adds_its_penalty("l2"),
    "proximal_l1": zeros_stay_zero,
    "coupled_weight_decay": changes_the_gradient_by_lambda_w,
    "decoupled_weight_decay": shrinks_the_weights,
    "max_norm": keeps_every_unit_within_c,
    "dropout": has_layers(nn.Dropout, nn.ReLU, STRENGTHS["dropout"]),
    "input_dropout": has_layers(nn.Dropout, nn.Flatten, STRENGTHS["input_dropout"]),
    "batch_norm": has_layers(nn.BatchNorm1d, nn.Linear),
    "layer_norm": has_layers(nn.LayerNorm, nn.Linear),
    "ghost_batch_norm": has_layers(ru.models.GhostBatchNorm1d, nn.Linear),
    "rms_norm": has_layers(ru.models.RMSNorm, nn.Linear),
    "input_noise": changes_the_batch,
    "weight_noise": perturbs_then_restores,
    "augmentation": changes_the_batch,
    "flip": changes_the_batch,
    "early_stopping": stops_early,
}


@pytest.fixture(scope="module")
def batch(data):
    return data.x_train[:32], data.y_train[:32]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as `fit` trains: on a busy machine two threads wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_every_technique_the_cli_accepts_is_crossed_here():
    assert set(STRENGTHS) == set(EFFECTS) == set(TECHNIQUES) - {"none"}
    hooks = {name for name in vars(ru.Regularizer) if not name.startswith("_")}
    assert hooks <= set(vars(OwnStream)), "OwnStream must pass on every hook"


@pytest.mark.parametrize("technique, partner", PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_each_technique_of_a_pair_keeps_its_effect(batch, technique, partner):
    pair = one_step(batch, technique, {partner: STRENGTHS[partner]})
    EFFECTS[technique](pair, one_step(batch, partner))
    EFFECTS[partner](pair, one_step(batch, technique))


@pytest.mark.parametrize("technique, partner", CLASHING_PAIRS)
def test_techniques_that_set_the_same_option_are_refused(technique, partner):
    with pytest.raises(ValueError, match=r"both set the model option\(s\) \['norm'\]"):
        ru.Experiment(technique, combined_with={partner: None}).setup()
