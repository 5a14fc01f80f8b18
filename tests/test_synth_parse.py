"""parse_qa_pairs on a growing corpus of messy model replies (real gemma-3-270m replies among them), and the
pair validation rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.qa.parse import PROMPT_EXAMPLE_ANSWER, PROMPT_EXAMPLE_QUESTION, parse_qa_pairs
from stages.qa.server import build_prompts, render_prompt
from stages.qa.settings import SynthParams
from stages.qa.validate import grounding_score, validate_pair
from stages.records.chunks import Chunk

CORPUS = Path(__file__).parent / "data" / "messy_replies"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))["expected"]


def test_every_reply_file_has_an_expectation() -> None:
    assert sorted(p.stem for p in CORPUS.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_messy_reply(name: str) -> None:
    reply = (CORPUS / f"{name}.txt").read_text(encoding="utf-8")
    assert [list(pair) for pair in parse_qa_pairs(reply, cut=name.endswith("_cut"))] == EXPECTED[name]


def test_a_cut_reply_keeps_only_what_was_complete() -> None:
    closed = '{"pares": [{"pergunta": "Qual o prazo do recurso?", "resposta": "Dez dias."}'
    assert parse_qa_pairs(closed, cut=True) == [("Qual o prazo do recurso?", "Dez dias.")]
    # cut after a comma or inside the next pair: the complete pair is kept, the next never came
    assert parse_qa_pairs(closed + ", {", cut=True) == [("Qual o prazo do recurso?", "Dez dias.")]
    assert parse_qa_pairs(closed + ', {"pergunta": "Quem julga?", "resp', cut=True) == [
        ("Qual o prazo do recurso?", "Dez dias.")
    ]
    assert parse_qa_pairs(closed[:-5], cut=True) == []  # cut inside the only answer
    plain = "Pergunta: Qual o prazo?\nResposta: Dez dias.\n\nPergunta: Quem julga?\nResposta: O Conse"
    assert parse_qa_pairs(plain, cut=True) == [("Qual o prazo?", "Dez dias.")]
    assert len(parse_qa_pairs(plain)) == 2  # not cut: the last answer is what the model meant


def test_prompt_shows_the_example_the_parser_drops(repo_root: Path) -> None:
    template = (repo_root / "prompts" / "qa_pt.txt").read_text(encoding="utf-8")
    assert PROMPT_EXAMPLE_QUESTION in template and PROMPT_EXAMPLE_ANSWER in template
    chunk = Chunk("d-0", "d", 0, "Art. 1º Texto {x}.", 6, ["Art. 1º"], "", 0)
    prompt = render_prompt(template, chunk, 3)
    assert "3 pares" in prompt and "Art. 1º Texto {x}." in prompt
    assert parse_qa_pairs(prompt.split("formato:")[1]) == []  # the example itself is never a pair


def test_completion_prompt_is_continued_from_pergunta(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo_root)
    settings = SynthParams(prompt_style="completion")
    chunk = Chunk("c1", "d", 0, "Art. 1º O prazo é de 5 dias.", 9, ["Art. 1º"], "", 0)
    prompts = build_prompts([chunk], settings)
    assert f"Trecho: {chunk.text}\nPergunta:" in prompts.by_chunk["c1"]
    assert prompts.by_chunk["c1"].endswith("Pergunta:") and prompts.reply_prefix == "Pergunta:"
    # the examples' questions and answers: a reply that copies one is rejected
    assert "a quem compete aprovar o plano de ensino das disciplinas" in prompts.examples
    reply = " Qual é o prazo?\nResposta: O prazo é de 5 dias.\n\n"
    assert parse_qa_pairs(prompts.reply_prefix + reply) == [("Qual é o prazo?", "O prazo é de 5 dias.")]


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


@pytest.mark.parametrize("glyph", ["\ufffd", "\ue000", "\U000f0001"])
def test_unreadable_glyphs_are_never_accepted(glyph: str) -> None:
    """U+FFFD (what a broken text layer decodes to) and private-use glyphs, in the question or the answer,
    even when the chunk itself holds them (the pair would be grounded)."""
    chunk = CHUNK.replace("relatório", f"relat{glyph}rio")
    good = ("Qual o prazo do relatório final?", "No prazo de 15 (quinze) dias após o término do estágio.")
    assert validate_pair(*good, chunk, min_grounding=0.5) is None
    assert validate_pair(good[0].replace("ó", glyph), good[1], chunk, 0.5) == "bad_glyph"
    assert validate_pair(good[0], f"O relat{glyph}rio final, em 15 dias.", chunk, 0.5) == "bad_glyph"


def test_an_echo_of_the_prompts_example_is_rejected() -> None:
    examples = frozenset({"qual o prazo para requerer segunda chamada"})
    echo = ("Qual o prazo para requerer segunda chamada?", "O estagiário entregará relatório final.")
    assert validate_pair(*echo, CHUNK, 0.5, examples) == "example_echo"
    assert validate_pair(*echo, CHUNK, 0.5) is None


def test_grounding_score_ignores_accents_case_and_stopwords() -> None:
    assert grounding_score("RELATÓRIO FINAL no PRAZO de quinze dias", CHUNK) == 1.0
    assert grounding_score("uma bolsa", CHUNK) == 0.0
    assert grounding_score("", CHUNK) == 0.0
