"""parse_qa_pairs on a growing corpus of messy model replies, and the pair validation rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.qa_parse import PROMPT_EXAMPLE_ANSWER, PROMPT_EXAMPLE_QUESTION
from stages.records import Chunk
from stages.synth import grounding_score, parse_qa_pairs, render_prompt, validate_pair

CORPUS = Path(__file__).parent / "data" / "messy_replies"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))["expected"]


def test_every_reply_file_has_an_expectation() -> None:
    assert sorted(p.stem for p in CORPUS.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_messy_reply(name: str) -> None:
    reply = (CORPUS / f"{name}.txt").read_text(encoding="utf-8")
    assert [list(pair) for pair in parse_qa_pairs(reply)] == EXPECTED[name]


def test_prompt_shows_the_example_the_parser_drops(repo_root: Path) -> None:
    template = (repo_root / "prompts" / "qa_pt.txt").read_text(encoding="utf-8")
    assert PROMPT_EXAMPLE_QUESTION in template and PROMPT_EXAMPLE_ANSWER in template
    chunk = Chunk("d-0", "d", 0, "Art. 1º Texto {x}.", 6, ["Art. 1º"], "", 0)
    prompt = render_prompt(template, chunk, 3)
    assert "3 pares" in prompt and "Art. 1º Texto {x}." in prompt
    assert parse_qa_pairs(prompt.split("formato:")[1]) == []  # the example itself is never a pair


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]\"',:\n Pergunta:Resposta?ab\\`<>think/")), max_size=200))
def test_never_raises_and_returns_non_empty_strings(text: str) -> None:
    for question, answer in parse_qa_pairs(text):
        assert isinstance(question, str) and isinstance(answer, str) and question and answer


CHUNK = (
    "Art. 5º O estagiário entregará relatório final no prazo de 15 (quinze) dias após o término do estágio."
)


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("Qual o prazo do relatório final?", "No prazo de 15 (quinze) dias após o término do estágio.", None),
        ("Quais documentos o estagiário entrega", "O relatório final.", None),  # interrogative, no "?"
        ("", "O relatório final.", "empty"),
        ("Prazo?", "15 dias.", "question_length"),
        ("O estagiário entrega o relatório final.", "Sim, no prazo de 15 dias.", "not_a_question"),
        (
            "Qual o valor da bolsa do estagiário?",
            "A bolsa mensal é de R$ 1.100,00 com auxílio-transporte.",
            "ungrounded",
        ),
    ],
)
def test_validate_pair(question: str, answer: str, reason: str | None) -> None:
    assert validate_pair(question, answer, CHUNK, min_grounding=0.5) == reason


def test_grounding_score_ignores_accents_case_and_stopwords() -> None:
    assert grounding_score("RELATÓRIO FINAL no PRAZO de quinze dias", CHUNK) == 1.0
    assert grounding_score("uma bolsa", CHUNK) == 0.0
    assert grounding_score("", CHUNK) == 0.0
