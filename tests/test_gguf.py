"""GGUF in and out on tiny models: export -> reload -> same logits; a GGUF as a trainable, cached base; clear errors.

The built-in tiny Llama (byte-level BPE tokenizer) and a random tiny Gemma 3 exercise both layout transforms
(Llama's q/k row order, Gemma's RMSNorm +1). The real gemma-3-270m path is in test_gemma_real.py (slow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_gemma3

from stages.model import gguf_io
from stages.model.gguf_io import GgufError, compare_logits, ensure_converted, export_gguf, load_gguf_model
from stages.model.loading import ModelSource, load_tokenizer, locate_model
from stages.model.prompt_format import FALLBACK_CHAT_TEMPLATE

pytestmark = pytest.mark.usefixtures("torch_one_thread")

PROMPTS = ["O prazo para trancamento de matrícula é de 30 dias.", "Art. 5º O estudante poderá requerer"]


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model: Path):
    return load_tokenizer(ModelSource(str(tiny_base_model), local_files_only=True))


def _with_small_adapter(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """base + a LoRA whose B matrices are small random values (a trained adapter's size), merged."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj"])
    )
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.02)
    return peft_model.merge_and_unload().eval()


def _toy(tiny_base_model: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_base_model, dtype=torch.float32).eval()


def _tiny_gemma3(vocab_size: int) -> torch.nn.Module:
    model = tiny_gemma3(vocab_size, max_position_embeddings=256)
    with torch.no_grad():  # norms away from their zero init, so a missing +1 on export would show
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.normal_(0, 0.1)
    return model.eval()


def _ids(tokenizer) -> list[list[int]]:
    return [tokenizer(p)["input_ids"] for p in PROMPTS]


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_llama_export_reloads_with_the_same_logits_and_tokenizer(
    tiny_base_model: Path, tokenizer, tmp_path: Path, out_type: str
) -> None:
    merged = _with_small_adapter(_toy(tiny_base_model))
    out = tmp_path / f"toy-{out_type}.gguf"
    info = export_gguf(merged, tokenizer, out, out_type, chat_template=tokenizer.chat_template, name="toy")
    assert info["architecture"] == "llama" and out.stat().st_size == info["bytes"]
    reloaded = load_gguf_model(out)
    stats = compare_logits(merged, reloaded, _ids(tokenizer))
    assert gguf_io.within_tolerance(stats, out_type) == [], stats
    # ... and the comparison can fail: the unmerged base differs from the merged model by more than that
    assert gguf_io.within_tolerance(compare_logits(_toy(tiny_base_model), reloaded, _ids(tokenizer)), "f16")

    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=out.name)
    for text in PROMPTS:
        assert (
            again(text, add_special_tokens=False)["input_ids"]
            == tokenizer(text, add_special_tokens=False)["input_ids"]
        )
    assert again.eos_token == tokenizer.eos_token and again.chat_template == tokenizer.chat_template


def test_gemma3_export_undoes_the_norm_offset(tokenizer, tmp_path: Path) -> None:
    model = _tiny_gemma3(len(tokenizer))
    out = tmp_path / "gemma.gguf"
    export_gguf(model, tokenizer, out, "f16", chat_template=FALLBACK_CHAT_TEMPLATE)
    stats = compare_logits(model, load_gguf_model(out), _ids(tokenizer))
    assert gguf_io.within_tolerance(stats, "f16") == [], stats


def test_export_refuses_an_architecture_it_has_no_layout_for(tokenizer, tmp_path: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2))
    with pytest.raises(GgufError, match="gpt2.*not implemented.*convert_hf_to_gguf"):
        export_gguf(model, tokenizer, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()


@pytest.fixture
def toy_gguf(tiny_base_model: Path, tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny model as a GGUF file, and a fresh conversion cache for this test."""
    monkeypatch.setenv(gguf_io.CACHE_ENV, str(tmp_path / "cache"))
    out = tmp_path / "models" / "toy.gguf"
    export_gguf(_toy(tiny_base_model), tokenizer, out, "f16", chat_template=tokenizer.chat_template)
    return out


def test_gguf_loaded_directly_cannot_be_trained_but_the_converted_copy_can(toy_gguf: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    args = TrainingArguments(str(toy_gguf.parent / "trainer"), use_cpu=True, report_to="none")
    lora = LoraConfig(r=2, target_modules=["q_proj"])
    direct = AutoModelForCausalLM.from_pretrained(str(toy_gguf.parent), gguf_file=toy_gguf.name)
    with pytest.raises(ValueError, match="GGUF"):  # what the issue ran into
        Trainer(model=get_peft_model(direct, lora), args=args)

    folder, source = ensure_converted(str(toy_gguf))
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    assert source.architecture == "llama" and len(source.sha256) == 64
    converted = AutoModelForCausalLM.from_pretrained(folder)
    Trainer(model=get_peft_model(converted, lora), args=args)  # accepted
    tokens = [[1, 20, 30, 40, 50]]
    stats = compare_logits(load_gguf_model(toy_gguf), converted, tokens)
    assert stats["max_abs_diff"] < 1e-5  # float32 copy of the dequantized file


def test_conversion_is_cached_by_content(
    toy_gguf: Path, tiny_base_model: Path, tokenizer, monkeypatch
) -> None:
    folder, first = ensure_converted(str(toy_gguf))
    monkeypatch.setattr(gguf_io, "convert_gguf", lambda *a: pytest.fail("converted again"))
    assert ensure_converted(str(toy_gguf)) == (folder, first)
    assert locate_model(str(toy_gguf)) == ModelSource(str(folder), local_files_only=True)
    # new contents at the same path: a new key, a new conversion
    export_gguf(_with_small_adapter(_toy(tiny_base_model)), tokenizer, toy_gguf, "f16")
    monkeypatch.undo()
    monkeypatch.setenv(gguf_io.CACHE_ENV, str(Path(folder).parents[1]))
    other, second = ensure_converted(str(toy_gguf))
    assert second.sha256 != first.sha256 and other != folder


def test_clear_errors_for_bad_gguf_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gguf

    monkeypatch.setenv(gguf_io.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(GgufError, match="does not exist"):
        ensure_converted(str(tmp_path / "missing.gguf"))
    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(GgufError, match="not a GGUF file"):
        ensure_converted(str(tmp_path / "fake.gguf"))
    with pytest.raises(GgufError, match="package 'no_such_gguf_package' is not installed"):
        ensure_converted("pkg:no_such_gguf_package")
    writer = gguf.GGUFWriter(str(tmp_path / "bert.gguf"), "bert")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    with pytest.raises(GgufError, match="architecture 'bert' cannot be loaded from GGUF by transformers"):
        ensure_converted(str(tmp_path / "bert.gguf"))


def test_model_params_name_one_base() -> None:
    from stages.core.params import build_params
    from stages.model.loading import ModelParams

    assert build_params("model", ModelParams, {"gguf_file": "~/m.gguf"}).base == "~/m.gguf"
    assert build_params("model", ModelParams, {}).base == "models/base"
    with pytest.raises(ValueError, match="must be a .gguf path or pkg:<module>"):
        build_params("model", ModelParams, {"gguf_file": "model.bin"})
    with pytest.raises(ValueError, match="both name a base model"):
        build_params("model", ModelParams, {"gguf_file": "m.gguf", "name_or_path": "org/model"})
