"""The evaluate stage on the tiny model: the four eval sets x base/open book/adapter/adapter + retrieval with
intervals and paired deltas, predictions side by side, the plot data; a run with sets and systems left out; plus
retrieval and generation pieces it relies on."""

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
from stages.model.prompt_format import REFUSAL, cut_at_stop, passage_text
from stages.records.base import from_dict, to_dict
from stages.records.chunks import Chunk
from stages.records.pairs import EVAL_SETS, QAPair, SplitPair
from stages.scoring.refusal import is_refusal
from stages.scoring.report import SYSTEMS
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


UNANSWERABLE_QUESTIONS = (  # filed, as synth files them, under a chunk of the act they name
    "Qual o horário do restaurante universitário aos domingos, segundo a Portaria nº 245/2024?",
    "Na UFMG, qual o prazo de empréstimo domiciliar de livros?",
    "O que estabelece o Art. 97 da Portaria nº 245/2024?",
)
PAIRS_PER_SET = 3
COMPARISONS = ("adapter_vs_base", "adapter_vs_open_book", "adapter_retrieval_vs_open_book")


def eval_records() -> list[SplitPair]:
    """Three pairs of each eval set: seen, unseen and paraphrase from the sample's pairs, and unanswerable
    questions about the library's act whose reference is the refusal sentence."""
    records = [from_dict(QAPair, r) for r in make_qa_records(sample_texts())]
    out = [
        SplitPair(**to_dict(r), eval_set=name)
        for name, start in (("seen", 0), ("unseen", 12), ("paraphrase", 24))
        for r in records[start : start + PAIRS_PER_SET]
    ]
    out += [
        SplitPair(
            f"none-{i}",
            q,
            REFUSAL,
            "portaria_biblioteca#0",
            "portaria_biblioteca",
            [],
            "test",
            "",
            eval_set="unanswerable",
        )
        for i, q in enumerate(UNANSWERABLE_QUESTIONS)
    ]
    return out


@pytest.fixture(scope="module")
def workdir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository-like folder: eval.jsonl with all four sets, chunks, an adapter, params."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("evaluate")
    write_jsonl(root / "data/dataset/eval.jsonl", (to_dict(r) for r in eval_records()))
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
    assert set(metrics["sets"]) == set(EVAL_SETS)
    for name, entry in metrics["sets"].items():
        assert entry["pairs"] == PAIRS_PER_SET
        if name == "unanswerable":
            assert "retrieval_top1" not in entry  # no chunk answers its questions
        else:
            assert 0 <= entry["retrieval_top1"] <= 1
        refusal = "abstention" if name == "unanswerable" else "false_refusal"
        for system in SYSTEMS:
            s = entry[system]
            for metric in ("f1", "names_act", refusal):
                assert s[f"{metric}_low"] <= s[metric] <= s[f"{metric}_high"], (name, system, metric)
            assert {"key_fact_recall", "key_fact_precision", "key_fact_precision_pairs", "wrong_act"} <= set(
                s
            )
            assert "abstention" not in s if refusal == "false_refusal" else "false_refusal" not in s
            assert (
                s["answer_loss_low"] <= s["answer_loss"] <= s["answer_loss_high"]
                and s["answer_loss_pairs"] == PAIRS_PER_SET
            )
        for comparison in COMPARISONS:
            d = entry[comparison]
            for metric in ("f1", refusal, "answer_loss"):
                assert d[f"{metric}_low"] <= d[metric] <= d[f"{metric}_high"], (name, comparison, metric)
        # the random adapter changed the model: its loss on the references differs from the base's
        assert entry["adapter_vs_base"]["answer_loss"] != 0
    # every pair's act is known from its chunk's document: wrong_act is defined for all
    assert all(e[s]["wrong_act_pairs"] == PAIRS_PER_SET for e in metrics["sets"].values() for s in SYSTEMS)
    rows = [json.loads(line) for line in Path("data/eval/predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 4 * PAIRS_PER_SET and {
        *SYSTEMS,
        "reference",
        "retrieved_chunk",
        "retrieved_act",
    } <= set(rows[0])
    for name in (
        "seen",
        "unanswerable",
    ):  # the set's refusal rate is the share of its answers read as refusals
        flags = [is_refusal(r["adapter_retrieval"]) for r in rows if r["eval_set"] == name]
        assert [r["adapter_retrieval_refusal"] for r in rows if r["eval_set"] == name] == flags
        refusal = "abstention" if name == "unanswerable" else "false_refusal"
        assert metrics["sets"][name]["adapter_retrieval"][refusal] == round(sum(flags) / len(flags), 4)
    report = Path("data/eval/predictions.md").read_text()
    assert [line[3:] for line in report.splitlines() if line.startswith("## ")] == list(EVAL_SETS)  # in order
    assert rows[0]["question"] in report
    assert f"**adapter_retrieval** ({rows[0]['adapter_retrieval_f1']:.2f}" in report
    plot = list(csv.DictReader(Path("data/eval/scores.csv").open()))
    assert {r["label"] for r in plot} >= {
        "seen f1 adapter",
        "unseen f1 open_book",
        "paraphrase f1 adapter_retrieval",
        "seen wrong_act adapter",
        "unanswerable abstention adapter_retrieval",
        "seen false_refusal base",
    }
    first = Path("metrics/eval.json").read_bytes()
    ev.main()
    assert Path("metrics/eval.json").read_bytes() == first  # deterministic: `dvc metrics diff` stays empty


def test_stage_with_sets_and_systems_left_out_and_the_llm_judge(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from fake_openai_server import FakeOpenAIServer

    shutil.copytree(workdir / "models", tmp_path / "models")
    shutil.copytree(workdir / "data/chunks", tmp_path / "data/chunks")
    kept = [r for r in eval_records() if r.eval_set in ("seen", "unanswerable")]
    write_jsonl(tmp_path / "data/dataset/eval.jsonl", (to_dict(r) for r in kept))
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    with FakeOpenAIServer(reply=lambda prompt: '{"nota": "parcial"}') as server:
        params["evaluate"].update(judge=True, modes=["base", "adapter"], judge_base_url=server.url)
        params["synth"] = {"max_retries": 0}
        Path("params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
        ev.main()
        assert len(server.chat_requests()) == 2 * len(kept)  # 6 pairs x base and adapter
    metrics = json.loads(Path("metrics/eval.json").read_text())
    assert set(metrics["sets"]) == {"seen", "unanswerable"}
    entry = metrics["sets"]["seen"]
    assert {"base", "adapter", "adapter_vs_base"} <= set(entry)
    assert not {"open_book", "adapter_retrieval", "adapter_vs_open_book", "retrieval_top1"} & set(entry)
    assert entry["adapter"]["judge_score"] == 0.5 and entry["adapter"]["judge_partial"] == 1.0
    assert entry["adapter_vs_base"]["judge_score"] == 0.0
    row = json.loads(Path("data/eval/predictions.jsonl").read_text().splitlines()[0])
    assert row["adapter_judge"] == "parcial" and "retrieved_chunk" not in row


def test_judge_params_are_checked_before_any_work() -> None:
    from stages.evaluate import EvaluateParams

    assert EvaluateParams(judge=True).problems() == []
    assert EvaluateParams(judge=False, judge_base_url="").problems() == []  # not used
    problems = EvaluateParams(judge=True, judge_base_url="localhost:1234").problems()
    assert problems == ["evaluate.judge_base_url must start with http:// or https://, got 'localhost:1234'"]
    assert EvaluateParams().modes == SYSTEMS  # every system by default
    for modes in ((), ("adapter", "closed_book"), ("base", "base")):
        assert EvaluateParams(modes=modes).problems() == [
            f"evaluate.modes must be distinct systems among {', '.join(SYSTEMS)}, got {list(modes)}"
        ]
