"""The built-in model: deterministic tokenizer with a chat template, a pretrained (not random) tiny Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_BASE_PARAMS, sample_texts

from stages import base
from stages.core.params import ParamsError, build_params
from stages.core.run import MissingInputError
from stages.model.tiny_llama import BaseParams, build_model, train_tokenizer

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_tokenizer_is_deterministic_and_round_trips_portuguese() -> None:
    texts = list(sample_texts().values())
    first, second = train_tokenizer(texts, 600), train_tokenizer(texts, 600)
    assert first.backend_tokenizer.to_str() == second.backend_tokenizer.to_str()
    phrase = "Art. 5º A devolução após o prazo sujeita o usuário às penalidades; ação, ç, ã, ô."
    assert first.decode(first(phrase, add_special_tokens=False)["input_ids"]) == phrase
    assert {"<s>", "</s>", "<pad>", "<unk>"} <= set(first.all_special_tokens)


def test_chat_template_ends_assistant_turns_with_eos() -> None:
    tok = train_tokenizer(list(sample_texts().values()), 600)
    messages = [
        {"role": "system", "content": "Sistema."},
        {"role": "user", "content": "Pergunta?"},
        {"role": "assistant", "content": "Resposta."},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == "<s><|system|>\nSistema.\n<|user|>\nPergunta?\n<|assistant|>\nResposta.</s>\n"
    prompt = tok.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n")
    assert (
        len(tok("<|assistant|>", add_special_tokens=False)["input_ids"]) == 1
    )  # role markers are single tokens


def test_saved_model_loads_and_is_better_than_random(tiny_base_model: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (tiny_base_model / "model.safetensors").exists()
    tok = AutoTokenizer.from_pretrained(tiny_base_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_base_model).eval()
    assert tok.chat_template and tok.pad_token_id != tok.eos_token_id
    random_init = build_model(BaseParams(**TINY_BASE_PARAMS), tok).eval()
    text = next(iter(sample_texts().values()))[:400]
    ids = tok(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        trained_loss = model(input_ids=ids, labels=ids).loss.item()
        random_loss = random_init(input_ids=ids, labels=ids).loss.item()
    assert trained_loss < random_loss - 1.0, (trained_loss, random_loss)


def test_params_problems_listed_together() -> None:
    with pytest.raises(ParamsError) as e:
        build_params("base", BaseParams, {"hidden_size": 100, "num_heads": 3, "vocab_size": 10, "seq_len": 0})
    msg = str(e.value)
    assert "divisible" in msg and "vocab_size" in msg and "seq_len" in msg


def test_stage_only_writes_a_marker_for_a_hub_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "params.yaml").write_text(
        "model:\n  name_or_path: sharpbai/Llama-2-7b-hf\nbase:\n  corpus_dir: data/clean\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    base.main()
    assert [p.name for p in (tmp_path / "models/base").iterdir()] == ["NOT_BUILT.txt"]
    assert json.loads((tmp_path / "metrics/base.json").read_text()) == {"built": False}


def test_stage_says_which_folder_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "params.yaml").write_text("base:\n  corpus_dir: data/clean\n", encoding="utf-8")
    (tmp_path / "data/clean").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        MissingInputError, match=r"data/clean holds no \*.txt files: run `dvc repro clean` first"
    ):
        base.main()


def test_gguf_base_is_converted_once_and_named_by_its_hash(
    tiny_base_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from stages.core.files import sha256_file
    from stages.model import gguf_io

    monkeypatch.setenv(gguf_io.CACHE_ENV, str(tmp_path / "cache"))
    gguf_file = tmp_path / "lmstudio" / "toy.gguf"
    tokenizer = AutoTokenizer.from_pretrained(tiny_base_model)
    gguf_io.export_gguf(AutoModelForCausalLM.from_pretrained(tiny_base_model), tokenizer, gguf_file, "f16")
    work = tmp_path / "repo"
    work.mkdir()
    (work / "params.yaml").write_text(f"model:\n  gguf_file: {gguf_file}\n", encoding="utf-8")
    monkeypatch.chdir(work)
    base.main()
    marker = (work / "models/base/NOT_BUILT.txt").read_text()
    sha = sha256_file(gguf_file)
    assert sha in marker and str(tmp_path / "cache") not in marker  # no machine-specific path in the output
    metrics = json.loads((work / "metrics/base.json").read_text())
    assert metrics == {"built": False, "gguf_architecture": "llama", "gguf_sha256": sha}
    monkeypatch.setattr(gguf_io, "convert_gguf", lambda *a: pytest.fail("converted twice"))
    base.main()
    assert (work / "models/base/NOT_BUILT.txt").read_text() == marker

    (work / "params.yaml").write_text(f"model:\n  gguf_file: {tmp_path / 'none.gguf'}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="none.gguf does not exist"):
        base.main()
