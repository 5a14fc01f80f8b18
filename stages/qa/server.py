"""The `lmstudio` backend of synth: prompts, the model to use, cached concurrent requests.

Two prompt styles. `chat` sends the instruction prompt (synth.prompt) to /chat/completions, with a JSON schema
as `response_format` when synth.structured is on. `completion` sends a text to continue (synth.completion_prompt)
to /completions, for base models that do not follow instructions (gemma-3-270m, a model without a chat
template in `transformers serve`): the text ends with "Pergunta:" and the model writes on, stopped by the
prompt's stop strings and its family's end-of-turn strings. Replies are streamed (stages/qa/client.py) from
one server or several (synth.base_url; stages/qa/pool.py) and cached per chunk as they arrive (appended and
fsynced: stages/qa/cache.py), so a killed run resumes where it stopped. The cache key holds no URL: which
server answered a chunk changes nothing in the outputs.

With synth.paraphrases (chat only), a second pass asks, per chunk, for other wordings of the questions its
reply gave (stages/qa/paraphrase.py), on the same servers, cached and resumed the same way.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages.core.files import stable_hash
from stages.core.params import ParamsError
from stages.qa.cache import ReplyCache
from stages.qa.client import (
    ChatClient,
    Completion,
    RequestFailed,
    ServerUnavailable,
    model_stops,
    resolve_model,
)
from stages.qa.paraphrase import (
    PARAPHRASE_PROMPT,
    paraphrase_schema,
    paraphrase_targets,
    render_paraphrase_prompt,
)
from stages.qa.parse import ParsedReply, parse_qa_pairs, parse_reply
from stages.qa.pool import Pool, Server
from stages.qa.settings import SynthParams
from stages.records.chunks import Chunk
from stages.text.fold import question_key

log = logging.getLogger(__name__)

MAX_STOPS = 4  # OpenAI's limit on `stop`; several OpenAI-compatible servers keep it
COMPLETION_STOPS = ("\n\n\n",)  # a base model that has finished its list starts a new section


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


def build_prompts(chunks: list[Chunk], s: SynthParams) -> Prompts:
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
    examples = frozenset(question_key(x) for pair in parse_qa_pairs(empty) for x in pair)
    stops = COMPLETION_STOPS
    if s.prompt_style == "completion" and (
        label := re.search(r"^([^\W\d_][\w ]{0,30}:)[ \t]*\{text\}", template, re.M)
    ):
        stops = (f"\n{label.group(1)}", *stops)  # the model starts another "Trecho:": its pair is written
    return Prompts(by_chunk, prefix, examples, stops)


def cache_key(prompt: str, model: str, s: SynthParams, stops: tuple[str, ...]) -> str:
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


def ask_chunk(
    client: ChatClient, prompt: str, model: str, s: SynthParams, stops: tuple[str, ...]
) -> dict[str, Any]:
    """One chunk's request; a record for the cache, or {"error": ...} when it failed for good."""
    if s.prompt_style == "completion":
        payload: dict[str, Any] = {"model": model, "prompt": prompt, "stop": list(stops)}
        payload.update(temperature=s.temperature, max_tokens=s.max_tokens)
        return _request(lambda: client.complete(payload, endpoint="completions"))
    return ask_chat(client, prompt, model, s, response_schema(s.pairs_per_chunk))


def ask_chat(
    client: ChatClient, prompt: str, model: str, s: SynthParams, schema: dict[str, Any] | None
) -> dict[str, Any]:
    """One /chat/completions request (`schema` sent when synth.structured is on); a record for the cache."""
    payload: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    payload.update(temperature=s.temperature, max_tokens=s.max_tokens)
    if s.stop:
        payload["stop"] = list(s.stop)
    return _request(lambda: client.complete(payload, schema if s.structured else None))


def _request(send: Callable[[], Completion]) -> dict[str, Any]:
    try:
        reply = send()
    except RequestFailed as e:
        return {"error": {"kind": e.kind, "message": str(e)}, "retries": e.retries}
    return {"reply": reply.content, "finish_reason": reply.finish_reason, "retries": reply.retries}


def parsed_record(record: dict[str, Any], reply_prefix: str) -> ParsedReply:
    """The pairs of an answered chunk's record; a reply cut by max_tokens keeps what was complete."""
    reply = record.get("reply", "")
    return parse_reply(
        reply_prefix + reply if reply.strip() else "", cut=record.get("finish_reason") == "length"
    )


def completion_stops(s: SynthParams, model: str, prompt_stops: tuple[str, ...]) -> tuple[str, ...]:
    """The prompt's stop strings, the model family's end-of-turn strings, then synth.stop; at most MAX_STOPS."""
    if s.prompt_style != "completion":
        return tuple(s.stop)
    stops = tuple(dict.fromkeys((*prompt_stops, *model_stops(model), *s.stop)))
    if len(stops) > MAX_STOPS:
        log.warning(
            "synth: %d stop strings, sending the first %d: %s", len(stops), MAX_STOPS, stops[:MAX_STOPS]
        )
    return stops[:MAX_STOPS]


def start_servers(s: SynthParams) -> list[Server]:
    """A client per URL of synth.base_url and the model each will be asked for. A server that cannot be
    reached is left out with a warning while another one answers; servers that would use different models
    are an error, since which server answered must not change the pairs."""
    servers: list[Server] = []
    errors: list[ServerUnavailable] = []
    for url in s.base_urls:
        client = ChatClient.from_settings(url, s)
        try:
            servers.append(Server(url, client, resolve_model(client, s.model, who="synth")))
            continue
        except ServerUnavailable as e:
            reachable = len(s.base_urls) == 1 or _lists_models(client)
            client.close()
            if reachable:  # the only server, or one that answers without the model asked for: a setup to fix
                _close(servers)
                raise
            errors.append(e)
            log.warning("synth: %s left out, it does not answer: %s", url, e)
    if not servers:
        raise errors[0]
    models = {server.model for server in servers}
    if len(models) > 1:
        _close(servers)
        listing = ", ".join(f"{server.url}: {server.model}" for server in servers)
        raise ServerUnavailable(
            f"synth: the servers would use different models ({listing}); load the same model on each, or "
            "set synth.model to one they all have"
        )
    return servers


def _lists_models(client: ChatClient) -> bool:
    try:
        client.list_models()
    except ServerUnavailable:
        return False
    return True


def _close(servers: list[Server]) -> None:
    for server in servers:
        server.client.close()


@dataclass(frozen=True)
class Request:
    chunk_id: str
    prompt: str
    key: str
    schema: dict[str, Any] | None = None  # the paraphrase pass's response_format (None: the first pass's)


def ask_all(
    servers: list[Server],
    requests: list[Request],
    ask: Callable[[ChatClient, Request], dict[str, Any]],
    s: SynthParams,
    cache: ReplyCache,
    stats: Counter,
    desc: str,
) -> dict[str, dict[str, Any]]:
    """Records by chunk id of `requests`, spread over the servers; each answer is appended to the cache
    (fsync) as it arrives, failed ones are not cached and are asked again next run."""
    results: dict[str, dict[str, Any]] = {}
    bar = tqdm(total=len(requests), desc=desc, unit="chunk")

    def on_result(request: Request, answer: dict[str, Any]) -> None:
        record = {"key": request.key, "chunk_id": request.chunk_id, **answer}
        stats["retries"] += record["retries"]
        if "error" in record:
            stats["failed_now"] += 1
        else:
            cache.append(record)
        results[request.chunk_id] = record
        bar.set_postfix(failed=stats["failed_now"])
        bar.update()

    pool = Pool(servers, s.concurrency, ask, on_result)
    try:
        pool.run(requests)
    finally:
        bar.close()
        stats["requeued"] += pool.requeued
        stats["retries"] += pool.requeued_attempts
    return results


def paraphrase_requests(
    chunks: list[Chunk],
    results: dict[str, dict[str, Any]],
    template: str,
    prompts: Prompts,
    model: str,
    s: SynthParams,
) -> tuple[list[Request], dict[str, list[int]]]:
    """The paraphrase request of every answered chunk with a pair worth paraphrasing, and which of its parsed
    pairs each asks about (their positions in parse order)."""
    requests, targets = [], {}
    for chunk in chunks:
        record = results.get(chunk.id, {})
        if "error" in record or not record:
            continue
        pairs = parsed_record(record, prompts.reply_prefix).pairs
        chosen = paraphrase_targets(pairs, chunk.text, s.min_grounding, prompts.examples)
        if not chosen:
            continue
        prompt = render_paraphrase_prompt(template, chunk.doc, [pairs[i] for i in chosen], s.paraphrases)
        key = stable_hash(
            prompt,
            "lmstudio-paraphrase",
            model,
            s.temperature,
            s.max_tokens,
            s.structured,
            s.paraphrases,
            s.stop,
        )
        requests.append(Request(chunk.id, prompt, key, paraphrase_schema(len(chosen), s.paraphrases)))
        targets[chunk.id] = chosen
    return requests, targets


def read_paraphrase_template(s: SynthParams) -> str | None:
    """prompts/paraphrase_pt.txt when paraphrases are asked (chat only; one warning for a completion model)."""
    if not s.paraphrases:
        return None
    if s.prompt_style != "chat":
        log.warning(
            "synth: synth.paraphrases=%d needs a chat model (prompt_style chat); no paraphrases are asked",
            s.paraphrases,
        )
        return None
    try:
        template = Path(PARAPHRASE_PROMPT).read_text(encoding="utf-8")
        render_paraphrase_prompt(template, "", [("?", "")], s.paraphrases)
    except (OSError, KeyError, IndexError, ValueError) as e:
        raise ParamsError(
            f"{PARAPHRASE_PROMPT} cannot be used ({type(e).__name__}: {e}); synth.paraphrases: 0 asks for none"
        ) from None
    return template


def server_results(
    chunks: list[Chunk], s: SynthParams, cache: ReplyCache, stats: Counter
) -> tuple[dict[str, dict], str, Prompts]:
    """Reply records by chunk id, asking the servers only for chunks not in the cache. Each answer is
    appended to the cache (fsync) as it arrives, so a killed or stopped run resumes where it was. With
    paraphrases, an answered chunk's record holds the paraphrase pass's record under "paraphrase", with
    "targets": the positions, among its parsed pairs, of the questions it rewrites."""
    prompts = build_prompts(chunks, s)
    template = read_paraphrase_template(s)
    servers = start_servers(s)
    model = servers[0].model
    try:
        stops = completion_stops(s, model, prompts.stops)
        keys = {cid: cache_key(prompt, model, s, stops) for cid, prompt in prompts.by_chunk.items()}
        cached = cache.load(keys.values())
        results = {cid: cached[k] for cid, k in keys.items() if k in cached}
        todo = [Request(c.id, prompts.by_chunk[c.id], keys[c.id]) for c in chunks if c.id not in results]
        stats["chunks_cached"] = len(results)
        urls = ", ".join(server.url for server in servers)
        log.info("synth: %d cached, asking %s (model %s) for %d", len(results), urls, model, len(todo))

        def ask(client: ChatClient, request: Request) -> dict[str, Any]:
            return ask_chunk(client, request.prompt, model, s, stops)

        def ask_paraphrase(client: ChatClient, request: Request) -> dict[str, Any]:
            return ask_chat(client, request.prompt, model, s, request.schema)

        try:
            results |= ask_all(servers, todo, ask, s, cache, stats, "synth")
            if template is not None:
                asked, targets = paraphrase_requests(chunks, results, template, prompts, model, s)
                cached = cache.load(r.key for r in asked)
                found = {r.chunk_id: cached[r.key] for r in asked if r.key in cached}
                todo = [r for r in asked if r.chunk_id not in found]
                stats["paraphrases_cached"] = len(found)
                log.info("synth: paraphrases of %d chunks cached, asking for %d", len(found), len(todo))
                found |= ask_all(servers, todo, ask_paraphrase, s, cache, stats, "paraphrases")
                for cid, record in found.items():
                    results[cid] = {**results[cid], "paraphrase": {**record, "targets": targets[cid]}}
        finally:
            cache.close()
            stats["servers_lost"] = sum(bool(server.lost) for server in servers)
    finally:
        stats["requests"] = sum(server.client.requests for server in servers)
        stats["structured_fallback"] = int(any(server.client.structured_rejected for server in servers))
        if len(servers) > 1:
            stats["requests_by_server"] = {server.url: server.client.requests for server in servers}
        _close(servers)
    return results, model, prompts
