"""The grammar of Brazilian (and Portuguese) legislation, in one place: how acts number and head their parts,
how OCR misreads those numbers, where sentences end, and how an act names itself.

clean, chunk and qa_rules import from here and define no pattern of their own, so a spelling learnt once
("ART. 2º", "Artigo 1.º", "Art. 1°") is learnt by every stage. Every pattern is built from the atoms in the
first section; a variant (a line-start test for clean, a multi-line head for qa_rules) is composed from them,
never rewritten. Pure: strings in, strings out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein

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
_PARAGRAFO_UNICO = r"Par[áa]grafo\s+[úuÚU]nico|PAR[ÁA]GRAFO\s+[ÚU]NICO"

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
PARAGRAPH_RE = re.compile(rf"^(?:§{{1,2}}\s*\d|{_PARAGRAFO_UNICO})")
# Incisos: "IV – texto" (the usual form), "IV) texto", "IV. texto" (the period form only before a lower-case
# word, so "D. Maria" and "C. Federal" at a line start are not incisos). Alíneas: "b) texto", "b. texto".
INCISO_RE = re.compile(rf"^{ROMAN}(?:\s*{DASH}\s*\S|\)\s+\S|\.\s+[a-zà-ú])")
ALINEA_RE = re.compile(r"^[a-z](?:\)\s|\.\s+[a-zà-ú])")
# The closing place and date: "Vale Verde, 15 de março de 2024." / "Brasília, 25 de setembro de 2008;"
CLOSING_DATE_RE = re.compile(r"^[A-ZÀ-Ý][\w ]{1,40}, (?:em )?\d{1,2}º? de [a-zç]+ de \d{4}\b")
LIST_ITEM_RE = re.compile(r"^(?:[•·▪◦*-]\s|\d{1,3}[.)]\s+\S)")
# A label standing alone, as a column of labels sets it beside its text (stages/layout.py): "Art. 4º", "Art. 12.",
# "§ 1º" and OCR's readings of its sign ("$1º", "S 2º", "8 3º"), "Parágrafo único.", an inciso's numeral with its
# separator ("IV –", "II.", "III)") and an alínea's letter ("b)"); nothing after it but a period, colon or dash.
LABEL_ALONE_RE = re.compile(
    rf"(?:{ARTICLE_LABEL_PATTERN}|§{{1,2}}\s?\d{{1,3}}(?:{ORDINAL})?|[$S8]\s?\d{{1,3}}(?:{ORDINAL}|\.)|{_PARAGRAFO_UNICO}"
    rf"|{ROMAN}\s?(?:[.)]|{DASH})|[a-z]\))\s*[.:–—-]?"
)

# A list item's numeral standing alone, as a numbered list sets it in a column of its own ("XIV.", "3)", "IV –",
# "V" with its period lost), its strokes as OCR may read them ("HI.", "IH.", "Il.", "VIL": clean's numbering repair
# mends them in sequence; no C, D or M: a list is not that long, and "CIVIL" is a word): what stages/numerals.py
# puts at the start of the line it stands beside.
LIST_NUMERAL_RE = re.compile(rf"(?:[IVXLHlJÍ1|]{{1,7}}|\d{{1,3}})\s?(?:[.:;)]|{DASH})?")
# The characters such a numeral is written with: tesseract reads the strip with no others (alone, out of any
# sentence, it took "II." for "É" and "V." for "ve:").
LIST_NUMERAL_CHARS = "IVXL.)–—-"


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


# ---------------------------------------------------------------------------------------------
# The act's own name, as questions cite it: "a Resolução nº 023/2017", "a Lei nº 12.933/2013", "o Regimento
# Geral da UFAM". Found in the text itself, never in the file name: the heading line ("RESOLUÇÃO Nº 030, DE 29
# DE OUTUBRO DE 2015", "LEI Nº 12.933, DE 26 DE DEZEMBRO DE 2013.", "PORTARIA No\n- 1.632, DE ...", OCR's
# "RESOLUÇÃ0 018/2012-CEG/CONSEPE"), a letterhead glued before it, the ementa under it. One file may hold
# several acts (a page of the Diário Oficial, a law and the decree that regulates it): `act_headings` gives
# each heading's offset, and a question names the act whose heading precedes its text.
# ---------------------------------------------------------------------------------------------
ACT_KINDS = (
    r"DECRETO[- ]LEI|LEI\s+COMPLEMENTAR|LEI|DECRETO|MEDIDA\s+PROVIS[ÓO]RIA|EMENDA\s+CONSTITUCIONAL"
    r"|PORTARIA(?:\s+(?:CONJUNTA|NORMATIVA|INTERMINISTERIAL))?|RESOLU[ÇC][ÃA][O0](?:\s+NORMATIVA)?"
    r"|INSTRU[ÇC][ÃA][O0]\s+NORMATIVA|DELIBERA[ÇC][ÃA][O0]|DECIS[ÃA][O0]|EDITAL|PROVIMENTO|ATO"
)
_NUMBER_MARK = (
    r"(?:N\s?[º°o]\.?|N\.\s?[º°o]|NO|N\.|N\ufffd)"  # Nº, N°, No, N.º, N o, a "Nº" the text layer broke
)
_ISSUER = r"(?:\s+(?:[A-Z]{2,}(?:/[A-Z]{2,})*))?"  # "RESOLUÇÃO CONSUNI Nº 07/2022", "RESOLUÇÃO CNE/CP Nº 2"
_ACT_NUMBER = r"\d{1,3}(?:\.\d{3})*(?:/\d{2,4})?"
_ACT_DATE = r",?\s*(?:DE\s+)?\d{1,2}[º°o]?\s+DE\s+[A-ZÇ]+\s+DE\s+(?P<year>\d{4})"
# group lead: text before the kind on its line (a letterhead); kind; issuer; mark; number; date/year; rest
ACT_HEADING_RE = re.compile(
    rf"^(?P<lead>[^\n]{{0,90}}?)(?:<[^>\n]{{0,30}}>\s*)?(?P<kind>{ACT_KINDS})\b(?P<issuer>{_ISSUER})[ \t]*"
    rf"(?P<mark>{_NUMBER_MARK})?[ \t]*\n?[ \t]*{DASH}?[ \t]*(?P<number>{_ACT_NUMBER})?"
    rf"(?P<suffix>[-/ ]?[A-Z]{{2,}}(?:/[A-Z]{{2,}})*)?(?:{_ACT_DATE})?(?P<rest>[^\n]*)$",
    re.MULTILINE,
)
# Acts named, not numbered: "REGIMENTO GERAL", "ESTATUTO DA UNIVERSIDADE ...", "CÓDIGO DE CONDUTA DISCENTE".
NAMED_ACT_RE = re.compile(
    r"^[^\w\n]{0,4}(?P<name>(?:REGIMENTO|ESTATUTO|REGULAMENTO|C[ÓO]DIGO|NORMAS)\b[A-ZÀ-Ý ,\-–]{0,100})$",
    re.MULTILINE,
)
# The ementa: a verb in the present right under the title ("Dispõe sobre ...", "Que regulamenta ...") ...
_EMENTA_START_RE = re.compile(
    r"^(?:Disp[õo]e|Regulamenta|Estabelece|Cria|Define|Institui|Altera|Pro[íi]be|Adota|Autoriza|Disciplina"
    r"|Aprova|D[áa]\s+nova|Fixa|Normatiza|Organiza|Revoga|Homologa|Atualiza|Prorroga|Suspende|Trata)\b"
)
# ... up to the enacting clause ("O REITOR ...", "A PRESIDENTA DA REPÚBLICA", "CONSIDERANDO", "RESOLVE:").
_ENACTING_RE = re.compile(
    r"^(?:(?:O|A|OS|AS)\s+[A-ZÀ-Ý]{3,}|CONSIDERANDO|R\s?E\s?S\s?O\s?L\s?V\s?E|RESOLVEM|DECRETA|Fa[çc]o saber"
    r"|O\s+Presidente|(?:Art|ART)\b)"
)
# Web-copy annotations of compiled laws (planalto.gov.br and its copies): "(Redação dada pela Lei nº 11.114,
# de 2005)", "(Incluído pela Lei ...)", "(Vide Lei ...)", "(Regulamento)", "(VETADO)": not the law's text.
ANNOTATION_RE = re.compile(
    r"\s*\((?:Reda[çc][ãa]o dada|Inclu[íi]d[oa]|Acrescid[oa]|Acrescentad[oa]|Renumerad[oa]|Revogad[oa]|Vide|"
    r"Regulamento|Regulamenta[çc][ãa]o|Vig[êe]ncia|Produ[çc][ãa]o de efeitos?|Promulga[çc][ãa]o|Vetad[oa]|"
    r"Declarad[oa]|Suspens[oa]|Execu[çc][ãa]o suspensa|Revigorad[oa]|Convers[ãa]o|Mensagem de veto|"
    r"Par[áa]grafo (?:[úu]nico )?(?:inclu[íi]do|acrescido|renumerado))[^()]*(?:\([^()]*\)[^()]*)*\)",
    re.IGNORECASE,
)
# An official gazette's running head, printed on each page above the acts (Diário Oficial da União: "8 ISSN
# 1677-7042", "Diário Oficial da União - Seção 1", "Nº 185, terça-feira, 26 de setembro de 2006"): a whole line of
# it, with the page number on either side, is print furniture wherever a text layer's order puts it.
_WEEKDAY = r"(?:segunda|ter[çc]a|quarta|quinta|sexta)(?:-|\s)feira|s[áa]bado|domingo"
GAZETTE_HEAD_RE = re.compile(
    r"^(?:\d{1,4}\s+)?(?:ISSN\s+\d{4}\s?-\s?\d{3}[\dX]"
    r"|Di[áa]rio\s+Oficial\s+d[aoe]\s+[^\W\d][\w ]{1,40}?\s*[-–—]\s*Se[çc][ãa]o\s+\d"
    rf"|N[º°o.]?\s*\d{{1,5}}\s*,\s*(?:{_WEEKDAY})\s*,\s*\d{{1,2}}º?\s+de\s+[^\W\d]+\s+de\s+\d{{4}})"
    r"(?:\s+\d{1,4})?$",
    re.IGNORECASE,
)
# The Planalto's links in the margin beside a law's ementa ("Produção de efeitos", "Regulamento (Vigência)",
# "Mensagem de veto", "Texto compilado"): the website's navigation, not the law. A text layer holds each as a line;
# OCR reads the margin and the ementa across and starts the ementa's lines with them ("Mensagem de Veto Medida
# Provisória nº 2.208"). A lone "Regulamento" or "Vigência" is a word of the law, not matched.
PLANALTO_LINK_RE = re.compile(
    r"^(?:(?:Produ[çc][ãa]o\s+de\s+[Ee]feitos|Mensagem\s+de\s+[Vv]eto|Texto\s+[Cc]ompilado"
    r"|Regulamento\s*\(Vig[êe]ncia\))(?:\s+|$))+"
)
# Where an act's text ends besides its headings: the signature block ("PLENÁRIO ..., em Manaus, 04 de julho de
# 2011.", "SALA DE REUNIÕES ...", "Documento assinado eletronicamente por ...", "Publique-se.").
SIGNATURE_RE = re.compile(
    r"^.*(?:\b[Ee]m [A-ZÀ-Ú][\w ]+, (?:em )?\d{1,2}º? de [a-zç]+ de \d{4}|Documento assinado eletronicamente"
    r"|Dê-se ciência|Publique-se|Registre-se|Cumpra-se|SALA DE REUNI[ÕO]ES|PLEN[ÁA]RIO\b).*$",
    re.MULTILINE,
)
_FEMININE_KINDS = (
    "lei",
    "resolução",
    "portaria",
    "instrução",
    "deliberação",
    "decisão",
    "medida",
    "emenda",
    "normas",
)
_NAME_CONNECTIVES = frozenset("de da do das dos e em a à o para por com".split())


@dataclass(frozen=True)
class ActName:
    """How a question cites an act: `name` "Resolução nº 023/2017", with its gender for the articles."""

    name: str
    feminine: bool
    ementa: str = ""  # "Dispõe sobre o regime didático ..." ("" when none was found)

    @property
    def the(self) -> str:  # "a Resolução nº 023/2017"
        return f"{'a' if self.feminine else 'o'} {self.name}"

    @property
    def of(self) -> str:  # "da Resolução nº 023/2017"
        return f"{'da' if self.feminine else 'do'} {self.name}"

    @property
    def in_(self) -> str:  # "na Resolução nº 023/2017"
        return f"{'na' if self.feminine else 'no'} {self.name}"

    @property
    def per(self) -> str:  # "segundo a Resolução nº 023/2017"
        return f"segundo {self.the}"


def strip_annotations(text: str) -> str:
    """`text` without the web-copy annotations of compiled laws ("(Redação dada pela Lei nº ...)")."""
    return ANNOTATION_RE.sub("", text)


def running_acronyms(text: str) -> frozenset[str]:
    """All-caps words the text uses inside mixed-case sentences (UFAM, CONSEPE): acronyms, not headings."""
    out: set[str] = set()
    for line in text.split("\n"):
        if len(re.findall(r"\b[a-zà-ú]{3,}\b", line)) >= 3:
            out.update(
                w for w in re.findall(r"\b[A-ZÀ-Ý]{2,8}\b", line) if w.lower() not in _NAME_CONNECTIVES
            )
    return frozenset(out)


def _title_case(words: str, keep: frozenset[str] = frozenset()) -> str:
    """ "REGIMENTO GERAL DA UFAM" -> "Regimento Geral da UFAM" (words in `keep` stay as written)."""
    out = []
    for i, word in enumerate(words.split()):
        low = word.lower()
        if word in keep:
            out.append(word)
        else:
            out.append(low if i and low in _NAME_CONNECTIVES else low[:1].upper() + low[1:])
    return " ".join(out).replace("-lei", "-Lei")


def act_ementa(text: str, start: int) -> str:
    """The ementa in the lines after a heading that ends at `start` ("" when none): wrapped lines joined, up
    to the enacting clause; stray lines between title and ementa ("Vide Lei nº ...", "Produção de efeitos")
    are skipped."""
    lines: list[str] = []
    for raw in text[start : start + 1200].split("\n"):
        line = re.sub(r"^Que\s+(\w)", lambda m: m.group(1).upper(), raw.strip())  # "Que regulamenta ..."
        if not line:
            continue
        if not lines:
            if _EMENTA_START_RE.match(line):
                lines.append(line)
            elif _ENACTING_RE.match(line) or len(line) >= 60:
                break
            continue
        if _ENACTING_RE.match(line):
            break
        lines.append(line)
        if line.endswith("."):
            break
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def _glued_to_letterhead(lead: str) -> bool:
    """A heading glued to the letterhead line before it ("... Pós-Graduação PORTARIA CONJUNTA Nº"): the lead
    ends with a capitalised word, where running text ("nos termos da LEI nº") ends with a preposition."""
    words = lead.split()
    return bool(words) and words[-1][:1].isupper()


def _numbered_act(m: re.Match[str], text: str) -> ActName | None:
    kind = _title_case(
        re.sub(r"\s+", " ", m.group("kind").replace("0", "O")).replace("DECRETO LEI", "DECRETO-LEI")
    )
    caps = m.group("kind") == m.group("kind").upper()
    lead, rest, number = m.group("lead"), (m.group("rest") or "").strip(), m.group("number")
    if lead.strip(" -–—.|*•<>!") and not (m.group("mark") and caps and _glued_to_letterhead(lead)):
        return None  # "... nos termos da LEI nº ..." in running text
    if len(re.findall(r"\b[a-zà-ú]{3,}\b", rest)) >= 2 or (not caps and not (number and len(rest) < 3)):
        return None  # a sentence, not a heading
    if not number and not (m.group("mark") or re.fullmatch(r"[-–.,: ]*", rest)):
        return (
            None  # "ATO DO REITOR": no number and no number mark ("Nº DDiizõõa", a number OCR lost, is kept)
        )
    issuer = m.group("issuer").strip()
    kind = f"{kind} {issuer}" if issuer and issuer != "NO" else kind
    feminine = kind.split()[0].lower().split("-")[0] in _FEMININE_KINDS
    ementa = act_ementa(text, m.end())
    if number:
        year = m.group("year")
        return ActName(
            f"{kind} nº {number if '/' in number or not year else f'{number}/{year}'}", feminine, ementa
        )
    if not ementa:
        return None
    verb, _, tail = ementa.partition(" ")  # unnumbered: "Portaria Conjunta que cria o Programa de Mobilidade"
    words = re.split(r",|;|\.\s|\s+e dá outras|\s+no âmbito", tail)[0].split()
    return (
        ActName(f"{kind} que {verb.lower()} {' '.join(words)}", feminine, ementa)
        if len(words) <= 10
        else None
    )


def act_headings(text: str) -> list[tuple[int, ActName]]:
    """Every act heading in `text` with its offset, in order (a repeated running title counts once)."""
    found: list[tuple[int, ActName]] = []
    for m in ACT_HEADING_RE.finditer(text):
        if act := _numbered_act(m, text):
            found.append((m.start(), act))
    for m in NAMED_ACT_RE.finditer(text):
        words = m.group("name").strip(" ,-–")
        if len(words.split()) <= 12:
            name = _title_case(words, running_acronyms(text))
            found.append((m.start(), ActName(name, name.split()[0] == "Normas", act_ementa(text, m.end()))))
    out: list[tuple[int, ActName]] = []
    for offset, act in sorted(found, key=lambda item: item[0]):
        if not out or out[-1][1].name != act.name:
            out.append((offset, act))
    return out


def with_institution(act: ActName, text: str) -> ActName:
    """A named act cited without its institution ("Regimento Geral") gets it from the text: the acronym the
    text uses at least twice (UFAM), else the full name ("da Universidade Federal do Amazonas")."""
    if any(c.isdigit() for c in act.name) or re.search(r"\b(?:que|da|do|de)\s+\S", act.name):
        return act
    m = re.search(
        r"\b((?:Universidade|Instituto|Faculdade|Centro Universitário|Escola)(?: [A-ZÀ-Ý][\wÀ-ú-]+| d[aeo]s?| e){1,8})",
        text,
    )
    if not m:
        return act
    full = re.sub(r"\s+(?:d[aeo]s?|e)$", "", m.group(1).strip())
    counts: dict[str, int] = {}
    for token in re.findall(r"\b[A-Z]{3,8}\b", text):
        counts[token] = counts.get(token, 0) + 1
    words = [w for w in full.split() if w.lower() not in _NAME_CONNECTIVES]
    for acronym in sorted((a for a, n in counts.items() if n >= 2), key=len, reverse=True):
        if _abbreviates(acronym, words):
            return ActName(f"{act.name} da {acronym}", act.feminine, act.ementa)
    return ActName(f"{act.name} da {full}", act.feminine, act.ementa)


def _abbreviates(acronym: str, words: list[str]) -> bool:
    """Each word gives a non-empty prefix, in order, and together they spell the acronym (UF-AM for
    Universidade Federal (do) Amazonas)."""
    if not words:
        return not acronym
    word = words[0].upper()
    return any(
        word[:k] == acronym[:k] and _abbreviates(acronym[k:], words[1:])
        for k in range(1, min(len(word), len(acronym)) + 1)
    )


# ---------------------------------------------------------------------------------------------
# Roman numerals and their OCR misreads. Legislation numbers its parts in sequence, so a numeral one edit
# away from the expected next one is that one: "Il –"/"IH –" -> "II –", "TÍTULO HI" -> "TÍTULO III",
# "Art. 32º" after Art. 2º -> "Art. 3º", and "$ 1º"/"8 2º" at a line start -> "§ 1º".
# ---------------------------------------------------------------------------------------------
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(n: int) -> str:
    out = []
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                       (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):  # fmt: skip
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


def from_roman(s: str) -> int | None:
    """The value of a canonical roman numeral, else None."""
    if not s or any(c not in _ROMAN_VALUES for c in s):
        return None
    total = 0
    for a, b in zip(s, s[1:] + " ", strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES[b] > v else v
    return total if to_roman(total) == s else None


# How OCR spells the strokes of a roman numeral: "H" is two bridged strokes (II), "l", "1" and "|" are I.
OCR_ROMAN = str.maketrans({"H": "II", "l": "I", "1": "I", "|": "I"})
# The dash after an inciso numeral may come doubled ("I-— texto", "II —- texto").
INCISO_MISREAD_RE = re.compile(r"^([IVXLHWl1|]{1,7})\s*([-–—]{1,2})\s+")
# Not `\b` after the numeral: "CAPÍTULO |" (a bar for "I") has no word boundary after the bar.
HEADING_NUM_RE = re.compile(
    r"^((?i:T[ÍI]TULO|CAP[ÍI]TULO|SE[ÇC][ÃA]O|SUBSE[ÇC][ÃA]O|LIVRO))\s+([IVXLHl1|]{1,7})(?![^\W_]|-[A-Z]\b)"
)  # "CAPÍTULO HI", "Título |", "Capítulo Il"; not "Seção IV-A" (a section inserted by an amendment)
HEADING_LEVELS = ("LIV", "TÍT", "TIT", "CAP", "SEÇ", "SEC", "SUB")  # first letters, outermost first
# "Art. 32º" / "ART. 32º": an ordinal on a two-digit number is a misread (10+ never take º).
ARTICLE_NUM_RE = re.compile(r"^((?:Art|ART)(?:igo|IGO|\.)?\s*)(\d{2,4})º")
PARAGRAPH_MISREAD_RE = re.compile(
    rf"^(?:\$\s?|8\s|S\s)(?=\d{{1,2}}º\s*(?:{DASH}\s*)?[A-ZÀ-Ý])"
)  # not "82º Congresso"


def enumeration_ordinal(line: str) -> int | None:
    """Position of the inciso ("IV –" -> 4) or alínea ("b)" -> 2) that `line` starts, else None."""
    if INCISO_RE.match(line):
        return from_roman(re.match(ROMAN, line).group())  # type: ignore[union-attr]
    if ALINEA_RE.match(line):
        return ord(line[0]) - ord("a") + 1
    return None


def expected_numeral(token: str, expected: int) -> int | None:
    """`expected` when `token` reads as it with at most one OCR error, else the token's own value when
    it is a valid numeral (the numbering restarted or skipped), else None."""
    read = token.translate(OCR_ROMAN)
    value = from_roman(read)
    if read == token and value == expected + 1:
        return value  # "II" where I was expected: the I was lost or unrecognized, this one is right
    if value == expected or Levenshtein.distance(read, to_roman(expected)) <= 1:
        return expected
    return value


# ---------------------------------------------------------------------------------------------
# Real layouts (issue 9): the paragraph sign, ordinals and inciso numerals as OCR and broken text layers write
# them. Measured on the real UFAM corpus and renderings of its born-digital acts (docs/benchmarks/real.md).
# ---------------------------------------------------------------------------------------------
# "$ 1º", "$3º", "o $ 2º do art. 5º", "$$ 1º e 2º": a dollar sign where a § belongs (OCR's commonest misread
# of §). Never "R$ 100,00" / "US$ 5" (a letter before it) nor an amount "$ 1.000,00" (digits, then a period or
# comma and more digits).
DOLLAR_PARAGRAPH_RE = re.compile(r"(?<![\w$])(\$\$?)(?=\s?\d{1,3}(?!\d)(?![.,]\d))")
# ... and one glued to the word before it, where OCR lost the space: "a mesma sistemática do$1º deste artigo" (a
# small letter before it, an ordinal after it: never money, "R$ 1º" neither).
GLUED_DOLLAR_PARAGRAPH_RE = re.compile(r"(?<=[a-zà-ÿ])\$(?=\d{1,2}º)")
# A § OCR read as "8" where a sentence cites a paragraph: "o 8 10 do art. 1º", "no 8 2º deste artigo" (two numbers
# side by side, the second a paragraph's, then what it belongs to: never Portuguese otherwise). Group 1: the
# article or preposition before it.
_CITING_EIGHT = r"\b((?:o|no|do|ao|pelo|os|nos|dos|aos|pelos)\s)8"
EIGHT_PARAGRAPH_RE = re.compile(
    _CITING_EIGHT + r"(?=\s\d{1,2}º?,?\s(?:do\s+art(?:\.|igo\b)|deste\s+artigo|desta\s+lei))"
)
# The same with the sign glued to its number ("§2º" read "82º"): "do 82º, do Art. 2º", "no 81º deste Artigo".
# Ordinals of 10 and more are real in other places: "o 82º Congresso", "148º da Independência e 81º da República".
EIGHT_GLUED_PARAGRAPH_RE = re.compile(_CITING_EIGHT + r"(?=[1-9]º(?:[,;)]|\s+(?:deste|desta|do\s+[Aa]rt)))")
# A paragraph label at a line start read that way ("86º A operacionalização"): clean takes it only inside an
# article, for the paragraph expected next (or the one after, a label lost between them).
PARAGRAPH_GLUED_EIGHT_RE = re.compile(r"^8([1-9])º(?=\s+[A-ZÀ-Ý])")
# Incisos a sentence cites, with their numerals' strokes misread: "nos incisos | e Il deste artigo", "inciso Ill".
_CITED_NUMERAL = r"[IVXLl|H]{1,7}"
CITED_INCISOS_RE = re.compile(
    rf"\b(incisos?\s+)({_CITED_NUMERAL}(?:(?:\s*,\s*|\s+e\s+|\s+a\s+){_CITED_NUMERAL})*)(?=[\s,.;:)]|$)"
)
_CITED_NUMERAL_RE = re.compile(_CITED_NUMERAL)


def _cited_incisos(m: re.Match[str]) -> str:
    def numeral(t: re.Match[str]) -> str:
        read = t.group(0).translate(OCR_ROMAN)
        return read if from_roman(read) is not None else t.group(0)

    return m.group(1) + _CITED_NUMERAL_RE.sub(numeral, m.group(2))


# A superscript ordinal that a text layer wrote as a separate letter: "§ 2 o Os", "Art. 4 o A", "Lei n o 9.394".
SUPERSCRIPT_ORDINAL_RE = re.compile(r"((?:§|\bArt\.?)\s?[1-9]) o(?=\s+[A-ZÀ-Ý]|[,.;:])")
SUPERSCRIPT_NUMERO_RE = re.compile(r"\b([nN]) o (?=\d)")
# A paragraph label at a line start whose sign and ordinal OCR misread: "8 20 Os", "820 A", "$ 1 0 O", "81 o No",
# "S 3º A", "§ 20 Os" (the number: group 1 or 2, 1-9). Taken only when it is the number expected next (clean's
# fix_numbering); "§ 2º", "§ 2°" and "§ 2o" are spellings the grammar reads as they are.
PARAGRAPH_OCR_RE = re.compile(
    rf"^(?:[$S8]\s?([1-9])\s?(?:[º°oO0]|\.º)|§\s?([1-9])\s?[0O])\.?(?=\s+[A-ZÀ-Ý]|\s?{DASH}\s*[A-ZÀ-Ý])"
)
PARAGRAPH_NUMBER_RE = re.compile(r"^§\s?(\d{1,3})")
# A stray mark OCR read before an article's or a paragraph's label ("— Art. 128 - Os", "| § 2º"): not the text.
LEADING_MARK_RE = re.compile(r"^[—–\-|~•·*_'`]{1,3}\s+(?=(?:Art\.?|ART\.?|§)\s?\d)")
# From the 10th on a paragraph's number is cardinal ("§ 10. A concessão"): "8 10. A", "$ 11. As" (clean takes it
# only when it is the number expected next).
PARAGRAPH_OCR_CARDINAL_RE = re.compile(r"^[$S8]\s?(\d{2})\.(?=\s+[A-ZÀ-Ý])")
# An article label whose ordinal OCR read as a digit: "Art. 90 O PET" for "Art. 9º O PET", "Art. 22 É proibido"
# and "Art. 32 A instituição" for "Art. 2º" and "Art. 3º" (group 2: 1-9; group 3: the digit read for the "º").
ORDINAL_MISREADS = "0O2"  # what tesseract reads for a small raised "º" after a digit
ARTICLE_OCR_ORDINAL_RE = re.compile(rf"^(Art\.?)\s?([1-9])\s?([{ORDINAL_MISREADS}])(?=\s+[A-ZÀ-Ý]|\s?[-–—])")
# An article label whose period OCR read as a comma ("Art, 30. Esta Instrução", "Art, 10 + O discente"): at a line
# start "Art," before a number is nothing else.
ARTICLE_COMMA_RE = re.compile(r"^(Art|ART)\s?,(?=\s?\d{1,4}(?:º|\.|\s))")
# An article label whose "Art" OCR misread ("Att. 8º A importação", "Arl. 3º", "Ari. 5º", "Aft. 2º"): one letter of
# "Art" wrong, then the number with its ordinal and a capital. Taken only for the article expected next (clean).
ARTICLE_WORD_MISREAD_RE = re.compile(r"^(?:A[tlIif1]t|Ar[lIi1f]|Aft)\.\s?([1-9])º(?=\s+[A-ZÀ-Ý]|\s?[-–—])")
# An article label whose number OCR lost ("Art. O reconhecimento …" between Art. 6º and Art. 8º), and one OCR read
# behind an opening quote ("“Art.21 O ingresso …" between Art. 20 and Art. 22): a quote also opens an article an
# amending act cites, so both are taken only where the number fits between the articles before and after (clean).
# The word after "Art." is no Roman numeral's letters ("Art. Il -").
ARTICLE_NUMBER_LOST_RE = re.compile(r"^(Art\.)\s?(?=(?![IVXL][IVXLl]*\b)[A-ZÀ-Ý](?:[a-zà-ý]|\s))")
ARTICLE_QUOTED_RE = re.compile(r"^[“\"]\s?(?=Art\.?\s?\d)")
# An article number with a digit OCR read as a letter ("Art. i4 - Ao término" for Art. 14): taken only where the
# articles before and after pin the number (clean).
ARTICLE_GARBLED_NUMBER_RE = re.compile(
    r"^(Art\.)\s?(?=[0-9iIl|!oO]{1,3}[º°.]?\s)(?=\S*\d)(?!\d+[º°.]?\s)[0-9iIl|!oO]{1,3}[º°]?"
)
# What follows an article cited at a line start ("Art. 5º da Lei nº 9.394", "Art. 3º, inciso II"), not a label.
CITED_ARTICLE_TAIL_RE = re.compile(r"\s*(?:(?:d[aoe]s?|dest[ae]s?|n[ao]s?)\b|[,(])")
# An inciso numeral OCR garbled at a line start ("IR pelo", "HI. representação", "Ê o Pró-Reitor", "J; elaborar",
# "MI.", "XIL —", "Vil", "Mill"): up to 5 numeral-like glyphs, an optional separator, then a lower-case word; or
# the numeral's period glued to the word ("lll.Representar", "Hll.extemporânea": the gap lost); or no numeral at all
# before its period (". o Pró-Reitor": a first "I" lost; clean takes an empty one only for the first inciso).
INCISO_OCR_RE = re.compile(
    rf"^([IVXLHWMlJRÊÍi1|!\[]{{0,5}})\s?([.;:,)]|\s?{DASH}{{1,2}})?(?:\s+|(?<=[.)])(?=[^\W\d_]{{3}}))"
    r"(?=[a-zà-ú]|(?<=[.;:,)R–—-]\s)[A-ZÀ-Ý]|(?<=[.)])[A-ZÀ-Ý])"  # a capital after a separator: "l. Professor"
)
# How those glyphs read as numeral strokes: "H" two bridged strokes, "M" a V with a stray stroke, "R" the period
# after a numeral read together with the gap after it (tesseract: "I.     pelo" -> "IR pelo").
OCR_ROMAN_GLYPHS = str.maketrans(
    {"H": "II", "l": "I", "1": "I", "|": "I", "!": "I", "J": "I", "Í": "I", "Ê": "I", "i": "I", "W": "II",
     "M": "V", "R": "", "[": "I"}
)  # fmt: skip
INCISO_STYLE_RE = re.compile(rf"^{ROMAN}(\.|\)|\s?{DASH})\s")
# U+FFFD where legal text has a sign or an ordinal (a text layer whose font maps every non-ASCII glyph to U+FFFD):
# "no \ufffd 2\ufffd do art." -> "no § 2º do art.", "art. 4\ufffd", "1\ufffd de dezembro", "194\ufffd da Independência",
# "n\ufffd 9.394" -> "nº 9.394".
FFFD = "\ufffd"
FFFD_LEGAL = (
    (re.compile(rf"(?<![\w{FFFD}]){FFFD}{FFFD}(?= ?\d)"), "§§"),
    (re.compile(rf"(?<![\w{FFFD}]){FFFD}(?= ?\d)"), "§"),
    (re.compile(rf"(§ ?\d{{1,3}}){FFFD}"), r"\1º"),
    (re.compile(rf"(\b[Aa]rt\.? ?\d{{1,3}}){FFFD}"), r"\1º"),
    (re.compile(rf"(\d{{1,3}}){FFFD}(?= d[aeo]s? )"), r"\1º"),
    (re.compile(rf"\b([nN]){FFFD}(?= ?\d)"), r"\1º"),
)


# Ordinals and the number sign as text layers write a raised "o" (Planalto's and the DOU's <sup>o</sup>): "Art. 1o",
# "§ 2o", "188o da Independência", "Lei no 9.394", "Decreto-Lei no 1.044", "Portaria MF no 30", "PORTARIA No - 1.632"
# (the DOU underlines the raised o: a "-" after it). The scan of the same page reads "º": one spelling for both.
# Not the preposition: "definidos no 11", "nos 3 (três) dias" (no act named before it), nor "1.000o" / "A4o".
TEXT_ORDINAL_RE = re.compile(r"(?<![\w.,/-])(\d{1,3})o(?!\w)")
_ACT_WORDS = (
    r"(?i:lei|leis|decreto|decretos|decreto-lei|provis[óo]ria|complementar|constitucional|portarias?|resolu[çc][ãa]o"
    r"|resolu[çc][õo]es|processo|parecer|edital|normativa|of[íi]cio|ato|emenda|delibera[çc][ãa]o|decis[ãa]o)"
)
TEXT_NUMBER_SIGN_RE = re.compile(
    rf"(\b{_ACT_WORDS}(?:\s+[A-Z]{{2,}}(?:/[A-Z]{{2,}})*)?\s+)([Nn])o(s?)\s?(?:-\s?)?(?=\d)"
)


# ... and as a letter of its own, after a space (the Planalto's compiled laws as pdfium reads them): "Art. 8 o É",
# "§ 1 o do art. 2 o desta Lei", "Decreto-Lei n o 5.452", "as Leis n os 6.494", "de 1 o de maio de 1943". An
# article or paragraph numbered 1-9 always takes the ordinal (LC 95/1998, art. 10, I), and so does a month's
# first day; "n o"/"n os" before a number is the number sign. Not "o art. 5, o prazo" (a comma between).
SPACED_ORDINAL_RE = re.compile(r"((?:§|\b[Aa]rts?\.)\s?[1-9]) o(?!\w)")
# the next numbers of a list after one so mended: "§§ 1º e 2 o", "arts. 1º, 2 o e 3 o"
SPACED_ORDINAL_NEXT_RE = re.compile(r"(\dº(?:,| e| a|, e) [1-9]) o(?!\w)")
SPACED_NUMBER_SIGN_RE = re.compile(r"\b([nN]) o(s?) (?=\d)")
SPACED_FIRST_DAY_RE = re.compile(
    r"\b1 o(?= de (?:janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro)\b)",
    re.IGNORECASE,
)


def fix_text_ordinals(text: str) -> tuple[str, int]:
    """ "Art. 1o" -> "Art. 1º", "Lei no 9.394" -> "Lei nº 9.394", "PORTARIA No - 1.632" -> "PORTARIA Nº 1.632",
    "§ 1 o do art. 2 o" -> "§ 1º do art. 2º", "Leis n os 6.494" -> "Leis nºs 6.494", "1 o de maio" -> "1º de maio"."""
    text, n = TEXT_NUMBER_SIGN_RE.subn(lambda m: f"{m.group(1)}{m.group(2)}º{m.group(3)} ", text)
    text, k = TEXT_ORDINAL_RE.subn(r"\1º", text)
    text, spaced = SPACED_ORDINAL_RE.subn(r"\1º", text)
    more = spaced
    while more:  # each pass reaches one number further along a list
        text, more = SPACED_ORDINAL_NEXT_RE.subn(r"\1º", text)
        spaced += more
    text, signs = SPACED_NUMBER_SIGN_RE.subn(r"\1º\2 ", text)
    text, days = SPACED_FIRST_DAY_RE.subn("1º", text)
    return text, n + k + spaced + signs + days


def fix_signs(line: str) -> str:
    """ "$ 1º" -> "§ 1º" (never R$), "do$1º" -> "do § 1º", "o 8 10 do art." -> "o § 10 do art.",
    "§ 2 o Os" -> "§ 2º Os", "n o 9.394" -> "nº 9.394"."""
    line = DOLLAR_PARAGRAPH_RE.sub(lambda m: "§" * len(m.group(1)), line)
    line = GLUED_DOLLAR_PARAGRAPH_RE.sub(" § ", line)
    line = EIGHT_PARAGRAPH_RE.sub(r"\1§", line)
    line = EIGHT_GLUED_PARAGRAPH_RE.sub(r"\1§", line)
    line = CITED_INCISOS_RE.sub(_cited_incisos, line)
    line = SUPERSCRIPT_ORDINAL_RE.sub(r"\1º", line)
    return SUPERSCRIPT_NUMERO_RE.sub(r"\1º ", line)


def inciso_separator(lines: list[str]) -> str:
    """How a document writes an inciso's separator: ".", ")" or " -" (its most frequent; " -" when none)."""
    seps: dict[str, int] = {}
    for line in lines:
        if m := INCISO_STYLE_RE.match(line):
            sep = m.group(1).strip()
            seps[sep] = seps.get(sep, 0) + 1
    sep = max(seps, key=lambda k: seps[k]) if seps else "-"
    return sep if sep in ".)" else f" {sep}"


def misread_inciso(token: str, expected: int) -> bool:
    """Is `token` (an INCISO_OCR_RE group 1) the numeral `expected` misread, within one OCR error? Strokes and
    an "R" ("IR", "[R": the period read with the gap after it, the strokes merged) are any of I, II, III."""
    strokes = token.translate(OCR_ROMAN_GLYPHS)
    if token.endswith("R") and set(strokes) <= {"I"} and 1 <= expected <= 3:
        return True
    return Levenshtein.distance(strokes, to_roman(expected)) <= 1


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
    rf"(?:\b(?:Art(?:igo)?s?|ART(?:IGO)?S?)\.?\s*\d[\d.]*[º°o]?(?:-[A-Z])?|{_PARAGRAFO_UNICO})$"
)
_SENTENCE_END_RE = re.compile(r"[.!?;](?=\s+[\"“'(§A-ZÀ-Ý0-9])")
# The coarse split qa_rules uses inside an article's caput or paragraph: after "." or ";" before a capital or §.
CLAUSE_END_RE = re.compile(r"(?<=[.;])\s+(?=[A-ZÀ-Ú§])")


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
# Quantities and references in running text (evaluation's key facts). These patterns read text that is
# case- and accent-folded by fold_text() ("º" spelled "o"); key_facts() turns what they find into canonical
# strings, so "30 (trinta) dias", "trinta dias" and "30 dias" all give "num:30".
# ---------------------------------------------------------------------------------------------
NUMBER_WORDS = {
    **dict.fromkeys(["um", "uma"], 1), **dict.fromkeys(["dois", "duas"], 2), "tres": 3, "quatro": 4,
    "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13,
    **dict.fromkeys(["catorze", "quatorze"], 14), "quinze": 15, **dict.fromkeys(["dezesseis", "dezasseis"], 16),
    **dict.fromkeys(["dezessete", "dezassete"], 17), "dezoito": 18, **dict.fromkeys(["dezenove", "dezanove"], 19),
    "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80,
    "noventa": 90, "cem": 100, "cento": 100, **dict.fromkeys(["duzentos", "duzentas"], 200),
    **dict.fromkeys(["trezentos", "trezentas"], 300), **dict.fromkeys(["quatrocentos", "quatrocentas"], 400),
    **dict.fromkeys(["quinhentos", "quinhentas"], 500), **dict.fromkeys(["seiscentos", "seiscentas"], 600),
    **dict.fromkeys(["setecentos", "setecentas"], 700), **dict.fromkeys(["oitocentos", "oitocentas"], 800),
    **dict.fromkeys(["novecentos", "novecentas"], 900),
}  # fmt: skip
MONTHS = ("janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")  # fmt: skip
_NUMBER_WORD = "(?:" + "|".join(sorted([*NUMBER_WORDS, "mil"], key=len, reverse=True)) + ")"
WORD_NUMBER = rf"{_NUMBER_WORD}(?:\s+(?:e\s+)?{_NUMBER_WORD})*"  # "setenta e cinco", "mil e duzentos"
DIGITS = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"  # 30 / 1.200,50 / 0,5
# what a spelled-out number must precede to count (a lone "um"/"uma" is mostly an article)
QUANTITY_UNIT = (
    r"(?:dias?|semanas?|mes|meses|anos?|horas?|minutos?|semestres?|periodos?|vezes|creditos?|salarios?|"
    r"membros?|vagas?|disciplinas?|parcelas?|por\s+cento|reais)"
)
# "30 (trinta) dias", "R$ 1.200,00 (mil e duzentos reais)": the words restate the digits before them
RESTATED_NUMBER_RE = re.compile(rf"\(\s*{WORD_NUMBER}(?:\s+(?:por\s+cento|reais))?\s*\)")
NUMERIC_DATE_RE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
WRITTEN_DATE_RE = re.compile(rf"\b(\d{{1,2}})o?\s+de\s+({'|'.join(MONTHS)})\s+de\s+(\d{{4}})\b")
MONEY_RE = re.compile(rf"r\$\s*({DIGITS})")
PERCENT_RE = re.compile(rf"\b({DIGITS})\s*(?:%|por\s+cento)|\b({WORD_NUMBER})\s+por\s+cento")
ARTICLE_REF_RE = re.compile(r"\bart(?:igo|\.)?s?\s*(\d{1,3}(?:\.\d{3})+|\d+)")  # Art. 1.027 (Código Civil)
PARAGRAPH_REF_RE = re.compile(r"(?:§|\bparagrafo)\s*(\d+|unico)")
NUMBER_RE = re.compile(rf"\b({DIGITS})\b")
WORD_QUANTITY_RE = re.compile(rf"\b({WORD_NUMBER})\s+(?=(?:\([^)]*\)\s+)?{QUANTITY_UNIT}\b)")


def fold_text(text: str) -> str:
    """Lower case, accents off, ordinal signs as letters: 'Parágrafo Único do Art. 5º' -> 'paragrafo unico do art. 5o'."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("º", "o").replace("°", "o").replace("ª", "a")


def words_to_number(words: str) -> int | None:
    """'setenta e cinco' -> 75, 'mil e duzentos' -> 1200 (folded words); None if a word is not a number."""
    total, current = 0, 0
    for word in words.split():
        if word == "e":
            continue
        if word == "mil":
            total, current = total + max(current, 1) * 1000, 0
        elif word in NUMBER_WORDS:
            current += NUMBER_WORDS[word]
        else:
            return None
    return total + current


def _number(digits: str) -> str:
    """'1.200,50' -> '1200.5', '30' -> '30', '2,00' -> '2'."""
    value = float(digits.replace(".", "").replace(",", "."))
    return str(int(value)) if value == int(value) else repr(value)


def key_facts(text: str) -> set[str]:
    """Canonical facts of `text`: 'date:2015-10-29', 'money:1200', 'pct:75', 'art:5', 'par:2', 'par:unico',
    'num:30'. A span is read once, most specific kind first (a date's day is not also a number)."""
    folded = RESTATED_NUMBER_RE.sub(" ", fold_text(text))
    facts: set[str] = set()

    def spoken(words: str, kind: str) -> str | None:
        value = words_to_number(words)
        return None if value is None else f"{kind}:{value}"

    readers: list[tuple[re.Pattern[str], Any]] = [
        (NUMERIC_DATE_RE, lambda m: f"date:{int(m[3]):04d}-{int(m[2]):02d}-{int(m[1]):02d}"),
        (WRITTEN_DATE_RE, lambda m: f"date:{int(m[3]):04d}-{MONTHS.index(m[2]) + 1:02d}-{int(m[1]):02d}"),
        (MONEY_RE, lambda m: f"money:{_number(m[1])}"),
        (PERCENT_RE, lambda m: f"pct:{_number(m[1])}" if m[1] else spoken(m[2], "pct")),
        (ARTICLE_REF_RE, lambda m: f"art:{int(m[1].replace('.', ''))}"),
        (PARAGRAPH_REF_RE, lambda m: f"par:{m[1] if m[1] == 'unico' else int(m[1])}"),
        (NUMBER_RE, lambda m: f"num:{_number(m[1])}"),
        (WORD_QUANTITY_RE, lambda m: spoken(m[1], "num")),
    ]
    for pattern, read in readers:
        facts.update(f for f in map(read, pattern.finditer(folded)) if f)
        folded = pattern.sub(" ", folded)
    return facts
