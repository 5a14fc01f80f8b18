"""The answer metrics on hand-written answers: key-fact precision, act citations and wrong acts, refusals, and how
evaluate scores one answer and summarises a set (intervals, paired deltas)."""

from __future__ import annotations

import pytest
from conftest import make_chunk_records, sample_texts

from stages.model.prompt_format import REFUSAL, SYSTEM_PROMPT
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from stages.records.pairs import EVAL_SETS, SplitPair, by_eval_set
from stages.scoring.citations import (
    Citation,
    chunk_act_name,
    citations,
    document_acts,
    source_citations,
    wrong_act,
)
from stages.scoring.metrics import key_fact_precision
from stages.scoring.refusal import is_refusal

REFERENCE = "O prazo é de 30 (trinta) dias, com multa de R$ 2,50 por dia de atraso."


def _chunks() -> list[Chunk]:
    return [from_dict(Chunk, c) for c in make_chunk_records(sample_texts())]


def _pair(eval_set: str, question: str, answer: str, chunk: Chunk | None = None) -> SplitPair:
    return SplitPair(
        id=f"{eval_set}-1",
        question=question,
        answer=answer,
        chunk_id=chunk.id if chunk else "",
        doc=chunk.doc if chunk else "",
        articles=[],
        backend="test",
        model="",
        eval_set=eval_set,
    )


def test_key_fact_precision_counts_made_up_facts_as_wrong() -> None:
    assert key_fact_precision("São 30 dias e multa de R$ 2,50.", REFERENCE) == 1.0
    assert key_fact_precision("São 15 dias e multa de R$ 2,50.", REFERENCE) == 0.5  # a wrong deadline
    assert key_fact_precision("São 30 dias, 15 dias úteis e R$ 9,00.", REFERENCE) == pytest.approx(1 / 3)
    # no key fact stated (a refusal, an answer in words): not defined, left out of the mean
    assert key_fact_precision("Há prazo e multa.", REFERENCE) is None
    assert key_fact_precision(REFUSAL, REFERENCE) is None
    # facts the question gives are neither right nor wrong; an act's number is not a fact of the answer
    assert key_fact_precision("O Art. 5º fixa 30 dias.", REFERENCE, "O que diz o Art. 5º?") == 1.0
    assert key_fact_precision("Segundo a Resolução nº 12/2024, são 30 dias.", REFERENCE) == 1.0
    # on an unanswerable question any stated fact is made up
    assert key_fact_precision("O prazo é de 10 dias.", REFUSAL) == 0.0


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("Segundo a Resolução nº 023/2017, o prazo", [Citation("resolucao", "23", "2017")]),
        ("RESOLUÇÃO CONSEPE Nº 30, DE 29 DE OUTUBRO DE 2015", [Citation("resolucao", "30", "2015")]),
        ("conforme a Portaria 05/2020", [Citation("portaria", "5", "2020")]),
        ("a Lei nº 11.788, de 25 de setembro de 2008", [Citation("lei", "11788", "2008")]),
        ("a Instrução Normativa nº 3/2024", [Citation("instrucao normativa", "3", "2024")]),
        ("o Regimento Geral da UFAM", [Citation("regimento", "geral")]),
        ("A Resolução prevê 30 dias", []),  # a number after the kind is not its number
        ("o regulamento do estágio", []),  # lower case: a common noun, no act
    ],
)
def test_citations(text: str, cited: list[Citation]) -> None:
    assert citations(text) == cited


def test_another_acts_name_counts_as_a_wrong_act() -> None:
    own = [Citation("resolucao", "23", "2017")]
    assert wrong_act("Segundo a Resolução nº 23/2017, são 30 dias.", own) == 0.0
    assert wrong_act("Segundo a Resolução nº 23, são 30 dias.", own) == 0.0  # the year left out
    assert wrong_act("Segundo a Resolução nº 24/2017, são 30 dias.", own) == 1.0
    assert wrong_act("Segundo a Portaria nº 23/2017, são 30 dias.", own) == 1.0
    assert wrong_act("Conforme o Regimento Geral, são 30 dias.", own) == 1.0
    assert wrong_act("São 30 dias.", own) == 0.0  # names no act: nothing wrong
    assert wrong_act("Segundo a Portaria nº 5/2020.", []) is None  # the pair's act is unknown


def test_the_pairs_act_comes_from_its_document() -> None:
    chunks = _chunks()
    article = next(c for c in chunks if c.doc == "resolucao_avaliacao" and c.index == 3)
    acts = document_acts(chunks)
    assert chunk_act_name(article, acts) == "Resolução nº 12/2024"  # the heading "RESOLUÇÃO Nº 12, DE 15 ..."
    allowed = source_citations(chunks, acts)[article.id]
    assert wrong_act("A Resolução nº 12/2024 fixa a média.", allowed) == 0.0
    assert wrong_act("A Portaria nº 245/2024 fixa a média.", allowed) == 1.0  # the library's act


@pytest.mark.parametrize(
    "answer",
    [
        REFUSAL,
        "As normas não tratam desse assunto.",
        "Não há informação sobre isso nas normas disponíveis.",
        "Não encontrei essa informação.",
        "Essa informação não consta nas normas.",
        "O trecho acima não menciona o horário do restaurante.",
        "NÃO FOI POSSÍVEL ENCONTRAR a resposta.",
        "A resolução nada diz sobre isso.",
        "Não sei.",
    ],
)
def test_refusal_phrasings_are_detected(answer: str) -> None:
    assert is_refusal(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Não há limite para o número de trancamentos.",
        "O nome do estudante não consta da lista de aprovados até o recurso.",
        "O prazo é de 30 (trinta) dias.",
        "É vedado o empréstimo de obras de referência.",
        "",
    ],
)
def test_answers_are_not_refusals(answer: str) -> None:
    assert not is_refusal(answer)


def test_system_prompt_is_brazilian_and_holds_the_refusal() -> None:
    assert "legislação brasileira" in SYSTEM_PROMPT and REFUSAL in SYSTEM_PROMPT
    assert "'" not in SYSTEM_PROMPT  # it is quoted inside the exported GGUF's Jinja chat template


def test_answer_scores_refusals_by_set_and_wrong_acts() -> None:
    from stages.evaluate import answer_scores, pair_acts

    chunks = _chunks()
    article = next(c for c in chunks if c.doc == "resolucao_avaliacao" and c.index == 3)
    question = "Qual a nota mínima para aprovação?"
    answerable = _pair("seen", question, "A média mínima é 6,0 (seis).", article)
    unanswerable = _pair("unanswerable", "Qual o horário do restaurante aos domingos?", REFUSAL)
    acts = pair_acts([answerable, unanswerable], chunks, document_acts(chunks))

    refused = answer_scores(answerable, "As normas não tratam dessa questão.", acts[0])
    assert (
        refused["false_refusal"] == 1.0 and "abstention" not in refused
    )  # a refusal on an answerable question
    assert answer_scores(answerable, "A média é 6,0.", acts[0])["false_refusal"] == 0.0
    abstained = answer_scores(unanswerable, "Não encontrei essa informação nas normas.", acts[1])
    assert abstained["abstention"] == 1.0 and "false_refusal" not in abstained
    assert answer_scores(unanswerable, "Das 8h às 14h.", acts[1])["abstention"] == 0.0

    wrong = answer_scores(answerable, "Segundo a Portaria nº 245/2024, a média é 6,0.", acts[0])
    right = answer_scores(answerable, "Segundo a Resolução nº 12/2024, a média é 6,0.", acts[0])
    assert (wrong["wrong_act"], wrong["names_act"]) == (1.0, 1.0)
    assert (right["wrong_act"], right["names_act"]) == (0.0, 1.0)
    assert answer_scores(answerable, "A média é 6,0 e o prazo 40 dias.", acts[0])["key_fact_precision"] == 0.5
    assert acts[1] == [] and abstained["wrong_act"] is None  # no chunk, no act named: nothing to judge


def test_set_metrics_intervals_and_paired_deltas() -> None:
    from stages.scoring.report import plot_rows, set_metrics

    def row(f1: float, precision: float | None, refusal: float, wrong: float | None) -> dict:
        return {
            "f1": f1,
            "rouge_l": f1,
            "exact_match": 0.0,
            "key_fact_recall": None,
            "key_fact_precision": precision,
            "wrong_act": wrong,
            "names_act": 0.0,
            "abstention": refusal,
            "loss_sum": 2.0,
            "loss_tokens": 2,
        }

    scores = {
        "base": [row(0.1, 0.0, 0.0, 1.0), row(0.2, None, 0.0, 0.0), row(0.1, 0.5, 0.0, None)],
        "open_book": [row(0.3, 1.0, 1.0, 0.0), row(0.2, 1.0, 0.0, 0.0), row(0.4, None, 1.0, 0.0)],
        "adapter": [row(0.5, 1.0, 1.0, 0.0), row(0.6, 1.0, 1.0, 0.0), row(0.4, 1.0, 1.0, 0.0)],
        "adapter_retrieval": [row(0.5, 1.0, 1.0, 0.0), row(0.6, 0.5, 1.0, 0.0), row(0.4, 1.0, 1.0, 0.0)],
    }
    entry = set_metrics([], scores, [True, False, True])
    base = entry["base"]
    assert (
        base["key_fact_precision"] == 0.25 and base["key_fact_precision_pairs"] == 2
    )  # answers stating facts
    assert base["wrong_act"] == 0.5 and base["wrong_act_pairs"] == 2
    assert entry["adapter"]["abstention"] == 1.0 and "false_refusal" not in entry["adapter"]
    for name in ("adapter_vs_base", "adapter_vs_open_book", "adapter_retrieval_vs_open_book"):
        delta = entry[name]
        for metric in ("f1", "key_fact_precision", "wrong_act", "abstention", "answer_loss"):
            assert delta[f"{metric}_low"] <= delta[metric] <= delta[f"{metric}_high"], (name, metric)
    assert entry["adapter_vs_base"]["abstention"] == 1.0
    assert entry["adapter_retrieval_vs_open_book"]["abstention"] == pytest.approx(1 / 3, abs=1e-4)
    # precision's delta: only the pairs where both systems stated a fact (pairs 1 and 3 for adapter vs base)
    assert entry["adapter_vs_base"]["key_fact_precision"] == pytest.approx(0.75)
    labels = {line.split(",")[0] for line in plot_rows({"sets": {"unanswerable": entry}}).splitlines()}
    assert {"unanswerable abstention adapter_retrieval", "unanswerable wrong_act base"} <= labels


def test_eval_sets_in_order_absent_ones_left_out() -> None:
    assert EVAL_SETS == ("seen", "unseen", "paraphrase", "unanswerable")
    pairs = [_pair(name, "Pergunta?", "Resposta.") for name in ("unanswerable", "extra", "seen", "")]
    assert list(by_eval_set(pairs)) == ["seen", "unseen", "unanswerable", "extra"]  # "" is an older unseen
