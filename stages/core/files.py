"""JSON/JSONL, atomic writes, hashes and timings: the file helpers every stage shares."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from stages.records.paths import TIMINGS_DIR

log = logging.getLogger(__name__)


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """Content hash of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def stable_hash(*parts: Any, length: int = 16) -> str:
    """Short deterministic hash of JSON-serialisable parts (dataclasses included)."""
    norm = [dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts]  # type: ignore[arg-type]
    blob = json.dumps(norm, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def dumps_record(record: dict[str, Any]) -> str:
    """One JSONL line: UTF-8 kept readable, key order as given (so output is byte-stable)."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file; a torn last line (killed writer) is skipped with a warning."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) and not line.endswith("\n"):
                log.warning("%s: ignoring a torn last line %d (interrupted write)", path, i)
                continue
            raise ValueError(f"{path}:{i} is not valid JSON; delete the file and rerun the stage") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file + rename, so a killed run never leaves a half-written output."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write all records atomically; returns how many."""
    lines = [dumps_record(r) for r in records]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def append_jsonl(f: typing.TextIO, record: dict[str, Any]) -> None:
    """Append one record to an open file and make it durable (used by resumable caches)."""
    f.write(dumps_record(record) + "\n")
    f.flush()
    os.fsync(f.fileno())


def write_json(path: Path, data: Any) -> None:
    """Pretty, key-sorted JSON (metrics, per-document outputs), written atomically."""
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_timings(stage: str, timings: dict[str, Any]) -> None:
    """Seconds, rates and cache hits of this run: logged, and kept in metrics/timings/<stage>.json, which git
    and DVC ignore, so that the metrics DVC compares hold results only (two identical runs: an empty diff)."""
    log.info("%s timings: %s", stage, json.dumps(timings, sort_keys=True))
    try:
        write_json(TIMINGS_DIR / f"{stage}.json", timings)
    except OSError as e:  # a read-only checkout must not fail a stage over its timings
        log.warning("could not write %s timings: %s", stage, e)
