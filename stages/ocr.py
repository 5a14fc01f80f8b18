"""ocr: PDFs (ocr.input_dir) -> data/ocr/<doc>.json, per-page quality, metrics/ocr.json."""

from __future__ import annotations

import logging
from pathlib import Path

from stages.core.files import write_json, write_timings
from stages.core.params import load_params
from stages.core.run import run_main
from stages.documents.corpus import list_pdfs, quality_table, run_ocr
from stages.documents.settings import OcrParams
from stages.documents.tesseract import OcrSetupError
from stages.records.paths import OCR_CACHE_DIR, OCR_DIR, OCR_QUALITY_PLOT, metrics_file

log = logging.getLogger(__name__)


# Facts of this run rather than results: they go to metrics/timings/ocr.json, not to metrics/ocr.json.
RUN_FACTS = (
    "cached_documents",
    "cached_pages",
    "pages_ocr_run",
    "pages_text_run",
    "pages_retried",
    "seconds",
    "pages_per_s",
    "workers",
)


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
    write_json(OCR_QUALITY_PLOT, quality_table(OCR_DIR))
    write_timings("ocr", {k: metrics[k] for k in RUN_FACTS})
    log.info(
        "ocr: %d documents, %d pages (%d OCR'd now, %d from cache, %d text layer), %d suspect, "
        "%d duplicates, %d failures, %.1f s",
        metrics["documents"],
        metrics["pages"],
        metrics["pages_ocr_run"],
        metrics["cached_pages"],
        metrics["pages_text"],
        metrics["pages_suspect"],
        len(metrics["duplicates"]),
        len(metrics["failures"]),
        metrics["seconds"],
    )
    if p.strict and metrics["failures"]:
        listing = "; ".join(f"{f['file']}: {f['reason']}" for f in metrics["failures"])
        log.error("ocr.strict is true and %d item(s) failed: %s", len(metrics["failures"]), listing)
        raise SystemExit(1)


if __name__ == "__main__":
    run_main(main)
