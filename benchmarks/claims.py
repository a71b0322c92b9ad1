"""Do the book's claims survive another draw of noise? Execute the chapters under shifted seeds.

Every seed of every run is shifted (`REGUTILS_SEED_OFFSET`): new training subsets, initial
weights, batch orders and masks, the same fixed validation and test sets. That is what another
machine's floating point, or a reader's own run, amounts to. The book's own seed set (offset 0)
is read from the committed chapters' execution stamps, which must be up to date; the other seed
sets are executed here, into a scratch folder (the committed chapters are not touched).

    python benchmarks/claims.py                       # every chapter, offsets 100 and 200
    python benchmarks/claims.py chapters/01_overfitting.ipynb --offsets 100 200 300

Prints one row per chapter (its claims, how many held under every seed set, and the ones that
did not) and, on its last line, `claims_robust=HELD/TOTAL` over the converted chapters, whose
claims are strict in the book's build. Unconverted chapters' claims (notes only) are counted
apart.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from regutils import execute as executor

ROOT = Path(__file__).resolve().parent.parent


def committed_claims(path: Path) -> tuple[list[dict] | None, list[str]]:
    """The claims the committed chapter's stamp records, and why it is stale (if it is)."""
    stamp = nbformat.read(path, as_version=4).metadata.get(executor.STAMP, {})
    return stamp.get("claims"), executor.stale_reasons(path)


def run_offsets(paths: list[Path], offsets: list[int], jobs: int, out: Path) -> dict:
    """Execute `paths` once per seed offset; {offset: {chapter: result}}."""
    results = {}
    for offset in offsets:
        folder = out / f"offset-{offset}"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        print(f"seed offset {offset}:", flush=True)
        rows = executor.execute_all(paths, jobs=jobs, out=folder, cache=folder / "runs",
                                    environment={"REGUTILS_SEED_OFFSET": str(offset),
                                                 "REGUTILS_CLAIMS": "record"})
        print(f"  {time.perf_counter() - started:.0f} s", flush=True)
        results[offset] = {row["chapter"]: row for row in rows}
        for path in paths:
            executed = folder / path.name
            if executed.exists():  # the claims as logged, from the copy's stamp
                stamp = nbformat.read(executed, as_version=4).metadata.get(executor.STAMP, {})
                results[offset][path.stem]["claim_list"] = stamp.get("claims")
    return results


def tabulate(paths: list[Path], own: dict, others: dict) -> tuple[int, int, list[str]]:
    """Print the table; the converted chapters' held and total claims."""
    held_total = total = 0
    lines = ["| chapter | converted | claims | held under every seed set | not held under |",
             "|---|---|---|---|---|"]
    for path in paths:
        sets = {0: own.get(path.stem)} | {offset: rows[path.stem].get("claim_list")
                                          for offset, rows in others.items()}
        missing = [str(offset) for offset, claims in sets.items() if claims is None]
        reference = next((claims for claims in sets.values() if claims), [])
        converted = any(claim.get("converted", True) for claim in reference)
        failing: dict[str, list[str]] = {}
        for offset, claims in sets.items():
            for claim in claims or []:
                if not claim["holds"]:
                    failing.setdefault(claim["statement"], []).append(str(offset))
        statements = {claim["statement"] for claim in reference}
        held = len(statements) - len(set(failing) & statements) if not missing else 0
        if converted:
            held_total += held
            total += len(statements)
        note = "; ".join(f"{s} (offset {', '.join(o)})" for s, o in failing.items())
        if missing:
            note = f"no result for offset {', '.join(missing)}" + (f"; {note}" if note else "")
        lines.append(f"| {path.stem} | {'yes' if converted else 'no'} | {len(statements)} "
                     f"| {held} | {note or '-'} |")
    return held_total, total, lines


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("chapters", nargs="*", type=Path, default=executor.chapters(ROOT))
    options.add_argument("--offsets", nargs="+", type=int, default=[100, 200])
    options.add_argument("--jobs", type=int, default=2, help="chapters executed at once")
    options.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    arguments = options.parse_args()
    paths = [path.resolve() for path in arguments.chapters]
    own = {}
    for path in paths:
        claims, stale = committed_claims(path)
        if stale or claims is None:
            print(f"{path.stem}: the committed chapter is stale ({'; '.join(stale) or 'no stamp'}); "
                  "run `python -m regutils.execute --stale` first", file=sys.stderr)
            return 2
        own[path.stem] = claims
    with tempfile.TemporaryDirectory(prefix="regutils-claims-") as scratch:
        out = arguments.out or Path(scratch)
        others = run_offsets(paths, arguments.offsets, arguments.jobs, out)
        held, total, lines = tabulate(paths, own, others)
    print(f"\nseed sets: the book's own (offset 0) and offsets {', '.join(map(str, arguments.offsets))}")
    print("\n".join(lines))
    print(json.dumps({"offsets": [0, *arguments.offsets], "converted_claims": total,
                      "held": held}))
    print(f"claims_robust={held}/{total}")
    return 0 if held == total else 1


if __name__ == "__main__":
    sys.exit(main())
