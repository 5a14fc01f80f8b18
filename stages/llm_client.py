"""A small client for OpenAI-compatible chat servers (LM Studio, llama.cpp, Ollama, vLLM, `transformers serve`).

Plain `requests` with one pooled Session shared by the worker threads. Retries with exponential backoff
and full jitter on connection errors, timeouts, 429 (honouring Retry-After) and 5xx; a server that
rejects `response_format` is told once and asked again without it. The API key comes from the
environment only and is sent as a Bearer header; it never appears in a message or an exception.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

API_KEY_VARS = ("LMSTUDIO_API_KEY", "OPENAI_API_KEY")
MAX_RETRY_AFTER_S = 60.0  # never sleep longer than this on a server's Retry-After


class RequestFailed(Exception):
    """A request that failed for good; `kind` is the metrics bucket (timeout, connection, http_429, ...)."""

    def __init__(self, kind: str, message: str, retries: int) -> None:
        super().__init__(message)
        self.kind, self.retries = kind, retries


class ServerUnavailable(Exception):
    """`GET /models` failed or did not list the requested model."""


@dataclass(frozen=True)
class Completion:
    content: str  # "" when the server sent null
    finish_reason: str  # "stop", "length", ...
    retries: int  # failed attempts before this one


def api_key_from_env() -> str | None:
    return next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.wait_s = kind, wait_s


class ChatClient:
    """One pooled session; `complete()` is safe to call from many threads."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        max_retries: int,
        backoff_s: float,
        pool_size: int,
        structured: bool,
        api_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s, self.max_retries, self.backoff_s = timeout_s, max_retries, backoff_s
        self.structured = structured
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

    def close(self) -> None:
        self.session.close()

    def list_models(self, timeout_s: float = 5.0) -> list[str]:
        """Ids from `GET /models`; ServerUnavailable (naming the URL) when nothing sensible answers."""
        url = f"{self.base_url}/models"
        try:
            response = self.session.get(url, timeout=timeout_s)
        except requests.RequestException as e:
            raise ServerUnavailable(f"no answer from {url} ({type(e).__name__})") from None
        if response.status_code != 200:
            raise ServerUnavailable(f"{url} answered HTTP {response.status_code}")
        try:
            return [str(m["id"]) for m in response.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ServerUnavailable(f"{url} did not answer with an OpenAI-style model list") from None

    def complete(self, payload: dict[str, Any], schema: dict[str, Any] | None = None) -> Completion:
        """POST /chat/completions with retries; RequestFailed when every attempt failed."""
        retries = 0
        while True:
            body = dict(payload)
            if schema is not None and self.structured:
                body["response_format"] = {"type": "json_schema", "json_schema": schema}
            try:
                return self._attempt(body, retries)
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

    def _attempt(self, body: dict[str, Any], retries: int) -> Completion:
        url = f"{self.base_url}/chat/completions"
        with self._lock:
            self.requests += 1
        try:
            response = self.session.post(url, json=body, timeout=self.timeout_s)
        except requests.Timeout:
            raise _Retryable("timeout", f"{url}: no reply within {self.timeout_s}s") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
            raise _Retryable("connection", f"{url}: connection failed ({type(e).__name__})") from None
        except requests.RequestException as e:
            raise RequestFailed("request_error", f"{url}: {type(e).__name__}", retries) from None
        status = response.status_code
        if status == 400 and "response_format" in body:
            self._drop_structured(response.text[:200])
            raise _Retryable("structured_rejected", "response_format rejected")
        if status == 429:
            raise _Retryable("http_429", f"{url}: HTTP 429 (busy)", _retry_after(response))
        if status >= 500:
            raise _Retryable(
                f"http_{status}", f"{url}: HTTP {status} {response.text[:120]!r}", _retry_after(response)
            )
        if status != 200:
            raise RequestFailed(f"http_{status}", f"{url}: HTTP {status} {response.text[:200]!r}", retries)
        try:
            choice = response.json()["choices"][0]
            message = choice.get("message") or {}
            content = message.get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise _Retryable(
                "bad_body", f"{url}: reply is not a chat completion: {response.text[:120]!r}"
            ) from None
        return Completion(
            content=content if isinstance(content, str) else "",
            finish_reason=str(choice.get("finish_reason") or ""),
            retries=retries,
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
