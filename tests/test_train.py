"""Training pieces on the tiny built-in model: label mask, params validation, loss drop, adapter round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from conftest import make_qa_records, sample_texts

from stages import train as tr
from stages.core.params import ParamsError
from stages.model.answer_loss import PackCollator
from stages.model.finetune import (
    LoraParams,
    TrainConfig,
    TrainParams,
    encode_passages,
    encode_split,
    prepare_model,
    trainer_class,
    training_arguments,
    warmup_and_total_steps,
)
from stages.model.loading import (
    IGNORE_INDEX,
    ModelSource,
    PadCollator,
    encode_example,
    ensure_pad_token,
    load_tokenizer,
    pad_batch,
    prompt_ids,
)
from stages.model.prompt_format import FALLBACK_TEMPLATE
from stages.records.base import from_dict
from stages.records.pairs import SplitPair

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def source(tiny_base_model: Path) -> ModelSource:
    return ModelSource(str(tiny_base_model), local_files_only=True)


@pytest.fixture(scope="module")
def tokenizer(source: ModelSource):
    return load_tokenizer(source)


def _config(source: ModelSource, **train) -> TrainConfig:
    return TrainConfig(
        model=tr.ModelParams(source.path), lora=LoraParams(r=4, alpha=8), train=TrainParams(**train)
    )


def test_label_mask_covers_exactly_prompt_and_padding(tokenizer) -> None:
    pairs = [
        ("O que regula o artigo 3.º?", "O cadastro é pessoal."),
        ("Prazo?", "Catorze dias, renováveis três vezes."),
    ]
    rows = [encode_example(tokenizer, q, a, max_len=256) for q, a in pairs]
    batch = pad_batch(rows, tokenizer.pad_token_id)
    for i, (question, answer) in enumerate(pairs):
        n_prompt = len(prompt_ids(tokenizer, question))
        n_real = len(rows[i]["input_ids"])
        labels, ids = batch["labels"][i].tolist(), batch["input_ids"][i].tolist()
        masked = [p for p, label in enumerate(labels) if label == IGNORE_INDEX]
        assert masked == list(range(n_prompt)) + list(range(n_real, len(labels)))
        assert labels[n_prompt:n_real] == ids[n_prompt:n_real]  # answer tokens are learned as-is
        assert ids[n_real - 1] == tokenizer.eos_token_id and labels[n_real - 1] == tokenizer.eos_token_id
        assert batch["attention_mask"][i].tolist() == [1] * n_real + [0] * (len(labels) - n_real)
        assert tokenizer.decode(ids[n_prompt : n_real - 1]) == answer


def test_prompt_uses_chat_template_else_fixed_portuguese_template(tokenizer) -> None:
    chat = tokenizer.decode(prompt_ids(tokenizer, "Quem assina?"))
    assert chat.endswith("<|assistant|>\n") and "<|user|>\nQuem assina?" in chat
    saved = tokenizer.chat_template
    try:
        tokenizer.chat_template = None
        plain = tokenizer.decode(prompt_ids(tokenizer, "Quem assina?"))
    finally:
        tokenizer.chat_template = saved
    assert plain.startswith("<s>### Instrução:") and plain.endswith(FALLBACK_TEMPLATE.split("{question}")[1])


def test_too_long_pairs_are_dropped_not_cut(tokenizer) -> None:
    assert encode_example(tokenizer, "Pergunta?", "palavra " * 200, max_len=64) is None


def test_missing_pad_token_gets_one_that_is_not_eos(tokenizer) -> None:
    saved = tokenizer.pad_token
    try:
        tokenizer.pad_token = None
        ensure_pad_token(tokenizer)
        assert tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id
        assert tokenizer.pad_token == tokenizer.unk_token
    finally:
        tokenizer.pad_token = saved


def test_params_validation_lists_every_problem_before_loading(tiny_base_model: Path, tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"

    def load(raw: dict) -> tuple:
        params.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return tr.load_config(cuda=False, path=params)

    raw = {
        "model": {"name_or_path": str(tiny_base_model)},
        "lora": {"r": 0, "alpha": -1, "dropout": 1.0, "target_modules": ["q_proj", "qkv"]},
        "train": {"global_batch": 0, "micro_batch": -1, "quantization": "4bit", "warmup_ratio": 1.5},
    }
    with pytest.raises(ParamsError) as e:
        load(raw)
    msg = str(e.value)
    for needle in (
        "lora.r",
        "lora.alpha",
        "lora.dropout",
        "train.global_batch",
        "train.micro_batch",
        "warmup_ratio",
    ):
        assert needle in msg, needle
    # environment (QLoRA needs CUDA) and the model's layers are checked once the sections themselves are valid
    raw["train"] = {"quantization": "4bit"}
    with pytest.raises(ParamsError, match="needs a CUDA GPU"):
        load(raw)
    raw["train"] = {}
    raw["lora"] = {"target_modules": ["q_proj", "qkv"]}
    with pytest.raises(ParamsError, match=r"\['qkv'\] not in the model"):
        load(raw)
    raw["lora"] = {"target_modules": "all-linear"}
    raw["train"] = {}
    cfg, src = load(raw)
    assert cfg.lora.peft_targets() == "all-linear" and src.path == str(tiny_base_model)
    # the global batch must split over the processes: checked with the rest, before any weights are loaded
    raw["train"] = {"global_batch": 8, "micro_batch": 4}
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"multiple of train.micro_batch \(4\) x 4 processes = 16"):
        tr.load_config(cuda=False, path=params, world_size=4)
    cfg, _ = tr.load_config(cuda=False, path=params, world_size=2)
    assert cfg.train.batch_layout(2) == (4, 1)


@pytest.mark.parametrize(
    ("global_batch", "micro_batch", "world", "layout"),
    [
        (8, 0, 1, (8, 1)),  # the default run: one batch of 8, as before global_batch existed
        (8, 0, 2, (4, 1)),
        (8, 2, 1, (2, 4)),
        (8, 2, 2, (2, 2)),
        (32, 4, 4, (4, 2)),
    ],
)
def test_global_batch_splits_into_processes_micro_batches_and_accumulation(
    global_batch: int, micro_batch: int, world: int, layout: tuple[int, int]
) -> None:
    t = TrainParams(global_batch=global_batch, micro_batch=micro_batch)
    assert t.problems() == [] and t.batch_problems(world) == []
    micro, accumulation = t.batch_layout(world)
    assert (micro, accumulation) == layout and micro * world * accumulation == global_batch
    args = training_arguments(t, "cpu", 0, "unused", world_size=world)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == layout


def test_a_global_batch_that_does_not_split_is_one_clear_error() -> None:
    (problem,) = TrainParams(global_batch=8).batch_problems(3)
    assert "train.global_batch (8) must be a multiple of the number of processes (3), e.g. 9" == problem
    (problem,) = TrainParams(global_batch=12, micro_batch=4).batch_problems(2)
    assert "micro_batch (4) x 2 processes = 8" in problem and "train.micro_batch: 3 fits" in problem
    assert TrainParams(global_batch=12, micro_batch=5).problems() == [
        "train.global_batch (12) must be a multiple of train.micro_batch"
    ]


def test_original_warmup_never_finishes() -> None:
    # ~1,000 pairs x 3 epochs / batch 8 = 375 optimizer steps; the original warmup_steps 500 exceeds that
    warmup, total = warmup_and_total_steps(1000, TrainParams(warmup_steps=500))
    assert (warmup, total) == (500, 375)
    assert warmup_and_total_steps(1000, TrainParams()) == (12, 375)  # any number of processes: the same steps
    assert warmup_and_total_steps(1001, TrainParams(global_batch=16, micro_batch=2)) == (6, 189)


def _trainer(source, tokenizer, rows, tmp_path, **train):
    cfg = _config(source, **train)
    model = prepare_model(source, cfg, "cpu")
    args = training_arguments(cfg.train, "cpu", 0, str(tmp_path / "trainer"))
    packed = cfg.train.packed
    return model, trainer_class(packed, model)(
        model=model,
        args=args,
        train_dataset=rows,
        eval_dataset=rows,
        data_collator=PackCollator(64, tokenizer.pad_token_id)
        if packed
        else PadCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
    )


@pytest.mark.parametrize("packed", [False, True])
def test_loss_drops_on_a_fixed_batch(source, tokenizer, tmp_path: Path, packed: bool) -> None:
    records = [from_dict(SplitPair, r) for r in make_qa_records(sample_texts())[:8]]
    rows, skipped = encode_split(tokenizer, records, 256)
    assert skipped == 0 and len(rows) == 8
    _, trainer = _trainer(
        source, tokenizer, rows, tmp_path, epochs=12, global_batch=8, learning_rate=0.01, packed=packed
    )
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    assert after < before - 0.1, (before, after)


def test_adapter_saves_and_reloads_to_same_logits(source, tokenizer, tmp_path: Path) -> None:
    from peft import PeftModel

    from stages.model.loading import load_causal_lm

    rows, _ = encode_split(
        tokenizer, [from_dict(SplitPair, r) for r in make_qa_records(sample_texts())[:8]], 256
    )
    model, trainer = _trainer(source, tokenizer, rows, tmp_path, epochs=3, global_batch=8, learning_rate=0.01)
    trainer.train()
    model.save_pretrained(tmp_path / "adapter", safe_serialization=True)
    assert (tmp_path / "adapter/adapter_model.safetensors").exists()
    assert not list((tmp_path / "adapter").glob("*.bin"))

    batch = pad_batch([rows[i] for i in range(4)], tokenizer.pad_token_id)
    model.eval()
    with torch.no_grad():
        trained = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        base = load_causal_lm(source, torch.float32)
        plain = base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        reloaded = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()
        again = reloaded(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert not torch.allclose(plain, trained, atol=1e-4)  # training changed the model ...
    torch.testing.assert_close(
        again, trained, atol=1e-5, rtol=1e-5
    )  # ... and the saved adapter reproduces it


def test_passages_come_only_from_training_chunks_in_windows(
    tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import make_chunk_records

    from stages.core.files import write_jsonl

    chunks = make_chunk_records(sample_texts())
    write_jsonl(tmp_path / "data/chunks/chunks.jsonl", chunks)
    monkeypatch.chdir(tmp_path)
    records = [from_dict(SplitPair, r) for r in make_qa_records(sample_texts())[:6]]
    texts = tr.training_passages(records)
    wanted = {r.chunk_id for r in records}
    assert len(texts) == len(wanted) and texts
    assert all(any(c["text"] in t for c in chunks if c["id"] in wanted) for t in texts)
    windows = encode_passages(tokenizer, texts, max_len=48)
    assert all(len(w["input_ids"]) <= 48 and w["labels"] == w["input_ids"] for w in windows)
    assert windows[0]["input_ids"][0] == tokenizer.bos_token_id
    total = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    assert sum(len(w["input_ids"]) - 2 for w in windows) == total  # every token once, BOS/EOS per window
