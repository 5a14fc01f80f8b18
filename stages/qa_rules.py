"""The offline `rules` backend: the questions a student would ask, from what the text says; answers copied from it.

Deterministic and pure. A document's chunks are read in order; each article (however the text spells it: "Art.
7°", "ART. 7º", "Artigo 7.º", incisos and alíneas in every dress, Portugal's "n.º 2" paragraphs) is cut into
provisions (the caput and each §), and every provision into facts. A fact is one answer, the smallest span of
the text that answers, and two or more differently worded questions about it, which share a fact id downstream
(the dataset holds one phrasing out). What a fact asks depends on what the text says:

  competencia   "Compete ao Colegiado: I - aprovar ..."        -> "A quem compete aprovar ...?"
  aprovacao     "Os calendários serão aprovados pelo CONSEPE"   -> "Quem aprova os calendários ...?"
  condicao      "..., desde que ...", "... quando:"             -> "Em que condições ...?" / "Em que casos ...?"
  excecao       "..., salvo ..."                                -> "Há exceção à regra de que ...?"
  consequencia  "Caso o aluno não compareça, ..."               -> "O que acontece caso ...?"
  prazo         "... no prazo de 3 (três) dias úteis"           -> "Qual o prazo para o discente solicitar ...?"
  quantidade    "carga horária mínima de", "no máximo 3"        -> "Qual é a carga horária mínima de ...?"
  definicao     "Considera-se X ...", "Estágio é o ato ..."     -> "O que se entende por X?"
  documentos    "mediante apresentação de documento ..."        -> "O que é preciso apresentar para que ...?"
  vedacao       "É vedado ...", "S não poderá ..."              -> "É permitido ...?"
  permissao / obrigacao / direito / finalidade / composicao / requisito / enumeracao
  regra         a rule about a named subject                    -> "O que a Lei nº X estabelece sobre ...?"
  vigencia, ementa (the act itself)                             -> "Quando a Resolução nº X entra em vigor?"
  artigo / paragrafo / inciso: where a provision says nothing the templates know, what it establishes.

Every question names its act ("segundo a Resolução nº 023/2017"), found in the text by stages/legis.py, never
in the file name; the second phrasing also cites the provision ("Segundo o Art. 6º da ..."). Answers lose the
web-copy annotations of compiled laws and the letterhead lines a document repeats page after page. A chunk
without a fact says why (`ChunkFacts.why_none`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from stages.qa.rules.pt_clause import (
    SUBJUNCTIVE,
    Clause,
    agree,
    compact,
    contract,
    first_clause,
    future_to_present,
    is_infinitive,
    lower_first,
    parse_clause,
    participle_to_present,
    squash,
    tidy,
)
from stages.records.chunks import Chunk
from stages.text.legis.acts import SIGNATURE_RE, ActName, act_headings, strip_annotations, with_institution
from stages.text.legis.grammar import (
    ARTICLE_HEAD_RE,
    BODY_END_RE,
    ENUM_ITEM_RE,
    NUMBERED_PARAGRAPH_RE,
    PARAGRAPH_HEAD_RE,
    article_label,
    is_heading_name,
    item_name,
    paragraph_name,
)
from stages.text.legis.sentences import split_sentences

MAX_ANSWER_CHARS = 600  # a list answer stops at the item that would pass this; sentences are kept whole
BOILERPLATE_MIN_REPEATS = 3  # a line a document repeats this often (not an article's) is letterhead/footer
WHERE_KINDS = ("artigo", "paragrafo", "inciso")  # questions about where a provision sits, not what it says


@dataclass(frozen=True)
class Fact:
    """One answer and the differently worded questions it answers."""

    kind: str
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class ChunkFacts:
    facts: list[Fact]
    why_none: str = ""  # when `facts` is empty: no_title, preamble, signature, list_lead, table, no_text, ...


@dataclass
class Provision:
    """The caput or one § of an article: its lead and its enumeration (incisos, alíneas, items)."""

    where: str  # "o Art. 7º", "o § 1º do Art. 7º", "o parágrafo único do Art. 7º", "o n.º 2 do Art. 3º"
    lead: str
    items: list[tuple[str, str, str]] = field(default_factory=list)  # ("inciso I", "I -", its text)
    continued: bool = False  # its lead is in an earlier chunk


@dataclass
class ArticleText:
    label: str
    provisions: list[Provision]
    offset: int  # where its head starts in the chunk's text (0 for the continuation of an earlier article)


# ------------------------------------------------------------------------------------------------- cutting


# A lead ending in ":" followed by lines each ending in ";" or ".": an enumeration whose numerals OCR lost or
# moved ("Compete ao Fórum:\n\nVI.\n\nelaborar o Regimento;\n\ndeliberar ...;").
_UNNUMBERED_LIST = re.compile(
    r"^(?P<lead>.+?:)[ \t]*\n(?P<items>(?:\s*[^\n]*[;.][ \t]*(?:\n|$)){2,})", re.DOTALL
)
_STRAY_NUMERAL = re.compile(r"^\s*(?:[IVXLC]+|[a-z]|\d{1,2})[.)]?\s*$")


def _provision(where: str, block: str, continued: bool = False) -> Provision:
    marks = list(ENUM_ITEM_RE.finditer(block))
    lead = squash(block[: marks[0].start()] if marks else block)
    items = []
    for mark, nxt in zip(marks, marks[1:] + [None], strict=False):
        text = squash(block[mark.end() : nxt.start() if nxt else len(block)])
        if re.search(r"[^\W\d_]{3,}", text):
            items.append((item_name(mark), mark.group().strip(), text))
    if not items and (m := _UNNUMBERED_LIST.match(block.strip())):
        lines = [line.strip() for line in m.group("items").split("\n") if line.strip()]
        lead = squash(m.group("lead"))
        items = [(f"item {i}", "", line) for i, line in enumerate(lines, 1) if not _STRAY_NUMERAL.match(line)]
    return Provision(where, lead, items, continued)


def split_article(label: str, body: str, offset: int, continued: bool = False) -> ArticleText:
    """An article's provisions: caput, then each § (or Portugal's numbered paragraph "2 - ...")."""
    body = re.sub(r"^[ \t]*o[ \t]+(?=[A-ZÀ-Ý])", "", body)  # "Art. 4 o O Conselho": the label's º read as "o"
    for end_re in (BODY_END_RE, SIGNATURE_RE):
        # a numeral alone on its line ("VI." where OCR moved an inciso's numeral) is not a heading
        ends = (m for m in end_re.finditer(body) if not _STRAY_NUMERAL.match(m.group()))
        if end := next(ends, None):
            body = body[: end.start()]
    first, _, rest = body.partition("\n")
    if (
        not first.strip()
    ):  # a label alone on its line, perhaps with an epigraph under it ("Artigo 3.º" / "Prazos")
        name, _, after = rest.lstrip("\n").partition("\n")
        if after.strip() and is_heading_name(name):
            body = after
    if numbered := NUMBERED_PARAGRAPH_RE.match(body.lstrip()):  # Portugal: "1 - A propina ..." / "2 - ..."
        body = body.lstrip()[numbered.end() :]
        paras = [m for m in NUMBERED_PARAGRAPH_RE.finditer(body) if m.start() > 0]
    else:
        paras = list(PARAGRAPH_HEAD_RE.finditer(body))
    provisions = [_provision(f"o {label}", body[: paras[0].start()] if paras else body, continued)]
    for para, nxt in zip(paras, paras[1:] + [None], strict=False):
        text = body[para.end() : nxt.start() if nxt else len(body)]
        provisions.append(_provision(f"o {paragraph_name(para)} do {label}", text))
    return ArticleText(label, [p for p in provisions if p.lead or p.items], offset)


def split_chunk(text: str, open_article: str | None) -> list[ArticleText]:
    """Articles headed in `text`; what comes before the first head continues `open_article`, if any (cut at a
    signature, the next act's title or its preamble)."""
    heads = list(ARTICLE_HEAD_RE.finditer(text))
    articles = []
    continuation = text[: heads[0].start() if heads else len(text)]
    stop = re.search(
        r"^[ \t]*(?:CONSIDERANDO|(?!(?:[IVXLC]+|[a-z])\b)[A-ZÀ-Ý]{2,}[ \t]+[A-ZÀ-Ý]{2,})", continuation, re.M
    )
    if stop:
        continuation = continuation[: stop.start()]
    if open_article and continuation.strip():
        cont = split_article(open_article, continuation, 0, continued=True)
        if cont.provisions:
            articles.append(cont)
    for head, nxt in zip(heads, heads[1:] + [None], strict=False):
        label = article_label(text[head.start() :]) or ""
        articles.append(
            split_article(label, text[head.end() : nxt.start() if nxt else len(text)], head.start())
        )
    return articles


# ------------------------------------------------------------------------------------------------- phrasing


def q(text: str) -> str:
    """A question as written: one line, capitalised, ending in '?'."""
    text = re.sub(r"\s+,", ",", squash(text)).rstrip(" ,;:.")
    return text[:1].upper() + text[1:] + "?"


class Asker:
    """Cites the act and the provision: the first phrasing of a fact names the act, the second the provision
    in the act, so the two differ in wording and a reader can find the answer."""

    def __init__(self, act: ActName, where: str, repeated: frozenset[str] = frozenset()) -> None:
        self.act, self.where = act, where
        self.repeated = repeated  # subjects the document has several rules about: asked with their provision

    def two(self, first: str, second: str, kind: str, answer: str, names_act: bool = False) -> Fact:
        """`first` + ", segundo a Lei ..." (unless it `names_act` already), and "Segundo o Art. 7º da Lei ..., "
        + `second`."""
        first = first if names_act else f"{first}, {self.act.per}"
        return Fact(kind, (q(first), q(f"segundo {self.where} {self.act.of}, {second}")), answer)

    def where_in(self) -> str:  # "no Art. 7º da Resolução nº 023/2017"
        return f"{contract('em', self.where)} {self.act.of}"


def _where_of_item(name: str, where: str) -> str:
    """'o inciso II do Art. 7º', 'a alínea b do § 1º do Art. 7º'."""
    return f"{'a' if name.startswith('alínea') else 'o'} {name} {contract('de', where)}"


# ------------------------------------------------------------------------------------------------- sentences

_DECISION = (
    r"aprovad|homologad|decidid|resolvid|deferid|designad|indicad|nomead|julgad|apreciad|autorizad|definid|fixad"
    r"|coordenad|exercid|presidid|analisad|avaliad|elaborad|baixad|instituíd|convocad|escolhid|eleit|concedid"
    r"|emitid|expedid|assinad|registrad|regulamentad|disciplinad|supervisionad|orientad|dirimid|estabelecid"
    r"|organizad|fiscalizad|conferid|outorgad|ratificad|referendad|credenciad|dirigid|administrad|gerid|mantid"
    r"|promovid|encaminhad|submetid|substituíd|representad|atribuíd|realizad|ministrad|aplicad"
)
_AGENT = re.compile(
    rf"^(?:(?:previamente|anualmente|formalmente|obrigatoriamente|exclusivamente|ainda)\s+)?"
    rf"(?P<part>(?:{_DECISION})[oa]s?)\s*,?\s+(?:(?:previamente|exclusivamente)\s+)?(?:pel[oa]s?|por)\s+(?P<agent>[^,;.]{{3,90}})"
)
# An agent is someone: a capitalised name ("pelo Conselho Universitário") or a role ("pelos colegiados");
# "pela razão entre os recursos" is not.
_ROLES = re.compile(
    r"^(?:(?:o|a|os|as|seu|sua|seus|suas|respectiv[oa]s?|própri[oa]s?)\s+)*(?:[A-ZÀ-Ý]|(?:colegiado|professor|"
    r"coordenador|coordenação|diretor|diretoria|reitor|reitoria|chefe|chefia|presidente|presidência|comissão|"
    r"conselho|câmara|departamento|secretári|ministr|instituiç|universidade|unidade|órgão|docente|tutor|alun|"
    r"estudante|discente|servidor|banca|plenário|assembleia|relator|pares|membros|maioria|comitê|núcleo|"
    r"pró-reitor|autoridade|ministério|entidade|poder|gestor|orientador|supervisor|bibliotec|usuário|interessad|"
    r"requerente|candidat))"
)
_DURATION = re.compile(
    r"(?P<n>\d+(?:[.,]\d+)?)\s*(?:\([^)]{2,40}\)\s*)?(?P<unit>dias?|horas?|meses|mês|anos?|semanas?|semestres?)"
    r"(?P<qual>\s+(?:úteis|corridos|letivos|consecutivos))?\b",
    re.IGNORECASE,
)
_DEADLINE_CUE = re.compile(
    r"\b(?:prazo|até|dentro d[eo]|antecedência|após|antes|depois|a contar|contados?|no máximo|em até|decorridos?)\b",
    re.IGNORECASE,
)
_DEADLINE_PHRASE = re.compile(
    r"\s*(?:,|\bcom\s+\d|\bno prazo\b|\bem até\b|\baté\b|\bdentro d[eo]\b|\bcom antecedência\b|\bno máximo\b|\bapós\b|\bem \d"
    r"|\bdurante\b|\bpor\s+\d|\bpor um período|\bpor prazo\b|\bpelo prazo\b|\bpelo período\b|\bno período\b"
    r"|\bantes\b|\bdepois\b|\ba partir\b)"
)
_HOW_MANY = {"dia": "Quantos dias", "hora": "Quantas horas", "mês": "Quantos meses", "mese": "Quantos meses",
             "ano": "Quantos anos", "semana": "Quantas semanas", "semestre": "Quantos semestres"}  # fmt: skip
_LIMIT = re.compile(
    r"\b(?P<noun>(?:carga horária|duração|frequência|freqüência|limite|número|quantidade|valor|média|nota|idade|"
    r"tempo|percentual|jornada|intervalo|prazo)(?:\s+(?!mínim|máxim)[a-zà-ú]+){0,3}?)\s+(?P<mm>mínim[oa]s?|máxim[oa]s?)\b",
    re.IGNORECASE,
)
_COUNT = re.compile(
    r"\b(?:no máximo|no mínimo|até|mais de|menos de)\s+(?P<n>\d+)\s*(?:\([^)]{2,40}\)\s*)?(?P<noun>[a-zà-ú]{3,}(?:\s+[a-zà-ú]{4,})?)",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"\d+(?:,\d+)?\s*%|por cento", re.IGNORECASE)
_MONEY = re.compile(r"R\$\s*[\d.,]+")
_DOCUMENTS = re.compile(
    r"\b(?:mediante\s+(?:a\s+)?(?:apresentação|entrega)\s+d[eoa]s?|instruíd[oa]s?\s+com|acompanhad[oa]s?\s+d[eoa]s?"
    r"|anexando|anexar)\s+(?:(?:o|a|os|as|um|uma|seu|sua|respectiv[oa]s?)\s+)*(?:d[eoa]s?\s+)?"
    r"(?:documento|comprovante|cópia|declaração|certidão|atestado|requerimento|formulário|projeto|plano|relatório"
    r"|histórico|diploma|identidade|carteira|termo|parecer|laudo|curriculum|currículo)",
    re.IGNORECASE,
)
_GENERIC_SUBJECTS = re.compile(
    r"^(?:[oa]s? )?(?:disposto|presente|mesm[oa]|referid[oa]|previst[oa]|caput|este|esta|esse|essa)\b"
)
_VAGUE_HEADS = frozenset(
    "normas disposições casos regras dispositivos medidas atividades modificações alterações mesmos mesmas".split()
)
_VIGOR = re.compile(
    r"^(?:Esta|Este|O presente|A presente|À presente)\s+[\w-]+(?:\s+[\w-]+)?\s+entra(?:rá)?\s+em\s+vigor",
    re.I,
)
_DEFINES = re.compile(
    r"(?:considera-se|consideram-se|define-se|definem-se|entende-se por|entendem-se por)\s*:$", re.I
)
# "estágio obrigatório: aquele definido ..." / Portugal's "«Estudante», a pessoa inscrita ..."
_DEFINITION_ITEM = re.compile(r"^(?:«([^»]{2,60})»,?|([^:;]{2,60}):)\s*.{5,}")


def _is_agent(agent: str) -> bool:
    return bool(_ROLES.match(agent.strip()))


def _specific(subject: str) -> bool:
    """A subject a question can be about: not 'o disposto', not a bare 'as normas'."""
    words = subject.split()
    if _GENERIC_SUBJECTS.match(subject) or len(words) < 2 or re.search(r"\d", subject):
        return False
    return not (len(words) <= 2 and words[-1] in _VAGUE_HEADS)


def sentence_facts(sentence: str, ask: Asker) -> list[Fact]:
    """Content facts of one sentence or inciso (its answer is the sentence itself)."""
    s = squash(sentence).rstrip(";")
    if len(s) < 15:
        return []
    out: list[Fact] = []
    clause = parse_clause(s)
    out += _competence_facts(s, ask)
    if clause and not clause.verb.startswith("não"):
        out += _clause_facts(s, clause, ask)
    out += _right_and_duty_facts(s, clause, ask, bool(out))
    out += _prohibition_facts(s, clause, ask)
    out += _condition_facts(s, clause, ask)
    out += _definition_facts(s, ask)
    if (docs := _DOCUMENTS.search(s)) and clause and _specific(clause.subject):
        out += _document_facts(s, docs, clause, ask)
    out += _number_facts(s, clause, ask)
    return out


def _competence_facts(s: str, ask: Asker) -> list[Fact]:
    """'Cabe à Coordenação de Curso homologar ...', 'Caberá aos órgãos ... a fiscalização de ...'."""
    m = re.match(r"^(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?P<who>(?:ao|à|aos|às)\s+.+)$", s)
    if not m:
        return []
    words = m.group("who").split()
    for i, word in enumerate(words[2:], 2):
        if word[:1].islower() and is_infinitive(word) and words[i - 1] not in ("de", "da", "do", "e"):
            if vp := first_clause(" ".join(words[i:]), 14):
                return [ask.two(f"A quem compete {vp}", f"quem é responsável por {vp}", "competencia", s)]
            return []
    m = re.match(
        r"^(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?:ao|à|aos|às)\s+[^;]{3,120}?\s+(?P<what>(?:o|a|os|as)\s+[a-zà-ú]{4,}.*)$",
        s,
    )
    if m and (what := first_clause(m.group("what"), 12)) and not is_infinitive(what.split()[1]):
        return [ask.two(f"A quem cabe {what}", f"quem é responsável por {what}", "competencia", s)]
    return []


def _clause_facts(s: str, c: Clause, ask: Asker) -> list[Fact]:
    """Facts read off a subject-verb sentence: who approves, who is responsible, purpose, composition,
    definitions, permissions with a condition."""
    out: list[Fact] = []
    subj, present = c.subject, c.present
    be = "são" if c.plural else "é"
    if (
        present.split()[-1] in ("é", "são", "ser", "fica", "ficam")
        and (m := _AGENT.match(c.rest))
        and _is_agent(m.group("agent"))
    ):
        verb = participle_to_present(m.group("part"))
        out.append(ask.two(f"Quem {verb} {subj}", f"por quem {be} {m.group('part')} {subj}", "aprovacao", s))
    if present in ("é", "são", "fica", "ficam") and (
        m := re.match(r"^responsáve(?:l|is)\s+(?P<what>(?:pel[oa]s?|por)\s+.+)$", c.rest)
    ):
        if what := first_clause(m.group("what"), 12):
            of_what = re.sub(r"^pel([oa]s?) ", r"d\1 ", what).replace("por ", "de ", 1)
            out.append(
                ask.two(
                    f"Quem é responsável {what}",
                    f"a quem cabe a responsabilidade {of_what}",
                    "competencia",
                    s,
                )
            )
    if (
        present in ("tem", "têm") and re.match(r"^(?:por|como)\s+(?:objetivos?|finalidades?)\b", c.rest)
    ) or present in ("visa", "visam", "destina-se", "destinam-se"):
        out.append(
            ask.two(f"Qual é a finalidade {contract('de', subj)}", f"para que serve {subj}", "finalidade", s)
        )
    if present in ("é", "são") and re.match(
        r"^(?:compost|constituíd|integrad|formad)[oa]s?\s+(?:por|pel[oa]s?|de)\b", c.rest
    ):
        composed = agree("composto", c.feminine, c.plural)
        out.append(ask.two(f"Como {be} {composed} {subj}", f"quem compõe {subj}", "composicao", s))
    if (
        present in ("é", "são")
        and re.match(r"^(?:o|a|os|as|um|uma|aquele|aquela)\s", c.rest)
        and len(subj.split()) <= 6
        and not c.adjunct
    ):
        out.append(ask.two(f"O que {present} {subj}", f"como se define {subj}", "definicao", s))
    if (m := re.search(r",?\s+(?:desde que|somente se|apenas se|contanto que)\s+", c.rest)) and (
        rest := first_clause(c.rest[: m.start()], 12)
    ):
        main = f"{subj} {present} {rest}"
        out.append(ask.two(f"Em que condições {main}", f"sob qual condição {main}", "condicao", s))
    return out


def _right_and_duty_facts(s: str, c: Clause | None, ask: Asker, found: bool) -> list[Fact]:
    """'É dever dos pais efetuar ...', 'É assegurado aos estudantes o acesso ...', 'S terá direito a ...',
    and, when nothing else was found, 'S poderá ...' (permission) and 'S deverá ...' (obligation)."""
    m = re.match(
        r"^(?:É|Será|Constitui)\s+(?P<noun>dever|obrigação|direito|atribuição|competência|responsabilidade)\s+(?P<who>d[oa]s?\s+[^,;]{3,80}?)\s+(?P<vp>[a-zà-ú]+(?:-se)?\b.*)$",
        s,
    )
    if m and is_infinitive(m.group("vp").split()[0]) and (vp := first_clause(m.group("vp"), 12)):
        noun = m.group("noun")
        art = "o" if noun in ("dever", "direito") else "a"
        kind = "direito" if noun == "direito" else "competencia"
        return [
            ask.two(
                f"De quem é {art} {noun} de {vp}",
                f"quem {'tem direito a' if kind == 'direito' else 'deve'} {vp}",
                kind,
                s,
            )
        ]
    m = re.match(
        r"^(?:É|São|Será|Serão|Fica|Ficam)\s+(?:assegurad|garantid)[oa]s?\s+(?P<to>(?:a|ao|aos|à|às)\s+[^;]{3,80}?),?\s+(?P<what>(?:o|a|os|as)\s.+)$",
        s,
    )
    if m and (what := first_clause(m.group("what"), 12)):
        return [
            ask.two(f"O que é assegurado {m.group('to')}", f"o que se garante {m.group('to')}", "direito", s)
        ]
    if c is None or c.verb.startswith("não") or not _specific(c.subject):
        return []
    if (
        c.present in ("tem", "têm")
        and re.match(r"^direito\s+(?:a|ao|aos|à|às|de)\b", c.rest)
        and (what := first_clause(c.rest, 12))
    ):
        return [
            ask.two(f"A que {c.subject} {c.present} direito", f"{c.subject} {c.present} {what}", "direito", s)
        ]
    if found:
        return []
    vp = compact(c.rest, 14)
    if not vp or not is_infinitive(vp.split()[0]):
        return []
    has = "têm" if c.plural else "tem"
    if c.present in ("pode", "podem"):
        return [
            ask.two(f"{c.subject} {c.present} {vp}", f"{c.subject} {has} permissão para {vp}", "permissao", s)
        ]
    if c.present in ("deve", "devem") and not vp.startswith(("ser ", "estar ")):
        obliged = agree("obrigado", c.feminine, c.plural)
        return [
            ask.two(
                f"{c.subject} {'são' if c.plural else 'é'} {obliged} a {vp}",
                f"{c.subject} {has} o dever de {vp}",
                "obrigacao",
                s,
            )
        ]
    return []


def _prohibition_facts(s: str, c: Clause | None, ask: Asker) -> list[Fact]:
    """'É vedado ...', 'S não poderá ...', 'Não será permitido ...'."""
    m = re.match(
        r"^(?:É|Fica|Ficam|São|Será|Serão)\s+(?:expressamente\s+)?(?:vedad[oa]s?|proibid[oa]s?)\s+(?P<what>.+)$",
        s,
        re.I,
    )
    if m and (what := compact(m.group("what"))):
        to = re.match(r"^(?P<to>(?:ao|à|aos|às)\s+[^,]{2,60}?)\s+(?P<vp>[a-zà-ú]+(?:-se)?\b.*)$", what)
        if to and is_infinitive(
            to.group("vp").split()[0]
        ):  # "ao professor divulgar" -> "o professor pode divulgar"
            who = re.sub(r"^à", "a", re.sub(r"^a(os?) ", r"\1 ", to.group("to")))
            second = f"{who} {'podem' if who.split()[0] in ('os', 'as', 'às') else 'pode'} {to.group('vp')}"
            second = re.sub(r"^às ", "as ", second)
        elif is_infinitive(what.split()[0]):
            second = f"pode-se {what}"
        else:
            second = f"há proibição de {what}"
        return [ask.two(f"É permitido {what}", second, "vedacao", s)]
    if (
        c
        and c.verb.startswith("não")
        and c.present.split()[1:2] in (["pode"], ["podem"])
        and _specific(c.subject)
    ):
        modal, tail = c.present.split()[1], " ".join(c.present.split()[2:])
        if vp := compact(c.rest, 14):
            vp = f"{tail} {vp}".strip()
            return [
                ask.two(
                    f"{c.subject} {modal} {vp}",
                    f"é permitido que {c.subject} {SUBJUNCTIVE[modal]} {vp}",
                    "vedacao",
                    s,
                )
            ]
    m = re.match(
        r"^Não\s+(?:será|serão|é|são)\s+(?:permitid|admitid|aceit|concedid)[oa]s?\s+(?P<what>.+)$", s
    )
    if m and (what := compact(m.group("what"), 14)) and not what.endswith(" quando"):
        return [ask.two(f"É permitido {what}", f"pode haver {what}", "vedacao", s)]
    return []


def _condition_facts(s: str, c: Clause | None, ask: Asker) -> list[Fact]:
    """Exceptions (', salvo ...'), consequences ('Caso ...,', 'O não cumprimento ... acarretará ...')."""
    out: list[Fact] = []
    if (
        c
        and re.search(r",\s+(?:salvo|exceto|ressalvad[oa]s?|com exceção d[eoa]s?)\s+", s)
        and (rest := first_clause(c.rest, 12))
    ):
        main = f"{c.subject} {c.present} {rest}"
        out.append(
            ask.two(
                f"Há exceção à regra de que {main}",
                f"em que caso não se aplica a regra de que {main}",
                "excecao",
                s,
            )
        )
    if m := re.match(
        r"^(?P<cue>Caso|Se|Na hipótese de|Em caso de|No caso de|Havendo|Em não havendo)\s+(?P<cond>[^,]{8,140}),\s*.{10,}$",
        s,
    ):
        cond = f"{m.group('cue').lower()} {tidy(m.group('cond'))}"
        out.append(ask.two(f"O que acontece {cond}", f"{cond}, o que ocorre", "consequencia", s))
    elif m := re.match(
        r"^(?P<subj>O\s+(?:não\s+[a-zà-ú]+|descumprimento|atraso|abandono)[^,;]{0,80}?)\s+(?P<verb>acarretará|implicará|importará|sujeitará|resultará|ensejará|acarreta|implica|sujeita)\b",
        s,
    ):
        subj = lower_first(tidy(m.group("subj")))
        out.append(
            ask.two(
                f"Qual a consequência {contract('de', subj)}",
                f"o que {m.group('verb')} {subj}",
                "consequencia",
                s,
            )
        )
    return out


def _definition_facts(s: str, ask: Asker) -> list[Fact]:
    """'Considera-se trabalho voluntário as atividades ...', 'Entende-se por X, para os efeitos desta Lei, a ...'."""
    m = re.match(
        r"^(?:Considera-se|Consideram-se|Entende-se por|Entendem-se por|Entender-se-á por|Define-se|Definem-se)\s+"
        r"(?:como\s+)?(?P<term>[^,;:]{3,60}?)(?:,[^,]{3,60},)?\s+(?:o|a|os|as|aquele|aquela|aqueles|aquelas|um|uma)\s+.{10,}$",
        s,
    )
    if not m or len(m.group("term")) < 4:
        return []
    term = m.group("term")
    return [ask.two(f"O que se entende por {term}", f"como se define {term}", "definicao", s)]


def _document_facts(s: str, docs: re.Match[str], c: Clause, ask: Asker) -> list[Fact]:
    """'Alterações de senhas serão realizadas mediante apresentação de documento ...' -> 'O que é preciso
    apresentar para que alterações de senhas sejam realizadas?'."""
    if re.match(r"(?:instruíd|acompanhad)", docs.group()):  # "O requerimento será instruído com cópia ..."
        be, done = ("são" if c.plural else "é"), agree("instruído", c.feminine, c.plural)
        first = f"Que documentos devem acompanhar {c.subject}"
        return [ask.two(first, f"com que documentos {c.subject} {be} {done}", "documentos", s)]
    before = first_clause(tidy(s)[: docs.start()].split(c.verb, 1)[-1], 12) if c.verb in s else ""
    verbs = c.present.split()
    if not before or verbs[-1] not in SUBJUNCTIVE:
        return []
    main = " ".join([c.subject, *verbs[:-1], SUBJUNCTIVE[verbs[-1]], before])
    return [
        ask.two(
            f"O que é preciso apresentar para que {main}",
            f"que documento é exigido para que {main}",
            "documentos",
            s,
        )
    ]


def _number_facts(s: str, c: Clause | None, ask: Asker) -> list[Fact]:
    """Deadlines, limits, counts, percentages and values."""
    if (dur := _DURATION.search(s)) and _DEADLINE_CUE.search(s):
        return [_deadline_fact(s, dur, c, ask)]
    if lim := _LIMIT.search(s):
        return [_limit_fact(s, lim, c, ask)]
    if cnt := _COUNT.search(s):
        return [_count_fact(s, cnt, c, ask)]
    if _PERCENT.search(s) or _MONEY.search(s):
        what = "o percentual" if _PERCENT.search(s) else "o valor"
        if c and _specific(c.subject) and c.subject.split()[1] in ("valor", "percentual", "taxa", "índice"):
            return [ask.two(f"Qual é {c.subject}", f"quanto é {c.subject}", "quantidade", s)]
        topic = f" para {c.subject}" if c and _specific(c.subject) else ""
        return [
            ask.two(
                f"Qual {what} fixado{topic} {ask.where_in()}",
                f"qual {what} previsto{topic}",
                "quantidade",
                s,
                True,
            )
        ]
    return []


def _deadline_fact(s: str, dur: re.Match[str], c: Clause | None, ask: Asker) -> Fact:
    unit = dur.group("unit").lower().rstrip("s")
    how_many = _HOW_MANY.get(unit, "")
    if how_many and dur.group("qual"):
        how_many += " " + dur.group("qual").strip()
    if c and _specific(c.subject) and not c.verb.startswith("não"):
        subj, present = c.subject, c.present
        m = re.search(r"\bprazo\b[^,;]*?\bpara\s+(?P<vp>.+)$", s)
        if (
            m and present in ("tem", "têm") and (vp := first_clause(m.group("vp"), 12))
        ):  # "S terá o prazo de N para VP"
            second = (
                f"{how_many.lower()} {subj} {present} para {vp}"
                if how_many
                else f"em quanto tempo {subj} deve {vp}"
            )
            return ask.two(f"Qual o prazo para {subj} {vp}", second, "prazo", s)
        if vp := first_clause(_DEADLINE_PHRASE.split(c.rest, maxsplit=1)[0], 10):
            last = present.split()[-1]
            if (last in ("é", "são") or present.endswith(" ser")) and re.match(
                r"[a-zà-ú]+(?:ad|id|íd|ost|eit|ert)[oa]s?\b", vp
            ):
                aux = "devem ser" if c.plural else "deve ser"
                be = "sejam" if c.plural else "seja"
                return ask.two(
                    f"Em que prazo {subj} {aux} {vp}", f"qual o prazo para que {subj} {be} {vp}", "prazo", s
                )
            if last in ("deve", "devem", "pode", "podem") and is_infinitive(vp.split()[0]):
                return ask.two(
                    f"Qual o prazo para {subj} {vp}", f"em quanto tempo {subj} {present} {vp}", "prazo", s
                )
    return Fact(
        "prazo",
        (q(f"Qual o prazo previsto {ask.where_in()}"), q(f"{ask.act.per}, que prazo {ask.where} estabelece")),
        s,
    )


def _limit_fact(s: str, lim: re.Match[str], c: Clause | None, ask: Asker) -> Fact:
    noun = squash(lim.group("noun")).lower().replace("freqüência", "frequência")
    head = noun.split()[0]
    art = "a" if head.endswith(("a", "ade", "ção", "gem")) or head in ("nota", "média", "idade") else "o"
    mm = re.sub(r"[oa](s?)$", art + r"\1", lim.group("mm").lower())
    if c and _specific(c.subject) and noun not in c.subject:
        phrase = f"{art} {noun} {mm} {contract('de', c.subject)}"
        return ask.two(f"Qual é {phrase}", f"qual {phrase}", "quantidade", s)
    phrase = f"{art} {noun} {mm}"
    return Fact(
        "quantidade",
        (
            q(
                f"Qual é {phrase} prevista {ask.where_in()}"
                if art == "a"
                else f"Qual é {phrase} previsto {ask.where_in()}"
            ),
            q(f"{ask.act.per}, qual {phrase} que {ask.where} estabelece"),
        ),
        s,
    )


def _count_fact(s: str, cnt: re.Match[str], c: Clause | None, ask: Asker) -> Fact:
    noun = cnt.group("noun").lower()
    if (
        c
        and c.present.split()[-1] in ("pode", "podem", "deve", "devem")
        and not c.verb.startswith("não")
        and _specific(c.subject)
    ):
        before = tidy(s[: cnt.start()]).split(c.verb, 1)[-1].strip(" ,")
        if before and is_infinitive(before.split()[0]) and len(before.split()) <= 6:
            how = (
                "Quantas"
                if noun.split()[0].endswith(("a", "as", "ção", "ções", "dade", "dades", "gem", "gens"))
                else "Quantos"
            )
            return ask.two(
                f"{how} {noun} {c.subject} {c.present} {before}",
                f"qual o limite de {noun} que {c.subject} {c.present} {before}",
                "quantidade",
                s,
            )
    return Fact(
        "quantidade",
        (
            q(f"Qual o limite previsto {ask.where_in()}"),
            q(f"{ask.act.per}, que limite {ask.where} estabelece"),
        ),
        s,
    )


def topic_of(sentence: str) -> str:
    """What a rule is about: its subject ('os diplomas de cursos ...') or the place it opens with ('Nos cursos
    de mestrado, ...' -> 'os cursos de mestrado'); '' when neither is specific."""
    clause = parse_clause(sentence)
    subject = clause.subject if clause else ""
    if not clause:
        m = re.match(r"^(?:No|Na|Nos|Nas)\s+(?P<np>[^,;:]{4,80}?),", tidy(sentence))
        if m and not re.search(
            r"\d|\b(?:caso|hipótese|prazo|termos|forma|âmbito|momento|ato|período)\b", m.group("np")
        ):
            article = {"no": "o", "na": "a", "nos": "os", "nas": "as"}[tidy(sentence).split()[0].lower()]
            subject = f"{article} {m.group('np')}"
    return subject if subject and _specific(subject) else ""


def topic_fact(sentence: str, ask: Asker) -> Fact | None:
    """'O que a Lei nº 9.394/1996 estabelece sobre os diplomas ...?' for a rule about a named subject; a subject
    the document has several rules about is asked with the provision ('O que o Art. 15 da Lei ... estabelece
    sobre os sistemas de ensino?'), so no two rules share a question."""
    if not (subject := topic_of(sentence)):
        return None
    where = f"{ask.where} {ask.act.of}" if subject in ask.repeated else ask.act.the
    return ask.two(
        f"O que {where} estabelece sobre {subject}",
        f"qual é a regra para {subject}",
        "regra",
        squash(sentence),
        True,
    )


# ------------------------------------------------------------------------------------------------- lists


def _list_answer(lead: str, items: Sequence[tuple[str, str, str]]) -> str:
    """The lead and as many items (with their own numerals) as fit MAX_ANSWER_CHARS (at least one)."""
    out = squash(lead)
    for _, marker, text in items:
        part = f"{marker} {text}".strip()
        if out and len(out) + len(part) + 1 > MAX_ANSWER_CHARS:
            break
        out = f"{out} {part}".strip()
    return out


def list_facts(p: Provision, ask: Asker) -> list[Fact]:
    """A lead ending in ':' with its items: what the list answers (competences, conditions, requirements,
    composition, definitions, ...), and one fact per item where each item answers on its own."""
    lead = p.lead.rstrip()
    answer = _list_answer(lead, p.items)
    body = lead[:-1].strip()
    if _DEFINES.search(lead):  # "Para os fins desta Portaria, considera-se: I - usuário: o estudante ..."
        facts = []
        for _, _, item in p.items:
            if m := _DEFINITION_ITEM.match(item):
                term = (m.group(1) or m.group(2)).strip()
                facts.append(
                    ask.two(
                        f"O que se entende por {term}",
                        f"como se define {term}",
                        "definicao",
                        item.rstrip(";."),
                    )
                )
        return facts
    m = re.match(
        r"^(?:.*?,\s*)?(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?P<who>(?:ao|à|aos|às)\s+[^:;]{3,120}?)(?:,\s+(?:além|entre|dentre|sem|no|na|em|dentro)\b.*)?$",
        body,
    ) or re.match(
        r"^(?P<who>(?:Ao|À|Aos|Às)\s+[^:;]{3,120}?)\s*(?:,[^:]*)?\s+(?:compete|competirá|cabe|caberá|incumbe)\b.*$",
        body,
    )
    clause = parse_clause(body)
    if m or (clause and re.search(r"\b(?:competindo|cabendo|incumbindo)-lhes?\b", body)):
        who = lower_first(m.group("who")).rstrip(",") if m else contract("a", clause.subject)  # type: ignore[union-attr]
        of_who = contract(
            "de",
            re.sub(
                r"^(?:ao|à|aos|às) ",
                lambda x: {"ao ": "o ", "à ": "a ", "aos ": "os ", "às ": "as "}[x.group()],
                who,
            ),
        )
        facts = [ask.two(f"O que compete {who}", f"quais são as atribuições {of_who}", "competencia", answer)]
        for _, _, item in p.items:
            if (vp := first_clause(item, 14)) and is_infinitive(vp.split()[0]):
                facts.append(
                    ask.two(
                        f"A quem compete {vp}",
                        f"quem tem a atribuição de {vp}",
                        "competencia",
                        f"{lead} {item}",
                    )
                )
        return facts
    nouns = "atribuições|competências|deveres|direitos|obrigações|objetivos|finalidades|princípios|requisitos|órgãos|modalidades|instrumentos|diretrizes|critérios|formas"
    if m := re.match(rf"^São\s+(?P<noun>{nouns})(?P<of>\s+d[eoa]s?\s+[^:,]{{3,90}})?(?:,.*)?$", body, re.I):
        noun, of = m.group("noun").lower(), (m.group("of") or "").strip()
        art = "as" if noun.endswith(("ções", "ências", "dades", "etrizes", "formas")) else "os"
        kind = "competencia" if noun in ("atribuições", "competências", "deveres") else "enumeracao"
        for_whom = re.sub(r"^d([oa]s?) ", r"para \1 ", of) if of.startswith("d") else of
        listed = f"previst{art[0]}s {for_whom}".strip()
        return [ask.two(f"Quais são {art} {noun} {of}", f"que {noun} estão {listed}", kind, answer)]
    if m := re.match(
        r"^(?:São|É|Ficam|Fica)\s+(?:vedad|proibid)[oa]s?(?P<to>\s+(?:ao|à|aos|às)\s+[^:]{3,80})?(?:,.*)?$",
        body,
        re.I,
    ):
        to = (m.group("to") or "").strip()
        who = re.sub(r"^à", "a", re.sub(r"^a(os?) ", r"\1 ", to)) if to else ""
        second = f"o que {who} não pode fazer" if who else "o que não é permitido"
        return [ask.two(f"O que é vedado {to}".strip(), second, "vedacao", answer)]
    if m := re.match(
        r"^(?P<main>.+?)\s*,?\s*\b(?:quando|nos seguintes casos|nas seguintes hipóteses|nos casos|nas hipóteses|se)$",
        body,
    ):
        if main := _present_clause(m.group("main")):
            return [ask.two(f"Em que casos {main}", f"quando {main}", "condicao", answer)]
    if m := re.match(
        r"^(?:Somente|Só|Apenas)?\s*(?:poderá|poderão|podem|pode)\s+(?P<vp>.+?)\s+(?P<who>(?:o|a|os|as)\s+[^,]+?|[a-zà-ú]+)\s+que\b.*$",
        body,
        re.I,
    ):
        vp = tidy(m.group("vp"))
        return [ask.two(f"Quem pode {vp}", f"que requisitos são exigidos para {vp}", "requisito", answer)]
    if not clause:
        return []
    subj, present = clause.subject, clause.present
    if re.match(
        r"^(?:a seguinte composição|(?:compost|constituíd|integrad)[oa]s?\s+(?:por|pel[oa]s?|de))$",
        clause.rest,
    ):
        composed = agree("composto", clause.feminine, clause.plural)
        return [ask.two(f"Como é {composed} {subj}", f"quem compõe {subj}", "composicao", answer)]
    if m := re.match(
        r"^(?P<verb>.*?)\s*(?P<prep>\b(?:os|as|aos|às|nos|nas|dos|das|pelos|pelas|em|a)\b)?\s*seguintes\s+(?P<noun>[a-zà-ú]+)$",
        clause.rest,
    ):
        prep = {
            "aos": "A",
            "às": "A",
            "nos": "Em",
            "nas": "Em",
            "dos": "De",
            "das": "De",
            "pelos": "Por",
            "pelas": "Por",
        }.get(m.group("prep") or "", "")
        verb = f"{present} {m.group('verb')}".strip()
        return [
            ask.two(
                f"{prep} quais {m.group('noun')} {subj} {verb}".strip(),
                f"{prep.lower()} que {m.group('noun')} {subj} {verb}".strip(),
                "enumeracao",
                answer,
            )
        ]
    if present.split()[-1] in (
        "compreende",
        "compreendem",
        "abrange",
        "abrangem",
        "inclui",
        "incluem",
        "envolve",
        "envolvem",
        "constitui",
        "constituem",
    ):
        return [ask.two(f"O que {present} {subj}", f"o que {subj} {present}", "enumeracao", answer)]
    if present.split()[-1] in ("deve", "devem", "pode", "podem"):
        vp = first_clause(clause.rest, 6) or "fazer"
        if vp == "fazer" or is_infinitive(vp.split()[0]):
            return [
                ask.two(f"O que {subj} {present} {vp}", f"o que {present} {vp} {subj}", "enumeracao", answer)
            ]
    if not clause.rest and not clause.verb.startswith("não") and (verb := future_to_present(clause.verb)):
        # "Para a inscrição, o candidato apresentará:" -> "O que o candidato apresenta para a inscrição?"
        where = f" {clause.adjunct[:1].lower()}{clause.adjunct[1:]}" if clause.adjunct else ""
        kind = "documentos" if re.match(r"(?:apresent|entreg|anex|junt)", verb) else "enumeracao"
        return [ask.two(f"O que {subj} {verb}{where}", f"o que {verb} {subj}{where}", kind, answer)]
    topic = topic_fact(body, ask)
    return [Fact(topic.kind, topic.questions, answer)] if topic else []


def _present_clause(text: str) -> str:
    """'O aluno poderá trancar a matrícula, a pedido' -> 'o aluno pode trancar a matrícula';
    'Não será concedido trancamento' -> 'não é concedido trancamento'."""
    if clause := parse_clause(text):
        rest = first_clause(clause.rest, 12)
        return f"{clause.subject} {clause.present} {rest}" if rest else ""
    m = re.match(
        r"^(?P<neg>Não\s+)?(?P<verb>será|serão|poderá|poderão|deverá|deverão|é|são|terá|terão)\s+(?P<rest>.+)$",
        squash(text),
    )
    if not m or not (rest := first_clause(m.group("rest"), 10)):
        return ""
    return f"{'não ' if m.group('neg') else ''}{future_to_present(m.group('verb')) or m.group('verb')} {rest}"


# ------------------------------------------------------------------------------------------------- provisions


def where_fact(ask: Asker, kind: str, answer: str, plural: bool = False) -> Fact:
    """What a provision establishes, asked by where it sits (when no template knows what it says)."""
    verbs = {
        "artigo": ("estabelece", "diz"),
        "paragrafo": ("dispõe", "determina"),
        "inciso": ("prevê", "diz"),
    }[kind]
    first, second = (("preveem", "dizem") if plural else verbs) if kind == "inciso" else verbs
    return Fact(
        kind,
        (q(f"O que {first} {ask.where} {ask.act.of}"), q(f"{ask.act.per}, o que {second} {ask.where}")),
        answer,
    )


def _first_sentences(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """The leading whole sentences of `text` within `limit` characters (at least one)."""
    text = squash(text)
    if len(text) <= limit:
        return text
    out = ""
    for sentence in split_sentences(text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    return out


def provision_facts(p: Provision, act: ActName, repeated: frozenset[str] = frozenset()) -> list[Fact]:
    """Every fact of one provision; where none is found, what it establishes, asked by where it sits."""
    ask = Asker(act, p.where, repeated)
    if p.lead and _VIGOR.match(p.lead):
        sentence = split_sentences(p.lead)[0]
        return [
            ask.two(
                f"Quando {act.the} entra em vigor", "a partir de quando ela vale", "vigencia", sentence, True
            )
        ]
    if p.lead.rstrip().endswith(":") and not p.items:
        return []  # a lead whose items are in the next chunk: asked there, with them
    facts: list[Fact] = []
    is_list = p.lead.rstrip().endswith(":")
    if is_list:
        facts += list_facts(p, ask)
    elif p.lead:
        for sentence in split_sentences(p.lead):
            found = sentence_facts(sentence, ask)
            if not found and (topic := topic_fact(sentence, ask)):
                found = [topic]
            facts += found
    for name, _, item in p.items:
        if not (is_list and _DEFINES.search(p.lead)):
            facts += sentence_facts(item, Asker(act, _where_of_item(name, p.where)))
    if p.continued and not p.lead and p.items:
        facts.append(_continuation_fact(p, act))
    elif not facts:
        kind = "artigo" if p.where.count(" ") <= 2 else "paragrafo"
        text = _list_answer(p.lead, p.items) if p.items else p.lead
        if re.search(r"[^\W\d_]{3,}", text):
            facts.append(where_fact(ask, kind, _first_sentences(text)))
    return facts


def _continuation_fact(p: Provision, act: ActName) -> Fact:
    """Incisos whose lead is in the previous chunk: 'O que preveem os incisos V a IX do Art. 53 da Lei ...?'"""
    kind_of = p.items[0][0].split()[0]
    run = []
    for item in p.items:
        if item[0].split()[0] != kind_of:
            break
        run.append(item)
    first, last = run[0][0], run[-1][0]
    feminine = kind_of == "alínea"
    if first == last:
        where = _where_of_item(first, p.where)
    else:
        plural = {"inciso": "incisos", "alínea": "alíneas", "item": "itens"}[kind_of]
        where = f"{'as' if feminine else 'os'} {plural} {first.split()[-1]} a {last.split()[-1]} {contract('de', p.where)}"
    return where_fact(Asker(act, where), "inciso", _list_answer("", run), plural=first != last)


# ------------------------------------------------------------------------------------------------- documents


def boilerplate_lines(contents: Sequence[str], min_repeats: int = BOILERPLATE_MIN_REPEATS) -> set[str]:
    """Lines a document repeats on many pages (letterheads, footers the clean stage kept): at least
    `min_repeats` times as a whole line, two words or more, not the start of an article, § or inciso."""
    counts: Counter[str] = Counter()
    for text in contents:
        counts.update({line.strip() for line in text.split("\n") if len(line.strip()) >= 12})
    return {
        line
        for line, n in counts.items()
        if n >= min_repeats
        and len(line.split()) >= 2
        and not re.match(r"^(?:Art|ART|§|[IVXLC]+\s*[-–—)])", line)
    }


def _without(text: str, boilerplate: set[str]) -> str:
    """`text` without the document's letterhead lines, also where one was glued to a sentence."""
    for line in sorted(boilerplate, key=len, reverse=True):
        text = text.replace(line, " ")
    return text


def why_no_facts(text: str) -> str:
    """Why a chunk with no fact has none, in one word for the metrics."""
    words = re.findall(r"[^\W\d_]{3,}", text)
    if len(words) < 8:
        return "no_text"
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and sum(bool(re.search(r"\d{1,2}/\d{1,2}|\d{4}", line)) for line in lines) / len(lines) > 0.5:
        return "table"
    if re.search(
        r"^\s*(?:CONSIDERANDO|RESOLVE|R E S O L V E|DECRETA|(?:O|A)\s+[A-ZÀ-Ý]{4,}.*no uso d)", text, re.M
    ):
        return "preamble"
    if SIGNATURE_RE.search(text) or re.search(r"^[A-ZÀ-Ý][\w ]+, \d{1,2}º? de [a-zç]+ de \d{4}", text, re.M):
        return "signature"
    if text.rstrip().endswith(":"):
        return "list_lead"
    return "no_article"


def document_facts(chunks: Sequence[Chunk]) -> dict[str, ChunkFacts]:
    """Facts of every chunk of one document, read in order: the act named by the heading that precedes each
    article, an article continued from the previous chunk, the document's letterhead lines left out."""
    chunks = sorted(chunks, key=lambda c: c.index)
    contents = [c.text[c.overlap_chars :] for c in chunks]  # the overlap was asked about in the chunk before
    full = "\n".join(contents)
    heads = [(offset, with_institution(act, full)) for offset, act in act_headings(full)]
    boilerplate = boilerplate_lines(contents)
    texts = [_without(strip_annotations(content), boilerplate) for content in contents]
    topics: Counter[str] = Counter()
    for chunk, text in zip(chunks, texts, strict=True):
        for article in split_chunk(text, chunk.articles[0] if chunk.articles else None):
            for p in article.provisions:
                topics.update(filter(None, (topic_of(s) for s in split_sentences(p.lead))))
    repeated = frozenset(t for t, n in topics.items() if n > 1)
    out: dict[str, ChunkFacts] = {}
    start = 0
    for chunk, content, text in zip(chunks, contents, texts, strict=True):
        out[chunk.id] = _chunk_facts(text, chunk, [(o - start, act) for o, act in heads], repeated)
        start += len(content) + 1
    return out


def _chunk_facts(
    text: str, chunk: Chunk, acts: list[tuple[int, ActName]], repeated: frozenset[str]
) -> ChunkFacts:
    def act_at(pos: int) -> ActName | None:
        return next((act for offset, act in reversed(acts) if offset <= pos), None)

    facts: list[Fact] = []
    for offset, act in acts:  # the ementa, when the chunk holds it
        if 0 <= offset < len(text) and act.ementa and squash(act.ementa) in squash(text):
            facts.append(
                Fact("ementa", (q(f"Do que trata {act.the}"), q(f"Qual é o assunto {act.of}")), act.ementa)
            )
    articles = split_chunk(text, chunk.articles[0] if chunk.articles else None)
    unnamed = False
    for article in articles:
        act = act_at(article.offset)
        if act is None:
            unnamed = True
            continue
        for provision in article.provisions:
            facts += provision_facts(provision, act, repeated)
    if facts:
        return ChunkFacts(_unique(facts))
    if unnamed:
        return ChunkFacts([], "no_title")
    return ChunkFacts([], why_no_facts(text))


def _unique(facts: list[Fact]) -> list[Fact]:
    """Each question once in a chunk (the first fact keeps it), each answer's fact once per kind."""
    seen_q: set[str] = set()
    seen_f: set[tuple[str, str]] = set()
    out = []
    for fact in facts:
        if (fact.kind, fact.answer) in seen_f:
            continue
        questions = tuple(x for x in fact.questions if x not in seen_q)
        if questions and re.search(r"[^\W\d_]{3,}", fact.answer):
            seen_q.update(questions)
            seen_f.add((fact.kind, fact.answer))
            out.append(Fact(fact.kind, questions, fact.answer))
    return out
