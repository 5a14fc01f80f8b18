"""tesseract and poppler behind one wrapper: preflight, one reading of a page or of strips, orientation."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytesseract
from PIL import Image

from stages.documents.layout import (
    Block,
    parse_tsv,
)
from stages.documents.numerals import LabelStrips
from stages.documents.settings import OcrParams
from stages.text.legis.labels import LIST_NUMERAL_CHARS

log = logging.getLogger(__name__)


PAGE_TIMEOUT_S = 600  # a page tesseract has not read in 10 minutes is reported as failed (~1-2 s is normal)
INSTALL_HINT = (
    "install them with `sudo apt-get install tesseract-ocr tesseract-ocr-por poppler-utils` (or `make setup`)"
)


class OcrSetupError(RuntimeError):
    """tesseract, a language pack or pdftoppm is missing."""


@dataclass(frozen=True)
class Installed:
    """What a machine reads pages with: what preflight checks and the Ray executor compares between nodes."""

    tesseract: str  # `tesseract --version`'s first line; "" when the binary is not on PATH
    languages: tuple[str, ...]  # `tesseract --list-langs`
    tessdata: str  # the folder tesseract reads its language data from (TESSDATA_PREFIX moves it)
    pdftoppm: str  # `pdftoppm -v`'s first line; "" when it is not on PATH


def installed() -> Installed:
    """tesseract's version, languages and data folder, and pdftoppm's version, on this machine."""
    cmd = pytesseract.pytesseract.tesseract_cmd
    version, languages, tessdata = "", (), ""
    if shutil.which(cmd) is not None:
        version = (
            subprocess.run([cmd, "--version"], capture_output=True, text=True).stdout.splitlines() or ["?"]
        )[0]
        listing = subprocess.run([cmd, "--list-langs"], capture_output=True, text=True).stdout
        languages = tuple(listing.split("\n", 1)[1].split()) if "\n" in listing else ()
        folder = re.search(r'"([^"]*)"', listing.split("\n", 1)[0])
        tessdata = folder.group(1) if folder else ""
    pdftoppm = ""
    if shutil.which("pdftoppm") is not None:
        done = subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True)
        pdftoppm = ((done.stderr or done.stdout).splitlines() or ["?"])[0]
    return Installed(version, languages, tessdata, pdftoppm)


def setup_problems(setup: Installed, lang: str) -> list[str]:
    """What `setup` lacks to read pages in `lang`, each with the package that brings it."""
    problems = []
    if not setup.tesseract:
        problems.append(f"the tesseract binary ({pytesseract.pytesseract.tesseract_cmd!r}) is not on PATH")
    else:
        missing = [code for code in lang.split("+") if code not in setup.languages]
        if missing:
            pkgs = " ".join(f"tesseract-ocr-{code.lower().replace('_', '-')}" for code in missing)
            problems.append(f"tesseract has no language pack for {'+'.join(missing)} (apt package: {pkgs})")
    if not setup.pdftoppm:
        problems.append("pdftoppm (poppler-utils) is not on PATH")
    return problems


def preflight(lang: str) -> str:
    """Check tesseract, its language pack(s) and pdftoppm; return tesseract's version line, or raise one error."""
    setup = installed()
    problems = setup_problems(setup, lang)
    if problems:
        raise OcrSetupError("OCR cannot start: " + "; ".join(problems) + f"; {INSTALL_HINT}")
    if "osd" not in setup.languages:
        log.warning(
            "tesseract has no orientation data (apt package tesseract-ocr-osd): sideways pages stay sideways"
        )
    return setup.tesseract


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


def init_worker() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"  # one tesseract thread per process; parallelism comes from the pool


# tesseract's -c thresholding_method: 0 = global Otsu (its default), 2 = Sauvola (local; tesseract >= 5).
# "normalized": Otsu on the page divided by its own paper brightness, for tesseract 4, which has no Sauvola.
THRESHOLDING = {"otsu": 0, "sauvola": 2, "normalized": 0}


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


def read_strips(strips: LabelStrips, base: str, p: OcrParams, binarization: str) -> list[Block]:
    """The strips beside a page's lines that hold a numeral its reading left unread (numerals.py), read by
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


def tesseract_major(version_line: str) -> int:
    """4 for "tesseract 4.1.1", 5 for "tesseract 5.3.0" (0 when unreadable)."""
    m = re.search(r"(\d+)\.\d", version_line)
    return int(m.group(1)) if m else 0
