"""Several OpenAI-compatible servers serve one synth run, and the sharded reply cache (real HTTP on 127.0.0.1:
two or more fake servers with latency and slots, some of which die mid-run)."""

from __future__ import annotations

import json
import logging
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stages import synth
from stages.core.files import read_jsonl, write_jsonl
from stages.core.params import ParamsError, build_params
from stages.qa.cache import all_records
from stages.qa.settings import SynthParams
from tests.fake_openai_server import FakeOpenAIServer, chunk_text_of
from tests.synth_fixtures import make_workdir, sample_chunks

# one request per chunk: the paraphrase pass has its own tests (test_synth_paraphrase.py)
FAST = {
    "backend": "lmstudio",
    "retry_backoff_s": 0.01,
    "timeout_s": 2.0,
    "max_retries": 2,
    "concurrency": 2,
    "paraphrases": 0,
}
CACHE_DIR = Path("data/cache/synth")


@pytest.fixture(scope="module")
def chunks() -> list[dict[str, Any]]:
    return sample_chunks(articles_per_chunk=1)[:16]


@pytest.fixture(scope="module")
def reference(chunks: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """qa.jsonl of an undisturbed run against one server."""
    work = tmp_path_factory.mktemp("reference")
    with FakeOpenAIServer() as server, pytest.MonkeyPatch.context() as monkeypatch:
        make_workdir(work, chunks, base_url=server.url, **FAST)
        run_stage(work, monkeypatch)
    return (work / "data/qa/qa.jsonl").read_bytes()


def run_stage(work: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(work)
    synth.main()
    return {
        **json.loads((work / "metrics/synth.json").read_text()),
        **json.loads((work / "metrics/timings/synth.json").read_text()),
    }


def ids_of(prompts: list[str], chunks: list[dict[str, Any]]) -> list[str]:
    by_text = {c["text"]: c["id"] for c in chunks}
    return [by_text[chunk_text_of(prompt)] for prompt in prompts]


def asked(server: FakeOpenAIServer, chunks: list[dict[str, Any]]) -> list[str]:
    """The chunk of every generation request the server received, in order."""
    return ids_of([r["body"]["messages"][-1]["content"] for r in server.chat_requests()], chunks)


def answered(servers: list[FakeOpenAIServer], chunks: list[dict[str, Any]]) -> Counter:
    """How many full replies each chunk got, from all the servers together."""
    return Counter(ids_of([p for s in servers for p in s.answered_prompts()], chunks))


def cached_ids(work: Path) -> list[str]:
    return [r["chunk_id"] for r in all_records(work / CACHE_DIR)]


def lost_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "taken out of rotation" in r.getMessage()
    ]


# ---------------------------------------------------------------- params


def test_base_url_is_one_url_or_a_list() -> None:
    one = build_params("synth", SynthParams, {"backend": "lmstudio", "base_url": "http://a:1234/v1"})
    assert one.base_url == "http://a:1234/v1" and one.base_urls == ("http://a:1234/v1",)
    two = build_params(
        "synth", SynthParams, {"backend": "lmstudio", "base_url": ["http://a/v1", "http://b/v1"]}
    )
    assert two.base_urls == ("http://a/v1", "http://b/v1")
    for bad, says in (
        (["http://a/v1", "http://a/v1/"], "twice"),
        (["http://a/v1", "ftp://b"], "'ftp://b'"),
        ([], "at least one"),
    ):
        with pytest.raises(ParamsError, match=says):
            build_params("synth", SynthParams, {"backend": "lmstudio", "base_url": bad})


# ---------------------------------------------------------------- several servers


def test_two_servers_fill_their_slots_and_give_one_servers_pairs(
    tmp_path: Path, chunks: list, reference: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(latency_s=0.1, slots=4) as a, FakeOpenAIServer(latency_s=0.1, slots=4) as b:
        work = make_workdir(tmp_path, chunks, base_url=[a.url, b.url], **FAST)
        timings = run_stage(work, monkeypatch)
    assert (work / "data/qa/qa.jsonl").read_bytes() == reference
    assert a.max_in_flight == b.max_in_flight == FAST["concurrency"]  # concurrency slots on each server
    assert sorted(asked(a, chunks) + asked(b, chunks)) == sorted(c["id"] for c in chunks)  # each asked once
    assert timings["requests_by_server"] == {a.url: len(a.chat_requests()), b.url: len(b.chat_requests())}
    assert timings["servers_lost"] == 0 and timings["chunks_failed"] == 0


def test_a_server_killed_mid_run_loses_and_repeats_nothing(
    tmp_path: Path,
    chunks: list,
    reference: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A's first request is slow: A answers three others while it is in flight, then dies as its fifth arrives,
    # so the first is cut off at a server that had been answering (a probe of /models finds it gone).
    with (
        FakeOpenAIServer(
            latency_s=0.05,
            slots=2,
            die_after=5,
            faults=lambda n, body: "slow" if n == 0 else None,
            hang_s=1.0,
        ) as a,
        FakeOpenAIServer(latency_s=0.05, slots=2) as b,
    ):
        work = make_workdir(tmp_path, chunks, base_url=[a.url, b.url], **FAST)
        timings = run_stage(work, monkeypatch)
        assert a.dead
    assert (work / "data/qa/qa.jsonl").read_bytes() == reference
    assert (
        lost_warnings(caplog) == [w for w in lost_warnings(caplog) if a.url in w]
        and len(lost_warnings(caplog)) == 1
    )
    cut_off = set(asked(a, chunks)) - set(ids_of(a.answered_prompts(), chunks))
    assert asked(a, chunks)[0] in cut_off and len(a.answered_prompts()) == 3
    assert cut_off <= set(asked(b, chunks))  # A's chunks in flight were asked of B
    assert Counter(asked(b, chunks)).most_common(1)[0][1] == 1  # B was asked no chunk twice
    assert answered([a, b], chunks) == Counter(c["id"] for c in chunks)  # every chunk answered exactly once
    assert sorted(cached_ids(work)) == sorted(c["id"] for c in chunks)
    # requeued: the chunks cut off, and any a worker sent after the death (refused, never asked)
    assert timings["servers_lost"] == 1 and timings["chunks_requeued"] >= len(cut_off)
    assert timings["chunks_failed"] == 0 and timings["failures"] == {}


def test_a_hung_server_is_taken_out_and_the_others_finish(
    tmp_path: Path,
    chunks: list,
    reference: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that still lists its models but never answers a generation request (idle timeouts on every
    retry) is taken out; its chunks come back after the other server has emptied the queue."""
    with (
        FakeOpenAIServer(faults=lambda number, body: "hang", hang_s=3.0) as hung,
        FakeOpenAIServer(latency_s=0.02) as b,
    ):
        work = make_workdir(
            tmp_path, chunks, base_url=[hung.url, b.url], **{**FAST, "timeout_s": 0.3, "max_retries": 1}
        )
        timings = run_stage(work, monkeypatch)
    assert (work / "data/qa/qa.jsonl").read_bytes() == reference
    assert len(lost_warnings(caplog)) == 1 and hung.url in lost_warnings(caplog)[0]
    assert set(asked(hung, chunks)) <= set(asked(b, chunks))
    assert timings["servers_lost"] == 1 and timings["chunks_failed"] == 0


def test_every_server_gone_stops_with_the_answers_cached_and_a_rerun_resumes(
    tmp_path: Path,
    chunks: list,
    reference: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        FakeOpenAIServer(latency_s=0.05, slots=2, die_after=4) as a,
        FakeOpenAIServer(latency_s=0.05, slots=2, die_after=7) as b,
    ):
        work = make_workdir(tmp_path, chunks, base_url=[a.url, b.url], **FAST)
        with pytest.raises(SystemExit) as stopped:
            run_stage(work, monkeypatch)
    assert stopped.value.code == 1 and "no server left" in caplog.text
    assert not (work / "data/qa/qa.jsonl").exists()
    done = answered([a, b], chunks)
    assert sorted(cached_ids(work)) == sorted(done) and 0 < len(done) < len(chunks)

    with FakeOpenAIServer() as c:  # another server, another URL: the cache still answers
        work = make_workdir(work, chunks, base_url=c.url, **FAST)
        timings = run_stage(work, monkeypatch)
    assert sorted(asked(c, chunks)) == sorted(set(c_["id"] for c_ in chunks) - set(done))
    assert timings["chunks_cached"] == len(done)
    assert (work / "data/qa/qa.jsonl").read_bytes() == reference
    assert sorted(cached_ids(work)) == sorted(c_["id"] for c_ in chunks)


def test_an_unreachable_server_is_left_out_from_the_start(
    tmp_path: Path,
    chunks: list,
    reference: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    with FakeOpenAIServer() as b:
        work = make_workdir(tmp_path, chunks, base_url=[dead_url, b.url], **FAST)
        run_stage(work, monkeypatch)
    assert (work / "data/qa/qa.jsonl").read_bytes() == reference
    assert f"{dead_url} left out" in caplog.text and len(b.chat_requests()) == len(chunks)


def test_servers_with_different_models_are_refused(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer(models=("qwen2.5-7b",)) as a, FakeOpenAIServer(models=("llama-3-8b",)) as b:
        work = make_workdir(tmp_path, chunks, base_url=[a.url, b.url], **FAST)
        with pytest.raises(SystemExit):
            run_stage(work, monkeypatch)
    assert "qwen2.5-7b" in caplog.text and "llama-3-8b" in caplog.text and "different models" in caplog.text
    assert a.chat_requests() == b.chat_requests() == []


# ---------------------------------------------------------------- the sharded cache


def test_replies_are_sharded_by_key_and_only_the_needed_shards_are_read(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer() as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **FAST)
        run_stage(work, monkeypatch)
        shards = sorted((work / CACHE_DIR).glob("??.jsonl"))
        assert len(shards) > 1
        for shard in shards:
            assert all(r["key"].startswith(shard.stem) for r in read_jsonl(shard))
        assert (work / CACHE_DIR / "replies.jsonl").read_bytes() == b""

        used = {shard.stem for shard in shards}
        unused = next(f"{i:02x}" for i in range(256) if f"{i:02x}" not in used)
        (work / CACHE_DIR / f"{unused}.jsonl").write_text("not json\n" * 3 + '{"key": "x"}\n')
        before = len(server.chat_requests())
        timings = run_stage(work, monkeypatch)  # that shard holds no key this run needs: never opened
    assert len(server.chat_requests()) == before and timings["chunks_cached"] == len(chunks)


def test_a_shard_torn_by_a_kill_is_cut_and_appended_to_cleanly(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer() as server:
        work = make_workdir(tmp_path, chunks[:8], base_url=server.url, **FAST)
        run_stage(work, monkeypatch)
        records = list(all_records(work / CACHE_DIR))
        victim = records[0]
        shard = work / CACHE_DIR / f"{victim['key'][:2]}.jsonl"
        kept = [r for r in read_jsonl(shard) if r["key"] != victim["key"]]
        write_jsonl(shard, kept)  # the victim's reply was being written when the run was killed:
        with open(shard, "a", encoding="utf-8") as f:
            f.write(json.dumps(victim)[:40])
        work = make_workdir(work, chunks, base_url=server.url, **FAST)
        before = len(server.chat_requests())
        run_stage(work, monkeypatch)
        again = asked(server, chunks)[before:]
    assert "torn last line" in caplog.text
    assert victim["chunk_id"] in again and len(again) == len(chunks) - len(records) + 1
    assert all(line.startswith(b"{") for line in shard.read_bytes().splitlines())
    assert sorted(cached_ids(work)) == sorted(c["id"] for c in chunks)


def test_a_single_file_cache_is_migrated_once_without_duplicates(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer() as server:
        first = make_workdir(tmp_path / "first", chunks, base_url=server.url, **FAST)
        run_stage(first, monkeypatch)
        output = (first / "data/qa/qa.jsonl").read_bytes()
    records = sorted(all_records(first / CACHE_DIR), key=lambda r: r["key"])

    work = make_workdir(tmp_path / "old", chunks, base_url="http://127.0.0.1:9/v1", **FAST)
    legacy = work / CACHE_DIR / "replies.jsonl"
    write_jsonl(legacy, records)
    with open(legacy, "a", encoding="utf-8") as f:
        f.write('{"key": "torn", "chunk_id": "x", "rep')  # the old layout's own torn last line
    half = records[0]  # a migration killed after writing one shard: that key must not be written twice
    write_jsonl(work / CACHE_DIR / f"{half['key'][:2]}.jsonl", [half])
    with FakeOpenAIServer() as server:
        work = make_workdir(work, chunks, base_url=server.url, **FAST)
        timings = run_stage(work, monkeypatch)
        assert server.chat_requests() == [] and timings["chunks_cached"] == len(chunks)
    assert legacy.read_bytes() == b""
    keys = [r["key"] for r in all_records(work / CACHE_DIR)]
    assert sorted(keys) == [r["key"] for r in records]  # each once
    assert (work / "data/qa/qa.jsonl").read_bytes() == output
