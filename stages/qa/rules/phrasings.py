"""Every fact asked in many forms, as students ask: the act named by its number, its title or its topic, the
question direct ("Qual o prazo …, segundo a Resolução nº 31/2015?"), led by the act ("Pela resolução sobre a
revisão de provas, qual o prazo …?"), indirect ("Gostaria de saber qual o prazo …"), or reversed ("Que norma
diz qual o prazo …?"); answered in two wordings that both name the act and carry the same text, naming the
article, § or inciso only where the question names it or asks where the rule is.

A fact is learnt from its varied restatements, not from one (Allen-Zhu & Li, "Physics of Language Models 3.1":
five varied descriptions per person, 96.6% extraction; one, 9.7%), so each fact gets TRAIN_PHRASINGS
phrasings. At most MAX_CITING of them name its article, § or inciso (a student asks by what a rule is about,
not by its number). One more phrasing, from the HELDOUT_FRAMES a training phrasing never uses, has family
"heldout": the dataset stage holds those out as the `paraphrase` eval set.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stages.qa.rules.asking import UNANSWERABLE_KIND, Fact, q
from stages.qa.rules.pt_clause import FUNCTION_WORDS, contract, lower_lead
from stages.records.pairs import HELDOUT_FAMILY
from stages.text.fold import question_key
from stages.text.legis.acts import ActName

TRAIN_PHRASINGS = 10  # training phrasings per fact (fewer where the frames run out)
# A question the corpus does not answer teaches a boundary, not a fact: many such questions in few phrasings
# each (the same share of pairs) show the model more of where the rules end than one question asked ten ways.
REFUSAL_PHRASINGS = 4
MAX_CITING = 2  # of them, at most this many name the fact's article/§/inciso when it can be asked otherwise
CITING_ONLY_PHRASINGS = 4  # phrasings of a fact that can only be asked by its provision's number
# Kinds whose question says too little to be reversed ("Que norma diz o que estabelece … sobre o estudante?")
VAGUE_KINDS = frozenset({"regra", "artigo", "paragrafo", "inciso", "ementa", "vigencia"})
HELDOUT = HELDOUT_FAMILY  # the family the dataset stage routes to the `paraphrase` eval set
# A question that names an article, §, inciso or alínea by its number ("o Art. 8º", "o § 2º", "inciso IV").
CITES_PROVISION = re.compile(
    r"\b(?:Art\.|art\.|[Aa]rtigos?|§|[Pp]arágrafo único|incisos?|alíneas?|n\.º)\s*\S"
)


@dataclass(frozen=True)
class ActRef:
    """One way a question names an act."""

    the: str  # "a Resolução nº 31/2015", "a Resolução que regulamenta a revisão de provas", "a resolução sobre …"
    how: str  # number | title | topic


@dataclass(frozen=True)
class Phrasing:
    question: str
    answer: str
    family: str  # direct | provision | indirect | reverse | heldout


@dataclass(frozen=True)
class Frame:
    """A phrasing template: `bare` wraps a core that does not name its act, `bound` one whose act is filled in
    (None: the frame does not apply)."""

    name: str
    family: str
    bare: str | None
    bound: str | None


# {c}: the core; {i}: the core as an indirect question ("se o aluno pode …", "qual o prazo …"); {the}, {by},
# {in_}: the act ("a Resolução nº 31/2015", "pela …", "na …"); {where}, {of}: the provision and "da Resolução …".
TRAIN_FRAMES = (
    Frame("after", "direct", "{c}, segundo {the}", "{c}"),
    Frame("provision", "provision", "segundo {where} {of}, {c}", None),
    Frame("lead", "direct", "de acordo com {the}, {c}", None),
    Frame("conforme", "direct", "{c}, conforme {the}", None),
    Frame("by", "direct", "{by}, {c}", None),
    Frame("in", "direct", "{in_}, {c}", None),
    Frame("gostaria", "indirect", "gostaria de saber {i}, segundo {the}", "gostaria de saber {i}"),
    Frame("preciso", "indirect", "preciso saber {i}, de acordo com {the}", "preciso saber {i}"),
    Frame("duvida", "indirect", "uma dúvida a respeito {of}: {c}", "uma dúvida: {c}"),
    Frame("reverse", "reverse", "que norma diz {i}", None),
    Frame("reverse_define", "reverse", "qual norma define {i}", None),
)
HELDOUT_FRAMES = (
    Frame("sabe", HELDOUT, "você sabe me dizer {i}, segundo {the}", "você sabe me dizer {i}"),
    Frame("entender", HELDOUT, "queria entender {i}, conforme {the}", "queria entender {i}"),
    Frame("tira", HELDOUT, "me tira uma dúvida: {c}, {by}", "me tira uma dúvida: {c}"),
)
# The act's topic from its ementa: "Dispõe sobre a revisão de provas …" -> "a revisão de provas"
_EMENTA_VERB = re.compile(
    r"^(?:Disp[õo]e\s+sobre|Regulamenta|Estabelece|Institui|Aprova|Fixa|Define|Cria|Altera|Normatiza|Disciplina"
    r"|Trata\s+d[aeo]s?|Organiza|Atualiza)\s+"
    r"(?:(?:as\s+|os\s+)?(?:normas|procedimentos|diretrizes|critérios|regras)(?:\s+gerais)?\s+(?:para|de|sobre)\s+)?"
)
_EMENTA_END = re.compile(
    r"[,;]|\.(?!\d)|\s+e\s+dá\s+outras|\s+no\s+âmbito|\s+nos\s+termos|\s+d[ao]\s+(?:Universidade|Instituto)|\s+e\s+revoga"
)
_PLURAL_VERBS = {
    v: p
    for v, p in (
        ("estabelece", "estabelecem"), ("diz", "dizem"), ("entra", "entram"), ("passa", "passam"),
        ("trata", "tratam"), ("dispõe", "dispõem"), ("revoga", "revogam"), ("prevê", "preveem"),
        ("fixa", "fixam"), ("começa", "começam"), ("define", "definem"), ("determina", "determinam"),
    )
}  # fmt: skip
_INTERROGATIVE = re.compile(
    r"^(?:(?:a|à|de|do|da|em|por|com|para|sob|sobre|até|desde|a partir de)\s+)?"
    r"(?:o que|qual|quais|quem|quando|onde|como|quanto|quantos|quanta|quantas|que|por que)\b"
)
_LEADING_ADJUNCT = re.compile(
    r"^(?P<lead>(?:segundo|caso|se|quando|havendo|na hipótese|no caso|em caso|n[oa]s?|pel[oa]s?|para)\s[^,]+),\s+"
    r"(?P<rest>.+)$"
)


# ------------------------------------------------------------------------------------------------- the act


def stable(text: str) -> int:
    """A hash that is the same in every run (Python's hash() of a str is not)."""
    return zlib.crc32(text.encode("utf-8"))


def _cut(words: list[str], limit: int) -> str:
    """At most `limit` words, not ending on a preposition, article or conjunction."""
    words = words[:limit]
    while words and words[-1].lower() in FUNCTION_WORDS:
        words.pop()
    return " ".join(words)


def ementa_topic(ementa: str, limit: int = 9) -> str:
    """What the act is about, from its ementa ('Regulamenta a revisão de provas no âmbito da Universidade.'
    -> 'a revisão de provas'); '' when the ementa does not open with a known verb."""
    if not (m := _EMENTA_VERB.match(ementa.strip())):
        return ""
    rest = _EMENTA_END.split(ementa.strip()[m.end() :], maxsplit=1)[0]
    words = rest.split()
    return _cut(words, limit) if len(words) >= 2 else ""


def _plain(words: str) -> bool:
    """Words a question can name an act by: no provision, number or stray capital ('Regulamenta O caput e
    Parágrafo Único do artigo 72', 'exercícios Na -- escolares')."""
    return not (
        CITES_PROVISION.search(words)
        or re.search(r"\d|--|\bcaput\b|\bartigos?\b", words)
        or any(w.lower() in FUNCTION_WORDS for w in words.split() if w[:1].isupper())
    )


def the_act(act: ActName) -> str:
    """'a Resolução nº 31/2015', 'o Regimento Geral da UFAM', 'as Normas para o Regime Didático …'."""
    return f"as {act.name}" if act.name.split()[0] == "Normas" else act.the


def act_refs(act: ActName) -> tuple[ActRef, ...]:
    """The act by its number (its name as the text gives it), by its title (kind + ementa) and by its topic
    ('a resolução sobre a revisão de provas'); a named act ('Regimento Geral da UFAM') by its name."""
    refs = [ActRef(the_act(act), "number")]
    kind, numbered, _ = act.name.partition(" nº ")
    topic = ementa_topic(act.ementa)
    if numbered and topic and _plain(topic):
        article = "a" if act.feminine else "o"
        clause = _cut(_EMENTA_END.split(act.ementa.strip(), maxsplit=1)[0].split(), 10)
        lead = (
            kind.split()[0].lower() if len(kind.split()) == 1 or kind.split()[1].isupper() else kind.lower()
        )
        if _plain(clause):
            refs.append(ActRef(f"{article} {kind} que {clause[:1].lower()}{clause[1:]}", "title"))
        refs += [
            ActRef(f"{article} {lead} sobre {topic}", "topic"),
            ActRef(f"as normas sobre {topic}", "topic"),
        ]
    return tuple(refs)


def corpus_refs(acts: Iterable[ActName]) -> dict[str, tuple[ActRef, ...]]:
    """Each act's names that no other act of the corpus shares (its number always kept)."""
    own = {act.name: act_refs(act) for act in acts}
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for name, refs in own.items():
        for ref in refs:
            owners[ref.the.lower()].add(name)
    return {
        name: tuple(r for i, r in enumerate(refs) if i == 0 or len(owners[r.the.lower()]) == 1)
        for name, refs in own.items()
    }


# ------------------------------------------------------------------------------------------------- wording


def indirect(core: str) -> str:
    """The core as an indirect question: 'o aluno pode trancar' -> 'se o aluno pode trancar'; 'caso X, o que
    ocorre' -> 'o que ocorre, caso X'."""
    if m := _LEADING_ADJUNCT.match(core):
        return f"{indirect(m.group('rest'))}, {m.group('lead')}"
    return core if _INTERROGATIVE.match(core) else f"se {core}"


def fill(core: str, ref: ActRef) -> str:
    """A core with its act's slots filled by `ref` (the verb next to the slot agreeing with a plural name:
    "o que estabelecem as Normas …")."""
    if ref.the.startswith(("as ", "os ")):
        core = re.sub(
            r"(\{ato\} )(\w+)", lambda m: m.group(1) + _PLURAL_VERBS.get(m.group(2), m.group(2)), core
        )
        core = re.sub(
            r"(\w+)( \{ato\})", lambda m: _PLURAL_VERBS.get(m.group(1), m.group(1)) + m.group(2), core
        )
    return (
        core.replace("{do_ato}", contract("de", ref.the))
        .replace("{no_ato}", contract("em", ref.the))
        .replace("{ato}", ref.the)
    )


def cite_label(where: str) -> str:
    """'o § 1º do Art. 7º' -> 'Art. 7º, § 1º'; 'o inciso II do Art. 7º' -> 'Art. 7º, inciso II'."""
    bare = re.sub(r"^(?:o|a|os|as)\s+", "", where)
    return ", ".join(reversed(re.split(r"\s+d[oa]\s+", bare)))


def answer_wordings(fact: Fact, cited: bool = False) -> tuple[str, str, str]:
    """The answer led by the act, closed by the act's name, and as a reverse question's answer (the act, then
    where in it: "Que norma diz …?" asks where); a question the corpus does not answer is answered by its
    refusal in every wording. The article, § or inciso is named only where the question names it (`cited`) or
    asks where: a citation the question did not ask for is a number to memorise that tells the student nothing
    new, and a wrong one sends them to the wrong article."""
    act = fact.act
    if act is None or fact.kind == UNANSWERABLE_KIND:
        return fact.answer, fact.answer, fact.answer
    span = fact.answer.strip()
    body = span.rstrip(" .;:,")
    the = the_act(act)
    name = the[:1].upper() + the[1:]
    if fact.kind == "ementa" or not fact.where:
        return f"{name} {lower_lead(body)}.", f"{body} ({act.name}).", f"{name} trata disso: {span}"
    reverse = f"{name} trata disso {contract('em', fact.where)}: {span}"
    if cited:
        return (
            f"Segundo {fact.where} {contract('de', the)}, {lower_lead(body)}.",
            f"{body} ({act.name}, {cite_label(fact.where)}).",
            reverse,
        )
    return f"Segundo {the}, {lower_lead(body)}.", f"{body} ({act.name}).", reverse


def quote_of(answer: str) -> str:
    """The part of a rules answer taken from the text: `answer_wordings` without the act's citation ("Segundo o
    Art. 2º da …, …", "… (Resolução nº 31/2015, Art. 2º).", "A Resolução … trata disso no Art. 2º: …")."""
    if m := re.match(r"^.+? trata disso(?: n[oa]s? [^:]+)?: (.*)$", answer):
        return m.group(1)
    if answer.startswith("Segundo "):
        return answer.split(", ", 1)[-1]
    if m := re.match(r"^(.*) \([^()]+\)\.$", answer):
        return m.group(1)
    return answer


def render(frame: Frame, core: str, ref: ActRef | None, where: str) -> str:
    """One question from a frame, a core and a name of the act ('' when the frame does not apply)."""
    if ref is None or "{" in core:
        if frame.bound is None:
            return ""
        text = fill(core, ref) if ref else core
        return q(frame.bound.format(c=text, i=indirect(text)))
    if frame.bare is None or (frame.name == "provision" and (not where or ref.how != "number")):
        return ""
    if frame.name == "reverse_define" and "defin" in core:
        return ""  # "qual norma define como se define …"
    return q(
        frame.bare.format(
            c=core,
            i=indirect(core),
            the=ref.the,
            by=contract("por", ref.the),
            in_=contract("em", ref.the),
            where=where,
            of=contract("de", ref.the),
        )
    )


# ------------------------------------------------------------------------------------------------- phrasings


def phrasings(
    fact: Fact,
    refs: Sequence[ActRef] | None = None,
    reverse: bool = True,
    wanted: int = TRAIN_PHRASINGS,
) -> list[Phrasing]:
    """The training phrasings of a fact (its first two cores asked first, by the act's number: the first
    directly, the second citing its provision), then one heldout phrasing; each frame, core and name of the act
    used as evenly as the others allow, at most MAX_CITING citing the provision when others can be asked."""
    refs = tuple(refs) if refs is not None else (act_refs(fact.act) if fact.act else ())
    reverse = reverse and fact.reversible and fact.kind not in VAGUE_KINDS
    frames = [f for f in TRAIN_FRAMES if reverse or f.family != "reverse"]
    options = []  # (frame index, core index, ref index, question)
    for fi, frame in enumerate(frames):
        for ci, core in enumerate(fact.cores):
            for ri, ref in enumerate(refs or (None,)):
                if (question := render(frame, core, ref, fact.where)) and (
                    frame.family != "reverse" or not CITES_PROVISION.search(question)
                ):
                    options.append((fi, ci, ri, question))
    free = [o for o in options if not CITES_PROVISION.search(o[3])]
    first = [o for o in options if o[0] == 0 and o[1] == 0 and o[2] == 0]
    second = [
        o
        for o in options
        if o[2] == 0 and o[1] <= 1 and frames[o[0]].name in ("provision", "after") and o not in first[:1]
    ]
    picked: list[tuple[int, int, int, str]] = []
    seen: set[str] = set()
    uses: Counter[tuple[str, int]] = Counter()
    key = {o: question_key(o[3]) for o in options}  # each option's key and tie-break computed once
    cites = {o: bool(CITES_PROVISION.search(o[3])) for o in options}

    def take(option: tuple[int, int, int, str]) -> None:
        picked.append(option)
        seen.add(key[option])
        uses.update([("frame", option[0]), ("core", option[1]), ("ref", option[2])])

    # the second core cites its provision; or the first, when it is the only one; or is asked as it is
    for option in first[:1] + sorted(second, key=lambda o: (frames[o[0]].name != "provision", -o[1]))[:1]:
        take(option)
    salt = stable(fact.cores[0] if fact.cores else fact.answer)
    tie = {o: stable(f"{salt}{o[3]}") for o in options}
    wanted = wanted if free else min(wanted, CITING_ONLY_PHRASINGS)
    while len(picked) < wanted:
        citing = sum(cites[o] for o in picked)
        pool = [o for o in (free if free and citing >= MAX_CITING else options) if key[o] not in seen]
        if not pool:
            break
        take(
            min(
                pool,
                key=lambda o: (uses[("frame", o[0])], uses[("core", o[1])] + uses[("ref", o[2])], tie[o]),
            )
        )
    wordings = {cited: answer_wordings(fact, cited) for cited in (False, True)}
    out = [
        Phrasing(
            option[3],
            wordings[cites[option]][2 if frames[option[0]].family == "reverse" else n % 2],
            frames[option[0]].family,
        )
        for n, option in enumerate(picked)
    ]
    if out and (held := _heldout(fact, refs, salt, seen)):
        cited = bool(CITES_PROVISION.search(held))
        out.append(Phrasing(held, wordings[cited][len(out) % 2], HELDOUT))
    return out


def _heldout(fact: Fact, refs: Sequence[ActRef], salt: int, seen: set[str]) -> str:
    """One phrasing from the heldout frames, by what the provision is about where the fact allows it."""
    frames = HELDOUT_FRAMES[salt % len(HELDOUT_FRAMES) :] + HELDOUT_FRAMES[: salt % len(HELDOUT_FRAMES)]
    ordered_refs = list(refs[1:]) + list(refs[:1]) if refs else [None]
    candidates = [
        render(frame, core, ref, fact.where)
        for frame in frames
        for core in fact.cores
        for ref in ordered_refs
    ]
    candidates = [c for c in candidates if c and question_key(c) not in seen]
    free = [c for c in candidates if not CITES_PROVISION.search(c)]
    return (free or candidates or [""])[0]


def ask_facts(facts: Sequence[Fact], refs: dict[str, tuple[ActRef, ...]]) -> list[list[Phrasing]]:
    """The phrasings of each fact of a corpus. A question two acts answer differently (the same core, another
    answer: contrastive) is never reversed ("Que norma diz …?" has two answers); nor is any reverse question
    that two facts would share."""
    by_core: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for fact in facts:
        if fact.act and fact.cores:
            by_core[question_key(fact.cores[0])].add((fact.act.name, fact.answer))
    contrastive = {key for key, found in by_core.items() if len({name for name, _ in found}) > 1}
    asked = [
        phrasings(
            fact,
            refs.get(fact.act.name, ()) if fact.act else (),
            reverse=bool(fact.cores) and question_key(fact.cores[0]) not in contrastive,
            wanted=REFUSAL_PHRASINGS if fact.kind == UNANSWERABLE_KIND else TRAIN_PHRASINGS,
        )
        for fact in facts
    ]
    reverse_answers: defaultdict[str, set[str]] = defaultdict(set)
    for fact, found in zip(facts, asked, strict=True):
        for p in found:
            if p.family == "reverse":
                reverse_answers[question_key(p.question)].add(fact.answer)
    return [
        [p for p in found if p.family != "reverse" or len(reverse_answers[question_key(p.question)]) == 1]
        for found in asked
    ]


def contrastive_facts(facts: Sequence[Fact]) -> int:
    """Facts whose first core another act answers differently."""
    by_core: defaultdict[str, set[str]] = defaultdict(set)
    for fact in facts:
        if fact.act and fact.cores and fact.kind != UNANSWERABLE_KIND:
            by_core[question_key(fact.cores[0])].add(fact.act.name)
    return sum(
        bool(f.act and f.cores and f.kind != UNANSWERABLE_KIND and len(by_core[question_key(f.cores[0])]) > 1)
        for f in facts
    )
