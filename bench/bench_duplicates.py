"""Benchmark the same-text duplicate check at corpus scale: MinHash-LSH + check against the pairwise check.

    python bench/bench_duplicates.py [--docs 500 2000] [--pairwise-up-to 2000] [--write FILE]

Documents: 4-40 paragraphs each, a fifth of them drawn from the repository's legal texts (sample acts, held-out
acts, format examples: the boilerplate unrelated acts share), the rest sentences of common Portuguese words; 2% of
them get a planted copy with 1% of its characters edited. Unrelated documents of this corpus share a median 20%
of their numbered 4-character shingles (the UFAM folder's born-digital acts: 10%), so its LSH candidates are if
anything more than a real corpus's. Both checks see the same documents; their results must be
equal. Reported: seconds, ratios scored, peak memory of the LSH check (tracemalloc, a run of its own), and its
throughput in characters per second, from which its time for a larger corpus follows (it grows with the text,
the pairwise check with the square of the documents).
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path

from rapidfuzz import fuzz

from stages.documents import duplicates
from stages.records.pages import OcrPage
from stages.text.lexicon import load_lexicon

ROOT = Path(__file__).resolve().parents[1]


def paragraphs() -> list[str]:
    files = [*(ROOT / "data/sample/src").glob("*.txt"), *(ROOT / "tests/data/heldout").glob("*.txt")]
    files += (ROOT / "tests/data/formats").glob("*.txt")
    found = []
    for path in sorted(files):
        found += [p.strip() for p in path.read_text(encoding="utf-8").split("\n") if len(p.strip()) > 30]
    return found


def corpus(n: int, rng: random.Random) -> dict[str, list[OcrPage]]:
    """`n` acts of 4-40 paragraphs, a fifth of them boilerplate from the repository's acts and the rest sentences
    of words drawn from the lexicon's 20,000 commonest; 2% get a copy with 1% of its characters edited."""
    pool = paragraphs()
    lexicon = load_lexicon().counts
    words = sorted((w for w, c in lexicon.items() if c > 0), key=lambda w: -lexicon[w])[:20000]

    def paragraph() -> str:
        if rng.random() < 0.2:
            return rng.choice(pool)
        return " ".join(rng.choices(words, k=rng.randint(15, 60))).capitalize() + "."

    texts = {f"act{i:06d}": "\n".join(paragraph() for _ in range(rng.randint(4, 40))) for i in range(n)}
    for doc in rng.sample(sorted(texts), max(1, n // 50)):
        chars = list(texts[doc])
        for _ in range(len(chars) // 100):
            chars[rng.randrange(len(chars))] = "#"
        texts[f"{doc}~copy"] = "".join(chars)
    return {doc: [OcrPage(page=1, method="ocr", text=t, confidence=90.0)] for doc, t in texts.items()}


def timed(check, docs: dict[str, list[OcrPage]], ratio: float) -> tuple[dict[str, str], float, int]:
    """(result, seconds, ratios scored) of one check."""
    scored = 0
    real_ratio = fuzz.ratio

    def counting(*args: object, **kwargs: object) -> float:
        nonlocal scored
        scored += 1
        return real_ratio(*args, **kwargs)

    duplicates.fuzz.ratio = counting  # the module the check calls it from
    started = time.perf_counter()
    try:
        result = check(docs, ratio)
    finally:
        duplicates.fuzz.ratio = real_ratio
    return result, time.perf_counter() - started, scored


def peak_memory(check, docs: dict[str, list[OcrPage]], ratio: float) -> int:
    """Peak bytes Python allocates during one check (a run of its own: tracing slows it down)."""
    tracemalloc.start()
    try:
        check(docs, ratio)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--pairwise-up-to", type=int, default=2000, help="run the pairwise check up to this size")
    ap.add_argument("--ratio", type=float, default=98.0)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    rows = [
        "| documents | characters | check | seconds | ratios scored | peak memory | duplicates found |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    throughput = []
    for n in args.docs:
        docs = corpus(n, random.Random(n))
        chars = sum(len(pages[0].text) for pages in docs.values())
        lsh, s_lsh, k_lsh = timed(duplicates.same_text_duplicates, docs, args.ratio)
        m_lsh = peak_memory(duplicates.same_text_duplicates, docs, args.ratio)
        throughput.append(chars / s_lsh)
        rows.append(
            f"| {len(docs):,} | {chars:,} | LSH + check | {s_lsh:.1f} | {k_lsh:,} | {m_lsh / 2**20:.0f} MiB | {len(lsh)} |"
        )
        print(rows[-1], flush=True)
        if len(docs) <= args.pairwise_up_to:
            pair, s_pair, k_pair = timed(duplicates.pairwise_duplicates, docs, args.ratio)
            assert pair == lsh, "LSH + check and the pairwise check disagree"
            rows.append(
                f"| {len(docs):,} | {chars:,} | pairwise | {s_pair:.1f} | {k_pair:,} | | {len(pair)} |"
            )
            print(rows[-1], flush=True)
    summary = (
        "LSH + check: "
        + ", ".join(
            f"{n:,} documents {rate / 1e6:.2f} M characters/s"
            for n, rate in zip(args.docs, throughput, strict=True)
        )
        + "; the same results as the pairwise check wherever both ran."
    )
    table = "\n".join(rows)
    print(f"{table}\n\n{summary}")
    if args.write:
        args.write.write_text(
            "# Same-text duplicates at corpus scale\n\n"
            f"Command: `python bench/bench_duplicates.py {' '.join(sys.argv[1:])}`  \n"
            f"Machine: {platform.machine()}, Python {platform.python_version()}; `ocr.duplicate_similarity` "
            f"{args.ratio}, {duplicates.NUM_PERM} permutations, {duplicates.lsh_rows(args.ratio)} rows a band.\n\n"
            f"{table}\n\n{summary}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
