"""A pair is kept only when it is a well-formed question, grounded in its chunk, and free of broken glyphs."""

from __future__ import annotations

import re
import unicodedata

from stages.qa.rules.pt_clause import DETERMINERS, FUNCTION_WORDS, is_finite, is_infinitive
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


_CUT_BEFORE_COMMA = re.compile(
    r"\s(?:e|ou|de|do|da|dos|das|para|com|em|que|o|a|os|as),"
)  # "Seção I e, segundo"
_CLAUSE_OPENERS = frozenset("exceto salvo mediante inclusive conforme".split())  # never the last word
_BRACKETS = (("(", ")"), ("[", "]"), ("«", "»"), ("“", "”"))
_CAPITALISED = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ-]*$")  # one capital, then lower case (not an acronym)


def _bare_word(word: str) -> str:
    return word.strip("()[],;:?!.\"“”«»'")


def _in_name(words: list[str], i: int) -> bool:
    """Word i is part of a proper name: next to a capitalised word, or after "de"/"e" that follows one
    ("Conselho Superior", "Secretaria de Esporte e Lazer", "Universidade Federal do Ceará")."""
    near = [_bare_word(words[j]) for j in (i - 1, i + 1) if 0 <= j < len(words)]
    if any(w[:1].isupper() for w in near):
        return True
    return (
        i >= 2
        and words[i - 1] in ("de", "do", "da", "dos", "das", "e")
        and _bare_word(words[i - 2])[:1].isupper()
    )


def malformed_question(question: str) -> str | None:
    """Why a question is not a well-formed Portuguese sentence (None when it is): a verb or a function word
    capitalised mid-sentence ("A quem compete Acompanhar …?"), a clause cut off after a preposition, article or
    conjunction ("… o prazo para a?"), a word doubled ("de de"), brackets or quotes left open."""
    words = question.split()
    for i in range(1, len(words)):
        word, before = _bare_word(words[i]), words[i - 1]
        if not _CAPITALISED.match(word) or before.endswith((".", ":", "?", "!")):
            continue
        low = word.lower()
        if low in FUNCTION_WORDS or low in DETERMINERS:
            return "malformed_capital"
        if (is_finite(low) or is_infinitive(low)) and not _in_name(words, i):
            return "malformed_capital"
    last = _bare_word(words[-1]).lower() if words else ""
    if last in FUNCTION_WORDS or last in _CLAUSE_OPENERS or _CUT_BEFORE_COMMA.search(question):
        return "malformed_cut"
    if re.search(r"(?<![\w-])([a-zà-ú]+)\s+\1(?![\w-])", question):
        return "malformed_repeat"
    if any(question.count(a) != question.count(b) for a, b in _BRACKETS) or question.count('"') % 2:
        return "malformed_brackets"
    return None


def validate_pair(
    question: str,
    answer: str,
    chunk_text: str,
    min_grounding: float,
    examples: frozenset[str] = frozenset(),
    quoted: str | None = None,
    well_formed: bool = False,
) -> str | None:
    """Why the pair is rejected (None when it is fine); duplicates are checked by the caller. `examples`:
    normalized questions and answers of the prompt's example pairs (a model that copies one has not read the
    chunk). `quoted`: the part of the answer taken from the chunk, when the answer adds to it (the rules
    backend names the act around it; "" for a refusal, which quotes nothing); None: the whole answer.
    `well_formed`: also reject a question that is not a well-formed sentence (`malformed_question`; the rules
    backend's, which are built from the text's clauses; a model's may quote the text as it stands)."""
    if not question.strip() or not answer.strip():
        return "empty"
    if not QUESTION_CHARS[0] <= len(question) <= QUESTION_CHARS[1]:
        return "question_length"
    if not ANSWER_CHARS[0] <= len(answer) <= ANSWER_CHARS[1]:
        return "answer_length"
    if not (question.rstrip().endswith("?") or fold(question).startswith(INTERROGATIVES)):
        return "not_a_question"
    if well_formed and (reason := malformed_question(question)):
        return reason
    if has_bad_glyph(question) or has_bad_glyph(answer):
        return "bad_glyph"
    if examples and (question_key(question) in examples or question_key(answer) in examples):
        return "example_echo"
    grounded = answer if quoted is None else quoted
    if grounded and grounding_score(grounded, chunk_text) < min_grounding:
        return "ungrounded"
    return None
