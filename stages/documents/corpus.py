"""The ocr stage's library entry: every PDF of a folder and its sub-folders -> data/ocr/<doc id>.json
(OcrDocument), through a cache.

A PDF's doc id is its path under the input folder without `.pdf` (`ufam/RESOLUCAO_001_2020`; a PDF directly in
the folder: its name stem). `run_ocr` checks tesseract and pdftoppm, then `plan` hashes each PDF, looks it up in
the cache (data/cache/ocr) and reads its text layers, keeping the pages whose layer passes the quality check;
`read_pages` OCRs the rest (page.py reads one page), and each document is written, and cached, as soon as its
last page is read. The executor (executors.py: a pool of processes here, or a Ray cluster) runs the hashing,
the text layers and the pages; this module alone writes. PDFs with the same bytes or the same text
(duplicates.py) are read once, a bad PDF or page is skipped and listed, and outputs and cache entries no input
uses are pruned. report.py turns the result into metrics and warnings. docs/ocr-and-cleaning.md says what
each step does and why.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from stages.core.files import sha256_file, stable_hash, write_json
from stages.core.params import ParamsError
from stages.documents.duplicates import same_text_duplicates
from stages.documents.executors import Executor, LocalExecutor
from stages.documents.page import PageTask, layer_counts, letter_count, page_record
from stages.documents.quality import assess
from stages.documents.report import Duplicate, Failure, OcrRun, RunFacts, ocr_metrics
from stages.documents.settings import OcrParams
from stages.documents.tesseract import OcrSetupError, tesseract_major
from stages.documents.textlayer import BadPdfError, LayerPage, read_text_layers
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.pages import OcrDocument, OcrPage
from stages.text.lexicon import Lexicon, load_lexicon

log = logging.getLogger(__name__)


@contextmanager
def open_executor(p: OcrParams) -> Iterator[Executor]:
    """The executor `p.executor` names; a Ray connection is closed on the way out."""
    if p.executor == "local":
        yield LocalExecutor(p.workers)
        return
    try:
        from stages.documents.raycluster import RayExecutor
    except ModuleNotFoundError as e:
        if e.name != "ray":
            raise
        raise OcrSetupError(
            "ocr.executor is ray but Ray is not installed: `pip install '.[ray]'` (or set ocr.executor: local)"
        ) from None
    executor = RayExecutor(p.workers)
    try:
        yield executor
    finally:
        executor.close()


# Bump when a cache entry's layout or the way text is produced changes, so that no entry is misread.
CACHE_FORMAT = 15


@dataclass
class DocState:
    """One PDF while it is read."""

    path: Path
    doc: str  # its doc id: the path under the input folder without .pdf
    source: str  # its path under the input folder (the file name for a PDF directly in it)
    sha256: str
    cache_entry: Path  # where it is cached once every page is read
    cached: bool = False  # its pages came from the cache
    pages: dict[int, OcrPage] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)  # page -> why it could not be read
    pending: int = 0  # pages still to OCR


@dataclass(frozen=True)
class LayerRead:
    """A PDF's own text layers, judged (read_layers): the pages they give and those left to OCR, or why the PDF
    cannot be read."""

    pages: dict[int, OcrPage] = field(default_factory=dict)  # pages whose layer passed the quality check
    # (page, its layer's text when it failed the check, what reading the layer did) for each page to OCR
    to_ocr: list[tuple[int, str | None, dict[str, int]]] = field(default_factory=list)
    error: str = ""  # why the PDF cannot be read ("" when it can)


@dataclass(frozen=True)
class Plan:
    """What a run has to do, found before any page is OCR'd."""

    docs: list[DocState]  # in input order: from the cache, read from text layers, or with pages to OCR
    tasks: list[PageTask]  # the pages to OCR; PageTask.doc indexes `docs`
    cache_entries: set[str]  # the cache entries the inputs use; the others are pruned
    failures: list[Failure]  # PDFs that cannot be read
    duplicates: list[Duplicate]  # PDFs with the same bytes as an earlier one


def list_pdfs(input_dir: Path) -> list[Path]:
    """The *.pdf files (any case) of the folder and its sub-folders, sorted; hidden files and folders (a name
    starting with ".") are left out. One clear error when there are none."""
    if not input_dir.is_dir():
        raise ParamsError(
            f"ocr.input_dir {str(input_dir)!r} is not a folder: create it or point ocr.input_dir at your PDFs"
        )
    pdfs = sorted(
        path
        for path in input_dir.rglob("*")
        if path.suffix.lower() == ".pdf"
        and not any(part.startswith(".") for part in path.relative_to(input_dir).parts)
        and path.is_file()
    )
    if not pdfs:
        raise ParamsError(
            f"ocr.input_dir {str(input_dir)!r} has no *.pdf files (sub-folders included): put PDFs there or "
            "point ocr.input_dir elsewhere"
        )
    return pdfs


def doc_id(path: Path, root: Path | None) -> tuple[str, str]:
    """(doc id, source) of a PDF: its path under `root` without and with the suffix; the name stem and the
    name when `root` is None."""
    under = path.relative_to(root) if root is not None else Path(path.name)
    return under.with_suffix("").as_posix(), under.as_posix()


def cache_key(p: OcrParams, tesseract_version: str, lexicon_sources: tuple[str, ...]) -> str:
    """Hash of everything besides the PDF bytes that changes a document's OCR result."""
    run_only = ("input_dir", "workers", "strict", "executor")
    settings = {k: v for k, v in dataclasses.asdict(p).items() if k not in run_only}
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


def skipped(path: Path, source: str, reason: str) -> Failure:
    """A PDF left out, warned about in one line."""
    log.warning("%s: skipped: %s", path, reason)
    return Failure(source, reason)


def triage(layers: list[LayerPage], p: OcrParams, lexicon: Lexicon) -> LayerRead:
    """The pages of `layers` whose own text layer passes the quality check, as they are, and the others to OCR
    (a layer that fails the check goes with its page: the better reading is kept)."""
    judged = LayerRead()
    for n, layer in enumerate(layers, 1):
        layer_text = None
        if letter_count(layer.text) >= p.min_text_chars:
            q = assess(layer.text, None, None, lexicon, p, text_layer=True)
            if not q.reasons or not p.check_text_layers:
                judged.pages[n] = page_record(n, "text", layer.text, q, layer_counts(layer))
                continue
            layer_text = layer.text
        judged.to_ocr.append((n, layer_text, layer_counts(layer)))
    return judged


def read_layers(path: str, p: OcrParams) -> LayerRead:
    """A PDF's text layers, judged by `triage`. Runs where the executor puts it."""
    try:
        layers = read_text_layers(Path(path), p.drop_struck_text, p.read_tables)
    except (BadPdfError, OSError) as e:
        return LayerRead(error=str(e))
    return triage(layers, p, load_lexicon())


def plan(
    pdf_paths: list[Path],
    root: Path | None,
    p: OcrParams,
    cache_dir: Path,
    key: str,
    adaptive: str,
    executor: Executor,
) -> Plan:
    """Hash each PDF, look it up in the cache (entries keyed by `key`) and read the text layers of those not
    cached (the hashing and the layers run on `executor`). A PDF whose doc id another has, or whose bytes an
    earlier one has, is skipped; nothing is written."""
    todo = Plan([], [], set(), [], [])
    unique: dict[str, tuple[Path, str]] = {}  # doc id -> (path, source)
    for path in pdf_paths:
        doc, source = doc_id(path, root)
        if doc in unique:
            reason = f"another PDF has the same document id {doc!r}; rename one of them"
            todo.failures.append(skipped(path, source, reason))
            continue
        unique[doc] = (path, source)
    hashes = executor.map(sha256_file, [str(path.absolute()) for path, _ in unique.values()])
    first_of: dict[str, str] = {}  # sha256 -> the source of the first PDF with those bytes
    states = []
    for (doc, (path, source)), sha in zip(unique.items(), hashes, strict=True):
        if sha in first_of:
            log.warning("%s: the same bytes as %s: processed once", path, first_of[sha])
            todo.duplicates.append(Duplicate(source, first_of[sha], "same bytes"))
            continue
        first_of[sha] = source
        state = DocState(path, doc, source, sha, cache_dir / f"{sha}.{key}.json")
        todo.cache_entries.add(state.cache_entry.name)
        pages = read_cache_entry(state.cache_entry)
        if pages is not None:
            state.cached, state.pages = True, {r.page: r for r in pages}
        states.append(state)
    to_read = [s for s in states if not s.cached]
    judged = executor.map(read_layers, [str(s.path.absolute()) for s in to_read], p)
    layers = dict(zip((s.doc for s in to_read), judged, strict=True))
    for state in states:
        if not state.cached:
            layer = layers[state.doc]
            if layer.error:
                todo.failures.append(skipped(state.path, state.source, layer.error))
                continue
            state.pages = dict(layer.pages)
            where = str(state.path.absolute())
            tasks = [
                PageTask(len(todo.docs), where, n, p, adaptive, text, counts)
                for n, text, counts in layer.to_ocr
            ]
            state.pending = len(tasks)
            todo.tasks.extend(tasks)
        todo.docs.append(state)
    return todo


def read_pages(tasks: list[PageTask], docs: list[DocState], executor: Executor) -> Iterator[DocState]:
    """OCR `tasks` on `executor`; yield each document of `docs` as soon as its last page is read, so that it is
    written and cached at once (a killed run keeps it)."""
    if not tasks:
        return
    with (
        tqdm(total=len(tasks), desc="ocr", unit="page", mininterval=1.0) as bar,
        logging_redirect_tqdm(),  # warnings print above the bar instead of through it
    ):
        for read in executor.read(tasks):
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
    """out_dir/<doc id>.json, and its cache entry unless a page failed (such a document is tried again next
    run)."""
    record = OcrDocument(
        doc=state.doc,
        source=state.source,
        sha256=state.sha256,
        pages=[state.pages[n] for n in sorted(state.pages)],
        failed_pages=sorted(state.failed),
    )
    if not state.failed:
        write_json(state.cache_entry, {"pages": to_dict(record)["pages"]})
    write_json(out_dir / f"{state.doc}.json", to_dict(record))
    return record


def same_text_copies(written: list[OcrDocument], min_ratio: float) -> list[Duplicate]:
    """The documents of `written` whose whole text another has (duplicates.py), each warned about."""
    source = {d.doc: d.source for d in written}
    copies = []
    for doc, original in sorted(same_text_duplicates({d.doc: d.pages for d in written}, min_ratio).items()):
        log.warning("%s: the same text as %s: processed once", source[doc], source[original])
        copies.append(Duplicate(source[doc], source[original], "same text"))
    return copies


def prune(out_dir: Path, cache_dir: Path, kept: set[str], cache_entries: set[str]) -> None:
    """Delete the outputs whose doc id is not in `kept` (and the folders left empty), and the cache entries (and
    temp files) no input uses."""
    for stale in out_dir.rglob("*.json"):
        if stale.relative_to(out_dir).with_suffix("").as_posix() not in kept:
            stale.unlink()
    for folder in sorted((d for d in out_dir.rglob("*") if d.is_dir()), reverse=True):  # deepest first
        if not any(folder.iterdir()):
            folder.rmdir()
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
    return [Failure(d.source, f"page {n}: {error}") for d in docs for n, error in d.failed.items()]


def run_ocr(
    pdf_paths: list[Path], p: OcrParams, out_dir: Path, cache_dir: Path, root: Path | None = None
) -> OcrRun:
    """OCR `pdf_paths` into out_dir/<doc id>.json using cache_dir; what the run did (the caller writes metrics).
    Doc ids are the paths under `root` (the input folder); the name stems when it is None."""
    started = time.monotonic()
    with open_executor(p) as executor:
        setup = executor.setup(p, str(pdf_paths[0].absolute()) if pdf_paths else "")
        adaptive = "sauvola" if tesseract_major(setup.tesseract) >= 5 else "normalized"
        out_dir.mkdir(parents=True, exist_ok=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        key = cache_key(p, setup.tesseract, setup.lexicon_sources)
        todo = plan(pdf_paths, root, p, cache_dir, key, adaptive, executor)
        workers = executor.slots(len(todo.tasks))  # 0 when everything was cached
        log.info(
            "%d PDFs: %d cached, %d pages to OCR with %d workers",
            len(pdf_paths),
            sum(d.cached for d in todo.docs),
            len(todo.tasks),
            workers,
        )
        ready = [d for d in todo.docs if d.pending == 0]
        written = [
            write_document(d, out_dir)
            for d in itertools.chain(ready, read_pages(todo.tasks, todo.docs, executor))
        ]
    copies = same_text_copies(written, p.duplicate_similarity)
    copied = {c.file for c in copies}
    kept = [d for d in written if d.source not in copied]
    prune(out_dir, cache_dir, {d.doc for d in kept}, todo.cache_entries)
    facts = run_facts(todo.docs, workers, time.monotonic() - started)
    return ocr_metrics(kept, todo.failures + page_failures(todo.docs), todo.duplicates + copies, facts)
