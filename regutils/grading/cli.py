"""`python -m regutils.coursework`: hand out the chapters without solutions, grade what comes back.

  python -m regutils.coursework student-versions chapters/ handout/
  python -m regutils.coursework check submissions/ --report report/ [--chapters chapters/]
      [--handout handout/] [--grading grading.toml] [--timeout 300] [--jobs 2]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .grader import DEFAULT_PROFILE, DEFAULT_TIMEOUT, check_submissions
from .release import write_student_versions
from .profile import choices
from .report import STATUSES, counts


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m regutils.coursework", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = cli.add_subparsers(dest="command", required=True)
    hand_out = commands.add_parser(
        "student-versions", help="write the chapter notebooks with their solutions removed",
        description="Write a student version of each notebook: every solution cell replaced by "
                    "a placeholder that raises NotImplementedError, the check cells locked and "
                    "the rest of the chapter kept, all outputs cleared. The chapters are not "
                    "changed.")
    hand_out.add_argument("chapters", help="a folder of chapter notebooks, or one notebook")
    hand_out.add_argument("handout", help="the folder to write the student versions into "
                                          "(created if needed; not the chapters' own folder)")
    check = commands.add_parser(
        "check", help="grade the students' notebooks against the handout",
        description="Run the chapters with their solutions once, then each submitted notebook "
                    "with the handout's check cells put back, in a folder and kernel of its own, "
                    "and judge every exercise in a separate process on the chapter's own "
                    "inputs. Writes gradebook.csv, grades.csv, notebooks.csv, summary.md and "
                    "feedback/<student>.md. Submissions are student.ipynb files, or one folder "
                    "per student holding that student's notebooks. Exit code 0 whenever the "
                    "report was written, whatever the students' results.")
    check.add_argument("submissions", help="the folder of submitted notebooks")
    check.add_argument("--report", required=True, help="the folder to write the report into")
    check.add_argument("--chapters", default="chapters",
                       help="the chapter notebooks with their solutions (default: chapters)")
    check.add_argument("--handout", default=None,
                       help="the student versions as released (default: made afresh from the "
                            "chapters, as student-versions makes them)")
    check.add_argument("--grading", default=None,
                       help="a TOML or JSON grading file: points, hidden tests, functions an "
                            "answer may not call (default: 1 point per exercise)")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds one notebook may run before it is stopped "
                            f"(default: {DEFAULT_TIMEOUT:g})")
    check.add_argument("--profile", default=DEFAULT_PROFILE, choices=choices(),
                       help=f"the run size every notebook uses (default: {DEFAULT_PROFILE}: the "
                            "quick profile's data trained long enough for each exercise's "
                            "mistake to fail)")
    check.add_argument("--seed-offset", type=int, default=0,
                       help="shift every seed, so that an answer typed in from another run "
                            "fails (default: 0, the seeds students ran)")
    check.add_argument("--jobs", type=int, default=1,
                       help="notebooks to run at the same time (default: 1)")
    check.add_argument("--cache", default=None,
                       help="a folder that keeps the chapters' own runs between checks "
                            "(default: a temporary one)")
    return cli


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    # nbclient leaves a pending task behind when it stops a notebook that timed out; asyncio
    # would say so on the teacher's terminal at exit
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        if arguments.command == "student-versions":
            for path, n_exercises in write_student_versions(arguments.chapters,
                                                            arguments.handout):
                print(f"{path}: {n_exercises} exercise{'s' * (n_exercises != 1)}")
            return 0
        results = check_submissions(
            arguments.submissions, arguments.report, chapters=arguments.chapters,
            handout=arguments.handout, timeout=arguments.timeout, profile=arguments.profile,
            jobs=arguments.jobs, cache=arguments.cache, grading=arguments.grading,
            seed_offset=arguments.seed_offset,
            progress=lambda line: print(line, file=sys.stderr, flush=True))
    except (OSError, ValueError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    total = counts(grade for result in results for grade in result.grades)
    print(", ".join(f"{total[status]} {status}" for status in STATUSES if total[status]
                    or status in ("passed", "failed")))
    print(f"report written to {Path(arguments.report)}: gradebook.csv, grades.csv, "
          "notebooks.csv, summary.md, feedback/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
