"""A small client for OpenAI-compatible servers (LM Studio, llama.cpp, Ollama, vLLM, `transformers serve`).

Plain `requests` with one pooled Session shared by the worker threads. Replies are streamed (`stream: true`,
server-sent events): `idle_timeout_s` bounds the wait for the next byte (a stalled server is retried), and
`budget_s` bounds a whole generation (a laptop CPU at 5 tokens/s needs minutes for 768 tokens, and that is
fine as long as tokens keep coming). Retries use exponential backoff with full jitter on connection errors,
idle stalls, 429 (honouring Retry-After) and 5xx. A 400 is read: an error about the schema drops
`response_format` once and asks again; a prompt over the model's context is reported as such. The API key
comes from the environment only; it never appears in a message or an exception.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError, ReadTimeoutError

log = logging.getLogger(__name__)

API_KEY_VARS = ("LMSTUDIO_API_KEY", "OPENAI_API_KEY")
MAX_RETRY_AFTER_S = 60.0  # never sleep longer than this on a server's Retry-After
CONNECT_TIMEOUT_S = 10.0
# What servers say in a 400 when the prompt does not fit: LM Studio ("The number of tokens to keep from the
# initial prompt is greater than the context length", "Trying to keep the first N tokens when context the
# overflows"), llama.cpp ("exceeds the available context size"), OpenAI/vLLM ("maximum context length").
CONTEXT_ERROR = re.compile(
    r"context (?:length|size|window)|n_ctx|maximum context|context the overflows|tokens to keep|"
    r"context_length_exceeded|exceed_context_size|too many tokens|prompt is too long|exceeds? context",
    re.IGNORECASE,
)
# ... and when they do not accept structured output.
SCHEMA_ERROR = re.compile(r"response_format|json_schema|schema|grammar|structured|guided", re.IGNORECASE)


class RequestFailed(Exception):
    """A request that failed for good; `kind` is the metrics bucket (idle_timeout, http_429, context_length...)."""

    def __init__(self, kind: str, message: str, retries: int) -> None:
        super().__init__(message)
        self.kind, self.retries = kind, retries


class ServerUnavailable(Exception):
    """The model list could not be read, or the requested model is not there."""


@dataclass(frozen=True)
class Completion:
    content: str  # "" when the server sent none
    finish_reason: str  # "stop", "length", ...
    retries: int  # failed attempts before this one


@dataclass(frozen=True)
class ModelInfo:
    id: str
    type: str  # llm | vlm | embeddings | "" (unknown: an OpenAI-style /v1/models list)
    state: str  # loaded | not-loaded | "" (unknown)
    max_context: int = 0  # 0 = not reported

    @property
    def generates(self) -> bool:
        return self.type in ("llm", "vlm") or (not self.type and "embed" not in self.id.lower())


# End-of-turn strings of common model families: a base model prompted as text may write them out instead of
# stopping, so a completion request sends them as stop sequences (with the prompt's own).
FAMILY_STOPS = (
    ("gemma", ("<end_of_turn>", "<eos>")),
    ("llama-3", ("<|eot_id|>", "<|end_of_text|>")),
    ("llama3", ("<|eot_id|>", "<|end_of_text|>")),
    ("qwen", ("<|im_end|>", "<|endoftext|>")),
    ("phi", ("<|end|>", "<|endoftext|>")),
    ("mistral", ("</s>",)),
    ("llama-2", ("</s>",)),
)


def model_stops(model: str) -> tuple[str, ...]:
    """The end-of-turn strings of `model`'s family (matched on its id), () when unknown."""
    name = model.lower()
    return next((stops for family, stops in FAMILY_STOPS if family in name), ())


def api_key_from_env() -> str | None:
    return next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)


class _OverBudget(Exception):
    """A reply that kept coming past the total budget: not retried (it would take as long again)."""


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.wait_s = kind, wait_s


@dataclass(frozen=True)
class ClientSettings:
    """How to talk to an OpenAI-compatible server: the [synth] keys synthesis and the LLM judge share."""

    structured: bool = (
        True  # chat: send response_format=json_schema; dropped if the server rejects the schema
    )
    stream: bool = True  # stream replies: timeout_s then bounds the silence, budget_s the whole reply
    concurrency: int = 4  # LM Studio's default number of parallel predictions
    max_retries: int = 4
    retry_backoff_s: float = 1.0  # first backoff cap; doubles per retry (full jitter)
    timeout_s: float = 120.0  # seconds without a byte from the server (waiting for the first token included)
    budget_s: float = 1800.0  # seconds one reply may take in all (768 tokens at ~0.5 tokens/s)

    def problems(self) -> list[str]:
        out = []
        if self.concurrency < 1:
            out.append(f"synth.concurrency must be >= 1, got {self.concurrency}")
        if self.max_retries < 0:
            out.append(f"synth.max_retries must be >= 0, got {self.max_retries}")
        if self.timeout_s <= 0 or self.budget_s <= 0 or self.retry_backoff_s < 0:
            out.append("synth.timeout_s and synth.budget_s must be > 0, synth.retry_backoff_s >= 0")
        return out


class ChatClient:
    """One pooled session; `complete()` is safe to call from many threads."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        budget_s: float,
        max_retries: int,
        backoff_s: float,
        pool_size: int,
        structured: bool,
        stream: bool = True,
        api_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s, self.budget_s = timeout_s, budget_s
        self.max_retries, self.backoff_s = max_retries, backoff_s
        self.structured, self.stream = structured, stream
        self.structured_rejected = False
        self.requests = 0  # POSTs sent, retries and the response_format fallback included
        self._lock = threading.Lock()
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Content-Type"] = "application/json"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    @classmethod
    def from_settings(cls, base_url: str, s: ClientSettings) -> ChatClient:
        """A client for `base_url` with [synth]'s settings and the API key from the environment."""
        return cls(
            base_url,
            timeout_s=s.timeout_s,
            budget_s=s.budget_s,
            max_retries=s.max_retries,
            backoff_s=s.retry_backoff_s,
            pool_size=s.concurrency,
            structured=s.structured,
            stream=s.stream,
            api_key=api_key_from_env(),
        )

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ models
    def list_models(self, timeout_s: float = 5.0) -> list[ModelInfo]:
        """LM Studio's `/api/v0/models` (type and load state), else the OpenAI-style `/models` list."""
        root = re.sub(r"/v1$", "", self.base_url)
        try:
            response = self.session.get(f"{root}/api/v0/models", timeout=timeout_s)
            if response.status_code == 200:
                data = response.json().get("data", [])
                if data and all("state" in m for m in data):
                    return [
                        ModelInfo(
                            str(m["id"]),
                            str(m.get("type", "")),
                            str(m["state"]),
                            int(m.get("max_context_length") or 0),
                        )
                        for m in data
                    ]
        except requests.RequestException:
            pass  # the fallback below names the URL if the server is not there at all
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        url = f"{self.base_url}/models"
        try:
            response = self.session.get(url, timeout=timeout_s)
        except requests.RequestException as e:
            raise ServerUnavailable(f"no answer from {url} ({type(e).__name__})") from None
        if response.status_code != 200:
            raise ServerUnavailable(f"{url} answered HTTP {response.status_code}")
        try:
            out = []
            for m in response.json().get("data", []):
                status = m.get("status")  # `transformers serve`: {"value": "loaded"}
                state = str(status.get("value", "")) if isinstance(status, dict) else ""
                out.append(ModelInfo(str(m["id"]), "", state))
            return out
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ServerUnavailable(f"{url} did not answer with an OpenAI-style model list") from None

    # ------------------------------------------------------------------ generation
    def complete(
        self,
        payload: dict[str, Any],
        schema: dict[str, Any] | None = None,
        endpoint: str = "chat/completions",
    ) -> Completion:
        """POST /chat/completions (or /completions) with retries; RequestFailed when every attempt failed."""
        retries = 0
        while True:
            body = dict(payload, stream=self.stream)
            if schema is not None and self.structured:
                body["response_format"] = {"type": "json_schema", "json_schema": schema}
            try:
                return self._attempt(endpoint, body, retries)
            except _Retryable as e:
                if e.kind == "structured_rejected":
                    continue  # asked again at once without response_format, not a retry
                if retries >= self.max_retries:
                    raise RequestFailed(e.kind, str(e), retries) from None
                cap = self.backoff_s * 2**retries
                delay = random.uniform(0, cap)  # full jitter: spreads the workers' retries apart
                if e.wait_s is not None:
                    delay = max(delay, min(e.wait_s, MAX_RETRY_AFTER_S))
                log.debug("retrying after %s (%s) in %.2fs", e.kind, e, delay)
                retries += 1
                time.sleep(delay)

    def _attempt(self, endpoint: str, body: dict[str, Any], retries: int) -> Completion:
        url = f"{self.base_url}/{endpoint}"
        with self._lock:
            self.requests += 1
        started = time.monotonic()
        try:
            response = self.session.post(
                url, json=body, timeout=(min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s), stream=True
            )
        except requests.Timeout:
            raise _Retryable("idle_timeout", f"{url}: no byte within {self.timeout_s}s") from None
        except requests.ConnectionError as e:
            raise _Retryable("connection", f"{url}: connection failed ({type(e).__name__})") from None
        except requests.RequestException as e:
            raise RequestFailed("request_error", f"{url}: {type(e).__name__}", retries) from None
        with response:
            status = response.status_code
            if status != 200:
                self._raise_for_status(url, response, body, retries)
            try:
                if "text/event-stream" in response.headers.get("Content-Type", ""):
                    return self._read_stream(url, response, started, retries)
                return self._read_body(url, self._read_all(url, response, started), retries)
            except _OverBudget as e:
                raise RequestFailed("budget", str(e), retries) from None
            except (ReadTimeoutError, requests.Timeout):
                raise _Retryable("idle_timeout", f"{url}: no byte for {self.timeout_s}s mid-reply") from None
            except (ProtocolError, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                raise _Retryable(
                    "connection", f"{url}: connection broken mid-reply ({type(e).__name__})"
                ) from None

    def _raise_for_status(
        self, url: str, response: requests.Response, body: dict[str, Any], retries: int
    ) -> None:
        status = response.status_code
        text = response.text[:300]
        if status == 400 and CONTEXT_ERROR.search(text):
            raise RequestFailed(
                "context_length",
                f"{url}: the prompt does not fit the model's context (server said: {text!r}); lower "
                "chunk.max_tokens (and rerun chunk) or load the model with a longer context",
                retries,
            )
        if status == 400 and "response_format" in body and SCHEMA_ERROR.search(text):
            self._drop_structured(text[:200])
            raise _Retryable("structured_rejected", "response_format rejected")
        if status == 429:
            raise _Retryable("http_429", f"{url}: HTTP 429 (busy)", _retry_after(response))
        if status >= 500:
            raise _Retryable(f"http_{status}", f"{url}: HTTP {status} {text[:120]!r}", _retry_after(response))
        raise RequestFailed(f"http_{status}", f"{url}: HTTP {status} {text[:200]!r}", retries)

    def _pieces(self, response: requests.Response, started: float, url: str) -> Iterator[bytes]:
        """Bytes as they arrive; the socket's read timeout is the idle timeout, the budget is checked here."""
        raw = response.raw
        while True:
            piece = raw.read1(8192) if hasattr(raw, "read1") else raw.read(1)
            if not piece:
                return
            if time.monotonic() - started > self.budget_s:
                raise _OverBudget(
                    f"{url}: the reply was still coming after {self.budget_s:g}s (synth.budget_s)"
                )
            yield piece

    def _read_all(self, url: str, response: requests.Response, started: float) -> bytes:
        return b"".join(self._pieces(response, started, url))

    def _read_stream(self, url: str, response: requests.Response, started: float, retries: int) -> Completion:
        """Server-sent events: `data: {...}` lines with deltas, ending with `data: [DONE]` (or the connection)."""
        parts: list[str] = []
        finish = ""
        buffer = b""
        for piece in self._pieces(response, started, url):
            buffer += piece
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    return Completion("".join(parts), finish or "stop", retries)
                try:
                    event = json.loads(data)
                except ValueError:
                    raise _Retryable(
                        "bad_body", f"{url}: a streamed event is not JSON: {data[:120]!r}"
                    ) from None
                if isinstance(event, dict) and event.get("error"):
                    message = json.dumps(event["error"])[:300]
                    if CONTEXT_ERROR.search(message):
                        raise RequestFailed(
                            "context_length",
                            f"{url}: the prompt does not fit the model's context ({message}); lower chunk.max_tokens",
                            retries,
                        )
                    raise _Retryable(
                        "stream_error", f"{url}: the server reported an error mid-reply: {message}"
                    )
                try:
                    choice = event["choices"][0]
                except (KeyError, IndexError, TypeError):
                    continue  # usage-only or keep-alive events
                delta = choice.get("delta") or {}
                text = delta.get("content") if isinstance(delta, dict) else None
                if text is None:
                    text = choice.get("text")  # /completions
                if isinstance(text, str):
                    parts.append(text)
                finish = str(choice.get("finish_reason") or finish)
        return Completion("".join(parts), finish or "stop", retries)

    def _read_body(self, url: str, data: bytes, retries: int) -> Completion:
        """A server that ignored `stream: true` and sent one JSON body."""
        try:
            choice = json.loads(data)["choices"][0]
            message = choice.get("message") or {}
            content = message.get("content") if message else choice.get("text")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise _Retryable("bad_body", f"{url}: reply is not a completion: {data[:120]!r}") from None
        return Completion(
            content if isinstance(content, str) else "", str(choice.get("finish_reason") or ""), retries
        )

    def _drop_structured(self, server_said: str) -> None:
        with self._lock:
            if not self.structured:
                return
            self.structured, self.structured_rejected = False, True
        log.warning(
            "the server rejected response_format (structured output): carrying on without it; it said: %s",
            server_said,
        )


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def resolve_model(client: ChatClient, wanted: str, who: str, param: str = "synth.model") -> str:
    """The model id to send: `wanted` (the param named `param`) if the server has it, else the loaded model (LM
    Studio reports type and load state at /api/v0/models; an OpenAI-style /models list is taken as it comes).
    `who` (the stage asking) begins every error message and log line."""
    start = (
        "Start LM Studio's local server (Developer tab > Start server, or `lms server start`) and load a model, "
        "or run the offline generator: dvc exp run --set-param synth.backend=rules"
    )
    try:
        models = client.list_models()
    except ServerUnavailable as e:
        raise ServerUnavailable(f"{who}: {e}. {start}") from None
    generators = [m for m in models if m.generates]
    loaded = [m for m in generators if m.state == "loaded"]
    known_state = any(m.state for m in models)

    def names(ms: list[ModelInfo]) -> str:
        return ", ".join(m.id for m in ms) or "none"

    if wanted:
        match = next((m for m in models if m.id == wanted), None)
        if match is None:
            listing = (
                f"loaded: {names(loaded)}; downloaded: {names(generators)}" if known_state else names(models)
            )
            raise ServerUnavailable(
                f"{who}: {param}={wanted!r} is not on the server at {client.base_url} ({listing}). Set "
                f'{param} to one of those, or to "" to use the loaded model'
            )
        if match.state and match.state != "loaded":
            log.warning(
                "%s: %s is not loaded; LM Studio loads it on the first request (just-in-time loading)",
                who,
                wanted,
            )
        return wanted
    if loaded:
        if len(loaded) > 1:
            log.info("%s: %d models loaded (%s); using %s", who, len(loaded), names(loaded), loaded[0].id)
        return loaded[0].id
    if known_state:
        raise ServerUnavailable(
            f"{who}: no model is loaded on {client.base_url} (downloaded: {names(generators)}). Load one "
            f"(`lms load <model>` or LM Studio's Developer tab), or set {param} to one of them to have it "
            "loaded just in time"
        )
    if not generators:
        raise ServerUnavailable(
            f"{who}: {client.base_url}/models lists no text-generation model ({names(models)}). {start}"
        )
    return generators[0].id  # an OpenAI-style list without load states: LM Studio with JIT lists every model
