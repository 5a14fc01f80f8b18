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
_KEY_WORD_RE = re.compile(r"[a-z0-9]+")


def strip_accents(text: str) -> str:
    """`text` without accents and cedillas, case kept: "Órgãos" -> "Orgaos"."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case- and accent-folded, compatibility forms decomposed ("º" -> "o", "ﬁ" -> "fi"): "Nº Único" -> "no unico"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def squash_ws(text: str) -> str:
    """Every run of whitespace (newlines included) becomes one space; ends stripped."""
    return _WS_RE.sub(" ", text).strip()


def question_key(question: str) -> str:
    """Key for duplicate questions: folded, letters and digits only, one space apart."""
    return " ".join(_KEY_WORD_RE.findall(fold(question)))
