"""A synth run killed with SIGKILL resumes without asking again for cached chunks and without duplicates, with
one server or two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from stages.qa.cache import all_records
from tests.fake_openai_server import FakeOpenAIServer, chunk_text_of
from tests.synth_fixtures import REPO_ROOT, make_workdir, sample_chunks


def stage_process(work: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "stages.synth"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


CACHE_DIR = Path("data/cache/synth")


def cached_lines(work: Path) -> int:
    return sum(shard.read_bytes().count(b"\n") for shard in (work / CACHE_DIR).glob("??.jsonl"))


@pytest.mark.parametrize("n_servers", [1, 2])
def test_killed_run_resumes_without_repeats(tmp_path: Path, n_servers: int) -> None:
    chunks = sample_chunks(articles_per_chunk=1)[:16]
    text_to_id = {c["text"]: c["id"] for c in chunks}
    with ExitStack() as stack:
        servers = [stack.enter_context(FakeOpenAIServer(latency_s=0.25, slots=2)) for _ in range(n_servers)]
        urls = [server.url for server in servers]
        work = make_workdir(
            tmp_path,
            chunks,
            backend="lmstudio",
            base_url=urls[0] if n_servers == 1 else urls,
            concurrency=2,
            retry_backoff_s=0.01,
            paraphrases=0,  # one request per chunk (the paraphrase pass resumes too: test_synth_paraphrase.py)
        )
        first = stage_process(work)
        deadline = time.monotonic() + 60
        while cached_lines(work) < 4 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()  # SIGKILL: no cleanup, requests in flight are lost
        first.wait()
        assert first.returncode == -9, first.stdout.read().decode()
        cached_before = {r["chunk_id"] for r in all_records(work / CACHE_DIR)}
        assert 4 <= len(cached_before) < len(chunks)
        shard = next((work / CACHE_DIR).glob("??.jsonl"))
        with open(shard, "a", encoding="utf-8") as f:  # a write torn by the kill
            f.write('{"key": "' + shard.stem + 'torn", "chunk_id": "x", "rep')
        asked_first = [len(server.chat_requests()) for server in servers]

        second = stage_process(work)
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out.decode()
        asked_again = [
            text_to_id[chunk_text_of(r["body"]["messages"][-1]["content"])]
            for server, before in zip(servers, asked_first, strict=True)
            for r in server.chat_requests()[before:]
        ]

    assert not set(asked_again) & cached_before  # cached chunks were not requested again
    assert len(asked_again) == len(set(asked_again)) == len(chunks) - len(cached_before)
    metrics = json.loads((work / "metrics/synth.json").read_text())
    timings = json.loads((work / "metrics/timings/synth.json").read_text())
    assert timings["chunks_cached"] == len(cached_before) and metrics["chunks_failed"] == 0
    records = [json.loads(line) for line in (work / "data/qa/qa.jsonl").read_text().splitlines()]
    assert len({r["id"] for r in records}) == len(records) == metrics["accepted"]
    assert len({(r["doc"], r["question"]) for r in records}) == len(records)
    assert {r["chunk_id"] for r in records} <= set(text_to_id.values())
    cache_ids = [r["chunk_id"] for r in all_records(work / CACHE_DIR)]
    assert sorted(cache_ids) == sorted(c["id"] for c in chunks)  # each chunk answered and stored once
