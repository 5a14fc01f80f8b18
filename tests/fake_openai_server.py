"""A local fake of an OpenAI-compatible chat server (LM Studio-like), for the synth tests and benchmark.

A real HTTP server (stdlib ThreadingHTTPServer on 127.0.0.1, a free port) in a background thread:
- `latency_s` per request and `slots` requests served at once (the rest wait, like LM Studio's
  parallel predictions);
- scripted faults, consumed one per chat request from `faults` (a list) or chosen by a function of
  (request number, request body): "500", "503" (model loading), "429" (with Retry-After), "drop"
  (connection closed without a reply), "garbage" (200 with a non-JSON body), "hang" (no reply for
  `hang_s`), "length" (finish_reason length), "null" (content null, reasoning_content set);
- `reject_response_format`: answers 400 to any request carrying `response_format`, like servers
  without structured output;
- a reply generator: by default grounded pairs built from the chunk in the prompt, dressed in one of
  several messy formats chosen by the chunk's hash.
Every request is logged (path, Authorization header, body, fault) in `server.requests`.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Fault = str | None


def chunk_text_of(prompt: str) -> str:
    """The chunk between the prompt's triple quotes (the whole prompt if there are none)."""
    match = re.search(r'"""\n?(.*?)\n?"""', prompt, re.DOTALL)
    return match.group(1) if match else prompt


def grounded_pairs(text: str, n: int = 2) -> list[tuple[str, str]]:
    """Pairs whose answers are sentences of `text`, one question per sentence."""
    sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.;:])\s+", text) if len(s.split()) >= 4]
    pairs = []
    for sentence in sentences[:n]:
        head = " ".join(sentence.split()[:5]).rstrip(".,;:")
        pairs.append((f"O que o texto diz sobre “{head}”?", sentence))
    return pairs


def messy_reply(prompt: str) -> str:
    """Grounded pairs in a format picked by the chunk's hash: JSON, Python dicts, labelled text, fenced."""
    text = chunk_text_of(prompt)
    pairs = grounded_pairs(text)
    style = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 4
    if style == 0:
        return json.dumps({"pares": [{"pergunta": q, "resposta": a} for q, a in pairs]}, ensure_ascii=False)
    if style == 1:
        items = [{"pergunta": q, "resposta": a} for q, a in pairs]
        return "Aqui estão os pares solicitados:\n" + "\n".join(repr(item) for item in items)
    if style == 2:
        return "\n\n".join(
            f"**Pergunta {i}:** {q}\n**Resposta {i}:** {a}" for i, (q, a) in enumerate(pairs, 1)
        )
    body = json.dumps([{"question": q, "answer": a} for q, a in pairs], ensure_ascii=False, indent=2)
    return f"Claro!\n```json\n{body}\n```\nEspero ter ajudado."


class FakeOpenAIServer:
    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        slots: int = 4,
        faults: list[Fault] | Callable[[int, dict[str, Any]], Fault] | None = None,
        reply: Callable[[str], str] = messy_reply,
        models: tuple[str, ...] = ("fake-model",),
        reject_response_format: bool = False,
        retry_after_s: float = 0.0,
        hang_s: float = 2.0,
    ) -> None:
        self.latency_s, self.reply, self.models = latency_s, reply, models
        self.reject_response_format, self.retry_after_s, self.hang_s = (
            reject_response_format,
            retry_after_s,
            hang_s,
        )
        self._faults = faults if callable(faults) else list(faults or [])
        self._slots = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = self.max_in_flight = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _next_fault(self, number: int, body: dict[str, Any]) -> Fault:
        """Called with the lock held."""
        if callable(self._faults):
            return self._faults(number, body)
        return self._faults.pop(0) if self._faults else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like real servers: the client's pool is exercised

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, "auth": self.headers.get("Authorization")})
                if self.path.rstrip("/").endswith("/models"):
                    self._send(
                        200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                    )
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                prompt = body.get("messages", [{}])[-1].get("content", "")
                refused = server.reject_response_format and "response_format" in body
                with server._lock:  # log and fault chosen together, so the log's order is the faults' order
                    number = len([r for r in server.requests if r["path"].endswith("/chat/completions")])
                    fault = "400" if refused else server._next_fault(number, body)
                    entry = {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": body,
                        "fault": fault,
                    }
                    server.requests.append(entry)
                if refused:
                    self._send(400, {"error": "'response_format' is not supported by this server"})
                    return
                with server._slots:
                    with server._lock:
                        server.in_flight += 1
                        server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    try:
                        time.sleep(server.latency_s)
                        self._answer(fault, prompt, body)
                    finally:
                        with server._lock:
                            server.in_flight -= 1

            def _answer(self, fault: Fault, prompt: str, body: dict[str, Any]) -> None:
                if fault in ("500", "503"):
                    self._send(int(fault), {"error": "model loading" if fault == "503" else "internal error"})
                elif fault == "429":
                    self._send(429, {"error": "busy"}, {"Retry-After": str(server.retry_after_s)})
                elif fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif fault == "garbage":
                    self._send(200, b"<html><body>502 Bad Gateway</body></html>")
                elif fault == "hang":
                    time.sleep(server.hang_s)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    content: str | None = server.reply(prompt)
                    message: dict[str, Any] = {"role": "assistant", "content": content}
                    finish = "stop"
                    if fault == "length":
                        content, finish = content[: len(content) // 2], "length"
                        message["content"] = content
                    elif fault == "null":
                        message = {"role": "assistant", "content": None, "reasoning_content": "pensando..."}
                    self._send(
                        200,
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "model": body.get("model"),
                            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        },
                    )

        return Handler
