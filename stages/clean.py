"""clean: OCR pages (data/ocr/<doc>.json) -> one cleaned text per document (data/clean/<doc>.txt), metrics/clean.json."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages.core.files import atomic_write_text, write_json
from stages.core.params import load_params
from stages.core.run import require_input, run_main
from stages.records.base import RecordError, from_dict
from stages.records.pages import OcrDocument
from stages.records.paths import CLEAN_DIR, OCR_DIR, metrics_file
from stages.text.clean.chars import corpus_vocabulary
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------
class OcrFileError(ValueError):
    """An OCR JSON that cannot be read or does not have the expected shape."""


def read_ocr_pages(path: Path) -> list[str]:
    """The page texts of one data/ocr/<doc>.json (an OcrDocument), in page order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OcrFileError(f"cannot read: {e}") from None
    try:
        document = from_dict(OcrDocument, data)
    except RecordError as e:
        raise OcrFileError(
            f"not an OCR document ({e}); expected {{doc, source, sha256, pages: [{{page, text, ...}}]}}"
        ) from None
    return [page.text for page in sorted(document.pages, key=lambda page: page.page)]


def doc_of(path: Path, folder: Path) -> str:
    """A file's doc id: its path under `folder` without the suffix (`ufam/RES_1` for ufam/RES_1.json)."""
    return path.relative_to(folder).with_suffix("").as_posix()


def run(ocr_dir: Path, clean_dir: Path, metrics_file: Path, p: CleanParams) -> dict[str, Any]:
    """Clean every <doc>.json in ocr_dir (sub-folders included) into clean_dir/<doc>.txt; returns (and writes)
    the metrics."""
    require_input(ocr_dir, "ocr")
    per_doc: dict[str, dict[str, int]] = {}
    failures: list[dict[str, str]] = []
    documents: dict[str, list[str]] = {}
    for path in sorted(ocr_dir.rglob("*.json")):
        try:
            documents[doc_of(path, ocr_dir)] = read_ocr_pages(path)
        except OcrFileError as e:
            log.warning("skipping %s: %s (rerun the ocr stage for it)", path, e)
            failures.append({"file": str(path), "reason": str(e)})
    corpus = corpus_vocabulary([page for pages in documents.values() for page in pages])
    for doc, pages in tqdm(documents.items(), desc="clean", unit="doc"):
        text, counts = clean_document(pages, p, corpus)
        atomic_write_text(clean_dir / f"{doc}.txt", text)
        per_doc[doc] = {"chars_in": sum(map(len, pages)), "chars_out": len(text), **counts}
        if counts.get("dropped_struck_lines"):
            log.warning(
                "%s: %d OCR lines dropped as struck through (revoked wording read as hyphen-joined words)",
                doc,
                counts["dropped_struck_lines"],
            )
        if counts.get("fffd_kept"):
            log.warning(
                "%s: %d U+FFFD kept (no single word fits; %d repaired)",
                doc,
                counts["fffd_kept"],
                counts.get("fffd_repaired", 0),
            )
    for stale in sorted(clean_dir.rglob("*.txt")):
        if doc_of(stale, clean_dir) not in per_doc:
            log.info("removing %s: its OCR output is gone or invalid", stale)
            stale.unlink()
    totals: Counter[str] = Counter()
    for counts in per_doc.values():
        totals.update(counts)
    metrics = {
        "documents": len(per_doc),
        "failures": failures,
        "chars_in": totals["chars_in"],
        "chars_out": totals["chars_out"],
        "lines_dropped": {
            rule: totals[f"dropped_{rule}"]
            for rule in (
                "header_footer",
                "page_number",
                "letterhead",
                "gazette_head",
                "web_links",
                "junk",
                "struck_lines",
            )
        },
        "fffd_repaired": totals["fffd_repaired"],
        "fffd_kept": totals["fffd_kept"],
        "documents_with_fffd": sorted(doc for doc, counts in per_doc.items() if counts.get("fffd_kept")),
        "rules": {k: v for k, v in sorted(totals.items()) if not k.startswith("chars_")},
        "per_document": per_doc,
    }
    write_json(metrics_file, metrics)
    return metrics


def main() -> None:
    p = load_params("clean", CleanParams)
    log.info("clean: %s -> %s", OCR_DIR, CLEAN_DIR)
    m = run(OCR_DIR, CLEAN_DIR, metrics_file("clean"), p)
    log.info(
        "clean: %d documents, %d -> %d chars, dropped %s, %d skipped",
        m["documents"], m["chars_in"], m["chars_out"], m["lines_dropped"], len(m["failures"]),
    )  # fmt: skip


if __name__ == "__main__":
    run_main(main)
