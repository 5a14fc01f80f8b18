"""Helpers shared by the stages: params, JSONL, hashing, metrics, logging.

Kept deliberately small (see shared/STYLE.md: a little repetition beats a framework).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
import tempfile
import types
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from stages.records import TIMINGS_DIR

log = logging.getLogger(__name__)

# Every stage runs from the repository root (dvc.yaml's wdir); paths in params.yaml are relative to it.
PARAMS_FILE = Path(os.environ.get("PIPELINE_PARAMS", "params.yaml"))

P = TypeVar("P")


class ParamsError(ValueError):
    """params.yaml holds a value a stage cannot work with; the message lists every problem."""


EXIT_PARAMS = 2  # a bad value in params.yaml (or on the command line)
EXIT_NO_INPUT = 66  # an input another stage writes is missing (sysexits.h EX_NOINPUT)


class MissingInputError(FileNotFoundError):
    """An input that another stage writes is missing; the message names it and the command that makes it."""

    def __init__(self, path: Path | str, stage: str, what: str = "not found") -> None:
        super().__init__(f"{path} {what}: run `dvc repro {stage}` first")
        self.path, self.stage = Path(path), stage


def require_input(path: Path, stage: str) -> Path:
    """`path` when it exists, else MissingInputError telling the user to run `stage` (exit 66 via run_main)."""
    if not Path(path).exists():
        raise MissingInputError(path, stage)
    return path


def setup_logging() -> None:
    """One format for every stage; LOGLEVEL=DEBUG for more."""
    logging.basicConfig(
        level=os.environ.get("LOGLEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def read_params_file(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole params.yaml as a dict (empty when the file is empty)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run the stage from the repository root") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path} must be a mapping of sections, got {type(data).__name__}")
    return data


def _coerce(name: str, value: Any, hint: Any) -> tuple[Any, str | None]:
    """Check one value against a dataclass field's type hint; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value, None
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None, None
        for arg in args:
            if arg is type(None):
                continue
            coerced, problem = _coerce(name, value, arg)
            if problem is None:
                return coerced, None
        return value, f"{name} has the wrong type: got {value!r}"
    if origin in (list, tuple):
        if isinstance(value, str):  # `-S lora.target_modules=all-linear` style
            value = [value]
        if not isinstance(value, (list, tuple)):
            return value, f"{name} must be a list, got {value!r}"
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        out = []
        for i, item in enumerate(value):
            coerced, problem = _coerce(f"{name}[{i}]", item, item_hint)
            if problem:
                return value, problem
            out.append(coerced)
        return (tuple(out) if origin is tuple else out), None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value), None
    if hint is bool and not isinstance(value, bool):
        return value, f"{name} must be true or false, got {value!r}"
    if isinstance(hint, type) and not isinstance(value, hint):
        return value, f"{name} must be {hint.__name__}, got {value!r}"
    if hint is int and isinstance(value, bool):
        return value, f"{name} must be int, got {value!r}"
    return value, None


def params_problems(
    section: str, cls: type[P], raw: Any, partial: bool = False
) -> tuple[P | None, list[str]]:
    """(params, problems) for one params.yaml section: unknown keys, wrong types and `cls.problems()`.

    `partial=True` reads a view of a section another stage owns (evaluate reads two keys of [train]): keys
    the view does not declare are left to their owner instead of being reported as unknown.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, [f"{section} must be a mapping of keys, got {raw!r:.60}"]
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [] if partial else sorted(set(raw) - fields)
    problems = [
        f"{section}.{k} is not a known parameter (known: {', '.join(sorted(fields))})" for k in unknown
    ]
    kwargs: dict[str, Any] = {}
    for name in fields & set(raw):
        value, problem = _coerce(f"{section}.{name}", raw[name], hints[name])
        if problem:
            problems.append(problem)
        else:
            kwargs[name] = value
    if problems:
        return None, problems
    params = cls(**kwargs)
    checker = getattr(params, "problems", None)
    problems = list(checker()) if checker is not None else []
    return (None, problems) if problems else (params, [])


def build_params(section: str, cls: type[P], raw: dict[str, Any] | None, partial: bool = False) -> P:
    """One section's typed params from its raw mapping; one ParamsError listing every problem."""
    params, problems = params_problems(section, cls, raw, partial)
    if problems:
        raise ParamsError(f"params.yaml [{section}]: " + "; ".join(problems))
    assert params is not None
    return params


def load_params(section: str, cls: type[P], *, partial: bool = False, path: Path | None = None) -> P:
    """Read params.yaml once and return its `section` as a checked `cls` instance (ParamsError otherwise)."""
    return build_params(section, cls, read_params_file(path or PARAMS_FILE).get(section), partial)


def load_sections(
    sections: dict[str, type], *, partial: tuple[str, ...] = (), path: Path | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Several sections read at once (train reads model, lora and train): (params by section, problems).

    A section with problems maps to None. The caller adds its own checks to the problems and raises one
    ParamsError with all of them (`raise_problems`).
    """
    raw = read_params_file(path or PARAMS_FILE)
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for name, cls in sections.items():
        params, found = params_problems(name, cls, raw.get(name), partial=name in partial)
        parsed[name] = params
        problems += found
    return parsed, problems


def raise_problems(what: str, problems: list[str]) -> None:
    """One ParamsError listing every problem, when there are any."""
    if problems:
        raise ParamsError(f"{what}: " + "; ".join(problems))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def run_main(fn: typing.Callable[[], None]) -> None:
    """Entry point wrapper: logging set up; a params problem (exit 2) or a missing input (exit 66) is one
    clear line, never a traceback."""
    setup_logging()
    try:
        fn()
    except ParamsError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_PARAMS) from None
    except MissingInputError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_NO_INPUT) from None
