"""`python -m regutils.coursework`: hand out the chapters without solutions, check what comes back.

  python -m regutils.coursework student-versions chapters/ handout/
  python -m regutils.coursework check submissions/ --report report/ [--timeout 300]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..profiles import PROFILES
from .grading import DEFAULT_PROFILE, DEFAULT_TIMEOUT, STATUSES, check_submissions, counts
from .students import write_student_versions


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m regutils.coursework", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = cli.add_subparsers(dest="command", required=True)
    hand_out = commands.add_parser(
        "student-versions", help="write the chapter notebooks with their solutions removed",
        description="Write a student version of each notebook: every solution cell replaced by "
                    "a placeholder that raises NotImplementedError, the check cells and the rest "
                    "of the chapter kept, all outputs cleared. The chapters are not changed.")
    hand_out.add_argument("chapters", help="a folder of chapter notebooks, or one notebook")
    hand_out.add_argument("handout", help="the folder to write the student versions into "
                                          "(created if needed; not the chapters' own folder)")
    check = commands.add_parser(
        "check", help="run the students' notebooks and report every exercise",
        description="Run each submitted notebook with pytest and nbval (--nbval-lax) in a "
                    "temporary folder and write grades.csv, notebooks.csv and summary.md. "
                    "Submissions are student.ipynb files, or one folder per student holding "
                    "that student's notebooks. Exit code 0 whenever the report was written, "
                    "whatever the students' results.")
    check.add_argument("submissions", help="the folder of submitted notebooks")
    check.add_argument("--report", required=True, help="the folder to write the report into")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds one notebook may run before it is stopped "
                            f"(default: {DEFAULT_TIMEOUT:g})")
    check.add_argument("--profile", default=DEFAULT_PROFILE, choices=list(PROFILES),
                       help=f"the run size the notebooks use (default: {DEFAULT_PROFILE})")
    check.add_argument("--jobs", type=int, default=1,
                       help="notebooks to run at the same time (default: 1)")
    check.add_argument("--cache", default=None,
                       help="a run cache folder to share, and keep, between checks "
                            "(default: a temporary one)")
    return cli


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        if arguments.command == "student-versions":
            for path, n_exercises in write_student_versions(arguments.chapters,
                                                            arguments.handout):
                print(f"{path}: {n_exercises} exercise{'s' * (n_exercises != 1)}")
            return 0
        results = check_submissions(arguments.submissions, arguments.report,
                                    timeout=arguments.timeout, profile=arguments.profile,
                                    jobs=arguments.jobs, cache=arguments.cache,
                                    progress=lambda line: print(line, file=sys.stderr))
    except (OSError, ValueError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    total = counts(grade for result in results for grade in result.grades)
    print(", ".join(f"{total[status]} {status}" for status in STATUSES))
    print(f"report written to {Path(arguments.report)}: summary.md, grades.csv, notebooks.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
