"""Choosing strengths on validation data only: k-fold cross-validation, and Optuna studies that
several worker processes can share through a database.

Optuna is imported when a study is made, so `import regutils` stays quick.

>>> space = check_space({"dropout": (0.0, 0.6), "l2": (1e-6, 1e-2, "log")})
>>> space["l2"]
Range(low=1e-06, high=0.01, log=True)
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import socket
import time
import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .data import check_fold
from .experiment import Experiment, RunResult
from .techniques import TECHNIQUES, get_technique
from .train import Callback, History

STORAGE_FORMS = ("none (in memory)", "sqlite:///FILE.db (one machine, several processes)",
                 "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE or mysql://... "
                 "(several machines)")
SQLITE_WAIT_SECONDS = 60  # how long a worker waits for another one's write before giving up
CONNECT_SECONDS = 10  # how long a worker waits for a database server to answer
STORAGE_ATTEMPTS = 5
HEARTBEAT_SECONDS = 30  # a running trial says it is alive this often; silent for twice as long, it
                        # is marked failed (its worker was killed or lost its machine)
DRIVERS = {"psycopg": '"psycopg[binary]"', "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
           "MySQLdb": "mysqlclient"}  # the pip package of each database driver SQLAlchemy imports


# --- k-fold cross-validation ------------------------------------------------------------------

@dataclass(frozen=True)
class CVResult:
    """One experiment's validation metrics on each of k folds of its training set."""

    experiment: Experiment
    runs: tuple[RunResult, ...]

    @property
    def folds(self) -> int:
        return len(self.runs)

    def metric(self, name: str = "val_acc") -> np.ndarray:
        """`name` of each fold's final metrics ("val_acc" or "val_loss"), one value per fold."""
        if name not in ("val_acc", "val_loss"):
            raise ValueError(f"cross-validation reports val_acc or val_loss, not {name!r}")
        return np.array([run.metrics[name] for run in self.runs])

    def mean(self, name: str = "val_acc") -> float:
        return float(self.metric(name).mean())

    def std(self, name: str = "val_acc") -> float:
        """The sample standard deviation over the folds (ddof = 1), as everywhere in the book.

        It is the spread of single folds, not the uncertainty of the mean: the folds share most
        of their training images, so their results are correlated.
        """
        return float(self.metric(name).std(ddof=1))


def cross_validate(experiment: Experiment, k: int = 5) -> CVResult:
    """Train `experiment` k times, each time validating on another k-th of its training set.

    The folds come from the training images only; the validation and test sets are not used.

    >>> cv = cross_validate(Experiment("l2", 1e-3, profile="quick"), k=3)  # doctest: +SKIP
    >>> f"{cv.mean('val_acc'):.3f} ± {cv.std('val_acc'):.3f}"            # doctest: +SKIP
    """
    if experiment.fold is not None:
        raise ValueError(f"the experiment is already fold {experiment.fold}; "
                         "pass it with fold=None")
    k, _ = check_fold((k, 0))
    return CVResult(experiment, tuple(experiment.replace(fold=(k, i)).run() for i in range(k)))


# --- the search space ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    """The strengths a study may try for one technique: [low, high], on a log scale if `log`."""

    low: float
    high: float
    log: bool = False


def check_space(space: Mapping) -> dict[str, Range]:
    """`space` (technique name → Range or (low, high[, "log"])) checked against each technique.

    >>> check_space({"dropout": (0.0, 0.6)})
    {'dropout': Range(low=0.0, high=0.6, log=False)}
    """
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"the search space must map technique names to ranges, such as "
                         f"{{'dropout': (0.0, 0.6)}}, got {space!r}")
    return {name: _check_range(name, bounds) for name, bounds in space.items()}


def _check_range(name: str, bounds) -> Range:
    tunable = [t.name for t in TECHNIQUES.values() if t.strength is not None]
    if name not in TECHNIQUES:
        raise ValueError(f"unknown parameter {name!r}; tune the strength of one of: "
                         f"{', '.join(tunable)}")
    technique = get_technique(name)
    if technique.strength is None:
        raise ValueError(f"{name!r} has no strength to tune (it is on or off); tune one of: "
                         f"{', '.join(tunable)}")
    if not isinstance(bounds, Range):
        if (not isinstance(bounds, (tuple, list)) or len(bounds) not in (2, 3)
                or (len(bounds) == 3 and bounds[2] != "log")):
            raise ValueError(f"the range of {name} must be (low, high) or (low, high, 'log'), "
                             f"got {bounds!r}")
        bounds = Range(bounds[0], bounds[1], log=len(bounds) == 3)
    low, high = technique.check(bounds.low), technique.check(bounds.high)  # in the allowed range
    if not low < high:
        raise ValueError(f"the range of {name} must have low < high, got [{bounds.low}, "
                         f"{bounds.high}]")
    if bounds.log and low <= 0:
        raise ValueError(f"a log range of {name} must start above 0, got low={bounds.low}")
    return Range(low, high, bool(bounds.log))


def parse_parameter(text: str) -> tuple[str, Range]:
    """A command-line range `NAME=LOW:HIGH` or `NAME=LOW:HIGH:log`, checked.

    >>> parse_parameter("l2=1e-6:1e-2:log")
    ('l2', Range(low=1e-06, high=0.01, log=True))
    """
    name, _, bounds = text.partition("=")
    parts = bounds.split(":")
    try:
        numbers = [float(part) for part in parts[:2]]
    except ValueError:
        numbers = []
    if len(numbers) != 2 or len(parts) > 3 or (len(parts) == 3 and parts[2] != "log"):
        raise ValueError(f"a parameter reads NAME=LOW:HIGH or NAME=LOW:HIGH:log, such as "
                         f"dropout=0:0.6 or l2=1e-6:1e-2:log; got {text!r}")
    return name, _check_range(name, Range(*numbers, log=len(parts) == 3))


DEFAULT_SPACE = check_space({"dropout": (0.0, 0.6), "l2": (1e-6, 1e-2, "log"),
                             "augmentation": (0.0, 2.0)})


def suggest(trial, space: Mapping[str, Range]) -> dict[str, float]:
    """One strength per technique of `space`, drawn by the study's sampler for this trial."""
    strengths = {}
    for name, bounds in space.items():
        if get_technique(name).integer:
            strengths[name] = trial.suggest_int(name, int(bounds.low), int(bounds.high),
                                                log=bounds.log)
        else:
            strengths[name] = trial.suggest_float(name, bounds.low, bounds.high, log=bounds.log)
    return strengths


def with_strengths(base: Experiment, strengths: Mapping[str, float]) -> Experiment:
    """`base` with every technique of `strengths` added at its strength."""
    return base.replace(combined_with=(*base.combined_with, *strengths.items()))


# --- pruning ------------------------------------------------------------------------------------

class ReportToTrial(Callback):
    """Report each epoch's validation accuracy to an Optuna trial; raise TrialPruned when told to.

    Raising ends `fit` at once, and a run that raised is never cached.
    """

    def __init__(self, trial):
        self.trial = trial

    def on_epoch_end(self, model, history: History) -> bool:
        self.report(len(history), history.records[-1]["val_acc"])
        return False

    def report(self, epoch: int, val_acc: float) -> None:
        import optuna

        self.trial.report(val_acc, step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch} (val acc {val_acc:.3f})")

    def replay(self, history: History) -> None:
        """Report a recalled run epoch by epoch, as if it were training now."""
        for epoch, record in enumerate(history.records, start=1):
            self.report(epoch, record["val_acc"])


# --- studies ------------------------------------------------------------------------------------

def open_storage(url: str | None, heartbeat_seconds: int | None = None):
    """The Optuna storage behind `url`: None (in memory), sqlite:///FILE.db, or a server's URL.

    With `heartbeat_seconds`, a worker's running trial marks itself alive that often, and one
    silent for twice as long is marked failed by the next worker that starts a trial.
    SQLite waits up to a minute for another worker's write instead of failing at once.

    >>> open_storage(None) is None
    True
    """
    import optuna

    if url is None:
        return None
    if not isinstance(url, str):
        raise TypeError(f"storage must be a URL string or None, got {url!r}")
    scheme = url.partition("://")[0].split("+")[0]
    if scheme == "sqlite" and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        connect_args = {"timeout": SQLITE_WAIT_SECONDS}
    elif scheme in ("postgresql", "mysql") and "://" in url:
        connect_args = {"connect_timeout": CONNECT_SECONDS}
    else:
        raise ValueError(f"unknown storage {_without_password(url)!r}; use one of: "
                         f"{'; '.join(STORAGE_FORMS)}")
    options = {"engine_kwargs": {"connect_args": connect_args},
               "heartbeat_interval": heartbeat_seconds}
    for attempt in range(1, STORAGE_ATTEMPTS + 1):
        try:
            with warnings.catch_warnings():  # the heartbeat is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, **options)
        except ImportError as missing:
            driver = getattr(missing.__cause__, "name", None) or "its database driver"
            raise ValueError(f"the storage {_without_password(url)} needs {driver}, which is not "
                             f"installed: `pip install {DRIVERS.get(driver, driver)}`") from missing
        except Exception as failure:  # SQLAlchemy's: no such folder, server, user or database
            if attempt == STORAGE_ATTEMPTS or not _lost_creation_race(failure):
                raise _storage_error(url, failure) from failure
            time.sleep(0.2 * attempt + random.random() * 0.2)


def _lost_creation_race(failure: Exception) -> bool:
    """True if `failure` says another worker created the study's tables at the same moment.

    All workers that start together on an empty database create the tables; all but one lose
    ("already exists", or in PostgreSQL a duplicate key in its catalog of types), and a moment
    later the tables are there to use.
    """
    text = str(failure).lower()
    return any(sign in text for sign in ("already exists", "duplicate key", "unique constraint"))


def _storage_error(url: str, failure: Exception) -> ValueError:
    """What went wrong opening the storage at `url`, and what in the URL or server to fix."""
    reason = " ".join(str(getattr(failure, "orig", None) or failure).split())
    try:
        from sqlalchemy.engine import make_url
        parts = make_url(url)
        host, user, database = parts.host or "localhost", parts.username, parts.database
        where = f"{host}:{parts.port}" if parts.port else host
        server = f"-h {host} {f'-p {parts.port} ' if parts.port else ''}-U {user}"
    except Exception:  # not even a URL: the reason says so
        where = host = user = database = server = "?"
    credentials = f"check the user ({user}) and password in the URL"
    unreachable = (f"check the host and port ({where}) in the URL, and that the server is "
                   "running and accepts connections from this machine")
    hints = [  # (a sign in the reason, what to do), first match wins
        ("password authentication failed|access denied", credentials),
        ('role ".*" does not exist', f"create the user on the server (`createuser --pwprompt "
                                     f"{user}`) or fix the user in the URL"),
        ('database ".*" does not exist|unknown database',
         f"create the database (`createdb {server} {database}`) or fix its name in the URL"),
        ("connection refused|timeout", unreachable),
        ("resolve host|translate host name", f"check the host name ({host}) in the URL"),
        ("unable to open database file", "check that the SQLite file's folder exists and is "
                                         "writable"),
    ]
    hint = next((hint for sign, hint in hints if re.search(sign, reason, re.IGNORECASE)),
                "check the URL and the database server")
    return ValueError(f"cannot open the storage {_without_password(url)}: "
                      f"{type(failure).__name__}: {reason}; {hint}")


def tune(space: Mapping, n_trials: int, *, base: Experiment | None = None,
         storage: str | None = None, study_name: str = "regutils", seed: int | None = 0,
         worker: str | None = None, startup_trials: int = 10, warmup_epochs: int | None = None,
         heartbeat_seconds: int = HEARTBEAT_SECONDS):
    """Run `n_trials` trials of a study that maximizes validation accuracy; return the study.

    Each trial trains `base` (the baseline of the current profile by default) with every
    technique of `space` added at strengths that a seeded TPE sampler proposes; a median pruner
    ends a trial when the best validation accuracy it has reported lies below the median of what
    the completed trials reported at that epoch (never in the first `warmup_epochs`, half the
    epochs by default). Workers that
    pass the same `storage` and `study_name` share one study; each marks its trials `worker`.
    A trial whose worker stopped (killed, or its machine lost) is marked failed once it has sent
    no heartbeat for twice `heartbeat_seconds`.

    >>> study = tune({"dropout": (0.0, 0.5)}, 4, base=Experiment(profile="quick"))  # doctest: +SKIP
    >>> study.best_params                                                          # doctest: +SKIP
    """
    import optuna

    space = check_space(space)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise ValueError(f"n_trials must be a whole number >= 0, got {n_trials!r}")
    if (isinstance(heartbeat_seconds, bool) or not isinstance(heartbeat_seconds, int)
            or heartbeat_seconds < 1):
        raise ValueError(f"heartbeat_seconds must be a whole number >= 1, got "
                         f"{heartbeat_seconds!r}")
    base = (base or Experiment()).resolved()
    with_strengths(base, {name: bounds.low for name, bounds in space.items()})  # no clash with base
    warmup = base.epochs // 2 if warmup_epochs is None else warmup_epochs
    worker = worker or default_worker()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _open_study(
        study_name, open_storage(storage, heartbeat_seconds),
        # multivariate TPE and the constant liar are Optuna 5's defaults, spelled out so that an
        # older Optuna (pyproject allows >= 3.4, whose TPE was univariate) samples the same way
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials,
                                           multivariate=True, constant_liar=True),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup + 1))
    _claim(study, {"base": dataclasses.asdict(base),
                   "space": {name: [r.low, r.high, r.log] for name, r in space.items()},
                   "heartbeat_seconds": heartbeat_seconds})
    _fail_stale_trials(study)

    def objective(trial) -> float:
        trial.set_user_attr("worker", worker)
        reporter = ReportToTrial(trial)
        run = with_strengths(base, suggest(trial, space)).run(callbacks=[reporter])
        if run.history.interrupted:
            raise KeyboardInterrupt  # Optuna marks the trial failed instead of counting half a run
        if run.cached:
            reporter.replay(run.history)
        final = run.metrics  # the test accuracy is never read here
        trial.set_user_attr("val_loss", final["val_loss"])
        trial.set_user_attr("train_acc", final["train_acc"])
        return final["val_acc"]

    study.optimize(objective, n_trials=n_trials)
    return study


def load(storage: str, study_name: str = "regutils"):
    """The study `study_name` kept in `storage`, its stopped workers' trials marked failed.

    Unlike `tune`, this never makes a study: a name or file that holds none is refused.

    >>> study = load("sqlite:///study.db", "mnist")  # doctest: +SKIP
    >>> summary(study)["workers"]                    # doctest: +SKIP
    """
    import optuna

    if not isinstance(storage, str):
        raise TypeError(f"storage must be a URL string, got {storage!r}")
    sqlite_file = storage[len("sqlite:///"):] if storage.startswith("sqlite:///") else None
    if sqlite_file and not os.path.exists(sqlite_file):
        raise ValueError(f"no study file {sqlite_file!r}: check the path in {storage!r}")
    opened = open_storage(storage)
    names = optuna.get_all_study_names(opened)
    if study_name not in names:
        raise ValueError(f"no study {study_name!r} in {_without_password(storage)}; it holds "
                         f"{', '.join(map(repr, names)) or 'no study yet'}")
    heartbeat = optuna.load_study(study_name=study_name, storage=opened).user_attrs.get(
        "heartbeat_seconds")
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage, heartbeat))
    _fail_stale_trials(study)
    return study


def default_worker() -> str:
    """A name for this process that differs between processes and machines: HOST:PID."""
    return f"{socket.gethostname()}:{os.getpid()}"


def summary(study, worker: str | None = None) -> dict:
    """Counts of the study's trials by state and by worker, the best value and strengths."""
    states = [trial.state.name for trial in study.trials]
    finished = [t for t in study.trials if t.state.name == "COMPLETE"]
    best = max(finished, key=lambda t: t.value) if finished else None
    workers = [t.user_attrs.get("worker") for t in study.trials]
    return {"study": study.study_name, "worker": worker, "worker_trials": workers.count(worker),
            "trials": len(states), "complete": states.count("COMPLETE"),
            "pruned": states.count("PRUNED"), "failed": states.count("FAIL"),
            "running": states.count("RUNNING"),
            "workers": {name: workers.count(name) for name in dict.fromkeys(workers)},
            "best_val_acc": best and best.value, "best_params": best and best.params}


def best_experiment(study) -> Experiment:
    """The experiment of the study's best trial: its base with the best strengths added."""
    return trial_experiment(study, study.best_trial)


def trial_experiment(study, trial) -> Experiment:
    """The experiment that `trial` of `study` trained (or began to, if it was pruned)."""
    return with_strengths(Experiment(**study.user_attrs["base"]), trial.params)


def _open_study(name: str, storage, **options):
    import optuna

    if not isinstance(name, str) or not name:
        raise ValueError(f"study_name must be a non-empty string, got {name!r}")
    return optuna.create_study(study_name=name, storage=storage, direction="maximize",
                               load_if_exists=True, **options)


def _claim(study, settings: dict) -> None:
    """Record what the study tunes and how; refuse a worker whose `settings` differ from it.

    Nothing is written to a study that refuses the worker.
    """
    described = json.loads(json.dumps(settings))  # as the storage gives it back: lists, not tuples
    for key, value in described.items():
        recorded = study.user_attrs.get(key)
        if recorded is not None and recorded != value:
            if isinstance(recorded, dict) and isinstance(value, dict):  # show what differs only
                differ = [name for name in {**recorded, **value}
                          if recorded.get(name) != value.get(name)]
                recorded, value = ({name: side.get(name) for name in differ}
                                   for side in (recorded, value))
            raise ValueError(f"study {study.study_name!r} was made with {key} {recorded}, but this "
                             f"worker has {value}; use the same settings or another study name")
    for key, value in described.items():
        if study.user_attrs.get(key) is None:
            study.set_user_attr(key, value)


def _fail_stale_trials(study) -> None:
    """Mark failed the running trials whose worker sent no heartbeat for two intervals."""
    import optuna

    with warnings.catch_warnings():  # Optuna marks it experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _without_password(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest and ":" in rest.split("@")[0]:
        user = rest.split("@")[0].split(":")[0]
        return f"{scheme}://{user}:***@{rest.split('@', 1)[1]}"
    return url


__all__ = ["CVResult", "cross_validate", "Range", "check_space", "parse_parameter",
           "DEFAULT_SPACE", "suggest", "with_strengths", "ReportToTrial", "open_storage", "tune",
           "load", "best_experiment", "trial_experiment", "summary", "default_worker"]
