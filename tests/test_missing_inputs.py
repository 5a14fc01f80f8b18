"""A stage whose input has not been made says so in one line, names the stage to run, and exits 66
(EX_NOINPUT) — the same way for every stage, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stages.core.run import EXIT_NO_INPUT

REPO = Path(__file__).resolve().parents[1]
# stage -> (the input it reads first, the stage that writes it)
CASES = {
    "clean": ("data/ocr", "ocr"),
    "chunk": ("data/clean", "clean"),
    "synth": ("data/chunks/chunks.jsonl", "chunk"),
    "dataset": ("data/qa/qa.jsonl", "synth"),
    "base": ("data/clean", "clean"),
    "train": ("data/dataset/train.jsonl", "dataset"),
    "evaluate": ("data/dataset/eval.jsonl", "dataset"),
}


@pytest.mark.parametrize("stage", sorted(CASES))
def test_missing_input_names_the_stage_to_run(stage: str, tmp_path: Path, tiny_base_model: Path) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["model"]["name_or_path"] = str(tiny_base_model)  # a model that exists: only the data is missing
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    if stage == "base":
        params["model"]["name_or_path"] = "models/base"  # base builds only the built-in model
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", f"stages.{stage}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    path, producer = CASES[stage]
    assert done.returncode == EXIT_NO_INPUT, done.stderr[-2000:]
    assert f"{path} not found: run `dvc repro {producer}` first" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
