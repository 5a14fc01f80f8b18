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
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytesseract
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image
from rapidfuzz import fuzz
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from stages.core.files import run_main, sha256_file, stable_hash, write_json, write_timings
from stages.core.params import ParamsError, load_params
from stages.documents.layout import (
    Block,
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
from stages.documents.numerals import LabelStrips, find_label_strips, place_labels
from stages.documents.quality import Quality, QualityParams, assess, measure_image
from stages.documents.struck import blank_strikes, find_strikes
from stages.documents.tables import image_tables
from stages.documents.textlayer import BadPdfError, read_text_layers
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.pages import OcrDocument, OcrPage
from stages.records.paths import OCR_CACHE_DIR, OCR_DIR, OCR_QUALITY_PLOT, metrics_file
from stages.text.legis.labels import LIST_NUMERAL_CHARS
from stages.text.lexicon import REPLACEMENT, known_count, load_lexicon

log = logging.getLogger(__name__)

# bump when a cache entry's layout or the way text is produced changes (2: quality, passes; 3: struck text,
# line-end hyphens of text layers; 4: struck lines painted out of page images; 5, 6: struck-line search; 7: dot
# leaders painted out; 8: labels set in a column of their own read with their lines; 9: pages with lines cut
# into blocks read row by row; 10: label-column blocks line by line, misread labels; 11: interleaved lines cut;
# 12: specks at a piece's end shed; 13: ruled tables read cell by cell; 14: a list's numerals set apart put at
# their lines' starts)
CACHE_FORMAT = 14
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
    # Paper brightness varying by more grey levels than this: local (Sauvola) binarization at once. Measured:
    # ordinary scans 0-5, phone photos 98-159 (docs/benchmarks/real.md).
    adaptive_light_spread: float = 40.0
    retry_suspect: bool = True  # read a suspect page again (OSD rotation, the other binarization); best kept
    check_text_layers: bool = True  # OCR a text layer that fails the quality check; the better reading kept
    osd_min_confidence: float = 2.0  # tesseract OSD orientation confidence needed to turn a suspect page
    quality_min_confidence: float = 70.0  # mean word confidence below this: suspect (ordinary pages 82-96)
    quality_min_lexicon_share: float = 0.6  # known-word share below this: suspect (ordinary pages 0.78-0.98)
    quality_min_ink_cm2: float = 3.0  # a rendered page with this much ink has something printed on it
    quality_min_letters_per_ink_cm2: float = 3.0  # fewer letters per cm² of ink: text lost (pages: 11-180)
    duplicate_similarity: float = 98.0  # rapidfuzz ratio of two documents' whole texts that makes them one
    drop_struck_text: bool = True  # leave out text shown struck through (revoked wording): layers and scans
    blank_dot_leaders: bool = True  # paint rows of dots ("Art. 12. ......") out of page images before OCR
    join_label_column: bool = True  # labels set in a column of their own ("Art. 4º") read with their lines
    read_split_lines_by_rows: bool = True  # a page whose lines tesseract cut into blocks is read row by row
    read_tables: bool = True  # ruled tables read cell by cell, row by row (scans and text layers)
    place_list_numerals: bool = True  # a list's numerals set apart ("II.") put at their lines' starts

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
        if not 0 <= self.adaptive_light_spread <= 255:
            out.append(f"ocr.adaptive_light_spread must be in [0, 255], got {self.adaptive_light_spread}")
        if self.osd_min_confidence < 0:
            out.append(f"ocr.osd_min_confidence must be >= 0, got {self.osd_min_confidence}")
        if not 0 <= self.quality_min_confidence <= 100:
            out.append(f"ocr.quality_min_confidence must be in [0, 100], got {self.quality_min_confidence}")
        if not 0 <= self.quality_min_lexicon_share <= 1:
            out.append(
                f"ocr.quality_min_lexicon_share must be in [0, 1], got {self.quality_min_lexicon_share}"
            )
        if self.quality_min_ink_cm2 <= 0:
            out.append(f"ocr.quality_min_ink_cm2 must be > 0, got {self.quality_min_ink_cm2}")
        if self.quality_min_letters_per_ink_cm2 < 0:
            out.append(
                f"ocr.quality_min_letters_per_ink_cm2 must be >= 0, got {self.quality_min_letters_per_ink_cm2}"
            )
        if not 50 <= self.duplicate_similarity <= 100:
            out.append(f"ocr.duplicate_similarity must be in [50, 100], got {self.duplicate_similarity}")
        return out

    def quality(self) -> QualityParams:
        return QualityParams(
            min_confidence=self.quality_min_confidence,
            min_lexicon_share=self.quality_min_lexicon_share,
            min_ink_cm2=self.quality_min_ink_cm2,
            min_letters_per_ink_cm2=self.quality_min_letters_per_ink_cm2,
        )


class OcrSetupError(RuntimeError):
    """tesseract, a language pack or pdftoppm is missing."""


@dataclass(frozen=True)
class PageTask:
    doc: int  # index into the run's document list
    path: str
    page: int  # 1-based
    params: OcrParams
    adaptive: str  # the local binarization this tesseract has: "sauvola" (>= 5) or "normalized"
    layer_text: str | None = None  # the page's own text layer, when it failed the quality check
    layer_struck: int = 0  # characters shown struck through that were left out of layer_text
    layer_tables: int = 0  # ruled tables of layer_text read cell by cell


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
    if "osd" not in listed:
        log.warning(
            "tesseract has no orientation data (apt package tesseract-ocr-osd): sideways pages stay sideways"
        )
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


# tesseract's -c thresholding_method: 0 = global Otsu (its default), 2 = Sauvola (local; tesseract >= 5).
# "normalized": Otsu on the page divided by its own paper brightness, for tesseract 4, which has no Sauvola.
THRESHOLDING = {"otsu": 0, "sauvola": 2, "normalized": 0}
RETRY_REASONS = frozenset({"empty_with_ink", "little_text_for_ink", "low_confidence", "few_known_words"})
GARBLED_REASONS = frozenset({"low_confidence", "few_known_words"})  # text, but not words: maybe sideways


@dataclass(frozen=True)
class Rebuilt:
    """What rebuilding a page from tesseract's word boxes did (stages/layout.py, stages/tables.py,
    stages/numerals.py)."""

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


def run_tesseract(
    image: str, base: str, extension: str, p: OcrParams, binarization: str, psm: int, chars: str = ""
) -> None:
    """Tesseract (LSTM) on `image`, writing `base`.<each of `extension`>; `chars`: the only characters allowed."""
    only = f" -c tessedit_char_whitelist={chars}" if chars else ""
    pytesseract.pytesseract.run_tesseract(
        image,
        base,
        extension=extension,
        lang=p.lang,
        config=f"--oem 1 --psm {psm} --dpi {p.dpi} -c tessedit_create_tsv=1 "
        f"-c thresholding_method={THRESHOLDING[binarization]}{only}",
        timeout=PAGE_TIMEOUT_S,
    )


def tesseract_read(
    image: str, base: str, p: OcrParams, binarization: str, grey: np.ndarray | None = None
) -> tuple[str, float | None, Rebuilt]:
    """Text, mean word confidence and what the rebuild from its word boxes did (stages/layout.py,
    stages/tables.py) from one tesseract call (text and TSV written together). `grey`: the image as read, where
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


def read_strips(strips: LabelStrips, base: str, p: OcrParams, binarization: str) -> list[Block]:
    """The strips beside a page's lines that hold a numeral its reading left unread (stages/numerals.py), read by
    tesseract as one block (--psm 6: as the page, --psm 3 or 4 reads nothing there) of a numeral's characters."""
    assert strips.image is not None
    Image.fromarray(strips.image).save(base + "-labels.png")
    run_tesseract(base + "-labels.png", base + "-labels", "tsv", p, binarization, 6, LIST_NUMERAL_CHARS)
    with open(base + "-labels.tsv", encoding="utf-8") as f:
        return parse_tsv(f.read())


_ROTATE_RE = re.compile(r"^Rotate:\s*(\d+)", re.MULTILINE)
_ORIENTATION_CONF_RE = re.compile(r"^Orientation confidence:\s*([\d.]+)", re.MULTILINE)


def osd_rotation(image: str, p: OcrParams) -> int:
    """Degrees (clockwise) tesseract's orientation detection says the page must be turned; 0 when unsure."""
    try:
        osd = pytesseract.image_to_osd(image, config=f"--psm 0 --dpi {p.dpi}", timeout=PAGE_TIMEOUT_S)
    except pytesseract.TesseractError:  # "Too few characters": nothing to orient by
        return 0
    rotate, conf = _ROTATE_RE.search(osd), _ORIENTATION_CONF_RE.search(osd)
    if not rotate or not conf or float(conf.group(1)) < p.osd_min_confidence:
        return 0
    return int(rotate.group(1)) % 360


def read_page(image: str, tmp: str, task: PageTask) -> tuple[Reading, int]:
    """The best reading of a rendered page and how many tesseract readings it took (see the module docstring)."""
    p, lexicon = task.params, load_lexicon()
    stats = measure_image(image, p.dpi)
    first = task.adaptive if stats.light_spread > p.adaptive_light_spread else "otsu"
    if first != "otsu" and crop_to_photo(image, os.path.join(tmp, "photo.pgm")):
        image = os.path.join(tmp, "photo.pgm")  # a photo on a white page: its margins cut off
    struck_lines = dot_leaders = 0
    grey = None
    if p.drop_struck_text or p.blank_dot_leaders or p.read_tables or p.place_list_numerals:
        with Image.open(image) as img:
            grey = np.asarray(img.convert("L"))
        strikes = find_strikes(grey, p.dpi) if p.drop_struck_text else []
        if strikes:  # revoked wording printed struck through: blanked, not read (stages/struck.py)
            struck_lines = len(strikes)
            grey = blank_strikes(grey, strikes, p.dpi)
        leaders = find_leaders(grey, p.dpi) if p.blank_dot_leaders else []
        if leaders:  # rows of dots, read as junk: blanked (stages/leaders.py)
            dot_leaders = len(leaders)
            grey = blank_leaders(grey, leaders)
        if strikes or leaders:
            image = os.path.join(tmp, "blanked.pgm")
            Image.fromarray(grey).save(image)

    def read(img: str, binarization: str, rotation: int) -> Reading:
        base = os.path.join(tmp, f"read-{binarization}-{rotation}")
        # tables are looked for on the image as read: not on one turned by OSD
        text, conf, rebuilt = tesseract_read(img, base, p, binarization, grey if rotation == 0 else None)
        quality = assess(text, conf, stats.ink_cm2, lexicon, p.quality())
        known = known_count(text, lexicon)
        return Reading(
            text,
            conf,
            binarization,
            rotation,
            quality,
            known,
            struck_lines,
            dot_leaders,
            rebuilt,
        )

    readings = [read(image, first, 0)]

    def best() -> Reading:
        return max(readings, key=lambda r: (r.known_words, r.quality.letters, r.confidence or 0.0))

    if not p.retry_suspect or not RETRY_REASONS & set(readings[0].quality.reasons):
        return readings[0], 1
    upright = image
    if readings[0].quality.letters and GARBLED_REASONS & set(readings[0].quality.reasons):
        rotation = osd_rotation(image, p)
        if rotation:
            upright = os.path.join(tmp, f"turned-{rotation}.pgm")
            with Image.open(image) as img:
                img.rotate(-rotation, expand=True).save(upright)  # PIL turns counter-clockwise
            readings.append(read(upright, first, rotation))
    if RETRY_REASONS & set(best().quality.reasons):
        other = task.adaptive if first == "otsu" else "otsu"
        readings.append(read(upright, other, best().rotation))
    return best(), len(readings)


def page_record(page: int, method: str, text: str, q: Quality, **how: Any) -> OcrPage:
    """One page of data/ocr/<doc>.json with its quality signals and verdict; `how`: how it was read."""
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
        **how,
    )


def layer_score(text: str) -> int:
    """Known words of a text layer, counting a word with U+FFFD as known (clean repairs it where it can)."""
    return known_count(text, load_lexicon()) + sum(REPLACEMENT in w for w in _BROKEN_WORD_RE.findall(text))


_BROKEN_WORD_RE = re.compile(rf"[^\W\d_]*{REPLACEMENT}[{REPLACEMENT}\w]*")


def ocr_page(task: PageTask) -> tuple[int, int, OcrPage | None, str | None]:
    """Render one page and read it: (doc, page, record, error). Runs in a worker process."""
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
            return task.doc, task.page, None, f"{type(e).__name__}: {reason}"
    how: dict[str, Any] = {
        "binarization": reading.binarization,
        "rotation": reading.rotation,
        "passes": passes,
        "struck_lines": reading.struck_lines,
        "dot_leaders": reading.dot_leaders,
        **dataclasses.asdict(reading.rebuilt),
    }
    if task.layer_text is not None:
        if layer_score(task.layer_text) >= reading.known_words:  # OCR reads no better: the layer stays
            layer_q = assess(
                task.layer_text, None, None, load_lexicon(), task.params.quality(), text_layer=True
            )
            layer_how = {
                **how,
                "binarization": None,
                "rotation": 0,
                "struck_chars": task.layer_struck,
                "struck_lines": 0,
                "dot_leaders": 0,
                **dataclasses.asdict(
                    Rebuilt(tables_read=task.layer_tables)
                ),  # nothing rebuilt but its tables
            }
            return (
                task.doc,
                task.page,
                page_record(task.page, "text", task.layer_text, layer_q, **layer_how),
                None,
            )
        how["text_layer_rejected"] = True
    return task.doc, task.page, page_record(task.page, "ocr", reading.text, reading.quality, **how), None


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


def tesseract_major(version_line: str) -> int:
    """4 for "tesseract 4.1.1", 5 for "tesseract 5.3.0" (0 when unreadable)."""
    m = re.search(r"(\d+)\.\d", version_line)
    return int(m.group(1)) if m else 0


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
