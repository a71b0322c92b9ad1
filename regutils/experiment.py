"""A frozen experiment config whose `run()` trains (or recalls) a model, and sweeps over strength."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch

from . import cache, stats
from .data import (MNISTSplit, check_fold, check_label_noise, check_seed, cross_validation_fold,
                   pool_sizes, load_mnist, with_label_noise)
from .devices import resolve_device
from .models import ACTIVATIONS, MODELS, _check_widths, check_init_std
from .profiles import get_profile
from .techniques import Setup, get_technique
from .train import OPTIMIZERS, Callback, History, check_learning_rate, check_momentum, fit

# The modules whose source decides a run's result: editing any of them gives new cache keys
# (and new runs), editing the others (plots, widgets, the book's helpers) does not.
TRAINING_MODULES = ("data", "models", "regularizers", "techniques", "train", "history", "callbacks",
                    "experiment", "profiles")


@dataclass(frozen=True)
class Experiment:
    """One MNIST run: a technique at a strength, on a model and data size; None means "the profile's".

    >>> exp = Experiment("dropout", 0.3, profile="quick")
    >>> exp.resolved().hidden
    (64,)
    """

    technique: str = "none"
    strength: float | None = None
    combined_with: Mapping[str, float | None] | tuple = ()  # other techniques: {"l2": 1e-4, ...}
    hidden: tuple[int, ...] | None = None
    train_size: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str = "adam"
    momentum: float = 0.0  # SGD's momentum; Adam and AdamW take none
    model: str = "mlp"  # or "row_transformer": each image as a sequence of 28 rows
    activation: str = "relu"  # of the MLP's hidden units: "relu", "sigmoid" or "tanh"
    init_std: float | None = None  # None: PyTorch's initialization; σ: weights and biases N(0, σ²)
    seed: int | None = None  # None: the profile's first seed
    profile: str | None = None
    label_noise: float = 0.0  # fraction of the training labels flipped to another class
    fold: tuple[int, int] | None = None  # (k, i): the i-th of k parts of the training set validates

    def __post_init__(self):
        others = self.combined_with
        if isinstance(others, Mapping):
            others = tuple(sorted(others.items()))
        others = _technique_pairs(others)
        object.__setattr__(self, "combined_with", others)
        if self.hidden is not None:
            object.__setattr__(self, "hidden", _check_widths(self.hidden))
        names = [get_technique(name).name for name in [self.technique, *(n for n, _ in others)]]
        if len(set(names)) != len(names):
            raise ValueError(f"a technique appears twice in {names}")
        object.__setattr__(self, "strength", get_technique(self.technique).check(self.strength))
        object.__setattr__(self, "combined_with", tuple(
            (name, get_technique(name).check(strength)) for name, strength in others))
        get_profile(self.profile)
        _check_run_fields(self)
        object.__setattr__(self, "label_noise", check_label_noise(self.label_noise))
        if self.fold is not None:
            object.__setattr__(self, "fold", check_fold(self.fold))
        if not isinstance(self.model, str) or self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; use one of {', '.join(MODELS)}")

    def resolved(self) -> "Experiment":
        """This config with every None filled in from its profile (the current one if unset)."""
        profile = get_profile(self.profile)
        return dataclasses.replace(
            self, profile=profile.name,
            hidden=self.hidden if self.hidden is not None else profile.hidden,
            train_size=self.train_size if self.train_size is not None else profile.train_size,
            epochs=self.epochs if self.epochs is not None else profile.epochs,
            batch_size=self.batch_size if self.batch_size is not None else profile.batch_size,
            lr=self.lr if self.lr is not None else profile.lr,
            seed=self.seed if self.seed is not None else profile.seeds[0])

    def setup(self) -> Setup:
        """The model options, regularizers and callbacks of all techniques in this run."""
        total = get_technique(self.technique).setup(self.strength)
        for name, strength in self.combined_with:
            total = total + get_technique(name).setup(strength)
        return total

    def build_model(self) -> torch.nn.Module:
        """A freshly initialized model for this config (seed the global generator first)."""
        options = dict(self.setup().model_options)
        if (self.activation, self.init_std) != ("relu", None):  # options of the MLP only
            options.update(activation=self.activation, init_std=self.init_std)
        return MODELS[self.model](self.resolved().hidden, **options)

    def replace(self, **changes) -> "Experiment":
        """A copy with some fields changed: `exp.replace(strength=0.5)`."""
        return dataclasses.replace(self, **changes)

    def data(self, device: str | torch.device | None = None) -> MNISTSplit:
        """The split this experiment trains on: its fold, its flipped training labels, if any."""
        config = self.resolved()
        profile = get_profile(config.profile)
        available = pool_sizes()  # the profile's sizes are caps: the offline sets are smaller
        data = load_mnist(config.train_size, val_size=_at_most(profile.val_size, available["val"]),
                          test_size=_at_most(profile.test_size, available["test"]),
                          seed=config.seed, device=device)
        if config.fold is not None:
            data = cross_validation_fold(data, *config.fold)
        if config.label_noise:
            data = with_label_noise(data, config.label_noise, seed=config.seed)
        return data

    def run(self, *, cache_results: bool = True, device: str | torch.device | None = None,
            keep_model: bool = False, progress: bool | None = None,
            callbacks: Sequence[Callback] = ()) -> "RunResult":
        """Train this experiment, or recall its history from the cache if it was run before.

        With `keep_model`, the trained weights are kept too (and the run retrained if the cache
        holds only its history). Extra `callbacks` may watch the training (a tuner's pruner
        reports each epoch) or end it by raising, but must not change it; a run recalled from
        the cache does not call them.
        """
        config = self.resolved()
        target = resolve_device(device)
        data = config.data(target)
        key = config.cache_key(data.source, target)
        if cache_results:
            recalled = _recall(key, config, keep_model)
            if recalled is not None:
                history, model = recalled
                return RunResult(config, history, model and model.to(target), cached=True)
        setup = config.setup()
        torch.manual_seed(config.seed)  # the same initial weights for the same seed
        model = config.build_model()
        history = fit(model, data, config.epochs, regularizers=setup.regularizers,
                      callbacks=[*setup.callbacks, *callbacks], optimizer=config.optimizer,
                      lr=config.lr, momentum=config.momentum, batch_size=config.batch_size,
                      seed=config.seed,
                      progress=progress)
        if cache_results and not history.interrupted:
            _remember(key, config, history, model if keep_model else None, target)
        return RunResult(config, history, model, cached=False)

    def cache_key(self, data_source: str, device: torch.device) -> str:
        """A hash of everything that decides this run's result.

        That is the resolved config and profile, the data source, the device kind, the torch
        version and the source code of the training modules, so a changed `train.py` (or a new
        torch) never recalls an old run, while a changed `plots.py` keeps the cache.
        """
        return _hash(provenance(self, data_source, device))


def provenance(config: Experiment, data_source: str, device: torch.device | str) -> dict:
    """What a run's result depends on, as stored beside it in the cache."""
    config = config.resolved()
    return {"experiment": dataclasses.asdict(config),
            "profile": dataclasses.asdict(get_profile(config.profile)) | {"seeds": None},
            "data_source": data_source, "device": torch.device(device).type,
            "torch": torch.__version__, "training_code": training_code_hash()}


@functools.lru_cache(maxsize=4)
def training_code_hash(package: Path = Path(__file__).parent,
                       modules: tuple[str, ...] = TRAINING_MODULES) -> str:
    """A hash of the source files of `modules` (those that exist) in `package`."""
    digest = hashlib.sha256()
    for name in modules:
        path = package / f"{name}.py"
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _hash(described: dict) -> str:
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _at_most(size: int | None, available: int) -> int:
    return available if size is None else min(size, available)


@dataclass
class RunResult:
    """An experiment's history, its final metrics and (when trained now or kept) its model."""

    experiment: Experiment
    history: History
    model: torch.nn.Module | None = None
    cached: bool = False

    @property
    def metrics(self) -> dict:
        return self.history.final()


_memory: dict[str, tuple[History, dict | None]] = {}


def _recall(key: str, config: Experiment,
            keep_model: bool) -> tuple[History, torch.nn.Module | None] | None:
    if key not in _memory:
        entry = cache.load(key)
        if entry is None:
            return None
        try:
            history = History.from_dict(entry["history"])
            history.final()
        except (KeyError, TypeError, ValueError) as broken:
            print(f"regutils: cache entry {key} is malformed ({broken}); running again",
                  file=sys.stderr)
            return None
        _memory[key] = (history, None)
    history, _ = _memory[key]
    model = None
    if keep_model:
        state = cache.load_weights(key)
        if state is None:
            return None
        model = config.build_model()
        model.load_state_dict(state)
    return History.from_dict(history.to_dict()), model


def _remember(key: str, config: Experiment, history: History, model: torch.nn.Module | None,
              device: torch.device) -> None:
    _memory[key] = (History.from_dict(history.to_dict()), None)
    cache.save(key, {**provenance(config, history.data_source, device),
                     "history": history.to_dict()})
    if model is not None:
        cache.save_weights(key, model.state_dict())


@dataclass
class SweepResult:
    """Runs over the values of one knob × seeds, with means and spreads for a sweep plot."""

    technique: str
    knob: str            # the Experiment field swept: "strength", "train_size", "hidden", ...
    values: list
    seeds: list[int]
    runs: dict[tuple, RunResult] = field(default_factory=dict)
    interrupted: bool = False

    def metric(self, name: str) -> np.ndarray:
        """`name` of each run's final metrics, shaped (values, seeds); NaN where a run is missing."""
        metrics = np.full((len(self.values), len(self.seeds)), np.nan)
        for i, value in enumerate(self.values):
            for j, seed in enumerate(self.seeds):
                if (_hashable(value), seed) in self.runs:
                    metrics[i, j] = self.runs[(_hashable(value), seed)].metrics[name]
        return metrics

    def mean(self, name: str) -> np.ndarray:
        """The mean of `name` over seeds, one per value."""
        return np.array([stats.interval(row).mean if np.isfinite(row).any() else np.nan
                         for row in self.metric(name)])

    def std(self, name: str) -> np.ndarray:
        """The sample standard deviation (ddof = 1) of `name` over seeds, one per value."""
        return np.array([stats.sample_std(row) for row in self.metric(name)])

    def intervals(self, name: str) -> list[stats.Interval]:
        """The mean of `name` over seeds with its 95% interval, one per value."""
        return [stats.interval(row) for row in self.metric(name)]

    def half_width(self, name: str) -> np.ndarray:
        """The half-width of the 95% interval of `name`'s mean, one per value (NaN for one seed)."""
        return np.array([stats.interval(row).half_width if np.isfinite(row).any() else np.nan
                         for row in self.metric(name)])

    def at(self, value, name: str) -> np.ndarray:
        """`name` at one value of the knob, one entry per seed."""
        return self.metric(name)[self._index(value)]

    def paired(self, name: str, value, baseline) -> stats.Interval:
        """`name` at `value` minus `name` at `baseline`, paired by seed, with its 95% interval."""
        return stats.paired_difference(self.at(value, name), self.at(baseline, name))

    def table(self) -> list[dict]:
        """One row per value: mean over seeds, sample std and half-width of the 95% interval."""
        names = ("train_acc", "val_acc", "test_acc", "generalization_gap", "loss_gap", "val_loss",
                 "test_loss")
        rows = []
        for i, value in enumerate(self.values):
            row = {self.knob: value}
            for name in names:
                row[name] = float(self.mean(name)[i])
                row[f"{name}_std"] = float(self.std(name)[i])
                row[f"{name}_ci95"] = float(self.half_width(name)[i])
            rows.append(row)
        return rows

    def _index(self, value) -> int:
        matches = [i for i, known in enumerate(self.values) if _hashable(known) == _hashable(value)]
        if not matches:
            raise KeyError(f"{value!r} is not among the swept values {self.values}")
        return matches[0]


def sweep(technique: str, values: Sequence, seeds: Sequence[int] | None = None, *,
          knob: str = "strength", **fields) -> SweepResult:
    """Run `technique` at each value of `knob` (its strength by default) and each seed, cached.

    `fields` are further `Experiment` fields (train_size, hidden, epochs, combined_with, ...).
    A Ctrl-C keeps the finished runs, which the cache reuses on the next call.

    >>> result = sweep("dropout", [0.0, 0.5], seeds=[0], profile="quick")
    >>> result.mean("generalization_gap").shape
    (2,)
    >>> sizes = sweep("none", [100, 200], seeds=[0], knob="train_size", profile="quick")
    """
    if (not isinstance(knob, str) or knob not in Experiment.__dataclass_fields__
            or knob in ("technique", "seed")):
        raise ValueError(f"unknown knob {knob!r}; sweep an Experiment field such as 'strength', "
                         "'train_size', 'hidden', 'epochs' or 'batch_size'")
    seeds = get_profile(fields.get("profile")).seeds if seeds is None else seeds
    listed = {}
    for name, given in (("values", values), ("seeds", seeds)):
        if isinstance(given, (str, Mapping)) or not isinstance(given, Iterable):
            raise TypeError(f"{name} must be a list such as [0, 1], got {given!r}")
        listed[name] = list(given)
        if not listed[name]:
            raise ValueError(f"{name} is empty; pass at least one")
    values, seeds = listed["values"], listed["seeds"]
    experiments = {(_hashable(value), seed): Experiment(technique, seed=seed, **{knob: value},
                                                        **fields)
                   for value in values for seed in seeds}  # checks every value before training
    result = SweepResult(technique, knob, values, seeds)
    for index, experiment in experiments.items():
        try:
            run = experiment.run()
        except KeyboardInterrupt:
            run = None
        if run is None or run.history.interrupted:
            result.interrupted = True
            print(f"regutils: sweep interrupted; {len(result.runs)} finished run(s) kept "
                  "(cached runs are reused on the next call)", file=sys.stderr)
            break
        result.runs[index] = run
    return result


def _technique_pairs(others) -> tuple:
    """`combined_with` as (name, strength) pairs, or a clear error showing the accepted form."""
    if not isinstance(others, (tuple, list)) or not all(
            isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in others):
        raise ValueError(f"combined_with must map technique names to strengths, such as "
                         f"{{'l2': 1e-4, 'batch_norm': None}}, got {others!r}")
    return tuple((name, strength) for name, strength in others)


def _check_run_fields(config: Experiment) -> None:
    """Refuse bad sizes, learning rate, optimizer or seed when the config is made, not mid-sweep."""
    for name in ("train_size", "epochs", "batch_size"):
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"{name} must be an int >= 1 or None (the profile's), got {value!r}")
    if config.lr is not None:
        check_learning_rate(config.lr)
    if not isinstance(config.optimizer, str) or config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; use one of "
                         f"{', '.join(OPTIMIZERS)}")
    check_momentum(config.momentum, config.optimizer)
    if config.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {config.activation!r}; use one of "
                         f"{', '.join(ACTIVATIONS)}")
    check_init_std(config.init_std)
    if config.model != "mlp" and (config.activation, config.init_std) != ("relu", None):
        raise ValueError(f"activation and init_std are options of the MLP, not of model "
                         f"{config.model!r}")
    if config.seed is not None:
        check_seed(config.seed)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
