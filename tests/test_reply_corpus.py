"""parse_reply on replies written the way the models people load in LM Studio write them (tests/data/replies):
reasoning before the answer, markdown tables, JSON cut by max_tokens, notes after the answer, labelled lists.

Each <name>.txt has a <name>.expected.json beside it: `pairs` (exactly what must come back, in order),
`cut` (the reply was stopped by max_tokens), `why_none` (when `pairs` is empty) and `shape` (what it shows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.qa.parse import parse_qa_pairs, parse_reply

REPLIES = Path(__file__).parent / "data" / "replies"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in REPLIES.glob("*.expected.json"))


def test_every_reply_has_an_expectation() -> None:
    assert NAMES and sorted(p.stem for p in REPLIES.glob("*.txt")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_reply(name: str) -> None:
    expected = json.loads((REPLIES / f"{name}.expected.json").read_text(encoding="utf-8"))
    reply = (REPLIES / f"{name}.txt").read_text(encoding="utf-8")
    parsed = parse_reply(reply, cut=expected["cut"])
    assert [list(pair) for pair in parsed.pairs] == expected["pairs"]
    assert parsed.why_none == expected.get("why_none", "")
    assert parse_qa_pairs(reply, cut=expected["cut"]) == parsed.pairs


DRAFT = "Pergunta: Qual é o rascunho do prazo?\nResposta: Dez dias, talvez.\n"
ANSWER = "Pergunta: Qual é o prazo do recurso?\nResposta: Dez dias.\n"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<think>", "</think>"),  # DeepSeek-R1, Qwen3, QwQ
        ("<THINKING>", "</THINKING>"),
        ("<thought>", "</thought>"),  # EXAONE Deep
        ("<reasoning>", "</reasoning>"),
        ("<seed:think>", "</seed:think>"),  # Seed-OSS
        ("[THINK]", "[/THINK]"),  # Magistral
        ("◁think▷", "◁/think▷"),  # Kimi
        ("<|begin_of_thought|>", "<|end_of_thought|>"),  # OpenThinker
        ("<|START_THINKING|>", "<|END_THINKING|>"),  # Command A Reasoning
        ("Thinking...\n", "\n...done thinking."),  # Ollama's CLI
        ("Here is my thought process:\n", "Here is my response:"),  # Granite 3.2
        ("<|channel|>analysis<|message|>", "<|end|><|start|>assistant<|channel|>final<|message|>"),  # gpt-oss
        ("analysisWe need pairs. ", "assistantfinal"),  # gpt-oss, special tokens decoded away
    ],
)
def test_reasoning_is_dropped_and_a_cut_off_one_gives_nothing(opening: str, closing: str) -> None:
    assert parse_qa_pairs(f"{opening}{DRAFT}{closing}\n\n{ANSWER}") == [
        ("Qual é o prazo do recurso?", "Dez dias.")
    ]
    cut_off = parse_reply(f"{opening}{DRAFT}\nAgora o segundo par", cut=True)
    assert cut_off.pairs == [] and cut_off.why_none == "reasoning_cut_off"


def test_reasons_for_no_pairs() -> None:
    assert parse_reply("  \n").why_none == "empty_reply"
    assert parse_reply("O trecho não traz conteúdo normativo.").why_none == "no_pairs_parsed"
    assert parse_reply("Pergunta: Qual o prazo?\nResposta: Dez d", cut=True).why_none == "truncated"
    assert parse_reply('[{"pergunta": "Qual o prazo?", "resposta": "Dez d').why_none == "truncated"
    assert parse_reply(f"{ANSWER}\n<think>\nfalta revisar").why_none == "reasoning_cut_off"


def test_a_cut_reply_in_typographic_quotes_keeps_its_complete_pairs() -> None:
    reply = "[{“pergunta”: “Qual é o prazo do recurso?”, “resposta”: “Dez dias.”}, {“pergunta”: “Quem jul"
    assert parse_qa_pairs(reply, cut=True) == [("Qual é o prazo do recurso?", "Dez dias.")]


def test_a_row_stopped_after_an_escaped_pipe_is_incomplete_even_when_not_reported_cut() -> None:
    """Some servers say "stop" for a reply max_tokens cut; a row ending in `\\|` has not closed."""
    table = "| Pergunta | Resposta |\n|---|---|\n| Qual é o prazo do recurso? | Dez dias. |\n"
    assert parse_qa_pairs(table + "| Quem julga o recurso? | O Conselho \\|") == [
        ("Qual é o prazo do recurso?", "Dez dias.")
    ]


def test_stray_special_tokens_are_not_part_of_the_answer() -> None:
    reply = (
        "<|begin_of_solution|>\nPergunta: Qual é o prazo do recurso?\nResposta: Dez dias.<|end_of_solution|>"
    )
    assert parse_qa_pairs(reply) == [("Qual é o prazo do recurso?", "Dez dias.")]


FULL = {
    "json": (
        '```json\n[\n  {"pergunta": "Qual é o prazo do recurso?", "resposta": "Dez dias, contados da ciência."},\n'
        '  {"Question": "Quem julga o recurso?", "Answer": "O Conselho de Graduação."},\n'
        '  {"pergunta": "O recurso tem efeito suspensivo?", "resposta": "Não, salvo decisão do \\"Reitor\\"."}\n]\n```'
    ),
    "table": (
        "| # | Pergunta | Resposta |\n|---|---|---|\n| 1 | Qual é o prazo do recurso? | Dez dias, contados da ciência. |\n"
        "| 2 | Quem julga o recurso? | O Conselho de Graduação. |\n"
        '| 3 | O recurso tem efeito suspensivo? | Não, salvo decisão do "Reitor". |\n'
    ),
    "labels": (
        "<think>\nTrês pares.\n</think>\n\n1. **Pergunta:** Qual é o prazo do recurso?\n   **Resposta:** Dez dias, "
        "contados da ciência.\n\n2. **Pergunta:** Quem julga o recurso?\n   **Resposta:** O Conselho de Graduação.\n\n"
        '3. **Pergunta:** O recurso tem efeito suspensivo?\n   **Resposta:** Não, salvo decisão do "Reitor".\n'
    ),
}
PAIRS = [
    ("Qual é o prazo do recurso?", "Dez dias, contados da ciência."),
    ("Quem julga o recurso?", "O Conselho de Graduação."),
    ("O recurso tem efeito suspensivo?", 'Não, salvo decisão do "Reitor".'),
]


# Replies of the corpus that are cut below at every character too: pipes in cells, a cut row, notes, reasoning.
CUT_ANYWHERE = [
    "table_escaped_pipes",
    "table_unescaped_pipe_in_answer",
    "table_without_outer_pipes",
    "magistral_think_brackets_table",
    "json_extra_key_cut",
    "gpt_oss_harmony_channels",
    "bullets_indented_p_r_i_hope",
    "numbered_note_on_next_line",
]


def _whole(shape: str) -> tuple[str, bool, list[tuple[str, str]]]:
    """The reply, whether it was cut, and its pairs."""
    if shape in FULL:
        return FULL[shape], False, PAIRS
    expected = json.loads((REPLIES / f"{shape}.expected.json").read_text(encoding="utf-8"))
    reply = (REPLIES / f"{shape}.txt").read_text(encoding="utf-8")
    return reply, expected["cut"], [(q, a) for q, a in expected["pairs"]]


@pytest.mark.parametrize("shape", sorted(FULL) + CUT_ANYWHERE)
def test_a_reply_cut_anywhere_gives_only_complete_pairs(shape: str) -> None:
    """Cut at every character, a reply gives a prefix of its pairs, each exactly as in the whole reply: never
    a pair whose answer was cut short, never a draft from the reasoning. (Reasoning whose opening tag was in
    the prompt, cut before its `</think>`, cannot be told from an answer; it is not among these.)"""
    reply, cut, pairs = _whole(shape)
    assert parse_qa_pairs(reply, cut=cut) == pairs
    for end in range(len(reply)):
        got = parse_qa_pairs(reply[:end], cut=True)
        assert got == pairs[: len(got)], (end, reply[:end])
