"""The rules backend asks as students ask: every fact in many phrasings and two answer wordings, by what it is
about rather than by article number, in well-formed Portuguese; a held-out family of phrasings; questions
the corpus does not answer, answered by the refusal; questions two acts answer differently, bound to the act."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from stages import synth
from stages.core.files import read_jsonl
from stages.model.prompt_format import REFUSAL
from stages.qa.rules.asking import UNANSWERABLE_KIND
from stages.qa.rules.phrasings import CITES_PROVISION, HELDOUT, HELDOUT_FRAMES, quote_of
from stages.qa.rules.unanswerable import OTHER_INSTITUTIONS, distinctive, stems_of
from stages.qa.validate import malformed_question
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from tests.synth_fixtures import make_workdir, sample_chunks

INTERNSHIP = """RESOLUÇÃO Nº 23, DE 14 DE AGOSTO DE 2017

Dispõe sobre o estágio curricular supervisionado dos cursos de graduação.

O CONSELHO DE ENSINO E PESQUISA, no uso de suas atribuições,

RESOLVE:

Art. 1º Estágio curricular é o ato educativo supervisionado desenvolvido no ambiente de trabalho.

Art. 2º Compete à Coordenação de Estágio:
I - Acompanhar as atividades de estágio dos discentes;
II - aprovar os planos de atividades dos estagiários.

Art. 3º O discente terá o prazo de 10 (dez) dias úteis para entregar o relatório final de estágio.
---
Art. 4º A jornada de estágio não poderá exceder 30 (trinta) horas semanais.

Art. 5º É vedado ao estagiário assinar documentos em nome da empresa.

Art. 6º O seguro contra acidentes pessoais será contratado pela parte concedente.

Art. 7º Caso o discente não entregue o relatório, o estágio será considerado incompleto.

Art. 8º Esta Resolução entra em vigor na data de sua publicação.
"""
# Two acts that answer the same question differently: 3 and 5 working days.
REVIEW_UNDERGRADUATE = """RESOLUÇÃO Nº 31, DE 2 DE MARÇO DE 2019

Regulamenta a revisão de provas nos cursos de graduação.

Art. 1º O discente terá o prazo de 3 (três) dias úteis para solicitar a revisão da avaliação.

Art. 2º Compete ao Colegiado de Curso julgar os recursos dos discentes.

Art. 3º Esta Resolução entra em vigor na data de sua publicação.
"""
REVIEW_GRADUATE = """RESOLUÇÃO Nº 44, DE 5 DE MAIO DE 2021

Regulamenta a revisão de provas nos cursos de pós-graduação.

Art. 1º O discente terá o prazo de 5 (cinco) dias úteis para solicitar a revisão da avaliação.

Art. 2º Esta Resolução entra em vigor na data de sua publicação.
"""
ACTS = {"estagio": INTERNSHIP, "revisao_graduacao": REVIEW_UNDERGRADUATE, "revisao_pos": REVIEW_GRADUATE}
ACT_NUMBERS = {"estagio": "23/2017", "revisao_graduacao": "31/2019", "revisao_pos": "44/2021"}


def hand_chunks() -> list[Chunk]:
    out = []
    for doc, text in ACTS.items():
        for index, part in enumerate(text.split("---\n")):
            labels = [f"Art. {n}º" for n in re.findall(r"(?m)^Art\. (\d)º", part)]
            out.append(Chunk(f"{doc}-{index}", doc, index, part, len(part.split()), labels, "", 0))
    return out


def facts_of(chunks: list[Chunk]) -> dict[str, list[synth.Candidate]]:
    """The rules backend's candidates grouped by fact."""
    grouped: defaultdict[str, list[synth.Candidate]] = defaultdict(list)
    for found in synth.rules_results(chunks).values():
        for candidate in found["candidates"]:
            grouped[candidate.fact_id].append(candidate)
    return dict(grouped)


@pytest.fixture(scope="module")
def hand() -> dict[str, list[synth.Candidate]]:
    return facts_of(hand_chunks())


@pytest.fixture(scope="module")
def sample() -> dict[str, list[synth.Candidate]]:
    return facts_of([from_dict(Chunk, c) for c in sample_chunks()])


def answerable(facts: dict[str, list[synth.Candidate]]) -> dict[str, list[synth.Candidate]]:
    return {f: cs for f, cs in facts.items() if cs[0].kind != UNANSWERABLE_KIND}


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,/]\d+)*", text))


# ------------------------------------------------------------------------------------------- many phrasings


@pytest.mark.parametrize("corpus", ["hand", "sample"])
def test_every_fact_is_asked_in_eight_phrasings_and_answered_in_two_wordings(
    corpus: str, request: pytest.FixtureRequest
) -> None:
    facts = answerable(request.getfixturevalue(corpus))
    assert facts
    many = [f for f, cs in facts.items() if len(cs) >= 8]
    assert len(many) / len(facts) >= (1.0 if corpus == "hand" else 0.9), Counter(map(len, facts.values()))
    for candidates in facts.values():
        assert len({c.question for c in candidates}) == len(candidates)
        answers = {c.answer for c in candidates}
        assert len(answers) >= 2, answers
        # every wording carries the same numbers, dates and values, and names the act
        quoted = numbers(candidates[0].quoted or "")
        for answer in answers:
            assert quoted <= numbers(answer), (quoted, answer)
            assert re.search(r"\b(?:Resolução|Portaria|Instrução Normativa|Regimento|Lei)\b", answer), answer


def test_the_act_is_named_by_number_title_and_topic_and_asked_directly_indirectly_and_in_reverse(
    hand: dict[str, list[synth.Candidate]],
) -> None:
    (deadline,) = [
        cs for cs in answerable(hand).values() if cs[0].quoted.startswith("O discente terá o prazo de 10")
    ]
    asked = [c.question for c in deadline]
    assert (
        "Qual o prazo para o discente entregar o relatório final de estágio, segundo a Resolução nº 23/2017?"
        in asked
    )
    assert any("Resolução nº 23/2017" in q for q in asked)  # by number
    assert any("Resolução que dispõe sobre o estágio curricular" in q for q in asked)  # by title
    assert any("resolução sobre o estágio curricular" in q or "normas sobre o estágio" in q for q in asked)
    assert any(q.startswith(("Gostaria de saber", "Preciso saber")) for q in asked)  # indirect
    assert any(q.startswith(("Que norma diz", "Qual norma define")) for q in asked)  # the reverse direction
    assert len({q.split()[0] for q in asked}) >= 5  # the word order varies


# ------------------------------------------------------------------------------------------- by content


@pytest.mark.parametrize("corpus", ["hand", "sample"])
def test_questions_are_asked_by_content_not_by_article_number(
    corpus: str, request: pytest.FixtureRequest
) -> None:
    facts = request.getfixturevalue(corpus)
    questions = [c.question for cs in facts.values() for c in cs]
    citing = sum(bool(CITES_PROVISION.search(q)) for q in questions)
    assert citing / len(questions) <= 0.25, citing / len(questions)
    uncited = {
        f: sum(not CITES_PROVISION.search(c.question) for c in cs) for f, cs in answerable(facts).items()
    }
    share = sum(n >= 2 for n in uncited.values()) / len(uncited)
    assert share >= (1.0 if corpus == "hand" else 0.95), share


@pytest.mark.parametrize("corpus", ["hand", "sample"])
def test_every_question_is_a_well_formed_portuguese_sentence(
    corpus: str, request: pytest.FixtureRequest
) -> None:
    facts = request.getfixturevalue(corpus)
    for candidates in facts.values():
        for c in candidates:
            assert c.question.endswith("?") and malformed_question(c.question) is None, c.question


def test_a_clause_taken_from_the_text_loses_its_capital(hand: dict[str, list[synth.Candidate]]) -> None:
    """ "I - Acompanhar as atividades ..." is asked "A quem compete acompanhar as atividades ...?"."""
    asked = {c.question for cs in hand.values() for c in cs}
    assert (
        "A quem compete acompanhar as atividades de estágio dos discentes, segundo a Resolução nº 23/2017?"
        in asked
    )
    assert not any("Acompanhar" in q for q in asked)


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("A quem compete Acompanhar, segundo a Resolução nº 064/2011?", "malformed_capital"),
        ("Segundo a Resolução nº 31/2015, O aluno pode trancar a matrícula?", "malformed_capital"),
        ("Qual o prazo para a entrega do relatório para a?", "malformed_cut"),
        (
            "Quais diretrizes o currículo observará o disposto na Seção I e, segundo a Lei nº 9.394/1996?",
            "malformed_cut",
        ),
        ("Qual o prazo (em dias úteis para a revisão?", "malformed_brackets"),
        ("O que diz a Lei de de Diretrizes?", "malformed_repeat"),
        ("Quem preside o Conselho Superior, segundo o Estatuto?", None),
        ("Que deveres tem o núcleo na Universidade Federal do Ceará?", None),
        ("Qual o papel da Secretaria de Esporte e Lazer, segundo a Portaria nº 1/2020?", None),
        ("O que compete à Pró-Reitoria de Graduação, segundo a Resolução CONSEPE nº 2/2017?", None),
    ],
)
def test_malformed_questions_are_told_by_reason(question: str, reason: str | None) -> None:
    assert malformed_question(question) == reason


def test_malformed_questions_are_rejected_and_counted_by_reason() -> None:
    chunk = hand_chunks()[0]
    answer = "Compete à Coordenação de Estágio: Acompanhar as atividades de estágio dos discentes;"
    good = "A quem compete acompanhar as atividades de estágio, segundo a Resolução nº 23/2017?"
    bad = ("A quem compete Acompanhar, segundo a Resolução nº 23/2017?", "Quem acompanha as atividades de?")
    candidates = [synth.Candidate(q, answer, "f", "competencia", "direct", answer) for q in (good, *bad)]
    stats: Counter = Counter()
    params = synth.SynthParams()
    accepted, rejected = synth.assemble([chunk], {chunk.id: {"candidates": candidates}}, params, "m", stats)
    assert [p.question for p in accepted] == [good]
    assert [r["reason"] for r in rejected] == ["malformed_capital", "malformed_cut"]
    metrics = synth.pair_metrics(accepted, stats["rejected"])
    assert metrics["malformed_rejected"] == {"malformed_capital": 1, "malformed_cut": 1}


# ------------------------------------------------------------------------------------------- held out


@pytest.mark.parametrize("corpus", ["hand", "sample"])
def test_every_fact_has_a_heldout_phrasing_from_frames_training_never_uses(
    corpus: str, request: pytest.FixtureRequest
) -> None:
    facts = request.getfixturevalue(corpus)
    leads = tuple(
        re.sub(r"\{.*", "", frame.bound or "").strip().capitalize() for frame in HELDOUT_FRAMES
    )  # "Você sabe me dizer", "Queria entender", "Me tira uma dúvida:"
    for candidates in facts.values():
        if len(candidates) >= 2:
            assert any(c.family == HELDOUT for c in candidates), [c.question for c in candidates]
        for c in candidates:
            assert c.question.startswith(leads) == (c.family == HELDOUT), c
    families = Counter(c.family for cs in facts.values() for c in cs)
    assert {"direct", "indirect", "provision", HELDOUT} <= set(families), families


# ------------------------------------------------------------------------------------------- unanswerable


@pytest.mark.parametrize("corpus", ["hand", "sample"])
def test_unanswerable_questions_are_a_tenth_to_a_fifth_and_answered_by_the_refusal(
    corpus: str, request: pytest.FixtureRequest
) -> None:
    facts = request.getfixturevalue(corpus)
    pairs = [c for cs in facts.values() for c in cs]
    refused = [c for c in pairs if c.kind == UNANSWERABLE_KIND]
    assert 0.10 <= len(refused) / len(pairs) <= 0.20, len(refused) / len(pairs)
    assert all(c.answer == REFUSAL and c.quoted == "" for c in refused)
    assert all(c.answer != REFUSAL for c in pairs if c.kind != UNANSWERABLE_KIND)
    by_fact = Counter(c.fact_id for c in refused)
    assert min(by_fact.values()) >= 2  # each unanswerable question in several phrasings, one fact id
    # the same families as answerable questions: form does not give them away
    assert {c.family for c in refused} >= {"direct", "indirect", HELDOUT}
    assert not {c.question for c in refused} & {c.question for c in pairs if c.kind != UNANSWERABLE_KIND}


def test_unanswerable_questions_are_plausible_and_truly_unanswered() -> None:
    chunks = hand_chunks()
    refused = [c for cs in facts_of(chunks).values() for c in cs if c.kind == UNANSWERABLE_KIND]
    questions = [c.question for c in refused]
    elsewhere = [q for q in questions if any(a in q or full in q for a, full in OTHER_INSTITUTIONS)]
    assert elsewhere, "a question about another institution"
    last = {  # each act's last article
        number: max(int(re.search(r"\d+", a).group()) for c in chunks if c.doc == doc for a in c.articles)
        for doc, number in ACT_NUMBERS.items()
    }
    articles = [
        (int(n), number) for q in questions for number in last if f"nº {number}" in q
        for n in re.findall(r"Art\. (\d+)", q)
    ]  # fmt: skip
    assert articles, "an article past an act's last one"
    assert all(n > last[number] for n, number in articles), (articles, last)
    texts = {doc: " ".join(c.text for c in chunks if c.doc == doc) for doc in ACTS}
    for c in refused:
        for doc, number in ACT_NUMBERS.items():
            if f"nº {number}" in c.question and not re.search(r"Art\. \d+", c.question):
                # a topic near the act's but absent from it: none of its distinctive words in the act
                core = re.sub(r"(?i)segundo|de acordo com|conforme|resolução|nº|\d+/\d+", " ", c.question)
                assert not distinctive(core) & stems_of(texts[doc]) - stems_of("gostaria saber preciso"), (
                    c.question
                )


# ------------------------------------------------------------------------------------------- contrastive


def test_two_acts_that_answer_differently_are_each_asked_by_name(
    hand: dict[str, list[synth.Candidate]],
) -> None:
    deadlines = {
        cs[0].quoted: cs
        for cs in answerable(hand).values()
        if cs[0].quoted.startswith("O discente terá o prazo de") and "revisão" in cs[0].quoted
    }
    assert len(deadlines) == 2  # 3 days in Resolução nº 31/2019, 5 in nº 44/2021
    for quoted, candidates in deadlines.items():
        own, other = ("31/2019", "44/2021") if "3 (três)" in quoted else ("44/2021", "31/2019")
        for c in candidates:
            assert c.family != "reverse" and other not in c.question and other not in c.answer, c
            assert own in c.answer
        assert any(own in c.question for c in candidates)
        assert all(re.search(r"(?i)resolução|normas", c.question) for c in candidates)
    first, second = deadlines.values()
    assert not {c.question for c in first} & {c.question for c in second}


# ------------------------------------------------------------------------------------------- the stage


def test_stage_metrics_report_what_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = make_workdir(tmp_path, sample_chunks(), backend="rules")
    monkeypatch.chdir(work)
    synth.main()
    records = list(read_jsonl(work / "data/qa/qa.jsonl"))
    metrics = json.loads((work / "metrics/synth.json").read_text())
    citing = sum(bool(CITES_PROVISION.search(r["question"])) for r in records) / len(records)
    assert metrics["questions_citing_provision"] == round(citing, 4) <= 0.25
    assert metrics["phrasings_per_fact"]["median"] >= 8 and metrics["phrasings_per_fact"]["min"] >= 2
    assert metrics["facts_with_2_uncited_questions"] >= 0.95
    assert 0.10 <= metrics["unanswerable_share"] <= 0.20
    heldout = [r for r in records if r["family"] == HELDOUT]
    assert metrics["heldout_phrasings"] == len(heldout) > 0 and metrics["facts_with_heldout"] == 1.0
    assert metrics["malformed_rejected"] == {
        k: v for k, v in metrics["rejected"].items() if k.startswith("malformed_")
    }


@pytest.mark.parametrize("corpus", ["hand", "sample"])
def test_an_answer_names_the_article_only_where_the_question_names_it_or_asks_where(
    corpus: str, request: pytest.FixtureRequest
) -> None:
    pairs = [c for cs in answerable(request.getfixturevalue(corpus)).values() for c in cs]
    cited = uncited = 0
    for c in pairs:
        citation = c.answer.replace(quote_of(c.answer), " ")  # what the answer adds to the text it quotes
        names_provision = bool(CITES_PROVISION.search(citation))
        if CITES_PROVISION.search(c.question):
            cited += 1
            assert names_provision, c
        elif c.family != "reverse":
            uncited += 1
            assert not names_provision, c
    assert cited and uncited > 4 * cited


def test_an_act_looks_at_a_bounded_window_of_other_acts_questions() -> None:
    """Absent topics cost the same for an act in a corpus of a million questions as in one of a thousand."""
    from stages.qa.rules.unanswerable import ABSENT_SCAN, ActScope, Topic, absent_topics
    from stages.text.legis.acts import ActName

    class Counted(list):
        reads = 0

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            Counted.reads += 1
            return super().__getitem__(i)

    known = Counted(
        Topic(
            (f"qual o prazo do tema{n} especial{n}",),
            f"Resolução nº {n}/2020",
            frozenset({f"tema{n}"[:5], f"esp{n}"}),
        )
        for n in range(20 * ABSENT_SCAN)
    )
    act = ActName("Resolução nº 1/2024", True)
    scope = ActScope(
        act, "c0", frozenset({"tema1"}), 10
    )  # "tema1…" stems: the topics tema1, tema10… are its own
    found = list(absent_topics(scope, known))
    assert Counted.reads == ABSENT_SCAN
    assert ABSENT_SCAN // 2 < len(found) <= ABSENT_SCAN + 24  # then STUDENT_QUESTIONS
    assert all("tema1" not in core[:5] for cores in found for core in cores)


FEDERAL_DECREE = """DECRETO-LEI Nº 1.044, DE 21 DE OUTUBRO DE 1969

Dispõe sôbre tratamento excepcional para os alunos portadores das afecções que indica.

Art. 1º São considerados merecedores de tratamento excepcional os alunos portadores de afecções congênitas.

Art. 2º Êste Decreto-lei entrará em vigor na data de sua publicação, revogadas as disposições em contrário.

Brasília, 21 de outubro de 1969; 148º da Independência e 81º da República.

AUGUSTO HAMANN RADEMAKER GRÜNEWALD
"""
COUNCIL_RESOLUTION = """RESOLUÇÃO Nº 026/2007

Proíbe a inclusão em disciplinas de alunos não matriculados.

Art. 1º É proibida a inclusão em disciplinas de alunos que não estejam oficialmente matriculados.

Artigo 2º - Esta Resolução entra em vigor nesta data

Plenário Moysés Abraham Cohen/UFAM, em Manaus, 1º de Agosto de 2007.

Bruce Osborne
Presidente
"""


def test_the_signature_block_is_no_fact_and_the_last_article_keeps_its_own() -> None:
    """A federal act's "Brasília, <date>; 148º da Independência …" and a council's "Plenário …, em Manaus, 1º de
    Agosto de 2007." lines end the last article: no question about "a Independência", no answer carrying the
    date line or the signers, and the article's own rule (it takes effect on publication) is still asked."""
    chunks = [
        Chunk(f"{doc}-0", doc, 0, text, len(text.split()), ["Art. 1º", "Art. 2º"], "", 0)
        for doc, text in (("decreto", FEDERAL_DECREE), ("resolucao", COUNCIL_RESOLUTION))
    ]
    candidates = [c for cs in answerable(facts_of(chunks)).values() for c in cs]
    written = " ".join(f"{c.question} {c.answer}" for c in candidates)
    for signature in ("Independência", "República", "Plenário", "Agosto de 2007", "Osborne", "GRÜNEWALD"):
        assert signature not in written, signature
    in_force = [c.answer for c in candidates if "vigor" in c.answer]
    assert any("publicação" in a for a in in_force) and any("nesta data" in a for a in in_force)
