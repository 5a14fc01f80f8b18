"""The offline `rules` backend: the questions a student would ask, from what the text says; answers copied from it.

Deterministic and pure. A document's chunks are read in order; each article (however the text spells it: "Art.
7°", "ART. 7º", "Artigo 7.º", incisos and alíneas in every dress, Portugal's "n.º 2" paragraphs) is cut into
provisions (the caput and each §), and every provision into facts. A fact is one answer, the smallest span of
the text that answers, and the cores of the questions about it (stages/qa/rules/asking.py), which
stages/qa/rules/phrasings.py asks in many phrasings sharing a fact id. What a fact asks depends on what the
text says:

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
  vigencia, ementa, revogacao (the act itself)                  -> "Quando a Resolução nº X entra em vigor?"
  artigo / paragrafo / inciso: where a provision says nothing the templates know, what it establishes.

Every question names its act (its name found in the text by stages/text/legis/, never in the file name), and a
fact is asked by what the provision says or names, its number cited by at most two phrasings. Answers lose the
web-copy annotations of compiled laws and the letterhead lines a document repeats page after page. A chunk
without a fact says why (`ChunkFacts.why_none`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from stages.qa.rules.articles import Provision, split_chunk
from stages.qa.rules.asking import ACT, Asker, Fact, where_of_item
from stages.qa.rules.cues import DEFINES, VIGOR
from stages.qa.rules.lists import MAX_ANSWER_CHARS, list_answer, list_facts
from stages.qa.rules.phrasings import CITES_PROVISION
from stages.qa.rules.pt_clause import (
    contract,
    noun_phrase,
)
from stages.qa.rules.sentences import about_of, sentence_facts, topic_fact, topic_of
from stages.records.chunks import Chunk
from stages.text.fold import squash_ws
from stages.text.legis.acts import SIGNATURE_RE, ActName, act_headings, strip_annotations, with_institution
from stages.text.legis.sentences import split_sentences

BOILERPLATE_MIN_REPEATS = 3  # a line a document repeats this often (not an article's) is letterhead/footer
WHERE_KINDS = ("artigo", "paragrafo", "inciso")
_REVOKES = re.compile(
    r"^(?:Fica|Ficam)\s+revogad[oa]s?\s+(?:a|o|as|os)\s+(?:Resolução|Portaria|Lei|Decreto|Instrução)"
)  # questions about where a provision sits, not what it says


@dataclass(frozen=True)
class ChunkFacts:
    facts: list[Fact]
    why_none: str = ""  # when `facts` is empty: no_title, preamble, signature, list_lead, table, no_text, ...


# ------------------------------------------------------------------------------------------------- provisions


def where_fact(ask: Asker, kind: str, answer: str, plural: bool = False) -> Fact:
    """What a provision establishes (when no template knows what it says): asked by where it sits, and by what
    it is about ('O que a Lei nº 4.512/2019 diz sobre o campus?')."""
    verbs = {
        "artigo": ("estabelece", "diz"),
        "paragrafo": ("dispõe", "determina"),
        "inciso": ("prevê", "diz"),
    }[kind]
    first, second = (("preveem", "dizem") if plural else verbs) if kind == "inciso" else verbs
    cores = [f"O que {first} {ask.where} {ask.act.of}", f"{ask.act.per}, o que {second} {ask.where}"]
    if about := about_of(answer):
        cores += [
            f"o que {ask.act.the} diz sobre {about}",
            f"o que {ask.act.the} estabelece a respeito {contract('de', about)}",
        ]
    if (other := noun_phrase(answer.split(about.split()[-1], 1)[-1] if about else answer)) and other != about:
        cores.append(f"o que {ask.act.the} diz sobre {other}")  # asked when a fact before it took `about`
    return ask.fact(kind, tuple(cores), answer)


def _first_sentences(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """The leading whole sentences of `text` within `limit` characters (at least one)."""
    text = squash_ws(text)
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
    if p.lead and VIGOR.match(p.lead.lstrip("-–— ")):
        sentence = split_sentences(p.lead)[0]
        slot = ask.act
        cores = (
            f"quando {slot.the} entra em vigor",
            "a partir de quando a norma vale",
            f"a partir de quando {slot.the} passa a valer",
            f"quando {slot.the} começa a valer",
        )
        return [ask.fact("vigencia", cores, sentence)]
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
    context = noun_phrase(p.lead) if is_list else None
    for name, _, item in p.items:
        if not (is_list and DEFINES.search(p.lead)):
            facts += sentence_facts(item, Asker(act, where_of_item(name, p.where), context=context))
    if p.continued and not p.lead and p.items:
        facts.append(_continuation_fact(p, act))
    elif not facts and _REVOKES.match(p.lead):
        cores = (
            f"que norma {ACT.the} revoga",
            f"o que foi revogado por {ACT.the}",
            f"o que {ACT.the} revoga",
        )
        facts.append(ask.fact("revogacao", cores, _first_sentences(p.lead)))
    elif not facts:
        kind = "artigo" if p.where.count(" ") <= 2 else "paragrafo"
        text = list_answer(p.lead, p.items) if p.items else p.lead
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
        where = where_of_item(first, p.where)
    else:
        plural = {"inciso": "incisos", "alínea": "alíneas", "item": "itens"}[kind_of]
        to = "até" if feminine else "a"  # "as alíneas a até c", not "a a c"
        where = f"{'as' if feminine else 'os'} {plural} {first.split()[-1]} {to} {last.split()[-1]} {contract('de', p.where)}"
    return where_fact(Asker(act, where), "inciso", list_answer("", run), plural=first != last)


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
        if 0 <= offset < len(text) and act.ementa and squash_ws(act.ementa) in squash_ws(text):
            cores = (f"do que trata {ACT.the}", f"qual é o assunto {ACT.of}", f"sobre o que dispõe {ACT.the}")
            facts.append(Asker(act, "").fact("ementa", cores, act.ementa))
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
    """Each core once in a chunk (the first fact keeps it), each answer's fact once per kind."""
    seen_core: set[str] = set()
    seen_f: set[tuple[str, str]] = set()
    out = []
    for fact in facts:
        if (fact.kind, fact.answer) in seen_f:
            continue
        cores = tuple(c for c in fact.cores if c not in seen_core)
        if not any(not CITES_PROVISION.search(c) for c in cores):  # by what it says, not only by its number
            cores += tuple(c for c in fact.spares if c not in seen_core)[:2]
        if cores and re.search(r"[^\W\d_]{3,}", fact.answer):
            seen_core.update(cores)
            seen_f.add((fact.kind, fact.answer))
            out.append(replace(fact, cores=cores))
    return out
