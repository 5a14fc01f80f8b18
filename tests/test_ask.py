"""ask: one answer from base + adapter, with --retrieve the best chunk in the prompt and its act named; --merge-to
writes a plain 16-bit model equal to base + adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from stages import ask
from stages.model import adapted as adapted_model

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def adapter_dir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) B matrices, so merging visibly changes the weights."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_base_model)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, lora).save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_base_model).save_pretrained(out)
    return out


def test_answers_a_question(adapter_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ask.main(["Qual é o prazo de empréstimo?", "--adapter", str(adapter_dir), "--max-new-tokens", "8"])
    assert capsys.readouterr().out.strip()


def test_merge_to_writes_16bit_model_matching_base_plus_adapter(
    adapter_dir: Path, tiny_base_model: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    merged_dir = tmp_path / "merged"
    ask.main(["--adapter", str(adapter_dir), "--merge-to", str(merged_dir)])
    assert (merged_dir / "model.safetensors").exists() and (merged_dir / "tokenizer.json").exists()
    assert not (merged_dir / "adapter_config.json").exists()
    assert json.loads((merged_dir / "config.json").read_text())["dtype"] == "bfloat16"

    ids = torch.tensor([[1, 20, 30, 40, 50, 60]])
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    adapted, _ = adapted_model.load_adapted(
        adapter_dir, adapted_model.base_source(adapter_dir, None), merge=False
    )
    plain = AutoModelForCausalLM.from_pretrained(tiny_base_model, dtype=torch.float32).eval()
    with torch.no_grad():
        got, want, before = (m(input_ids=ids).logits for m in (merged, adapted.eval(), plain))
    assert (want - before).abs().max() > 0.05  # the adapter matters ...
    torch.testing.assert_close(
        got, want, atol=0.05, rtol=0.02
    )  # ... and the merged model reproduces it (bf16)


def test_missing_adapter_exits_with_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as e:
        ask.main(["Pergunta?", "--adapter", str(tmp_path / "none")])
    assert e.value.code == 66  # EXIT_NO_INPUT: "run `dvc repro train` first"


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_merge_to_gguf_reloads_with_the_merged_logits(
    adapter_dir: Path, tmp_path: Path, out_type: str
) -> None:
    from stages.model.gguf_io import compare_logits, load_gguf_model, within_tolerance

    out = tmp_path / "legis.gguf"
    ask.main(
        ["--adapter", str(adapter_dir), "--merge-to", str(out), "--gguf-type", out_type]
    )  # checks itself
    ids = [[1, 20, 30, 40, 50, 60]]
    adapted, _ = adapted_model.load_adapted(
        adapter_dir, adapted_model.base_source(adapter_dir, None), merge=False
    )
    stats = compare_logits(adapted.merge_and_unload().eval(), load_gguf_model(out), ids)
    assert within_tolerance(stats, out_type) == [], stats


def test_gguf_check_failure_exits_1(
    adapter_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stages.model import gguf_io

    tight = {k: {**v, "max_abs_diff": 0.0} for k, v in gguf_io.LOGIT_TOLERANCE.items()}
    monkeypatch.setattr(gguf_io, "LOGIT_TOLERANCE", tight)  # F16 rounding alone now exceeds the limit
    with pytest.raises(SystemExit) as e:
        ask.main(["--adapter", str(adapter_dir), "--merge-to", str(tmp_path / "x.gguf")])
    assert e.value.code == 1


def test_legis_lora_ask_and_export_run_the_same_code(
    adapter_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = ["Qual é o prazo de empréstimo?", "--adapter", str(adapter_dir), "--max-new-tokens", "8"]
    assert ask.cli(["ask", *question]) == 0
    assert capsys.readouterr().out.strip()
    merged_dir = tmp_path / "merged"
    assert ask.cli(["export", str(merged_dir), "--adapter", str(adapter_dir)]) == 0
    assert (merged_dir / "model.safetensors").exists() and not (merged_dir / "adapter_config.json").exists()


def test_legis_lora_usage_errors(adapter_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # no sub-command; a question-less `ask` without --merge-to
    for argv in ([], ["ask", "--adapter", str(adapter_dir)]):
        with pytest.raises(SystemExit) as e:
            ask.cli(argv)
        assert e.value.code == 2
    assert "legis-lora ask: error: give a question, --merge-to DIR, or both" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        ask.cli(["export", "--adapter", str(adapter_dir / "none")])
    assert e.value.code == 66


QUESTION = "Qual a multa por atraso na devolução de material de reserva?"


@pytest.fixture()
def chunks_file(tmp_path: Path) -> Path:
    """data/chunks/chunks.jsonl of the sample corpus (one chunk per article)."""
    from conftest import make_chunk_records, sample_texts

    from stages.core.files import write_jsonl

    out = tmp_path / "chunks.jsonl"
    write_jsonl(out, make_chunk_records(sample_texts()))
    return out


def test_retrieve_asks_as_evaluate_does_and_names_the_act(
    adapter_dir: Path, chunks_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stages import evaluate
    from stages.core.files import read_jsonl
    from stages.records.base import from_dict
    from stages.records.chunks import Chunk

    prompts: list[str] = []
    real = ask.generate_answers

    def recording(model: Any, tokenizer: Any, questions: list[str], *args: Any, **kwargs: Any) -> list[str]:
        prompts.extend(questions)
        return real(model, tokenizer, questions, *args, **kwargs)

    monkeypatch.setattr(ask, "generate_answers", recording)
    argv = ["ask", "--retrieve", QUESTION, "--chunks", str(chunks_file), "--adapter", str(adapter_dir)]
    assert ask.cli([*argv, "--max-new-tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Fonte: Portaria nº 245/2024 (portaria_biblioteca)")  # the act of Art. 5º
    chunk = next(from_dict(Chunk, c) for c in read_jsonl(chunks_file) if c["id"] == "portaria_biblioteca#4")
    assert chunk.text in prompts[0]  # the penalties article is in the prompt ...
    # ... exactly as evaluate's adapter_retrieval system asks the same question
    assert (
        prompts == evaluate.system_prompts(("adapter_retrieval",), [QUESTION], [chunk])["adapter_retrieval"]
    )


def test_a_refusal_is_shown_as_the_refusal_sentence(
    adapter_dir: Path, chunks_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stages.model.prompt_format import REFUSAL

    monkeypatch.setattr(ask, "generate_answers", lambda *a, **k: ["Não encontrei isso nas normas."])
    ask.main([QUESTION, "--retrieve", "--chunks", str(chunks_file), "--adapter", str(adapter_dir)])
    assert capsys.readouterr().out.strip() == REFUSAL  # no act named: the rules did not answer
    assert ask.shown_answer("A multa é de R$ 2,50.", "Portaria nº 245/2024 (portaria_biblioteca)") == (
        "A multa é de R$ 2,50.\n\nFonte: Portaria nº 245/2024 (portaria_biblioteca)"
    )
    assert ask.shown_answer("A multa é de R$ 2,50.", None) == "A multa é de R$ 2,50."


def test_retrieve_needs_a_question_and_the_chunks(
    adapter_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        ask.cli(["ask", "--retrieve", "--merge-to", str(tmp_path / "m"), "--adapter", str(adapter_dir)])
    assert e.value.code == 2 and "--retrieve needs a question" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        ask.main(
            [QUESTION, "--retrieve", "--chunks", str(tmp_path / "none.jsonl"), "--adapter", str(adapter_dir)]
        )
    assert e.value.code == 66  # EXIT_NO_INPUT: "run `dvc repro chunk` first"
