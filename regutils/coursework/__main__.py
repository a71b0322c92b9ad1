"""`python -m regutils.coursework`: the grading tool of `regutils.grading`, under its old name."""
from ..grading.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
