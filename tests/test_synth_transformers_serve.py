"""The stage end to end through a real OpenAI-compatible server, `transformers serve` (tests/real_server.py):
with a tiny random Llama (the chat path), and with the real gemma-3-270m base model (the completion path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages import synth
from stages.core.files import read_jsonl
from stages.qa.validate import grounding_score
from tests.real_server import gemma_model_dir, transformers_serve
from tests.synth_fixtures import FALLBACK_DOCS, chunk_by_articles, make_workdir, sample_chunks

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def build_tiny_llama(out: Path) -> None:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here on a few Portuguese sentences."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(list(FALLBACK_DOCS.values()), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(out)


@pytest.mark.server
def test_stage_through_transformers_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat path, streamed, on a random tiny model: the stage completes; babble is no pair."""
    model_dir = tmp_path / "tiny-llama"
    build_tiny_llama(model_dir)
    chunks = chunk_by_articles("portaria_teste", FALLBACK_DOCS["portaria_teste"], articles_per_chunk=1)[1:4]
    with transformers_serve(model_dir, tmp_path / "serve.log") as base_url:
        work = make_workdir(
            tmp_path / "work",
            chunks,
            backend="lmstudio",
            base_url=base_url,
            paraphrases=0,
            max_tokens=12,
            concurrency=2,
            timeout_s=60,
        )
        monkeypatch.chdir(work)
        synth.main()
    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert metrics["model"] == str(model_dir)  # the id the server lists
    assert metrics["chunks_failed"] == 0 and sum(metrics["chunks_without_pairs"].values()) == len(chunks)
    assert metrics["accepted"] == 0  # a random model's babble is no pair: reported, not a crash
    assert (work / "data/qa/qa.jsonl").read_text() == ""


@pytest.mark.server
def test_real_pairs_from_gemma_3_270m(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real small base model (gemma-3-270m, no chat template) behind `transformers serve`, asked with the
    completion prompt: it writes questions about the text, some answers grounded, some not, some cut by
    max_tokens. The stage keeps the grounded ones and says why it dropped the rest. Greedy decoding, so the
    figures are the same on every run (docs/benchmarks.md has the larger run)."""
    model_dir = gemma_model_dir()
    chunks = [c for c in sample_chunks(articles_per_chunk=1) if c["doc"] == "instrucao_estagio"][1:4]
    with transformers_serve(model_dir, tmp_path / "serve.log") as base_url:
        work = make_workdir(
            tmp_path / "work",
            chunks,
            backend="lmstudio",
            base_url=base_url,
            prompt_style="completion",
            max_tokens=80,
            temperature=0.0,
            concurrency=2,
            timeout_s=300,
            budget_s=900,
        )
        monkeypatch.chdir(work)
        synth.main()
    metrics = json.loads((work / "metrics/synth.json").read_text())
    timings = json.loads((work / "metrics/timings/synth.json").read_text())
    assert metrics["model"] == str(model_dir) and metrics["chunks_failed"] == 0
    assert timings["requests"] == len(chunks) and timings["retries"] == 0
    assert metrics["pairs_parsed"] >= 2 and metrics["parse_yield"] >= 0.5
    pairs = list(read_jsonl(work / "data/qa/qa.jsonl"))
    assert len(pairs) >= 1 and len(pairs) == metrics["accepted"]  # real pairs out of a 270M base model
    by_id = {c["id"]: c for c in chunks}
    for pair in pairs:
        assert pair["question"].endswith("?") and pair["model"] == str(model_dir)
        assert grounding_score(pair["answer"], by_id[pair["chunk_id"]]["text"]) >= 0.5
    rejected = list(read_jsonl(work / "data/qa/rejected.jsonl"))
    assert sum(metrics["rejected"].values()) == len(rejected)
