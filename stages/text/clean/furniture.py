"""Print furniture: page numbers, running headers, letterheads, junk and struck-through lines."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from rapidfuzz import fuzz, process

from stages.text.clean.paragraphs import TERMINAL, starts_lower
from stages.text.legis.grammar import (
    LIST_ITEM_RE,
    is_structural_start,
)
from stages.text.legis.misreads import (
    HEADING_NUM_RE,
)
from stages.text.lexicon import (
    Lexicon,
)


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
# 3b. Letterheads. A scanned letterhead beside a coat of arms comes out of OCR a little different on
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
    return len(prev) >= 40 and not prev.endswith(TERMINAL) and starts_lower(line)


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
