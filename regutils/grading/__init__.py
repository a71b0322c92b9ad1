"""The teacher's grading tool: hand out the chapters without solutions, grade what comes back.

    python -m regutils.coursework student-versions chapters/ handout/
    python -m regutils.coursework check submissions/ --report report/ --chapters chapters/

Not imported by `import regutils`: it needs nbclient, ipykernel and cloudpickle (the `grading`
extra), which training does not. `hidden_test` marks a teacher's hidden test (`hidden`).
"""
from .hidden import hidden_test

__all__ = ["hidden_test"]
