"""Near-duplicate questions: the same digit runs and question_keys at least `ratio` alike (rapidfuzz's ratio).

Only questions with the same numbers can be near-duplicates, so they are compared group by group: the work is
the sum of the squares of the groups' sizes, not the square of the questions'. A question that names its act by
number and year ("Resolução nº 12/2024") and its provision by number falls in a group of the questions about
one act number of one year, which stays the same size as a corpus grows (at most 69 questions among the 33,504
of 1,000 generated acts). A group of up to LARGE_GROUP questions is scored whole, in rapidfuzz's C++ (0.2-0.4
µs a pair on 2 busy cores), its rows in blocks so memory stays small.

Questions without any number (or with one common number only) can make a large group. There, pivots rule
pairs out before any is scored (`_pivot_candidates`): exact, as it rests on the triangle inequality, so no pair
that scores `ratio` is lost. On the rules backend's number-less paraphrases of 100 generated acts (14,930
questions, 131 characters on average) it leaves 1.8% of the pairs to score and takes 5 s instead of 41 s; the
work still grows with the square of the group, with a constant about 8 times smaller. An exact filter on shared
trigrams (prefix filtering, Chaudhuri et al. 2006) was measured and left out: at ratio 90 it must keep any pair
sharing ~45% of its trigrams, and these questions, alike in their wording ("o que estabelece o art ... da
resolucao n ..."), nearly all do (80-96% of the pairs kept); MinHash-LSH would have to be as loose to lose no
pair at the threshold.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from stages.text.fold import STOPWORDS, question_key

BLOCK_ROWS = 1024  # rows of a group scored at once: 1024 x the group's size float32 scores in memory
# A group larger than this is not scored whole: the pivot filter (`_pivot_candidates`) picks the pairs to score.
LARGE_GROUP = 2048
PIVOTS = 16  # keys the filter measures every key against (and the empty string)


def content_words(question: str) -> frozenset[str]:
    """The question's words that say what it asks: folded, function words (fold.STOPWORDS) and anything with a
    digit ("5", "5o" of "5º": numbers_of compares those) left out."""
    return frozenset(
        w for w in question_key(question).split() if w not in STOPWORDS and not any(c.isdigit() for c in w)
    )


def same_content_words(a: str, b: str) -> bool:
    """True when questions `a` and `b` ask with the same words, a misspelling apart: every content word one has
    and the other lacks is one edit from a word the other has and the first lacks ("estagio"/"estagoi" alike,
    "estagio"/"estagiario" not). Word order, function words, accents and case do not count."""
    from rapidfuzz.distance import Levenshtein

    words_a, words_b = content_words(a), content_words(b)
    only_a, only_b = words_a - words_b, words_b - words_a

    def matched(words: frozenset[str], others: frozenset[str]) -> bool:
        return all(
            len(w) >= 5 and any(Levenshtein.distance(w, o, score_cutoff=1) <= 1 for o in others)
            for w in words
        )

    return matched(only_a, only_b) and matched(only_b, only_a)


def numbers_of(question: str) -> tuple[str, ...]:
    """The digit runs of a question: 'artigo 5' and 'artigo 6' are different questions however alike."""
    return tuple(re.findall(r"\d+", question))


def _alike_in_group(keys: list[str], ratio: float, rapidfuzz_cutoff: bool) -> Iterator[tuple[int, int]]:
    """(a, b), a < b, positions in `keys` whose keys score `ratio`: every pair scored, BLOCK_ROWS rows at a time."""
    from rapidfuzz import fuzz, process

    for start in range(0, len(keys), BLOCK_ROWS):
        rows = keys[start : start + BLOCK_ROWS]
        if rapidfuzz_cutoff:
            alike = process.cdist(rows, keys[start:], scorer=fuzz.ratio, score_cutoff=ratio, workers=1) > 0
        else:
            scores = process.cdist(rows, keys[start:], scorer=fuzz.ratio, workers=1, dtype=np.float64)
            alike = scores >= ratio
        for a, b in zip(*np.nonzero(np.triu(alike, 1)), strict=True):
            yield start + int(a), start + int(b)


def max_distance(total_len: np.ndarray, ratio: float) -> np.ndarray:
    """The largest Indel distance at which keys of `total_len` characters together still score `ratio` (a hair
    more: a score that float rounding puts exactly on `ratio` is never ruled out)."""
    return np.floor((100.0 - ratio) * total_len / 100.0 + 1e-6)


def _pivot_candidates(keys: list[str], ratio: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Positions (a, b), a < b, of `keys` that the triangle inequality cannot rule out, a batch at a time: every
    pair that scores `ratio`, and some more.

    The Indel distance is a metric, and a pair scores `ratio` only if its distance is at most `max_distance` of
    its lengths together. For any key p, |d(a, p) - d(b, p)| <= d(a, b): a pair whose distances to some pivot
    differ by more than that cannot score `ratio`. The pivots: the empty string (its distance is the length) and
    PIVOTS keys of the group. Keys are sorted by their distance to the pivot that spreads them most, so a block
    of rows meets only the keys after it within reach on that pivot; three pivots rule out most of those at
    once, against a bound per row, and the rest are checked pair by pair on every pivot."""
    from rapidfuzz import process
    from rapidfuzz.distance import Indel

    pivots = ["", *keys[:: max(1, len(keys) // PIVOTS)][:PIVOTS]]
    dist = process.cdist(keys, pivots, scorer=Indel.distance, dtype=np.int32, workers=1)
    by_spread = [int(p) for p in np.argsort(-dist.std(axis=0), kind="stable")]
    order = np.argsort(dist[:, by_spread[0]], kind="stable")
    columns = [np.ascontiguousarray(dist[order, p]) for p in range(len(pivots))]
    lengths, along = columns[0], columns[by_spread[0]]
    share = (100.0 - ratio) / 100.0
    longest_partner = np.minimum(lengths.max(), np.floor((lengths * (1 + share) + 1) / (1 - share)))
    reach = max_distance(lengths + longest_partner, ratio).astype(
        np.int32
    )  # no partner is farther, on any pivot
    for start in range(0, len(keys), 256):
        rows = np.arange(start, min(start + 256, len(keys)))
        end = int(np.searchsorted(along, (along[rows] + reach[rows]).max(), side="right"))
        for first in range(start + 1, end, 8192):  # 256 x 8192 pairs at a time: a few MB
            cols = slice(first, min(first + 8192, end))
            near = np.ones((len(rows), cols.stop - first), dtype=bool)
            for p in by_spread[:3]:
                near &= np.abs(columns[p][rows, None] - columns[p][None, cols]) <= reach[rows, None]
            a, b = np.nonzero(near)
            a, b = rows[a], b + first
            a, b = a[a < b], b[a < b]
            limit = max_distance(lengths[a] + lengths[b], ratio)
            for p in range(len(pivots)):
                kept = np.abs(columns[p][a] - columns[p][b]) <= limit
                limit, a, b = limit[kept], a[kept], b[kept]
            a, b = order[a], order[b]
            yield np.minimum(a, b), np.maximum(a, b)


def _alike_candidates(
    keys: list[str], a: np.ndarray, b: np.ndarray, ratio: float, rapidfuzz_cutoff: bool
) -> Iterator[tuple[int, int]]:
    """The pairs (a[k], b[k]) whose keys score `ratio`."""
    from rapidfuzz import fuzz, process

    left, right = [keys[i] for i in a.tolist()], [keys[j] for j in b.tolist()]
    if not left:
        return
    if rapidfuzz_cutoff:
        alike = process.cpdist(left, right, scorer=fuzz.ratio, score_cutoff=ratio, workers=1) > 0
    else:
        alike = process.cpdist(left, right, scorer=fuzz.ratio, workers=1, dtype=np.float64) >= ratio
    yield from zip(a[alike].tolist(), b[alike].tolist(), strict=True)


def near_duplicate_pairs(
    questions: Sequence[str], ratio: float, *, rapidfuzz_cutoff: bool = True
) -> list[tuple[int, int]]:
    """Every (i, j), i < j, of questions with the same numbers whose question_keys score >= `ratio`, sorted.

    rapidfuzz_cutoff=True decides as rapidfuzz does given score_cutoff=ratio (as process.cdist does);
    False as `fuzz.ratio(a, b) >= ratio`. The two differ only where float rounding puts a score on the threshold
    itself: never at 90 for keys up to 2,000 characters, but at 93 for 14 edits in 200 characters."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, q in enumerate(questions):
        groups[numbers_of(q)].append(i)
    pairs = []
    for members in groups.values():
        if len(members) < 2:
            continue
        keys = [question_key(questions[i]) for i in members]
        if len(members) <= LARGE_GROUP:
            alike = _alike_in_group(keys, ratio, rapidfuzz_cutoff)
        else:
            alike = (
                pair
                for a, b in _pivot_candidates(keys, ratio)
                for pair in _alike_candidates(keys, a, b, ratio, rapidfuzz_cutoff)
            )
        pairs += [(members[a], members[b]) for a, b in alike]
    return sorted(pairs)


def near_duplicate_questions(questions: Sequence[str], ratio: float) -> list[tuple[int, int]]:
    """The near_duplicate_pairs (same numbers, keys `ratio` alike) that also ask with the same content words.

    Two questions about one act can share 90% of their characters and ask different things: "o que a Instrução
    Normativa que estabelece os procedimentos para a realização de estágio obrigatório diz sobre o estagiário?"
    and "... sobre o estágio?" differ only in their subject. Counted as one, such pairs chain the chunks of an act
    into one group (on the shipped sample, 26 chunks into 9 groups); `same_content_words` keeps them apart while
    a reworded or misspelt copy of one question stays a duplicate."""
    return [
        (i, j)
        for i, j in near_duplicate_pairs(questions, ratio, rapidfuzz_cutoff=False)
        if same_content_words(questions[i], questions[j])
    ]
