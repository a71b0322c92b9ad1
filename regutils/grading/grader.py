"""Grade a folder of submissions against the handout: run each notebook, then judge its answers.

For every handout notebook the teacher's chapter runs once first, with its solutions
(`reference`). Then each submission, with the handout's check cells put back (`restore`), runs in
a folder, kernel and environment of its own (`sandbox`, `kernel`); after each check cell the
grader saves the student's answers (`capture`). When the kernel is gone, a fresh process (`judge`)
runs the checks and hidden tests on those answers and the chapter's inputs (`outcome`, `report`).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import capture, kernel, sandbox, spec as grading_spec
from . import profile as grading_profile
from .outcome import grades_of
from .reference import Assignment, load_assignments, run_reference
from .report import Grade, NotebookReport, write_report
from .restore import restore
from .scan import suspicious
from .submissions import Submission, find_submissions, handout_for, read

DEFAULT_TIMEOUT = 300.0
DEFAULT_PROFILE = "grading"
MAX_ANSWER_BYTES = 60_000_000


@dataclass(frozen=True)
class Options:
    """How every notebook runs: time limit, profile, seed offset, data folder, grading file."""

    timeout: float = DEFAULT_TIMEOUT
    profile: str = DEFAULT_PROFILE
    seed_offset: int = 0
    spec: grading_spec.GradingSpec = grading_spec.GradingSpec()
    data: str = ""

    def settings(self) -> dict:
        found = {**grading_profile.settings(self.profile),
                 "REGUTILS_SEED_OFFSET": self.seed_offset}
        if self.data:
            found["REGUTILS_DATA"] = self.data
        return found


def check_submissions(folder: str | Path, report: str | Path, chapters: str | Path = "chapters",
                      handout: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT,
                      profile: str = DEFAULT_PROFILE, jobs: int = 1,
                      cache: str | Path | None = None, grading: str | Path | None = None,
                      seed_offset: int = 0, progress=None) -> list[NotebookReport]:
    """Grade every notebook in `folder` against the handout and write the report into `report`.

    `cache` keeps the chapters' own runs between checks (default: a temporary folder);
    `progress`, if given, is called with a line of text as each notebook finishes.

    >>> check_submissions("submissions", "report", chapters="chapters")  # doctest: +SKIP
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs must be a whole number >= 1, got {jobs}")
    grading_profile.settings(profile)  # an unknown profile stops here, before anything runs
    if not (isinstance(seed_offset, int) and seed_offset >= 0):
        raise ValueError(f"seed_offset must be a whole number >= 0, got {seed_offset}")
    if Path(folder).resolve() in Path(report).resolve().parents:
        raise ValueError(f"the report folder {report} is inside the submissions folder "
                         f"{folder}; put it outside, or the next check takes it for a student")
    submissions = find_submissions(folder)
    if not submissions:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {folder}, neither directly nor in "
                                "one folder per student")
    if not Path(chapters).exists():
        raise FileNotFoundError(f"no chapters folder {chapters}: give --chapters, the folder of "
                                "the chapter notebooks with their solutions (the book's chapters/)")
    assignments = load_assignments(chapters, handout)
    if not assignments:
        raise ValueError(f"no notebook with exercises in {chapters}")
    from ..data import data_dir

    options = Options(timeout, profile, seed_offset, grading_spec.load(grading), str(data_dir()))
    import regutils

    snapshot = sandbox.PackageSnapshot.of(Path(regutils.__file__).parent)
    notebooks = {s: read(s.path) for s in submissions if s.path is not None}
    given = {name: assignment.handout for name, assignment in assignments.items()}
    matched = {s: handout_for(s, notebooks[s], given) for s in notebooks}
    needed = [assignments[name] for name in sorted(set(matched.values()) - {None})]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for assignment in needed:
            if progress is not None:
                progress(f"running the chapter {assignment.name} with its solutions first")
        list(pool.map(lambda assignment: run_reference(
            assignment, snapshot, options,
            Path(cache) / Path(assignment.name).stem if cache else None), needed))
    for assignment in needed:
        if progress is None:
            break
        for number, problem in assignment.solution_failures.items():
            progress(f"warning: in {assignment.name} the chapter's own solution fails "
                     f"exercise {number} under the {profile} profile: {problem}")
        for problem in assignment.failing_cells.values():
            progress(f"note: in {assignment.name} the chapter itself fails under the {profile} "
                     f"profile ({problem}); the same failure in a submission is not held "
                     "against it")
    reports = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_safely, s, notebooks[s], assignments.get(matched[s]),
                               snapshot, options): s for s in notebooks}
        for future in as_completed(futures):
            reports[futures[future]] = result = future.result()
            if progress is not None:
                progress(_progress_line(result))
    results = list(reports.values()) + _missing(submissions, matched, assignments, options)
    results.sort(key=lambda result: (result.student, result.notebook))
    write_report(results, report, assignments, folder=folder, options=options)
    return results


def _grade_safely(submission, notebook, assignment, snapshot, options) -> NotebookReport:
    try:
        return grade_submission(submission, notebook, assignment, snapshot, options)
    except Exception as problem:  # one odd notebook must not stop the check of the others
        message = f"the checker failed on this notebook ({type(problem).__name__}: {problem})"
        return _all(submission, assignment, "notebook error", message, options, problem=message)


def _all(submission, assignment, status, message, options, problem="") -> NotebookReport:
    name = assignment.name if assignment else submission.name
    grades = [Grade(submission.student, submission.name, e.number, e.check, status, 0.0,
                    options.spec.points_for(name, e.number, e.check), message)
              for e in (assignment.exercises if assignment else [])]
    if not grades:
        grades = [Grade(submission.student, submission.name, None, "", status, 0.0, 0.0, message)]
    return NotebookReport(submission.student, submission.name, name, tuple(grades),
                          problem=problem)


def _missing(submissions, matched, assignments, options) -> list[NotebookReport]:
    """For folder-per-student submissions: a report for each handout notebook a student lacks."""
    students = sorted({s.student for s in submissions if not s.flat})
    handed_in = {(s.student, matched.get(s)) for s in submissions if s.path is not None}
    missing = []
    for student in students:
        for name, assignment in assignments.items():
            if (student, name) not in handed_in and any(n == name for n in matched.values()):
                missing.append(_all(Submission(student, None, name), assignment,
                                    "not attempted", "the notebook was not handed in", options))
        if not any(s.student == student and s.path is not None for s in submissions):
            if not any(report.student == student for report in missing):
                missing.append(_all(Submission(student, None, ""), None, "notebook error",
                                    "no notebook in the folder", options,
                                    problem="no notebook in the folder"))
    return missing


def grade_submission(submission: Submission, notebook, assignment: Assignment | None, snapshot,
                     options: Options) -> NotebookReport:
    """Run one submitted notebook and judge each of its exercises."""
    if isinstance(notebook, str):
        return _all(submission, assignment, "notebook error", notebook, options, problem=notebook)
    if assignment is None:
        message = "this notebook matches no handout notebook (its name and cells are another's)"
        return _all(submission, None, "notebook error", message, options, problem=message)
    restored = restore(notebook, assignment.handout)
    with tempfile.TemporaryDirectory(prefix="regutils-grading-") as folder:
        root = Path(folder)
        run, answers, changed = _run_student(restored, assignment, root, snapshot, options)
        judged = _judge(assignment, answers, root, snapshot, options)
    flags = suspicious(restored.notebook, assignment.handout)
    if changed:
        flags.append(f"changed the grader's copy of regutils ({', '.join(changed[:3])})")
    grades, problem = grades_of(submission, assignment, restored, run, judged, options)
    return NotebookReport(submission.student, submission.name, assignment.name, tuple(grades),
                          run.seconds, problem, tuple(flags), run.truncated)


def _run_student(restored, assignment, root: Path, snapshot, options):
    env = sandbox.prepare(root / "kernel", snapshot, options.settings())
    sandbox.unpack(assignment.cache, Path(env["REGUTILS_CACHE"]))
    specs = kernel.kernel_spec_folder(root / "kernel" / "jupyter")
    answers = root / "kernel" / "answers"
    answers.mkdir()
    at_check = {position: number for number, position in restored.check_cells.items()}

    def after(index):
        number = at_check.get(index)
        kinds = assignment.kinds.get(number)
        if kinds is None:
            return None
        names = [expression for expression, kind in kinds.items() if kind == "answer"]
        return capture.answer_snippet(str(answers / f"{number}.json"), names)

    notebook = nbformat.from_dict(json.loads(json.dumps(restored.notebook)))
    run = kernel.run_notebook(notebook, root / "kernel" / "work", env, options.timeout, specs,
                              after_cell=after)
    saved = {}
    for number in restored.check_cells:
        path = answers / f"{number}.json"
        if path.is_file() and path.stat().st_size <= MAX_ANSWER_BYTES:
            saved[number] = path.read_bytes()
    return run, saved, snapshot.changes(root / "kernel" / "lib")


def _judge(assignment: Assignment, answers: dict[int, bytes], root: Path, snapshot,
           options: Options) -> dict[int, dict]:
    """Judge every exercise with saved answers in fresh processes; exercise -> its outcome.

    If a judge process ends early (an answer that exits, loops or crashes it), the exercise it
    was judging fails and a new process takes on the rest.
    """
    pending = [e for e in assignment.exercises
               if e.number in answers and e.number in assignment.records]
    outcomes: dict[int, dict] = {}
    attempt = 0
    while pending:
        attempt += 1
        folder = root / f"judge-{attempt}"
        env = sandbox.prepare(folder, snapshot, options.settings())
        sandbox.unpack(assignment.cache, Path(env["REGUTILS_CACHE"]))
        for name in ("answers", "reference"):
            (folder / name).mkdir()
        job = {"notebook": assignment.name, "results": str(folder / "results.jsonl"),
               "seconds": min(options.timeout, 120.0),
               "hidden_tests": str(options.spec.hidden_tests) if options.spec.hidden_tests
               else None, "exercises": []}
        for exercise in pending:
            (folder / "answers" / f"{exercise.number}.json").write_bytes(answers[exercise.number])
            (folder / "reference" / f"{exercise.number}.pkl").write_bytes(
                assignment.records[exercise.number])
            job["exercises"].append({
                "number": exercise.number, "module": exercise.call.module,
                "check": exercise.check, "guards": options.spec.guards_for(exercise.check),
                "answers": str(folder / "answers" / f"{exercise.number}.json"),
                "reference": str(folder / "reference" / f"{exercise.number}.pkl")})
        (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
        limit = job["seconds"] * len(pending) + 120
        returncode = _run_judge(folder, env, limit)
        started = None
        for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines() \
                if (folder / "results.jsonl").is_file() else []:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("event") == "start":
                started = record["number"]
            elif record.get("event") == "done" and record.get("number") == started:
                outcomes[started] = record
                started = None
        if started is not None:
            how = "ran out of time" if returncode is None else f"ended (exit code {returncode})"
            outcomes[started] = {"answers": f"the grader's process {how} while checking this "
                                            "exercise: does the answer exit, crash or loop?",
                                 "tests": []}
        remaining = [e for e in pending if e.number not in outcomes]
        if len(remaining) == len(pending):  # the judge did not even start: say so for all
            for exercise in remaining:
                outcomes[exercise.number] = {"answers": "the grader's process could not start "
                                                        f"(exit code {returncode})", "tests": []}
            remaining = []
        pending = remaining
    return outcomes


def _run_judge(folder: Path, env: dict, limit: float) -> int | None:
    command = [sandbox.python(), "-m", "regutils.grading.judge", str(folder / "job.json")]
    with open(folder / "judge.log", "wb") as log:
        process = subprocess.Popen(command, cwd=folder / "work", env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=os.name == "posix")
        try:
            return process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if os.name == "posix":
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            process.kill()
            process.wait()
            kernel.kill_leftovers(env[sandbox.TOKEN_ENV])


def _progress_line(result: NotebookReport) -> str:
    from .report import counts

    found = counts(result.grades)
    summary = ", ".join(f"{n} {status}" for status, n in found.items() if n)
    seconds = f" in {result.seconds:.0f} s" if result.seconds is not None else ""
    return (f"{result.student}, {result.notebook}: {result.score:g}/{result.points:g} points, "
            f"{summary or 'no exercises'}{seconds}")


def _one_line(text) -> str:
    return " ".join(str(text).split())

