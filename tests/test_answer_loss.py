"""Answer-only logits on packed batches give the model's own loss and gradients, with no leak between pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import make_qa_records, sample_texts, tiny_gemma3

from stages.model.answer_loss import (
    answer_only_loss,
    balanced_rows,
    pack_batch,
    pack_rows,
    supports_answer_only,
)
from stages.model.loading import ModelSource, encode_example, load_tokenizer, pad_batch

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _tiny_gemma3(vocab_size: int) -> torch.nn.Module:
    """Sliding + full attention, logit soft-capping on."""
    return tiny_gemma3(
        vocab_size, layer_types=["sliding_attention", "full_attention"], final_logit_softcapping=30.0
    )


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model: Path):
    return load_tokenizer(ModelSource(str(tiny_base_model), local_files_only=True))


@pytest.fixture(scope="module", params=["llama", "gemma3"])
def model(request, tiny_base_model: Path, tokenizer):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = (
        AutoModelForCausalLM.from_pretrained(tiny_base_model, dtype=torch.float32)
        if request.param == "llama"
        else _tiny_gemma3(len(tokenizer))
    )
    torch.manual_seed(1)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    return get_peft_model(base, lora)


def _rows(tokenizer, n: int) -> list[dict]:
    records = make_qa_records(sample_texts())[:n]
    return [encode_example(tokenizer, r["question"], r["answer"], 256) for r in records]


def _grads(model) -> dict[str, torch.Tensor]:
    out = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


def test_same_loss_and_gradients_as_the_models_own(model, tokenizer) -> None:
    rows = _rows(tokenizer, 6)
    assert supports_answer_only(model)
    padded = pad_batch(rows, tokenizer.pad_token_id)
    reference = model(**padded).loss
    reference.backward()
    want = _grads(model)
    # one packed row; rows of <= 90 tokens (several pairs each, the shorter rows padded)
    for batch in (padded, pack_batch(rows), pack_batch(rows, 90, tokenizer.pad_token_id)):
        loss = answer_only_loss(model, batch)
        torch.testing.assert_close(loss, reference, atol=1e-5, rtol=1e-5)
        loss.backward()
        got = _grads(model)
        assert got.keys() == want.keys() and want
        for name in want:
            torch.testing.assert_close(got[name], want[name], atol=1e-5, rtol=1e-4)


def test_packed_pairs_do_not_see_each_other(model, tokenizer) -> None:
    first, second = _rows(tokenizer, 2)
    answer_tokens = [sum(label != -100 for label in r["labels"][1:]) for r in (first, second)]
    with torch.no_grad():
        alone = answer_only_loss(model, pack_batch([second]))
        together = answer_only_loss(model, pack_batch([first, second]))
        first_alone = answer_only_loss(model, pack_batch([first]))
    # the pair's summed loss is the same whether or not another pair precedes it in the row
    second_in_row = together * sum(answer_tokens) - first_alone * answer_tokens[0]
    torch.testing.assert_close(second_in_row / answer_tokens[1], alone, atol=1e-4, rtol=1e-4)


def test_rows_hold_at_most_max_len_tokens() -> None:
    assert pack_rows([50, 40, 30, 20, 10], 60) == [[0, 4], [1, 3], [2]]
    assert pack_rows([100, 10], 60) == [[0], [1]]  # a pair longer than a row gets one of its own
    assert sorted(i for row in pack_rows([5] * 9, 12) for i in row) == list(range(9))


def test_balanced_rows_leave_less_padding_than_full_rows() -> None:
    lengths = [
        140,
        120,
        110,
        105,
        100,
        95,
        90,
        80,
    ]  # 840 tokens: rows of 512 hold 490 + 350 -> 1,024 positions
    full = pack_rows(lengths, 512)
    assert len(full) * max(sum(lengths[i] for i in r) for r in full) == 950
    rows = balanced_rows(lengths, 512)
    widest = max(sum(lengths[i] for i in r) for r in rows)
    assert widest <= 512 and sorted(i for r in rows for i in r) == list(range(8))
    assert len(rows) * widest <= 880  # at most ~5% padding (first-fit is not optimal: 4 rows of 220)
    assert balanced_rows([30, 30], 512) == [[0], [1]]  # no padding either way: the narrower rows attend less
    assert balanced_rows([600, 10], 512) == [[0], [1]]  # a pair over max_len gets a row of its own


def test_pack_batch_layout() -> None:
    rows = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [8, 9]}]
    batch = pack_batch(rows)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    # a pair's first token is never a target: it would be predicted from the previous pair's end
    assert batch["labels"].tolist() == [[-100, 6, 7, -100, 9]]
    two_rows = pack_batch(rows, max_len=4, pad_id=0)
    assert two_rows["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert two_rows["position_ids"].tolist() == [[0, 1, 2], [0, 1, 0]]  # the padding is a sequence of its own
    assert two_rows["labels"].tolist() == [[-100, 6, 7], [-100, 9, -100]]
