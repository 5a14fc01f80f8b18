"""Legislation numbering as OCR misreads it, mended in sequence (articles, §, incisos, headings)."""

from __future__ import annotations

import re

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
# 4b. Numbering misread by OCR (the misreads themselves are grammar: stages/legis.py)
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


def fix_numbering(lines: list[str]) -> tuple[list[str], int]:
    """Lines (document order) with misread paragraph signs and article/inciso/heading numbers fixed."""
    fixed = 0
    out: list[str] = []
    last_article = 0
    last_inciso = 0
    last_paragraph = 0
    last_heading: dict[str, int] = {}
    arabic = arabic_numbered_starts(lines)
    separator = inciso_separator(lines)
    # the number of the next article after each line, as OCR wrote it (None after the last)
    following_articles: list[int | None] = []
    after: int | None = None
    for line in reversed(lines):
        following_articles.append(after)
        after = n if (n := article_number(line)) is not None else after
    following_articles.reverse()
    # the next line read as an inciso, as OCR wrote it (a list's next item tells what this one is)
    next_incisos = [INCISO_OCR_RE.match(line) for line in lines[1:]] + [None]
    for index, line in enumerate(lines):
        next_item, following = next_incisos[index], following_articles[index]
        new = PARAGRAPH_MISREAD_RE.sub("§ ", fix_signs(LEADING_MARK_RE.sub("", line)))
        new = ARTICLE_COMMA_RE.sub(r"\1.", new)  # "Art, 30." -> "Art. 30."
        if (m := PARAGRAPH_OCR_RE.match(new)) and int(m.group(1) or m.group(2)) == last_paragraph + 1:
            new = f"§ {m.group(1) or m.group(2)}º" + new[m.end() :]  # "8 20 Os" after § 1º -> "§ 2º Os"
        if (
            (m := PARAGRAPH_GLUED_EIGHT_RE.match(new))
            and 0 < int(m.group(1)) - last_paragraph <= 2
            and last_article
        ):
            new = f"§ {m.group(1)}º" + new[m.end() :]  # "86º A" after § 4º or § 5º -> "§ 6º A"
        if (m := PARAGRAPH_OCR_CARDINAL_RE.match(new)) and int(m.group(1)) == last_paragraph + 1:
            new = f"§ {m.group(1)}." + new[m.end() :]  # "8 10. A" after § 9º -> "§ 10. A"
        if (m := ARTICLE_OCR_ORDINAL_RE.match(new)) and int(m.group(2)) == last_article + 1:
            # "Art. 90 O" after Art. 8º is Art. 9º when the next article is the 10th ("Art. 10", or "Art. 100"
            # misread the same way); "Art. 22 É" after Art. 1º is Art. 2º when the next is the 3rd ("Art. 3º",
            # or "Art. 32" misread the same way). "Art. 10 - O" opening a text with no other article, or one
            # followed by the 11th, stays.
            d = int(m.group(2))
            misread_next = {(d + 1) * 10 + int(c) for c in ORDINAL_MISREADS if c.isdigit()}
            if following in {d + 1, *misread_next} or (following is None and last_article > 0):
                new = f"Art. {d}º" + new[m.end() :]
        if (m := ARTICLE_WORD_MISREAD_RE.match(new)) and int(m.group(1)) == last_article + 1:
            new = f"Art. {m.group(1)}º" + new[m.end() :]  # "Att. 8º A" after Art. 7º
        # the one article between those before and after (or the 1st); a label that repeats the number before or
        # after it is no misread: a consolidated text keeps a revoked wording's label beside the new one's
        if following == last_article + 2 and article_number(new) not in (last_article, following):
            expected = last_article + 1
            label = f"Art. {expected}{'º' if expected < 10 else ''}"
            if last_article and (m := ARTICLE_NUMBER_LOST_RE.match(new)):
                new = f"{label} " + new[m.end() :]  # "Art. O reconhecimento" between Art. 6º and Art. 8º
            elif (
                last_article
                and (m := ARTICLE_QUOTED_RE.match(new))
                and article_number(new[m.end() :]) == expected
            ):
                new = new[m.end() :]  # "“Art.21 O ingresso" between Art. 20 and Art. 22
            elif (
                (m := ARTICLE_RE.match(new))
                and not m.group(2)
                and article_number(new) != expected
                and not CITED_ARTICLE_TAIL_RE.match(new, m.end())
            ):
                # "Art. 5 toa" between Art. 52 and 54; "Art. 4º" before Art. 2º
                new = label + ("." if expected >= 10 and m.group(0).endswith(".") else "") + new[m.end() :]
            elif (m := ARTICLE_GARBLED_NUMBER_RE.match(new)) and article_number(new) != expected:
                new = label + new[m.end() :]  # "Art. i4 - Ao término" between Art. 13 and Art. 15
        if m := ARTICLE_NUM_RE.match(new):
            digits, expected = m.group(2), str(last_article + 1)
            if len(digits) == len(expected) + 1 and digits.startswith(expected):
                new = f"{m.group(1)}{expected}º" + new[m.end() :]
        if m := HEADING_NUM_RE.match(new):
            kind = m.group(1)[:3].upper()
            value = expected_numeral(m.group(2), last_heading.get(kind, 0) + 1)
            if value is not None:
                last_heading[kind] = value
                for lower in HEADING_LEVELS[HEADING_LEVELS.index(kind) + 1 :]:
                    last_heading.pop(lower, None)  # chapters restart in a new title
                new = new[: m.start(2)] + to_roman(value) + new[m.end(2) :]
        elif (m := INCISO_MISREAD_RE.match(new)) and index not in arabic:
            value = expected_numeral(m.group(1), last_inciso + 1)
            if value is not None:
                last_inciso = value
                dash = m.group(2) if len(m.group(2)) == 1 else "-"
                new = f"{to_roman(value)} {dash} " + new[m.end() :]
        elif (m := INCISO_OCR_RE.match(new)) and (
            last_inciso
            or (out and out[-1].endswith(":"))
            or (next_item and misread_inciso(next_item.group(1), last_inciso + 2))
        ):
            # "IR pelo", "HI. representação", "Ê o Pró-Reitor" inside an enumeration (after an inciso, a line
            # ending in ":" or before the next inciso: "|. por solenidade;" over "Il. em gabinete"): the numeral
            # expected next, written the way the document writes its incisos
            token, expected = m.group(1), last_inciso + 1
            if not token and not (
                (m.group(2) or "").strip() in (".", ")")
                and expected == 1
                and next_item
                and misread_inciso(next_item.group(1), 2)
            ):
                pass  # no numeral: only a lost first "I" before its period, the second next (". o Pró-Reitor", "H.")
            elif token.isdigit() and not (
                token == "1" and expected == 1 and next_item and not next_item.group(1).isdigit()
            ):
                pass  # "1. objetivos": an item of a numbered list, no inciso ("1." before "II." is an "I.")
            elif from_roman(token) == expected or (
                token != to_roman(expected) and misread_inciso(token, expected)
            ):
                last_inciso = expected
                sep = m.group(2) or ""
                sep = f" {sep.strip()[0]}" if sep.strip()[:1] in ("-", "–", "—") else separator
                new = f"{to_roman(expected)}{sep} " + new[m.end() :]
        article = article_number(new)  # every spelling: "Art. 2º", "ART. 2º", "Artigo 2.º"
        if article is not None or PARAGRAPH_RE.match(new) or HEADING_RE.match(new):
            last_inciso = 0  # a new article, § or heading restarts the incisos
        if (n := enumeration_ordinal(new)) is not None and INCISO_RE.match(new):
            last_inciso = n
        if article is not None:
            last_article = article
            last_paragraph = 0
        if m := PARAGRAPH_NUMBER_RE.match(new):
            last_paragraph = int(m.group(1))
        fixed += new != line
        out.append(new)
    for i in range(len(out) - 1):  # "dias: b)" -> "dias; b)": only the line before a first item ends in ":"
        later_item = (enumeration_ordinal(out[i + 1]) or 1) > 1
        if later_item and (m := _COLON_BEFORE_ITEM_RE.search(out[i])):
            out[i] = out[i][: m.start()] + ";" + out[i][m.start() + 1 :]
            fixed += 1
    return out, fixed
