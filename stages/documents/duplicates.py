"""Documents whose whole text is (nearly) another's: MinHash-LSH finds the candidates, rapidfuzz decides.

The decision is the pairwise check's: two texts (whitespace squashed, lower case) are one document when the
first is at least MIN_CHARS long, their lengths are within LENGTH_SLACK of the first's, and their rapidfuzz
ratio is at least `ocr.duplicate_similarity`. Scoring every pair costs n² ratios, hours for 100,000 acts, so
each document is first turned into a MinHash signature (datasketch) of its numbered SHINGLE-character shingles,
and only the pairs LSH puts in one bucket are checked; documents are indexed by length too (buckets LENGTH_SLACK
wide), as the check compares only lengths within LENGTH_SLACK.

Why LSH finds every pair the check takes. Number each shingle by its occurrence ("de a" the 2nd time is
another shingle than the 1st), so that set similarity counts repeats. Take an alignment behind the ratio: it
matches all but d characters of the two texts (d = the InDel distance, at most (1 - ratio/100) x (la + lb)).
A shingle of `a` whose k characters are matched to k consecutive characters of `b` is one `b` has: each
unmatched character of `a` spoils at most k shingles of `a`, each character inserted in `b` at most k - 1. So
the texts share at least max(la, lb) - (k - 1) - k x d numbered shingles, and their Jaccard similarity is at
least `min_jaccard(ratio)`: 0.60 at ratio 98 (6-character shingles, the shortest pair the check takes). LSH
with `rows` rows in each of NUM_PERM // rows bands misses a pair of similarity J with probability
(1 - J^rows)^bands; `lsh_rows` takes the most rows (the fewest false candidates) that keep that under
MISS_BOUND at min_jaccard (at ratio 98: 128 bands of 4 rows, a miss about 1e-8), and below a ratio where no
setting does (about 92), every pair is compared.
tests/test_duplicates.py checks the bound on planted near-duplicates at the threshold and that LSH + check
equals the pairwise check on random small corpora.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz

from stages.records.pages import OcrPage
from stages.text.fold import squash_ws

MIN_CHARS = 200  # a near-empty document is not "the same text" as another
LENGTH_SLACK = 0.02  # two texts whose lengths differ by more than this share of the first's are not compared
# Characters per shingle: longer ones share less between unrelated acts (numbered 6-shingles: median 7.5% of
# acts of like length, bench/bench_duplicates.py; 4-shingles: 31%, too many candidates) but lower min_jaccard
SHINGLE = 6
NUM_PERM = 512  # MinHash permutations: 2 KB of signature (uint32) per document, held only while it is indexed
MISS_BOUND = 1e-6  # the most likely LSH may be to leave out a pair the check would take
SEED = 1  # datasketch's permutations: fixed, so a run is repeatable
_POLY = np.uint64(0x100000001B3)  # shingle -> 64 bits: polynomial hash of its code points (wraps mod 2^64)
_OCCURRENCE = np.uint64(0x9E3779B97F4A7C15)  # mixes the occurrence number into the shingle's hash


def normalized_texts(docs: dict[str, list[OcrPage]]) -> dict[str, str]:
    """Each document's pages joined, whitespace squashed, lower case: what the check compares."""
    return {doc: squash_ws(" ".join(r.text for r in pages)).lower() for doc, pages in docs.items()}


def keep_order(docs: dict[str, list[OcrPage]]) -> list[str]:
    """Documents in the order they are kept: fewer suspect pages first, then by id."""
    suspect = {doc: sum(r.verdict == "suspect" for r in pages) for doc, pages in docs.items()}
    return sorted(docs, key=lambda doc: (suspect[doc], doc))


def alike(a: str, b: str, min_ratio: float) -> bool:
    """The check: `b` is `a`'s copy (lengths within LENGTH_SLACK of `a`'s, rapidfuzz ratio >= min_ratio)."""
    return abs(len(a) - len(b)) <= LENGTH_SLACK * len(a) and bool(fuzz.ratio(a, b, score_cutoff=min_ratio))


def first_copies(
    norm: dict[str, str], order: list[str], min_ratio: float, later: Callable[[int, str], Iterable[str]]
) -> dict[str, str]:
    """doc -> the doc it copies: each document of `order` (not itself a copy) takes as its copies the documents
    `later` offers it (those after it in `order`) that are no copy yet and pass the check."""
    copy_of: dict[str, str] = {}
    for i, a in enumerate(order):
        if a in copy_of or len(norm[a]) < MIN_CHARS:
            continue
        for b in later(i, a):
            if b not in copy_of and alike(norm[a], norm[b], min_ratio):
                copy_of[b] = a
    return copy_of


def pairwise_duplicates(docs: dict[str, list[OcrPage]], min_ratio: float) -> dict[str, str]:
    """same_text_duplicates by checking every pair: n² ratios (the reference LSH must equal)."""
    order = keep_order(docs)
    return first_copies(normalized_texts(docs), order, min_ratio, lambda i, _a: order[i + 1 :])


def min_jaccard(min_ratio: float, shingle: int = SHINGLE) -> float:
    """The lowest Jaccard similarity of numbered shingles two texts the check takes can have (module docstring);
    <= 0 when the ratio allows texts that share none."""
    slack = 1 - min_ratio / 100
    lowest = 1.0
    # (N la - (k-1)) / (D la - (k-1)) grows with la (N < D) and is monotone in lb/la on each side of 1
    for rho in (1 - LENGTH_SLACK, 1.0, 1 + LENGTH_SLACK):
        edits = slack * (1 + rho)  # per character of `a`
        shared = max(1, rho) - shingle * edits
        union = min(1, rho) + shingle * edits
        num, den = shared * MIN_CHARS - (shingle - 1), union * MIN_CHARS - (shingle - 1)
        lowest = min(lowest, num / den)
    return lowest


def lsh_rows(min_ratio: float) -> int | None:
    """Rows per LSH band for `min_ratio`: the most that keep a miss at min_jaccard under MISS_BOUND; None
    when no band layout does (then every pair is compared)."""
    floor = min_jaccard(min_ratio)
    if floor <= 0:
        return None
    fitting = [r for r in range(1, NUM_PERM + 1) if (1 - floor**r) ** (NUM_PERM // r) <= MISS_BOUND]
    return max(fitting) if fitting else None


def shingle_hashes(text: str, shingle: int = SHINGLE) -> np.ndarray:
    """32-bit hashes of `text`'s numbered shingles (each shingle with its occurrence number)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - shingle + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(shingle):
        h = h * _POLY + codes[j : j + n]
    order = np.argsort(h, kind="stable")  # equal shingles stay in text order
    sorted_h = h[order]
    starts = np.flatnonzero(np.r_[True, sorted_h[1:] != sorted_h[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    occurrence = np.empty(n, dtype=np.uint64)
    occurrence[order] = np.arange(n, dtype=np.uint64) - first.astype(np.uint64)
    x = h ^ (occurrence * _OCCURRENCE)
    for shift, mult in ((33, 0xFF51AFD7ED558CCD), (33, 0xC4CEB9FE1A85EC53)):  # MurmurHash3's 64-bit finalizer
        x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
    return (x ^ (x >> np.uint64(33))) & np.uint64(0xFFFFFFFF)


def signature(text: str) -> MinHash:
    """The MinHash of `text`'s numbered shingles (hashed in batches: datasketch holds batch x NUM_PERM)."""
    m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)
    hashes = shingle_hashes(text)
    for start in range(0, len(hashes), 2048):
        m.update_batch(hashes[start : start + 2048].tolist())
    return m


def length_bucket(chars: int) -> int:
    """Texts whose lengths the check compares (within LENGTH_SLACK of each other) fall in the same or adjacent
    buckets: the buckets are LENGTH_SLACK wide on a log scale."""
    return math.floor(math.log(chars) / _BUCKET_WIDTH)


_BUCKET_WIDTH = -math.log(1 - LENGTH_SLACK) * 1.0001  # >= |ln(lb / la)| for every pair the check compares


def lsh_candidates(norm: dict[str, str], order: list[str], rows: int) -> dict[str, list[str]]:
    """doc -> the documents after it in `order` that share an LSH bucket with it and whose length is in its
    length bucket or a neighbouring one (the only lengths the check compares).

    Length buckets are taken shortest first, each with an LSH index of its own: a document is queried against
    the documents already indexed in its bucket and the one below, then indexed, so every pair of neighbouring
    buckets is looked at once, and only two buckets' indexes are held at a time (no signature is kept)."""
    rank = {doc: i for i, doc in enumerate(order)}
    shortest = (1 - LENGTH_SLACK) * MIN_CHARS  # the shortest text the check can call a copy
    by_length: dict[int, list[str]] = {}
    for doc in order:
        if len(norm[doc]) >= shortest:
            by_length.setdefault(length_bucket(len(norm[doc])), []).append(doc)
    later: dict[str, list[str]] = {doc: [] for doc in order if len(norm[doc]) >= MIN_CHARS}
    indexes: dict[int, MinHashLSH] = {}
    for bucket in sorted(by_length):
        indexes = {b: index for b, index in indexes.items() if b == bucket - 1}
        indexes[bucket] = MinHashLSH(num_perm=NUM_PERM, params=(NUM_PERM // rows, rows))
        for doc in by_length[bucket]:
            m = signature(norm[doc])
            for other in set().union(*(index.query(m) for index in indexes.values())):
                first, second = sorted((doc, other), key=rank.__getitem__)
                if first in later:
                    later[first].append(second)
            indexes[bucket].insert(doc, m)
    return {doc: sorted(found, key=rank.__getitem__) for doc, found in later.items()}


def same_text_duplicates(docs: dict[str, list[OcrPage]], min_ratio: float) -> dict[str, str]:
    """doc -> the doc it duplicates, for documents whose whole text is (nearly) another's.

    Compared with whitespace and case folded; only pairs whose lengths are within 2% are scored. Of two alike,
    the one with fewer suspect pages stays, then the first by id. Candidates from MinHash-LSH (module
    docstring); the same result as pairwise_duplicates."""
    order = keep_order(docs)
    norm = normalized_texts(docs)
    rows = lsh_rows(min_ratio)
    if rows is None:
        return first_copies(norm, order, min_ratio, lambda i, _a: order[i + 1 :])
    later = lsh_candidates(norm, order, rows)
    return first_copies(norm, order, min_ratio, lambda _i, a: later.get(a, []))
