"""synth.paraphrases: the `lmstudio` backend asks its server for other wordings of each question (real HTTP to a
local stand-in server that answers the pairs prompt with pairs and the paraphrase prompt with paraphrases), and
the reply's parser (stages/qa/paraphrase.py) on its own."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stages import synth
from stages.core.files import read_jsonl
from stages.core.params import ParamsError, build_params
from stages.qa.cache import all_records
from stages.qa.paraphrase import (
    paraphrase_schema,
    paraphrase_targets,
    parse_paraphrases,
    render_paraphrase_prompt,
)
from stages.qa.settings import SynthParams
from stages.text.fold import question_key
from tests.fake_openai_server import FakeOpenAIServer, chunk_text_of, continuation_reply, grounded_pairs
from tests.synth_fixtures import make_workdir, sample_chunks, set_synth_params

FAST = {
    "backend": "lmstudio",
    "retry_backoff_s": 0.01,
    "timeout_s": 2.0,
    "max_retries": 2,
    "concurrency": 2,
    "paraphrases": 3,
}
UNGROUNDED = ("Qual é a cor preferida do reitor?", "O reitor prefere a cor verde-limão em suas gravatas.")
QUESTION_LINE = re.compile(r"^(\d+)\. Pergunta: (.+)$", re.MULTILINE)


# ---------------------------------------------------------------- the stand-in server's replies


def is_paraphrase_prompt(prompt: str) -> bool:
    return "reformulacoes" in prompt


def topic_of(question: str) -> str:
    """The quoted head of a stand-in question: O que o texto diz sobre “<head>”?"""
    return re.search(r"“(.*)”", question).group(1)


def rewrites_of(n: int, question: str) -> list[str]:
    """Question 1: three good rewrites. Question 2 and later: its own wording back (a duplicate), a sentence
    that is not a question, and one good rewrite."""
    topic = topic_of(question)
    if n == 1:
        return [
            f"Você sabe me dizer o que a norma estabelece sobre “{topic}”?",
            f"Preciso saber: o que está previsto quanto a “{topic}”?",
            f"Qual é a regra sobre “{topic}”?",
        ]
    return [question, f"Fale sobre “{topic}”.", f"Como a norma trata “{topic}”?"]


def paraphrase_reply(prompt: str) -> str:
    """Reasoning first, then a fenced JSON reply with one entry per question and one for a question never asked."""
    asked = QUESTION_LINE.findall(prompt)
    entries = [{"n": int(n), "reformulacoes": rewrites_of(int(n), q)} for n, q in asked]
    entries.append({"n": len(asked) + 1, "reformulacoes": ["Qual é o prazo de uma pergunta inexistente?"]})
    body = json.dumps({"perguntas": entries}, ensure_ascii=False, indent=2)
    return f"<think>Reescrevo cada pergunta.</think>\n```json\n{body}\n```"


def stand_in_reply(prompt: str) -> str:
    """The pairs prompt: two grounded pairs and one the chunk does not support; the paraphrase prompt: rewrites."""
    if is_paraphrase_prompt(prompt):
        return paraphrase_reply(prompt)
    pairs = [*grounded_pairs(chunk_text_of(prompt)), UNGROUNDED]
    return json.dumps({"pares": [{"pergunta": q, "resposta": a} for q, a in pairs]}, ensure_ascii=False)


def prompt_of(request: dict[str, Any]) -> str:
    return request["body"]["messages"][-1]["content"]


@pytest.fixture(scope="module")
def chunks() -> list[dict[str, Any]]:
    """Chunks the stand-in asks two grounded questions about, no question asked of two chunks."""
    chosen = [c for c in sample_chunks() if len(grounded_pairs(c["text"])) == 2][:4]
    questions = [question_key(q) for c in chosen for q, _ in grounded_pairs(c["text"])]
    assert len(chosen) == 4 and len(set(questions)) == len(questions)
    return chosen


def run_stage(work: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(work)
    synth.main()
    return {
        **json.loads((work / "metrics/synth.json").read_text()),
        **json.loads((work / "metrics/timings/synth.json").read_text()),
    }


def qa_records(work: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(work / "data/qa/qa.jsonl"))


# ---------------------------------------------------------------- the stage against the stand-in


def test_paraphrases_join_their_facts_and_the_last_valid_one_is_heldout(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(reply=stand_in_reply) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **FAST)
        metrics = run_stage(work, monkeypatch)
    requests = server.chat_requests()
    paraphrase_asks = [r for r in requests if is_paraphrase_prompt(prompt_of(r))]
    assert len(requests) == 2 * len(chunks) == metrics["requests"] and len(paraphrase_asks) == len(chunks)
    for request in paraphrase_asks:  # only the pairs that passed the checks are asked about, numbered 1..2
        assert UNGROUNDED[0] not in prompt_of(request)
        assert [n for n, _ in QUESTION_LINE.findall(prompt_of(request))] == ["1", "2"]
        schema = request["body"]["response_format"]["json_schema"]
        entry = schema["schema"]["properties"]["perguntas"]["items"]
        assert entry["properties"]["n"]["enum"] == [1, 2]
        assert entry["properties"]["reformulacoes"]["maxItems"] == FAST["paraphrases"]

    records = qa_records(work)
    assert len({r["id"] for r in records}) == len(records)
    originals = {r["fact_id"]: r for r in records if r["family"] == ""}
    assert len(originals) == 2 * len(chunks)
    for c in chunks:
        assert {f for f, r in originals.items() if r["chunk_id"] == c["id"]} == {
            f"{c['id']}-l00",
            f"{c['id']}-l01",
        }
    rewrites = [r for r in records if r["family"] in ("llm_paraphrase", "heldout")]
    for r in rewrites:  # same fact, same answer, same chunk as the question it rewrites
        original = originals[r["fact_id"]]
        assert (r["answer"], r["chunk_id"]) == (original["answer"], original["chunk_id"])
        assert r["id"].startswith(r["fact_id"] + "-p") and question_key(r["question"]) != question_key(
            original["question"]
        )
    families = Counter((r["fact_id"][-3:], r["family"]) for r in rewrites)
    # l00: three valid rewrites, the last heldout; l01: one valid rewrite, so no heldout
    assert families == {
        ("l00", "llm_paraphrase"): 2 * len(chunks),
        ("l00", "heldout"): len(chunks),
        ("l01", "llm_paraphrase"): len(chunks),
    }
    heldout = [r for r in records if r["family"] == "heldout"]
    assert all(r["id"].endswith("-l00-p02") for r in heldout)

    assert metrics["paraphrase_requests"] == len(chunks) and metrics["paraphrase_failed_chunks"] == 0
    assert metrics["paraphrases_parsed"] == 6 * len(chunks) and metrics["paraphrases_out_of_range"] == len(
        chunks
    )
    assert metrics["paraphrases_accepted"] == 4 * len(chunks) and metrics["paraphrases_heldout"] == len(
        chunks
    )
    assert metrics["paraphrases_rejected"] == {"duplicate": len(chunks), "not_a_question": len(chunks)}
    assert metrics["rejected"] == {"ungrounded": len(chunks)}  # the first pass's own
    assert metrics["accepted"] == len(records) == 6 * len(chunks)
    assert metrics["heldout_phrasings"] == len(chunks)
    rejected = list(read_jsonl(work / "data/qa/rejected.jsonl"))
    duplicates = [r for r in rejected if r["reason"] == "duplicate"]
    assert {r["fact_id"] for r in duplicates} == {f"{c['id']}-l01" for c in chunks}
    assert all(r["family"] == "llm_paraphrase" for r in duplicates)


def test_a_second_run_is_served_from_the_cache(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(reply=stand_in_reply) as server:
        work = make_workdir(tmp_path, chunks[:2], base_url=server.url, **FAST)
        run_stage(work, monkeypatch)
        first = (work / "data/qa/qa.jsonl").read_bytes()
        metrics = run_stage(work, monkeypatch)
        assert metrics["requests"] == 0 and len(server.chat_requests()) == 4
    assert metrics["chunks_cached"] == 2 and metrics["paraphrases_cached"] == 2
    assert (work / "data/qa/qa.jsonl").read_bytes() == first and b"heldout" in first

    with FakeOpenAIServer(reply=stand_in_reply) as server:  # another number of rewrites: asked again
        work = make_workdir(tmp_path, chunks[:2], base_url=server.url, **{**FAST, "paraphrases": 2})
        metrics = run_stage(work, monkeypatch)
    assert metrics["chunks_cached"] == 2 and metrics["paraphrases_cached"] == 0 and metrics["requests"] == 2


def test_a_failed_paraphrase_request_keeps_the_pairs_and_is_asked_again(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    marker = grounded_pairs(chunks[1]["text"])[0][0]

    def fails_for_chunk_1(number: int, body: dict) -> str | None:
        prompt = body["messages"][-1]["content"]
        return "500" if is_paraphrase_prompt(prompt) and marker in prompt else None

    with FakeOpenAIServer(reply=stand_in_reply, faults=fails_for_chunk_1) as server:
        work = make_workdir(tmp_path, chunks, base_url=server.url, **FAST)
        metrics = run_stage(work, monkeypatch)
    assert len(server.chat_requests()) == 2 * len(chunks) + FAST["max_retries"]
    assert metrics["paraphrase_failed_chunks"] == 1 and metrics["paraphrase_failures"] == {"http_500": 1}
    assert metrics["chunks_failed"] == 0 and metrics["failures"] == {}
    on_chunk_1 = [r for r in qa_records(work) if r["chunk_id"] == chunks[1]["id"]]
    assert [r["family"] for r in on_chunk_1] == ["", ""]  # its first-pass pairs, without rewrites
    failed = [
        r for r in read_jsonl(work / "data/qa/rejected.jsonl") if r["reason"] == "paraphrase_request_failed"
    ]
    assert [(r["chunk_id"], r["error"]["kind"]) for r in failed] == [(chunks[1]["id"], "http_500")]
    assert any(
        r.levelname == "WARNING" and "paraphrase request of 1 of 4" in r.getMessage() for r in caplog.records
    )

    with FakeOpenAIServer(reply=stand_in_reply) as server:  # the server is well again: only that one is asked
        set_synth_params(work, base_url=server.url)
        metrics = run_stage(work, monkeypatch)
        asked = [prompt_of(r) for r in server.chat_requests()]
    assert len(asked) == 1 and is_paraphrase_prompt(asked[0]) and marker in asked[0]
    assert metrics["paraphrase_failed_chunks"] == 0 and metrics["paraphrases_heldout"] == len(chunks)


def test_a_run_killed_during_the_paraphrases_resumes_without_loss_or_repeats(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequential = {**FAST, "concurrency": 1}
    with FakeOpenAIServer(reply=stand_in_reply) as server:
        reference = make_workdir(tmp_path / "reference", chunks, base_url=server.url, **sequential)
        run_stage(reference, monkeypatch)

    # pairs of every chunk and the paraphrases of two answered, then the server dies at the next request
    with FakeOpenAIServer(reply=stand_in_reply, die_after=len(chunks) + 3) as server:
        work = make_workdir(tmp_path / "killed", chunks, base_url=server.url, **sequential)
        with pytest.raises(SystemExit):
            run_stage(work, monkeypatch)
    assert not (work / "data/qa/qa.jsonl").exists()

    with FakeOpenAIServer(reply=stand_in_reply) as server:
        set_synth_params(work, base_url=server.url)
        metrics = run_stage(work, monkeypatch)
        asked = [prompt_of(r) for r in server.chat_requests()]
    assert len(asked) == len(chunks) - 2 and all(map(is_paraphrase_prompt, asked))
    assert metrics["chunks_cached"] == len(chunks) and metrics["paraphrases_cached"] == 2
    assert (work / "data/qa/qa.jsonl").read_bytes() == (reference / "data/qa/qa.jsonl").read_bytes()
    keys = [r["key"] for r in all_records(work / "data/cache/synth")]
    assert len(keys) == len(set(keys)) == 2 * len(chunks)


def test_a_completion_model_is_asked_no_paraphrases(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer(completion_reply=continuation_reply) as server:
        work = make_workdir(tmp_path, chunks[:2], base_url=server.url, prompt_style="completion", **FAST)
        metrics = run_stage(work, monkeypatch)
    assert len(server.chat_requests()) == 2 and metrics["paraphrase_requests"] == 0
    warnings = [r for r in caplog.records if "needs a chat model" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert {r["family"] for r in qa_records(work)} == {""}


def test_paraphrases_zero_asks_once_per_chunk(
    tmp_path: Path, chunks: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(reply=stand_in_reply) as server:
        work = make_workdir(tmp_path, chunks[:2], base_url=server.url, **{**FAST, "paraphrases": 0})
        metrics = run_stage(work, monkeypatch)
    assert len(server.chat_requests()) == 2 and metrics["paraphrase_requests"] == 0
    assert [r["fact_id"] for r in qa_records(work)] == [
        f"{c['id']}-l{i:02d}" for c in chunks[:2] for i in (0, 1)
    ]


def test_paraphrases_must_not_be_negative() -> None:
    with pytest.raises(ParamsError, match="synth.paraphrases must be >= 0"):
        build_params("synth", SynthParams, {"paraphrases": -1})


# ---------------------------------------------------------------- the reply parser


def entries(*items: tuple[int, list[str]]) -> str:
    return json.dumps({"perguntas": [{"n": n, "reformulacoes": r} for n, r in items]}, ensure_ascii=False)


def test_a_reasoning_block_and_a_fence_are_read_past() -> None:
    reply = (
        "<think>Primeiro {a pergunta 1}.</think>\nAqui está:\n```json\n"
        + entries((2, ["B?"]), (1, ["A?"]))
        + "\n```"
    )
    parsed = parse_paraphrases(reply, questions=2, paraphrases=3)
    assert parsed.by_question == [["A?"], ["B?"]] and parsed.why_none == ""


def test_a_reply_cut_off_keeps_its_complete_entries_and_strings() -> None:
    whole = entries((1, ["Qual o prazo?", "Em quantos dias?"]), (2, ["Quem decide?", "A quem cabe decidir?"]))
    cut = whole[: whole.index("A quem") + 4]
    parsed = parse_paraphrases(cut, questions=2, paraphrases=3, cut=True)
    assert parsed.by_question == [["Qual o prazo?", "Em quantos dias?"], ["Quem decide?"]]
    nothing = parse_paraphrases('{"perguntas": [{"n": 1, "reformulacoes": ["Qual o pra', 2, 3, cut=True)
    assert nothing.by_question == [[], []] and nothing.why_none == "truncated"


def test_an_entry_out_of_range_or_without_a_number_is_dropped() -> None:
    reply = json.dumps(
        {
            "perguntas": [
                {"n": 0, "reformulacoes": ["Zero?"]},
                {"n": 3, "reformulacoes": ["Três?"]},
                {"reformulacoes": ["Sem número?"]},
                {"n": "2", "reformulacoes": ["Dois?"]},
            ]
        }
    )
    parsed = parse_paraphrases(reply, questions=2, paraphrases=3)
    assert parsed.by_question == [[], ["Dois?"]] and parsed.out_of_range == 3


def test_at_most_paraphrases_each_placeholders_and_repeats_left_out() -> None:
    reply = entries((1, ["...", "A?", "A?", "B?", "C?", "D?"]))
    assert parse_paraphrases(reply, questions=1, paraphrases=3).by_question == [["A?", "B?", "C?"]]


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "empty_reply"),
        ('<think>Vou escrever {"n": 1, "reformulacoes": ["A?"]}', "reasoning_cut_off"),
        ('{"pares": [{"pergunta": "A?", "resposta": "B."}]}', "no_paraphrases_parsed"),
    ],
)
def test_why_a_reply_gave_none(reply: str, why: str) -> None:
    parsed = parse_paraphrases(reply, questions=1, paraphrases=3)
    assert parsed.by_question == [[]] and parsed.why_none == why


def test_the_prompt_numbers_the_questions_the_schema_names_those_numbers() -> None:
    template = (
        Path(__file__).resolve().parents[1].joinpath("prompts/paraphrase_pt.txt").read_text(encoding="utf-8")
    )
    prompt = render_paraphrase_prompt(
        template, "portaria_x", [("Qual o prazo?", "Dez dias."), ("Quem?", "O reitor.")], 3
    )
    assert QUESTION_LINE.findall(prompt) == [("1", "Qual o prazo?"), ("2", "Quem?")]
    assert "Resposta: Dez dias." in prompt and "3 outras perguntas" in prompt and "{" in prompt
    entry = paraphrase_schema(2, 3)["schema"]["properties"]["perguntas"]["items"]
    assert entry["properties"]["n"]["enum"] == [1, 2] and entry["required"] == ["n", "reformulacoes"]


def test_only_pairs_that_pass_the_checks_are_paraphrased() -> None:
    chunk = "Art. 3º A reserva deverá ser feita com antecedência mínima de 2 (dois) dias úteis."
    pairs = [
        ("Qual a antecedência mínima da reserva?", "Antecedência mínima de 2 (dois) dias úteis."),
        UNGROUNDED,
        ("Reserva", "Antecedência mínima de 2 dias úteis."),  # not a question
    ]
    assert paraphrase_targets(pairs, chunk, 0.5, frozenset()) == [0]
