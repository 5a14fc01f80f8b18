"""clean: OCR pages (data/ocr/<doc>.json) -> one cleaned text per document (data/clean/<doc>.txt).

Unlike the original approach (deleting `" \\ _ . , @ * ~ $ ! +` and squeezing spaces, which took the
sample's CER from tesseract's ~4% to ~20%), every rule here only removes what is provably noise and
never deletes punctuation: "Art. 5º", "R$ 1.000,00", "nota 5,0" and "15/03/2024" survive untouched.

Rules, in order (each a pure function, counted into metrics/clean.json):
  1. unicode     NFC, control characters removed, ligatures expanded, odd spaces/hyphens/ordinals fixed
  2. whitespace  tabs and runs of spaces squeezed, line ends stripped
  3. headers     lines repeated near the top/bottom of most pages ("Página 2 de 5", the running header)
                 and lone page numbers dropped; once per page (a title repeating the header stays)
  4. junk        short lines made mostly of non-letters ("~ ,. ' |") dropped; structure lines never are
  5. paragraphs  hyphenated line ends joined ("avalia-\\nção"), wrapped lines and page breaks joined into
                 paragraphs, breaks kept before CAPÍTULO, Art., §, incisos, alíneas and headings
Output: one paragraph per line. Held-out check on layouts the rules were not tuned on: tests/test_heldout_clean.py.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from tqdm import tqdm

from stages.common import atomic_write_text, load_params, require_input, run_main, write_json
from stages.legis import (
    ALINEA_RE,
    ARTICLE_NUM_RE,
    CLOSING_DATE_RE,
    HEADING_LEVELS,
    HEADING_NUM_RE,
    HEADING_RE,
    INCISO_MISREAD_RE,
    INCISO_RE,
    LIST_ITEM_RE,
    NUMBERED_PARAGRAPH_RE,
    PARAGRAPH_MISREAD_RE,
    PARAGRAPH_RE,
    article_number,
    enumeration_ordinal,
    expected_numeral,
    is_heading,
    is_structural_start,
    to_roman,
)
from stages.records import CLEAN_DIR, OCR_DIR, OcrDocument, RecordError, from_dict, metrics_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanParams:
    header_min_pages: int = 2  # a line repeated on at least this many pages ...
    header_min_fraction: float = 0.5  # ... and on at least this fraction of them is a running header/footer
    header_similarity: float = 90.0  # rapidfuzz ratio (0-100) for "the same line" despite OCR noise
    edge_lines: int = 3  # header/footer candidates: this many non-empty lines at the top and bottom of a page
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
    out = []
    last_article = 0
    last_inciso = 0
    last_heading: dict[str, int] = {}
    arabic = arabic_numbered_starts(lines)
    for index, line in enumerate(lines):
        new = PARAGRAPH_MISREAD_RE.sub("§ ", line)
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
        article = article_number(new)  # every spelling: "Art. 2º", "ART. 2º", "Artigo 2.º"
        if article is not None or PARAGRAPH_RE.match(new) or HEADING_RE.match(new):
            last_inciso = 0  # a new article, § or heading restarts the incisos
        if article is not None:
            last_article = article
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
#   b. the next fragment starts with a digit or a capital (and the first part is not all caps) -> keep
#   c. enclisis: the fragment is a clitic pronoun (se, lhe, lo, ...) and the first part looks like a verb
#      form (ends in r, an accented vowel, or a/e/am/em/ou/eu/iu and is >= 4 letters), unless the joined
#      word is a common noun ending the same way (análise, base, hipótese, ...) -> keep
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
_VERBISH_RE = re.compile(r"(?:r|[áéêíóôâ]|[ae]|am|em|ou|eu|iu)$")


def word_counts(lines: list[str]) -> Counter[str]:
    """Lower-cased words (hyphenated compounds whole) seen inside lines, line-end fragments excluded."""
    counts: Counter[str] = Counter()
    for line in lines:
        words = _WORD_RE.findall(line.lower())
        if line.endswith("-") and words:
            words = words[:-1]
        counts.update(words)
    return counts


def keep_hyphen(first: str, fragment: str, vocab: Counter[str]) -> bool:
    """True when `first-` + `fragment` at a line break is a real hyphenated word (see the rules above)."""
    a, b = first.lower(), fragment.lower()
    hyphenated, joined = vocab.get(f"{a}-{b}", 0), vocab.get(a + b, 0)
    if hyphenated or joined:
        return hyphenated > joined
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


def join_paragraphs(lines: list[tuple[str, bool]], vocab: Counter[str]) -> tuple[list[str], Counter[str]]:
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
            if keep_hyphen(end.group(1), fragment.group(1), vocab):
                counts["hyphen_kept"] += 1
            else:
                counts["hyphen_joined"] += 1
                pieces[-1] = pieces[-1][:-1]
            pieces.append(line)
        elif should_break(last, line, gap, short_line):
            paragraphs.append([line])
        else:
            counts["lines_joined"] += 1
            pieces += [" ", line]
        last = line
    return ["".join(pieces) for pieces in paragraphs], counts


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------
def clean_document(pages: list[str], p: CleanParams) -> tuple[str, dict[str, int]]:
    """Pages of raw OCR/text-layer text -> (cleaned text, one paragraph per line; counts per rule)."""
    counts: Counter[str] = Counter()
    page_lines: list[list[str]] = []
    for page in pages:
        text, c = normalize_unicode(page)
        counts.update(c)
        page_lines.append(normalize_whitespace(text))
    for (pi, li), rule in find_running_lines(page_lines, p).items():
        page_lines[pi][li] = ""
        counts[f"dropped_{rule}"] += 1
    kept: list[tuple[str, bool]] = []  # (line, blank line or page break before it)
    for lines in page_lines:
        gap = True
        for line in lines:
            if not line:
                gap = True
            elif is_junk_line(line, p):
                counts["dropped_junk"] += 1
            else:
                kept.append((line, gap))
                gap = False
    fixed_lines, counts["numbering_fixed"] = fix_numbering([line for line, _ in kept])
    kept = [(line, gap) for line, (_, gap) in zip(fixed_lines, kept, strict=True)]
    paragraphs, c = join_paragraphs(kept, word_counts(fixed_lines))
    counts.update(c)
    return render_paragraphs(paragraphs), {k: v for k, v in sorted(counts.items()) if v}


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
    sources = sorted(ocr_dir.glob("*.json"))
    per_doc: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    for path in tqdm(sources, desc="clean", unit="doc"):
        try:
            pages = read_ocr_pages(path)
        except OcrFileError as e:
            log.warning("skipping %s: %s (rerun the ocr stage for it)", path, e)
            failures.append({"file": str(path), "reason": str(e)})
            continue
        text, counts = clean_document(pages, p)
        atomic_write_text(clean_dir / f"{path.stem}.txt", text)
        per_doc[path.stem] = {"chars_in": sum(map(len, pages)), "chars_out": len(text), **counts}
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
            rule: totals[f"dropped_{rule}"] for rule in ("header_footer", "page_number", "junk")
        },
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
