"""Legislation numbering as OCR misreads it, mended in sequence (articles, §, incisos, headings)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stages.text.legis.grammar import (
    ARTICLE_RE,
    HEADING_RE,
    INCISO_RE,
    NUMBERED_PARAGRAPH_RE,
    PARAGRAPH_RE,
    article_number,
)
from stages.text.legis.misreads import (
    ARTICLE_COMMA_RE,
    ARTICLE_GARBLED_NUMBER_RE,
    ARTICLE_NUM_RE,
    ARTICLE_NUMBER_LOST_RE,
    ARTICLE_OCR_ORDINAL_RE,
    ARTICLE_QUOTED_RE,
    ARTICLE_WORD_MISREAD_RE,
    CITED_ARTICLE_TAIL_RE,
    HEADING_LEVELS,
    HEADING_NUM_RE,
    INCISO_MISREAD_RE,
    INCISO_OCR_RE,
    LEADING_MARK_RE,
    ORDINAL_MISREADS,
    PARAGRAPH_GLUED_EIGHT_RE,
    PARAGRAPH_MISREAD_RE,
    PARAGRAPH_NUMBER_RE,
    PARAGRAPH_OCR_CARDINAL_RE,
    PARAGRAPH_OCR_RE,
    enumeration_ordinal,
    expected_numeral,
    fix_signs,
    from_roman,
    inciso_separator,
    misread_inciso,
    to_roman,
)

# ---------------------------------------------------------------------------------------------
# 4b. Numbering misread by OCR (the misreads themselves are grammar: stages/text/legis/misreads.py)
# ---------------------------------------------------------------------------------------------
_COLON_BEFORE_ITEM_RE = re.compile(r":(?:\s+(?:e|ou))?$")


def arabic_numbered_starts(lines: list[str]) -> set[int]:
    """Indices of "1 - ..." lines that open an Arabic numbering ("1 - ", "2 - ", as Portugal numbers an
    article's paragraphs): a "2 - " follows before the next article, § or heading. Such a "1" is no misread "I"."""
    out = set()
    for i, line in enumerate(lines):
        first = NUMBERED_PARAGRAPH_RE.match(line)
        if not first or first.group(1) != "1":
            continue
        for later in lines[i + 1 :]:
            if article_number(later) is not None or PARAGRAPH_RE.match(later) or HEADING_RE.match(later):
                break
            if (m := NUMBERED_PARAGRAPH_RE.match(later)) and m.group(1) == "2":
                out.add(i)
                break
    return out


@dataclass
class Numbering:
    """The numbers read so far in document order: each family's next number is the last one plus one."""

    last_article: int = 0
    last_paragraph: int = 0  # within the current article
    last_inciso: int = 0  # within the current article, § or heading
    last_heading: dict[str, int] = field(default_factory=dict)  # by level: "TÍT", "CAP", "SEÇ", ...

    def read(self, line: str) -> None:
        """Take in one fixed line: a new article, § or heading restarts the incisos, an article the §s."""
        article = article_number(line)  # every spelling: "Art. 2º", "ART. 2º", "Artigo 2.º"
        if article is not None or PARAGRAPH_RE.match(line) or HEADING_RE.match(line):
            self.last_inciso = 0
        if (n := enumeration_ordinal(line)) is not None and INCISO_RE.match(line):
            self.last_inciso = n
        if article is not None:
            self.last_article = article
            self.last_paragraph = 0
        if m := PARAGRAPH_NUMBER_RE.match(line):
            self.last_paragraph = int(m.group(1))


def following_articles(lines: list[str]) -> list[int | None]:
    """The number of the next article after each line, as OCR wrote it (None after the last)."""
    out: list[int | None] = []
    after: int | None = None
    for line in reversed(lines):
        out.append(after)
        after = n if (n := article_number(line)) is not None else after
    out.reverse()
    return out


def fix_numbering(lines: list[str]) -> tuple[list[str], int]:
    """Lines (document order) with misread paragraph signs and article/inciso/heading numbers fixed."""
    state = Numbering()
    out: list[str] = []
    arabic = arabic_numbered_starts(lines)
    separator = inciso_separator(lines)
    following = following_articles(lines)
    # the next line read as an inciso, as OCR wrote it (a list's next item tells what this one is)
    next_incisos = [INCISO_OCR_RE.match(line) for line in lines[1:]] + [None]
    for index, line in enumerate(lines):
        new = _paragraph_number(_marks(line), state)
        new = _article_ordinal(new, state, following[index])
        new = _article_word(new, state)
        new = _lost_article_number(new, state, following[index])
        new = _ordinal_read_twice(new, state)
        if m := HEADING_NUM_RE.match(new):
            new = _heading_numeral(new, m, state)
        elif (m := INCISO_MISREAD_RE.match(new)) and index not in arabic:
            new = _misread_inciso(new, m, state)
        elif m := INCISO_OCR_RE.match(new):
            after_colon = bool(out) and out[-1].endswith(":")
            new = _ocr_inciso(new, m, state, after_colon, next_incisos[index], separator)
        state.read(new)
        out.append(new)
    fixed = sum(new != line for new, line in zip(out, lines, strict=True))
    out, colons = _semicolons_before_later_items(out)
    return out, fixed + colons


def _marks(line: str) -> str:
    """A stray mark before a label dropped, signs mended, a misread "§" and the comma of "Art, 30." fixed."""
    new = PARAGRAPH_MISREAD_RE.sub("§ ", fix_signs(LEADING_MARK_RE.sub("", line)))
    return ARTICLE_COMMA_RE.sub(r"\1.", new)  # "Art, 30." -> "Art. 30."


def _paragraph_number(line: str, state: Numbering) -> str:
    """A § label whose sign or ordinal OCR misread, taken only for the § expected next (or one after it)."""
    if (m := PARAGRAPH_OCR_RE.match(line)) and int(m.group(1) or m.group(2)) == state.last_paragraph + 1:
        line = f"§ {m.group(1) or m.group(2)}º" + line[m.end() :]  # "8 20 Os" after § 1º -> "§ 2º Os"
    if (
        (m := PARAGRAPH_GLUED_EIGHT_RE.match(line))
        and 0 < int(m.group(1)) - state.last_paragraph <= 2
        and state.last_article
    ):
        line = f"§ {m.group(1)}º" + line[m.end() :]  # "86º A" after § 4º or § 5º -> "§ 6º A"
    if (m := PARAGRAPH_OCR_CARDINAL_RE.match(line)) and int(m.group(1)) == state.last_paragraph + 1:
        line = f"§ {m.group(1)}." + line[m.end() :]  # "8 10. A" after § 9º -> "§ 10. A"
    return line


def _article_ordinal(line: str, state: Numbering, following: int | None) -> str:
    """An article's ordinal read as a digit: "Art. 90 O" after Art. 8º is Art. 9º when the next article is the
    10th ("Art. 10", or "Art. 100" misread the same way); "Art. 22 É" after Art. 1º is Art. 2º when the next is
    the 3rd ("Art. 3º", or "Art. 32" misread the same way). "Art. 10 - O" opening a text with no other article,
    or one followed by the 11th, stays."""
    if (m := ARTICLE_OCR_ORDINAL_RE.match(line)) and int(m.group(2)) == state.last_article + 1:
        d = int(m.group(2))
        misread_next = {(d + 1) * 10 + int(c) for c in ORDINAL_MISREADS if c.isdigit()}
        if following in {d + 1, *misread_next} or (following is None and state.last_article > 0):
            line = f"Art. {d}º" + line[m.end() :]
    return line


def _article_word(line: str, state: Numbering) -> str:
    """The word "Art" misread ("Att. 8º A" after Art. 7º -> "Art. 8º A"), taken for the article expected next."""
    if (m := ARTICLE_WORD_MISREAD_RE.match(line)) and int(m.group(1)) == state.last_article + 1:
        line = f"Art. {m.group(1)}º" + line[m.end() :]
    return line


def _lost_article_number(line: str, state: Numbering, following: int | None) -> str:
    """The one article between those before and after (or the 1st), its number lost, garbled or misread. A
    label that repeats the number before or after it is no misread: a consolidated text keeps a revoked
    wording's label beside the new one's."""
    last = state.last_article
    if following != last + 2 or article_number(line) in (last, following):
        return line
    expected = last + 1
    label = f"Art. {expected}{'º' if expected < 10 else ''}"
    if last and (m := ARTICLE_NUMBER_LOST_RE.match(line)):
        return f"{label} " + line[m.end() :]  # "Art. O reconhecimento" between Art. 6º and Art. 8º
    if last and (m := ARTICLE_QUOTED_RE.match(line)) and article_number(line[m.end() :]) == expected:
        return line[m.end() :]  # "“Art.21 O ingresso" between Art. 20 and Art. 22
    if (
        (m := ARTICLE_RE.match(line))
        and not m.group(2)
        and article_number(line) != expected
        and not CITED_ARTICLE_TAIL_RE.match(line, m.end())
    ):
        # "Art. 5 toa" between Art. 52 and 54; "Art. 4º" before Art. 2º
        return label + ("." if expected >= 10 and m.group(0).endswith(".") else "") + line[m.end() :]
    if (m := ARTICLE_GARBLED_NUMBER_RE.match(line)) and article_number(line) != expected:
        return label + line[m.end() :]  # "Art. i4 - Ao término" between Art. 13 and Art. 15
    return line


def _ordinal_read_twice(line: str, state: Numbering) -> str:
    """An ordinal read both as a digit and as itself: "Art. 32º" after Art. 2º -> "Art. 3º"."""
    if m := ARTICLE_NUM_RE.match(line):
        digits, expected = m.group(2), str(state.last_article + 1)
        if len(digits) == len(expected) + 1 and digits.startswith(expected):
            line = f"{m.group(1)}{expected}º" + line[m.end() :]
    return line


def _heading_numeral(line: str, m: re.Match[str], state: Numbering) -> str:
    """A heading numeral's strokes misread ("CAPÍTULO Il" -> "CAPÍTULO II"), taken as the one expected next
    at its level."""
    kind = m.group(1)[:3].upper()
    value = expected_numeral(m.group(2), state.last_heading.get(kind, 0) + 1)
    if value is None:
        return line
    state.last_heading[kind] = value
    for lower in HEADING_LEVELS[HEADING_LEVELS.index(kind) + 1 :]:
        state.last_heading.pop(lower, None)  # chapters restart in a new title
    return line[: m.start(2)] + to_roman(value) + line[m.end(2) :]


def _misread_inciso(line: str, m: re.Match[str], state: Numbering) -> str:
    """An inciso numeral before its dash, its strokes misread ("Il - texto" -> "II - texto"), taken as the one
    expected next."""
    value = expected_numeral(m.group(1), state.last_inciso + 1)
    if value is None:
        return line
    state.last_inciso = value
    dash = m.group(2) if len(m.group(2)) == 1 else "-"
    return f"{to_roman(value)} {dash} " + line[m.end() :]


def _ocr_inciso(
    line: str,
    m: re.Match[str],
    state: Numbering,
    after_colon: bool,
    next_item: re.Match[str] | None,
    separator: str,
) -> str:
    """An inciso numeral OCR garbled ("IR pelo", "HI. representação", "Ê o Pró-Reitor") inside an enumeration
    (after an inciso, a line ending in ":" or before the next inciso: "|. por solenidade;" over "Il. em
    gabinete"): the numeral expected next, written the way the document writes its incisos."""
    last = state.last_inciso
    if not (last or after_colon or (next_item and misread_inciso(next_item.group(1), last + 2))):
        return line
    token, expected = m.group(1), last + 1
    if not token and not (
        (m.group(2) or "").strip() in (".", ")")
        and expected == 1
        and next_item
        and misread_inciso(next_item.group(1), 2)
    ):
        return line  # no numeral: only a lost first "I" before its period, the second next (". o Pró-Reitor", "H.")
    if token.isdigit() and not (
        token == "1" and expected == 1 and next_item and not next_item.group(1).isdigit()
    ):
        return line  # "1. objetivos": an item of a numbered list, no inciso ("1." before "II." is an "I.")
    if from_roman(token) == expected or (token != to_roman(expected) and misread_inciso(token, expected)):
        state.last_inciso = expected
        sep = m.group(2) or ""
        sep = f" {sep.strip()[0]}" if sep.strip()[:1] in ("-", "–", "—") else separator
        return f"{to_roman(expected)}{sep} " + line[m.end() :]
    return line


def _semicolons_before_later_items(lines: list[str]) -> tuple[list[str], int]:
    """A colon before a later item made a semicolon ("dias: b)" -> "dias; b)"): only the line before a first
    item ends in ":"."""
    out = list(lines)
    fixed = 0
    for i in range(len(out) - 1):
        later_item = (enumeration_ordinal(out[i + 1]) or 1) > 1
        if later_item and (m := _COLON_BEFORE_ITEM_RE.search(out[i])):
            out[i] = out[i][: m.start()] + ";" + out[i][m.start() + 1 :]
            fixed += 1
    return out, fixed
