"""Shared test fixtures. Tests build their own tiny data and models; nothing is downloaded."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_ok(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run a command (dvc, git, a stage) that must succeed; otherwise fail the test with its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} failed ({proc.returncode}) in {cwd}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# --- OCR fixture (issue 2): the real ocr stage run once per session on the shipped sample ---


@pytest.fixture(scope="session")
def sample_ocr_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/ocr-style output (<stem>.json per PDF) of stages.ocr on data/sample/pdf with the default params.

    Real tesseract, all cores; about 10-15 s on 2 cores. The run's metrics are in <dir>/../metrics.json.
    """
    from stages.core.files import write_json
    from stages.documents.corpus import list_pdfs, run_ocr
    from stages.documents.settings import OcrParams

    root = tmp_path_factory.mktemp("sample_ocr")
    out = root / "ocr"
    run = run_ocr(list_pdfs(REPO_ROOT / "data/sample/pdf"), OcrParams(), out, root / "cache")
    write_json(root / "metrics.json", {**run.metrics(), **run.timings()})
    return out


# --- training / evaluation fixtures (issue 4): a tiny corpus, Q&A pairs from it, a tiny built-in model ---

TINY_BASE_PARAMS = {  # about 0.1 M parameters: builds in a few seconds on 2 cores
    "vocab_size": 600,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_layers": 2,
    "num_heads": 2,
    "max_position_embeddings": 256,
    "pretrain_steps": 150,
    "batch_size": 8,
    "seq_len": 64,
    "learning_rate": 0.003,
    "seed": 13,
}


def sample_texts() -> dict[str, str]:
    """The committed sample corpus (plain text of the sample PDFs)."""
    return {
        f.stem: f.read_text(encoding="utf-8") for f in sorted((REPO_ROOT / "data/sample/src").glob("*.txt"))
    }


def make_qa_records(texts: dict[str, str], per_chunk: int = 2) -> list[dict]:
    """Deterministic Q&A pairs: one chunk per article, questions about its opening words."""
    import re

    records = []
    for doc, text in texts.items():
        articles = [a.strip() for a in re.split(r"\n(?=Art\. )", text) if a.strip().startswith("Art.")]
        for ci, article in enumerate(articles):
            sentences = [s.strip() for s in re.split(r"(?<=[.;:])\s+", article) if len(s.split()) >= 4]
            for pi, sentence in enumerate(sentences[:per_chunk]):
                words = sentence.split()
                records.append(
                    {
                        "id": f"{doc}-{ci}-{pi}",
                        "question": f"O que estabelece o texto sobre {' '.join(words[2:6])}?",
                        "answer": " ".join(words[:24]),
                        "chunk_id": f"{doc}#{ci}",
                        "doc": doc,
                        "articles": [],
                        "backend": "test",
                        "model": "",
                    }
                )
    return records


def make_chunk_records(texts: dict[str, str]) -> list[dict]:
    """Chunk records (data/chunks/chunks.jsonl lines) matching make_qa_records: one per article."""
    import re

    records = []
    for doc, text in texts.items():
        title = text.strip().splitlines()[0]
        articles = [a.strip() for a in re.split(r"\n(?=Art\. )", text) if a.strip().startswith("Art.")]
        for ci, article in enumerate(articles):
            records.append(
                {
                    "id": f"{doc}#{ci}",
                    "doc": doc,
                    "index": ci,
                    "text": article,
                    "n_tokens": len(article.split()),
                    "articles": [],
                    "title": title,
                    "overlap_chars": 0,
                }
            )
    return records


@pytest.fixture(scope="session")
def torch_one_thread() -> Iterator[None]:
    """One torch thread for the tiny models: with 2 cores shared by other jobs, 2 OpenMP threads made the
    tiny model's build 10x slower (72 s vs 7 s measured), and such small matrices gain nothing from threads."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory, torch_one_thread: None) -> Path:
    """A built-in-style model (tokenizer + LlamaForCausalLM) built by stages.base from the sample corpus."""
    from stages.model.tiny_llama import BaseParams, build_base

    out = tmp_path_factory.mktemp("base") / "model"
    build_base(BaseParams(corpus_dir=str(REPO_ROOT / "data/sample/src"), **TINY_BASE_PARAMS), out)
    return out


def tiny_gemma3(vocab_size: int, **config: object):
    """A random 2-layer Gemma 3 of the toy vocabulary (`config` overrides or adds Gemma3TextConfig fields)."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    fields = dict(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        sliding_window=16,
    )
    return Gemma3ForCausalLM(Gemma3TextConfig(**{**fields, **config}))
