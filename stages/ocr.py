"""ocr: the PDFs of ocr.input_dir and its sub-folders -> data/ocr/<doc id>.json (one record per page, with a
quality verdict), metrics/ocr.json, metrics/ocr_quality.json. A doc id is the PDF's path under ocr.input_dir
without .pdf (`ufam/RESOLUCAO_001_2020`).

A page's own text layer is used when it passes the quality check; every other page is rendered and read by
tesseract in a pool of processes (`ocr.executor: local`) or on a Ray cluster (`ray`: docs/scaling.md), and a
suspect reading is read again. Each document is cached (data/cache/ocr), a duplicate is read once, and a bad
PDF or page is skipped and listed (`ocr.strict: true` then exits 1). The library is stages/documents/
(corpus.py runs it, report.py sums it up); docs/ocr-and-cleaning.md says what each step does and why.
"""

from __future__ import annotations

import logging
from pathlib import Path

from stages.core.files import write_json, write_timings
from stages.core.params import load_params
from stages.core.run import run_main
from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.report import OcrRun, quality_table
from stages.documents.settings import OcrParams
from stages.documents.tesseract import OcrSetupError
from stages.records.paths import OCR_CACHE_DIR, OCR_DIR, OCR_QUALITY_PLOT, metrics_file

log = logging.getLogger(__name__)


def log_summary(run: OcrRun) -> None:
    log.info(
        "ocr: %d documents, %d pages (%d OCR'd now, %d from cache, %d text layer), %d suspect, "
        "%d duplicates, %d failures, %.1f s",
        run.documents,
        run.pages,
        run.facts.pages_ocr_run,
        run.facts.cached_pages,
        run.pages_text,
        run.pages_suspect,
        len(run.duplicates),
        len(run.failures),
        run.facts.seconds,
    )


def main() -> None:
    p = load_params("ocr", OcrParams)
    pdfs = list_pdfs(Path(p.input_dir))
    log.info(
        "ocr: %d PDFs in %s (dpi %d, lang %s, psm %d, executor %s)",
        len(pdfs),
        p.input_dir,
        p.dpi,
        p.lang,
        p.psm,
        p.executor,
    )
    try:
        run = run_ocr(pdfs, p, OCR_DIR, OCR_CACHE_DIR, root=Path(p.input_dir))
    except OcrSetupError as e:
        log.error("%s", e)
        raise SystemExit(3) from None
    write_json(metrics_file("ocr"), run.metrics())
    write_json(OCR_QUALITY_PLOT, quality_table(OCR_DIR))
    write_timings("ocr", run.timings())
    log_summary(run)
    if p.strict and run.failures:
        listing = "; ".join(f"{f.file}: {f.reason}" for f in run.failures)
        log.error("ocr.strict is true and %d item(s) failed: %s", len(run.failures), listing)
        raise SystemExit(1)


if __name__ == "__main__":
    run_main(main)
