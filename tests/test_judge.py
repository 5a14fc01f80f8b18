"""The optional LLM judge against a local fake OpenAI-compatible server: grades read from messy replies,
cached by prompt + model, failures counted as ungraded, a missing server reported before any work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer

from stages.qa.client import ClientSettings, ServerUnavailable
from stages.scoring.judge import Judge, judge_summary, parse_grade


def _grader(prompt: str) -> str:
    """Grades like a careful model: correct when the answer repeats the reference, else wrong; one reply in
    three wrapped in prose instead of JSON."""
    reference = re.search(r"REFERÊNCIA: (.*)", prompt).group(1)
    answer = re.search(r"RESPOSTA: (.*)", prompt).group(1)
    grade = "correta" if answer.strip() == reference.strip() else "errada"
    if len(answer) % 3 == 0:
        return f"Analisando o trecho, a resposta está {grade.upper()} porque..."
    return json.dumps({"nota": grade, "motivo": "comparei com a referência"})


def _items() -> list[dict[str, str]]:
    return [
        {
            "question": f"Pergunta {i}?",
            "reference": f"Prazo de {i} dias.",
            "chunk": "Art. 1º ...",
            "answer": a,
        }
        for i, a in enumerate(["Prazo de 0 dias.", "Outra coisa", "Prazo de 2 dias.", "Nada disso aqui."])
    ]


def test_parse_grade() -> None:
    assert parse_grade('{"nota": "Parcial", "motivo": "x"}') == "parcial"
    assert parse_grade('```json\n{"nota": "correta"}\n```') == "correta"
    assert parse_grade("A resposta está errada.") == "errada"
    assert parse_grade("não sei") is None


def test_grades_are_read_cached_and_counted(tmp_path: Path) -> None:
    cache = tmp_path / "grades.jsonl"
    with FakeOpenAIServer(reply=_grader) as server:
        params = ClientSettings(max_retries=1, retry_backoff_s=0.0, concurrency=2)
        judge = Judge(params, server.url, cache_file=cache)
        grades = judge.grade(_items())
        judge.close()
        assert grades == ["correta", "errada", "correta", "errada"]
        assert judge_summary(grades) == {
            "judge_correct": 0.5,
            "judge_partial": 0.0,
            "judge_wrong": 0.5,
            "judge_ungraded": 0,
        }
        asked = len(server.chat_requests())
        again = Judge(params, server.url, cache_file=cache)
        assert again.grade(_items()) == grades and len(server.chat_requests()) == asked  # all from the cache
        again.close()


def test_a_failed_request_is_ungraded_and_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "grades.jsonl"
    with FakeOpenAIServer(reply=_grader, faults=["500", "500"]) as server:
        judge = Judge(
            ClientSettings(max_retries=1, retry_backoff_s=0.0, concurrency=1), server.url, cache_file=cache
        )
        grades = judge.grade(_items()[:2])
        judge.close()
    assert grades == [None, "errada"]
    assert judge_summary(grades)["judge_ungraded"] == 1
    assert len(cache.read_text().splitlines()) == 1


def test_no_server_is_reported_at_once() -> None:
    with pytest.raises(ServerUnavailable, match="evaluate.judge: .*set evaluate.judge: false"):
        Judge(ClientSettings(timeout_s=1.0), "http://127.0.0.1:9/v1")
    with (
        FakeOpenAIServer(models=("m1",)) as server,
        pytest.raises(ServerUnavailable, match=r"evaluate.judge_model='other' is not on the server .*\(m1\)"),
    ):
        Judge(ClientSettings(), server.url, model="other")
