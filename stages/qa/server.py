"""The `lmstudio` backend of synth: prompts, the model to use, cached concurrent requests.

Two prompt styles. `chat` sends the instruction prompt (synth.prompt) to /chat/completions, with a JSON schema
as `response_format` when synth.structured is on. `completion` sends a text to continue (synth.completion_prompt)
to /completions, for base models that do not follow instructions (gemma-3-270m, a model without a chat
template in `transformers serve`): the text ends with "Pergunta:" and the model writes on, stopped by the
prompt's stop strings and its family's end-of-turn strings. Replies are streamed (stages/llm_client.py) and
cached per chunk as they arrive (appended and fsynced), so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from stages.core.files import append_jsonl, read_jsonl, stable_hash
from stages.core.params import ParamsError
from stages.qa.client import ChatClient, RequestFailed, model_stops, resolve_model
from stages.qa.parse import normalize_question, parse_qa_pairs
from stages.records.chunks import Chunk

log = logging.getLogger(__name__)

MAX_STOPS = 4  # OpenAI's limit on `stop`; several OpenAI-compatible servers keep it
COMPLETION_STOPS = ("\n\n\n",)  # a base model that has finished its list starts a new section


@dataclass(frozen=True)
class ServerSettings:
    """What the server backend needs from SynthParams (see there for each value's meaning)."""

    base_url: str
    model: str
    prompt: str
    completion_prompt: str
    prompt_style: str
    pairs_per_chunk: int
    structured: bool
    stream: bool
    temperature: float
    max_tokens: int
    stop: tuple[str, ...]
    concurrency: int
    max_retries: int
    retry_backoff_s: float
    timeout_s: float
    budget_s: float


@dataclass(frozen=True)
class Prompts:
    """Each chunk's prompt, what the reply continues from, and the example pairs the prompt shows."""

    by_chunk: dict[str, str]
    reply_prefix: str  # "Pergunta:" when the completion prompt ends with it: the reply continues it
    examples: frozenset[str]  # normalized questions and answers of the prompt's example pairs
    stops: tuple[
        str, ...
    ] = ()  # where a reply to a completion prompt is over: a new "Trecho:" line, a blank gap


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


def build_prompts(chunks: list[Chunk], s: ServerSettings) -> Prompts:
    """Every chunk's prompt from the template of the chosen style; a template that cannot be used is a
    params error naming it."""
    name = "synth.completion_prompt" if s.prompt_style == "completion" else "synth.prompt"
    path = s.completion_prompt if s.prompt_style == "completion" else s.prompt
    try:
        template = Path(path).read_text(encoding="utf-8")
        if s.prompt_style == "completion":
            template = template.rstrip("\n")  # the model continues right after "Pergunta:"
        by_chunk = {c.id: render_prompt(template, c, s.pairs_per_chunk) for c in chunks}
        empty = render_prompt(template, Chunk("", "", 0, "", 0, [], "", 0), s.pairs_per_chunk)
    except (OSError, KeyError, IndexError, ValueError) as e:
        raise ParamsError(f"{name} {path!r} cannot be used: {type(e).__name__}: {e}") from None
    last_line = empty.rsplit("\n", 1)[-1].strip()
    prefix = last_line if s.prompt_style == "completion" and last_line.endswith(":") else ""
    examples = frozenset(normalize_question(x) for pair in parse_qa_pairs(empty) for x in pair)
    stops = COMPLETION_STOPS
    if s.prompt_style == "completion" and (
        label := re.search(r"^([^\W\d_][\w ]{0,30}:)[ \t]*\{text\}", template, re.M)
    ):
        stops = (f"\n{label.group(1)}", *stops)  # the model starts another "Trecho:": its pair is written
    return Prompts(by_chunk, prefix, examples, stops)


def cache_key(prompt: str, model: str, s: ServerSettings, stops: tuple[str, ...]) -> str:
    return stable_hash(
        prompt,
        "lmstudio",
        model,
        s.temperature,
        s.max_tokens,
        s.structured,
        s.pairs_per_chunk,
        s.prompt_style,
        stops,
    )


def open_cache(path: Path) -> tuple[dict[str, dict[str, Any]], TextIO]:
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


def ask_chunk(
    client: ChatClient, prompt: str, model: str, s: ServerSettings, stops: tuple[str, ...]
) -> dict[str, Any]:
    """One chunk's request; a record for the cache, or {"error": ...} when it failed for good."""
    try:
        if s.prompt_style == "completion":
            payload: dict[str, Any] = {"model": model, "prompt": prompt, "stop": list(stops)}
            payload.update(temperature=s.temperature, max_tokens=s.max_tokens)
            reply = client.complete(payload, endpoint="completions")
        else:
            payload = {"model": model, "messages": [{"role": "user", "content": prompt}]}
            payload.update(temperature=s.temperature, max_tokens=s.max_tokens)
            if s.stop:
                payload["stop"] = list(s.stop)
            reply = client.complete(payload, response_schema(s.pairs_per_chunk) if s.structured else None)
    except RequestFailed as e:
        return {"error": {"kind": e.kind, "message": str(e)}, "retries": e.retries}
    return {"reply": reply.content, "finish_reason": reply.finish_reason, "retries": reply.retries}


def completion_stops(s: ServerSettings, model: str, prompt_stops: tuple[str, ...]) -> tuple[str, ...]:
    """The prompt's stop strings, the model family's end-of-turn strings, then synth.stop; at most MAX_STOPS."""
    if s.prompt_style != "completion":
        return tuple(s.stop)
    stops = tuple(dict.fromkeys((*prompt_stops, *model_stops(model), *s.stop)))
    if len(stops) > MAX_STOPS:
        log.warning(
            "synth: %d stop strings, sending the first %d: %s", len(stops), MAX_STOPS, stops[:MAX_STOPS]
        )
    return stops[:MAX_STOPS]


def server_results(
    chunks: list[Chunk], s: ServerSettings, cache_path: Path, stats: Counter
) -> tuple[dict[str, dict], str, Prompts]:
    """Reply records by chunk id, asking the server only for chunks not in the cache."""
    prompts = build_prompts(chunks, s)
    client = ChatClient.from_settings(s.base_url, s)
    try:
        model = resolve_model(client, s.model, who="synth")
        stops = completion_stops(s, model, prompts.stops)
        keys = {cid: cache_key(prompt, model, s, stops) for cid, prompt in prompts.by_chunk.items()}
        cached, cache_file = open_cache(cache_path)
        results = {cid: cached[k] for cid, k in keys.items() if k in cached}
        todo = [(c, prompts.by_chunk[c.id], keys[c.id]) for c in chunks if c.id not in results]
        stats["chunks_cached"] = len(results)
        log.info("synth: %d cached, asking %s (model %s) for %d", len(results), s.base_url, model, len(todo))
        with cache_file:
            ask_all(client, todo, model, s, stops, cache_file, results, stats)
    finally:
        stats["requests"] = client.requests
        stats["structured_fallback"] = int(client.structured_rejected)
        client.close()
    return results, model, prompts


def ask_all(
    client: ChatClient,
    todo: list[tuple[Chunk, str, str]],
    model: str,
    s: ServerSettings,
    stops: tuple[str, ...],
    cache_file: TextIO,
    results: dict[str, dict],
    stats: Counter,
) -> None:
    """`s.concurrency` requests in flight; each answer is appended to the cache (fsync) as it arrives."""
    pool = ThreadPoolExecutor(max_workers=s.concurrency)
    bar = tqdm(total=len(todo), desc="synth", unit="chunk")
    try:
        futures = {
            pool.submit(ask_chunk, client, prompt, model, s, stops): (chunk, key)
            for chunk, prompt, key in todo
        }
        for future in as_completed(futures):
            chunk, key = futures[future]
            record = {"key": key, "chunk_id": chunk.id, **future.result()}
            stats["retries"] += record["retries"]
            if "error" in record:
                stats["failed_now"] += 1
            else:  # only answers are cached: failed chunks are asked again next run
                append_jsonl(cache_file, record)
            results[chunk.id] = record
            bar.set_postfix(failed=stats["failed_now"])
            bar.update()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: queued chunks are dropped, not sent
        bar.close()
