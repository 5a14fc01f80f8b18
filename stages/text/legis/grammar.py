"""The grammar of Brazilian (and Portuguese) legislation, in one place: how acts number and head their parts,
how OCR misreads those numbers, where sentences end, and how an act names itself.

clean, chunk and qa_rules import from here and define no pattern of their own, so a spelling learnt once
("ART. 2º", "Artigo 1.º", "Art. 1°") is learnt by every stage. Every pattern is built from the atoms in the
first section; a variant (a line-start test for clean, a multi-line head for qa_rules) is composed from them,
never rewritten. Pure: strings in, strings out.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------------------------
# Atoms
# ---------------------------------------------------------------------------------------------
ROMAN = r"[IVXLCDM]{1,7}"
DASH = "[–—-]"  # hyphen-minus, en dash, em dash: all three separate an inciso's numeral from its text
# An ordinal after a number, as typed and as OCR reads it: 1º / 1 º / 1.º (Portugal) / 1° (degree sign) / 1o.
ORDINAL = r"(?:\s?\.?\s?[º°]|o(?![a-zà-ú]))"
# Heading words. All-caps words start a heading whatever follows (CAPÍTULO I – DAS DISPOSIÇÕES GERAIS on one
# line too); Portugal spells SECÇÃO.
HEADING_WORDS_CAPS = (
    r"T[ÍI]TULO|CAP[ÍI]TULO|SE[ÇC][ÃA]O|SUBSE[ÇC][ÃA]O|SEC[ÇC][ÃA]O|SUBSEC[ÇC][ÃA]O|LIVRO|PARTE|ANEXO"
)
# Mixed-case headings ("Capítulo II", "Título I", "Livro I", "Secção I", "Parte I") also appear in running
# text ("previsto no Capítulo II desta Resolução" wrapped at a line start), so they count only when nothing
# but a dash, colon or period follows the numeral. "Seção"/"Subseção" are headings in either case.
HEADING_WORDS_MIXED = r"Cap[íi]tulo|T[íi]tulo|Livro|Sec[çc][ãa]o|Subsec[çc][ãa]o|Parte"
_UNICO_CAPS = r"[ÚU]NIC[OA]"
_UNICO_MIXED = r"[ÚU]nic[oa]"
PARAGRAFO_UNICO = r"Par[áa]grafo\s+[úuÚU]nico|PAR[ÁA]GRAFO\s+[ÚU]NICO"

# ---------------------------------------------------------------------------------------------
# Structure. A "structural start" is a line that begins a new unit and must never be glued to the line
# before it: headings (CAPÍTULO II, TÍTULO I, Seção III), articles (Art. 12.), parágrafos (§ 2º, Parágrafo
# único.), incisos (IV –), alíneas (b)), list items (1. / •) and the closing place and date.
# ---------------------------------------------------------------------------------------------
HEADING_RE = re.compile(
    rf"^(?:(?:{HEADING_WORDS_CAPS}|Se[çc][ãa]o|Subse[çc][ãa]o)\s+(?:{ROMAN}|\d+|{_UNICO_CAPS})\b"
    rf"|(?:{HEADING_WORDS_MIXED})\s+(?:{ROMAN}|\d+|{_UNICO_MIXED})\s*(?:[-–—.:]|$))"
)
# An article's label, as written: Art. 7º / Art. 7° / Art 7o / ART. 7º / Art.7º / Art. 10. / Art. 10 - /
# Art. 1º-A / Artigo 5º / Artigo 5.º (Portugal) / Art. 1.027 (codes past a thousand articles). The number is
# group 1, a letter suffix glued to it ("-A", never "- A Universidade") group 2.
ARTICLE_LABEL_PATTERN = (
    rf"(?:Art|ART)(?:igo|IGO|\.)?\s*(\d{{1,3}}(?:\.\d{{3}})+|\d{{1,4}})"
    rf"(?:{ORDINAL}|\.(?!\d))?(?:[-–]([A-Z])(?!\w))?"
)
ARTICLE_RE = re.compile("^" + ARTICLE_LABEL_PATTERN)
# § 2º / §2º / § 2° / Parágrafo único / Parágrafo Único / PARÁGRAFO ÚNICO / Paragrafo unico (OCR); never the
# lower-case "parágrafo único do art. 3º" of a reference wrapped to a line start.
PARAGRAPH_RE = re.compile(rf"^(?:§{{1,2}}\s*\d|{PARAGRAFO_UNICO})")
# Incisos: "IV – texto" (the usual form), "IV) texto", "IV. texto" (the period form only before a lower-case
# word, so "D. Maria" and "C. Federal" at a line start are not incisos). Alíneas: "b) texto", "b. texto".
INCISO_RE = re.compile(rf"^{ROMAN}(?:\s*{DASH}\s*\S|\)\s+\S|\.\s+[a-zà-ú])")
ALINEA_RE = re.compile(r"^[a-z](?:\)\s|\.\s+[a-zà-ú])")
# The closing place and date: "Vale Verde, 15 de março de 2024." / "Brasília, 25 de setembro de 2008;"
CLOSING_DATE_RE = re.compile(r"^[A-ZÀ-Ý][\w ]{1,40}, (?:em )?\d{1,2}º? de [a-zç]+ de \d{4}\b")
LIST_ITEM_RE = re.compile(r"^(?:[•·▪◦*-]\s|\d{1,3}[.)]\s+\S)")


def is_structural_start(line: str) -> bool:
    """True when `line` begins a heading, article, parágrafo, inciso, alínea, list item or the closing date."""
    s = line.lstrip()
    return bool(
        HEADING_RE.match(s)
        or ARTICLE_RE.match(s)
        or PARAGRAPH_RE.match(s)
        or INCISO_RE.match(s)
        or ALINEA_RE.match(s)
        or LIST_ITEM_RE.match(s)
        or NUMBERED_PARAGRAPH_RE.match(s)
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


def article_number(line: str) -> int | None:
    """The number of the article `line` starts (1027 for "Art. 1.027"), else None."""
    m = ARTICLE_RE.match(line.lstrip())
    return int(m.group(1).replace(".", "")) if m else None


# ---------------------------------------------------------------------------------------------
# Heads inside a chunk of text (multi-line), with the punctuation after the label: what qa_rules cuts an
# article into. Same atoms as the line-start patterns above.
# ---------------------------------------------------------------------------------------------
ARTICLE_HEAD_RE = re.compile(rf"^[ \t]*{ARTICLE_LABEL_PATTERN}[ \t]*\.?[ \t]*[-–—:]?[ \t]*", re.MULTILINE)
# "§ 1º –", "§2o", "§ 2º-A", "Parágrafo único." (group 2: the number, group 3: a letter suffix)
PARAGRAPH_HEAD_RE = re.compile(
    rf"^[ \t]*(§\s*(\d+){ORDINAL}?(-[A-Z])?|Par[áa]grafo\s+[úu]nico)\.?[ \t]*[-–—:]?\s*",
    re.MULTILINE | re.IGNORECASE,
)
# Portugal numbers an article's paragraphs "1 - ", "2 — " (cited as "n.º 2").
NUMBERED_PARAGRAPH_RE = re.compile(rf"^[ \t]*(\d{{1,2}})[ \t]*{DASH}[ \t]+", re.MULTILINE)
# Enumerations: incisos "I –", "I —", "I)", "I."; alíneas "a)", "a."; items "1.", "1)".
# (group 1: inciso numeral, 2: alínea letter, 3: item number)
ENUM_ITEM_RE = re.compile(
    rf"^[ \t]*(?:([IVXLC]+)(?:[ \t]*{DASH}|[.)](?=\s))|([a-z])[.)](?=\s)|(\d{{1,2}})[.)](?=\s))\s*",
    re.MULTILINE,
)
# Where an article's text ends: a heading (CAPÍTULO II, TÍTULO III, DA SELEÇÃO, a line of capitals) or the
# closing "Cidade, 2 de março de 2024."
BODY_END_RE = re.compile(
    r"^\s*(?:(?:CAPÍTULO|TÍTULO|SEÇÃO|Seção|Subseção|LIVRO)\b.*|[^a-z\n]{3,}|[A-ZÀ-Ú][\w ]+, \d{1,2}º? de \w+ de \d{4}\.?"
    rf"|{HEADING_RE.pattern.removeprefix('^')}.*)\s*$",
    re.MULTILINE,
)


def paragraph_name(match: re.Match[str]) -> str:
    """'§ 1º' for "§1º" / "§ 1°" / "§ 1o", '§ 10', '§ 2º-A', 'parágrafo único', or Portugal's 'n.º 2', from a
    PARAGRAPH_HEAD_RE or NUMBERED_PARAGRAPH_RE match."""
    if match.re is NUMBERED_PARAGRAPH_RE:
        return f"n.º {int(match.group(1))}"
    if match.group(2) is None:
        return "parágrafo único"
    n = int(match.group(2))
    return f"§ {n}º{match.group(3) or ''}" if n < 10 else f"§ {n}{match.group(3) or ''}"


def item_name(match: re.Match[str]) -> str:
    """'inciso IV', 'alínea b' or 'item 3' from an ENUM_ITEM_RE match."""
    if match.group(1):
        return f"inciso {match.group(1)}"
    return f"alínea {match.group(2)}" if match.group(2) else f"item {match.group(3)}"
