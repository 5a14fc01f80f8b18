"""Benchmark the synth stage: throughput against concurrency, and parse yield against a single regex.

1. Pairs per minute of the whole stage (`lmstudio` backend) at concurrency 1, 2, 4, 8 against the fake
   OpenAI-compatible server of the tests (fixed latency per request, 4 requests served at once, like
   LM Studio's default parallel predictions). Concurrency 1 is the sequential loop: the baseline.
2. Parse yield of `parse_qa_pairs` on the messy-reply corpus (tests/data/messy_replies), on the replies of
   today's LM Studio models (tests/data/replies: reasoning, tables, cut JSON, notes) and on the fake server's
   replies, against one regex fitted to the requested format (the original approach).

    python -m bench.bench_synth [--latency 0.3] [--chunks 32]    (from the repository root: it imports tests/)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from stages import synth
from stages.qa.parse import parse_qa_pairs
from tests.fake_openai_server import FakeOpenAIServer, grounded_pairs, messy_reply
from tests.synth_fixtures import make_workdir, sample_chunks

REPO_ROOT = Path(__file__).resolve().parents[1]


# The original approach: one pattern for the format the prompt asks for ({'pergunta': ..., 'resposta': ...}),
# either quote style.
SINGLE_REGEX = re.compile(
    r"""\{\s*['"]pergunta['"]\s*:\s*['"](.+?)['"]\s*,\s*['"]resposta['"]\s*:\s*['"](.+?)['"]\s*\}""",
    re.DOTALL,
)


def regex_pairs(text: str) -> list[tuple[str, str]]:
    return [(q, a) for q, a in SINGLE_REGEX.findall(text)]


def squashed(pair: tuple[str, str]) -> tuple[str, str]:
    """Pairs are compared with whitespace collapsed (both parsers get the same leniency)."""
    return (" ".join(pair[0].split()), " ".join(pair[1].split()))


def throughput(latency_s: float, n_chunks: int, slots: int) -> list[dict]:
    chunks = (sample_chunks(articles_per_chunk=1) * 4)[:n_chunks]
    chunks = [{**c, "id": f"{c['id']}-{i}", "text": f"{c['text']} ({i})"} for i, c in enumerate(chunks)]
    rows = []
    with FakeOpenAIServer(latency_s=latency_s, slots=slots) as server, tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 2, 4, 8):
            work = make_workdir(
                Path(tmp) / str(concurrency),
                chunks,
                backend="lmstudio",
                base_url=server.url,
                paraphrases=0,  # the first pass only: one request per chunk
                concurrency=concurrency,
            )
            os.chdir(work)
            started = time.perf_counter()
            synth.main()
            seconds = time.perf_counter() - started
            metrics = json.loads((work / "metrics/synth.json").read_text())
            rows.append(
                {
                    "concurrency": concurrency,
                    "seconds": seconds,
                    "accepted": metrics["accepted"],
                    "pairs_per_min": metrics["accepted"] / seconds * 60,
                }
            )
    os.chdir(REPO_ROOT)
    for row in rows:
        row["ratio"] = row["pairs_per_min"] / rows[0]["pairs_per_min"]
    return rows


def parse_yield() -> list[dict]:
    corpus_dir = REPO_ROOT / "tests" / "data" / "messy_replies"
    expected = json.loads((corpus_dir / "expected.json").read_text(encoding="utf-8"))["expected"]
    corpus = {  # a stem ending in _cut is a reply stopped by max_tokens
        name: (
            (corpus_dir / f"{name}.txt").read_text(encoding="utf-8"),
            [tuple(p) for p in pairs],
            name.endswith("_cut"),
        )
        for name, pairs in expected.items()
    }
    replies_dir = REPO_ROOT / "tests" / "data" / "replies"
    model_replies = {}
    for path in sorted(replies_dir.glob("*.expected.json")):
        name = path.name.removesuffix(".expected.json")
        expected_reply = json.loads(path.read_text(encoding="utf-8"))
        model_replies[name] = (
            (replies_dir / f"{name}.txt").read_text(encoding="utf-8"),
            [tuple(p) for p in expected_reply["pairs"]],
            expected_reply["cut"],
        )
    served = {}
    for chunk in sample_chunks(articles_per_chunk=1):
        prompt = f'"""\n{chunk["text"]}\n"""'
        served[chunk["id"]] = (messy_reply(prompt), grounded_pairs(chunk["text"]), False)
    rows = []
    corpora = (
        ("messy_replies corpus", corpus),
        ("replies corpus", model_replies),
        ("fake-server replies", served),
    )
    for corpus_name, replies in corpora:
        for parser_name, parser in (("single regex", regex_pairs), ("parse_qa_pairs", parse_qa_pairs)):
            wanted = found = spurious = 0
            for text, pairs, cut in replies.values():
                got = [
                    squashed(p)
                    for p in (parse_qa_pairs(text, cut=cut) if parser is parse_qa_pairs else parser(text))
                ]
                pairs = [squashed(p) for p in pairs]
                wanted += len(pairs)
                found += sum(p in got for p in pairs)
                spurious += sum(p not in pairs for p in got)
            rows.append(
                {
                    "corpus": corpus_name,
                    "replies": len(replies),
                    "parser": parser_name,
                    "expected_pairs": wanted,
                    "recovered": found,
                    "yield": found / wanted,
                    "spurious": spurious,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per request at the fake server")
    parser.add_argument("--chunks", type=int, default=32)
    parser.add_argument("--slots", type=int, default=4, help="requests the fake server serves at once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    print(f"nproc={os.cpu_count()}  latency={args.latency}s  slots={args.slots}  chunks={args.chunks}\n")
    print("| concurrency | seconds | accepted pairs | pairs/min | ratio vs 1 |")
    print("|---:|---:|---:|---:|---:|")
    for r in throughput(args.latency, args.chunks, args.slots):
        print(
            f"| {r['concurrency']} | {r['seconds']:.2f} | {r['accepted']} | {r['pairs_per_min']:.0f} | {r['ratio']:.2f}x |"
        )
    print("\n| corpus | replies | parser | expected pairs | recovered | yield | spurious pairs |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in parse_yield():
        print(
            f"| {r['corpus']} | {r['replies']} | {r['parser']} | {r['expected_pairs']} | {r['recovered']} | {r['yield']:.0%} | {r['spurious']} |"
        )


if __name__ == "__main__":
    main()
