"""bench/bench_generate.py on the tiny model: both ways of answering give the same answers; the pruned batches
compute fewer rows x steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_qa_records, sample_texts

from stages.core.files import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_same_answers_and_fewer_rows_x_steps(tiny_base_model: Path, tmp_path: Path) -> None:
    records = make_qa_records(sample_texts())[:12]
    write_jsonl(
        tmp_path / "eval.jsonl",
        [{**r, "eval_set": ("seen", "unseen", "unanswerable")[i % 3]} for i, r in enumerate(records)],
    )
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "bench.bench_generate", "--model", str(tiny_base_model),
            "--eval", str(tmp_path / "eval.jsonl"), "--questions", "9", "--batch-size", "4",
            "--max-new-tokens", "12", "--json", str(out),
        ],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["questions"] == 9 and figures["same_answers"] == 9
    assert figures["rows_x_steps"]["pruned"] <= figures["rows_x_steps"]["generate"]
    assert figures["answer_tokens"] <= 9 * 12
