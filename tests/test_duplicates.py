"""Near-duplicate documents: MinHash-LSH candidates + the pairwise check give exactly the pairwise check's result.

Two kinds of evidence: planted copies edited as far as the check allows (every edit where it spoils the most
shingles) keep the Jaccard similarity min_jaccard promises and are LSH candidates; and on random small corpora
LSH + check equals the pairwise check (hypothesis).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from stages.documents.duplicates import (
    MIN_CHARS,
    SHINGLE,
    alike,
    length_bucket,
    lsh_candidates,
    lsh_rows,
    min_jaccard,
    pairwise_duplicates,
    same_text_duplicates,
    shingle_hashes,
)
from stages.records.pages import OcrPage
from stages.text.fold import squash_ws

WORDS = (
    "art resolução conselho universitário curso graduação aluno disciplina prazo dias parágrafo inciso "
    "reitor portaria caput vigor data publicação revogadas disposições contrário estágio bolsa avaliação "
    "de da do dos das a o e em para com no na por que se ao pela pelo"
).split()


REPO = Path(__file__).resolve().parents[1]


def text_of(rng: random.Random, chars: int) -> str:
    """`chars` characters of words drawn at random."""
    words: list[str] = []
    while len(" ".join(words)) < chars:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:chars]


def real_texts() -> dict[str, str]:
    """The repository's legal texts (sample, held-out acts, format examples), normalized as the check does; the
    long ones cut into 800-character pieces: 42 texts from 19 acts, none a copy of another."""
    files = [*(REPO / "data/sample/src").glob("*.txt"), *(REPO / "tests/data/heldout").glob("*.txt")]
    files += (REPO / "tests/data/formats").glob("*.txt")
    texts = {}
    for path in sorted(files):
        text = squash_ws(path.read_text(encoding="utf-8")).lower()
        if len(text) <= 1600:
            texts[path.stem] = text
            continue
        for start in range(0, len(text) - 800, 800):
            texts[f"{path.stem}@{start}"] = text[start : start + 800].strip()
    return texts


def numbered_jaccard(a: str, b: str, k: int = SHINGLE) -> float:
    """The exact Jaccard similarity of the texts' numbered k-character shingles (repeats counted)."""

    def shingles(t: str) -> Counter[str]:
        return Counter(t[i : i + k] for i in range(len(t) - k + 1))

    sa, sb = shingles(a), shingles(b)
    return sum((sa & sb).values()) / sum((sa | sb).values())


def spread_edits(text: str, edits: int, rng: random.Random) -> str:
    """`text` with `edits` letters replaced, spread evenly (each in other shingles: the worst case for LSH)."""
    chars = list(text)
    step = len(chars) / edits
    for i in range(edits):
        at = int(i * step + step / 2)
        chars[at] = "#" if chars[at] != "#" else "%"
    return "".join(chars)


def at_threshold(text: str, min_ratio: float, rng: random.Random) -> str:
    """A copy of `text` with as many spread edits as the check still takes (the most it allows)."""
    edits = int(len(text) * (1 - min_ratio / 100)) + 2
    while edits > 0 and not alike(text, copy := spread_edits(text, edits, rng), min_ratio):
        edits -= 1
    return copy


def docs_of(texts: dict[str, str], suspect: set[str] = frozenset()) -> dict[str, list[OcrPage]]:
    return {
        doc: [
            OcrPage(
                page=1, method="ocr", text=t, confidence=90.0, verdict="suspect" if doc in suspect else "ok"
            )
        ]
        for doc, t in texts.items()
    }


def test_shingles_are_numbered_by_occurrence() -> None:
    text = "abcdabcdabcdabcd"  # every shingle comes back: numbered, each occurrence is a shingle of its own
    hashes = shingle_hashes(text)
    assert len(hashes) == len(text) - SHINGLE + 1 == len(set(hashes.tolist()))
    assert shingle_hashes("abc").size == 0
    assert shingle_hashes("Art. 1º Ficam").tolist() == shingle_hashes("Art. 1º Ficam").tolist()


def test_the_band_layout_follows_the_threshold() -> None:
    assert min_jaccard(98) > 0.6 and lsh_rows(98) == 4  # 128 bands of 4 rows
    assert lsh_rows(99) > lsh_rows(98) > lsh_rows(95)  # stricter check: fewer, longer bands
    assert min_jaccard(90) < 0 and lsh_rows(90) is None  # no bound: every pair is compared


def test_planted_copies_at_the_threshold_are_candidates() -> None:
    rng = random.Random(7)
    originals = {doc: text for doc, text in real_texts().items() if len(text) >= MIN_CHARS}
    originals |= {f"soup{i}": text_of(rng, n) for i, n in enumerate([MIN_CHARS, 250, 2000, 6000, 15000])}
    for min_ratio in (98.0, 99.0, 95.0):
        texts = dict(originals)
        for doc, text in originals.items():
            copy = at_threshold(text, min_ratio, rng)
            assert alike(text, copy, min_ratio), doc
            assert numbered_jaccard(text, copy) >= min_jaccard(min_ratio), (min_ratio, doc)
            texts[f"{doc}~copy"] = copy
        later = lsh_candidates(texts, sorted(texts), lsh_rows(min_ratio))
        for doc in originals:
            assert f"{doc}~copy" in later[doc], (min_ratio, doc)
        assert same_text_duplicates(docs_of(texts), min_ratio) == {f"{d}~copy": d for d in originals}


def test_unrelated_acts_are_seldom_candidates() -> None:
    """LSH prunes the pairs the check would score: unrelated acts share boilerplate, not a bucket."""
    texts = real_texts()
    later = lsh_candidates(texts, sorted(texts), lsh_rows(98.0))
    candidates = sum(len(v) for v in later.values())
    pairs = len(texts) * (len(texts) - 1) // 2
    assert candidates <= 0.01 * pairs  # none of 861: the pairwise check scores those of like length
    assert same_text_duplicates(docs_of(texts), 98.0) == {}


@st.composite
def corpora(draw: st.DrawFn) -> tuple[dict[str, str], set[str]]:
    """2-9 documents made from 1-3 texts, each copied with up to 4% of its characters edited at random."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    bases = [text_of(rng, draw(st.integers(150, 1500))) for _ in range(draw(st.integers(1, 3)))]
    texts = {}
    for i in range(draw(st.integers(2, 9))):
        chars = list(rng.choice(bases))
        for _ in range(int(len(chars) * draw(st.floats(0, 0.04)))):
            at = rng.randrange(len(chars))
            kind = rng.random()
            if kind < 0.4:
                chars[at] = rng.choice("aeiou#")
            elif kind < 0.7:
                del chars[at]
            else:
                chars.insert(at, rng.choice("aeiou "))
        texts[f"d{i}"] = "".join(chars)
    suspect = {doc for doc in texts if draw(st.booleans()) and draw(st.booleans())}
    return texts, suspect


@settings(max_examples=150, deadline=None)
@given(corpora(), st.sampled_from([99.5, 99.0, 98.0, 97.0, 95.0, 90.0, 80.0]))
def test_lsh_and_check_equal_the_pairwise_check(
    corpus: tuple[dict[str, str], set[str]], min_ratio: float
) -> None:
    texts, suspect = corpus
    docs = docs_of(texts, suspect)
    assert same_text_duplicates(docs, min_ratio) == pairwise_duplicates(docs, min_ratio)


@given(st.integers(196, 10**7), st.floats(-0.02, 0.02))
def test_lengths_the_check_compares_fall_in_adjacent_buckets(chars: int, slack: float) -> None:
    other = round(chars * (1 + slack))
    if abs(other - chars) <= 0.02 * chars:
        assert abs(length_bucket(other) - length_bucket(chars)) <= 1
