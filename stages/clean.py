"""clean: OCR pages (data/ocr/<doc>.json) -> one cleaned text per document (data/clean/<doc>.txt).

Unlike the original approach (deleting `" \\ _ . , @ * ~ $ ! +` and squeezing spaces, which took the
sample's CER from tesseract's ~4% to ~20%), every rule here only removes what is provably noise and
never deletes punctuation: "Art. 5º", "R$ 1.000,00", "nota 5,0" and "15/03/2024" survive untouched.

Rules, in order (each a pure function, counted into metrics/clean.json):
  1. unicode     NFC, control characters removed, ligatures expanded, odd spaces/hyphens/ordinals fixed;
                 the DOU's publisher marks and dot leaders ("Art. 12. ..........": filler) dropped
  2. whitespace  tabs and runs of spaces squeezed, line ends stripped
  3. headers     lines repeated near the top/bottom of most pages ("Página 2 de 5", the running header)
                 and lone page numbers dropped; once per page (a title repeating the header stays)
  4. junk        short lines made mostly of non-letters ("~ ,. ' |") dropped; structure lines never are; so are
                 whole lines of a gazette's running head ("ISSN 1677-7042", "Nº 185, terça-feira, 26 de ...")
  5. paragraphs  hyphenated line ends joined ("avalia-\\nção"), wrapped lines and page breaks joined into
                 paragraphs, breaks kept before CAPÍTULO, Art., §, incisos, alíneas and headings; a line-end
                 hyphen OCR lost is restored where a piece is no word and the two make one ("Edu" / "cação")
Output: one paragraph per line. Held-out check on layouts the rules were not tuned on: tests/test_heldout_clean.py.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from tqdm import tqdm

from stages.core.files import atomic_write_text, run_main, write_json
from stages.core.params import load_params
from stages.core.run import require_input
from stages.records.base import RecordError, from_dict
from stages.records.pages import OcrDocument
from stages.records.paths import CLEAN_DIR, OCR_DIR, metrics_file
from stages.text.legis.acts import GAZETTE_HEAD_RE, PLANALTO_LINK_RE
from stages.text.legis.grammar import (
    ALINEA_RE,
    ARTICLE_RE,
    CLOSING_DATE_RE,
    HEADING_RE,
    INCISO_RE,
    LIST_ITEM_RE,
    NUMBERED_PARAGRAPH_RE,
    PARAGRAPH_RE,
    article_number,
    is_heading,
    is_structural_start,
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
    FFFD_LEGAL,
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
    fix_text_ordinals,
    from_roman,
    inciso_separator,
    misread_inciso,
    to_roman,
)
from stages.text.lexicon import (
    REPLACEMENT,
    Lexicon,
    fold_accents,
    load_lexicon,
    match_case,
    repair_candidates,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanParams:
    header_min_pages: int = 2  # a line repeated on at least this many pages ...
    header_min_fraction: float = 0.5  # ... and on at least this fraction of them is a running header/footer
    header_similarity: float = 90.0  # rapidfuzz ratio (0-100) for "the same line" despite OCR noise
    edge_lines: int = 3  # header/footer candidates: this many non-empty lines at the top and bottom of a page
    zone_lines: int = (
        10  # letterhead zones: at most this many non-empty lines from the top and from the bottom
    )
    junk_max_letter_ratio: float = 0.3  # a short line whose letters+digits are under this fraction is junk
    junk_max_chars: int = 80  # only lines up to this long can be junk

    def problems(self) -> list[str]:
        out = []
        if self.header_min_pages < 2:
            out.append(f"clean.header_min_pages must be >= 2, got {self.header_min_pages}")
        if not 0 < self.header_min_fraction <= 1:
            out.append(f"clean.header_min_fraction must be in (0, 1], got {self.header_min_fraction}")
        if not 50 <= self.header_similarity <= 100:
            out.append(f"clean.header_similarity must be in [50, 100], got {self.header_similarity}")
        if self.edge_lines < 1:
            out.append(f"clean.edge_lines must be >= 1, got {self.edge_lines}")
        if self.zone_lines < 0:
            out.append(f"clean.zone_lines must be >= 0 (0 = no letterhead zones), got {self.zone_lines}")
        if not 0 <= self.junk_max_letter_ratio <= 1:
            out.append(f"clean.junk_max_letter_ratio must be in [0, 1], got {self.junk_max_letter_ratio}")
        if self.junk_max_chars < 1:
            out.append(f"clean.junk_max_chars must be >= 1, got {self.junk_max_chars}")
        return out


# ---------------------------------------------------------------------------------------------
# 1. Unicode
# ---------------------------------------------------------------------------------------------
LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
# Odd spaces become a plain space, invisible characters go, Unicode hyphens become "-". Dashes (– —),
# quotes, §, º and ª are kept: they are real characters of legal text.
TYPOGRAPHIC = {
    **dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
    ),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
    **dict.fromkeys("\u2010\u2011\u2212", "-"),
}
# "5°" / "n°" are OCR's (and typists') ordinal indicator: "Art. 5º", "nº 12". Not "25 °C".
_DEGREE_ORDINAL_RE = re.compile(r"(?<=[0-9nN])°(?![CF]\b)")
_SOFT_HYPHEN_EOL_RE = re.compile("\u00ad[ \t]*\n[ \t]*")


def normalize_unicode(text: str) -> tuple[str, Counter[str]]:
    """NFC, control characters out, ligatures and typographic oddities normalized; counts per kind."""
    counts: Counter[str] = Counter()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text, n = _SOFT_HYPHEN_EOL_RE.subn("", text)  # a soft hyphen at a line end is a layout break: join
    counts["hyphen_joined"] += n
    counts["typographic"] += text.count("\u00ad")
    text = text.replace("\u00ad", "")
    nfc = unicodedata.normalize("NFC", text)
    counts["nfc"] += int(nfc != text)
    out = []
    for ch in nfc:
        if ch in LIGATURES:
            counts["ligatures"] += 1
            out.append(LIGATURES[ch])
        elif ch in TYPOGRAPHIC:
            counts["typographic"] += 1
            out.append(TYPOGRAPHIC[ch])
        elif ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            counts["control_chars"] += 1
        else:
            out.append(ch)
    text, n = _DEGREE_ORDINAL_RE.subn("º", "".join(out))
    counts["typographic"] += n
    return text, counts


# ---------------------------------------------------------------------------------------------
# 2. Whitespace
# ---------------------------------------------------------------------------------------------
_SPACES_RE = re.compile(r"[ \t\v]+")
# The Imprensa Nacional's marks in the DOU's text layer, one before each act ("<!ID691307-0> DECISÃO Nº 181"):
# never printed on the page.
PUBLISHER_MARK_RE = re.compile(r"<!ID\d+(?:-\d+)?>[ \t]?")
# Dot leaders: a row of dots standing for wording an amending act leaves unchanged ("Art. 12. ..........") or
# joining a heading to its page. Filler whose length is the column's: dropped, as the ocr stage paints them out
# of page images (stages/leaders.py). An ellipsis ("(...)", "etc....") has fewer dots.
# Group 1: the punctuation after it ("nacionalidade......., RG"), which takes the leader's place.
DOT_LEADER_RE = re.compile(r"[ \t]*(?:[.…][ \t]?){5,}(?=([,;:)])?)")
# A form's fill-in blanks ("Eu, ______________, CPF ________"): a rule to write on, whose length is the form's.
# A text layer has it as underscores; OCR reads it as underscores, dashes or nothing. Dropped the same way.
FILL_IN_RE = re.compile(r"[ \t]*_{3,}(?:[ \t]*_{3,})*(?:[ \t]*([,;:.)]))?")


def _fill_in(m: re.Match[str]) -> str:
    """What a blank leaves: the punctuation after it, unless the text before it ends with the same ("Eu, ____,
    CPF" -> "Eu, CPF"); else a space."""
    before = m.string[: m.start()].rstrip()
    if m.group(1):
        return "" if before.endswith(m.group(1)) else m.group(1)
    return " "


def normalize_whitespace(text: str) -> list[str]:
    """Lines with inner runs of spaces squeezed and ends stripped (empty lines kept as '')."""
    return [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]


# ---------------------------------------------------------------------------------------------
# 3. Running headers, footers and page numbers
# ---------------------------------------------------------------------------------------------
# "Página 2 de 5", "Pág. 3", "- 3 -", "3", "3/5", "(3)"
PAGE_NUMBER_RE = re.compile(
    r"^(?:p[áa]g(?:ina)?\.?\s*)?[-–—(\[]?\s*\d{1,4}\s*(?:(?:de|/)\s*\d{1,4})?\s*[-–—)\]]?$", re.IGNORECASE
)
_DIGITS_RE = re.compile(r"\d+")


def edge_indices(lines: list[str], k: int) -> list[int]:
    """Indices of the first k and last k non-empty lines of a page."""
    filled = [i for i, line in enumerate(lines) if line]
    return sorted(set(filled[:k] + filled[-k:]))


def edge_distance(lines: list[str], index: int) -> int:
    """How many non-empty lines lie between lines[index] and the nearer edge of its page (0: the edge)."""
    above = sum(1 for line in lines[:index] if line)
    below = sum(1 for line in lines[index + 1 :] if line)
    return min(above, below)


def _line_key(line: str) -> str:
    """Compare lines with digits normalized, so "Página 2 de 5" and "Página 3 de 5" are one line."""
    return _DIGITS_RE.sub("#", line.lower())


def find_running_lines(pages: list[list[str]], p: CleanParams) -> dict[tuple[int, int], str]:
    """(page, line) -> rule ('header_footer' or 'page_number') for every line to drop."""
    edges = [(pi, li) for pi, lines in enumerate(pages) for li in edge_indices(lines, p.edge_lines)]
    keys = [_line_key(pages[pi][li]) for pi, li in edges]
    needed = max(p.header_min_pages, math.ceil(p.header_min_fraction * len(pages)))
    # All edge lines against all (rapidfuzz's C loop: a 1000-page document in seconds). Short lines must
    # match exactly: "capítulo i" and "capítulo ii" are 95% similar.
    similar = process.cdist(keys, keys, scorer=fuzz.ratio, dtype=np.uint8) >= p.header_similarity
    short = np.array([len(k) < 20 for k in keys], dtype=bool)
    key_ids = np.unique(np.array(keys, dtype=object), return_inverse=True)[1] if keys else np.zeros(0, int)
    exact = key_ids[:, None] == key_ids[None, :]
    similar = np.where(short[:, None] | short[None, :], exact, similar)
    page_of = np.array([pi for pi, _ in edges])
    distance = np.array([edge_distance(pages[pi], li) for pi, li in edges])
    drop: dict[tuple[int, int], str] = {}
    for i, (pi, li) in enumerate(edges):
        line = pages[pi][li]
        if PAGE_NUMBER_RE.match(line):
            drop[(pi, li)] = "page_number"
        elif not is_structural_start(line) and len(pages) >= needed:
            # A running line is printed once per page: a second match on the same page farther from the
            # edge is body text that repeats it, e.g. the title under a header that names the document.
            nearer = similar[i] & (page_of == pi) & (distance < distance[i])
            if len(np.unique(page_of[similar[i]])) >= needed and not nearer.any():
                drop[(pi, li)] = "header_footer"
    return drop


# ---------------------------------------------------------------------------------------------
# 3b. Letterheads (issue 9). A scanned letterhead beside a coat of arms comes out of OCR a little different on
# every page ("é. Poder Executivo", "Hi Poder Executivo", "“4 *” Ministério da Educação", then "RO", "ES e “a (1"
# from the logo), and a letterhead block can be seven lines deep, so the rule above, which compares whole lines
# among the first `edge_lines`, misses it. Here each page's top and bottom are read as zones: from the edge
# inwards (at most `zone_lines` lines), a line is dropped while it is a page number, a browser's print margin
# (a URL, a date), junk with almost no real words, or a line whose *words* (the lexicon's, digits and junk left
# out) come back in the zones of most pages (or of two pages at least, above such a line); the zone ends at the
# first line that is none of these (the title, the first article), and never crosses an article, paragraph,
# inciso or heading.
# ---------------------------------------------------------------------------------------------
_WORD_ONLY_RE = re.compile(r"[^\W\d_]{2,}")
_URL_RE = re.compile(r"\b(?:https?://(?:www\s?\.\s?)?|www\s?\.\s?)\S+")  # OCR: "http://www .planalto.gov.br"
# A browser's footer: the page count, then the date and time it printed ("1 de 1 15/04/2010 10:50"; OCR: "LAR
# 15/04/2010 10:5", "Ide l 15/04/2010 10:50", "Ii de | 13/04/2010 13:1."): at most three short tokens before a date
# and a time, nothing after but a period (a minute cut in half).
_PRINT_STAMP_RE = re.compile(r"^(?:\S{1,4}\s+){0,3}\d{1,2}/\d{1,2}/\d{2,4},?\s+\d{1,2}:\d{1,2}(?::\d\d)?\.?$")


def line_words(line: str, lexicon: Lexicon) -> str:
    """A line's key in the letterhead zone: its real words in lower case (known to the lexicon, or acronyms of 3+
    capitals such as UFAM, CONSEPE). A line with few of them (a URL, "1 de 6 27/04/2010 08:57" printed by a
    browser) is keyed by its letters ("~..."), else by its shape with digits as # ("#..."); "" when too short."""
    key = " ".join(
        w.lower()
        for w in _WORD_ONLY_RE.findall(line)
        if w.lower() in lexicon.counts or (w.isupper() and len(w) >= 3)
    )
    if len(key) >= 8:
        return key
    letters = "".join(c for c in line.lower() if c.isalpha())
    if len(letters) >= 12:
        return "~" + letters
    shape = _DIGITS_RE.sub("#", "".join(line.lower().split()))
    return "#" + shape if len(shape) >= 8 and "#" in shape else ""


def is_noise_line(line: str, lexicon: Lexicon, max_chars: int = 40) -> bool:
    """A short line with almost no real words: what OCR makes of a logo, a stamp or a signature."""
    if len(line) > max_chars or is_structural_start(line):
        return False
    # Letters in words the lexicon knows (an unknown all-caps token like "RES", "ADN" is a logo, not an acronym)
    real = sum(len(t) for t in _TOKEN_RE.findall(line) if len(t) >= 3 and t.lower() in lexicon.counts)
    return real < max(3, 0.5 * sum(c.isalpha() for c in line))


def is_print_margin(line: str) -> bool:
    """What a browser prints at a page's edge: a URL, with at most a title, a page count and a date beside it; or
    the page count with the date and time alone."""
    rest = _URL_RE.sub(" ", line)
    return (rest != line and len(_WORD_ONLY_RE.findall(rest)) <= 6) or bool(_PRINT_STAMP_RE.match(line))


def _unit_start(line: str) -> bool:
    """An article, paragraph, inciso, alínea or heading, "CAPÍTULO HI" too (a bullet is not: letterhead junk
    often starts "* ")."""
    return bool(HEADING_NUM_RE.match(line)) or (is_structural_start(line) and not LIST_ITEM_RE.match(line))


def continues(prev: str, line: str) -> bool:
    """Is `line` the rest of a sentence `prev` wrapped into it? `prev` runs to the margin (40+ characters) without
    ending its sentence, and `line` starts in lower case ("... a partir da edição" / "de sua norma
    regulamentadora.", the last line before a footer, whose words a lexicon may not know)."""
    return len(prev) >= 40 and not prev.endswith(_TERMINAL) and _starts_lower(line)


def _word_chars(words: set[str]) -> int:
    return sum(len(w) for w in words)


def shared_words(a: str, b: str, share: float = 0.6) -> bool:
    """Word keys with at least two words in common that make up `share` of each one's letters: the same
    letterhead line with other junk around it on each page ("fas poder executivo pardo" / "vão poder executivo
    girão")."""
    wa, wb = set(a.split()), set(b.split())
    common = wa & wb
    return (
        len(common) >= 2
        and _word_chars(common) >= share * _word_chars(wa)
        and _word_chars(common) >= share * _word_chars(wb)
    )


def same_key(a: str, b: str, similarity: float) -> bool:
    """`_similar_keys`' test for one pair."""
    if a[:1] in "~#" or b[:1] in "~#":
        return a[:1] == b[:1] and fuzz.ratio(a, b) >= similarity - 10
    return fuzz.ratio(a, b) >= similarity or shared_words(a, b)


def _similar_keys(keys: list[str], similarity: float, block: int = 512) -> list[set[int]]:
    """For each key, the indices of the keys like it (see same_key). Whole-key ratios come from rapidfuzz's C loop
    in blocks of rows (memory: block x len(keys)); shared words are checked only between keys that have a word of
    4+ letters in common (an index of words)."""
    kinds = np.array([k[:1] if k[:1] in "~#" else "w" for k in keys])
    out: list[set[int]] = []
    for start in range(0, len(keys), block):
        ratio = process.cdist(keys[start : start + block], keys, scorer=fuzz.ratio, dtype=np.uint8)
        for r in range(ratio.shape[0]):
            kind = kinds[start + r]
            threshold = similarity if kind == "w" else similarity - 10
            out.append(set(np.flatnonzero((ratio[r] >= threshold) & (kinds == kind)).tolist()))
    index: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if kinds[i] == "w":
            for word in {w for w in key.split() if len(w) >= 4}:
                index.setdefault(word, []).append(i)
    for i, key in enumerate(keys):
        if kinds[i] == "w":
            candidates = {j for w in key.split() if len(w) >= 4 for j in index.get(w, ())} - out[i]
            out[i] |= {j for j in candidates if shared_words(key, keys[j])}
    return out


def find_letterhead_lines(
    pages: list[list[str]], p: CleanParams, lexicon: Lexicon
) -> dict[tuple[int, int], str]:
    """(page, line) -> 'letterhead' for the running and noisy lines of each page's top and bottom zones."""
    needed = max(p.header_min_pages, math.ceil(p.header_min_fraction * len(pages)))
    zones = []  # per page: (top line indices, bottom line indices), edge first
    above: list[dict[int, str]] = []  # per page: each filled line's filled line above it
    for lines in pages:
        filled = [li for li, line in enumerate(lines) if line]
        zones.append((filled[: p.zone_lines], filled[::-1][: p.zone_lines]))
        above.append({li: lines[lp] for lp, li in zip(filled, filled[1:], strict=False)})
    if len(pages) < needed:  # one page: nothing repeats; only what a browser printed at its edges
        return {
            (pi, li): "letterhead"
            for pi, (top, bottom) in enumerate(zones)
            for li in top[:2] + bottom[:2]
            if is_print_margin(pages[pi][li])
        }
    # A letterhead repeats among the pages' tops, a running footer among their bottoms, at about the same depth:
    # each zone line is compared with the same side's lines within 3 lines of its depth (a signature "Presidente
    # do Conselho de Ensino" at the foot of the last page is not the council's name in the pages' letterheads or
    # in a sentence near the foot of another page).
    keys: dict[tuple[int, int], str] = {}
    noise = {
        (pi, li): is_noise_line(pages[pi][li], lexicon)
        for pi, zone in enumerate(zones)
        for li in {*zone[0], *zone[1]}
    }

    def depths(pi: int, zone: list[int]) -> list[int]:
        """Each zone line's depth: the lines between it and the edge that are not junk. A logo read as three lines
        of junk above the letterhead on one page and as none on another must not set the same lines apart."""
        return list(accumulate((not noise[(pi, li)] for li in zone[:-1]), initial=0)) if zone else []

    pages_alike: tuple[dict[tuple[int, int], int], ...] = ({}, {})  # per side: (page, line) -> pages alike
    for side in (0, 1):
        slots = [(pi, li) for pi, zone in enumerate(zones) for li in zone[side]]
        depth = [d for pi, zone in enumerate(zones) for d in depths(pi, zone[side])]
        side_keys = [line_words(pages[pi][li], lexicon) for pi, li in slots]
        keys.update(zip(slots, side_keys, strict=True))
        keyed = [i for i, key in enumerate(side_keys) if key]
        similar = _similar_keys([side_keys[i] for i in keyed], p.header_similarity)
        for i, hits in zip(keyed, similar, strict=True):
            # and at about the same depth: junk lines shift a letterhead by a line or two, not more
            alike = {slots[keyed[j]][0] for j in hits if abs(depth[keyed[j]] - depth[i]) <= 3}
            pages_alike[side][slots[i]] = len(alike)
    drop: dict[tuple[int, int], str] = {}
    for pi, lines in enumerate(pages):
        for side, zone in enumerate(zones[pi]):
            walked: list[tuple[int, str]] = []  # (line, kind) from the edge inwards, up to the first unit
            for li in zone:
                line = lines[li]
                if _unit_start(line):
                    break
                if PAGE_NUMBER_RE.match(line) or is_print_margin(line):
                    walked.append((li, "margin"))
                elif pages_alike[side].get((pi, li), 0) >= needed:
                    # A running line is printed once per page: one like a running line nearer the edge is
                    # body text repeating it (the title under a header that names the document). Like it in its
                    # words and in its letters and digits too: two running lines of one footer can share most
                    # words ("Alterado pela Decisão nº 21/2014 ..." over "Alterado pela Resolução nº 13/2020 ...").
                    key = keys[(pi, li)]
                    if any(
                        same_key(keys[(pi, lj)], key, p.header_similarity)
                        and fuzz.partial_ratio(lines[lj].lower(), line.lower()) >= p.header_similarity
                        for lj, kind in walked
                        if kind == "running"
                    ):
                        break
                    walked.append((li, "running"))
                elif side == 1 and continues(above[pi].get(li, ""), line):
                    break  # the last line of a sentence wrapped from the line above: body text, whatever its words
                elif noise[(pi, li)]:
                    walked.append((li, "noise"))
                elif pages_alike[side].get((pi, li), 0) >= p.header_min_pages:
                    # in the zones of fewer pages than a running line, but more than one: the university's name
                    # that OCR reads above the council's on some pages and as junk on the others
                    walked.append((li, "repeated"))
                elif len(line) <= 40:
                    walked.append((li, "short"))  # junk that spells words ("É PARDO E"), or body text
                else:
                    break
            # The letterhead reaches its last running line: what lies between its lines goes with it (junk from
            # the logo that spells words, the page number); past it noise and margins still do. It starts at the
            # edge: short lines before its first running line are taken only when that line is among the
            # zone's first three, junk not counted ("na GESSO" above "FM Poder Executivo"; "PINA", "ERRO", "VE EE"
            # from a logo above the university's name), else they end the zone.
            kinds = [kind for _, kind in walked]
            first_running = kinds.index("running") if "running" in kinds else len(kinds)
            first_short = kinds.index("short") if "short" in kinds else len(kinds)
            if first_short < first_running and sum(k != "noise" for k in kinds[:first_running]) > 2:
                walked = walked[:first_short]
            last = max((i for i, (_, kind) in enumerate(walked) if kind == "running"), default=-1)
            for i, (li, kind) in enumerate(walked):
                if i <= last or (last >= 0 and kind in ("noise", "margin")) or is_print_margin(lines[li]):
                    drop[(pi, li)] = "letterhead"
                elif kind in ("short", "repeated"):
                    break
    return drop


# ---------------------------------------------------------------------------------------------
# 4. Junk lines
# ---------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"[^\W_]+")
_VOWEL_RE = re.compile(r"[aeiouyáéíóúâêôãõàü]", re.IGNORECASE)
_TRIPLE_RE = re.compile(r"(.)\1\1", re.IGNORECASE)


def _plausible(token: str) -> bool:
    """A number, or a word with a vowel, one case pattern (ab, AB, Ab) and no letter tripled."""
    if any(c.isdigit() for c in token) or token in "ºª":  # 12, 1º, 3ª
        return True
    return bool(
        (token.islower() or token.isupper() or token.istitle())
        and _VOWEL_RE.search(token)
        and not _TRIPLE_RE.search(token)
    )


def is_junk_line(line: str, p: CleanParams) -> bool:
    """A short line mostly made of non-words: speckles ("~ ,. ' |"), a rule under the header read as
    "—WwWWw—W>—", "mL EEE —". Structure lines ("§ 2º", "I –", "a)") and numbers ("R$ 1.500,00") never are."""
    chars = [c for c in line if not c.isspace()]
    if not chars or len(line) > p.junk_max_chars or is_structural_start(line):
        return False
    content = sum(len(t) for t in _TOKEN_RE.findall(line) if _plausible(t))
    content += 3 * line.count("...") + line.count("…")  # "(...)": text left out of a quotation
    return content / len(chars) < p.junk_max_letter_ratio


# A line drawn through printed text (revoked wording, as Planalto prints it) joins its words for OCR: the line
# fills the gaps between them and tesseract reads it as hyphens ("Vil-informar-os-pais-e-responsáveis-sobre-a-
# frequência", "como-sobre-a-execução-de-sua-proposta"). Portuguese hyphenates a function word to its neighbour
# only in a few compounds ("pé-de-meia", "dia-a-dia"): three such joins on one line mark a struck line.
_FUNCTION_WORDS = r"(?:de|da|do|das|dos|e|em|a|o|as|os|para|pela|pelo|pelas|pelos|com|sobre|que|ao|aos|no|na)"
_STRUCK_JOIN_RE = re.compile(
    rf"(?<![^\W\d_]){_FUNCTION_WORDS}-(?=[^\W\d_])|(?<=[^\W\d_])-{_FUNCTION_WORDS}(?![^\W\d_])", re.IGNORECASE
)
STRUCK_MIN_JOINS = 3
# ... or most of its gaps are hyphens, 4 or more ("dos-alunos-regularmente-matriculados-no-ensino-médio ou"):
# no line of the real corpus's text layers (5,628 lines) is written that way.
_LETTER_JOIN_RE = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
STRUCK_MIN_LETTER_JOINS = 4


def is_struck_line(line: str) -> bool:
    """An OCR'd line with a line drawn through it (see above)."""
    if len(_STRUCK_JOIN_RE.findall(line)) >= STRUCK_MIN_JOINS:
        return True
    joins = len(_LETTER_JOIN_RE.findall(line))
    return joins >= STRUCK_MIN_LETTER_JOINS and 2 * joins >= joins + len(line.split()) - 1


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


# ---------------------------------------------------------------------------------------------
# 5. Hyphenation and paragraphs
# ---------------------------------------------------------------------------------------------
# Hyphen at a line end: is it a word broken by the layout ("avalia-|ção" -> "avaliação") or a real
# hyphen ("encontra-|se", "segunda-|feira")? Decided in this order:
#   a. the document itself: the hyphenated form seen inside a line -> keep; the joined form seen -> join
#   a'. the lexicon: the joined word is a word -> join (unless the hyphenated one is); both halves are words and
#      the joined one is not ("técnico-|administrativo", "pós-|graduação") -> keep
#   b. the next fragment starts with a digit or a capital (and the first part is not all caps) -> keep
#   c. enclisis: the fragment is a clitic pronoun (se, lhe, lo, ...) and the first part looks like a verb
#      form (ends in r, an accented vowel, or a/e/am/em/ou/eu/iu or a gerund's -ndo and is >= 4 letters),
#      unless the joined word is a common noun ending the same way (análise, base, hipótese, ...) -> keep
#   d. compounds: prefixes always hyphenated (vice-, recém-, além-, aquém-, ex- before a few nouns),
#      the weekdays (segunda-feira) and a few pairs frequent in university rules (pró-reitor,
#      pós-graduação, auxílio-transporte) -> keep
#   e. otherwise -> join (layout hyphenation is far more common than a real hyphen at a line end).
CLITICS = frozenset(
    "se lhe lhes me te nos vos o a os as lo la los las no na nas mo ma mos mas to ta tos tas".split()
)
NOUNS_LIKE_VERB_CLITIC = frozenset(
    "análise base fase crise tese síntese hipótese ênfase frase classe interesse posse catálise diocese "
    "prótese gênese mesa casa causa pausa coisa rosa camisa pesquisa despesa empresa defesa promessa "
    "remessa sessa pessoa lona zona coroa escola regra".split()
)
ALWAYS_HYPHEN_PREFIXES = frozenset("vice vice recém além aquém grão grã".split())
COMPOUND_PAIRS = {
    "segunda": ("feira",),
    "terça": ("feira",),
    "quarta": ("feira",),
    "quinta": ("feira",),
    "sexta": ("feira",),
    "pró": ("reitor", "reitora", "reitoria", "reitorias", "reitores", "reitoras"),
    "pós": ("graduação", "graduações", "graduando", "graduandos", "doutor", "doutorado", "doutorado"),
    "ex": ("aluno", "aluna", "alunos", "alunas", "servidor", "servidora", "reitor", "reitora", "presidente"),
    "sub": ("reitor", "reitora", "reitoria"),
    "auxílio": ("transporte", "alimentação", "moradia", "saúde", "creche"),
    "técnico": ("administrativo", "administrativa", "administrativos", "administrativas"),
    "decreto": ("lei",),
    "bem": ("estar",),
}
_HYPHEN_END_RE = re.compile(r"([^\W\d_]+)-$")
_FRAGMENT_RE = re.compile(r"^([^\W_]+)")
_WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_VERBISH_RE = re.compile(r"(?:r|[áéêíóôâ]|[ae]|am|em|ou|eu|iu|ndo)$")  # "ndo": a gerund, "associando-se"


def word_counts(lines: list[str]) -> Counter[str]:
    """Lower-cased words (hyphenated compounds whole) seen inside lines, line-end fragments excluded."""
    counts: Counter[str] = Counter()
    for line in lines:
        words = _WORD_RE.findall(line.lower())
        if line.endswith("-") and words:
            words = words[:-1]
        counts.update(words)
    return counts


def keep_hyphen(first: str, fragment: str, vocab: Counter[str], lexicon: Lexicon | None = None) -> bool:
    """True when `first-` + `fragment` at a line break is a real hyphenated word (see the rules above)."""
    a, b = first.lower(), fragment.lower()
    hyphenated, joined = vocab.get(f"{a}-{b}", 0), vocab.get(a + b, 0)
    if hyphenated or joined:
        return hyphenated > joined
    if lexicon is not None:  # a'. the lexicon: "avalia-ção" joins, "técnico-administrativo" (two words) stays
        if a + b in lexicon.counts or f"{a}-{b}" in lexicon.counts:
            return f"{a}-{b}" in lexicon.counts
        if a in lexicon.counts and b in lexicon.counts and len(b) >= 3:
            return True
    if fragment[0].isdigit() or (fragment[0].isupper() and not first.isupper()):
        return True
    if b in CLITICS and (a + b) not in NOUNS_LIKE_VERB_CLITIC:
        if a.endswith("r") or a[-1] in "áéêíóôâ" or (len(a) >= 4 and _VERBISH_RE.search(a)):
            return True
    return a in ALWAYS_HYPHEN_PREFIXES or b in COMPOUND_PAIRS.get(a, ())


_TERMINAL = (".", "!", "?", ":", ";")


def _starts_lower(line: str) -> bool:
    return line[:1].isalpha() and line[:1].islower()


def should_break(prev: str, nxt: str, gap: bool, short_line: int) -> bool:
    """Does `nxt` start a new paragraph after `prev`? `gap`: a blank line or a page break between them."""
    if is_structural_start(nxt):
        return True
    if _starts_lower(nxt) and not prev.endswith(_TERMINAL):
        return False  # the sentence goes on: wrapped line, or a paragraph split by a page break/blank line
    if is_heading(prev) or is_heading(nxt):
        return True
    if len(prev) < short_line:  # a wrapped line runs to the margin: a short one ended its paragraph
        return True
    return gap and prev.endswith(_TERMINAL)


def join_paragraphs(
    lines: list[tuple[str, bool]], vocab: Counter[str], lexicon: Lexicon | None = None
) -> tuple[list[str], Counter[str]]:
    """(line, gap_before) pairs -> paragraphs, joining hyphenated words and wrapped lines."""
    counts: Counter[str] = Counter()
    # A line well short of the margin ends its paragraph (text layers have no blank lines between them).
    widths = sorted(len(line) for line, _ in lines)
    short_line = int(0.75 * widths[int(0.9 * (len(widths) - 1))]) if len(widths) >= 10 else 0
    paragraphs: list[list[str]] = []  # each a list of pieces, joined at the end (no quadratic concatenation)
    last = ""  # the previous physical line
    for line, gap in lines:
        if not paragraphs:
            paragraphs.append([line])
            last = line
            continue
        pieces = paragraphs[-1]
        end = _HYPHEN_END_RE.search(pieces[-1])
        fragment = _FRAGMENT_RE.match(line)
        if end and fragment and not is_structural_start(line) and (not gap or _starts_lower(line)):
            if keep_hyphen(end.group(1), fragment.group(1), vocab, lexicon):
                counts["hyphen_kept"] += 1
            else:
                counts["hyphen_joined"] += 1
                pieces[-1] = pieces[-1][:-1]
            pieces.append(line)
        elif should_break(last, line, gap, short_line):
            paragraphs.append([line])
        elif fragment and lexicon is not None and lost_hyphen(pieces[-1], fragment.group(1), lexicon):
            counts["lost_hyphen_joined"] += 1  # "Edu" / "cação": a hyphen OCR did not see (a blurred photo)
            pieces.append(line)
        else:
            counts["lines_joined"] += 1
            pieces += [" ", line]
        last = line
    return ["".join(pieces) for pieces in paragraphs], counts


_LAST_WORD_RE = re.compile(r"(?<![\w-])[^\W\d_]{2,}$")


def lost_hyphen(prev: str, fragment: str, lexicon: Lexicon) -> bool:
    """Do `prev`'s last word and the next line's first (lower-case) `fragment` make one word whose line-end hyphen
    was lost? Only when together they are a word the lexicon knows and one piece is no word at all ("Edu" /
    "cação", "exi" / "gência"; not "em" / "presa", two words)."""
    tail = _LAST_WORD_RE.search(prev)
    if not tail or len(fragment) < 2 or not fragment[0].islower():
        return False
    a, b = tail.group(0).lower(), fragment.lower()
    return (a + b) in lexicon.counts and not (a in lexicon.counts and b in lexicon.counts)


# ---------------------------------------------------------------------------------------------
# 6. Words a text layer (or OCR) broke (issue 9): "dis ciplinas" / "dev e" (a space inside a word),
# "técnicoadministrativo" (a hyphen lost), "R E S O L V E" (letter-spaced), "ministrá -las" (a space before an
# enclitic), and U+FFFD for an accented letter ("servi\ufffdo"). Each is repaired only when the lexicon, or the
# document's and the corpus's own words, make the fix certain; a U+FFFD no single word explains stays, counted.
# ---------------------------------------------------------------------------------------------
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_TRAILING_PUNCT_RE = re.compile(r"[.,;:!?)]+$")
# "R E S O L V E:", "R E I TO R I A" (a pair of letters set closer): at least 4 pieces of 1-2 capitals.
_LETTER_SPACED_RE = re.compile(r"(?<!\S)((?:[A-ZÀ-Ý]{1,2} ){3,}[A-ZÀ-Ý]{1,2})(?=[\s:.,;]|$)")
_LONE_CLITIC_RE = re.compile(r"(?<=[^\W\d_]) -(?=(?:se|lhes?|l[oa]s?|n[oa]s?|me|te|vos)\b)")
_GLUED_RE = re.compile(r"[^\W\d_]{8,}")
# A capitalized or all-caps word of 3+ letters: OCR drops the accents of capitals ("Orgãos", "Unico", "PRESIDENCIA",
# "ACADEMICO", "UNIVERSITARIO").
_CAPITALIZED_RE = re.compile(r"(?<![\w-])[A-ZÀ-Ý](?:[a-zà-ÿ]{2,}|[A-ZÀ-Ý]{2,})(?![\w-])")
# A word of up to 3 capitals is often an acronym ("ERE", Ensino Remoto Emergencial, is no "erê"): its accent comes
# back only as a common word's (SÃO, NÃO: this many uses in the lexicon's counts).
SHORT_ACCENT_MIN_COUNT = 1000
_FFFD_WORD_RE = re.compile(rf"[^\W\d_]*{REPLACEMENT}[{REPLACEMENT}\w]*")
_INTACT_WORD_RE = re.compile(rf"(?<![\w{REPLACEMENT}])[^\W\d_]+(?![\w{REPLACEMENT}])")
FFFD_DOMINANCE = 100  # of several words that fit, one this many times as frequent as each other one is taken


def repair_words(line: str, lexicon: Lexicon, vocab: Counter[str], counts: Counter[str]) -> str:
    """One line with split, glued, letter-spaced and enclitic-spaced words repaired (see above)."""
    known = lexicon.counts

    def is_known(w: str) -> bool:
        return w.lower() in known or vocab.get(w.lower(), 0) > 0

    def joins(a: str, b: str) -> bool:  # "dis ciplinas", "dev e": joined only when a piece is no word
        unknown = [w for w in (a, b) if not is_known(w)]
        return (
            b[0].islower()
            and bool(unknown)
            and all(len(w) >= 2 for w in unknown)
            and (a + b).lower() in known
        )

    def split(line: str) -> str:
        tokens = line.split(" ")
        out: list[str] = []
        i = 0
        while i < len(tokens):
            a = tokens[i]
            b = tokens[i + 1] if i + 1 < len(tokens) else ""
            if (
                _LETTERS_RE.fullmatch(a)
                and _LETTERS_RE.fullmatch(_TRAILING_PUNCT_RE.sub("", b))
                and joins(a, _TRAILING_PUNCT_RE.sub("", b))
            ):
                counts["words_joined"] += 1
                out.append(a + b)
                i += 2
            else:
                out.append(a)
                i += 1
        return " ".join(out)

    def spaced(m: re.Match[str]) -> str:  # "R E S O L V E:" when "RESOLVE" is a word
        pieces = m.group(1).split(" ")
        joined = "".join(pieces)
        if 3 * sum(len(x) == 1 for x in pieces) >= 2 * len(pieces) and joined.lower() in known:
            counts["words_joined"] += 1
            return joined
        return m.group(0)

    def glued(m: re.Match[str]) -> str:  # "técnicoadministrativo" when "técnico-administrativo" is in use
        w = m.group(0)
        if w.lower() in known:
            return w
        for k in range(3, len(w) - 2):
            hyphenated = f"{w[:k]}-{w[k:]}"
            if vocab.get(hyphenated.lower(), 0) or hyphenated.lower() in known:
                counts["hyphens_restored"] += 1
                return hyphenated
        return w

    def capital_accent(m: re.Match[str]) -> str:  # "Orgãos" -> "Órgãos", "PRESIDENCIA" -> "PRESIDÊNCIA"
        # The lexicon says whether it is a word (the document's own words hold the misread itself): one it knows
        # stays ("Area"), one that fits no accented word stays (UNIVASF, CONSEPE); of several that fit, only the
        # one the document writes elsewhere (pyspellchecker's counts favour Portugal's "académica" over Brazil's
        # "acadêmica", so frequency does not decide).
        w = m.group(0)
        if w.lower() in known:
            return w
        fit = pick_word(lexicon.with_accents_of(fold_accents(w.lower())), lexicon, vocab, by_frequency=False)
        if fit and (len(w) > 3 or lexicon.counts.get(fit, 0) >= SHORT_ACCENT_MIN_COUNT):
            counts["accents_restored"] += 1
            return match_case(fit, w)
        return w

    line, n = _LONE_CLITIC_RE.subn("-", line)
    counts["words_joined"] += n
    line = _CAPITALIZED_RE.sub(capital_accent, line)
    line = _LETTER_SPACED_RE.sub(spaced, line)
    line = split(line)
    return _GLUED_RE.sub(glued, line)


def corpus_vocabulary(texts: list[str]) -> Counter[str]:
    """Lower-case words written whole (no U+FFFD in or beside them) across the corpus: evidence for a repair."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in _INTACT_WORD_RE.findall(text))
    return counts


def pick_word(
    candidates: Iterable[str], lexicon: Lexicon, written: Counter[str], by_frequency: bool = True
) -> str | None:
    """The word a repair is certain of: the only candidate; of several, the one `written` (the text's own words)
    has, or (`by_frequency`) one `FFFD_DOMINANCE` times as frequent in the lexicon as each other one; else None."""
    found = set(candidates)
    if len(found) > 1:
        seen = {c for c in found if written.get(c, 0)}
        if len(seen) == 1:
            found = seen
        elif by_frequency:
            ranked = sorted(((lexicon.counts.get(c, 0), c) for c in found), reverse=True)
            if ranked[0][0] >= FFFD_DOMINANCE * max(ranked[1][0], 1):
                found = {ranked[0][1]}
    return found.pop() if len(found) == 1 else None


def repair_replacement_chars(text: str, lexicon: Lexicon, corpus: Counter[str], counts: Counter[str]) -> str:
    """U+FFFD (one per lost non-ASCII letter) replaced where the fix is certain: a legal sign or ordinal
    (stages/legis.py FFFD_LEGAL: "\ufffd 2\ufffd do art." -> "§ 2º do art."), else the one word of the lexicon and
    the corpus that fits; of several, the one the corpus itself writes, or one `FFFD_DOMINANCE` times as frequent
    as each other one (até/atá, após/apôs, início/inácio). Otherwise the U+FFFD stays and is counted."""
    for pattern, repl in FFFD_LEGAL:
        text, n = pattern.subn(repl, text)
        counts["fffd_repaired"] += n

    def fix(m: re.Match[str]) -> str:
        broken = m.group(0)
        if word := pick_word(repair_candidates(broken, lexicon, corpus), lexicon, corpus):
            counts["fffd_repaired"] += broken.count(REPLACEMENT)
            return match_case(word, broken)
        counts["fffd_kept"] += broken.count(REPLACEMENT)
        return broken

    return _FFFD_WORD_RE.sub(fix, text)


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------
def clean_document(
    pages: list[str], p: CleanParams, corpus: Counter[str] | None = None
) -> tuple[str, dict[str, int]]:
    """Pages of raw OCR/text-layer text -> (cleaned text, one paragraph per line; counts per rule). `corpus`: the
    intact words of every document (corpus_vocabulary), evidence for U+FFFD repairs; None = this document's."""
    counts: Counter[str] = Counter()
    page_lines: list[list[str]] = []
    lexicon = load_lexicon()
    if corpus is None:
        corpus = corpus_vocabulary(pages)
    for page in pages:
        text, c = normalize_unicode(page)
        counts.update(c)
        text, n = PUBLISHER_MARK_RE.subn("", text)
        counts["dropped_publisher_marks"] += n
        text, n = DOT_LEADER_RE.subn(lambda m: "" if m.group(1) else " ", text)
        counts["dot_leaders"] += n
        text, n = FILL_IN_RE.subn(_fill_in, text)
        counts["fill_in_blanks"] += n
        if REPLACEMENT in text:
            text = repair_replacement_chars(text, lexicon, corpus, counts)
        page_lines.append(normalize_whitespace(text))
    letterhead = find_letterhead_lines(page_lines, p, lexicon) if p.zone_lines else {}
    for (pi, li), rule in {**letterhead, **find_running_lines(page_lines, p)}.items():
        page_lines[pi][li] = ""
        counts[f"dropped_{rule}"] += 1
    kept: list[tuple[str, bool]] = []  # (line, blank line or page break before it)
    for lines in page_lines:
        gap = True
        for line in lines:
            if link := PLANALTO_LINK_RE.match(line):
                counts["dropped_web_links"] += 1  # a whole line, or the start OCR read across into the ementa
                line = line[link.end() :]
            if not line:
                gap = True
            elif GAZETTE_HEAD_RE.match(line):
                counts["dropped_gazette_head"] += 1
            elif is_junk_line(line, p):
                counts["dropped_junk"] += 1
            elif is_struck_line(line):
                counts["dropped_struck_lines"] += 1
            else:
                kept.append((line, gap))
                gap = False
    vocab = word_counts([line for line, _ in kept])
    kept = [(repair_words(line, lexicon, vocab, counts), gap) for line, gap in kept]
    fixed_lines, counts["numbering_fixed"] = fix_numbering([line for line, _ in kept])
    kept = [(line, gap) for line, (_, gap) in zip(fixed_lines, kept, strict=True)]
    paragraphs, c = join_paragraphs(kept, word_counts(fixed_lines), lexicon)
    counts.update(c)
    text, counts["ordinals_normalized"] = fix_text_ordinals(render_paragraphs(paragraphs))
    return text, {k: v for k, v in sorted(counts.items()) if v}


def _signature_line(line: str) -> bool:
    """A line of the signature block: a name or a post ("Profa. Dra. Marta Lobo", "Reitor")."""
    return len(line) <= 80 and not line.endswith((*_TERMINAL, ",")) and not is_structural_start(line)


def render_paragraphs(paragraphs: list[str]) -> str:
    """One paragraph per line; a blank line between blocks, none before an inciso/alínea/list item,
    between a CAPÍTULO line and its name, or inside the signature block under the closing date (the
    convention of data/sample/README.md)."""
    out: list[str] = []
    signature = -1  # paragraphs since the closing date; -1: no closing date seen, or a new unit began
    for i, para in enumerate(paragraphs):
        if i:
            prev = paragraphs[i - 1]
            same_block = bool(INCISO_RE.match(para) or ALINEA_RE.match(para) or LIST_ITEM_RE.match(para))
            same_block |= bool(HEADING_RE.match(prev)) and is_heading(para) and not HEADING_RE.match(para)
            same_block |= signature > 0 and _signature_line(prev) and _signature_line(para)
            out.append("\n" if same_block else "\n\n")
        if CLOSING_DATE_RE.match(para):
            signature = 0
        elif signature >= 0 and not is_structural_start(para):
            signature += 1
        else:
            signature = -1
        out.append(para)
    return "".join(out) + "\n" if out else ""


# ---------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------
class OcrFileError(ValueError):
    """An OCR JSON that cannot be read or does not have the expected shape."""


def read_ocr_pages(path: Path) -> list[str]:
    """The page texts of one data/ocr/<doc>.json (an OcrDocument), in page order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OcrFileError(f"cannot read: {e}") from None
    try:
        document = from_dict(OcrDocument, data)
    except RecordError as e:
        raise OcrFileError(
            f"not an OCR document ({e}); expected {{doc, source, sha256, pages: [{{page, text, ...}}]}}"
        ) from None
    return [page.text for page in sorted(document.pages, key=lambda page: page.page)]


def run(ocr_dir: Path, clean_dir: Path, metrics_file: Path, p: CleanParams) -> dict[str, Any]:
    """Clean every <doc>.json in ocr_dir into clean_dir/<doc>.txt; returns (and writes) the metrics."""
    require_input(ocr_dir, "ocr")
    per_doc: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    documents: dict[Path, list[str]] = {}
    for path in sorted(ocr_dir.glob("*.json")):
        try:
            documents[path] = read_ocr_pages(path)
        except OcrFileError as e:
            log.warning("skipping %s: %s (rerun the ocr stage for it)", path, e)
            failures.append({"file": str(path), "reason": str(e)})
    corpus = corpus_vocabulary([page for pages in documents.values() for page in pages])
    for path, pages in tqdm(documents.items(), desc="clean", unit="doc"):
        text, counts = clean_document(pages, p, corpus)
        atomic_write_text(clean_dir / f"{path.stem}.txt", text)
        per_doc[path.stem] = {"chars_in": sum(map(len, pages)), "chars_out": len(text), **counts}
        if counts.get("dropped_struck_lines"):
            log.warning(
                "%s: %d OCR lines dropped as struck through (revoked wording read as hyphen-joined words)",
                path.stem,
                counts["dropped_struck_lines"],
            )
        if counts.get("fffd_kept"):
            log.warning(
                "%s: %d U+FFFD kept (no single word fits; %d repaired)",
                path.stem,
                counts["fffd_kept"],
                counts.get("fffd_repaired", 0),
            )
    for stale in sorted(clean_dir.glob("*.txt")):
        if stale.stem not in per_doc:
            log.info("removing %s: its OCR output is gone or invalid", stale)
            stale.unlink()
    totals: Counter[str] = Counter()
    for counts in per_doc.values():
        totals.update(counts)
    metrics = {
        "documents": len(per_doc),
        "failures": failures,
        "chars_in": totals["chars_in"],
        "chars_out": totals["chars_out"],
        "lines_dropped": {
            rule: totals[f"dropped_{rule}"]
            for rule in (
                "header_footer",
                "page_number",
                "letterhead",
                "gazette_head",
                "web_links",
                "junk",
                "struck_lines",
            )
        },
        "fffd_repaired": totals["fffd_repaired"],
        "fffd_kept": totals["fffd_kept"],
        "documents_with_fffd": sorted(doc for doc, counts in per_doc.items() if counts.get("fffd_kept")),
        "rules": {k: v for k, v in sorted(totals.items()) if not k.startswith("chars_")},
        "per_document": per_doc,
    }
    write_json(metrics_file, metrics)
    return metrics


def main() -> None:
    p = load_params("clean", CleanParams)
    log.info("clean: %s -> %s", OCR_DIR, CLEAN_DIR)
    m = run(OCR_DIR, CLEAN_DIR, metrics_file("clean"), p)
    log.info(
        "clean: %d documents, %d -> %d chars, dropped %s, %d skipped",
        m["documents"], m["chars_in"], m["chars_out"], m["lines_dropped"], len(m["failures"]),
    )  # fmt: skip


if __name__ == "__main__":
    run_main(main)
