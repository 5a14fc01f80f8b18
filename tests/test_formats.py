"""Legislation as OCR and text layers spell it (tests/data/formats/): "Art. 1°", "Art 1o", "ART. 1º", "Artigo 1.º",
"Art. 10 -", "Art. 1.027.", "§1º", "PARÁGRAFO ÚNICO", incisos "I —" / "I)" / "I.", alíneas "a.", one-line and
sentence-case headings, Portugal's epigraphs and numbered paragraphs, and two documents with no articles.

For each snippet: the chunker finds the expected article labels (normalization documented in expected.json),
never splits an article it could keep whole, and keeps its usual invariants; the rules backend asks about every
article it sees (a question cites it), naming the act from its title, with answers that are verbatim spans of the
chunk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stages.qa.rules.document import document_facts
from stages.qa.rules.phrasings import phrasings
from stages.qa.validate import grounding_score
from stages.text.chunking import ChunkParams, chunk_document
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams
from stages.text.fold import squash_ws
from stages.text.legis.grammar import HEADING_RE, PARAGRAPH_RE, article_label, is_structural_start
from stages.text.legis.sentences import split_sentences
from stages.text.tokens import approx_token_count

count = approx_token_count
FORMATS = Path(__file__).parent / "data" / "formats"
EXPECTED: dict[str, dict] = json.loads((FORMATS / "expected.json").read_text(encoding="utf-8"))["files"]
NAMES = sorted(EXPECTED)
LIMITS = (32, 48, 64, 96, 128, 192, 350)  # chunk.max_tokens swept; overlap = max_tokens // 8


def read(name: str) -> str:
    return (FORMATS / name).read_text(encoding="utf-8")


def content(chunk: dict) -> str:
    return chunk.text[chunk.overlap_chars :]


def chunks_at(name: str, max_tokens: int | None = None) -> list[dict]:
    p = ChunkParams() if max_tokens is None else ChunkParams(max_tokens=max_tokens, overlap=max_tokens // 8)
    return chunk_document(Path(name).stem, read(name), p, count)


def article_spans(name: str) -> list[tuple[str, str, int]]:
    """(label, the article's text, tokens it needs in one chunk): the headings above it are in its unit, and
    the first article also carries the title block."""
    text = read(name)
    out, prev_end = [], 0
    for article in EXPECTED[name]["articles"]:
        (start,) = [m.start() for m in re.finditer(rf"(?m)^{re.escape(article['first'])}", text)]
        last = re.compile(rf"(?m)^{re.escape(article['last'])}.*$").search(text, start)
        assert last, f"{name}: no line starting {article['last']!r} after {article['first']!r}"
        out.append((article["label"], text[start : last.end()], count(text[prev_end : last.end()])))
        prev_end = last.end()
    return out


def test_every_snippet_has_expectations() -> None:
    assert sorted(p.name for p in FORMATS.glob("*.txt")) == NAMES
    assert any(not EXPECTED[n]["articles"] for n in NAMES)  # the structureless ones are in


# --- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "label"),
    [("Art. 1° O uso", "Art. 1º"), ("Art 1o Fica", "Art. 1º"), ("ART. 1º O", "Art. 1º"), ("Art.1º Fica", "Art. 1º"),
     ("Artigo 1.º", "Art. 1º"), ("ARTIGO 2º", "Art. 2º"), ("Artigo 10.º", "Art. 10"), ("Art. 10 - O prazo", "Art. 10"),
     ("Art. 12 – O", "Art. 12"), ("Art. 1º - A Universidade", "Art. 1º"), ("Art. 5º-A Os", "Art. 5º-A"),
     ("Art.5º-B. Das", "Art. 5º-B"), ("Art. 10-A.", "Art. 10-A"), ("Art. 1.027. O", "Art. 1.027"),
     ("Artes plásticas", None), ("Artigos 3º e 4º", None)],
)  # fmt: skip
def test_article_label_spellings(line: str, label: str | None) -> None:
    assert article_label(line) == label


def test_structure_patterns_for_the_variants_but_not_for_references() -> None:
    for line in ("PARÁGRAFO ÚNICO - Os", "Parágrafo Único. O", "§1º As", "§ 2° O"):
        assert PARAGRAPH_RE.match(line) and is_structural_start(line), line
    for line in ("CAPÍTULO I – DAS DISPOSIÇÕES GERAIS", "Seção II", "SUBSEÇÃO I", "SECÇÃO II", "Capítulo III",
                 "Título I – Das Disposições", "LIVRO I"):  # fmt: skip
        assert HEADING_RE.match(line), line
    # a label's period ends the label, not a sentence
    assert split_sentences("ART. 10. O prazo. Art. 1.027. A regra. PARÁGRAFO ÚNICO. O resto.") == [
        "ART. 10. O prazo.",
        "Art. 1.027. A regra.",
        "PARÁGRAFO ÚNICO. O resto.",
    ]
    # a reference wrapped to the start of a line must stay joinable (the clean stage glues such lines)
    for line in ("parágrafo único do art. 3º desta Resolução", "Capítulo II desta Resolução, no prazo"):
        assert not is_structural_start(line), line


@pytest.mark.parametrize("name", NAMES)
def test_labels_per_chunk(name: str) -> None:
    expected = EXPECTED[name]
    assert [c.articles for c in chunks_at(name)] == expected["chunks"]
    if "tight_max_tokens" in expected:
        assert [c.articles for c in chunks_at(name, expected["tight_max_tokens"])] == expected["tight_chunks"]


# --- articles kept whole, invariants --------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_articles_not_split_when_they_fit_and_invariants_hold(name: str) -> None:
    text = read(name)
    labels = [a["label"] for a in EXPECTED[name]["articles"]]
    words = set(text.split())
    spans = article_spans(name)
    if "tight_max_tokens" in EXPECTED[name]:
        assert EXPECTED[name]["tight_max_tokens"] == max(need for _, _, need in spans)
    for limit in LIMITS + tuple(need for _, _, need in spans):
        chunks = chunks_at(name, limit)
        assert chunks, f"{name}: no chunks at max_tokens={limit}"
        assert all(c.n_tokens == count(c.text) <= limit for c in chunks)
        assert all(set(c.text.split()) <= words for c in chunks)  # no word split
        assert squash_ws(" ".join(map(content, chunks))) == squash_ws(text)  # nothing lost
        seen = list(dict.fromkeys(label for c in chunks for label in c.articles))
        assert seen == labels, f"{name} at max_tokens={limit}"
        for label, article, need in spans:
            if need <= limit:  # caput, §s and incisos together in one chunk's own text
                assert any(squash_ws(article) in squash_ws(content(c)) for c in chunks), (
                    f"{name}: {label} split at max_tokens={limit} though it needs {need}"
                )


def lead_lines(text: str) -> set[str]:
    """Lines that lead what follows: headings, bare article labels ("Artigo 3.º") and the name under either."""
    out: set[str] = set()
    prev = ""
    for line in (raw.strip() for raw in text.splitlines() if raw.strip()):
        bare_label = article_label(line) is not None and len(line.split()) <= 2
        if HEADING_RE.match(line) or bare_label or (prev in out and not line.endswith((".", ";", ":"))):
            out.add(line)
        prev = line
    return out


@pytest.mark.parametrize("name", NAMES)
def test_no_chunk_ends_with_a_heading_or_a_bare_label(name: str) -> None:
    leads = lead_lines(read(name))
    # From 64 tokens: below, the eight heading lines above br_headings' Art. 1º (46 tokens with "Art.") do not
    # fit one chunk with the article's first word, and the chunker then unglues them rather than exceed the limit.
    for limit in [n for n in LIMITS if n >= 64]:
        for c in chunks_at(name, limit):
            last_line = content(c).rstrip().rsplit("\n", 1)[-1]
            assert last_line not in leads, (
                f"{name} chunk {c.index} at max_tokens={limit} ends with {last_line!r}"
            )


# --- the rules backend ----------------------------------------------------------------------------


def _assert_grounded(pairs: list[tuple[str, str]], chunk_text: str) -> None:
    for question, answer in pairs:
        assert question.endswith("?") and answer
        lead, _, item = answer.partition(": ")  # a list's lead and one item: two spans of the chunk
        assert squash_ws(answer) in squash_ws(chunk_text) or (
            squash_ws(lead) in squash_ws(chunk_text) and squash_ws(item) in squash_ws(chunk_text)
        ), (question, answer)
        assert grounding_score(answer, chunk_text) == 1.0


def rules_pairs(chunks: list) -> dict[str, list[tuple[str, str]]]:
    """The rules backend's (question, quoted answer) pairs per chunk id, the document read in order."""
    found = document_facts(chunks)
    return {
        cid: [(p.question, f.answer) for f in cf.facts for p in phrasings(f)] for cid, cf in found.items()
    }


@pytest.mark.parametrize("name", NAMES)
def test_rules_ask_about_every_article_with_grounded_answers(name: str) -> None:
    expected = EXPECTED[name]
    limits = [None] + ([expected["tight_max_tokens"]] if "tight_max_tokens" in expected else [])
    for limit in limits:  # every article fits a chunk here: each article-bearing chunk holds its heads
        chunks = chunks_at(name, limit)
        by_chunk = rules_pairs(chunks)
        kinds = {cid: {f.kind for f in cf.facts} for cid, cf in document_facts(chunks).items()}
        for c in chunks:
            pairs = by_chunk[c.id]
            _assert_grounded(pairs, c.text)
            assert bool(pairs) == bool(c.articles) or kinds[c.id] == {"ementa"}
            asked = {
                label
                for q, _ in pairs
                for label in c.articles
                if re.search(rf"o {re.escape(label)}\b(?!-)", q)
            }
            assert asked == set(c.articles), f"{name} chunk {c.index}: {sorted(asked)}"
    (whole,) = chunks_at(name)  # each snippet fits one default chunk
    pairs = dict(rules_pairs([whole])[whole.id])
    for question, answer_start in expected["questions"].items():
        assert question in pairs, f"{name}: missing {question!r}; got {sorted(pairs)}"
        assert pairs[question].startswith(answer_start), (question, pairs[question])


@pytest.mark.parametrize("name", NAMES)
def test_rules_never_crash_and_stay_grounded_at_any_limit(name: str) -> None:
    """Articles split across chunks (small limits) still give only grounded pairs, or none."""
    for limit in LIMITS:
        chunks = chunks_at(name, limit)
        by_chunk = rules_pairs(chunks)
        for c in chunks:
            _assert_grounded(by_chunk[c.id], c.text)


@pytest.mark.parametrize("name", [n for n in NAMES if not EXPECTED[n]["articles"]])
def test_structureless_documents_still_chunk(name: str) -> None:
    for limit in LIMITS:
        chunks = chunks_at(name, limit)
        assert chunks and all(c.articles == [] for c in chunks)
        assert chunks[0].text.startswith(read(name).split("\n")[0])  # the title opens the first chunk
        by_chunk = rules_pairs(chunks)
        for c in chunks:
            _assert_grounded(by_chunk[c.id], c.text)


# --- the clean stage on the same spellings ----------------------------------------------------------


def _markers(text: str) -> list[str]:
    """Article labels and the numerals/letters that open incisos, alíneas and numbered paragraphs, in order."""
    out = []
    for line in (raw.strip() for raw in text.splitlines()):
        if label := article_label(line):
            out.append(label)
        elif m := re.match(r"^([IVXLC]+|[a-z]|\d{1,2})\s*([-–—)]|\.\s)", line):
            out.append(m.group(1))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_clean_keeps_every_spelling_label_and_numeral(name: str) -> None:
    """The clean stage reads the grammar from the same module: on already-clean text it changes nothing but
    typography (° -> º, and a raised o written as "o": "Art 1o" -> "Art 1º"), and never renumbers an inciso after
    "ART. 2º" / "Artigo 2.º" or a Portuguese "1 - " paragraph."""
    text = read(name)
    cleaned, counts = clean_document([text], CleanParams())
    typography = re.sub(r"(?<=\d)o\b", "º", text.replace("°", "º"))
    assert squash_ws(cleaned) == squash_ws(typography)
    assert _markers(cleaned) == _markers(typography)
    assert "numbering_fixed" not in counts
