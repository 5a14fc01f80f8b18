"""chunk -> synth, train, evaluate: data/chunks/chunks.jsonl."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """One line of data/chunks/chunks.jsonl."""

    id: str  # stable hash of document and text
    doc: str
    index: int  # position in its document
    text: str  # overlap prefix + content
    n_tokens: int
    articles: list[str]  # labels of the articles whose text the chunk holds ("Art. 7º")
    title: str  # the document's title block (its first paragraph)
    overlap_chars: int  # text[:overlap_chars] repeats the end of the previous chunk
