"""The offline `rules` backend through the whole stage: enough pairs, all grounded, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages import synth
from stages.common import MissingInputError, ParamsError, read_jsonl
from stages.legis import document_title
from stages.qa_rules import rules_pairs, split_articles
from stages.records import Chunk, to_dict
from tests.synth_fixtures import make_workdir, sample_chunks, set_synth_params, source_docs

QA_FIELDS = ["id", "question", "answer", "chunk_id", "doc", "articles", "backend", "model"]


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_rules_stage_is_grounded_deterministic_and_productive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = sample_chunks()
    by_id = {c["id"]: c for c in chunks}
    outputs = []
    for run in ("a", "b"):
        work = make_workdir(tmp_path / run, chunks, backend="rules")
        monkeypatch.chdir(work)
        synth.main()
        outputs.append((work / "data/qa/qa.jsonl").read_bytes())
    assert outputs[0] == outputs[1]

    records = list(read_jsonl(tmp_path / "a/data/qa/qa.jsonl"))
    metrics = json.loads((tmp_path / "a/metrics/synth.json").read_text())
    assert len(records) >= 8 * len(source_docs())  # dozens on the four sample acts
    timings = json.loads((tmp_path / "a/metrics/timings/synth.json").read_text())
    assert metrics["accepted"] == len(records) and timings["requests"] == 0
    assert [c["id"] for c in chunks].index(records[0]["chunk_id"]) <= [c["id"] for c in chunks].index(
        records[-1]["chunk_id"]
    )
    for record in records:
        assert list(record) == QA_FIELDS
        chunk = by_id[record["chunk_id"]]
        assert record["backend"] == "rules" and record["doc"] == chunk["doc"]
        assert synth.grounding_score(record["answer"], chunk["text"]) == 1.0
        assert _squash(record["answer"]) in _squash(chunk["text"])  # a verbatim span of its chunk
        assert record["question"].endswith("?")
    questions = [r["question"] for r in records]
    assert any(q.startswith("O que se considera") for q in questions)  # definitions
    assert any(q.startswith("Quais são os itens") for q in questions)  # incisos
    assert any(q.startswith("Qual o prazo") for q in questions)  # deadlines
    assert any(q.startswith("O que dispõe o §") or "parágrafo único" in q for q in questions)
    assert sum(metrics["rejected"].values()) == len(list(read_jsonl(tmp_path / "a/data/qa/rejected.jsonl")))


def test_rules_on_one_article() -> None:
    text = (
        "Art. 3º A reserva deverá ser feita com antecedência mínima de 2 (dois) dias úteis.\n\n"
        "§ 1º Cada usuário poderá manter no máximo 3 (três) reservas ativas.\n\nCAPÍTULO II\nDAS PENAS\n"
    )
    (article,) = split_articles(text)
    assert article.label == "Art. 3º" and [name for name, _ in article.paragraphs] == ["§ 1º"]
    assert "CAPÍTULO" not in article.paragraphs[0][1]
    pairs = dict(rules_pairs(text, "Portaria nº 9"))
    assert pairs["Qual o prazo estabelecido no Art. 3º da Portaria nº 9?"].startswith("A reserva deverá")
    assert pairs["O que dispõe o § 1º do Art. 3º da Portaria nº 9?"].startswith("Cada usuário")
    assert document_title("PORTARIA Nº 245, DE 2 DE FEVEREIRO DE 2024\n\nRegulamenta...") == "Portaria nº 245"


def test_chunk_without_articles_gives_no_pairs_and_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunk = Chunk("x-0000", "x", 0, "Texto corrido sem artigos.", 5, [], "", 0)
    chunks = [to_dict(chunk)]
    work = make_workdir(tmp_path, chunks + [{"id": "", "text": 3}], backend="rules")
    monkeypatch.chdir(work)
    synth.main()
    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert metrics["accepted"] == 0 and metrics["bad_chunks"] == 1
    assert [r["reason"] for r in read_jsonl(work / "data/qa/rejected.jsonl")] == ["no_pairs_parsed"]


def test_bad_params_and_missing_input_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    work = make_workdir(tmp_path, [], backend="gpt", concurrency=0, min_grounding=1.5)
    monkeypatch.chdir(work)
    with pytest.raises(ParamsError) as error:
        synth.main()
    for name in ("synth.backend", "synth.concurrency", "synth.min_grounding"):
        assert name in str(error.value)

    set_synth_params(work, backend="rules", concurrency=4, min_grounding=0.5)
    (work / "data/chunks/chunks.jsonl").unlink()
    with pytest.raises(MissingInputError, match="chunks.jsonl not found: run `dvc repro chunk` first"):
        synth.main()
