"""Where sentences end in legislation (abbreviations, labels) and the text split there."""

from __future__ import annotations

import re

from stages.text.legis.grammar import PARAGRAFO_UNICO

# ---------------------------------------------------------------------------------------------
# Sentences. A sentence ends at . ! ? ; followed by space and a capital, digit, § or quote — except
# after abbreviations common in legal text ("Art.", "nº.", "Prof.") and single initials ("J.").
# ---------------------------------------------------------------------------------------------
ABBREVIATIONS = frozenset(
    "art arts inc incs al n nº nos p pp pág págs fl fls sr sra srs dr dra drs prof profa profs "
    "av obs cf ex exa exmo exma ilmo ilma min máx mín aprox núm tel vol cap caps".split()
)
# "Art. 10.", "ART. 1.027." and "Parágrafo Único." end their label, not a sentence.
_LABEL_END_RE = re.compile(
    rf"(?:\b(?:Art(?:igo)?s?|ART(?:IGO)?S?)\.?\s*\d[\d.]*[º°o]?(?:-[A-Z])?|{PARAGRAFO_UNICO})$"
)
_SENTENCE_END_RE = re.compile(r"[.!?;](?=\s+[\"“'(§A-ZÀ-Ý0-9])")
# The coarse split qa_rules uses inside an article's caput or paragraph: after "." or ";" before a capital or §.


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, whitespace excluded; a newline always ends a sentence."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for m in _SENTENCE_END_RE.finditer(line.group()):
            end = line.start() + m.end()
            if m.group() == ".":
                word = re.search(r"(\S+)$", text[start : end - 1])
                token = word.group(1).lower().lstrip("(\"“'") if word else ""
                if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                    continue
                if _LABEL_END_RE.search(text[start : end - 1]):
                    continue
            spans.append((start, end))
            start = end
        spans.append((start, line.end()))
    out = []
    for a, b in spans:  # trim the spaces between sentences
        piece = text[a:b]
        a += len(piece) - len(piece.lstrip())
        b -= len(piece) - len(piece.rstrip())
        if a < b:
            out.append((a, b))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, stripped; joining them with spaces keeps every non-space character."""
    return [text[a:b] for a, b in sentence_spans(text)]
