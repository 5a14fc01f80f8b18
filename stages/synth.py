"""Stage synth: chunks -> synthetic question/answer pairs (data/qa/qa.jsonl, data/qa/rejected.jsonl).

Backends: `rules` (offline, deterministic: stages/qa_rules.py) or `lmstudio` (any OpenAI-compatible
chat server: LM Studio, llama.cpp's server, Ollama, vLLM, `transformers serve`; stages/llm_client.py).
Every parsed pair is validated (non-empty, length, is a question, grounded in its chunk, not a duplicate);
whatever is dropped goes to rejected.jsonl with its reason. Server replies are cached per chunk under
data/cache/synth (appended and fsynced as they arrive), so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages.common import (
    MissingInputError,
    ParamsError,
    append_jsonl,
    load_params,
    read_jsonl,
    require_input,
    run_main,
    stable_hash,
    write_json,
    write_jsonl,
    write_timings,
)
from stages.legis import document_title
from stages.llm_client import ChatClient, RequestFailed, ServerUnavailable, api_key_from_env
from stages.qa_parse import fold, normalize_question, parse_qa_pairs
from stages.qa_rules import rules_pairs
from stages.records import (
    CHUNKS_FILE,
    QA_FILE,
    REJECTED_FILE,
    SYNTH_CACHE_FILE,
    Chunk,
    QAPair,
    RecordError,
    from_dict,
    metrics_file,
    to_dict,
)

__all__ = ["SynthParams", "parse_qa_pairs", "grounding_score", "validate_pair", "main"]

log = logging.getLogger("stages.synth")

RULES_MODEL = "qa_rules-v1"  # bump when stages/qa_rules.py changes what it produces

QUESTION_CHARS = (10, 400)  # a question outside these bounds is a fragment or a rambling reply
ANSWER_CHARS = (2, 2000)
INTERROGATIVES = tuple(
    "qual|quais|quem|quando|onde|como|quanto|quantos|quantas|o que|por que|em que|a quem|de que".split("|")
)
# Portuguese function words: they match any chunk, so they do not count towards grounding.
STOPWORDS = set(
    "que com para por uma uns umas dos das nos nas pelo pela pelos pelas nao sao ser como mais sua seu suas seus "
    "este esta estes estas isso isto esse essa ele ela eles elas ao aos sobre entre tem sera deve pode qual quais "
    "the and".split()
)


@dataclass(frozen=True)
class SynthParams:
    backend: str = "rules"  # rules | lmstudio
    base_url: str = "http://localhost:1234/v1"  # LM Studio's default local server
    model: str = ""  # "" = the first model the server lists
    prompt: str = "prompts/qa_pt.txt"
    pairs_per_chunk: int = 2
    structured: bool = True  # send response_format=json_schema; dropped if the server rejects it
    temperature: float = 0.2
    max_tokens: int = 768
    concurrency: int = 4  # LM Studio's default number of parallel predictions
    max_retries: int = 4
    retry_backoff_s: float = 1.0  # first backoff cap; doubles per retry (full jitter)
    timeout_s: float = 120.0
    max_failure_rate: float = 0.2
    min_grounding: float = 0.5

    def problems(self) -> list[str]:
        out = []
        if self.backend not in ("rules", "lmstudio"):
            out.append(f"synth.backend must be rules or lmstudio, got {self.backend!r}")
        if self.backend == "lmstudio" and not re.match(r"https?://", self.base_url):
            out.append(f"synth.base_url must start with http:// or https://, got {self.base_url!r}")
        for name in ("pairs_per_chunk", "max_tokens", "concurrency"):
            if getattr(self, name) < 1:
                out.append(f"synth.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_retries < 0:
            out.append(f"synth.max_retries must be >= 0, got {self.max_retries}")
        if self.timeout_s <= 0 or self.retry_backoff_s < 0:
            out.append("synth.timeout_s must be > 0 and synth.retry_backoff_s >= 0")
        if not 0 <= self.temperature <= 2:
            out.append(f"synth.temperature must be in [0, 2], got {self.temperature}")
        for name in ("max_failure_rate", "min_grounding"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"synth.{name} must be in [0, 1], got {getattr(self, name)}")
        return out


# ---------------------------------------------------------------- pure: prompt, validation


def render_prompt(template: str, chunk: Chunk, pairs_per_chunk: int) -> str:
    articles = ", ".join(chunk.articles) or "—"
    return template.format(pairs_per_chunk=pairs_per_chunk, doc=chunk.doc, articles=articles, text=chunk.text)


def response_schema(pairs_per_chunk: int) -> dict[str, Any]:
    """JSON schema for `response_format` (OpenAI / LM Studio structured output)."""
    pair = {
        "type": "object",
        "properties": {"pergunta": {"type": "string"}, "resposta": {"type": "string"}},
        "required": ["pergunta", "resposta"],
        "additionalProperties": False,
    }
    pairs = {"type": "array", "items": pair, "minItems": 1, "maxItems": pairs_per_chunk}
    schema = {
        "type": "object",
        "properties": {"pares": pairs},
        "required": ["pares"],
        "additionalProperties": False,
    }
    return {"name": "pares_pergunta_resposta", "strict": True, "schema": schema}


def content_tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"\w+", fold(text)) if (len(t) > 2 or t.isdigit()) and t not in STOPWORDS]


def grounding_score(answer: str, chunk_text: str) -> float:
    """Share of the answer's content words that occur in the chunk (0 when it has none)."""
    words = content_tokens(answer)
    if not words:
        return 0.0
    vocabulary = set(content_tokens(chunk_text))
    return sum(w in vocabulary for w in words) / len(words)


def validate_pair(question: str, answer: str, chunk_text: str, min_grounding: float) -> str | None:
    """Why the pair is rejected (None when it is fine); duplicates are checked by the caller."""
    if not question.strip() or not answer.strip():
        return "empty"
    if not QUESTION_CHARS[0] <= len(question) <= QUESTION_CHARS[1]:
        return "question_length"
    if not ANSWER_CHARS[0] <= len(answer) <= ANSWER_CHARS[1]:
        return "answer_length"
    if not (question.rstrip().endswith("?") or fold(question).startswith(INTERROGATIVES)):
        return "not_a_question"
    if grounding_score(answer, chunk_text) < min_grounding:
        return "ungrounded"
    return None


# ---------------------------------------------------------------- the server backend


def cache_key(prompt: str, model: str, p: SynthParams) -> str:
    return stable_hash(prompt, p.backend, model, p.temperature, p.max_tokens, p.structured, p.pairs_per_chunk)


def ask_chunk(client: ChatClient, prompt: str, model: str, p: SynthParams) -> dict[str, Any]:
    """One chunk's request; a record for the cache, or {"error": ...} when it failed for good."""
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": p.temperature,
        "max_tokens": p.max_tokens,
        "stream": False,
    }
    schema = response_schema(p.pairs_per_chunk) if p.structured else None
    try:
        reply = client.complete(payload, schema)
    except RequestFailed as e:
        return {"error": {"kind": e.kind, "message": str(e)}, "retries": e.retries}
    return {"reply": reply.content, "finish_reason": reply.finish_reason, "retries": reply.retries}


def resolve_model(client: ChatClient, wanted: str) -> str:
    """Check the server answers (fast) and that the model is there; the model id to send."""
    hint = (
        "Start LM Studio's local server (Developer tab > Start server, or `lms server start`) and load a model, "
        "or run the offline generator: dvc exp run --set-param synth.backend=rules"
    )
    try:
        models = client.list_models()
    except ServerUnavailable as e:
        raise ServerUnavailable(f"synth: {e}. {hint}") from None
    if wanted and wanted not in models:
        raise ServerUnavailable(
            f"synth: model {wanted!r} is not among those {client.base_url}/models lists ({', '.join(models) or 'none'}). {hint}"
        )
    # LM Studio with just-in-time loading lists every downloaded model, embedding models included.
    chat_models = [m for m in models if "embed" not in m.lower()]
    if not wanted and not chat_models:
        raise ServerUnavailable(
            f"synth: {client.base_url}/models lists no chat model ({', '.join(models) or 'none'}). {hint}"
        )
    return wanted or chat_models[0]


def open_cache(path: Path) -> tuple[dict[str, dict[str, Any]], Any]:
    """Cached replies by key, and the file open for appending (a torn last line from a kill is cut off)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cached = {}
    if path.exists():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
            log.warning("%s: dropped a torn last line (interrupted write)", path)
        cached = {r["key"]: r for r in read_jsonl(path) if "key" in r}
    return cached, open(path, "a", encoding="utf-8")


def server_results(chunks: list[Chunk], p: SynthParams, stats: Counter) -> tuple[dict[str, dict], str]:
    """Reply records by chunk id, asking the server only for chunks not in the cache."""
    try:
        template = Path(p.prompt).read_text(encoding="utf-8")
        prompts = {c.id: render_prompt(template, c, p.pairs_per_chunk) for c in chunks}
    except (OSError, KeyError, IndexError, ValueError) as e:
        raise ParamsError(f"synth.prompt {p.prompt!r} cannot be used: {type(e).__name__}: {e}") from None
    client = ChatClient(
        p.base_url,
        timeout_s=p.timeout_s,
        max_retries=p.max_retries,
        backoff_s=p.retry_backoff_s,
        pool_size=p.concurrency,
        structured=p.structured,
        api_key=api_key_from_env(),
    )
    try:
        model = resolve_model(client, p.model)
        keys = {cid: cache_key(prompt, model, p) for cid, prompt in prompts.items()}
        cached, cache_file = open_cache(SYNTH_CACHE_FILE)
        results = {cid: cached[k] for cid, k in keys.items() if k in cached}
        todo = [c for c in chunks if c.id not in results]
        stats["chunks_cached"] = len(results)
        log.info("synth: %d cached, asking %s (model %s) for %d", len(results), p.base_url, model, len(todo))
        with cache_file:
            ask_all(
                client,
                [(c, prompts[c.id], keys[c.id]) for c in todo],
                model,
                p,
                cache_file,
                results,
                stats,
            )
    finally:
        stats["requests"] = client.requests
        stats["structured_fallback"] = int(client.structured_rejected)
        client.close()
    return results, model


def ask_all(
    client: ChatClient, todo: list, model: str, p: SynthParams, cache_file: Any, results: dict, stats: Counter
) -> None:
    """`p.concurrency` requests in flight; each answer is appended to the cache (fsync) as it arrives."""
    pool = ThreadPoolExecutor(max_workers=p.concurrency)
    bar = tqdm(total=len(todo), desc="synth", unit="chunk")
    try:
        futures = {
            pool.submit(ask_chunk, client, prompt, model, p): (chunk, key) for chunk, prompt, key in todo
        }
        for future in as_completed(futures):
            chunk, key = futures[future]
            record = {"key": key, "chunk_id": chunk.id, **future.result()}
            stats["retries"] += record["retries"]
            if "error" in record:
                stats["failed_now"] += 1
            else:  # only answers are cached: failed chunks are asked again next run
                append_jsonl(cache_file, record)
                pairs = parse_qa_pairs(record["reply"]) if record["finish_reason"] != "length" else []
                stats["accepted_so_far"] += sum(
                    validate_pair(q, a, chunk.text, p.min_grounding) is None for q, a in pairs
                )
            results[chunk.id] = record
            bar.set_postfix(accepted=stats["accepted_so_far"], failed=stats["failed_now"])
            bar.update()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: queued chunks are dropped, not sent
        bar.close()


# ---------------------------------------------------------------- assembly


def assemble(
    chunks: list[Chunk], results: dict[str, dict], p: SynthParams, model: str, stats: Counter
) -> tuple[list[QAPair], list[dict]]:
    """Validate every pair in chunk order, so ids, duplicates and order do not depend on timing."""
    accepted, rejected = [], []
    seen: set[tuple[str, str]] = set()
    failures, reasons = Counter(), Counter()
    for chunk in chunks:
        where = {"chunk_id": chunk.id, "doc": chunk.doc}
        record = results[chunk.id]
        if "error" in record:
            failures[record["error"]["kind"]] += 1
            rejected.append({**where, "reason": "request_failed", "error": record["error"]})
            continue
        stats["chunks_answered"] += 1
        if record.get("finish_reason") == "length":
            reasons["truncated"] += 1
            rejected.append({**where, "reason": "truncated", "reply": record["reply"][:500]})
            continue
        pairs = record["pairs"] if "pairs" in record else parse_qa_pairs(record["reply"])
        if not pairs:
            reasons["no_pairs_parsed"] += 1
            rejected.append({**where, "reason": "no_pairs_parsed", "reply": record.get("reply", "")[:500]})
            continue
        stats["chunks_with_pairs"] += 1
        stats["pairs_parsed"] += len(pairs)
        for index, (question, answer) in enumerate(pairs):
            reason = validate_pair(question, answer, chunk.text, p.min_grounding)
            dedupe_key = (chunk.doc, normalize_question(question))
            if reason is None and dedupe_key in seen:
                reason = "duplicate"
            if reason:
                reasons[reason] += 1
                grounding = round(grounding_score(answer, chunk.text), 3)
                rejected.append(
                    {
                        **where,
                        "reason": reason,
                        "question": question,
                        "answer": answer,
                        "grounding": grounding,
                    }
                )
                continue
            seen.add(dedupe_key)
            accepted.append(
                QAPair(
                    id=f"{chunk.id}-{index:02d}",
                    question=question,
                    answer=answer,
                    chunk_id=chunk.id,
                    doc=chunk.doc,
                    articles=list(chunk.articles),
                    backend=p.backend,
                    model=model,
                )
            )
    stats["failures"], stats["rejected"] = failures, reasons
    return accepted, rejected


def rules_results(chunks: list[Chunk]) -> dict[str, dict[str, Any]]:
    """The rules backend's pairs per chunk; each document's title comes from its first chunk."""
    titles: dict[str, str] = {}
    for chunk in sorted(chunks, key=lambda c: (c.doc, c.index)):
        titles.setdefault(chunk.doc, document_title(chunk.text))
    return {c.id: {"pairs": rules_pairs(c.text, titles[c.doc])} for c in chunks}


def read_chunks(path: Path, stats: Counter) -> list[Chunk]:
    """Chunk records; one that is not a Chunk (or repeats an id) is skipped, counted and logged."""
    require_input(path, "chunk")
    try:
        records = list(read_jsonl(path))
    except ValueError as e:  # a broken line in the middle: the chunk stage must be rerun
        raise MissingInputError(path, "chunk", what=f"is not valid JSONL ({e})") from None
    chunks, ids = [], set()
    for i, record in enumerate(records, 1):
        try:
            chunk = from_dict(Chunk, record)
        except RecordError as e:
            log.warning("%s: record %d skipped: %s", path, i, e)
            stats["bad_chunks"] += 1
            continue
        if not chunk.id or chunk.id in ids:
            log.warning("%s: record %d has an empty or repeated id %r; skipped", path, i, chunk.id)
            stats["bad_chunks"] += 1
            continue
        ids.add(chunk.id)
        chunks.append(chunk)
    return chunks


def main() -> None:
    p = load_params("synth", SynthParams)
    started = time.monotonic()
    stats: Counter = Counter()
    chunks = read_chunks(CHUNKS_FILE, stats)
    log.info("synth: %d chunks from %s, backend %s", len(chunks), CHUNKS_FILE, p.backend)
    SYNTH_CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
    SYNTH_CACHE_FILE.touch()  # a DVC output even when the rules backend leaves it empty
    try:
        if p.backend == "rules":
            results, model = rules_results(chunks), RULES_MODEL
        else:
            results, model = server_results(chunks, p, stats)
    except ServerUnavailable as e:
        log.error("%s", e)
        raise SystemExit(1) from None
    accepted, rejected = assemble(chunks, results, p, model, stats)
    write_jsonl(QA_FILE, (to_dict(pair) for pair in accepted))
    write_jsonl(REJECTED_FILE, rejected)
    seconds = time.monotonic() - started
    failed = sum(stats["failures"].values())
    metrics = {
        "backend": p.backend,
        "model": model,
        "chunks": len(chunks),
        "bad_chunks": stats["bad_chunks"],
        "chunks_failed": failed,
        "failures": dict(stats["failures"]),
        "structured_fallback": bool(stats["structured_fallback"]),
        "pairs_parsed": stats["pairs_parsed"],
        "accepted": len(accepted),
        "rejected": dict(stats["rejected"]),
        "parse_yield": round(stats["chunks_with_pairs"] / stats["chunks_answered"], 4)
        if stats["chunks_answered"]
        else 0.0,
    }
    write_json(metrics_file("synth"), metrics)
    write_timings(
        "synth",
        {
            "chunks_cached": stats["chunks_cached"],
            "requests": stats["requests"],
            "retries": stats["retries"],
            "seconds": round(seconds, 2),
            "pairs_per_minute": round(len(accepted) / seconds * 60, 1) if seconds > 0 else 0.0,
        },
    )
    log.info(
        "synth: %d accepted, %d rejected, %d of %d chunks failed -> %s",
        len(accepted),
        len(rejected) - failed,
        failed,
        len(chunks),
        QA_FILE,
    )
    if chunks and failed / len(chunks) > p.max_failure_rate:
        log.error(
            "synth: %d of %d chunks failed (%s), more than synth.max_failure_rate=%s; see %s",
            failed,
            len(chunks),
            json.dumps(dict(stats["failures"])),
            p.max_failure_rate,
            REJECTED_FILE,
        )
        raise SystemExit(1)


if __name__ == "__main__":
    run_main(main)
