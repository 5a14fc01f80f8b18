"""A pair is kept only when it is a question, grounded in its chunk, and free of broken glyphs."""

from __future__ import annotations

import re
import unicodedata

from stages.text.fold import STOPWORDS, fold, question_key

QUESTION_CHARS = (10, 400)  # a question outside these bounds is a fragment or a rambling reply
ANSWER_CHARS = (2, 2000)
INTERROGATIVES = tuple(
    "qual|quais|quem|quando|onde|como|quanto|quantos|quantas|o que|por que|em que|a quem|de que".split("|")
)


# ---------------------------------------------------------------- pure: validation


def content_tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"\w+", fold(text)) if (len(t) > 2 or t.isdigit()) and t not in STOPWORDS]


def grounding_score(answer: str, chunk_text: str) -> float:
    """Share of the answer's content words that occur in the chunk (0 when it has none)."""
    words = content_tokens(answer)
    if not words:
        return 0.0
    vocabulary = set(content_tokens(chunk_text))
    return sum(w in vocabulary for w in words) / len(words)


def has_bad_glyph(text: str) -> bool:
    """U+FFFD (a byte the text layer could not decode) or a private-use glyph (a font's own symbol)."""
    return any(ch == "\ufffd" or unicodedata.category(ch) == "Co" for ch in text)


def validate_pair(
    question: str, answer: str, chunk_text: str, min_grounding: float, examples: frozenset[str] = frozenset()
) -> str | None:
    """Why the pair is rejected (None when it is fine); duplicates are checked by the caller. `examples`:
    normalized questions and answers of the prompt's example pairs (a model that copies one has not read the
    chunk)."""
    if not question.strip() or not answer.strip():
        return "empty"
    if not QUESTION_CHARS[0] <= len(question) <= QUESTION_CHARS[1]:
        return "question_length"
    if not ANSWER_CHARS[0] <= len(answer) <= ANSWER_CHARS[1]:
        return "answer_length"
    if not (question.rstrip().endswith("?") or fold(question).startswith(INTERROGATIVES)):
        return "not_a_question"
    if has_bad_glyph(question) or has_bad_glyph(answer):
        return "bad_glyph"
    if examples and (question_key(question) in examples or question_key(answer) in examples):
        return "example_echo"
    if grounding_score(answer, chunk_text) < min_grounding:
        return "ungrounded"
    return None
