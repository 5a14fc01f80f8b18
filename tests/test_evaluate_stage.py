"""The evaluate stage on the tiny model: seen/unseen x base/open book/adapter with intervals, predictions side by
side, the plot data; plus retrieval and generation pieces it relies on."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml
from conftest import make_chunk_records, make_qa_records, sample_texts

from stages import evaluate as ev
from stages.core.files import write_jsonl
from stages.model.loading import ModelSource, generate_answers, load_tokenizer, stop_token_ids
from stages.model.prompt_format import cut_at_stop, passage_text
from stages.records.base import from_dict, to_dict
from stages.records.chunks import Chunk
from stages.records.pairs import QAPair, SplitPair
from stages.scoring.retrieval import BM25, terms

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _chunks() -> list[Chunk]:
    return [from_dict(Chunk, c) for c in make_chunk_records(sample_texts())]


def test_bm25_finds_the_article_a_question_names() -> None:
    chunks = _chunks()
    index = BM25([passage_text(c) for c in chunks])
    records = make_qa_records(sample_texts())
    hits = sum(chunks[index.best(r["answer"][:80])].id == r["chunk_id"] for r in records)
    assert hits / len(records) > 0.9  # the answer's opening words find their own article
    assert (
        "art:5" in terms("Qual o prazo do Art. 5º?")
        and "prazo" in terms("PRAZO")
        and "qual" not in terms("Qual")
    )
    assert terms("Matrícula") == terms("matricula")


def test_cut_at_stop_and_stop_tokens(tiny_base_model: Path) -> None:
    assert cut_at_stop("Quinze dias.\n\n### Pergunta:\nE o outro?") == "Quinze dias."
    tokenizer = load_tokenizer(ModelSource(str(tiny_base_model), local_files_only=True))

    class Generating:
        generation_config = type("C", (), {"eos_token_id": [tokenizer.eos_token_id, 5]})()

    assert stop_token_ids(Generating(), tokenizer) == sorted({tokenizer.eos_token_id, 5})


def test_batched_generation_returns_answers_in_question_order(tiny_base_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(ModelSource(str(tiny_base_model), local_files_only=True))
    model = AutoModelForCausalLM.from_pretrained(tiny_base_model).eval()
    questions = [r["question"] for r in make_qa_records(sample_texts())[:6]]
    forward = generate_answers(model, tokenizer, questions, 6, batch_size=4)
    backward = generate_answers(model, tokenizer, questions[::-1], 6, batch_size=4)
    assert forward == backward[::-1] and all("###" not in a for a in forward)


@pytest.fixture(scope="module")
def workdir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository-like folder: eval.jsonl with both sets, chunks, an adapter, params."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("evaluate")
    records = [from_dict(QAPair, r) for r in make_qa_records(sample_texts())]
    evals = [
        SplitPair(**to_dict(r), eval_set="seen" if i % 2 else "unseen") for i, r in enumerate(records[:10])
    ]
    write_jsonl(root / "data/dataset/eval.jsonl", (to_dict(r) for r in evals))
    write_jsonl(root / "data/chunks/chunks.jsonl", (to_dict(c) for c in _chunks()))
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_base_model)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, lora).save_pretrained(root / "models/adapter", safe_serialization=True)
    load_tokenizer(ModelSource(str(tiny_base_model), local_files_only=True)).save_pretrained(
        root / "models/adapter"
    )
    params = {
        "model": {"name_or_path": str(tiny_base_model)},
        "evaluate": {"max_new_tokens": 8, "batch_size": 4},
        "train": {"max_seq_len": 256},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return root


def test_stage_writes_sets_systems_intervals_and_readable_predictions(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    ev.main()
    metrics = json.loads(Path("metrics/eval.json").read_text())
    assert set(metrics["sets"]) == {"seen", "unseen"}
    for entry in metrics["sets"].values():
        assert entry["pairs"] == 5 and 0 <= entry["retrieval_top1"] <= 1
        for system in ("base", "open_book", "adapter"):
            s = entry[system]
            assert s["f1_low"] <= s["f1"] <= s["f1_high"]
            assert (
                s["answer_loss_low"] <= s["answer_loss"] <= s["answer_loss_high"]
                and s["answer_loss_pairs"] == 5
            )
        for comparison in ("adapter_vs_base", "adapter_vs_open_book"):
            d = entry[comparison]
            assert d["f1_low"] <= d["f1"] <= d["f1_high"]
        # the random adapter changed the model: its loss on the references differs from the base's
        assert entry["adapter_vs_base"]["answer_loss"] != 0
    rows = [json.loads(line) for line in Path("data/eval/predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and {"base", "open_book", "adapter", "reference", "retrieved_chunk"} <= set(
        rows[0]
    )
    report = Path("data/eval/predictions.md").read_text()
    assert "## seen" in report and "## unseen" in report and rows[0]["question"] in report
    plot = list(csv.DictReader(Path("data/eval/scores.csv").open()))
    assert {r["label"] for r in plot} >= {"seen f1 adapter", "unseen f1 open_book"}
    first = Path("metrics/eval.json").read_bytes()
    ev.main()
    assert Path("metrics/eval.json").read_bytes() == first  # deterministic: `dvc metrics diff` stays empty


def test_stage_with_the_llm_judge(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_openai_server import FakeOpenAIServer

    monkeypatch.chdir(workdir)
    saved = Path("params.yaml").read_text()
    params = yaml.safe_load(saved)
    with FakeOpenAIServer(reply=lambda prompt: '{"nota": "parcial"}') as server:
        params["evaluate"].update(judge=True, open_book=False, judge_base_url=server.url)
        params["synth"] = {"max_retries": 0}
        Path("params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
        try:
            ev.main()
        finally:
            Path("params.yaml").write_text(saved, encoding="utf-8")
        assert len(server.chat_requests()) == 20  # 10 pairs x base and adapter
    entry = json.loads(Path("metrics/eval.json").read_text())["sets"]["seen"]
    assert "open_book" not in entry
    assert entry["adapter"]["judge_score"] == 0.5 and entry["adapter"]["judge_partial"] == 1.0
    assert entry["adapter_vs_base"]["judge_score"] == 0.0
    row = json.loads(Path("data/eval/predictions.jsonl").read_text().splitlines()[0])
    assert row["adapter_judge"] == "parcial"


def test_judge_params_are_checked_before_any_work() -> None:
    from stages.evaluate import EvaluateParams

    assert EvaluateParams(judge=True).problems() == []
    assert EvaluateParams(judge=False, judge_base_url="").problems() == []  # not used
    problems = EvaluateParams(judge=True, judge_base_url="localhost:1234").problems()
    assert problems == ["evaluate.judge_base_url must start with http:// or https://, got 'localhost:1234'"]
