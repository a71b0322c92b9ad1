"""Count how regutils copes with bad input and with faults: the numbers in the README's Reliability.

It runs every bad-input case of `tests/test_properties.py` (`BAD_INPUTS`) and every fault of
`tests/test_faults.py` (`FAULTS`), the very code the tests run, at the quick profile in a temporary
run cache, without downloading anything. It prints what it tried and found, and on its last line a
JSON summary. It exits with status 1 if any bad input was accepted or refused without naming the
value and the accepted range, if a refused call changed the cache, if any result was lost, or if
any other promise checked inside a fault broke.

    python benchmarks/reliability.py             # everything: about a minute on one CPU core
    python benchmarks/reliability.py --limit 5   # a smoke run: 5 inputs and 5 faults, spread out
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def spread(items: list, limit: int | None) -> list:
    """At most `limit` of `items`, evenly spaced, so a small run still samples every kind."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--limit", type=int, default=None,
                         help="try at most this many bad inputs and this many faults")
    arguments = options.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="regutils-reliability-"))
    os.environ.update({"REGUTILS_PROFILE": "quick", "REGUTILS_CACHE": str(scratch / "runs"),
                       "REGUTILS_OFFLINE": "1", "MPLBACKEND": "Agg"})
    sys.path.insert(0, str(ROOT))
    from regutils import profiles
    from tests.test_faults import FAULTS
    from tests.test_properties import BAD_INPUTS, refusal_problem

    started = time.perf_counter()
    warnings.simplefilter("ignore")  # each fault records the warnings it checks for itself
    cases = spread(BAD_INPUTS, arguments.limit)
    unclear = []
    for case in cases:
        problem = refusal_problem(case)
        profiles._chosen = None  # a use_profile case that slipped through must not leak
        if problem is not None:
            unclear.append((case.label, problem))
    accepted = [label for label, problem in unclear if problem.startswith("accepted")]
    print(f"bad inputs tried:                 {len(cases)}")
    print(f"  refused with a clear message:   {len(cases) - len(unclear)}")
    print(f"  accepted:                       {len(accepted)}")
    print(f"  refused unclearly:              {len(unclear) - len(accepted)}")
    for label, problem in unclear:
        print(f"    {label}: {problem}")

    faults = spread(list(FAULTS), arguments.limit)
    at_risk = lost = 0
    broken = []
    for number, name in enumerate(faults):
        try:
            outcome = FAULTS[name](scratch / f"fault-{number}")
        except Exception:  # noqa: BLE001 - a broken promise is what this script reports
            broken.append((name, traceback.format_exc(limit=3)))
            continue
        at_risk += outcome.results
        lost += outcome.lost
        if outcome.lost:
            print(f"    {name}: {outcome.lost} of {outcome.results} results lost")
    print(f"faults injected:                  {len(faults)}")
    print(f"  results and files at risk:      {at_risk}")
    print(f"  results lost:                   {lost}")
    print(f"  faults with a broken promise:   {len(broken)}")
    for name, trace in broken:
        print(f"    {name}:\n{trace}")
    seconds = time.perf_counter() - started
    print(f"({seconds:.0f} s)")
    shutil.rmtree(scratch, ignore_errors=True)
    summary = {"inputs_tried": len(cases), "inputs_refused_clearly": len(cases) - len(unclear),
               "inputs_accepted": len(accepted), "faults_injected": len(faults),
               "results_at_risk": at_risk, "results_lost": lost,
               "faults_with_broken_promise": len(broken), "seconds": round(seconds, 1)}
    print(json.dumps(summary))
    return 1 if unclear or lost or broken else 0


if __name__ == "__main__":
    sys.exit(main())
