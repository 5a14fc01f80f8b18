"""The retriever of evaluate's open_book and adapter_retrieval systems and of `ask --retrieve`: Okapi BM25 over
data/chunks, the best chunk put in the prompt (prompt_format.retrieval_prompt).

Terms are case- and accent-folded words without Portuguese stopwords, plus one term per article/§ reference
("Art. 5º" -> "art:5", rarer and so weightier than "art" and "5"). A chunk is indexed with its document's
title block (prompt_format.passage_text), so a question naming the act ("segundo a Instrução Normativa nº 3")
finds that act's chunks without favouring the first one, whose text starts with the title anyway.
On the sample, the source chunk of a question ranks first for 88% of training and 81% of held-out questions.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from stages.model.prompt_format import passage_text
from stages.records.chunks import Chunk
from stages.scoring.key_facts import fold_text, key_facts
from stages.text.fold import STOPWORDS

_WORD_RE = re.compile(r"\w+")


def terms(text: str) -> list[str]:
    words = [w for w in _WORD_RE.findall(fold_text(text)) if w not in STOPWORDS]
    return words + sorted(f for f in key_facts(text) if f.startswith(("art:", "par:")))


class BM25:
    """Okapi BM25 (k1 = 1.5, b = 0.75) over a fixed list of documents."""

    def __init__(self, documents: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.term_counts = [Counter(terms(d)) for d in documents]
        self.lengths = [sum(c.values()) for c in self.term_counts]
        self.mean_length = sum(self.lengths) / max(1, len(self.lengths))
        df = Counter(t for c in self.term_counts for t in c)
        n = len(documents)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def scores(self, query: str) -> list[float]:
        out = []
        q = terms(query)
        for counts, length in zip(self.term_counts, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / max(self.mean_length, 1e-9))
            out.append(
                sum(self.idf[t] * counts[t] * (self.k1 + 1) / (counts[t] + norm) for t in q if counts[t])
            )
        return out

    def best(self, query: str) -> int:
        """Index of the best-scoring document (the first on ties)."""
        scores = self.scores(query)
        return max(range(len(scores)), key=lambda i: (scores[i], -i))


def best_chunks(chunks: list[Chunk], questions: list[str]) -> list[Chunk]:
    """The best BM25 chunk for each question, every chunk indexed as the model reads it (title block + text)."""
    index = BM25([passage_text(c) for c in chunks])
    return [chunks[index.best(q)] for q in questions]
