"""Facts read from an enumeration: its lead and items, answered as one list."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from stages.qa.rules.articles import Provision
from stages.qa.rules.asking import Asker, Fact
from stages.qa.rules.cues import DEFINES, DEFINITION_ITEM
from stages.qa.rules.pt_clause import (
    Clause,
    agree,
    contract,
    first_clause,
    future_to_present,
    is_infinitive,
    lower_first,
    parse_clause,
    tidy,
)
from stages.qa.rules.sentences import topic_fact
from stages.text.fold import squash_ws

MAX_ANSWER_CHARS = 600  # a list answer stops at the item that would pass this; sentences are kept whole


# ------------------------------------------------------------------------------------------------- lists


def list_answer(lead: str, items: Sequence[tuple[str, str, str]]) -> str:
    """The lead and as many items (with their own numerals) as fit MAX_ANSWER_CHARS (at least one)."""
    out = squash_ws(lead)
    for _, marker, text in items:
        part = f"{marker} {text}".strip()
        if out and len(out) + len(part) + 1 > MAX_ANSWER_CHARS:
            break
        out = f"{out} {part}".strip()
    return out


@dataclass(frozen=True)
class ListLead:
    """A lead ending in ':' as its shapes read it."""

    lead: str  # with its ":"
    items: Sequence[tuple[str, str, str]]
    clause: Clause | None  # the lead (without its ":") read as subject, verb and rest
    answer: str  # the lead with as many items as fit


# A shape's handler: its facts, or None when the lead is not of that shape after all (the next one is tried)
LeadShape = Callable[[re.Match[str], ListLead, Asker], list[Fact] | None]
ClauseShape = Callable[[re.Match[str], Clause, str, Asker], list[Fact] | None]


def list_facts(p: Provision, ask: Asker) -> list[Fact]:
    """A lead ending in ':' with its items: what the list answers (competences, conditions, requirements,
    composition, definitions, ...), and one fact per item where each item answers on its own."""
    lead = p.lead.rstrip()
    if DEFINES.search(lead):  # "Para os fins desta Portaria, considera-se: I - usuário: o estudante ..."
        return _definition_facts(p.items, ask)
    body = lead[:-1].strip()
    read = ListLead(lead, p.items, parse_clause(body), list_answer(lead, p.items))
    if (facts := _first_shape(_LEAD_SHAPES, body, read, ask)) is not None:
        return facts
    if not (clause := read.clause):
        return []
    if (facts := _first_shape(_REST_SHAPES, clause.rest, clause, read.answer, ask)) is not None:
        return facts
    last_verb = clause.present.split()[-1]
    if (facts := _first_shape(_VERB_SHAPES, last_verb, clause, read.answer, ask)) is not None:
        return facts
    if (facts := _future_verb(clause, read.answer, ask)) is not None:
        return facts
    topic = topic_fact(body, ask)
    return [replace(topic, answer=read.answer)] if topic else []


def _first_shape(
    shapes: Sequence[tuple[re.Pattern[str], Callable[..., list[Fact] | None]]], text: str, *args: object
) -> list[Fact] | None:
    """The facts of the first shape whose pattern matches at the start of `text` and whose handler answers."""
    for pattern, shape in shapes:
        if (m := pattern.match(text)) and (facts := shape(m, *args)) is not None:
            return facts
    return None


def _definition_facts(items: Sequence[tuple[str, str, str]], ask: Asker) -> list[Fact]:
    """One definition per item that names its term ("usuário: o estudante ...")."""
    facts = []
    for _, _, item in items:
        if m := DEFINITION_ITEM.match(item):
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


# ------------------------------------------------------------------------------------------------- lead shapes


def _competence(m: re.Match[str], read: ListLead, ask: Asker) -> list[Fact]:
    """What competes to whom the lead names ("Compete ao Colegiado:", "Ao Colegiado compete:")."""
    return _competence_facts(lower_first(m.group("who")).rstrip(","), read, ask)


def _subject_competence(m: re.Match[str], read: ListLead, ask: Asker) -> list[Fact] | None:
    """What competes to the lead's subject ("O Conselho reúne-se mensalmente, competindo-lhe:")."""
    return _competence_facts(contract("a", read.clause.subject), read, ask) if read.clause else None


def _competence_facts(who: str, read: ListLead, ask: Asker) -> list[Fact]:
    """What competes to `who` (the whole list), and who does each item that starts with an infinitive."""
    of_who = contract(
        "de",
        re.sub(
            r"^(?:ao|à|aos|às) ",
            lambda x: {"ao ": "o ", "à ": "a ", "aos ": "os ", "às ": "as "}[x.group()],
            who,
        ),
    )
    facts = [
        ask.two(f"O que compete {who}", f"quais são as atribuições {of_who}", "competencia", read.answer)
    ]
    for _, _, item in read.items:
        if (vp := first_clause(item, 14)) and is_infinitive(vp.split()[0]):
            facts.append(
                ask.two(
                    f"A quem compete {vp}",
                    f"quem tem a atribuição de {vp}",
                    "competencia",
                    f"{read.lead} {item}",
                )
            )
    return facts


def _listed_nouns(m: re.Match[str], read: ListLead, ask: Asker) -> list[Fact]:
    """What a "São <nouns> de X:" lead lists: "Quais são as atribuições do coordenador?"."""
    noun, of = m.group("noun").lower(), (m.group("of") or "").strip()
    art = "as" if noun.endswith(("ções", "ências", "dades", "etrizes", "formas")) else "os"
    kind = "competencia" if noun in ("atribuições", "competências", "deveres") else "enumeracao"
    if of.startswith(
        "de "
    ):  # "São instrumentos de avaliação:" -> "que instrumentos de avaliação estão previstos"
        second = f"que {noun} {of} estão previst{art[0]}s"
    else:
        for_whom = re.sub(r"^d([oa]s?) ", r"para \1 ", of) if of.startswith("d") else of
        second = f"que {noun} estão previst{art[0]}s {for_whom}".strip()
    return [ask.two(f"Quais são {art} {noun} {of}", second, kind, read.answer)]


def _forbidden(m: re.Match[str], read: ListLead, ask: Asker) -> list[Fact]:
    """What is forbidden ("É vedado ao estagiário:" -> "O que é vedado ao estagiário?")."""
    to = (m.group("to") or "").strip()
    who = re.sub(r"^à", "a", re.sub(r"^a(os?) ", r"\1 ", to)) if to else ""
    second = f"o que {who} não pode fazer" if who else "o que não é permitido"
    return [ask.two(f"O que é vedado {to}".strip(), second, "vedacao", read.answer)]


def _cases(m: re.Match[str], read: ListLead, ask: Asker) -> list[Fact] | None:
    """In which cases a rule holds ("O aluno poderá trancar a matrícula quando:" -> "Em que casos o aluno pode
    trancar a matrícula?"); None when no rule in the present reads from it."""
    if main := _present_clause(m.group("main")):
        return [ask.two(f"Em que casos {main}", f"quando {main}", "condicao", read.answer)]
    return None


def _requirements(m: re.Match[str], read: ListLead, ask: Asker) -> list[Fact]:
    """Who may do something ("Poderá inscrever-se o candidato que:" -> "Quem pode inscrever-se?")."""
    vp = tidy(m.group("vp"))
    return [ask.two(f"Quem pode {vp}", f"que requisitos são exigidos para {vp}", "requisito", read.answer)]


_COMPETE_TO_RE = re.compile(
    r"^(?:.*?,\s*)?(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?P<who>(?:ao|à|aos|às)\s+[^:;]{3,120}?)(?:,\s+(?:além|entre|dentre|sem|no|na|em|dentro)\b.*)?$"
)
_TO_WHOM_COMPETES_RE = re.compile(
    r"^(?P<who>(?:Ao|À|Aos|Às)\s+[^:;]{3,120}?)\s*(?:,[^:]*)?\s+(?:compete|competirá|cabe|caberá|incumbe)\b.*$"
)
_COMPETING_RE = re.compile(r".*?\b(?:competindo|cabendo|incumbindo)-lhes?\b", re.S)  # anywhere in the lead
_NOUNS = "atribuições|competências|deveres|direitos|obrigações|objetivos|finalidades|princípios|requisitos|órgãos|modalidades|instrumentos|diretrizes|critérios|formas"
_LISTED_NOUNS_RE = re.compile(
    rf"^São\s+(?P<noun>{_NOUNS})(?P<of>\s+d[eoa]s?\s+[^:,]{{3,90}})?(?:,.*)?$", re.I
)
_FORBIDDEN_RE = re.compile(
    r"^(?:São|É|Ficam|Fica)\s+(?:vedad|proibid)[oa]s?(?P<to>\s+(?:ao|à|aos|às)\s+[^:]{3,80})?(?:,.*)?$", re.I
)
_CASES_RE = re.compile(
    r"^(?P<main>.+?)\s*,?\s*\b(?:quando|nos seguintes casos|nas seguintes hipóteses|nos casos|nas hipóteses|se)$"
)
_REQUIREMENTS_RE = re.compile(
    r"^(?:Somente|Só|Apenas)?\s*(?:poderá|poderão|podem|pode)\s+(?P<vp>.+?)\s+(?P<who>(?:o|a|os|as)\s+[^,]+?|[a-zà-ú]+)\s+que\b.*$",
    re.I,
)
# Tried in order on the lead without its ":"; the first shape that answers (not None) gives the facts.
_LEAD_SHAPES: tuple[tuple[re.Pattern[str], LeadShape], ...] = (
    (_COMPETE_TO_RE, _competence),
    (_TO_WHOM_COMPETES_RE, _competence),
    (_COMPETING_RE, _subject_competence),
    (_LISTED_NOUNS_RE, _listed_nouns),
    (_FORBIDDEN_RE, _forbidden),
    (_CASES_RE, _cases),
    (_REQUIREMENTS_RE, _requirements),
)


# ------------------------------------------------------------------------------------------------- clause shapes


def _composition(m: re.Match[str], clause: Clause, answer: str, ask: Asker) -> list[Fact]:
    """Who composes a body ("O Conselho é composto por:" -> "Como é composto o Conselho?")."""
    composed = agree("composto", clause.feminine, clause.plural)
    subj = clause.subject
    return [ask.two(f"Como é {composed} {subj}", f"quem compõe {subj}", "composicao", answer)]


def _following(m: re.Match[str], clause: Clause, answer: str, ask: Asker) -> list[Fact] | None:
    """What a "seguintes" lead lists ("O estágio obedecerá aos seguintes princípios:" -> "A quais princípios o
    estágio obedece?"); None when a clause stands between the verb and "seguintes"."""
    if len(m.group("verb").split()) > 3 or "," in m.group("verb"):
        return None
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
    subj, verb = clause.subject, f"{clause.present} {m.group('verb')}".strip()
    return [
        ask.two(
            f"{prep} quais {m.group('noun')} {subj} {verb}".strip(),
            f"{prep.lower()} que {m.group('noun')} {subj} {verb}".strip(),
            "enumeracao",
            answer,
        )
    ]


def _comprises(m: re.Match[str], clause: Clause, answer: str, ask: Asker) -> list[Fact]:
    """What a subject comprises ("O programa compreende:" -> "O que compreende o programa?")."""
    subj, present = clause.subject, clause.present
    return [ask.two(f"O que {present} {subj}", f"o que {subj} {present}", "enumeracao", answer)]


def _must_or_may(m: re.Match[str], clause: Clause, answer: str, ask: Asker) -> list[Fact] | None:
    """What a subject must or may do ("O estagiário deverá apresentar:" -> "O que o estagiário deve
    apresentar?"); None when no infinitive follows."""
    subj, present = clause.subject, clause.present
    vp = first_clause(clause.rest, 6) or "fazer"
    where = f" {lower_first(clause.adjunct)}" if clause.adjunct else ""  # "em caso de perda ou dano"
    if vp == "fazer" or is_infinitive(vp.split()[0]):
        return [
            ask.two(
                f"O que {subj} {present} {vp}{where}",
                f"o que {present} {vp} {subj}{where}",
                "enumeracao",
                answer,
            )
        ]
    return None


def _future_verb(clause: Clause, answer: str, ask: Asker) -> list[Fact] | None:
    """A future verb with nothing after it ("Para a inscrição, o candidato apresentará:" -> "O que o candidato
    apresenta para a inscrição?"); None for any other lead."""
    if clause.rest or clause.verb.startswith("não") or not (verb := future_to_present(clause.verb)):
        return None
    subj = clause.subject
    where = f" {clause.adjunct[:1].lower()}{clause.adjunct[1:]}" if clause.adjunct else ""
    kind = "documentos" if re.match(r"(?:apresent|entreg|anex|junt)", verb) else "enumeracao"
    return [ask.two(f"O que {subj} {verb}{where}", f"o que {verb} {subj}{where}", kind, answer)]


_COMPOSED_RE = re.compile(
    r"^(?:a seguinte composição|(?:compost|constituíd|integrad)[oa]s?\s+(?:por|pel[oa]s?|de))$"
)
_FOLLOWING_RE = re.compile(
    r"^(?P<verb>.*?)\s*(?P<prep>\b(?:os|as|aos|às|nos|nas|dos|das|pelos|pelas|em|a)\b)?\s*seguintes\s+(?P<noun>[a-zà-ú]+)$"
)
_COMPRISES_RE = re.compile(
    r"^(?:compreende|compreendem|abrange|abrangem|inclui|incluem|envolve|envolvem|constitui|constituem)$"
)
_MUST_OR_MAY_RE = re.compile(r"^(?:deve|devem|pode|podem)$")
# Tried in order on what follows the lead's verb group ...
_REST_SHAPES: tuple[tuple[re.Pattern[str], ClauseShape], ...] = (
    (_COMPOSED_RE, _composition),
    (_FOLLOWING_RE, _following),
)
# ... then on the last word of its verb group, in the present
_VERB_SHAPES: tuple[tuple[re.Pattern[str], ClauseShape], ...] = (
    (_COMPRISES_RE, _comprises),
    (_MUST_OR_MAY_RE, _must_or_may),
)


def _present_clause(text: str) -> str:
    """'O aluno poderá trancar a matrícula, a pedido' -> 'o aluno pode trancar a matrícula';
    'Não será concedido trancamento' -> 'não é concedido trancamento'."""
    if clause := parse_clause(text):
        rest = first_clause(clause.rest, 12)
        return f"{clause.subject} {clause.present} {rest}" if rest else ""
    m = re.match(
        r"^(?P<neg>Não\s+)?(?P<verb>será|serão|poderá|poderão|deverá|deverão|é|são|terá|terão)\s+(?P<rest>.+)$",
        squash_ws(text),
    )
    if not m or not (rest := first_clause(m.group("rest"), 10)):
        return ""
    return f"{'não ' if m.group('neg') else ''}{future_to_present(m.group('verb')) or m.group('verb')} {rest}"
