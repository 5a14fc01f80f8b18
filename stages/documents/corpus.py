"""ocr stage: every *.pdf in `ocr.input_dir` -> data/ocr/<stem>.json (one record per page) + metrics/ocr.json.

A page whose own text layer has at least `ocr.min_text_chars` letters and passes the quality check (stages/
quality.py: no U+FFFD or private-use glyphs inside words, enough words a Portuguese lexicon knows, no words that
lost a ligature) is read directly (stages/textlayer.py: pypdfium2, columns in reading order, leaving out the
text the page shows struck through, i.e. revoked wording, when `ocr.drop_struck_text`; counted per page). Every
other page is rendered alone by pdf2image (pdftoppm, grayscale PGM) at `ocr.dpi` and read by tesseract (`--oem 1`)
through pytesseract, in a pool of `ocr.workers` processes over the pages of all documents, each tesseract
single-threaded (OMP_THREAD_LIMIT=1).

Reading a rendered page (`read_page`):
  1. its ink and lighting are measured on a quarter-size copy (~15 ms). Paper whose brightness varies by more
     than `ocr.adaptive_light_spread` grey levels (a phone photo: grey paper, light falling off to one side,
     white margins around the photo) is binarized locally (tesseract's Sauvola, `thresholding_method=2`;
     tesseract 4 has none, so there the page is divided by its own paper brightness first), and the white
     margins around the photo are cut off (tesseract took the photo's edge for a column border and read its
     lines in pieces: 2.9% -> 0.5% CER on rendered photos); an ordinary scan keeps tesseract's global Otsu
     threshold, as before (the two differ by <0.2% of characters there, and Sauvola costs ~5% more CPU).
     Lines printed struck through (revoked wording) are painted out before reading when `ocr.drop_struck_text`
     (stages/struck.py; counted per page as `struck_lines`), and so are dot leaders ("Art. 12. ........", which
     tesseract reads as junk merged with the lines around it) when `ocr.blank_dot_leaders` (stages/leaders.py;
     `dot_leaders`; clean drops those of text layers).
     The text is rebuilt from tesseract's word boxes when `ocr.join_label_column` and the page sets its labels
     in a column of their own ("Art. 4º" left of "A progressão ..."): tesseract reads that column as blocks of
     its own, away from the text; each label goes back to the start of the line it stands beside
     (stages/layout.py; `labels_joined`), and so does a line of that column that stands where its labels stand
     but does not read as one: a label OCR misread ("Ss" for "§ 1º"; `labels_misread`, kept as read).
     When `ocr.read_split_lines_by_rows` and tesseract cut a line into fragments a word space apart in
     different blocks (a photo's uneven light, a hanging indent: it then reads block after block and shuffles
     the page's sentences), or put words of a line in another block's line that stands between two of its
     words ("vínculo à feita mediante" / "empregatício será"), the page is read row by row from the same word
     boxes (`lines_split`, `pages_read_by_rows`).
     When `ocr.place_list_numerals`, a list's numerals set in a column of their own ("II." right-aligned left of
     a hanging indent, as word processors number incisos) go to the start of the line each stands beside; where
     tesseract left them unread (its layout analysis can take such a column for no text), the strips beside the
     lines are read again as one block of a numeral's characters (stages/numerals.py; `numerals_placed`).
     When `ocr.read_tables`, a ruled table (its rules found on the page image, stages/tables.py) is read cell by
     cell, row by row, each cell a paragraph (`tables_read`); a text layer's tables are read the same way from
     the PDF's drawing (stages/textlayer.py).
  2. the reading is judged (stages/quality.py). A suspect one (empty or little text for the ink, low mean
     confidence, few words the lexicon knows) is read again when `ocr.retry_suspect`: turned the way
     tesseract's orientation detection says when its text is garbage (a page scanned sideways or upside down),
     then with the other binarization. The reading with the most known words is kept.
A text layer that failed the check is OCR'd the same way, and kept only when OCR reads no more known words
(a layer whose font maps accents to U+FFFD, with the page drawn the same way, stays: clean repairs it).

Every page record (stages/records.py: OcrPage) carries its quality signals (confidence, chars, lexicon share,
broken glyphs, ink) and a verdict; metrics/ocr.json lists the suspect pages (file, page, reason), each also
warned about in one line, so a page with ink never comes out empty unnoticed. metrics/ocr_quality.json holds
one row per document for `dvc plots show`.

Duplicates: a PDF with the same bytes as an earlier one (sha256), or whose whole text is `ocr.duplicate_
similarity`% like another's, is processed once; the copy gets no output and is listed under `duplicates`.

Incremental: data/cache/ocr/<pdf sha256>.<params key>.json holds each finished document (`persist: true` in
dvc.yaml). The key covers every param that changes the result, the tesseract version and the lexicon's word
lists, so after one PDF of fifty changes only its pages are OCR'd. Entries are written atomically as soon as a
document's last page is done (a killed run keeps them) and pruned when no current input uses them.

metrics/ocr.json (results only): documents, pages, pages_ocr, pages_text, pages_suspect, pages_adaptive,
pages_rotated, pages_empty_with_ink, text_layers_failed, text_layers_rejected, struck_chars, struck_lines,
struck_text [{file, pages, chars, lines}], dot_leaders, labels_joined, labels_misread,
lines_split, pages_read_by_rows, tables_read, numerals_placed,
suspect_pages [{file, page, reason}], duplicates [{file, same_as, by}], failures [{file, reason}].
metrics/timings/ocr.json (this run): cached_documents, cached_pages, pages_ocr_run / pages_text_run, pages_retried,
seconds, pages_per_s, workers.

Tesseract and pdftoppm are checked up front, before any work, even when everything is cached (the tesseract
version is part of the cache key). A bad PDF (empty, truncated, not a PDF, encrypted) or a page tesseract fails
on is skipped with one warning line, listed under `failures` in the metrics, and the rest is processed; with
`ocr.strict: true` the stage then exits non-zero.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from stages.core.files import sha256_file, stable_hash, write_json
from stages.core.params import ParamsError
from stages.documents.page import PageTask, letter_count, ocr_page, page_record
from stages.documents.quality import assess
from stages.documents.settings import OcrParams
from stages.documents.tesseract import _init_worker, preflight, tesseract_major
from stages.documents.textlayer import BadPdfError, read_text_layers
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.pages import OcrDocument, OcrPage
from stages.text.lexicon import load_lexicon

log = logging.getLogger(__name__)


# bump when a cache entry's layout or the way text is produced changes (2: quality, passes; 3: struck text,
# line-end hyphens of text layers; 4: struck lines painted out of page images; 5, 6: struck-line search; 7: dot
# leaders painted out; 8: labels set in a column of their own read with their lines; 9: pages with lines cut
# into blocks read row by row; 10: label-column blocks line by line, misread labels; 11: interleaved lines cut;
# 12: specks at a piece's end shed; 13: ruled tables read cell by cell; 14: a list's numerals set apart put at
# their lines' starts)
CACHE_FORMAT = 14


@dataclass
class DocState:
    path: Path
    sha256: str
    key: str
    pages: dict[int, OcrPage] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    pending: int = 0


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


def doc_record(state: DocState) -> OcrDocument:
    return OcrDocument(
        doc=state.path.stem,
        source=state.path.name,
        sha256=state.sha256,
        pages=[state.pages[n] for n in sorted(state.pages)],
        failed_pages=sorted(state.failed),
    )


_WS_RE = re.compile(r"\s+")


def same_text_duplicates(docs: dict[str, list[OcrPage]], min_ratio: float) -> dict[str, str]:
    """stem -> the stem it duplicates, for documents whose whole text is (nearly) another's.

    Compared with whitespace and case folded; only pairs whose lengths are within 2% are scored. Of two alike,
    the one with fewer suspect pages stays, then the first by name."""
    norm = {s: _WS_RE.sub(" ", " ".join(r.text for r in pages)).strip().lower() for s, pages in docs.items()}
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


def run_ocr(pdf_paths: list[Path], p: OcrParams, out_dir: Path, cache_dir: Path) -> dict[str, Any]:
    """OCR `pdf_paths` into out_dir/<stem>.json using cache_dir; return the metrics (the caller writes them)."""
    started = time.monotonic()
    version = preflight(p.lang)
    adaptive = "sauvola" if tesseract_major(version) >= 5 else "normalized"
    lexicon = load_lexicon()  # before the pool: the forked workers share it
    key = cache_key(p, version, lexicon.sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    failures: list[dict[str, str]] = []
    duplicates: list[dict[str, str]] = []
    docs: list[DocState] = []
    tasks: list[PageTask] = []
    written: dict[str, list[OcrPage]] = {}  # stem -> page records of the outputs written
    names: dict[str, str] = {}  # stem -> the PDF's file name
    used_entries: set[str] = set()
    counts: Counter[str] = Counter(
        {
            "cached_documents": 0,
            "cached_pages": 0,
            "pages_ocr_run": 0,
            "pages_text_run": 0,
            "pages_retried": 0,
        }
    )

    def fail(path: Path, reason: str) -> None:
        log.warning("%s: skipped: %s", path, reason)
        failures.append({"file": path.name, "reason": reason})

    def finish(state: DocState) -> None:
        record = doc_record(state)
        if not state.failed:  # a document with a failed page is retried next run
            write_json(cache_dir / f"{state.sha256}.{state.key}.json", {"pages": to_dict(record)["pages"]})
        write_json(out_dir / f"{state.path.stem}.json", to_dict(record))
        written[state.path.stem] = record.pages
        names[state.path.stem] = state.path.name

    stems: set[str] = set()
    first_of: dict[str, Path] = {}  # sha256 -> the first PDF with those bytes
    for path in pdf_paths:
        if path.stem in stems:
            fail(path, f"another PDF has the same name stem {path.stem!r}; rename one of them")
            continue
        stems.add(path.stem)
        sha = sha256_file(path)
        if sha in first_of:
            log.warning("%s: the same bytes as %s: processed once", path, first_of[sha].name)
            duplicates.append({"file": path.name, "same_as": first_of[sha].name, "by": "same bytes"})
            continue
        first_of[sha] = path
        entry = cache_dir / f"{sha}.{key}.json"
        used_entries.add(entry.name)
        pages = read_cache_entry(entry)
        if pages is not None:
            counts["cached_documents"] += 1
            counts["cached_pages"] += len(pages)
            finish(DocState(path, sha, key, {r.page: r for r in pages}))
            continue
        try:
            layers = read_text_layers(path, p.drop_struck_text, p.read_tables)
        except (BadPdfError, OSError) as e:
            fail(path, str(e))
            continue
        state = DocState(path, sha, key)
        for n, layer in enumerate(layers, 1):
            layer_text, text = None, layer.text
            if letter_count(text) >= p.min_text_chars:
                q = assess(text, None, None, lexicon, p.quality(), text_layer=True)
                if not q.reasons or not p.check_text_layers:
                    state.pages[n] = page_record(
                        n, "text", text, q, struck_chars=layer.struck_chars, tables_read=layer.tables
                    )
                    counts["pages_text_run"] += 1
                    continue
                layer_text = text  # a layer that fails the check is OCR'd; the better reading is kept
            tasks.append(
                PageTask(len(docs), str(path), n, p, adaptive, layer_text, layer.struck_chars, layer.tables)
            )
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
                doc, page, record, error = fut.result()
                state = docs[doc]
                if record is not None:
                    state.pages[page] = record
                    counts["pages_ocr_run" if record.method == "ocr" else "pages_text_run"] += 1
                    counts["pages_retried"] += record.passes > 1
                else:
                    state.failed[page] = error or "unknown error"
                    fail(state.path, f"page {page}: {error}")
                state.pending -= 1
                if state.pending == 0:
                    finish(state)
                bar.update(1)

    for stem, original in sorted(same_text_duplicates(written, p.duplicate_similarity).items()):
        log.warning("%s: the same text as %s: processed once", names[stem], names[original])
        duplicates.append({"file": names[stem], "same_as": names[original], "by": "same text"})
        del written[stem]
    for stale in out_dir.glob("*.json"):
        if stale.stem not in written:
            stale.unlink()
    for entry in cache_dir.iterdir():
        if entry.is_file() and entry.name not in used_entries:  # incl. temp files of a killed write
            entry.unlink()

    suspects = []
    for stem in sorted(written):
        for r in written[stem]:
            if r.verdict == "suspect":
                reason = ", ".join(r.reasons)
                log.warning("%s page %d: suspect (%s)", names[stem], r.page, reason)
                suspects.append({"file": names[stem], "page": r.page, "reason": reason})
    struck = []
    for stem in sorted(written):
        pages_struck = [r for r in written[stem] if r.struck_chars or r.struck_lines]
        if pages_struck:
            chars = sum(r.struck_chars for r in pages_struck)
            lines = sum(r.struck_lines for r in pages_struck)
            log.warning(
                "%s: text shown struck through (revoked wording) left out on %d pages (%s): %d characters of "
                "text layers, %d lines of page images; ocr.drop_struck_text: false keeps it",
                names[stem],
                len(pages_struck),
                ", ".join(str(r.page) for r in pages_struck),
                chars,
                lines,
            )
            struck.append(
                {"file": names[stem], "pages": [r.page for r in pages_struck], "chars": chars, "lines": lines}
            )
    pages_all = [r for pages in written.values() for r in pages]
    seconds = time.monotonic() - started
    pages_run = counts["pages_ocr_run"] + counts["pages_text_run"]
    return {
        "documents": len(written),
        "pages": len(pages_all),
        "pages_ocr": sum(r.method == "ocr" for r in pages_all),
        "pages_text": sum(r.method == "text" for r in pages_all),
        "pages_suspect": len(suspects),
        "pages_adaptive": sum(r.binarization not in (None, "otsu") for r in pages_all),
        "pages_rotated": sum(r.rotation != 0 for r in pages_all),
        "pages_empty_with_ink": sum("empty_with_ink" in r.reasons for r in pages_all),
        # layers that failed the quality check (then OCR'd), and those the OCR text replaced
        "text_layers_failed": sum(
            r.text_layer_rejected or (r.method == "text" and r.passes > 0) for r in pages_all
        ),
        "text_layers_rejected": sum(r.text_layer_rejected for r in pages_all),
        # revoked wording (struck through on the page) left out: characters of text layers, lines of page
        # images, in all and per document
        "struck_chars": sum(r.struck_chars for r in pages_all),
        "struck_lines": sum(r.struck_lines for r in pages_all),
        "struck_text": struck,
        "dot_leaders": sum(r.dot_leaders for r in pages_all),  # rows of leader dots painted out before OCR
        # labels of a label column put back at the start of their lines
        "labels_joined": sum(r.labels_joined for r in pages_all),
        "labels_misread": sum(r.labels_misread for r in pages_all),  # ... that OCR misread ("Ss" for "§ 1º")
        # lines tesseract cut into fragments of different blocks (or interleaved with another block's line),
        # and the pages read row by row for them
        "lines_split": sum(r.lines_split for r in pages_all),
        "pages_read_by_rows": sum(r.lines_split > 0 for r in pages_all),
        "tables_read": sum(r.tables_read for r in pages_all),  # ruled tables read cell by cell
        # a list's numerals set in a column of their own, put at their lines' starts (stages/numerals.py)
        "numerals_placed": sum(r.numerals_placed for r in pages_all),
        "suspect_pages": suspects,
        "duplicates": sorted(duplicates, key=lambda d: d["file"]),
        "failures": sorted(failures, key=lambda f: (f["file"], f["reason"])),  # completion order varies
        **counts,
        "seconds": round(seconds, 2),
        "pages_per_s": round(pages_run / seconds, 3) if pages_run else 0.0,
        "workers": workers,
    }


def quality_table(ocr_dir: Path) -> list[dict[str, Any]]:
    """One row per document of `ocr_dir`: mean confidence and lexicon share of its pages, suspect pages."""
    rows = []
    for path in sorted(ocr_dir.glob("*.json")):
        document = from_dict(OcrDocument, json.loads(path.read_text(encoding="utf-8")))
        confs = [r.confidence for r in document.pages if r.confidence is not None]
        shares = [r.lexicon_share for r in document.pages if r.lexicon_share is not None]
        rows.append(
            {
                "doc": document.doc,
                "pages": len(document.pages),
                "mean_confidence": round(sum(confs) / len(confs), 2) if confs else None,
                "lexicon_share": round(sum(shares) / len(shares), 3) if shares else None,
                "suspect_pages": sum(r.verdict == "suspect" for r in document.pages),
            }
        )
    return rows
