"""The claims a chapter's prose makes, each stated with the evidence that must back it.

A chapter makes one `Claims` object and states every conclusion of its text through it, beside
the numbers it rests on. Where the book is built (`REGUTILS_CLAIMS=strict`, full MNIST, the
`default` profile) a claim that fails stops the build with its statement and numbers. Anywhere
else (the offline digits, another profile, a reader's own run) it never stops the notebook: it
shows a visible note under the cell and the run goes on. A claim that holds shows nothing.

>>> from regutils.stats import Interval
>>> claims = Claims()
>>> claims.below("L2 lowers the test loss", Interval(-0.06, 0.01, 5), 0.0).holds
True
>>> claims.above("L2 raises the test loss", Interval(-0.06, 0.01, 5)).holds  # a note, no stop
False
"""
from __future__ import annotations

import html
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .stats import Interval

MODE_ENV = "REGUTILS_CLAIMS"     # "strict": failing claims stop the run (the book's build)
LOG_ENV = "REGUTILS_CLAIMS_LOG"  # a file: every claim is appended to it as one JSON line
BOOK_SOURCE, BOOK_PROFILE = "torchvision", "default"  # what the book's text was written for


class ClaimFailed(AssertionError):
    """A claim of the book's text did not hold on the data the text was written for."""


@dataclass(frozen=True)
class Claim:
    """One statement of the text, whether its evidence backs it, and that evidence in words."""

    statement: str
    holds: bool
    evidence: str


class Claims:
    """The claims of one chapter: checked strictly where the book is built, shown as notes elsewhere.

    `converted=False` marks a chapter not yet brought to the book's evidence standard: its claims
    are only ever notes.
    """

    def __init__(self, *, converted: bool = True):
        self.converted = converted
        self.made: list[Claim] = []

    @property
    def strict(self) -> bool:
        """True where a failing claim must stop the run: the book's own build on its own data."""
        if not self.converted or os.environ.get(MODE_ENV, "").lower() != "strict":
            return False
        from .data import current_source
        from .profiles import get_profile
        return current_source() == BOOK_SOURCE and get_profile().name == BOOK_PROFILE

    def check(self, statement: str, holds: bool, evidence: str) -> Claim:
        """State that `statement` holds, backed by `holds`; `evidence` gives the numbers in words."""
        claim = Claim(statement, bool(holds), evidence)
        self.made.append(claim)
        strict = self.strict
        _log(claim, strict, self.converted)
        if not claim.holds:
            if strict:
                raise ClaimFailed(f"the text claims: {statement}; but {evidence}")
            _show_note(claim)
        return claim

    def above(self, statement: str, difference: Interval, bound: float = 0.0, *,
              unit: str = "", spec: str = ".3f") -> Claim:
        """Claim that `difference` (a paired difference with its interval) lies wholly above `bound`."""
        return self.check(statement, difference.above(bound),
                          _describe(difference, spec, unit, f"above {bound:{spec}}"))

    def below(self, statement: str, difference: Interval, bound: float = 0.0, *,
              unit: str = "", spec: str = ".3f") -> Claim:
        """Claim that `difference` lies wholly below `bound`."""
        return self.check(statement, difference.below(bound),
                          _describe(difference, spec, unit, f"below {bound:{spec}}"))

    def within_noise(self, statement: str, difference: Interval, bound: float = 0.0, *,
                     unit: str = "", spec: str = ".3f") -> Claim:
        """Claim a null result: the interval of `difference` contains `bound` (usually 0)."""
        return self.check(statement, not difference.excludes(bound),
                          _describe(difference, spec, unit, f"to contain {bound:{spec}}"))

    def summary(self) -> str:
        """How many of this chapter's claims held, in one line."""
        held = sum(claim.holds for claim in self.made)
        return f"{held} of {len(self.made)} claims held"


def _describe(difference: Interval, spec: str, unit: str, needed: str) -> str:
    return (f"the {difference.confidence:.0%} interval over {difference.n} seeds is "
            f"{difference.low:{spec}}{unit} to {difference.high:{spec}}{unit} "
            f"(mean {difference.mean:{spec}}{unit}); the claim needs it {needed}")


def _log(claim: Claim, strict: bool, converted: bool) -> None:
    target = os.environ.get(LOG_ENV)
    if not target:
        return
    from .data import current_source
    from .profiles import get_profile
    profile = get_profile()
    line = {**asdict(claim), "strict": strict, "converted": converted, "profile": profile.name,
            "seeds": list(profile.seeds), "data_source": current_source()}
    with open(Path(target), "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


def _show_note(claim: Claim) -> None:
    """A visible note beside the text: in Jupyter and the built page as HTML, elsewhere as text."""
    text = (f"Note: in this run the evidence does not back the text's claim that "
            f"{claim.statement}: {claim.evidence}.")
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        get_ipython = None
    if get_ipython is None or not hasattr(get_ipython(), "kernel"):  # no notebook frontend
        print(text, file=sys.stderr)
        return
    display(HTML(
        '<div class="admonition note regutils-claim-note" role="note" style="border-left: 4px '
        'solid #e69f00; padding: 0.4em 0.8em; margin: 0.5em 0;"><p><strong>In this run:</strong> '
        f'the evidence does not back the claim that {html.escape(claim.statement)}: '
        f'{html.escape(claim.evidence)}.</p></div>'))
