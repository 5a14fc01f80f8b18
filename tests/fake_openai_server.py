"""A local fake of an OpenAI-compatible server (LM Studio-like), for the synth tests and benchmark.

A real HTTP server (stdlib ThreadingHTTPServer on 127.0.0.1, a free port) in a background thread:
- `latency_s` per request and `slots` requests served at once (the rest wait, like LM Studio's
  parallel predictions);
- streaming like LM Studio: a request with `stream: true` gets server-sent events, the reply cut into
  `piece_chars`-character deltas with `piece_delay_s` between them (a slow laptop trickling tokens), then
  `data: [DONE]`; without it, one JSON body;
- /v1/chat/completions and /v1/completions (the text-continuation endpoint base models are asked on);
- GET /v1/models, and LM Studio's /api/v0/models (type and load state of each model) when `lm_models` is
  given (a list of dicts like LM Studio's); 404 there otherwise, like servers that are not LM Studio;
- scripted faults, consumed one per generation request from `faults` (a list) or chosen by a function of
  (request number, request body): "500", "503" (model loading), "429" (with Retry-After), "drop"
  (connection closed without a reply), "garbage" (200 with a non-JSON body), "hang" (no reply for
  `hang_s`), "slow" (a reply after `hang_s`), "stall" (streams a few deltas, then nothing for `hang_s`),
  "length" (finish_reason length, the reply cut inside its first pair), "think_cut" (a reasoning block cut by
  max_tokens before it closed), "null" (content null, reasoning_content set), "context" (400: the prompt
  is over the context length, as LM Studio says it), "bad_request" (400 about something else),
  "stream_error" (an error event mid-stream);
- `reject_response_format`: answers 400 to any request carrying `response_format` with a message about the
  schema, like servers without structured output;
- a reply generator: by default grounded pairs built from the chunk in the prompt, dressed in one of
  several messy formats chosen by the chunk's hash;
- death mid-run: `die()`, or `die_after=n` (when the n-th generation request arrives) closes the listening
  socket (later connections are refused) and cuts every open connection, the requests in flight unanswered.
Every request is logged (path, Authorization header, body, fault) in `server.requests`; the prompt of every
reply sent in full is in `server.answered`.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Fault = str | None
GENERATION_PATHS = ("/chat/completions", "/completions")
# What LM Studio answers when the prompt does not fit the loaded context (HTTP 400).
CONTEXT_MESSAGE = (
    "The number of tokens to keep from the initial prompt is greater than the context length (n_keep: 5120>= "
    "n_ctx: 4096). Try to load the model with a larger context length, or provide a shorter input."
)


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


def continuation_reply(prompt: str) -> str:
    """What a base model writes after a completion prompt ending in "Pergunta:": the question, then labels."""
    text = re.split(r"(?:Trecho|Texto): ", prompt)[-1]  # the chunk: after the examples, if any
    text = re.split(r"\n\nPerguntas e respostas|\nPergunta:", text)[0]
    pairs = grounded_pairs(text)
    if not pairs:
        return " Nada a perguntar.\n\n\n"
    (q, a), *rest = pairs
    return f" {q}\nResposta: {a}\n\n" + "".join(f"Pergunta: {q}\nResposta: {a}\n\n" for q, a in rest)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closed its kept-alive connection is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class FakeOpenAIServer:
    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        slots: int = 4,
        faults: list[Fault] | Callable[[int, dict[str, Any]], Fault] | None = None,
        reply: Callable[[str], str] = messy_reply,
        completion_reply: Callable[[str], str] = continuation_reply,
        models: tuple[str, ...] = ("fake-model",),
        lm_models: list[dict[str, Any]] | None = None,
        reject_response_format: bool = False,
        retry_after_s: float = 0.0,
        hang_s: float = 2.0,
        piece_chars: int = 8,
        piece_delay_s: float = 0.0,
        die_after: int | None = None,
    ) -> None:
        self.latency_s, self.reply, self.completion_reply = latency_s, reply, completion_reply
        self.models, self.lm_models = models, lm_models
        self.reject_response_format, self.retry_after_s, self.hang_s = (
            reject_response_format,
            retry_after_s,
            hang_s,
        )
        self.piece_chars, self.piece_delay_s = piece_chars, piece_delay_s
        self._faults = faults if callable(faults) else list(faults or [])
        self._slots = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.answered: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.die_after, self.dead = die_after, False
        self._connections: set[socket.socket] = set()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.die()

    def die(self) -> None:
        """Stop like a killed process: refuse new connections and cut the open ones without a reply."""
        with self._lock:
            if self.dead:
                return
            self.dead = True
            connections = list(self._connections)
        self._httpd.shutdown()
        self._httpd.server_close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed by its handler meanwhile

    def answered_prompts(self) -> list[str]:
        with self._lock:
            return list(self.answered)

    def chat_requests(self) -> list[dict[str, Any]]:
        """Every generation request (chat or completion), in arrival order."""
        with self._lock:
            return [r for r in self.requests if r["path"].endswith(GENERATION_PATHS)]

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

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._connections.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass  # a connection cut by die()

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
                path = self.path.rstrip("/")
                if path == "/api/v0/models" and server.lm_models is not None:
                    self._send(200, {"object": "list", "data": server.lm_models})
                elif path.endswith("/v1/models"):
                    self._send(
                        200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                    )
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.endswith("/completions") and not self.path.endswith("/chat/completions"):
                    prompt = body.get("prompt", "")
                else:
                    prompt = body.get("messages", [{}])[-1].get("content", "")
                refused = server.reject_response_format and "response_format" in body
                with server._lock:  # log and fault chosen together, so the log's order is the faults' order
                    number = len([r for r in server.requests if r["path"].endswith(GENERATION_PATHS)])
                    fault = "400" if refused else server._next_fault(number, body)
                    entry = {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": body,
                        "fault": fault,
                    }
                    server.requests.append(entry)
                    dies_now = server.die_after is not None and number + 1 >= server.die_after
                if dies_now:
                    server.die()
                if server.dead:
                    self.close_connection = True
                    return
                if refused:
                    self._send(
                        400, {"error": "'response_format.json_schema' is not supported: invalid schema"}
                    )
                    return
                with server._slots:
                    with server._lock:
                        server.in_flight += 1
                        server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    try:
                        time.sleep(server.latency_s)
                        if server.dead:  # killed while this request waited: no reply
                            self.close_connection = True
                            return
                        self._answer(fault, prompt, body)
                    finally:
                        with server._lock:
                            server.in_flight -= 1

            def _answer(self, fault: Fault, prompt: str, body: dict[str, Any]) -> None:
                completion = "prompt" in body
                if fault == "slow":
                    time.sleep(server.hang_s)  # then a normal reply, unless killed meanwhile
                    if server.dead:
                        self.close_connection = True
                        return
                if fault in ("500", "503"):
                    self._send(int(fault), {"error": "model loading" if fault == "503" else "internal error"})
                elif fault == "429":
                    self._send(429, {"error": "busy"}, {"Retry-After": str(server.retry_after_s)})
                elif fault == "context":
                    self._send(400, {"error": CONTEXT_MESSAGE})
                elif fault == "bad_request":
                    self._send(400, {"error": "'temperature' must be a number between 0 and 2"})
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
                    content: str | None = (server.completion_reply if completion else server.reply)(prompt)
                    finish = "stop"
                    if fault == "length":
                        content, finish = content[:25], "length"
                    elif fault == "think_cut":
                        content, finish = (
                            "<think>Vou ler o trecho. Pergunta: qual o prazo? Resposta: 5 dias",
                            "length",
                        )
                    elif fault == "null":
                        content = None
                    if body.get("stream"):
                        sent = self._stream(content or "", finish, fault, completion)
                    else:
                        self._send(200, self._completion_body(content, finish, fault, completion, body))
                        sent = True
                    if sent:
                        with server._lock:
                            server.answered.append(prompt)

            def _completion_body(
                self, content: str | None, finish: str, fault: Fault, completion: bool, body: dict[str, Any]
            ) -> dict[str, Any]:
                if completion:
                    choice: dict[str, Any] = {"index": 0, "text": content or "", "finish_reason": finish}
                else:
                    message: dict[str, Any] = {"role": "assistant", "content": content}
                    if fault == "null":
                        message["reasoning_content"] = "pensando..."
                    choice = {"index": 0, "message": message, "finish_reason": finish}
                kind = "text_completion" if completion else "chat.completion"
                return {"id": "fake", "object": kind, "model": body.get("model"), "choices": [choice]}

            def _event(self, payload: Any) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
                line = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")  # one HTTP chunk per event
                self.wfile.flush()

            def _stream(self, content: str, finish: str, fault: Fault, completion: bool) -> bool:
                """Server-sent events in chunked transfer encoding, one delta per piece; True when the whole
                reply was sent."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                pieces = [
                    content[i : i + server.piece_chars] for i in range(0, len(content), server.piece_chars)
                ]
                try:
                    for i, piece in enumerate(pieces):
                        if fault == "stall" and i == 2:
                            time.sleep(server.hang_s)  # silence mid-reply: the client's idle timeout
                            raise BrokenPipeError
                        if fault == "stream_error" and i == 1:
                            self._event({"error": {"message": "Model crashed while generating"}})
                            break
                        delta = {"text": piece} if completion else {"delta": {"content": piece}}
                        self._event({"choices": [{"index": 0, **delta, "finish_reason": None}]})
                        time.sleep(server.piece_delay_s)
                    else:
                        end = {"text": ""} if completion else {"delta": {}}
                        self._event({"choices": [{"index": 0, **end, "finish_reason": finish}]})
                        self._event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return False
                return fault != "stall" and fault != "stream_error"

        return Handler
