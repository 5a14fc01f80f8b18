"""ocr stage: every *.pdf in `ocr.input_dir` -> data/ocr/<stem>.json (one record per page) + metrics/ocr.json.

A page whose own text layer has at least `ocr.min_text_chars` letters is read directly (pypdfium2), never OCR'd.
Every other page is rendered alone by pdf2image (pdftoppm, grayscale PPM/PGM, never PNG) at `ocr.dpi` and read
by tesseract (`--oem 1`: Debian's por model is LSTM-only) through pytesseract, in a pool of `ocr.workers`
processes over the pages of all documents, each tesseract single-threaded (OMP_THREAD_LIMIT=1; on 2 cores a
self-threading tesseract made a page twice as slow).

Incremental: data/cache/ocr/<pdf sha256>.<params key>.json holds each finished document (`persist: true` in
dvc.yaml). The key covers what changes the OCR result (dpi, lang, psm, min_text_chars, tesseract version), so
after one PDF of fifty changes only its pages are OCR'd. Entries are written atomically as soon as a document's
last page is done (a killed run keeps them) and pruned when no current input uses them.

Output: data/ocr/<stem>.json = {doc, source, sha256, pages: [{page, method: text|ocr, text, confidence}],
failed_pages} (stages/records.py: OcrDocument, OcrPage); confidence is tesseract's mean word confidence (0-100)
for OCR'd pages, null for text-layer ones. metrics/ocr.json (results only): documents, pages, pages_ocr,
pages_text (over all outputs, cached or not), failures [{file, reason}]. metrics/timings/ocr.json (this run):
cached_documents, cached_pages, pages_ocr_run / pages_text_run (done in this run), seconds, pages_per_s (pages
done in this run per second), workers.

Tesseract and pdftoppm are checked up front, before any work, even when everything is cached (the tesseract
version is part of the cache key). A bad PDF (empty, truncated, not a PDF, encrypted) or a page tesseract fails
on is skipped with one warning line, listed under `failures` in the metrics, and the rest is processed; with
`ocr.strict: true` the stage then exits non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytesseract
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from stages.common import (
    ParamsError,
    load_params,
    run_main,
    sha256_file,
    stable_hash,
    write_json,
    write_timings,
)
from stages.records import (
    OCR_CACHE_DIR,
    OCR_DIR,
    OcrDocument,
    OcrPage,
    RecordError,
    from_dict,
    metrics_file,
    to_dict,
)

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when a cache entry's layout or the way text is produced changes
# Facts of this run rather than results: they go to metrics/timings/ocr.json, not to metrics/ocr.json.
RUN_FACTS = (
    "cached_documents",
    "cached_pages",
    "pages_ocr_run",
    "pages_text_run",
    "seconds",
    "pages_per_s",
    "workers",
)
PAGE_TIMEOUT_S = 600  # a page tesseract has not read in 10 minutes is reported as failed (~1-2 s is normal)
INSTALL_HINT = (
    "install them with `sudo apt-get install tesseract-ocr tesseract-ocr-por poppler-utils` (or `make setup`)"
)


@dataclass(frozen=True)
class OcrParams:
    input_dir: str = "data/sample/pdf"  # folder of *.pdf
    dpi: int = 300  # render resolution for pages without a text layer
    lang: str = "por"  # tesseract language(s), e.g. por or por+eng
    psm: int = 3  # tesseract page segmentation mode (3 = fully automatic)
    workers: int = 0  # OCR processes; 0 = all cores
    min_text_chars: int = 40  # letters a page's own text layer needs to be used instead of OCR
    strict: bool = False  # exit non-zero when any document or page failed

    def problems(self) -> list[str]:
        out = []
        if not self.input_dir.strip():
            out.append("ocr.input_dir must name a folder of PDFs")
        if not 50 <= self.dpi <= 1200:
            out.append(f"ocr.dpi must be in [50, 1200], got {self.dpi}")
        if not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", self.lang):
            out.append(f"ocr.lang must look like por or por+eng, got {self.lang!r}")
        if self.psm not in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
            out.append(f"ocr.psm must be a text-producing tesseract mode (1, 3-13), got {self.psm}")
        if self.workers < 0:
            out.append(f"ocr.workers must be >= 0 (0 = all cores), got {self.workers}")
        if self.min_text_chars < 1:
            out.append(f"ocr.min_text_chars must be >= 1, got {self.min_text_chars}")
        return out


class OcrSetupError(RuntimeError):
    """tesseract, a language pack or pdftoppm is missing."""


class BadPdfError(ValueError):
    """A file that cannot be read as a PDF; the message is the reason shown to the user."""


@dataclass(frozen=True)
class PageTask:
    doc: int  # index into the run's document list
    path: str
    page: int  # 1-based
    dpi: int
    lang: str
    psm: int


@dataclass
class DocState:
    path: Path
    sha256: str
    key: str
    pages: dict[int, OcrPage] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    pending: int = 0


def preflight(lang: str) -> str:
    """Check tesseract, its language pack(s) and pdftoppm; return tesseract's version line, or raise one error."""
    cmd = pytesseract.pytesseract.tesseract_cmd
    problems = []
    version = ""
    if shutil.which(cmd) is None:
        problems.append(f"the tesseract binary ({cmd!r}) is not on PATH")
    else:
        version = (
            subprocess.run([cmd, "--version"], capture_output=True, text=True).stdout.splitlines() or ["?"]
        )[0]
        listed = subprocess.run([cmd, "--list-langs"], capture_output=True, text=True).stdout.split()
        missing = [code for code in lang.split("+") if code not in listed]
        if missing:
            pkgs = " ".join(f"tesseract-ocr-{code.lower().replace('_', '-')}" for code in missing)
            problems.append(f"tesseract has no language pack for {'+'.join(missing)} (apt package: {pkgs})")
    if shutil.which("pdftoppm") is None:
        problems.append("pdftoppm (poppler-utils) is not on PATH")
    if problems:
        raise OcrSetupError("OCR cannot start: " + "; ".join(problems) + f"; {INSTALL_HINT}")
    return version


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


def read_text_layers(path: Path) -> list[str]:
    """Each page's own text (possibly empty); BadPdfError with a readable reason when the file is unusable."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head:
        raise BadPdfError("empty file (0 bytes)")
    if b"%PDF-" not in head:
        raise BadPdfError(f"not a PDF (starts with {head[:8]!r})")
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise BadPdfError(
                "encrypted PDF (needs a password): decrypt it first, e.g. `qpdf --decrypt`"
            ) from None
        raise BadPdfError(f"unreadable PDF, truncated or corrupt ({e})") from None
    try:
        if len(pdf) == 0:
            raise BadPdfError("PDF has no pages")
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


def letter_count(text: str) -> int:
    return sum(c.isalpha() for c in text)


def mean_confidence(tsv: str) -> float | None:
    """Mean of tesseract's word confidences (TSV rows with a word and conf >= 0)."""
    confs = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[11].strip():
            conf = float(cols[10])
            if conf >= 0:
                confs.append(conf)
    return round(sum(confs) / len(confs), 2) if confs else None


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _init_worker() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"  # one tesseract thread per process; parallelism comes from the pool


def ocr_page(task: PageTask) -> tuple[int, int, str | None, float | None, str | None]:
    """Render one page and OCR it: (doc, page, text, confidence, error). Runs in a worker process."""
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        try:
            images = convert_from_path(
                task.path,
                dpi=task.dpi,
                first_page=task.page,
                last_page=task.page,
                output_folder=tmp,
                paths_only=True,
                grayscale=True,  # PGM: a third of the bytes of colour PPM; tesseract works in grey anyway
            )
            if not images:
                raise PDFPageCountError("pdftoppm produced no image")
            base = os.path.join(tmp, "out")
            pytesseract.pytesseract.run_tesseract(
                images[0],
                base,
                extension="txt tsv",  # text and word confidences from one tesseract call
                lang=task.lang,
                config=f"--oem 1 --psm {task.psm} -c tessedit_create_tsv=1",
                timeout=PAGE_TIMEOUT_S,
            )
            with open(base + ".txt", encoding="utf-8") as f:
                text = f.read()
            with open(base + ".tsv", encoding="utf-8") as f:
                tsv = f.read()
        except (
            pytesseract.TesseractError,
            PDFPageCountError,
            PDFSyntaxError,
            PDFInfoNotInstalledError,
            OSError,
            RuntimeError,  # pytesseract's timeout
        ) as e:
            reason = " ".join(str(getattr(e, "message", "") or e).split()) or type(e).__name__
            return task.doc, task.page, None, None, f"{type(e).__name__}: {reason}"
    return task.doc, task.page, text, mean_confidence(tsv), None


def cache_key(p: OcrParams, tesseract_version: str) -> str:
    """Hash of everything besides the PDF bytes that changes a document's OCR result."""
    return stable_hash(CACHE_FORMAT, p.dpi, p.lang, p.psm, p.min_text_chars, tesseract_version)


def read_cache_entry(entry: Path) -> list[OcrPage] | None:
    """A cached document's page records, or None when there is no usable entry."""
    try:
        return [from_dict(OcrPage, page) for page in json.loads(entry.read_text(encoding="utf-8"))["pages"]]
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, KeyError, TypeError, RecordError):
        log.warning("%s: ignoring an unreadable cache entry; the document is OCR'd again", entry)
        return None


def doc_record(state: DocState) -> OcrDocument:
    return OcrDocument(
        doc=state.path.stem,
        source=state.path.name,
        sha256=state.sha256,
        pages=[state.pages[n] for n in sorted(state.pages)],
        failed_pages=sorted(state.failed),
    )


def run_ocr(pdf_paths: list[Path], p: OcrParams, out_dir: Path, cache_dir: Path) -> dict[str, Any]:
    """OCR `pdf_paths` into out_dir/<stem>.json using cache_dir; return the metrics (the caller writes them)."""
    started = time.monotonic()
    key = cache_key(p, preflight(p.lang))
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    failures: list[dict[str, str]] = []
    docs: list[DocState] = []
    tasks: list[PageTask] = []
    written: dict[str, list[OcrPage]] = {}  # stem -> page records of the outputs written
    used_entries: set[str] = set()
    counts = {"cached_documents": 0, "cached_pages": 0, "pages_ocr_run": 0, "pages_text_run": 0}

    def fail(path: Path, reason: str) -> None:
        log.warning("%s: skipped: %s", path, reason)
        failures.append({"file": path.name, "reason": reason})

    def finish(state: DocState) -> None:
        record = doc_record(state)
        if not state.failed:  # a document with a failed page is retried next run
            write_json(cache_dir / f"{state.sha256}.{state.key}.json", {"pages": to_dict(record)["pages"]})
        write_json(out_dir / f"{state.path.stem}.json", to_dict(record))
        written[state.path.stem] = record.pages

    stems: set[str] = set()
    for path in pdf_paths:
        if path.stem in stems:
            fail(path, f"another PDF has the same name stem {path.stem!r}; rename one of them")
            continue
        stems.add(path.stem)
        sha = sha256_file(path)
        entry = cache_dir / f"{sha}.{key}.json"
        used_entries.add(entry.name)
        pages = read_cache_entry(entry)
        if pages is not None:
            counts["cached_documents"] += 1
            counts["cached_pages"] += len(pages)
            finish(DocState(path, sha, key, {r.page: r for r in pages}))
            continue
        try:
            texts = read_text_layers(path)
        except (BadPdfError, OSError) as e:
            fail(path, str(e))
            continue
        state = DocState(path, sha, key)
        for n, text in enumerate(texts, 1):
            if letter_count(text) >= p.min_text_chars:
                state.pages[n] = OcrPage(page=n, method="text", text=text, confidence=None)
                counts["pages_text_run"] += 1
            else:
                tasks.append(PageTask(len(docs), str(path), n, p.dpi, p.lang, p.psm))
                state.pending += 1
        docs.append(state)
        if state.pending == 0:
            finish(state)

    workers = min(p.workers or available_cores(), len(tasks))  # 0 when everything was cached
    log.info(
        "%d PDFs: %d cached, %d pages to OCR with %d workers",
        len(pdf_paths),
        counts["cached_documents"],
        len(tasks),
        workers,
    )
    if tasks:
        with (
            ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool,
            tqdm(total=len(tasks), desc="ocr", unit="page", mininterval=1.0) as bar,
            logging_redirect_tqdm(),  # warnings print above the bar instead of through it
        ):
            futures = [pool.submit(ocr_page, t) for t in tasks]
            for fut in as_completed(futures):
                doc, page, text, confidence, error = fut.result()
                state = docs[doc]
                if error is None:
                    state.pages[page] = OcrPage(page=page, method="ocr", text=text, confidence=confidence)
                    counts["pages_ocr_run"] += 1
                else:
                    state.failed[page] = error
                    fail(state.path, f"page {page}: {error}")
                state.pending -= 1
                if state.pending == 0:
                    finish(state)
                bar.update(1)

    for stale in out_dir.glob("*.json"):
        if stale.stem not in written:
            stale.unlink()
    for entry in cache_dir.iterdir():
        if entry.is_file() and entry.name not in used_entries:  # incl. temp files of a killed write
            entry.unlink()

    pages_all = [r for pages in written.values() for r in pages]
    seconds = time.monotonic() - started
    pages_run = counts["pages_ocr_run"] + counts["pages_text_run"]
    return {
        "documents": len(written),
        "pages": len(pages_all),
        "pages_ocr": sum(r.method == "ocr" for r in pages_all),
        "pages_text": sum(r.method == "text" for r in pages_all),
        **counts,
        "failures": sorted(failures, key=lambda f: (f["file"], f["reason"])),  # completion order varies
        "seconds": round(seconds, 2),
        "pages_per_s": round(pages_run / seconds, 3) if pages_run else 0.0,
        "workers": workers,
    }


def main() -> None:
    p = load_params("ocr", OcrParams)
    pdfs = list_pdfs(Path(p.input_dir))
    log.info("ocr: %d PDFs in %s (dpi %d, lang %s, psm %d)", len(pdfs), p.input_dir, p.dpi, p.lang, p.psm)
    try:
        metrics = run_ocr(pdfs, p, OCR_DIR, OCR_CACHE_DIR)
    except OcrSetupError as e:
        log.error("%s", e)
        raise SystemExit(3) from None
    write_json(metrics_file("ocr"), {k: v for k, v in metrics.items() if k not in RUN_FACTS})
    write_timings("ocr", {k: metrics[k] for k in RUN_FACTS})
    log.info(
        "ocr: %d documents, %d pages (%d OCR'd now, %d from cache, %d text layer), %d failures, %.1f s",
        metrics["documents"],
        metrics["pages"],
        metrics["pages_ocr_run"],
        metrics["cached_pages"],
        metrics["pages_text"],
        len(metrics["failures"]),
        metrics["seconds"],
    )
    if p.strict and metrics["failures"]:
        listing = "; ".join(f"{f['file']}: {f['reason']}" for f in metrics["failures"])
        log.error("ocr.strict is true and %d item(s) failed: %s", len(metrics["failures"]), listing)
        raise SystemExit(1)


if __name__ == "__main__":
    run_main(main)
