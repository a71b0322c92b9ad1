"""`python -m regutils.grading`, the same as `python -m regutils.coursework`."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
