"""Chunks spread over one or more OpenAI-compatible servers, `synth.concurrency` requests in flight on each.

Each server has `concurrency` worker threads that take the next chunk from one shared queue, so whichever
server has a free slot asks the next chunk, and a faster server asks more. A request that failed for good on
dropped connections or idle timeouts (every retry used) raises a question about its server: if the server
does not answer GET /models, or has answered nothing since that request was sent, it is taken out of rotation
with one warning naming its URL, and the chunk goes back to the front of the queue for the others. Otherwise
the chunk itself is the trouble and its failure is recorded. A chunk is only ever in flight at one server, so
none is asked twice; when no server is left the run stops (ServerUnavailable) with every answer already
cached.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from stages.qa.client import ChatClient, ServerUnavailable

log = logging.getLogger(__name__)

Item = TypeVar("Item")
DOWN_KINDS = frozenset({"connection", "idle_timeout"})  # failures that may mean the server itself is gone
PROBE_TIMEOUT_S = 5.0  # GET /models answers at once on a live server, even one busy generating
_DONE = object()


@dataclass
class Server:
    url: str
    client: ChatClient
    model: str = ""
    replies: int = 0  # requests it answered (an HTTP error included): it was up when they ended
    lost: str = ""  # why it was taken out of rotation; "" while it is in


class Pool(Generic[Item]):
    """One run's servers and queue: `run()` calls `ask(client, item)` on the workers and `on_result(item,
    record)` on the calling thread, in the order answers arrive."""

    def __init__(
        self,
        servers: list[Server],
        slots: int,
        ask: Callable[[ChatClient, Item], dict[str, Any]],
        on_result: Callable[[Item, dict[str, Any]], None],
    ) -> None:
        self.servers, self.slots, self.ask, self.on_result = servers, slots, ask, on_result
        self.requeued = 0  # items taken back from a server that was lost
        self.requeued_attempts = 0  # the failed requests spent on them there
        self._queue: deque[Item] = deque()
        self._results: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._workers_left = 0
        self._stopping = False

    def run(self, items: list[Item]) -> None:
        """Ask every item; ServerUnavailable, after the answers that came have been handled, when every
        server was lost with items still unasked."""
        self._queue.extend(items)
        threads = [
            threading.Thread(target=self._work, args=(server,), name=f"synth-{i}-{slot}", daemon=True)
            for i, server in enumerate(self.servers)
            for slot in range(self.slots)
        ]
        self._workers_left = len(threads)
        for thread in threads:
            thread.start()
        try:
            while True:
                try:
                    got = self._results.get(timeout=0.5)  # a timeout, so Ctrl-C is seen while waiting
                except queue.Empty:
                    continue
                if got is _DONE:
                    break
                self.on_result(*got)
        finally:
            with self._cond:
                self._stopping = True  # Ctrl-C: queued items are dropped, not sent
                self._cond.notify_all()
            for thread in threads:
                thread.join()
        if self._queue:
            lost = "; ".join(f"{s.url}: {s.lost}" for s in self.servers)
            raise ServerUnavailable(
                f"synth: no server left ({lost}); {len(self._queue)} chunks not asked. What was answered is "
                "cached: rerun when a server is back, and only those chunks are asked"
            )

    def _take(self, server: Server) -> tuple[Item, int] | None:
        """The next item and the server's reply count now; None when this worker is done. Called locked."""
        while not self._queue and self._in_flight and not server.lost and not self._stopping:
            self._cond.wait()  # an item in flight elsewhere may come back if its server is lost
        if not self._queue or server.lost or self._stopping:
            return None
        self._in_flight += 1
        return self._queue.popleft(), server.replies

    def _work(self, server: Server) -> None:
        try:
            while True:
                with self._cond:
                    taken = self._take(server)
                if taken is None:
                    return
                item, replies_before = taken
                record = self.ask(server.client, item)
                kind = record.get("error", {}).get("kind")
                gone = kind in DOWN_KINDS and (
                    server.lost or server.replies == replies_before or not self._answers(server)
                )
                with self._cond:
                    self._in_flight -= 1
                    if gone:
                        self._lose(server, record)
                        self._queue.appendleft(item)
                        self.requeued += 1
                        self.requeued_attempts += record.get("retries", 0) + 1
                    else:
                        server.replies += kind not in DOWN_KINDS
                        self._results.put((item, record))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._workers_left -= 1
                if not self._workers_left:
                    self._results.put(_DONE)

    def _answers(self, server: Server) -> bool:
        """Does the server still answer GET /models (the probe sends no generation request)?"""
        try:
            server.client.list_models(timeout_s=min(PROBE_TIMEOUT_S, server.client.timeout_s))
        except ServerUnavailable:
            return False
        return True

    def _lose(self, server: Server, record: dict[str, Any]) -> None:
        """Take `server` out of rotation (once); stop when none is left. Called locked."""
        if server.lost:
            return
        server.lost = record["error"]["kind"]
        left = [s.url for s in self.servers if not s.lost]
        log.warning(
            "synth: %s taken out of rotation (%s); its chunks go to %s",
            server.url,
            record["error"]["message"],
            ", ".join(left) or "no server: the run stops",
        )
        if not left:
            self._stopping = True
