"""Speed of the rules generator against another revision's, on the same chunks, with identical output required.

    python -m bench.bench_synth_rules --chunks <chunks.jsonl> --acts 100 --baseline-ref f18cbfb --repeats 2

The chunks of the first --acts documents of --chunks (e.g. bench/make_acts.py's acts through ocr, clean and
chunk: `python -m bench.bench_scale` leaves them in its work directory) are given to stages.synth.rules_results
of this checkout and of --baseline-ref (checked out with `git worktree` into a temporary folder), each in a
process of its own, alternately, --repeats times. Printed: seconds per run and the median ratio; the two
results must be the same JSON, else it exits with 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path

from bench.revisions import ROOT, checkout, run_child

log = logging.getLogger("bench_synth_rules")

# Run in a child process with PYTHONPATH at one checkout: the chunks of the first N documents through
# rules_results; prints seconds and the result's digest.
CHILD = """
import hashlib, json, sys, time
from stages.core.files import read_jsonl
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from stages.synth import rules_results
chunks = [from_dict(Chunk, c) for c in read_jsonl(sys.argv[1])]
docs = set(sorted({c.doc for c in chunks})[: int(sys.argv[2])])
chunks = [c for c in chunks if c.doc in docs]
started = time.perf_counter()
result = rules_results(chunks)
seconds = time.perf_counter() - started
blob = json.dumps(result, sort_keys=True, default=repr).encode()
print(json.dumps({"seconds": seconds, "sha256": hashlib.sha256(blob).hexdigest(), "chunks": len(chunks)}))
"""


def timed(code: Path, chunks: Path, acts: int) -> dict:
    return run_child(code, CHILD, str(chunks), str(acts), what="rules_results")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=Path, required=True)
    parser.add_argument("--acts", type=int, default=100)
    parser.add_argument("--baseline-ref", required=True)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"baseline": [], "current": []}
    with checkout(args.baseline_ref) as base:
        for _ in range(args.repeats):
            for name, code in (("baseline", base), ("current", ROOT)):
                runs[name].append(timed(code, args.chunks.resolve(), args.acts))
                log.info("%s: %.2f s", name, runs[name][-1]["seconds"])
    same = {r["sha256"] for rs in runs.values() for r in rs}
    ratio = statistics.median(
        b["seconds"] / c["seconds"] for b, c in zip(runs["baseline"], runs["current"], strict=True)
    )
    summary = {
        "acts": args.acts,
        "chunks": runs["current"][0]["chunks"],
        "seconds": {k: [round(r["seconds"], 2) for r in v] for k, v in runs.items()},
        "speedup": round(ratio, 2),
        "identical": len(same) == 1,
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    if len(same) != 1:
        raise SystemExit("the two revisions' rules_results differ")


if __name__ == "__main__":
    main()
