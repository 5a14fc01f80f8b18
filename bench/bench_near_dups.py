"""Near-duplicate questions at corpus scale, against another revision's, with identical pairs required.

    python -m bench.bench_near_dups --qa <qa.jsonl> --acts 250 1000 --baseline-ref 027526e --baseline-up-to 250

The questions of the first --acts documents of --qa (the rules backend's pairs of bench/make_acts.py's acts:
`python -m bench.bench_scale` leaves them in its work directory) go through
stages.text.near_dups.near_duplicate_questions of this checkout and of --baseline-ref (checked out with
`git worktree` into a temporary folder, run only up to --baseline-up-to acts), each in a process of its own.
Printed per size: questions, the size of the group without numbers, seconds and peak memory of each, the pairs
found; the two revisions' pairs must be the same, else it exits with 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bench.revisions import ROOT, checkout, run_child

log = logging.getLogger("bench_near_dups")

# Run in a child process with PYTHONPATH at one checkout: the questions of the first N documents through
# near_duplicate_questions; prints seconds, peak memory and the pairs' digest.
CHILD = """
import hashlib, json, resource, sys, time
from stages.core.files import read_jsonl
from stages.text.near_dups import near_duplicate_questions, numbers_of
rows = list(read_jsonl(sys.argv[1]))
docs = set(sorted({r["doc"] for r in rows})[: int(sys.argv[2])])
questions = [r["question"] for r in rows if r["doc"] in docs]
started = time.perf_counter()
pairs = near_duplicate_questions(questions, 90.0)
seconds = time.perf_counter() - started
print(json.dumps({
    "questions": len(questions),
    "numberless": sum(not numbers_of(q) for q in questions),
    "seconds": round(seconds, 2),
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "pairs": len(pairs),
    "sha256": hashlib.sha256(json.dumps(pairs).encode()).hexdigest(),
}))
"""


def timed(code: Path, qa: Path, acts: int) -> dict:
    return run_child(code, CHILD, str(qa), str(acts), what="near_duplicate_questions", threads=1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, required=True, help="a qa.jsonl of generated acts")
    parser.add_argument("--acts", type=int, nargs="+", default=[250, 1000])
    parser.add_argument("--baseline-ref", required=True, help="the git revision to compare with")
    parser.add_argument(
        "--baseline-up-to", type=int, default=250, help="run the baseline up to this many acts"
    )
    args = parser.parse_args()
    rows = []
    with checkout(args.baseline_ref) as base:
        for acts in args.acts:
            row = {"acts": acts, "current": timed(ROOT, args.qa.resolve(), acts)}
            log.info("%d acts, current: %s", acts, row["current"])
            if acts <= args.baseline_up_to:
                row["baseline"] = timed(base, args.qa.resolve(), acts)
                log.info("%d acts, baseline: %s", acts, row["baseline"])
                row["speedup"] = round(row["baseline"]["seconds"] / row["current"]["seconds"], 2)
                row["identical"] = row["baseline"]["sha256"] == row["current"]["sha256"]
            rows.append(row)
    sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    if not all(r.get("identical", True) for r in rows):
        raise SystemExit("the two revisions' near-duplicate pairs differ")


if __name__ == "__main__":
    main()
