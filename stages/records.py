"""What the stages hand each other, declared once: the paths of every inter-stage file and the records in them.

A producer builds these dataclasses and writes `to_dict()`; a consumer reads `from_dict()`, which checks every
declared field (a record that lacks one, or holds the wrong type, raises RecordError naming the field). Keys a
record does not declare are ignored on reading, so a newer producer never breaks an older consumer. dvc.yaml
spells the same paths; tests/test_dvc_deps.py checks the two agree.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# ---------------------------------------------------------------------------------------------
# Paths, relative to the repository root (every stage runs there: dvc.yaml's wdir)
# ---------------------------------------------------------------------------------------------
OCR_DIR = Path("data/ocr")  # ocr -> clean: <doc>.json, one OcrDocument each
OCR_CACHE_DIR = Path("data/cache/ocr")  # ocr's own per-document cache (persist: true)
CLEAN_DIR = Path("data/clean")  # clean -> chunk, base: <doc>.txt, one paragraph per line
CHUNKS_FILE = Path("data/chunks/chunks.jsonl")  # chunk -> synth: one Chunk per line
QA_FILE = Path("data/qa/qa.jsonl")  # synth -> dataset: one QAPair per line
REJECTED_FILE = Path("data/qa/rejected.jsonl")  # synth: every pair or chunk it dropped, with the reason
JUDGE_CACHE_FILE = Path("data/cache/judge/grades.jsonl")  # evaluate's LLM-judge grades (persist: true)
SYNTH_CACHE_FILE = Path("data/cache/synth/replies.jsonl")  # synth's own server-reply cache (persist: true)
DATASET_DIR = Path("data/dataset")
TRAIN_FILE = DATASET_DIR / "train.jsonl"  # dataset -> train: QAPair lines
EVAL_FILE = DATASET_DIR / "eval.jsonl"  # dataset -> train, evaluate: QAPair lines
BASE_MODEL_DIR = Path("models/base")  # base -> train, evaluate: the built-in model (or a marker file)
ADAPTER_DIR = Path("models/adapter")  # train -> evaluate, ask: the LoRA adapter (safetensors)
ADAPTER_BASE_FILE = "base_model.json"  # in an adapter folder: its base as params named it, a GGUF's sha256
CHECKPOINT_ROOT = Path("models/checkpoints")  # train's resumable checkpoints (not a DVC output)
LIVE_DIR = Path("dvclive")  # train's loss curves (DVC metrics + plots)
PREDICTIONS_FILE = Path("data/eval/predictions.jsonl")  # evaluate: answers beside the references
PREDICTIONS_REPORT = Path("data/eval/predictions.md")  # evaluate: the same, for reading
EVAL_SCORES_FILE = Path("data/eval/scores.csv")  # evaluate: per set and system, the DVC bar plot's data
METRICS_DIR = Path("metrics")  # metrics/<stage>.json: results only, what `dvc metrics diff` compares
OCR_QUALITY_PLOT = METRICS_DIR / "ocr_quality.json"  # ocr: one row per document (a DVC plot)
TIMINGS_DIR = METRICS_DIR / "timings"  # metrics/timings/<stage>.json: seconds, rates, cache hits (untracked)


def metrics_file(stage: str) -> Path:
    """metrics/<stage>.json."""
    return METRICS_DIR / f"{stage}.json"


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------
class RecordError(ValueError):
    """A record read from an inter-stage file lacks a declared field or holds the wrong type."""


R = TypeVar("R")


def _check(value: Any, hint: Any) -> bool:
    """Is `value` (parsed JSON) of type `hint`? Lists are checked item by item; ints pass for floats."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_check(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_check(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, dict)
    return isinstance(value, hint)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type hint, required) of each field of a record class: resolved once per class, not per record
    (typing.get_type_hints evaluates every annotation string; it was most of the time of reading a file)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )


def from_dict(cls: type[R], data: Any) -> R:
    """`cls` built from a parsed JSON object; RecordError names the first missing or mistyped field."""
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object for a {cls.__name__}, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for name, hint, required in _fields(cls):
        if name not in data:
            if required:
                raise RecordError(f"{cls.__name__} lacks the field {name!r}")
            continue
        value = data[name]
        if not _check(value, hint):
            raise RecordError(f"{cls.__name__}.{name} has the wrong type: {value!r:.80}")
        if typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            if dataclasses.is_dataclass(item):
                value = [from_dict(item, v) for v in value]
        kwargs[name] = value
    return cls(**kwargs)


def to_dict(record: Any) -> dict[str, Any]:
    """The record as a JSON-ready dict, fields in declaration order (so outputs are byte-stable)."""
    return dataclasses.asdict(record)


@dataclass(frozen=True)
class OcrPage:
    page: int  # 1-based
    method: str  # "text" (the page's own text layer) | "ocr" (tesseract)
    text: str
    confidence: float | None  # tesseract's mean word confidence (0-100); None for text-layer pages
    # Quality signals (stages/quality.py) and the verdict drawn from them
    chars: int = 0  # non-space characters of `text`
    lexicon_share: float | None = None  # share of its words (3+ letters) a Portuguese lexicon knows
    broken_glyphs: int = 0  # U+FFFD and private-use characters inside words
    ink_cm2: float | None = None  # ink on the rendered page; None when the page was not rendered
    verdict: str = "ok"  # "ok" | "suspect"
    reasons: list[str] = field(default_factory=list)  # why suspect: empty_with_ink, low_confidence, ...
    binarization: str | None = None  # tesseract's: "otsu" | "sauvola" | "normalized"; None if not OCR'd
    rotation: int = 0  # degrees the page was turned (clockwise) before it was read (tesseract's OSD)
    passes: int = 0  # tesseract readings made (a suspect page is read again; the best one is kept)
    text_layer_rejected: bool = False  # its text layer failed the quality check and OCR read it better
    struck_chars: int = 0  # characters of its text layer shown struck through (revoked), left out of `text`
    struck_lines: int = 0  # lines printed struck through on its image, painted out before OCR
    dot_leaders: int = 0  # rows of leader dots on its image, painted out before OCR
    labels_joined: int = 0  # labels set in a column of their own, put back at the start of their lines
    labels_misread: int = 0  # ... of them, those OCR misread ("Ss" for "§ 1º"), kept as read
    lines_split: int = 0  # lines tesseract cut into blocks or interleaved with others; > 0: read by rows
    tables_read: int = 0  # ruled tables read cell by cell, row by row (stages/tables.py)
    numerals_placed: int = 0  # a list's numerals set apart, put at their lines' starts (stages/numerals.py)


@dataclass(frozen=True)
class OcrDocument:
    """data/ocr/<doc>.json."""

    doc: str  # the PDF's name stem; every later record names its document by it
    source: str  # the PDF's file name
    sha256: str
    pages: list[OcrPage]
    failed_pages: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    """One line of data/chunks/chunks.jsonl."""

    id: str  # stable hash of document and text
    doc: str
    index: int  # position in its document
    text: str  # overlap prefix + content
    n_tokens: int
    articles: list[str]  # labels of the articles whose text the chunk holds ("Art. 7º")
    title: str  # the document's title block (its first paragraph)
    overlap_chars: int  # text[:overlap_chars] repeats the end of the previous chunk


@dataclass(frozen=True)
class QAPair:
    """One line of data/qa/qa.jsonl and of the dataset splits."""

    id: str  # <chunk id>-<index of the pair in its chunk>
    question: str
    answer: str
    chunk_id: str
    doc: str
    articles: list[str]
    backend: str  # rules | lmstudio
    model: str  # the rules generator's version or the server's model id
    fact_id: str = ""  # the phrasings of one fact share it (synth); "" = the pair is its own fact
    kind: str = ""  # what the question asks (rules backend: prazo, competencia, ...; see stages/qa_rules.py)


EVAL_SETS = ("seen", "unseen")


@dataclass(frozen=True)
class SplitPair(QAPair):
    """One line of data/dataset/{train,eval}.jsonl: the pair, which eval set holds it, and its chat form.

    `messages` is the pair as system/user/assistant turns, the format LLaMA-Factory, axolotl and TRL read.
    """

    eval_set: str = ""  # "" in train.jsonl; in eval.jsonl "seen" (a held-out phrasing of a trained fact) or
    # "unseen" (a pair from a chunk no training pair comes from)
    messages: list[dict] = field(default_factory=list)  # [{"role": ..., "content": ...}, ...]


def by_eval_set(records: list[SplitPair]) -> dict[str, list[SplitPair]]:
    """Eval pairs grouped by set in EVAL_SETS order, empty sets left out (an eval.jsonl from before the
    two sets existed has no eval_set: all its pairs are from held-out chunks, i.e. unseen)."""
    groups = {name: [r for r in records if (r.eval_set or "unseen") == name] for name in EVAL_SETS}
    return {name: rows for name, rows in groups.items() if rows}
