"""The `lmstudio` backend against a local fake OpenAI-compatible server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import logging
import random
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from stages import synth
from stages.core.files import read_jsonl
from stages.qa.client import api_key_from_env
from tests.fake_openai_server import FakeOpenAIServer, chunk_text_of, continuation_reply, messy_reply
from tests.synth_fixtures import make_workdir, sample_chunks, set_synth_params

SECRET = "sk-test-Sup3rSecret-4242"
# one request per chunk: the paraphrase pass has its own tests (test_synth_paraphrase.py)
FAST = {
    "backend": "lmstudio",
    "retry_backoff_s": 0.01,
    "timeout_s": 5.0,
    "max_retries": 3,
    "concurrency": 4,
    "paraphrases": 0,
}


@pytest.fixture
def chunks() -> list[dict[str, Any]]:
    return sample_chunks()[:8]


def run_stage(work: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(work)
    synth.main()
    results = json.loads((work / "metrics/synth.json").read_text())
    return {
        **results,
        **json.loads((work / "metrics/timings/synth.json").read_text()),
    }  # + cache hits, requests


def chunk_of_request(request: dict[str, Any], chunks: list[dict[str, Any]]) -> str:
    text = chunk_text_of(request["body"]["messages"][-1]["content"])
    return next(c["id"] for c in chunks if c["text"] == text)


def test_answers_parsed_ordered_and_key_kept_secret(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LMSTUDIO_API_KEY", SECRET)
    with FakeOpenAIServer(
        latency_s=0.02, slots=4, models=("text-embedding-nomic-embed-text-v1.5", "fake-model")
    ) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **FAST)
        metrics = run_stage(work, monkeypatch)
    requests = server.chat_requests()
    assert len(requests) == len(chunks) == metrics["requests"]
    assert {r["auth"] for r in server.requests} == {f"Bearer {SECRET}"}  # /models included
    assert all(r["body"]["response_format"]["type"] == "json_schema" for r in requests)
    assert all(r["body"]["model"] == "fake-model" for r in requests)  # model "" = the first chat model listed

    records = list(read_jsonl(work / "data/qa/qa.jsonl"))
    order = [c["id"] for c in chunks]
    assert [order.index(r["chunk_id"]) for r in records] == sorted(
        order.index(r["chunk_id"]) for r in records
    )
    assert len(records) == metrics["accepted"] >= len(chunks)  # the fake answers two grounded pairs a chunk
    assert {r["backend"] for r in records} == {"lmstudio"} and {r["model"] for r in records} == {"fake-model"}
    assert metrics["parse_yield"] == 1.0 and metrics["failures"] == {} and metrics["retries"] == 0

    assert SECRET not in caplog.text
    for path in work.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_api_key_comes_from_env_lmstudio_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMSTUDIO_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert api_key_from_env() == "sk-openai"
    monkeypatch.setenv("LMSTUDIO_API_KEY", "sk-lm")
    assert api_key_from_env() == "sk-lm"


def test_transient_faults_are_retried(tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch) -> None:
    faults = ["500", "429", "drop", "garbage", "hang", "503"]
    with FakeOpenAIServer(faults=list(faults), retry_after_s=0.05, hang_s=1.5) as server:
        work = make_workdir(
            tmp_path, chunks, base_url=server.url, **{**FAST, "timeout_s": 0.5, "max_retries": 6}
        )
        metrics = run_stage(work, monkeypatch)
    assert [r["fault"] for r in server.chat_requests() if r["fault"]] == faults
    assert metrics["retries"] == len(faults) and metrics["requests"] == len(chunks) + len(faults)
    assert metrics["failures"] == {} and metrics["chunks_failed"] == 0 and metrics["accepted"] >= len(chunks)


def test_persistent_failure_is_recorded_then_retried_next_run(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_text = chunks[3]["text"]

    def faults(number: int, body: dict) -> str | None:
        return "500" if chunk_text_of(body["messages"][-1]["content"]) == bad_text else None

    with FakeOpenAIServer(faults=faults) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **{**FAST, "max_failure_rate": 0.2})
        metrics = run_stage(work, monkeypatch)  # 1 of 8 failed: under the limit, exit 0
        assert metrics["failures"] == {"http_500": 1} and metrics["chunks_failed"] == 1
        assert metrics["retries"] == FAST["max_retries"]
        failed = [r for r in read_jsonl(work / "data/qa/rejected.jsonl") if r["reason"] == "request_failed"]
        assert [(r["chunk_id"], r["error"]["kind"]) for r in failed] == [(chunks[3]["id"], "http_500")]
        assert chunks[3]["id"] not in {r["chunk_id"] for r in read_jsonl(work / "data/qa/qa.jsonl")}

        set_synth_params(work, max_failure_rate=0.1)
        before = len(server.chat_requests())
        with pytest.raises(SystemExit) as exit_info:
            run_stage(work, monkeypatch)
        assert exit_info.value.code == 1
        again = server.chat_requests()[before:]  # answered chunks came from the cache
        assert {chunk_of_request(r, chunks) for r in again} == {chunks[3]["id"]}
        assert len(again) == 1 + FAST["max_retries"]
    assert json.loads((work / "metrics/timings/synth.json").read_text())["chunks_cached"] == len(chunks) - 1


def test_rejected_response_format_falls_back_once(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer(reject_response_format=True) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **FAST)
        metrics = run_stage(work, monkeypatch)
    warnings = [r for r in caplog.records if "response_format" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    rejected = [r for r in server.chat_requests() if r["fault"] == "400"]
    assert 1 <= len(rejected) <= FAST["concurrency"]  # only requests already in flight were refused
    assert metrics["structured_fallback"] is True and metrics["failures"] == {} and metrics["retries"] == 0
    assert metrics["accepted"] >= len(chunks)


def test_truncated_and_empty_replies_are_recorded(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = {0: "length", 1: "null", 2: "think_cut"}
    with FakeOpenAIServer(faults=lambda number, body: script.get(number)) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **{**FAST, "concurrency": 1})
        metrics = run_stage(work, monkeypatch)
    rejected = metrics["rejected"]
    assert rejected.get("truncated") == 1 and rejected.get("empty_reply") == 1
    assert rejected.get("reasoning_cut_off") == 1  # its draft pair is not taken
    assert metrics["parse_yield"] == round((len(chunks) - 3) / len(chunks), 4)
    reasons = {r["chunk_id"]: r["reason"] for r in read_jsonl(work / "data/qa/rejected.jsonl")}
    assert reasons[chunks[0]["id"]] == "truncated" and reasons[chunks[1]["id"]] == "empty_reply"
    assert reasons[chunks[2]["id"]] == "reasoning_cut_off"


def test_server_down_or_model_missing_fails_fast(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    work = make_workdir(tmp_path / "down", chunks, base_url=dead_url, **FAST)
    with pytest.raises(SystemExit) as exit_info:
        run_stage(work, monkeypatch)
    assert exit_info.value.code == 1
    assert (
        f"{dead_url}/models" in caplog.text and "LM Studio" in caplog.text and "backend=rules" in caplog.text
    )
    assert not (work / "data/qa/qa.jsonl").exists()

    caplog.clear()
    with FakeOpenAIServer(models=("qwen2.5-7b-instruct",)) as server:
        work = make_workdir(
            tmp_path / "nomodel", chunks, base_url=server.url, model="meta-llama-3-8b-instruct", **FAST
        )
        with pytest.raises(SystemExit):
            run_stage(work, monkeypatch)
    assert "meta-llama-3-8b-instruct" in caplog.text and "qwen2.5-7b-instruct" in caplog.text
    assert server.chat_requests() == []


def test_cache_skips_answered_chunks_and_reasks_a_changed_one(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer() as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **FAST)
        run_stage(work, monkeypatch)
        first_output = (work / "data/qa/qa.jsonl").read_bytes()
        metrics = run_stage(work, monkeypatch)
        assert metrics["requests"] == 0 and metrics["chunks_cached"] == len(chunks)
        assert (work / "data/qa/qa.jsonl").read_bytes() == first_output

        changed = [dict(c) for c in chunks]
        changed[5]["text"] += " Parágrafo único. O prazo será contado em dias úteis."
        work2 = make_workdir(tmp_path, changed, base_url=server.url, **FAST)
        before = len(server.chat_requests())
        metrics = run_stage(work2, monkeypatch)
        assert [chunk_of_request(r, changed) for r in server.chat_requests()[before:]] == [changed[5]["id"]]
        assert metrics["requests"] == 1 and metrics["chunks_cached"] == len(chunks) - 1


def test_output_does_not_depend_on_concurrency(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    jitter = random.Random(7)

    def slow_reply(prompt: str) -> str:
        time.sleep(jitter.uniform(0, 0.05))  # replies finish out of order
        return messy_reply(prompt)

    outputs = []
    with FakeOpenAIServer(reply=slow_reply, slots=8) as server:
        for concurrency in (1, 4):
            work = make_workdir(
                tmp_path / str(concurrency),
                chunks,
                base_url=server.url,
                **{**FAST, "concurrency": concurrency},
            )
            run_stage(work, monkeypatch)
            outputs.append((work / "data/qa/qa.jsonl").read_bytes())
    assert outputs[0] == outputs[1] and outputs[0]


# ---------------------------------------------------------------- streaming, timeouts and budget


def test_a_slow_stream_that_never_stalls_completes(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each reply trickles in over ~1.5 s (a laptop CPU writing tokens), three times timeout_s, and is never
    silent for timeout_s: it completes on the first attempt."""
    with FakeOpenAIServer(piece_chars=6, piece_delay_s=0.02) as server:
        work = make_workdir(
            tmp_path, chunks[:2], base_url=server.url, **{**FAST, "timeout_s": 0.5, "max_retries": 0}
        )
        started = time.monotonic()
        metrics = run_stage(work, monkeypatch)
        seconds = time.monotonic() - started
    requests = server.chat_requests()
    assert all(r["body"]["stream"] is True for r in requests)
    assert seconds > 3 * 0.5 / 2  # two chunks in parallel, each longer than timeout_s
    assert metrics["failures"] == {} and len(requests) == 2 and metrics["accepted"] >= 2


def test_a_stream_silent_for_timeout_s_is_retried(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(faults=["stall"], hang_s=1.5) as server:
        work = make_workdir(
            tmp_path, chunks[:3], base_url=server.url, **{**FAST, "timeout_s": 0.4, "concurrency": 1}
        )
        metrics = run_stage(work, monkeypatch)
    assert [r["fault"] for r in server.chat_requests()] == ["stall", None, None, None]
    assert metrics["failures"] == {} and metrics["chunks_failed"] == 0
    timings = json.loads((work / "metrics/timings/synth.json").read_text())
    assert timings["retries"] == 1 and timings["requests"] == 4


def test_a_reply_over_budget_fails_without_retry(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(piece_chars=4, piece_delay_s=0.05) as server:
        work = make_workdir(
            tmp_path,
            chunks[:1],
            base_url=server.url,
            **{**FAST, "timeout_s": 1.0, "budget_s": 0.3, "max_failure_rate": 1.0},
        )
        metrics = run_stage(work, monkeypatch)
    assert metrics["failures"] == {"budget": 1} and len(server.chat_requests()) == 1
    (failed,) = read_jsonl(work / "data/qa/rejected.jsonl")
    assert "synth.budget_s" in failed["error"]["message"]


# ---------------------------------------------------------------- which model, and what a 400 means

LM_MODELS = [
    {
        "id": "text-embedding-nomic-embed-text-v1.5",
        "object": "model",
        "type": "embeddings",
        "state": "loaded",
    },
    {"id": "qwen2.5-7b-instruct", "object": "model", "type": "llm", "state": "not-loaded"},
    {
        "id": "google/gemma-3-4b",
        "object": "model",
        "type": "vlm",
        "state": "loaded",
        "max_context_length": 8192,
    },
]


def test_the_loaded_model_is_picked_from_lm_studios_list(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer(lm_models=LM_MODELS, models=tuple(m["id"] for m in LM_MODELS)) as server:
        work = make_workdir(tmp_path / "auto", chunks[:2], base_url=server.url, **FAST)
        metrics = run_stage(work, monkeypatch)
        assert metrics["model"] == "google/gemma-3-4b"  # loaded and generative; the embedding model is not
        assert {r["body"]["model"] for r in server.chat_requests()} == {"google/gemma-3-4b"}
        assert "/api/v0/models" in [r["path"] for r in server.requests]

        caplog.clear()
        work = make_workdir(tmp_path / "wrong", chunks[:2], base_url=server.url, model="llama-3-8b", **FAST)
        with pytest.raises(SystemExit):
            run_stage(work, monkeypatch)
        assert "synth.model='llama-3-8b'" in caplog.text
        assert "loaded: google/gemma-3-4b; downloaded: qwen2.5-7b-instruct, google/gemma-3-4b" in caplog.text

    unloaded = [{**m, "state": "not-loaded"} for m in LM_MODELS]
    caplog.clear()
    with FakeOpenAIServer(lm_models=unloaded) as server:
        work = make_workdir(tmp_path / "none", chunks[:2], base_url=server.url, **FAST)
        with pytest.raises(SystemExit):
            run_stage(work, monkeypatch)
        assert server.chat_requests() == []
    assert "no model is loaded" in caplog.text and "lms load" in caplog.text


def test_a_prompt_over_the_context_is_reported_not_retried(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(faults=lambda number, body: "context" if number == 0 else None) as server:
        work = make_workdir(
            tmp_path, chunks[:4], base_url=server.url, **{**FAST, "concurrency": 1, "max_failure_rate": 0.5}
        )
        metrics = run_stage(work, monkeypatch)
    assert metrics["failures"] == {"context_length": 1} and metrics["structured_fallback"] is False
    assert len(server.chat_requests()) == 4  # not retried
    assert all("response_format" in r["body"] for r in server.chat_requests())  # not taken for a schema error
    failed = [r for r in read_jsonl(work / "data/qa/rejected.jsonl") if r["reason"] == "request_failed"]
    assert "chunk.max_tokens" in failed[0]["error"]["message"]


def test_other_400s_keep_structured_output(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(faults=lambda number, body: "bad_request" if number == 0 else None) as server:
        work = make_workdir(
            tmp_path, chunks[:3], base_url=server.url, **{**FAST, "concurrency": 1, "max_failure_rate": 0.5}
        )
        metrics = run_stage(work, monkeypatch)
    assert metrics["failures"] == {"http_400": 1} and metrics["structured_fallback"] is False
    assert all("response_format" in r["body"] for r in server.chat_requests())


def test_an_error_event_mid_stream_is_retried(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(faults=["stream_error"]) as server:
        work = make_workdir(tmp_path, chunks[:2], base_url=server.url, **{**FAST, "concurrency": 1})
        metrics = run_stage(work, monkeypatch)
    assert metrics["failures"] == {} and len(server.chat_requests()) == 3


# ---------------------------------------------------------------- base models: a text to continue


def test_completion_style_for_base_models(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    def copies_the_example_once(prompt: str) -> str:
        if chunks[1]["text"] in prompt:  # one reply copies the example pair shown in the prompt
            return " Qual o prazo para requerer segunda chamada?\nResposta: O estudante poderá requerer segunda chamada.\n\n"
        return continuation_reply(prompt)

    fewshot = (
        "Texto: O estudante poderá requerer segunda chamada.\nPergunta: Qual o prazo para requerer segunda chamada?\n"
        "Resposta: O estudante poderá requerer segunda chamada.\n\nTexto: {text}\n\nPerguntas e respostas sobre o texto "
        "acima:\n\nPergunta:\n"
    )
    (tmp_path / "prompts").mkdir(parents=True)
    with FakeOpenAIServer(models=("gemma-3-270m",), completion_reply=copies_the_example_once) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, prompt_style="completion", **FAST)
        (work / "prompts" / "fewshot.txt").write_text(fewshot, encoding="utf-8")
        set_synth_params(work, completion_prompt="prompts/fewshot.txt")
        metrics = run_stage(work, monkeypatch)
    requests = server.chat_requests()
    assert {r["path"] for r in requests} == {"/v1/completions"}
    body = requests[0]["body"]
    assert body["prompt"].endswith("Pergunta:") and "response_format" not in body
    assert body["stop"] == ["\nTexto:", "\n\n\n", "<end_of_turn>", "<eos>"]  # the prompt's, then gemma's
    assert metrics["accepted"] >= len(chunks) - 1 and metrics["rejected"].get("example_echo", 0) >= 1
    assert metrics["parse_yield"] >= 0.8
