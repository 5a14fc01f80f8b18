"""The act's own name, as questions cite it, found in the text itself; annotations and signature blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.text.legis.grammar import DASH

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
# 2011.", "Plenário ..., em Manaus, 1º de Agosto de 2007.", "SALA DE REUNIÕES ...", "Documento assinado
# eletronicamente por ...", "Publique-se.", a federal act's "Brasília, 21 de outubro de 1969; 148º da
# Independência e 81º da República.").
SIGNATURE_RE = re.compile(
    r"^.*(?:\b[Ee]m [A-ZÀ-Ú][\w ]+, (?:em )?\d{1,2}º? de [A-Za-zç]+ de \d{4}|Documento assinado eletronicamente"
    r"|Dê-se ciência|Publique-se|Registre-se|Cumpra-se|SALA DE REUNI[ÕO]ES|PLEN[ÁA]RIO\b"
    r"|\d{1,3}º da Independência).*$",
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
