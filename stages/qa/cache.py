"""synth's reply cache, sharded by key: data/cache/synth/<first 2 hex digits of the key>.jsonl.

A key is a 16-hex-digit hash of the prompt, the model and the generation params (server.cache_key), so the
256 shards fill evenly and a run reads only the shards its chunks' keys fall in, keeping only the records of
those keys: memory grows with the chunks asked about, never with the cache. Answers are appended to their
shard and fsynced as they arrive; a shard whose last line was torn by a kill is cut back to its last newline
before it is read or appended to. The single-file layout (replies.jsonl) is streamed into the shards once
and left empty: the directory is a DVC output, and DVC warns about an empty one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from stages.core.files import append_jsonl, dumps_record

log = logging.getLogger(__name__)

SHARD_DIGITS = 2  # 256 shards: a 100,000-chunk corpus keeps ~400 replies in each
TAIL_BLOCK = 1 << 16  # bytes read back from the end of a shard to find its last newline


def shard_name(key: str) -> str:
    return f"{key[:SHARD_DIGITS]}.jsonl"


def cut_torn_tail(path: Path) -> bool:
    """Truncate `path` after its last newline when a kill tore its last line; True if it did."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return False
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return False
        end = size
        while end > 0:
            start = max(0, end - TAIL_BLOCK)
            f.seek(start)
            newline = f.read(end - start).rfind(b"\n")
            if newline >= 0:
                f.truncate(start + newline + 1)
                break
            end = start
        else:
            f.truncate(0)
    log.warning("%s: dropped a torn last line (interrupted write)", path)
    return True


def stream_records(path: Path) -> Iterator[dict[str, Any]]:
    """A JSONL file's records, one line in memory at a time; a torn last line is skipped."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                if not line.endswith(b"\n"):
                    return  # the last line, torn by a kill
                raise ValueError(f"{path}:{number} is not valid JSON; delete the file and rerun") from None


class ReplyCache:
    """Replies by cache key in `directory`'s shards; `legacy` is the single-file layout, migrated once."""

    def __init__(self, directory: Path, legacy: Path | None = None) -> None:
        self.directory, self.legacy = Path(directory), legacy
        self._open: dict[str, TextIO] = {}

    def load(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The cached record of each of `keys` that has one (the last written, if a key was written twice)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.migrate()
        by_shard: dict[str, set[str]] = {}
        for key in keys:
            by_shard.setdefault(shard_name(key), set()).add(key)
        found: dict[str, dict[str, Any]] = {}
        for name, wanted in sorted(by_shard.items()):
            path = self.directory / name
            if not path.exists():
                continue
            cut_torn_tail(path)
            found.update((r["key"], r) for r in stream_records(path) if r.get("key") in wanted)
        return found

    def append(self, record: dict[str, Any]) -> None:
        """Add one answer to its shard, durably (fsync)."""
        name = shard_name(record["key"])
        if name not in self._open:
            self._open[name] = open(self.directory / name, "a", encoding="utf-8")
        append_jsonl(self._open[name], record)

    def close(self) -> None:
        for f in self._open.values():
            f.close()
        self._open.clear()

    def migrate(self) -> int:
        """Stream the single-file cache into the shards, then empty it; how many records moved. A migration
        killed half-way is run again without writing any key twice."""
        if self.legacy is None or not self.legacy.exists() or self.legacy.stat().st_size == 0:
            return 0
        present: dict[str, set[str]] = {}  # keys already in each shard touched (keys only, not replies)
        shards: dict[str, TextIO] = {}
        moved = 0
        try:
            for record in stream_records(self.legacy):
                key = record.get("key")
                if not isinstance(key, str) or not key:
                    continue
                name = shard_name(key)
                if name not in present:
                    path = self.directory / name
                    if path.exists():
                        cut_torn_tail(path)
                    present[name] = {r.get("key") for r in stream_records(path)} if path.exists() else set()
                    shards[name] = open(path, "a", encoding="utf-8")
                if key in present[name]:
                    continue
                shards[name].write(dumps_record(record) + "\n")
                present[name].add(key)
                moved += 1
            for f in shards.values():
                f.flush()
                os.fsync(f.fileno())
        finally:
            for f in shards.values():
                f.close()
        with open(self.legacy, "r+b") as f:  # emptied only once every shard is on disk
            f.truncate(0)
        log.info(
            "%s: %d cached replies moved into %d shards in %s",
            self.legacy,
            moved,
            len(shards),
            self.directory,
        )
        return moved


def all_records(directory: Path) -> Iterator[dict[str, Any]]:
    """Every record in every shard (for reports and tests), shard by shard."""
    for path in sorted(Path(directory).glob("*.jsonl")):
        if len(path.stem) == SHARD_DIGITS:
            yield from stream_records(path)
