"""Near-duplicate questions: the same digit runs, question_keys at least `ratio` alike (rapidfuzz's ratio) and
the same content words, a misspelling apart.

Only questions with the same numbers can be near-duplicates, so they are compared group by group. A question that
names its act by number and year ("Resolução nº 12/2024") and its provision by number falls in a group of the
questions about one act number of one year, which stays the same size as a corpus grows. A group of up to
LARGE_GROUP questions is scored whole, in rapidfuzz's C++, its rows in blocks so memory stays small.

Questions without any number (the act named by its title or topic, as a student asks) make one group that grows
with the corpus: half of the rules backend's questions. There, a question is paired only with the questions
that hold a neighbour of each of its rarest content words (`_word_candidates`): exact, as a pair with different
content words is never a near-duplicate. The work grows with the questions sharing those words; on generated
acts, whose ~330 words every act reuses, that is still faster than the corpus grows: 99.7 s for 1,000 acts,
against 10.1 s for 250 (docs/scaling.md, `python -m bench.bench_near_dups`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from stages.text.fold import STOPWORDS, question_key

BLOCK_ROWS = 1024  # rows of a group scored at once: 1024 x the group's size float64 scores in memory
# A group larger than this is not scored whole: its content words pick the pairs to score (`_word_candidates`).
LARGE_GROUP = 2048
CANDIDATE_BATCH = 1 << 18  # candidate pairs scored at once: a few MB of keys
WORDS_LOOKED_UP = 3  # a question's rarest content words whose neighbours its partners must hold
FEW_PARTNERS = 32  # partners scored without narrowing them by another word


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


def _alike_in_group(keys: list[str], ratio: float) -> Iterator[tuple[int, int]]:
    """(a, b), a < b, positions in `keys` whose keys score `ratio`: every pair scored, BLOCK_ROWS rows at a time."""
    from rapidfuzz import fuzz, process

    for start in range(0, len(keys), BLOCK_ROWS):
        rows = keys[start : start + BLOCK_ROWS]
        scores = process.cdist(rows, keys[start:], scorer=fuzz.ratio, workers=1, dtype=np.float64)
        for a, b in zip(*np.nonzero(np.triu(scores >= ratio, 1)), strict=True):
            yield start + int(a), start + int(b)


def word_variants(word: str) -> tuple[str, ...]:
    """The word and, from 5 letters on, every spelling of it with one letter left out: two words one edit apart
    (a misspelling to `same_content_words`) share one of these."""
    if len(word) < 5:
        return (word,)
    return (word, *sorted({word[:k] + word[k + 1 :] for k in range(len(word))}))


def _word_candidates(words: list[frozenset[str]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Positions (a, b), a < b, a batch at a time, of the questions that can ask with the same content words:
    every pair that `same_content_words` accepts, and some more.

    A pair passes only if each content word of the first is in the second or one edit from one of its words,
    so the second holds a neighbour (a word sharing a `word_variants` spelling) of every word of the first. Each
    question is looked up by the word whose neighbours occur in the fewest questions (its rarest) and paired
    with the later questions that hold one, narrowed to those that also hold a neighbour of its next rarest
    words (WORDS_LOOKED_UP): the work grows with the questions that share its rare words, not with the square
    of the group. Questions without a content word pass only with each other."""
    vocab = {w: k for k, w in enumerate(sorted({w for question_words in words for w in question_words}))}
    question_of = np.fromiter((i for i, ws in enumerate(words) for _ in ws), dtype=np.int32)
    word_of = np.fromiter((vocab[w] for ws in words for w in ws), dtype=np.int32)
    by_word = np.lexsort((question_of, word_of))
    postings = question_of[by_word]  # the questions holding word k: postings[starts[k] : starts[k + 1]]
    starts = np.searchsorted(word_of[by_word], np.arange(len(vocab) + 1))
    by_variant: dict[str, list[int]] = defaultdict(list)
    for w, k in vocab.items():
        for variant in word_variants(w):
            by_variant[variant].append(k)
    neighbours = [
        sorted({n for variant in word_variants(w) for n in by_variant[variant]}) if len(w) >= 5 else [k]
        for w, k in vocab.items()
    ]
    cost = [int(sum(starts[n + 1] - starts[n] for n in near)) for near in neighbours]
    wordless = np.array([i for i, ws in enumerate(words) if not ws], dtype=np.int64)
    for k in range(len(wordless) - 1):
        yield np.full(len(wordless) - k - 1, wordless[k]), wordless[k + 1 :]
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    batched = 0
    for a, question_words in enumerate(words):
        if not question_words:
            continue
        rarest = sorted((vocab[w] for w in question_words), key=lambda k: (cost[k], k))[:WORDS_LOOKED_UP]
        partners = np.unique(
            np.concatenate([postings[starts[n] : starts[n + 1]] for n in neighbours[rarest[0]]])
        )
        partners = partners[partners > a]
        for k in rarest[1:]:  # a partner holds a neighbour of each word: the next rarest words narrow them
            if len(partners) <= FEW_PARTNERS:
                break
            holding = np.concatenate([postings[starts[n] : starts[n + 1]] for n in neighbours[k]])
            partners = partners[np.isin(partners, holding)]
        firsts.append(np.full(len(partners), a))
        seconds.append(partners)
        batched += len(partners)
        if batched >= CANDIDATE_BATCH:
            yield np.concatenate(firsts), np.concatenate(seconds)
            firsts, seconds, batched = [], [], 0
    if seconds:
        yield np.concatenate(firsts), np.concatenate(seconds)


def _alike_candidates(
    keys: list[str], a: np.ndarray, b: np.ndarray, ratio: float
) -> Iterator[tuple[int, int]]:
    """The pairs (a[k], b[k]) whose keys score `ratio`, scored in rapidfuzz's C++."""
    from rapidfuzz import fuzz, process

    if not len(a):
        return
    left, right = [keys[i] for i in a.tolist()], [keys[j] for j in b.tolist()]
    alike = process.cpdist(left, right, scorer=fuzz.ratio, workers=1, dtype=np.float64) >= ratio
    yield from zip(a[alike].tolist(), b[alike].tolist(), strict=True)


def near_duplicate_questions(questions: Sequence[str], ratio: float) -> list[tuple[int, int]]:
    """Every (i, j), i < j, sorted, of questions with the same numbers whose question_keys score >= `ratio`
    (rapidfuzz's ratio) and that ask with the same content words (`same_content_words`).

    Two questions about one act can share 90% of their characters and ask different things: "o que a Instrução
    Normativa que estabelece os procedimentos para a realização de estágio obrigatório diz sobre o estagiário?"
    and "... sobre o estágio?" differ only in their subject. Counted as one, such pairs chain the chunks of an act
    into one group (on the shipped sample, 26 chunks into 9 groups); `same_content_words` keeps them apart while
    a reworded or misspelt copy of one question stays a duplicate."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, q in enumerate(questions):
        groups[numbers_of(q)].append(i)
    pairs = []
    for members in groups.values():
        if len(members) < 2:
            continue
        keys = [question_key(questions[i]) for i in members]
        if len(members) <= LARGE_GROUP:
            alike: Iterator[tuple[int, int]] = _alike_in_group(keys, ratio)
        else:
            words = [content_words(questions[i]) for i in members]
            alike = (
                pair for a, b in _word_candidates(words) for pair in _alike_candidates(keys, a, b, ratio)
            )
        pairs += [
            (members[a], members[b])
            for a, b in alike
            if same_content_words(questions[members[a]], questions[members[b]])
        ]
    return sorted(pairs)
