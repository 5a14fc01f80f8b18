"""One PDF page -> one OcrPage: its text layer when it passes the quality check, else tesseract."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pytesseract
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image

from stages.documents.layout import (
    cut_interleaved,
    join_label_column,
    parse_tsv,
    read_by_rows,
    read_tables,
    render,
    skew,
    split_lines,
)
from stages.documents.leaders import blank_leaders, find_leaders
from stages.documents.numerals import find_label_strips, place_labels
from stages.documents.quality import Quality, assess, measure_image
from stages.documents.settings import OcrParams
from stages.documents.struck import blank_strikes, find_strikes
from stages.documents.tables import image_tables
from stages.documents.tesseract import mean_confidence, osd_rotation, read_strips, run_tesseract
from stages.documents.textlayer import LayerPage
from stages.records.pages import PAGE_COUNTERS, OcrPage
from stages.text.lexicon import REPLACEMENT, known_count, load_lexicon


@dataclass(frozen=True)
class PageTask:
    doc: int  # index into the run's document list
    path: str
    page: int  # 1-based
    params: OcrParams
    adaptive: str  # the local binarization this tesseract has: "sauvola" (>= 5) or "normalized"
    layer_text: str | None = None  # the page's own text layer, when it failed the quality check
    layer_counts: dict[str, int] = field(default_factory=dict)  # what reading layer_text did (layer_counts)


@dataclass(frozen=True)
class PageRead:
    """A worker's answer to one PageTask: the page's record, or why it could not be read."""

    doc: int  # PageTask.doc
    page: int
    record: OcrPage | None  # None when the page failed
    error: str = ""  # why it failed ("TesseractError: ...")


def letter_count(text: str) -> int:
    return sum(c.isalpha() for c in text)


def layer_counts(layer: LayerPage) -> dict[str, int]:
    """What reading a page's own text layer did (OcrPage.counts): struck-through text left out, tables read."""
    return {"struck_chars": layer.struck_chars, "tables_read": layer.tables}


RETRY_REASONS = frozenset({"empty_with_ink", "little_text_for_ink", "low_confidence", "few_known_words"})
GARBLED_REASONS = frozenset({"low_confidence", "few_known_words"})  # text, but not words: maybe sideways


@dataclass(frozen=True)
class Rebuilt:
    """What rebuilding a page from tesseract's word boxes did (layout.py, tables.py,
    numerals.py)."""

    labels_joined: int = 0  # labels of a label column put back at the start of their lines
    labels_misread: int = 0  # ... of them, those that did not read as a label (they keep tesseract's text)
    lines_split: int = 0  # lines tesseract cut into blocks or interleaved with others; > 0: read by rows
    tables_read: int = 0  # ruled tables read cell by cell
    numerals_placed: int = 0  # a list's numerals put at their lines' starts (read again if left unread)


@dataclass(frozen=True)
class Reading:
    """One tesseract pass over a page."""

    text: str
    confidence: float | None
    binarization: str
    rotation: int  # degrees the page image was turned (clockwise) before this reading
    quality: Quality
    known_words: int  # words the lexicon knows: what picks the best of several readings
    struck_lines: int = 0  # struck-through lines blanked on the image before it was read
    dot_leaders: int = 0  # rows of leader dots blanked on the image before it was read
    rebuilt: Rebuilt = Rebuilt()  # what rebuilding it from tesseract's word boxes did

    def counts(self) -> dict[str, int]:
        """What the repairs did to this reading (OcrPage.counts)."""
        return {
            "struck_lines": self.struck_lines,
            "dot_leaders": self.dot_leaders,
            **dataclasses.asdict(self.rebuilt),
        }


def normalize_light(src: str, dst: str) -> None:
    """Divide a page by its paper brightness (the brightest pixel of each ~3 mm block): uneven light -> flat."""
    with Image.open(src) as img:
        grey = img.convert("L")
    a = np.asarray(grey, dtype=np.float32)
    b = 32
    h, w = (a.shape[0] // b) * b, (a.shape[1] // b) * b
    blocks = a[:h, :w].reshape(h // b, b, w // b, b).max(axis=(1, 3))
    paper = np.asarray(Image.fromarray(blocks.astype(np.uint8)).resize(grey.size, Image.BILINEAR), np.float32)
    flat = np.clip(a / np.maximum(paper, 1.0) * 255.0, 0, 255).astype(np.uint8)
    Image.fromarray(flat).save(dst)


def crop_to_photo(src: str, dst: str) -> bool:
    """Cut the white margins around a photo pasted on a page (what phone scanner apps export): tesseract's layout
    analysis takes the photo's edge for a column border and reads lines in pieces. Rows and columns count as
    photo when most of their pixels are darker than white; nothing is cut when the photo fills the page. True
    when `dst` was written."""
    with Image.open(src) as img:
        grey = np.asarray(img.convert("L"))
    rows = np.flatnonzero((grey < 245).mean(axis=1) > 0.5)
    cols = np.flatnonzero((grey < 245).mean(axis=0) > 0.5)
    if not len(rows) or not len(cols):
        return False
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    h, w = grey.shape
    if (bottom - top) * (right - left) < 0.5 * h * w or (bottom - top > 0.98 * h and right - left > 0.98 * w):
        return False
    Image.fromarray(grey[top:bottom, left:right]).save(dst)
    return True


def tesseract_read(
    image: str, base: str, p: OcrParams, binarization: str, grey: np.ndarray | None = None
) -> tuple[str, float | None, Rebuilt]:
    """Text, mean word confidence and what the rebuild from its word boxes did (layout.py,
    tables.py) from one tesseract call (text and TSV written together). `grey`: the image as read, where
    ruled tables are looked for (None: none are)."""
    if binarization == "normalized":
        normalize_light(image, base + "-flat.pgm")
        image = base + "-flat.pgm"
    run_tesseract(image, base, "txt tsv", p, binarization, p.psm)
    with open(base + ".txt", encoding="utf-8") as f:
        text = f.read()
    with open(base + ".tsv", encoding="utf-8") as f:
        tsv = f.read()
    joined = misread = split = tables_read = numerals = 0
    table_image = grey if p.read_tables else None
    numeral_image = grey if p.place_list_numerals else None
    if (
        p.join_label_column
        or p.read_split_lines_by_rows
        or table_image is not None
        or numeral_image is not None
    ):
        blocks = parse_tsv(tsv)
        if p.read_split_lines_by_rows:
            cut, interleaved = cut_interleaved(blocks)
            split = split_lines(blocks) + interleaved
        if split:
            blocks = read_by_rows(cut)  # its labels share their lines' rows: nothing left to join
        elif p.join_label_column:
            blocks, joined, misread = join_label_column(blocks, p.dpi)
        # after the label column's join: a label tesseract read stands in its line, its ink no longer beside it
        strips = find_label_strips(numeral_image, blocks, p.dpi) if numeral_image is not None else None
        if strips is not None:
            unread = read_strips(strips, base, p, binarization) if strips.image is not None else []
            blocks, numerals = place_labels(blocks, strips, unread)
        if table_image is not None:
            slope = skew(blocks)
            blocks, tables_read = read_tables(blocks, image_tables(table_image, p.dpi, slope), slope)
        if split or joined or tables_read or numerals:
            text = render(blocks)
    return text, mean_confidence(tsv), Rebuilt(joined, misread, split, tables_read, numerals)


@dataclass(frozen=True)
class PreparedPage:
    """A rendered page made ready for tesseract."""

    image: str  # the image to read: a photo's margins cut off, struck lines and dot leaders painted out
    grey: (
        np.ndarray | None
    )  # its pixels, where ruled tables and list numerals are looked for; None: not loaded
    binarization: str  # the threshold it is read with first: "otsu", or the local one for uneven light
    ink_cm2: float
    struck_lines: int = 0  # struck-through lines painted out
    dot_leaders: int = 0  # rows of leader dots painted out


def prepare_page(image: str, tmp: str, task: PageTask) -> PreparedPage:
    """Measure a rendered page's ink and light, choose its threshold, cut a photo's margins, and paint out what
    tesseract must not read (new images go to `tmp`)."""
    p = task.params
    stats = measure_image(image, p.dpi)
    first = task.adaptive if stats.light_spread > p.adaptive_light_spread else "otsu"
    if first != "otsu" and crop_to_photo(image, os.path.join(tmp, "photo.pgm")):
        image = os.path.join(tmp, "photo.pgm")  # a photo on a white page: its margins cut off
    if not (p.drop_struck_text or p.blank_dot_leaders or p.read_tables or p.place_list_numerals):
        return PreparedPage(image, None, first, stats.ink_cm2)
    with Image.open(image) as img:
        grey = np.asarray(img.convert("L"))
    strikes = find_strikes(grey, p.dpi) if p.drop_struck_text else []
    if strikes:  # revoked wording printed struck through: blanked, not read (struck.py)
        grey = blank_strikes(grey, strikes, p.dpi)
    leaders = find_leaders(grey, p.dpi) if p.blank_dot_leaders else []
    if leaders:  # rows of dots, read as junk: blanked (leaders.py)
        grey = blank_leaders(grey, leaders)
    if strikes or leaders:
        image = os.path.join(tmp, "blanked.pgm")
        Image.fromarray(grey).save(image)
    return PreparedPage(image, grey, first, stats.ink_cm2, len(strikes), len(leaders))


def read_page(image: str, tmp: str, task: PageTask) -> tuple[Reading, int]:
    """The best reading of a rendered page and how many tesseract readings it took (docs/ocr-and-cleaning.md
    says how a page is read)."""
    p, lexicon = task.params, load_lexicon()
    page = prepare_page(image, tmp, task)

    def read(img: str, binarization: str, rotation: int) -> Reading:
        base = os.path.join(tmp, f"read-{binarization}-{rotation}")
        # tables are looked for on the image as read: not on one turned by OSD
        text, conf, rebuilt = tesseract_read(img, base, p, binarization, page.grey if rotation == 0 else None)
        quality = assess(text, conf, page.ink_cm2, lexicon, p)
        known = known_count(text, lexicon)
        return Reading(
            text, conf, binarization, rotation, quality, known, page.struck_lines, page.dot_leaders, rebuilt
        )

    readings = [read(page.image, page.binarization, 0)]

    def best() -> Reading:
        return max(readings, key=lambda r: (r.known_words, r.quality.letters, r.confidence or 0.0))

    if not p.retry_suspect or not RETRY_REASONS & set(readings[0].quality.reasons):
        return readings[0], 1
    upright = page.image
    if readings[0].quality.letters and GARBLED_REASONS & set(readings[0].quality.reasons):
        rotation = osd_rotation(page.image, p)
        if rotation:
            upright = os.path.join(tmp, f"turned-{rotation}.pgm")
            with Image.open(page.image) as img:
                img.rotate(-rotation, expand=True).save(upright)  # PIL turns counter-clockwise
            readings.append(read(upright, page.binarization, rotation))
    if RETRY_REASONS & set(best().quality.reasons):
        other = task.adaptive if page.binarization == "otsu" else "otsu"
        readings.append(read(upright, other, best().rotation))
    return best(), len(readings)


def page_record(
    page: int,
    method: str,
    text: str,
    q: Quality,
    counts: Mapping[str, int],
    *,
    binarization: str | None = None,
    rotation: int = 0,
    passes: int = 0,
    text_layer_rejected: bool = False,
) -> OcrPage:
    """One page of data/ocr/<doc>.json with its quality signals and verdict, how it was read, and what the
    repairs did (`counts`: PAGE_COUNTERS keys; the zeros are left out)."""
    unknown = set(counts) - set(PAGE_COUNTERS)
    if unknown:
        raise ValueError(f"counters {sorted(unknown)} are not in records.pages.PAGE_COUNTERS")
    return OcrPage(
        page=page,
        method=method,
        text=text,
        confidence=q.confidence,
        chars=sum(not c.isspace() for c in text),
        lexicon_share=q.lexicon_share,
        broken_glyphs=q.broken_glyphs,
        ink_cm2=q.ink_cm2,
        verdict=q.verdict,
        reasons=list(q.reasons),
        binarization=binarization,
        rotation=rotation,
        passes=passes,
        text_layer_rejected=text_layer_rejected,
        counts={name: n for name, n in sorted(counts.items()) if n},
    )


def layer_score(text: str) -> int:
    """Known words of a text layer, counting a word with U+FFFD as known (clean repairs it where it can)."""
    return known_count(text, load_lexicon()) + sum(REPLACEMENT in w for w in _BROKEN_WORD_RE.findall(text))


_BROKEN_WORD_RE = re.compile(rf"[^\W\d_]*{REPLACEMENT}[{REPLACEMENT}\w]*")


def ocr_page(task: PageTask) -> PageRead:
    """Render one page and read it. Runs in a worker process."""
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        try:
            images = convert_from_path(
                task.path,
                dpi=task.params.dpi,
                first_page=task.page,
                last_page=task.page,
                output_folder=tmp,
                paths_only=True,
                grayscale=True,  # PGM: a third of the bytes of colour PPM; tesseract works in grey anyway
            )
            if not images:
                raise PDFPageCountError("pdftoppm produced no image")
            reading, passes = read_page(images[0], tmp, task)
        except (
            pytesseract.TesseractError,
            PDFPageCountError,
            PDFSyntaxError,
            PDFInfoNotInstalledError,
            OSError,
            RuntimeError,  # pytesseract's timeout
        ) as e:
            reason = " ".join(str(getattr(e, "message", "") or e).split()) or type(e).__name__
            return PageRead(task.doc, task.page, None, f"{type(e).__name__}: {reason}")
    rejected = False
    if task.layer_text is not None:
        if layer_score(task.layer_text) >= reading.known_words:  # OCR reads no better: the layer stays
            q = assess(task.layer_text, None, None, load_lexicon(), task.params, text_layer=True)
            record = page_record(task.page, "text", task.layer_text, q, task.layer_counts, passes=passes)
            return PageRead(task.doc, task.page, record)
        rejected = True
    record = page_record(
        task.page,
        "ocr",
        reading.text,
        reading.quality,
        reading.counts(),
        binarization=reading.binarization,
        rotation=reading.rotation,
        passes=passes,
        text_layer_rejected=rejected,
    )
    return PageRead(task.doc, task.page, record)
