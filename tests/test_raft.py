"""Retrieval-style training prompts: a share of the pairs asked with their own chunk, some with another, refusals
with the chunk retrieval finds; the rest bare; deterministic; never cut to max_seq_len."""

from __future__ import annotations

from collections import Counter

from stages.model.prompt_format import CONTEXT_TEMPLATE, passage_text
from stages.model.raft import BARE, DISTRACTOR, GOLD, RETRIEVED, training_prompts
from stages.records.chunks import Chunk
from stages.records.pairs import UNANSWERABLE, QAPair
from stages.scoring.retrieval import BM25

TOPICS = (
    "matrícula trancamento semestre",
    "estágio supervisionado jornada",
    "bolsa monitoria valor",
    "colação grau",
)


def scorer(chunks: list[Chunk]):  # noqa: ANN201 - BM25.scores, as the train stage builds it
    return BM25([passage_text(c) for c in chunks]).scores


def chunk(i: int) -> Chunk:
    return Chunk(
        id=f"doc-{i}",
        doc="doc",
        index=i,
        text=f"Art. {i}º O {TOPICS[i]} segue regra própria número {i}.",
        n_tokens=12,
        articles=[f"Art. {i}º"],
        title=f"Resolução nº {i}/2020",
        overlap_chars=0,
    )


def pairs(n: int) -> list[QAPair]:
    out = []
    for k in range(n):
        i = k % len(TOPICS)
        kind = UNANSWERABLE if k % 10 == 9 else "regra"
        out.append(
            QAPair(
                id=f"doc-{i}-{k}",
                question=f"Qual a regra de {TOPICS[i]} ({k})?",
                answer=f"Regra {i}.",
                chunk_id=f"doc-{i}",
                doc="doc",
                articles=[str(i)],
                backend="rules",
                model="",
                kind=kind,
            )
        )
    return out


def test_shares_kinds_and_chunks() -> None:
    records, chunks = pairs(400), [chunk(i) for i in range(len(TOPICS))]
    prompts, kinds = training_prompts(
        records, chunks, scorer(chunks), fraction=0.3, distractor_share=0.25, seed=13
    )
    assert sum(kinds.values()) == 400 and 0.22 < 1 - kinds[BARE] / 400 < 0.38
    assert kinds[GOLD] > kinds[DISTRACTOR] > 0 and kinds[RETRIEVED] > 0
    seen: Counter[str] = Counter()
    for r, p in zip(records, prompts, strict=True):
        if p == r.question:
            continue
        assert p.endswith(r.question) and CONTEXT_TEMPLATE.split("{")[0] in p
        shown = next(c for c in chunks if c.text in p)
        if r.kind == UNANSWERABLE:
            seen[RETRIEVED] += 1
        else:
            seen[GOLD if shown.id == r.chunk_id else DISTRACTOR] += 1
    assert seen[GOLD] == kinds[GOLD] and seen[DISTRACTOR] == kinds[DISTRACTOR]
    assert training_prompts(records, chunks, scorer(chunks), 0.3, 0.25, 13) == (prompts, kinds)
    other, _ = training_prompts(records, chunks, scorer(chunks), 0.3, 0.25, 14)
    assert other != prompts


def test_fraction_zero_or_one_chunk_keeps_every_question_bare() -> None:
    records = pairs(20)
    for chunks, fraction in (([chunk(i) for i in range(4)], 0.0), ([chunk(0)], 0.5)):
        prompts, kinds = training_prompts(records, chunks, scorer(chunks), fraction, 0.2, 13)
        assert prompts == [r.question for r in records] and kinds == Counter({BARE: 20})
