"""Text helpers shared by clean, chunk (and later stages): structure patterns of Brazilian
legislation, sentence splitting, an approximate token counter, and the character error rate.

All pure functions on strings; nothing here touches files.
"""

from __future__ import annotations

import math
import re

from rapidfuzz.distance import Levenshtein

# ---------------------------------------------------------------------------------------------
# Structure of legislation. A "structural start" is a line that begins a new unit and must never be
# glued to the line before it: headings (CAPÍTULO II, TÍTULO I, Seção III), articles (Art. 12.),
# parágrafos (§ 2º, Parágrafo único.), incisos (IV –) and alíneas (b)).
# ---------------------------------------------------------------------------------------------
ROMAN = r"[IVXLCDM]{1,7}"
# Headings. All-caps words start a heading whatever follows (CAPÍTULO I – DAS DISPOSIÇÕES GERAIS on one
# line too); Portugal spells SECÇÃO. The mixed-case "Capítulo II" / "Título I" / "Livro I" / "Secção I" /
# "Parte I" also appear in running text ("previsto no Capítulo II desta Resolução" wrapped at a line start),
# so they count only when nothing but a dash, colon or period follows the numeral.
HEADING_RE = re.compile(
    rf"^(?:(?:T[ÍI]TULO|CAP[ÍI]TULO|SE[ÇC][ÃA]O|SUBSE[ÇC][ÃA]O|SEC[ÇC][ÃA]O|SUBSEC[ÇC][ÃA]O|LIVRO|PARTE|ANEXO"
    rf"|Se[çc][ãa]o|Subse[çc][ãa]o)\s+(?:{ROMAN}|\d+|[ÚU]NIC[OA])\b"
    rf"|(?:Cap[íi]tulo|T[íi]tulo|Livro|Sec[çc][ãa]o|Subsec[çc][ãa]o|Parte)\s+(?:{ROMAN}|\d+|[ÚU]nic[oa])\s*(?:[-–—.:]|$))"
)
# An article's label, as written: Art. 7º / Art. 7° / Art 7o / ART. 7º / Art.7º / Art. 10. / Art. 10 - /
# Art. 1º-A / Artigo 5º / Artigo 5.º (Portugal) / Art. 1.027 (codes past a thousand articles). The number is
# group 1, a letter suffix glued to it ("-A", never "- A Universidade") group 2.
ARTICLE_LABEL_PATTERN = (
    r"(?:Art|ART)(?:igo|IGO|\.)?\s*(\d{1,3}(?:\.\d{3})+|\d{1,4})"
    r"(?:\s?\.?\s?[º°]|o(?![a-zà-ú])|\.(?!\d))?(?:[-–]([A-Z])(?!\w))?"
)
ARTICLE_RE = re.compile("^" + ARTICLE_LABEL_PATTERN)
# § 2º / §2º / § 2° / Parágrafo único / Parágrafo Único / PARÁGRAFO ÚNICO / Paragrafo unico (OCR); never the
# lower-case "parágrafo único do art. 3º" of a reference wrapped to a line start.
PARAGRAPH_RE = re.compile(r"^(?:§{1,2}\s*\d|Par[áa]grafo\s+[úuÚU]nico|PAR[ÁA]GRAFO\s+[ÚU]NICO)")
INCISO_RE = re.compile(rf"^{ROMAN}\s*[–—-]\s*\S")
ALINEA_RE = re.compile(r"^[a-z]\)\s")
# The closing place and date: "Vale Verde, 15 de março de 2024." / "Brasília, 25 de setembro de 2008;"
CLOSING_DATE_RE = re.compile(r"^[A-ZÀ-Ý][\w ]{1,40}, (?:em )?\d{1,2}º? de [a-zç]+ de \d{4}\b")
LIST_ITEM_RE = re.compile(r"^(?:[•·▪◦*-]\s|\d{1,3}[.)]\s+\S)")


def is_structural_start(line: str) -> bool:
    """True when `line` begins a heading, article, parágrafo, inciso, alínea or list item."""
    s = line.lstrip()
    return bool(
        HEADING_RE.match(s)
        or ARTICLE_RE.match(s)
        or PARAGRAPH_RE.match(s)
        or INCISO_RE.match(s)
        or ALINEA_RE.match(s)
        or LIST_ITEM_RE.match(s)
        or CLOSING_DATE_RE.match(s)
    )


CONNECTIVES = frozenset(
    "A AO AOS AS À ÀS O OS DA DAS DE DO DOS E EM NA NAS NO NOS OU POR PARA COM QUE".split()
)


def is_heading(line: str) -> bool:
    """A CAPÍTULO/TÍTULO/SEÇÃO line, or a short all-caps line such as "DAS DISPOSIÇÕES GERAIS"."""
    s = line.strip()
    if HEADING_RE.match(s):
        return True
    letters = [c for c in s if c.isalpha()]
    words = s.split()
    # "A PRÓ-REITORA DE GRADUAÇÃO DA UNIVERSIDADE FEDERAL DO" is an all-caps line that goes on.
    if not words or words[-1] in CONNECTIVES or s.endswith((",", "-")):
        return False
    return 4 <= len(letters) and len(s) <= 120 and all(c.isupper() for c in letters if c not in "ºª")


def is_heading_name(line: str) -> bool:
    """A sentence-case name on a line of its own: "Da Composição" under "Seção I", "Objeto" or "(Âmbito)"
    under "Artigo 1.º" (Portugal's epigraphs). Callers decide where one may stand."""
    s = line.strip()
    return (
        0 < len(s) <= 80
        and (s[0].isupper() or s[0] == "(")
        and not s.endswith((".", ";", ":", ","))
        and not (ARTICLE_RE.match(s) or PARAGRAPH_RE.match(s))
    )


def article_label(line: str) -> str | None:
    """'Art. 7º' for a line starting article 7 (1–9 are ordinals, 10+ cardinals, as in the laws), else None."""
    m = ARTICLE_RE.match(line.lstrip())
    if not m:
        return None
    n = int(m.group(1).replace(".", ""))
    # "Art. 1°", "Art 1o", "ART. 1º", "Artigo 1.º" -> "Art. 1º"; "Artigo 10.º" -> "Art. 10"; "Art. 1.027"
    label = f"Art. {n}º" if n < 10 else f"Art. {n:,}".replace(",", ".")
    return f"{label}-{m.group(2)}" if m.group(2) else label


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
    r"(?:\b(?:Art(?:igo)?s?|ART(?:IGO)?S?)\.?\s*\d[\d.]*[º°o]?(?:-[A-Z])?"
    r"|Par[áa]grafo\s+[úuÚU]nico|PAR[ÁA]GRAFO\s+[ÚU]NICO)$"
)
_SENTENCE_END_RE = re.compile(r"[.!?;](?=\s+[\"“'(§A-ZÀ-Ý0-9])")


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


# ---------------------------------------------------------------------------------------------
# Token counting without a tokenizer. Pieces: runs of letters, single digits (Llama-2 style BPEs split
# numbers into digits), single punctuation marks (non-ASCII ones like § cost 2). A letter run costs ceil(len / 3.2) tokens (all caps:
# len / 2.2), plus one when it holds non-ASCII letters (accents are rarely merged into long pieces). Measured in
# docs/benchmarks/clean.md against byte-level BPEs trained with `tokenizers`; it overestimates, which
# is the safe side for a context limit.
# ---------------------------------------------------------------------------------------------
_PIECE_RE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_")
CHARS_PER_TOKEN = 3.2
CAPS_CHARS_PER_TOKEN = 2.2  # all-caps words (headings) are rare in training text: split finer


def approx_token_count(text: str) -> int:
    """Approximate (over-)count of a Llama-like BPE's tokens for Portuguese text."""
    total = 0
    for piece in _PIECE_RE.findall(text):
        if piece[0].isalpha():
            per_token = CAPS_CHARS_PER_TOKEN if len(piece) > 1 and piece.isupper() else CHARS_PER_TOKEN
            total += math.ceil(len(piece) / per_token) + (0 if piece.isascii() else 1)
        else:
            total += 1 if piece.isascii() else 2  # "§", "–": two bytes for a byte-level BPE
    return total


# ---------------------------------------------------------------------------------------------
# Evaluation.
# ---------------------------------------------------------------------------------------------
_WS_RE = re.compile(r"\s+")


def normalize_ws(text: str) -> str:
    """Every run of whitespace (newlines included) becomes one space; ends stripped."""
    return _WS_RE.sub(" ", text).strip()


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: Levenshtein(ws-normalized hyp, ws-normalized ref) / len(ref)."""
    ref = normalize_ws(reference)
    hyp = normalize_ws(hypothesis)
    return Levenshtein.distance(hyp, ref) / max(1, len(ref))
