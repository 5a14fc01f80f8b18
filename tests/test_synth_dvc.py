"""dvc.yaml's synth stage in a temporary copy of the repo: runs with the rules backend, and DVC keeps the
server-reply cache between runs (persist: true), so a params change outside the cache key asks nothing: a
changed server list (synth.base_url) reruns the stage, which answers every chunk from the cache."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import yaml

from stages.core.files import write_jsonl
from tests.conftest import run_ok
from tests.fake_openai_server import FakeOpenAIServer
from tests.synth_fixtures import REPO_ROOT, sample_chunks, set_synth_params


def dvc(work: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return run_ok([sys.executable, "-m", "dvc", *args], work, env, timeout=120).stdout


def test_dvc_repro_synth_keeps_its_cache(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO_ROOT / name, work / name)
    shutil.copytree(REPO_ROOT / "stages", work / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "prompts", work / "prompts")
    chunks = sample_chunks()[:6]
    write_jsonl(work / "data/chunks/chunks.jsonl", chunks)
    dvc(work, "init", "--no-scm", "-q")

    dvc(work, "repro", "--single-item", "synth")
    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert metrics["backend"] == "rules" and metrics["accepted"] > 0
    assert "synth" in yaml.safe_load((work / "dvc.lock").read_text())["stages"]

    with FakeOpenAIServer() as server, FakeOpenAIServer() as other:
        set_synth_params(work, backend="lmstudio", base_url=server.url, paraphrases=0)
        dvc(work, "repro", "--single-item", "synth")
        assert len(server.chat_requests()) == len(chunks)
        assert list((work / "data/cache/synth").glob("??.jsonl"))  # sharded by key
        output = (work / "data/qa/qa.jsonl").read_bytes()
        set_synth_params(work, min_grounding=0.6)  # not part of the cache key
        dvc(work, "repro", "--single-item", "synth")
        assert len(server.chat_requests()) == len(chunks)  # all answers came from the kept cache
        set_synth_params(work, min_grounding=0.5, base_url=[other.url, server.url])
        assert "synth.base_url" in dvc(work, "status", "synth")
        dvc(work, "repro", "--single-item", "synth")
        assert len(server.chat_requests()) == len(chunks) and other.chat_requests() == []
        assert (work / "data/qa/qa.jsonl").read_bytes() == output
    timings = json.loads((work / "metrics/timings/synth.json").read_text())
    assert timings["chunks_cached"] == len(chunks) and timings["requests"] == 0
