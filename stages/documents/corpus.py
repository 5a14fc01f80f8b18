"""The ocr stage's library entry: every PDF of a folder -> data/ocr/<stem>.json (OcrDocument), through a cache.

`run_ocr` checks tesseract and pdftoppm, then `plan` looks each PDF up in the cache (data/cache/ocr) and reads
its text layers, keeping the pages whose layer passes the quality check; `read_pages` OCRs the rest in a pool of
processes (page.py reads one page), and each document is written, and cached, as soon as its last page is read.
PDFs with the same bytes or the same text are read once, a bad PDF or page is skipped and listed, and outputs
and cache entries no input uses are pruned. report.py turns the result into metrics and warnings.
docs/ocr-and-cleaning.md says what each step does and why.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from stages.core.files import sha256_file, stable_hash, write_json
from stages.core.params import ParamsError
from stages.documents.page import PageTask, layer_counts, letter_count, ocr_page, page_record
from stages.documents.quality import assess
from stages.documents.report import Duplicate, Failure, OcrRun, RunFacts, ocr_metrics
from stages.documents.settings import OcrParams
from stages.documents.tesseract import init_worker, preflight, tesseract_major
from stages.documents.textlayer import BadPdfError, LayerPage, read_text_layers
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.pages import OcrDocument, OcrPage
from stages.text.fold import squash_ws
from stages.text.lexicon import Lexicon, load_lexicon

log = logging.getLogger(__name__)


# Bump when a cache entry's layout or the way text is produced changes, so that no entry is misread.
CACHE_FORMAT = 15


@dataclass
class DocState:
    """One PDF while it is read."""

    path: Path
    sha256: str
    cache_entry: Path  # where it is cached once every page is read
    cached: bool = False  # its pages came from the cache
    pages: dict[int, OcrPage] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)  # page -> why it could not be read
    pending: int = 0  # pages still to OCR


@dataclass(frozen=True)
class Plan:
    """What a run has to do, found before any page is OCR'd."""

    docs: list[DocState]  # in input order: from the cache, read from text layers, or with pages to OCR
    tasks: list[PageTask]  # the pages to OCR; PageTask.doc indexes `docs`
    cache_entries: set[str]  # the cache entries the inputs use; the others are pruned
    failures: list[Failure]  # PDFs that cannot be read
    duplicates: list[Duplicate]  # PDFs with the same bytes as an earlier one


def list_pdfs(input_dir: Path) -> list[Path]:
    """The folder's *.pdf files (any case), sorted; one clear error when there are none."""
    if not input_dir.is_dir():
        raise ParamsError(
            f"ocr.input_dir {str(input_dir)!r} is not a folder: create it or point ocr.input_dir at your PDFs"
        )
    pdfs = sorted(p for p in input_dir.iterdir() if p.is_file() and p.suffix.lower() == ".pdf")
    if not pdfs:
        raise ParamsError(
            f"ocr.input_dir {str(input_dir)!r} has no *.pdf files: put PDFs there or point ocr.input_dir elsewhere"
        )
    return pdfs


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cache_key(p: OcrParams, tesseract_version: str, lexicon_sources: tuple[str, ...]) -> str:
    """Hash of everything besides the PDF bytes that changes a document's OCR result."""
    settings = {k: v for k, v in dataclasses.asdict(p).items() if k not in ("input_dir", "workers", "strict")}
    return stable_hash(CACHE_FORMAT, settings, tesseract_version, lexicon_sources)


def read_cache_entry(entry: Path) -> list[OcrPage] | None:
    """A cached document's page records, or None when there is no usable entry."""
    try:
        return [from_dict(OcrPage, page) for page in json.loads(entry.read_text(encoding="utf-8"))["pages"]]
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, KeyError, TypeError, RecordError):
        log.warning("%s: ignoring an unreadable cache entry; the document is OCR'd again", entry)
        return None


def same_text_duplicates(docs: dict[str, list[OcrPage]], min_ratio: float) -> dict[str, str]:
    """stem -> the stem it duplicates, for documents whose whole text is (nearly) another's.

    Compared with whitespace and case folded; only pairs whose lengths are within 2% are scored. Of two alike,
    the one with fewer suspect pages stays, then the first by name."""
    norm = {s: squash_ws(" ".join(r.text for r in pages)).lower() for s, pages in docs.items()}
    suspect = {s: sum(r.verdict == "suspect" for r in pages) for s, pages in docs.items()}
    order = sorted(docs, key=lambda s: (suspect[s], s))
    dup: dict[str, str] = {}
    for i, a in enumerate(order):
        if a in dup or len(norm[a]) < 200:  # a near-empty document is not "the same text" as another
            continue
        for b in order[i + 1 :]:
            if b not in dup and abs(len(norm[a]) - len(norm[b])) <= 0.02 * len(norm[a]):
                if fuzz.ratio(norm[a], norm[b], score_cutoff=min_ratio):
                    dup[b] = a
    return dup


def skipped(path: Path, reason: str) -> Failure:
    """A PDF left out, warned about in one line."""
    log.warning("%s: skipped: %s", path, reason)
    return Failure(path.name, reason)


def triage(
    state: DocState, doc: int, layers: list[LayerPage], p: OcrParams, adaptive: str, lexicon: Lexicon
) -> list[PageTask]:
    """The pages of `layers` whose own text layer passes the quality check go into `state` as they are; the others
    are returned as tasks to OCR (a layer that fails the check goes with its task: the better reading is kept)."""
    tasks = []
    for n, layer in enumerate(layers, 1):
        layer_text = None
        if letter_count(layer.text) >= p.min_text_chars:
            q = assess(layer.text, None, None, lexicon, p, text_layer=True)
            if not q.reasons or not p.check_text_layers:
                state.pages[n] = page_record(n, "text", layer.text, q, layer_counts(layer))
                continue
            layer_text = layer.text
        tasks.append(PageTask(doc, str(state.path), n, p, adaptive, layer_text, layer_counts(layer)))
    state.pending = len(tasks)
    return tasks


def plan(
    pdf_paths: list[Path], p: OcrParams, cache_dir: Path, key: str, adaptive: str, lexicon: Lexicon
) -> Plan:
    """Look each PDF up in the cache (entries keyed by `key`) and read the text layers of those not cached. A PDF
    whose name stem another has, or whose bytes an earlier one has, is skipped; nothing is written."""
    todo = Plan([], [], set(), [], [])
    stems: set[str] = set()
    first_of: dict[str, Path] = {}  # sha256 -> the first PDF with those bytes
    for path in pdf_paths:
        if path.stem in stems:
            todo.failures.append(
                skipped(path, f"another PDF has the same name stem {path.stem!r}; rename one of them")
            )
            continue
        stems.add(path.stem)
        sha = sha256_file(path)
        if sha in first_of:
            log.warning("%s: the same bytes as %s: processed once", path, first_of[sha].name)
            todo.duplicates.append(Duplicate(path.name, first_of[sha].name, "same bytes"))
            continue
        first_of[sha] = path
        state = DocState(path, sha, cache_dir / f"{sha}.{key}.json")
        todo.cache_entries.add(state.cache_entry.name)
        pages = read_cache_entry(state.cache_entry)
        if pages is not None:
            state.cached, state.pages = True, {r.page: r for r in pages}
        else:
            try:
                layers = read_text_layers(path, p.drop_struck_text, p.read_tables)
            except (BadPdfError, OSError) as e:
                todo.failures.append(skipped(path, str(e)))
                continue
            todo.tasks.extend(triage(state, len(todo.docs), layers, p, adaptive, lexicon))
        todo.docs.append(state)
    return todo


def read_pages(tasks: list[PageTask], docs: list[DocState], workers: int) -> Iterator[DocState]:
    """OCR `tasks` in a pool of `workers` processes; yield each document of `docs` as soon as its last page is
    read, so that it is written and cached at once (a killed run keeps it)."""
    if not tasks:
        return
    with (
        ProcessPoolExecutor(max_workers=workers, initializer=init_worker) as pool,
        tqdm(total=len(tasks), desc="ocr", unit="page", mininterval=1.0) as bar,
        logging_redirect_tqdm(),  # warnings print above the bar instead of through it
    ):
        for done in as_completed([pool.submit(ocr_page, t) for t in tasks]):
            read = done.result()
            state = docs[read.doc]
            if read.record is not None:
                state.pages[read.page] = read.record
            else:
                state.failed[read.page] = read.error
                log.warning("%s: skipped: page %d: %s", state.path, read.page, read.error)
            state.pending -= 1
            bar.update(1)
            if state.pending == 0:
                yield state


def write_document(state: DocState, out_dir: Path) -> OcrDocument:
    """out_dir/<stem>.json, and its cache entry unless a page failed (such a document is tried again next run)."""
    record = OcrDocument(
        doc=state.path.stem,
        source=state.path.name,
        sha256=state.sha256,
        pages=[state.pages[n] for n in sorted(state.pages)],
        failed_pages=sorted(state.failed),
    )
    if not state.failed:
        write_json(state.cache_entry, {"pages": to_dict(record)["pages"]})
    write_json(out_dir / f"{state.path.stem}.json", to_dict(record))
    return record


def same_text_copies(written: list[OcrDocument], min_ratio: float) -> list[Duplicate]:
    """The documents of `written` whose whole text another has (same_text_duplicates), each warned about."""
    source = {d.doc: d.source for d in written}
    copies = []
    for stem, original in sorted(same_text_duplicates({d.doc: d.pages for d in written}, min_ratio).items()):
        log.warning("%s: the same text as %s: processed once", source[stem], source[original])
        copies.append(Duplicate(source[stem], source[original], "same text"))
    return copies


def prune(out_dir: Path, cache_dir: Path, kept: set[str], cache_entries: set[str]) -> None:
    """Delete the outputs whose stem is not in `kept` and the cache entries (and temp files) no input uses."""
    for stale in out_dir.glob("*.json"):
        if stale.stem not in kept:
            stale.unlink()
    for entry in cache_dir.iterdir():
        if entry.is_file() and entry.name not in cache_entries:  # incl. temp files of a killed write
            entry.unlink()


def run_facts(docs: list[DocState], workers: int, seconds: float) -> RunFacts:
    """What this run read, as against what it found in the cache."""
    cached = [d for d in docs if d.cached]
    read_now = [r for d in docs if not d.cached for r in d.pages.values()]
    return RunFacts(
        cached_documents=len(cached),
        cached_pages=sum(len(d.pages) for d in cached),
        pages_ocr_run=sum(r.method == "ocr" for r in read_now),
        pages_text_run=sum(r.method == "text" for r in read_now),
        pages_retried=sum(r.passes > 1 for r in read_now),
        seconds=round(seconds, 2),
        pages_per_s=round(len(read_now) / seconds, 3) if read_now else 0.0,
        workers=workers,
    )


def page_failures(docs: list[DocState]) -> list[Failure]:
    """The pages tesseract failed on (each warned about when it failed)."""
    return [Failure(d.path.name, f"page {n}: {error}") for d in docs for n, error in d.failed.items()]


def run_ocr(pdf_paths: list[Path], p: OcrParams, out_dir: Path, cache_dir: Path) -> OcrRun:
    """OCR `pdf_paths` into out_dir/<stem>.json using cache_dir; what the run did (the caller writes metrics)."""
    started = time.monotonic()
    version = preflight(p.lang)
    adaptive = "sauvola" if tesseract_major(version) >= 5 else "normalized"
    lexicon = load_lexicon()  # before the pool: the forked workers share it
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    todo = plan(pdf_paths, p, cache_dir, cache_key(p, version, lexicon.sources), adaptive, lexicon)
    workers = min(p.workers or available_cores(), len(todo.tasks))  # 0 when everything was cached
    cached = sum(d.cached for d in todo.docs)
    log.info(
        "%d PDFs: %d cached, %d pages to OCR with %d workers",
        len(pdf_paths),
        cached,
        len(todo.tasks),
        workers,
    )
    ready = [d for d in todo.docs if d.pending == 0]
    written = [
        write_document(d, out_dir) for d in itertools.chain(ready, read_pages(todo.tasks, todo.docs, workers))
    ]
    copies = same_text_copies(written, p.duplicate_similarity)
    copied = {c.file for c in copies}
    kept = [d for d in written if d.source not in copied]
    prune(out_dir, cache_dir, {d.doc for d in kept}, todo.cache_entries)
    facts = run_facts(todo.docs, workers, time.monotonic() - started)
    return ocr_metrics(kept, todo.failures + page_failures(todo.docs), todo.duplicates + copies, facts)
