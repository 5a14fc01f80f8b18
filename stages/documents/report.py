"""What an ocr run did: metrics/ocr.json (results), metrics/timings/ocr.json (this run's facts), the warnings
about suspect pages and left-out struck text, and metrics/ocr_quality.json (one row per document).

Pure, except `quality_table` (reads data/ocr) and the warnings logged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.records.base import from_dict
from stages.records.pages import PAGE_COUNTERS, OcrDocument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """A PDF, or a page of one, that was skipped."""

    file: str  # the PDF's path under the input folder (its file name when it lies there)
    reason: str  # "page 2: TesseractError: ..." for a page


@dataclass(frozen=True)
class Duplicate:
    """A PDF read once, as another one: it gets no output."""

    file: str
    same_as: str  # the PDF whose output stands for it
    by: str  # "same bytes" | "same text"


@dataclass(frozen=True)
class SuspectPage:
    file: str
    page: int
    reason: str  # the page's reasons, comma-separated


@dataclass(frozen=True)
class StruckText:
    """A document's text shown struck through (revoked wording), left out."""

    file: str
    pages: list[int]
    chars: int  # characters of text layers
    lines: int  # lines of page images


@dataclass(frozen=True)
class RunFacts:
    """Facts of this run rather than results (metrics/timings/ocr.json)."""

    cached_documents: int
    cached_pages: int
    pages_ocr_run: int  # pages tesseract read in this run
    pages_text_run: int  # pages whose text layer was read in this run
    pages_retried: int  # pages read more than once
    seconds: float
    pages_per_s: float
    workers: int


@dataclass(frozen=True)
class OcrRun:
    """What a run of the ocr stage gives: its results (metrics/ocr.json) and its facts (`facts`)."""

    documents: int
    pages: int
    pages_ocr: int
    pages_text: int
    pages_suspect: int
    pages_adaptive: int  # read with a local binarization (a photo's uneven light)
    pages_rotated: int
    pages_empty_with_ink: int
    text_layers_failed: int  # text layers that failed the quality check (then OCR'd) ...
    text_layers_rejected: int  # ... and those the OCR text replaced
    counts: dict[
        str, int
    ]  # every PAGE_COUNTERS key, summed over the pages (top-level keys of metrics/ocr.json)
    pages_read_by_rows: int  # pages with lines_split > 0
    struck_text: list[StruckText]  # per document
    suspect_pages: list[SuspectPage]
    duplicates: list[Duplicate]
    failures: list[Failure]
    facts: RunFacts

    def metrics(self) -> dict[str, Any]:
        """metrics/ocr.json: results only, `counts` flattened (write_json sorts the keys)."""
        results = dataclasses.asdict(self)
        del results["facts"]
        counts = results.pop("counts")
        return {**results, **counts}

    def timings(self) -> dict[str, Any]:
        """metrics/timings/ocr.json."""
        return dataclasses.asdict(self.facts)


def suspect_pages(docs: list[OcrDocument]) -> list[SuspectPage]:
    """The suspect pages of `docs`, each warned about in one line, so a page with ink never comes out empty
    unnoticed."""
    suspects = []
    for doc in docs:
        for r in doc.pages:
            if r.verdict == "suspect":
                reason = ", ".join(r.reasons)
                log.warning("%s page %d: suspect (%s)", doc.source, r.page, reason)
                suspects.append(SuspectPage(doc.source, r.page, reason))
    return suspects


def struck_text(docs: list[OcrDocument]) -> list[StruckText]:
    """Per document of `docs`, the text shown struck through that was left out, warned about in one line."""
    struck = []
    for doc in docs:
        pages = [r for r in doc.pages if r.count("struck_chars") or r.count("struck_lines")]
        if not pages:
            continue
        chars = sum(r.count("struck_chars") for r in pages)
        lines = sum(r.count("struck_lines") for r in pages)
        log.warning(
            "%s: text shown struck through (revoked wording) left out on %d pages (%s): %d characters of "
            "text layers, %d lines of page images; ocr.drop_struck_text: false keeps it",
            doc.source,
            len(pages),
            ", ".join(str(r.page) for r in pages),
            chars,
            lines,
        )
        struck.append(StruckText(doc.source, [r.page for r in pages], chars, lines))
    return struck


def ocr_metrics(
    written: list[OcrDocument], failures: list[Failure], duplicates: list[Duplicate], facts: RunFacts
) -> OcrRun:
    """The run's results over the documents `written` (warning about suspect pages and struck text)."""
    docs = sorted(written, key=lambda d: d.doc)
    pages = [r for doc in docs for r in doc.pages]
    suspects = suspect_pages(docs)
    struck = struck_text(docs)
    return OcrRun(
        documents=len(docs),
        pages=len(pages),
        pages_ocr=sum(r.method == "ocr" for r in pages),
        pages_text=sum(r.method == "text" for r in pages),
        pages_suspect=len(suspects),
        pages_adaptive=sum(r.binarization not in (None, "otsu") for r in pages),
        pages_rotated=sum(r.rotation != 0 for r in pages),
        pages_empty_with_ink=sum("empty_with_ink" in r.reasons for r in pages),
        text_layers_failed=sum(r.text_layer_rejected or (r.method == "text" and r.passes > 0) for r in pages),
        text_layers_rejected=sum(r.text_layer_rejected for r in pages),
        counts={name: sum(r.count(name) for r in pages) for name in PAGE_COUNTERS},
        pages_read_by_rows=sum(r.count("lines_split") > 0 for r in pages),
        struck_text=struck,
        suspect_pages=suspects,
        duplicates=sorted(duplicates, key=lambda d: d.file),
        failures=sorted(failures, key=lambda f: (f.file, f.reason)),  # pages fail in completion order
        facts=facts,
    )


def quality_table(ocr_dir: Path) -> list[dict[str, Any]]:
    """One row per document of `ocr_dir` (sub-folders included): mean confidence and lexicon share of its pages,
    suspect pages."""
    rows = []
    for path in sorted(ocr_dir.rglob("*.json")):
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
