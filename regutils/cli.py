"""`python -m regutils`: run one experiment and print its final metrics as JSON on the last line."""
from __future__ import annotations

import argparse
import json
import sys

from .data import DataError
from .experiment import Experiment
from .profiles import PROFILES
from .techniques import TECHNIQUES, describe
from .train import TrainingDiverged

METRICS = ("train_loss", "val_loss", "train_acc", "val_acc", "test_acc", "epochs", "seconds",
           "data_source")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m regutils", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train one MNIST experiment")
    run.add_argument("--technique", default="none", choices=list(TECHNIQUES), metavar="NAME",
                     help=f"one of: {', '.join(TECHNIQUES)} (default: none)")
    run.add_argument("--strength", type=float, default=None,
                     help="the technique's strength (default: its typical value); "
                          "see `python -m regutils techniques`")
    run.add_argument("--profile", choices=list(PROFILES), default=None,
                     help="run size (default: $REGUTILS_PROFILE or 'default')")
    run.add_argument("--seed", type=int, default=None,
                     help="default: the profile's first seed")
    run.add_argument("--epochs", type=int, default=None, help="default: the profile's")
    run.add_argument("--train-size", type=int, default=None, help="default: the profile's")
    run.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    run.add_argument("--no-cache", action="store_true", help="train even if the run is cached")
    commands.add_parser("techniques", help="list the techniques and their strengths")
    tune = commands.add_parser(
        "tune", help="run trials of an Optuna study; start several workers to share one study",
        description="Tune strengths on validation accuracy. Workers started with the same "
                    "--storage and --study share one study.")
    tune.add_argument("--storage", default=None, help="sqlite:///FILE.db or postgresql://... "
                      "(default: in memory, this process only)")
    tune.add_argument("--study", default="regutils", help="the study's name (default: regutils)")
    tune.add_argument("--trials", type=int, default=20,
                      help="trials this worker runs (default: 20)")
    tune.add_argument("--param", action="append", default=None, metavar="NAME=LOW:HIGH[:log]",
                      help="a strength to tune, repeatable (default: dropout=0:0.6 "
                           "l2=1e-6:1e-2:log augmentation=0:2)")
    tune.add_argument("--profile", choices=list(PROFILES), default=None,
                      help="run size (default: $REGUTILS_PROFILE or 'default')")
    tune.add_argument("--seed", type=int, default=None,
                      help="the sampler's seed (default: a different one in each worker)")
    tune.add_argument("--worker", default=None, help="this worker's name (default: HOST:PID)")
    tune.add_argument("--heartbeat", type=int, default=None, metavar="SECONDS",
                      help="a running trial says it is alive this often; one silent for twice "
                           "as long is marked failed (default: 30; the same in every worker)")
    tune.add_argument("--status", action="store_true",
                      help="run no trial: print the summary of the existing study (trials by "
                           "state and by worker, the best so far) and exit")
    return cli


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.command == "techniques":
        print(describe())
        return 0
    if arguments.command == "tune":
        return _tune(arguments)
    try:
        experiment = Experiment(arguments.technique, arguments.strength, seed=arguments.seed,
                                epochs=arguments.epochs, train_size=arguments.train_size,
                                profile=arguments.profile)
        result = experiment.run(device=arguments.device, cache_results=not arguments.no_cache)
    except (ValueError, TypeError, DataError, TrainingDiverged) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not result.history.records:  # Ctrl-C before the first epoch ended: no metrics to show
        print(json.dumps({"epochs": 0, "interrupted": True}))
        return 130
    metrics = {name: result.metrics[name] for name in METRICS}
    metrics["interrupted"] = result.history.interrupted
    print(json.dumps(metrics))
    return 130 if result.history.interrupted else 0


def _tune(arguments) -> int:
    from . import tuning  # imports Optuna, which only this command needs

    worker = arguments.worker or tuning.default_worker()
    try:
        if arguments.status:
            if arguments.storage is None:
                raise ValueError("--status reads a study kept in a database: pass its --storage")
            print(json.dumps(tuning.summary(tuning.load(arguments.storage, arguments.study))))
            return 0
        space = (dict(tuning.parse_parameter(text) for text in arguments.param)
                 if arguments.param else tuning.DEFAULT_SPACE)
        heartbeat = arguments.heartbeat
        if heartbeat is None:
            heartbeat = tuning.HEARTBEAT_SECONDS
        study = tuning.tune(space, arguments.trials, base=Experiment(profile=arguments.profile),
                            storage=arguments.storage, study_name=arguments.study,
                            seed=arguments.seed, worker=worker, heartbeat_seconds=heartbeat)
    except (ValueError, TypeError, DataError, TrainingDiverged) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regutils: tuning interrupted; the trials finished so far stay in the study",
              file=sys.stderr)
        return 130
    print(json.dumps(tuning.summary(study, worker)))
    return 0
