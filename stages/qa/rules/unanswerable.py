"""Questions the corpus does not answer, asked like the ones it does, answered by the refusal sentence.

A model that has only seen answerable questions answers everything. Three kinds of plausible question it must
refuse, each asked in the same phrasing families as answerable facts (stages/qa/rules/phrasings.py), so form
alone does not tell them apart:

  absent topic       a student question another act answers (or a common one: STUDENT_QUESTIONS), asked of an
                     act whose text holds none of its distinctive words: "Qual o prazo para trancar a matrícula,
                     segundo a portaria sobre o empréstimo domiciliar …?";
  other institution  a question this act answers, asked about a university the corpus never names: "Na UFMG,
                     qual o prazo para …?";
  no such article    an article past the act's last one: "O que estabelece o Art. 97 da Resolução nº 12/2024?".

An act whose text layer holds unreadable glyphs vouches for no absence and gets none. Together they make
about UNANSWERABLE_SHARE of all pairs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stages.model.prompt_format import REFUSAL
from stages.qa.rules.asking import ACT, UNANSWERABLE_KIND, Fact
from stages.qa.rules.phrasings import CITES_PROVISION, VAGUE_KINDS, stable
from stages.qa.validate import content_tokens, has_bad_glyph
from stages.records.chunks import Chunk
from stages.text.legis.acts import ActName

UNANSWERABLE_SHARE = 0.15  # of all pairs; kept within 10-20% (a refusal learnt, not a refusal habit)
# Words too common in academic rules to tell one topic from another.
GENERIC_WORDS = frozenset(
    "prazo prazos aluno alunos aluna discente discentes estudante estudantes curso cursos universidade instituicao "
    "norma normas regra regras caso casos qual quais quem quando como pode podem deve devem dias horas ano anos "
    "semestre periodo letivo graduacao segundo conforme acordo forma processo pedido pedidos solicitar requerer "
    "previsto prevista fixado fixada limite valor numero ser estar haver sobre".split()
)
# Questions students ask of any institution's rules, for acts that hold none of their words.
STUDENT_QUESTIONS = (
    "qual o prazo para solicitar o trancamento de matrícula",
    "quantas faltas o aluno pode ter em uma disciplina",
    "qual a nota mínima para aprovação em uma disciplina",
    "quantas vezes o aluno pode reprovar na mesma disciplina",
    "como pedir a segunda chamada de uma prova",
    "quem aprova o calendário acadêmico",
    "qual o valor da bolsa de monitoria",
    "quais documentos são exigidos para a matrícula de calouros",
    "como funciona o aproveitamento de estudos feitos em outra instituição",
    "qual a carga horária máxima de estágio por semana",
    "o aluno pode cursar disciplinas em outro campus",
    "quem pode solicitar a colação de grau em separado",
    "qual o prazo para entregar o trabalho de conclusão de curso",
    "como é feita a transferência entre cursos",
    "quanto tempo o aluno tem para concluir o curso",
    "o estudante tem direito a meia-entrada em eventos culturais",
    "como solicitar o uso do nome social nos registros acadêmicos",
    "qual o prazo para devolver livros à biblioteca",
    "quem pode se candidatar à moradia estudantil",
    "como o aluno pede revisão da nota de uma prova",
    "o aluno pode fazer matrícula em disciplinas de outro curso",
    "qual o prazo para pedir a revalidação de diploma estrangeiro",
    "como funciona o regime de exercícios domiciliares",
    "quais atividades contam como atividades complementares",
)
# Universities a question may name as "another institution" (one the corpus names is never used).
OTHER_INSTITUTIONS = (
    ("UFMG", "Universidade Federal de Minas Gerais"),
    ("USP", "Universidade de São Paulo"),
    ("UFRJ", "Universidade Federal do Rio de Janeiro"),
    ("UnB", "Universidade de Brasília"),
    ("UFPE", "Universidade Federal de Pernambuco"),
    ("UFBA", "Universidade Federal da Bahia"),
    ("UFRGS", "Universidade Federal do Rio Grande do Sul"),
    ("Unicamp", "Universidade Estadual de Campinas"),
    ("UFC", "Universidade Federal do Ceará"),
    ("UFPR", "Universidade Federal do Paraná"),
    ("UFSC", "Universidade Federal de Santa Catarina"),
    ("UFG", "Universidade Federal de Goiás"),
)
# Kinds of fact whose question means nothing at another institution ("a partir de quando a norma vale")
LOCAL_KINDS = VAGUE_KINDS | {"revogacao", UNANSWERABLE_KIND}
_LOCAL_NAME = re.compile(r"\b(?:Universidade|Instituto|Faculdade|Campus|[A-Z]{3,})\b")


@dataclass(frozen=True)
class ActScope:
    """What the corpus holds of one act: where its unanswerable questions go, the words of its text, its last
    article."""

    act: ActName
    anchor: str  # the chunk whose pairs carry them (the first with a fact of the act)
    stems: frozenset[str]  # first five letters of each content word of its documents, accents folded
    last_article: int  # 0 when no article was read


def stems_of(text: str) -> set[str]:
    return {token[:5] for token in content_tokens(text) if not token.isdigit()}


@lru_cache(maxsize=1 << 16)  # a question's stems, asked again for every act it is tried on
def distinctive(core: str) -> frozenset[str]:
    """The stems of a question's words that tell its topic."""
    return frozenset(
        t[:5] for t in content_tokens(core) if not t.isdigit() and t not in GENERIC_WORDS and len(t) > 3
    )


def act_scopes(chunks: Sequence[Chunk], located: Sequence[tuple[str, Fact]]) -> list[ActScope]:
    """Every act the facts name, with the text of the documents it is in (unreadable ones left out)."""
    by_id = {c.id: c for c in chunks}
    docs: defaultdict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        docs[chunk.doc].append(chunk)
    acts: dict[str, ActName] = {}
    anchors: dict[str, str] = {}
    act_docs: defaultdict[str, set[str]] = defaultdict(set)
    for chunk_id, fact in located:
        if fact.act and fact.kind != UNANSWERABLE_KIND:
            acts.setdefault(fact.act.name, fact.act)
            anchors.setdefault(fact.act.name, chunk_id)
            act_docs[fact.act.name].add(by_id[chunk_id].doc)
    scopes = []
    for name, act in sorted(acts.items()):
        texts = [c.text for doc in sorted(act_docs[name]) for c in docs[doc]]
        if any(has_bad_glyph(t) for t in texts):
            continue
        numbers = [  # "Art. 7º", "Artigo 3.º", "Art. 12-A"
            int(m.group())
            for doc in act_docs[name]
            for c in docs[doc]
            for label in c.articles
            if (m := re.search(r"\d+", label))
        ]
        stems = frozenset().union(*(stems_of(t) for t in texts), stems_of(act.ementa))
        scopes.append(ActScope(act, anchors[name], stems, max(numbers, default=0)))
    return scopes


def _bare(fact: Fact) -> list[str]:
    """The cores of a fact a question can take to another act or institution: no act slot, no provision."""
    return [c for c in fact.cores if "{" not in c and not CITES_PROVISION.search(c)]


ABSENT_SCAN = 512  # other acts' facts an act looks at for topics it lacks (every one in a corpus this small)


@dataclass(frozen=True)
class Topic:
    """A fact's question another act may be asked: its bare cores, the act it belongs to, its first core's
    distinctive stems."""

    cores: tuple[str, ...]
    act: str
    words: frozenset[str]


def topics(located: Sequence[tuple[str, Fact]]) -> list[Topic]:
    """Every answerable fact's bare question with at least two distinctive words, one per first core, in a
    fixed pseudo-random order (so an act's scan meets all acts' topics, not its neighbours' first)."""
    out: dict[str, Topic] = {}
    for _, fact in sorted(located, key=lambda cf: stable(cf[0] + cf[1].answer)):
        cores = _bare(fact)
        if fact.act is None or fact.kind == UNANSWERABLE_KIND or not cores or cores[0] in out:
            continue
        if len(words := distinctive(cores[0])) >= 2:
            out[cores[0]] = Topic(tuple(cores), fact.act.name, words)
    return list(out.values())


def absent_topics(scope: ActScope, known: Sequence[Topic]) -> Iterator[tuple[str, ...]]:
    """Other acts' questions whose distinctive words this act's text lacks (at most ABSENT_SCAN looked at,
    from a place of the list the act's name picks: constant work an act however large the corpus), then the
    STUDENT_QUESTIONS it lacks; lazily, as the round-robin asks for them."""
    start = stable(scope.act.name) % len(known) if known else 0
    for i in range(min(ABSENT_SCAN, len(known))):
        topic = known[(start + i) % len(known)]
        if topic.act != scope.act.name and not topic.words & scope.stems:
            yield tuple(c for c in topic.cores if not distinctive(c) & scope.stems)[:2]
    for question in sorted(STUDENT_QUESTIONS, key=lambda c: stable(scope.act.name + c)):
        if not distinctive(question) & scope.stems:
            yield (question,)


def missing_articles(scope: ActScope, count: int = 3) -> list[int]:
    """Articles past the act's last, near it and far from it (a model learns where an act ends from several)."""
    salt = stable(scope.act.name)
    return [scope.last_article + start + salt % span for start, span in ((2, 5), (10, 20), (35, 40))][:count]


def _elsewhere(fact: Fact, institution: tuple[str, str]) -> tuple[str, ...]:
    """A fact's question asked of another university: 'na UFMG, qual o prazo …'."""
    acronym, full = institution
    first, *rest = _bare(fact)
    second = rest[0] if rest else first
    return (f"na {acronym}, {first}", f"{second} na {full}", f"pelas normas da {acronym}, {first}")


def other_institutions(texts: Sequence[str]) -> list[tuple[str, str]]:
    """OTHER_INSTITUTIONS the texts never name, by acronym or in full."""
    names = {n for t in texts for n in re.findall(r"\b[A-Z][A-Za-z]{1,7}\b", t)}
    folded = " ".join(" ".join(t.split()).lower() for t in texts)
    return [(a, full) for a, full in OTHER_INSTITUTIONS if a not in names and full.lower() not in folded]


class Queue:
    """An iterator that says whether it has more (a source of one act's unanswerable questions)."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        self._next: list[Any] = []

    def __bool__(self) -> bool:
        if not self._next:
            self._next = [item for item in [next(self._items, _END)] if item is not _END]
        return bool(self._next)

    def pop(self) -> Any:
        if not self:
            raise IndexError("empty queue")
        return self._next.pop()


_END = object()


def unanswerable_facts(
    scopes: Sequence[ActScope],
    located: Sequence[tuple[str, Fact]],
    institutions: Sequence[tuple[str, str]],
    wanted_pairs: int,
    pairs_of: Callable[[Fact], int],
    corpus: frozenset[str] = frozenset(),
) -> list[tuple[str, Fact]]:
    """Unanswerable facts, with the chunk each is carried by, until their phrasings (`pairs_of`) reach
    `wanted_pairs`: each act in turn gets an absent topic, a question about another institution (one of
    `institutions`), an article it does not have, and again. An absent topic no text of the `corpus` (stems)
    touches may also be asked without the act ("Que norma diz …?"); the others only of their act."""
    own: defaultdict[str, list[tuple[str, Fact]]] = defaultdict(list)
    for chunk_id, fact in located:
        cores = _bare(fact)
        if (
            fact.act
            and fact.kind not in LOCAL_KINDS
            and cores
            and not any(_LOCAL_NAME.search(c) for c in cores)
        ):
            own[fact.act.name].append((chunk_id, fact))
    known = topics(located)
    queues = {
        s.act.name: {
            "absent": Queue(absent_topics(s, known)),
            "elsewhere": Queue(
                iter(
                    sorted(own[s.act.name], key=lambda cf: stable(cf[0] + cf[1].answer))
                    if institutions
                    else ()
                )
            ),
            "article": Queue(iter(missing_articles(s) if s.last_article else ())),
        }
        for s in scopes
    }
    out: list[tuple[str, Fact]] = []
    total = 0
    rounds = 0
    while total < wanted_pairs and any(any(q.values()) for q in queues.values()):
        for turn, scope in enumerate(scopes):
            queue = queues[scope.act.name]
            source = ("absent", "elsewhere", "article")[(rounds + turn) % 3]
            if not queue[source]:
                source = next((k for k in ("absent", "elsewhere", "article") if queue[k]), "")
                if not source:
                    continue
            item = queue[source].pop()
            if source == "absent":
                nowhere = bool(corpus) and not any(distinctive(c) & corpus for c in item)
                fact = Fact(UNANSWERABLE_KIND, item, REFUSAL, scope.act, reversible=nowhere)
                chunk_id = scope.anchor
            elif source == "elsewhere":
                chunk_id, answerable = item
                place = institutions[stable(answerable.answer) % len(institutions)]
                fact = Fact(UNANSWERABLE_KIND, _elsewhere(answerable, place), REFUSAL, reversible=False)
            else:
                article = f"o Art. {item}"
                cores = (f"o que estabelece {article} {ACT.of}", f"{ACT.per}, o que diz {article}")
                fact = Fact(UNANSWERABLE_KIND, cores, REFUSAL, scope.act, article, reversible=False)
                chunk_id = scope.anchor
            out.append((chunk_id, fact))
            total += pairs_of(fact)
            if total >= wanted_pairs:
                break
        rounds += 1
    return out
