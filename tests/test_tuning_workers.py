"""Tuning workers in separate processes sharing one study: on a real PostgreSQL server, with a
worker killed mid-trial (PostgreSQL and SQLite), and the mistakes made pointing workers at a server.

The PostgreSQL tests start a throwaway cluster of their own from Debian's `postgresql` package
(`apt-get install postgresql`) and stop it at the end. Where its programs or the `psycopg` driver
are missing they skip, unless REGUTILS_REQUIRE_POSTGRES=1 (set by .ci/run) makes that a failure.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

import regutils as ru
from regutils import tuning
from regutils.cli import main

PARAMS = ["--param", "dropout=0:0.5", "--param", "l2=1e-6:1e-2:log"]
HEARTBEAT = 1  # seconds: a killed worker's trial is failed after 2 s of silence, not a minute
SURVIVOR_TRIALS = 6  # enough to be still training when the other worker is killed, most times
USER, PASSWORD = "regutils", "tuning-test-password"


# --- a throwaway PostgreSQL server --------------------------------------------------------------

@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL cluster listening on 127.0.0.1:`port`, with password login for USER."""

    programs: Path
    port: int

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Make the database `name` as the README says to, with createdb; return its URL."""
        subprocess.run([str(self.programs / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", USER, name], check=True, capture_output=True, timeout=60,
                       env={**os.environ, "PGPASSWORD": PASSWORD})
        return self.url(name)


def unavailable(reason: str):
    """Skip, or fail where CI requires the PostgreSQL tests to run."""
    if os.environ.get("REGUTILS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; REGUTILS_REQUIRE_POSTGRES=1 says these tests must run")
    pytest.skip(reason)


def postgres_programs() -> Path | None:
    """The folder holding initdb, pg_ctl and createdb: on PATH, or Debian's newest version."""
    found = shutil.which("pg_ctl")
    folders = [Path(found).resolve().parent] if found else []
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit()
                      else 0, reverse=True)
    return next((folder for folder in folders
                 if all((folder / name).exists() for name in ("initdb", "pg_ctl", "createdb"))),
                None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    """A fresh PostgreSQL cluster in a temporary folder for these tests, stopped and removed after
    them (not at the end of the whole suite)."""
    try:
        import psycopg  # noqa: F401 (the driver SQLAlchemy uses for postgresql+psycopg://)
    except ImportError:
        unavailable('the PostgreSQL driver is missing: pip install "psycopg[binary]"')
    programs = postgres_programs()
    if programs is None:
        unavailable("PostgreSQL's initdb and pg_ctl are missing: apt-get install postgresql")
    as_owner = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as Debian's postgres user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("PostgreSQL refuses to run as root, and there is no 'postgres' user")
        as_owner = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="regutils-postgres-"))
    (folder / "password").write_text(PASSWORD + "\n")
    if as_owner:
        for path in (folder, folder / "password"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data, log = folder / "data", folder / "server.log"

    def pg(*arguments, check=True):
        return subprocess.run([*as_owner, str(programs / arguments[0]), *arguments[1:]],
                              capture_output=True, text=True, timeout=120, check=check)

    server = None
    try:
        pg("initdb", "-D", str(data), "-U", USER, f"--pwfile={folder / 'password'}",
           "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        for _ in range(3):  # another program may take the free port between probe and start
            port = free_port()
            started = pg("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                         f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                         "-c synchronous_commit=off -c full_page_writes=off", "start", check=False)
            if started.returncode == 0:
                server = PostgresServer(programs, port)
                break
        if server is None:
            pytest.fail(f"PostgreSQL did not start: {started.stderr}\n{log.read_text()[-3000:]}")
        yield server
    finally:
        if server is not None:
            pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


# --- workers ------------------------------------------------------------------------------------

def start_worker(storage: str, name: str, trials: int, cache: Path) -> subprocess.Popen:
    """`python -m regutils tune` in a process of its own, as a user starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "regutils", "tune", "--storage", storage, "--study", "shared",
         "--trials", str(trials), "--profile", "quick", *PARAMS, "--worker", name,
         "--heartbeat", str(HEARTBEAT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "REGUTILS_CACHE": str(cache)})


def finish(worker: subprocess.Popen) -> dict:
    """The summary a worker printed on its last line, once it exited without error."""
    out, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def read_study(storage: str):
    """The shared study as stored now (waiting at most a second for SQLite's write lock)."""
    options = {"connect_args": {"timeout": 1}} if storage.startswith("sqlite") else {}
    return optuna.load_study(study_name="shared",
                             storage=optuna.storages.RDBStorage(storage, engine_kwargs=options))


def recorded(trial) -> tuple:
    """All a finished trial recorded."""
    return (trial.number, trial.state, trial.params, trial.value, trial.user_attrs,
            trial.intermediate_values)


def kill_mid_trial(worker: subprocess.Popen, storage: str, name: str) -> tuple[list, int]:
    """SIGKILL `worker` while it trains a trial, after it finished at least one.

    Seen training, the worker is frozen (SIGSTOP) and looked at again, so that the trial the kill
    interrupts is known for sure. Returns the worker's finished trials as recorded then, and the
    killed trial's number.
    """
    deadline, study = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.communicate()[1]
        try:
            study = study or read_study(storage)
            mine = [t for t in study.trials if t.user_attrs.get("worker") == name]
        except Exception:  # no study yet, or another worker holds SQLite's write lock
            mine = []
        training = [t.number for t in mine if t.state.name == "RUNNING" and t.intermediate_values]
        if training and any(t.state.is_finished() for t in mine):
            os.kill(worker.pid, signal.SIGSTOP)
            try:
                mine = [t for t in study.trials if t.user_attrs.get("worker") == name]
            except Exception:  # the frozen worker holds SQLite's write lock: look again later
                mine = []
            if any(t.number == training[0] and t.state.name == "RUNNING" for t in mine):
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=60)
                return [recorded(t) for t in mine if t.state.is_finished()], training[0]
            os.kill(worker.pid, signal.SIGCONT)
        time.sleep(0.1)
    pytest.fail(f"worker {name} never trained a trial after finishing one")


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    """A fresh storage of each kind a user would share between workers."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    return request.getfixturevalue("postgres_server").create_database(f"killed_{os.getpid()}")


# --- several workers on PostgreSQL --------------------------------------------------------------

def test_three_workers_share_one_postgresql_study(postgres_server, tmp_path, capsys):
    names, trials = ["first", "second", "third"], 3
    storage = postgres_server.create_database("shared")
    workers = [start_worker(storage, name, trials, tmp_path / "runs") for name in names]
    reports = [finish(worker) for worker in workers]

    study = optuna.load_study(study_name="shared", storage=storage)
    states = Counter(trial.state.name for trial in study.trials)
    requested = len(names) * trials
    assert states["COMPLETE"] + states["PRUNED"] + states["FAIL"] == requested == len(study.trials)
    assert states["FAIL"] == 0, "no worker was stopped, so no trial may fail"
    assert Counter(t.user_attrs["worker"] for t in study.trials) == {name: trials for name in names}
    assert [report["worker_trials"] for report in reports] == [trials] * len(names)
    assert sorted(t.number for t in study.trials) == list(range(requested)), "no number twice"
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == requested, \
        "no strengths evaluated twice"

    best = study.best_trial
    retrained = tuning.trial_experiment(study, best).run(cache_results=False)
    assert retrained.metrics["val_acc"] == best.value, "the best strengths reproduce their score"

    assert main(["tune", "--status", "--storage", storage, "--study", "shared"]) == 0
    status = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert status["workers"] == {name: trials for name in names}
    assert (status["trials"], status["running"]) == (requested, 0)
    assert status["best_val_acc"] == best.value and status["best_params"] == best.params


# --- a worker killed mid-trial ------------------------------------------------------------------

def test_a_worker_killed_mid_trial_leaves_the_study_usable(storage, tmp_path, monkeypatch,
                                                           capsys):
    cache = tmp_path / "runs"
    victim = start_worker(storage, "victim", 100, cache)
    survivor = start_worker(storage, "survivor", SURVIVOR_TRIALS, cache)
    finished_before, killed = kill_mid_trial(victim, storage, "victim")
    killed_at = time.monotonic()
    finish(survivor)
    # one more worker, started after the killed trial fell silent, finds it and marks it failed
    time.sleep(max(0.0, killed_at + 2 * HEARTBEAT + 1 - time.monotonic()))
    monkeypatch.setenv("REGUTILS_CACHE", str(cache))
    assert main(["tune", "--storage", storage, "--study", "shared", "--trials", "1", "--profile",
                 "quick", *PARAMS, "--worker", "late", "--heartbeat", str(HEARTBEAT)]) == 0
    late = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    study = read_study(storage)
    trials = {trial.number: trial for trial in study.trials}
    assert trials[killed].state.name == "FAIL", "the killed trial is marked failed"
    assert trials[killed].intermediate_values, "the epochs it reported stay in the study"
    assert [recorded(trials[before[0]]) for before in finished_before] == finished_before, \
        "what the killed worker finished is kept as it was"
    by_worker = Counter(t.user_attrs.get("worker") for t in study.trials if t.state.is_finished()
                        and t.state.name != "FAIL")
    assert by_worker == {"victim": len(finished_before), "survivor": SURVIVOR_TRIALS, "late": 1}
    assert len(study.trials) == len(finished_before) + 1 + SURVIVOR_TRIALS + 1
    assert (late["failed"], late["running"]) == (1, 0)


# --- bad input: each refused with exit status 2, nothing written --------------------------------

def snapshot(storage: str, name: str = "shared"):
    """Everything a study holds, to compare before and after a refused worker."""
    study = optuna.load_study(study_name=name, storage=storage)
    return (optuna.get_all_study_names(storage), study.user_attrs,
            [recorded(trial) for trial in study.trials])


@pytest.fixture(scope="module")
def made_study(postgres_server, tmp_path_factory):
    """A PostgreSQL study of two quick trials that the bad workers below try to join."""
    storage = postgres_server.create_database("made")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGUTILS_CACHE", str(tmp_path_factory.mktemp("runs")))
        tuning.tune({"dropout": (0.0, 0.5), "l2": (1e-6, 1e-2, "log")}, 2,
                    base=ru.Experiment(profile="quick"), storage=storage, study_name="shared",
                    heartbeat_seconds=HEARTBEAT)
    return storage


def tune_argv(storage: str, *changes: str) -> list[str]:
    """The arguments of a worker of `made_study`, with `changes` added at the end (they win)."""
    return ["tune", "--storage", storage, "--study", "shared", "--trials", "1", "--profile",
            "quick", *PARAMS, "--heartbeat", str(HEARTBEAT), *changes]


@pytest.mark.parametrize("changes, message", [
    (["--param", "augmentation=0:1"], "was made with space"),
    (["--profile", "default"], "was made with base"),
    (["--heartbeat", "30"], "was made with heartbeat_seconds 1, but this worker has 30"),
])
def test_a_worker_with_other_settings_is_refused_and_writes_nothing(made_study, changes, message,
                                                                    capsys):
    before = snapshot(made_study)
    assert main(tune_argv(made_study, *changes)) == 2
    error = capsys.readouterr().err
    assert message in error and "use the same settings or another study name" in error
    assert snapshot(made_study) == before


def test_a_wrong_password_is_refused_without_showing_it(made_study, postgres_server, capsys):
    before = snapshot(made_study)
    assert main(tune_argv(postgres_server.url("made", password="not-the-password"))) == 2
    error = capsys.readouterr().err
    assert f'password authentication failed for user "{USER}"' in error
    assert f"check the user ({USER}) and password in the URL" in error
    assert "not-the-password" not in error and f"{USER}:***@" in error
    assert snapshot(made_study) == before


def test_a_missing_database_is_named_with_the_command_that_makes_it(postgres_server, capsys):
    assert main(tune_argv(postgres_server.url("no_such_database"))) == 2
    error = capsys.readouterr().err
    assert 'database "no_such_database" does not exist' in error
    assert f"createdb -h 127.0.0.1 -p {postgres_server.port} -U {USER} no_such_database" in error


def test_an_unreachable_server_is_named_at_once(capsys):
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable('the PostgreSQL driver is missing: pip install "psycopg[binary]"')
    port = free_port()  # nothing listens there
    started = time.monotonic()
    assert main(tune_argv(f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{port}/optuna")) == 2
    error = capsys.readouterr().err
    assert f"check the host and port (127.0.0.1:{port}) in the URL" in error
    assert "server is running" in error and PASSWORD not in error
    assert time.monotonic() - started < 5, "a refused connection is not retried"


def test_status_of_a_missing_study_is_refused_and_makes_none(made_study, tmp_path, capsys):
    assert main(["tune", "--status", "--storage", made_study, "--study", "typo"]) == 2
    assert "no study 'typo' in" in capsys.readouterr().err
    assert optuna.get_all_study_names(made_study) == ["shared"]
    missing = tmp_path / "none.db"
    assert main(["tune", "--status", "--storage", f"sqlite:///{missing}"]) == 2
    assert "no study file" in capsys.readouterr().err and not missing.exists()
    assert main(["tune", "--status"]) == 2
    assert "pass its --storage" in capsys.readouterr().err


def test_a_missing_driver_is_named_with_its_pip_package(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if it were not installed
    assert main(tune_argv(f"postgresql+psycopg2://{USER}:{PASSWORD}@127.0.0.1/optuna")) == 2
    error = capsys.readouterr().err
    assert "needs psycopg2, which is not installed: `pip install psycopg2-binary`" in error
    assert PASSWORD not in error
