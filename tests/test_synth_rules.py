"""The offline `rules` backend: questions a student would ask, naming the act found in the text; answers copied
from it; two phrasings per fact; no duplicate; through the whole stage, deterministic."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from stages import synth
from stages.core.files import read_jsonl
from stages.core.params import ParamsError
from stages.core.run import MissingInputError
from stages.model.prompt_format import REFUSAL
from stages.qa.rules.asking import UNANSWERABLE_KIND, Fact
from stages.qa.rules.document import WHERE_KINDS, document_facts
from stages.qa.rules.phrasings import phrasings, quote_of
from stages.qa.rules.unanswerable import OTHER_INSTITUTIONS
from stages.qa.validate import grounding_score
from stages.records.chunks import Chunk
from stages.text.legis.acts import ANNOTATION_RE, act_headings, strip_annotations, with_institution
from tests.synth_fixtures import make_workdir, sample_chunks, set_synth_params, source_docs

QA_FIELDS = [
    "id",
    "question",
    "answer",
    "chunk_id",
    "doc",
    "articles",
    "backend",
    "model",
    "fact_id",
    "kind",
    "family",
]
# The act by its number or title (capitalised) or its topic ("a resolução sobre …", "as normas sobre …")
ACT_NAME = re.compile(
    r"\b(?:Lei|Resolução|Portaria|Decreto|Instrução Normativa|Regimento|Estatuto|Regulamento|Normas)\b",
    re.IGNORECASE,
)
ELSEWHERE = re.compile("|".join(rf"\b{acronym}\b|{full}" for acronym, full in OTHER_INSTITUTIONS))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _spans_of(answer: str, text: str) -> bool:
    """The answer is a span of the text, or a list's lead and one of its items ("Compete ao X: aprovar ...")."""
    answer, text = _squash(answer).rstrip(" .;"), _squash(text)  # the wording closes the quote with "."
    if answer in text:
        return True
    lead, sep, item = answer.partition(": ")
    return bool(sep) and f"{lead}:" in text and item in text[text.index(f"{lead}:") :]


def chunk(text: str, doc: str = "d", index: int = 0, articles: list[str] | None = None) -> Chunk:
    labels = (
        articles if articles is not None else [f"Art. {n}º" for n in re.findall(r"(?m)^Art\. (\d)º", text)]
    )
    return Chunk(f"{doc}-{index}", doc, index, text, len(text.split()), labels, "", 0)


def facts_of(*texts: str, doc: str = "d") -> list[Fact]:
    chunks = [chunk(t, doc, i) for i, t in enumerate(texts)]
    found = document_facts(chunks)
    return [fact for c in chunks for fact in found[c.id].facts]


def questions(facts: list[Fact]) -> dict[str, str]:
    return {p.question: fact.answer for fact in facts for p in phrasings(fact)}


# ------------------------------------------------------------------------------------------- the stage


def test_rules_stage_is_grounded_deterministic_and_asks_what_people_ask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = sample_chunks()
    by_id = {c["id"]: c for c in chunks}
    outputs = []
    for run in ("a", "b"):
        work = make_workdir(tmp_path / run, chunks, backend="rules")
        monkeypatch.chdir(work)
        synth.main()
        outputs.append((work / "data/qa/qa.jsonl").read_bytes())
    assert outputs[0] == outputs[1]

    records = list(read_jsonl(tmp_path / "a/data/qa/qa.jsonl"))
    metrics = json.loads((tmp_path / "a/metrics/synth.json").read_text())
    assert len(records) >= 15 * len(source_docs())
    assert metrics["accepted"] == len(records) and metrics["model"] == synth.RULES_MODEL
    for record in records:
        assert list(record) == QA_FIELDS
        c = by_id[record["chunk_id"]]
        assert record["backend"] == "rules" and record["doc"] == c["doc"] and record["kind"]
        question = record["question"]
        assert question.endswith("?") and record["family"], record
        if record["kind"] == UNANSWERABLE_KIND:
            assert record["answer"] == REFUSAL
            assert ACT_NAME.search(question) or ELSEWHERE.search(question), question
            continue
        assert ACT_NAME.search(record["answer"]), record["answer"]  # every answer names its act
        assert ACT_NAME.search(question) or record["family"] == "reverse", question
        if record["kind"] != "ementa":
            quote = quote_of(record["answer"])
            assert grounding_score(quote, c["text"]) == 1.0
            assert _spans_of(quote[1:], strip_annotations(c["text"])), record["answer"]
    assert len({r["question"] for r in records}) == len(records)
    phrasings = Counter(r["fact_id"] for r in records)
    assert sum(n >= 2 for n in phrasings.values()) / len(phrasings) >= 0.95
    kinds = Counter(r["kind"] for r in records)
    assert len(kinds) >= 10 and max(kinds.values()) / len(records) <= 0.35, kinds
    assert {"prazo", "definicao", "competencia", "quantidade", "vigencia"} <= set(kinds), kinds
    assert metrics["kinds"] == dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    assert metrics["facts"] == len(phrasings)
    rejected = list(read_jsonl(tmp_path / "a/data/qa/rejected.jsonl"))
    assert sum(metrics["rejected"].values()) == len(rejected)
    assert sum(metrics["chunks_without_pairs"].values()) == sum(r["reason"] == "no_facts" for r in rejected)


def test_chunk_without_rules_gives_no_pair_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    preamble = (
        "RESOLUÇÃO Nº 7, DE 2 DE MAIO DE 2024\n\nO REITOR DA UNIVERSIDADE FEDERAL DO VALE VERDE, no uso de suas "
        "atribuições estatutárias,\n\nCONSIDERANDO a necessidade de normatizar o uso dos laboratórios;\n\nRESOLVE:"
    )
    chunks = [
        {
            "id": "x-0000",
            "doc": "x",
            "index": 0,
            "text": preamble,
            "n_tokens": 40,
            "articles": [],
            "title": "",
            "overlap_chars": 0,
        },
        {
            "id": "y-0000",
            "doc": "y",
            "index": 0,
            "text": "Art. 1º O aluno poderá requerer revisão da prova.",
            "n_tokens": 9,
            "articles": ["Art. 1º"],
            "title": "",
            "overlap_chars": 0,
        },
    ]
    work = make_workdir(tmp_path, chunks + [{"id": "", "text": 3}], backend="rules")
    monkeypatch.chdir(work)
    synth.main()
    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert metrics["accepted"] == 0 and metrics["bad_chunks"] == 1
    assert metrics["chunks_without_pairs"] == {
        "no_title": 1,
        "preamble": 1,
    }  # y has an article but no act name
    rejected = list(read_jsonl(work / "data/qa/rejected.jsonl"))
    assert [(r["chunk_id"], r["reason"], r["why"]) for r in rejected] == [
        ("x-0000", "no_facts", "preamble"),
        ("y-0000", "no_facts", "no_title"),
    ]


def test_same_text_under_two_names_gives_each_question_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "PORTARIA Nº 9, DE 3 DE MARÇO DE 2024\n\nArt. 1º O usuário deverá devolver a chave no prazo de 2 (dois) dias."
    chunks = [
        {
            "id": f"{doc}-0",
            "doc": doc,
            "index": 0,
            "text": text,
            "n_tokens": 20,
            "articles": ["Art. 1º"],
            "title": "",
            "overlap_chars": 0,
        }
        for doc in ("copia_a", "copia_b")
    ]
    work = make_workdir(tmp_path, chunks, backend="rules")
    monkeypatch.chdir(work)
    synth.main()
    records = list(read_jsonl(work / "data/qa/qa.jsonl"))
    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert records and {r["doc"] for r in records} == {"copia_a"}
    answerable = [r for r in records if r["kind"] != UNANSWERABLE_KIND]
    assert metrics["rejected"]["duplicate"] == len(answerable) and metrics["chunks_without_pairs"] == {
        "all_duplicate": 1
    }


def test_unreadable_text_layer_gives_no_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LEI_CARTEIRA_ESTUDANTIL's pages 4-11 carry U+FFFD for every accented letter: grounded, but never kept."""
    text = "DECRETO Nº 8.537, DE 5 DE OUTUBRO DE 2015\n\nArt. 1º O estudante ter\ufffd direito \ufffd meia-entrada no prazo de 5 dias."
    chunks = [
        {
            "id": "z-0",
            "doc": "z",
            "index": 0,
            "text": text,
            "n_tokens": 20,
            "articles": ["Art. 1º"],
            "title": "",
            "overlap_chars": 0,
        }
    ]
    work = make_workdir(tmp_path, chunks, backend="rules")
    monkeypatch.chdir(work)
    synth.main()
    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert metrics["accepted"] == 0 and metrics["rejected"]["bad_glyph"] >= 2
    assert metrics["chunks_without_pairs"] == {"all_bad_glyph": 1}


def test_bad_params_and_missing_input_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = make_workdir(tmp_path, [], backend="gpt", concurrency=0, min_grounding=1.5, prompt_style="few")
    monkeypatch.chdir(work)
    with pytest.raises(ParamsError) as error:
        synth.main()
    for name in ("synth.backend", "synth.concurrency", "synth.min_grounding", "synth.prompt_style"):
        assert name in str(error.value)

    set_synth_params(work, backend="rules", concurrency=4, min_grounding=0.5, prompt_style="chat")
    (work / "data/chunks/chunks.jsonl").unlink()
    with pytest.raises(MissingInputError, match="chunks.jsonl not found: run `dvc repro chunk` first"):
        synth.main()


# ------------------------------------------------------------------------------------------- act names


@pytest.mark.parametrize(
    ("first_page", "name"),
    [
        (
            "Presidência da República\n\nCasa Civil\n\nLEI Nº 12.933, DE 26 DE DEZEMBRO DE 2013.\n\nDispõe sobre o benefício.",
            "Lei nº 12.933/2013",
        ),
        (
            "Wiz. Poder Executivo\n\nRESOLUÇÃO Nº 031, DE 29 DE OUTUBRO DE 2015\n\nRegulamenta a entrega.",
            "Resolução nº 031/2015",
        ),
        (
            "Câmara de Ensino de Graduação - CEG\n\nRESOLUÇÃ0 018/2012-CEG/CONSEPE DE 27 ABR DE 2012\n\n1\n\nRESOLUÇÃO Nº 018/2012",
            "Resolução nº 018/2012",
        ),
        (
            "GABINETE DO MINISTRO <!ID689511-0>\n\nPORTARIA No\n- 1.632, DE 25 DE SETEMBRO DE 2006\n\nDá nova redação ao § 2o.",
            "Portaria nº 1.632/2006",
        ),
        (
            "PORTARIA N.º 301, DE 7 DE ABRIL DE 1998\n\n(Diário Oficial de 9 de abril de 1998)",
            "Portaria nº 301/1998",
        ),
        (
            "RESOLUÇÃO CONSUNI Nº 07/2022\n\nCAPÍTULO I – DAS DISPOSIÇÕES GERAIS",
            "Resolução CONSUNI nº 07/2022",
        ),
        (
            "DECRETO-LEI Nº 1.044, DE 21 DE OUTUBRO DE 1969.\n\nVide Lei nº 6.202, de 1975\n\nDispõe sôbre tratamento.",
            "Decreto-Lei nº 1.044/1969",
        ),
        # a number OCR destroyed, a letterhead glued before the title: named by its ementa
        (
            "Pró-Reitoria de Ensino de Graduação/Pró-Reitoria de Pesquisa PORTARIA CONJUNTA Nº DDiizõõa\n\n"
            "Cria o Programa de Mobilidade Estudantil no âmbito da Universidade, estabelece procedimentos.",
            "Portaria Conjunta que cria o Programa de Mobilidade Estudantil",
        ),
    ],
)
def test_act_name_from_real_first_pages(first_page: str, name: str) -> None:
    assert act_headings(first_page)[0][1].name == name


def test_named_act_gets_its_institution_and_running_text_is_no_title() -> None:
    text = (
        "REGIMENTO GERAL\n\nArt. 1º - O presente Regimento disciplina a Universidade Federal do Amazonas (UFAM).\n\n"
        "Art. 2º A UFAM rege-se pelo Estatuto. CONSIDERANDO o disposto na LEI Nº 9.394, de 1996, e nos termos da\n"
        "Resolução nº 003/2015 - CONSAD, que normatizou o atendimento"
    )
    (heading,) = act_headings(text)
    assert with_institution(heading[1], text).name == "Regimento Geral da UFAM"
    assert with_institution(heading[1], text.replace("UFAM", "")).name.endswith(
        "da Universidade Federal do Amazonas"
    )


def test_questions_name_the_act_whose_heading_precedes_them() -> None:
    """A page of the Diário Oficial, or a law followed by the decree that regulates it, holds several acts."""
    page = (
        "LEI Nº 12.933, DE 26 DE DEZEMBRO DE 2013.\n\nArt. 1º É assegurado aos estudantes o acesso a eventos culturais.\n\n"
        "DECRETO Nº 8.537, DE 5 DE OUTUBRO DE 2015\n\nRegulamenta a Lei nº 12.933.\n\n"
        "Art. 1º O benefício será concedido pelos órgãos competentes no prazo de 10 (dez) dias."
    )
    asked = [
        (p.question.lower(), f.answer) for f in facts_of(page) for p in phrasings(f) if p.family != "reverse"
    ]
    about_law = [q for q, a in asked if a.startswith("É assegurado")]
    about_decree = [q for q, a in asked if a.startswith("O benefício")]
    assert about_law and all("lei" in q and "decreto" not in q for q in about_law)
    assert about_decree and all("decreto" in q for q in about_decree)
    assert any("lei nº 12.933/2013" in q for q in about_law)
    assert any("decreto nº 8.537/2015" in q for q in about_decree)


# ------------------------------------------------------------------------------------------- what is asked

REGULATION = """RESOLUÇÃO Nº 31, DE 29 DE OUTUBRO DE 2015

Regulamenta a revisão de provas no âmbito da Universidade.

Art. 1º Compete ao Colegiado de Curso:
I - aprovar o plano de ensino das disciplinas;
II - julgar os recursos dos discentes.

Art. 2º O discente terá o prazo de 3 (três) dias úteis para solicitar a revisão da avaliação.

Art. 3º Os casos omissos serão resolvidos pela Pró-Reitoria de Graduação.

Art. 4º O trancamento poderá ser concedido, desde que o aluno tenha cursado um semestre.

Art. 5º Caso o discente não compareça à revisão, o pedido será arquivado.

Art. 6º É vedado ao professor divulgar as notas sem a revisão.

Art. 7º Para os fins desta Resolução, considera-se:
I - revisão: o novo exame da avaliação pelo professor;
II - recurso: o pedido de nova correção por banca.

Art. 8º O requerimento será instruído com cópia da avaliação e do gabarito. (Redação dada pela Resolução nº 40, de 2016)

Art. 9º Cada discente poderá apresentar no máximo 2 (dois) pedidos por semestre.

Art. 10. Esta Resolução entra em vigor na data de sua publicação.
"""


def test_questions_from_what_the_text_says() -> None:
    asked = questions(facts_of(REGULATION))
    expected = {
        "Do que trata a Resolução nº 31/2015?": "Regulamenta a revisão",
        "O que compete ao Colegiado de Curso, segundo a Resolução nº 31/2015?": "Compete ao Colegiado",
        "A quem compete aprovar o plano de ensino das disciplinas, segundo a Resolução nº 31/2015?": "Compete ao Colegiado de Curso: aprovar",
        "Qual o prazo para o discente solicitar a revisão da avaliação, segundo a Resolução nº 31/2015?": "O discente terá",
        "Quem resolve os casos omissos, segundo a Resolução nº 31/2015?": "Os casos omissos",
        "Em que condições o trancamento pode ser concedido, segundo a Resolução nº 31/2015?": "O trancamento",
        "O que acontece caso o discente não compareça à revisão, segundo a Resolução nº 31/2015?": "Caso o discente",
        "O que se entende por revisão, segundo a Resolução nº 31/2015?": "revisão: o novo exame",
        "Quantos pedidos cada discente pode apresentar, segundo a Resolução nº 31/2015?": "Cada discente",
        "Quando a Resolução nº 31/2015 entra em vigor?": "Esta Resolução entra em vigor",
    }
    for question, answer_start in expected.items():
        assert question in asked, f"missing {question!r}; got {sorted(asked)}"
        assert asked[question].startswith(answer_start), (question, asked[question])
    assert asked[
        "É permitido ao professor divulgar as notas sem a revisão, segundo a Resolução nº 31/2015?"
    ].startswith("É vedado")
    assert (
        asked["Que documentos devem acompanhar o requerimento, segundo a Resolução nº 31/2015?"]
        == (
            "O requerimento será instruído com cópia da avaliação e do gabarito."  # the annotation is not part of it
        )
    )
    assert any(
        q.startswith("Segundo o Art. 2º da Resolução nº 31/2015") for q in asked
    )  # second phrasing cites it
    assert "Que norma diz qual o prazo para o discente solicitar a revisão da avaliação?" in asked


def test_every_fact_has_two_phrasings_and_the_smallest_answer() -> None:
    facts = facts_of(REGULATION)
    for fact in facts:
        asked = [p.question for p in phrasings(fact)]
        assert len(asked) >= 2 and len(set(asked)) == len(asked)
    deadline = next(f for f in facts if f.kind == "prazo")
    assert (
        deadline.answer
        == "O discente terá o prazo de 3 (três) dias úteis para solicitar a revisão da avaliação."
    )
    kinds = Counter(f.kind for f in facts)
    assert sum(kinds[k] for k in WHERE_KINDS) <= 1, (
        kinds
    )  # the text says enough: no "O que estabelece o Art. N?"


def test_answers_carry_no_web_copy_annotation_or_letterhead() -> None:
    letterhead = "Conselho de Ensino, Pesquisa e Extensão - CONSEPE"
    pages = [
        f"{letterhead}\n\nRESOLUÇÃO Nº 18, DE 27 DE ABRIL DE 2012\n\nArt. 1º A oferta será feita pela PROEG. (Regulamento)\n\n"
        f"Art. 2º O professor deverá entregar as notas no prazo de 5 (cinco) dias. {letterhead}",
        f"{letterhead}\n\nArt. 3º A matrícula será feita pelo aluno no prazo de 10 (dez) dias. (Vide Lei nº 9.394, de 1996)",
        f"{letterhead}\n\nArt. 4º O aluno deverá apresentar o histórico escolar no ato da matrícula.",
    ]
    facts = facts_of(*pages)
    assert facts
    for fact in facts:
        assert not ANNOTATION_RE.search(fact.answer) and "CONSEPE" not in fact.answer, fact


def test_where_a_provision_says_nothing_known_it_is_asked_by_where_it_sits() -> None:
    text = "LEI Nº 4.512, DE 12 DE JUNHO DE 2019\n\nArt. 1º Integram o campus as áreas verdes e os lagos.\n"
    asked = questions(facts_of(text))
    assert set(asked.values()) == {"Integram o campus as áreas verdes e os lagos."}
    assert "O que estabelece o Art. 1º da Lei nº 4.512/2019?" in asked
    assert "Segundo a Lei nº 4.512/2019, o que diz o Art. 1º?" in asked
    by_content = [q for q in asked if "campus" in q and "Art." not in q]  # and by what it is about
    every = [p.question for p in phrasings(facts_of(text)[0], wanted=20)]
    assert len(by_content) >= 2 and "O que a Lei nº 4.512/2019 diz sobre o campus?" in every


def test_incisos_continued_from_the_previous_chunk() -> None:
    first = "PORTARIA Nº 5, DE 8 DE JANEIRO DE 2020\n\nArt. 1º São deveres do bolsista:\nI - cumprir a carga horária;"
    second = "II - apresentar relatório semestral;\nIII - participar das reuniões do grupo."
    chunks = [chunk(first, "p", 0), chunk(second, "p", 1, articles=["Art. 1º"])]
    found = document_facts(chunks)
    (fact,) = found["p-1"].facts
    assert fact.kind == "inciso" and fact.answer.startswith("II - apresentar relatório")
    assert (
        phrasings(fact)[0].question == "O que preveem os incisos II a III do Art. 1º da Portaria nº 5/2020?"
    )
