"""Benchmark synthesis across several servers: throughput with two servers against one, and a run in which one
of the two dies mid-run against an undisturbed one.

Every run is the whole synth stage (`lmstudio` backend, a fresh work dir, nothing cached) against the fake
OpenAI-compatible server of the tests: the same latency per request and the same slots on every server, and
synth.concurrency = slots, so two servers hold twice the requests in flight.

1. One server, then two: pairs per minute and their ratio (target >= 1.8x).
2. Two servers, one of which dies (listening socket closed, connections cut) when its `--die-after`-th
   request arrives: qa.jsonl compared byte for byte with the undisturbed two-server run, and how many chunks
   were asked of the survivor again.

    python -m bench.bench_synth_servers [--latency 1.0] [--slots 4] [--chunks 64] [--die-after 12]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from stages import synth
from tests.fake_openai_server import FakeOpenAIServer
from tests.synth_fixtures import make_workdir, sample_chunks

REPO_ROOT = Path(__file__).resolve().parents[1]


def bench_chunks(n: int) -> list[dict[str, Any]]:
    """`n` distinct chunks of the sample acts (repeated with a suffix when there are fewer)."""
    base = sample_chunks(articles_per_chunk=1)
    chunks = (base * (n // len(base) + 1))[:n]
    return [{**c, "id": f"{c['id']}-{i}", "text": f"{c['text']} ({i})"} for i, c in enumerate(chunks)]


def run(
    work: Path, chunks: list[dict[str, Any]], n_servers: int, args: argparse.Namespace, die_after: int | None
) -> dict[str, Any]:
    """One synth run against `n_servers` fresh fake servers; the first dies after `die_after` requests."""
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                FakeOpenAIServer(
                    latency_s=args.latency, slots=args.slots, die_after=die_after if i == 0 else None
                )
            )
            for i in range(n_servers)
        ]
        urls = [s.url for s in servers]
        make_workdir(
            work,
            chunks,
            backend="lmstudio",
            base_url=urls[0] if n_servers == 1 else urls,
            paraphrases=0,  # the first pass only: one request per chunk
            concurrency=args.slots,
            retry_backoff_s=0.05,
        )
        os.chdir(work)
        try:
            started = time.perf_counter()
            synth.main()
            seconds = time.perf_counter() - started
        finally:
            os.chdir(REPO_ROOT)
        answered = [len(s.answered_prompts()) for s in servers]
        asked = [len(s.chat_requests()) for s in servers]
    metrics = json.loads((work / "metrics/synth.json").read_text())
    timings = json.loads((work / "metrics/timings/synth.json").read_text())
    qa = (work / "data/qa/qa.jsonl").read_bytes()
    return {
        "servers": n_servers,
        "seconds": seconds,
        "accepted": metrics["accepted"],
        "failed": metrics["chunks_failed"],
        "pairs_per_min": metrics["accepted"] / seconds * 60,
        "asked": asked,
        "answered": answered,
        "requeued": timings.get("chunks_requeued", 0),
        "qa_md5": hashlib.md5(qa).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request at each server")
    parser.add_argument("--slots", type=int, default=4, help="requests each server serves at once")
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--die-after", type=int, default=12, help="the dying server's last request")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    chunks = bench_chunks(args.chunks)

    with tempfile.TemporaryDirectory() as tmp:
        one = run(Path(tmp) / "one", chunks, 1, args, None)
        two = run(Path(tmp) / "two", chunks, 2, args, None)
        killed = run(Path(tmp) / "killed", chunks, 2, args, args.die_after)

    print(
        f"nproc={os.cpu_count()}  latency={args.latency}s  slots={args.slots} per server "
        f"(synth.concurrency={args.slots})  chunks={args.chunks}\n"
    )
    print(
        "| run | seconds | accepted pairs | pairs/min | ratio vs one server | asked per server | qa.jsonl md5 |"
    )
    print("|---|---:|---:|---:|---:|---|---|")
    for name, r in (
        ("one server", one),
        ("two servers", two),
        (f"two servers, one dies at its request {args.die_after}", killed),
    ):
        ratio = r["pairs_per_min"] / one["pairs_per_min"]
        asked = " + ".join(str(n) for n in r["asked"])
        print(
            f"| {name} | {r['seconds']:.2f} | {r['accepted']} | {r['pairs_per_min']:.0f} | {ratio:.2f}x | "
            f"{asked} | `{r['qa_md5'][:12]}` |"
        )
    same = killed["qa_md5"] == two["qa_md5"] == one["qa_md5"]
    print(
        f"\nkill-one run: qa.jsonl identical to the undisturbed runs: {same}; chunks requeued to the "
        f"survivor: {killed['requeued']}; full replies sent: {sum(killed['answered'])} for {args.chunks} "
        f"chunks; failed chunks: {killed['failed']}"
    )


if __name__ == "__main__":
    main()
