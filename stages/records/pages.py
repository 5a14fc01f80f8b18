"""ocr -> clean: data/ocr/<doc>.json (<doc> may hold sub-folders: `ufam/RES_1`)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The keys of OcrPage.counts: how often each repair of the ocr stage acted on a page. metrics/ocr.json sums each
# over the pages; a new repair adds its key here and changes no record's schema.
PAGE_COUNTERS = (
    "struck_chars",  # characters of its text layer shown struck through (revoked), left out of `text`
    "struck_lines",  # lines printed struck through on its image, painted out before OCR
    "dot_leaders",  # rows of leader dots on its image, painted out before OCR
    "labels_joined",  # labels set in a column of their own, put back at the start of their lines
    "labels_misread",  # ... of them, those OCR misread ("Ss" for "§ 1º"), kept as read
    "lines_split",  # lines tesseract cut into blocks or interleaved with others; > 0: read by rows
    "tables_read",  # ruled tables read cell by cell, row by row (stages/documents/tables.py)
    "numerals_placed",  # a list's numerals set apart, put at their lines' starts (stages/documents/numerals.py)
)


@dataclass(frozen=True)
class OcrPage:
    page: int  # 1-based
    method: str  # "text" (the page's own text layer) | "ocr" (tesseract)
    text: str
    confidence: float | None  # tesseract's mean word confidence (0-100); None for text-layer pages
    # Quality signals (stages/documents/quality.py) and the verdict drawn from them
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
    counts: dict[str, int] = field(default_factory=dict)  # PAGE_COUNTERS key -> count; non-zero ones, sorted

    def count(self, name: str) -> int:
        """How often the repair `name` (a PAGE_COUNTERS key) acted on this page."""
        return self.counts.get(name, 0)


@dataclass(frozen=True)
class OcrDocument:
    """data/ocr/<doc>.json."""

    doc: str  # the PDF's path under ocr.input_dir without .pdf (`ufam/RES_1`); every later record names it so
    source: str  # the PDF's path under ocr.input_dir (its file name when it lies there)
    sha256: str
    pages: list[OcrPage]
    failed_pages: list[int] = field(default_factory=list)
