"""The one accent and case fold, the one whitespace squash, and the one duplicate-question key.

Every comparison of Portuguese text that should not care about accents, case or spacing goes through here, so
"Órgão", "orgao" and "ÓRGÃO" compare equal the same way in every stage.
"""

from __future__ import annotations

import re
import unicodedata

# Portuguese function words (folded): they match any text, so neither grounding nor retrieval counts them.
STOPWORDS = frozenset(
    (
        "a and ao aos as com como da das de deve do dos e ela elas ele eles em entre essa esse esta "
        "estas este estes isso isto mais na nao nas no nos o os ou para pela pelas pelo pelos pode por "
        "quais qual que sao se ser sera seu seus sobre sua suas tem the um uma umas uns"
    ).split()
)
_WS_RE = re.compile(r"\s+")
# the combining diacritics block but U+034F (the grapheme joiner, class 0): all combining
_COMMON_MARKS_RE = re.compile("[\u0300-\u034e\u0350-\u036f]+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")


def _kept(match: re.Match[str]) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def _drop_combining(text: str) -> str:
    """`text` without its combining marks (unicodedata.combining): the Latin ones removed at once, any other
    character outside ASCII looked at one by one."""
    text = _COMMON_MARKS_RE.sub("", text)
    return text if text.isascii() else _NON_ASCII_RE.sub(_kept, text)


_KEY_WORD_RE = re.compile(r"[a-z0-9]+")


def strip_accents(text: str) -> str:
    """`text` without accents and cedillas, case kept: "Órgãos" -> "Orgaos"."""
    return _drop_combining(unicodedata.normalize("NFD", text))


def fold(text: str) -> str:
    """Case- and accent-folded, compatibility forms decomposed ("º" -> "o", "ﬁ" -> "fi"): "Nº Único" -> "no unico"."""
    return _drop_combining(unicodedata.normalize("NFKD", text.casefold()))


def squash_ws(text: str) -> str:
    """Every run of whitespace (newlines included) becomes one space; ends stripped."""
    return _WS_RE.sub(" ", text).strip()


def question_key(question: str) -> str:
    """Key for duplicate questions: folded, letters and digits only, one space apart."""
    return " ".join(_KEY_WORD_RE.findall(fold(question)))
