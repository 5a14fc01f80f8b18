"""Greedy decoding that drops finished answers from the batch chooses the tokens `generate` chooses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import tiny_gemma3

from stages.model.decoding import greedy_continuations
from stages.model.loading import ModelSource, load_tokenizer

pytestmark = pytest.mark.usefixtures("torch_one_thread")
PROMPTS = (
    "### Pergunta:\nQual o prazo para a revisão da prova?\n\n### Resposta:\n",
    "Art. 1º",
    "### Pergunta:\nQuem pode pedir o trancamento de matrícula, segundo a Resolução nº 12/2024, e até quando?\n\n"
    "### Resposta:\n",
    "O estudante",
)


def reference(model, batch, new_tokens: int, stops: list[int]) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """What generate(do_sample=False) writes, up to its end-of-answer token."""
    out = model.generate(
        **batch, max_new_tokens=new_tokens, do_sample=False, eos_token_id=stops or None, pad_token_id=0
    )
    rows = []
    for row in out[:, batch["input_ids"].shape[1] :].tolist():
        ends = [i for i, t in enumerate(row) if t in stops]
        rows.append(row[: ends[0]] if ends else row)
    return rows


@pytest.mark.parametrize("kind", ["llama", "gemma3"])
def test_rows_that_end_early_leave_the_batch_and_the_rest_decode_as_generate_does(
    kind: str, tiny_base_model: Path
) -> None:
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(ModelSource(str(tiny_base_model), local_files_only=True))
    tokenizer.padding_side = "left"
    if kind == "llama":
        model = AutoModelForCausalLM.from_pretrained(tiny_base_model).eval()
    else:  # a sliding window (16) shorter than the longest prompt: its cache is cut while rows leave
        model = tiny_gemma3(len(tokenizer), layer_types=["sliding_attention", "full_attention"]).eval()
    batch = tokenizer(list(PROMPTS), add_special_tokens=False, padding=True, return_tensors="pt")
    assert batch["attention_mask"].sum(1).min() < batch["input_ids"].shape[1] - 10  # left padding at work
    free = reference(model, batch, 20, [])
    # end-of-answer tokens that end rows at different steps: row 0's 4th token, row 1's 9th
    stops = sorted({free[0][3], free[1][8]})
    expected = reference(model, batch, 20, stops)
    assert len({len(r) for r in expected}) > 1, expected  # the rows do end at different steps
    got = greedy_continuations(model, batch["input_ids"], batch["attention_mask"], 20, stops, lambda _: False)
    assert got == expected
    # a row also ends when `ended` says so (a stop string), after the token that completed it
    cut = greedy_continuations(
        model, batch["input_ids"], batch["attention_mask"], 20, [], lambda tokens: len(tokens) >= 5
    )
    assert cut == [row[:5] for row in free]
    assert torch.equal(
        batch["input_ids"],
        tokenizer(list(PROMPTS), add_special_tokens=False, padding=True, return_tensors="pt")["input_ids"],
    )
