"""Struck-through lines on page images (stages/documents/struck.py), on real pages: a Planalto page printed with its revoked
wording struck through, and a real scan whose letterhead and footer rules (one of them double) must stay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytesseract
from pdf2image import convert_from_path

from stages.documents.struck import Strike, blank_strikes, find_strikes, strike_band

REAL = Path(__file__).resolve().parent / "data/real"
DPI = 300


def render(pdf: Path, page: int) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf)
    return np.asarray(doc[page - 1].render(scale=DPI / 72, grayscale=True).to_pil().convert("L"))


def test_the_struck_line_of_a_planalto_page_is_found_and_painted_out() -> None:
    grey = render(REAL / "ldb_1996_struck_revoked_p2.pdf", 1)
    strikes = find_strikes(grey, DPI)
    assert (
        len(strikes) == 1
    )  # "II - progressiva extensão ...": not the underlined "(Redação dada pela Lei ...)"
    before = pytesseract.image_to_string(grey, lang="por", config="--psm 3")
    after = pytesseract.image_to_string(blank_strikes(grey, strikes, DPI), lang="por", config="--psm 3")
    assert "universalização do ensino médio gratuito" in after and "Redação dada pela Lei" in after
    assert "progressiva" not in after and "obrigatoriedade" not in after
    # nothing else went: tesseract leaves this clean rendering's struck line out by itself, so every line it
    # read before is read after
    assert [line for line in before.splitlines() if line.strip()] == [
        line for line in after.splitlines() if line.strip()
    ]


def test_letterhead_and_footer_rules_of_a_real_scan_are_no_strikes() -> None:
    pdf = REAL / "res15_2018_letterhead_p1_p6.pdf"
    for page in (1, 2):  # a rule under the letterhead; a double rule (thin over thick) above the footer
        grey = np.asarray(convert_from_path(pdf, dpi=DPI, first_page=page, last_page=page, grayscale=True)[0])
        assert find_strikes(grey, DPI) == [], page


def test_a_skewed_strike_is_painted_out_whole_between_and_beyond_its_pieces() -> None:
    """Pieces found where the line passed the tests (a skewed line drifts a row every 100 px); the line itself
    runs on to x = 30 and x = 560, with one-pixel breaks; the letters of the next word start 10 px further."""
    ink = np.zeros((300, 700), dtype=bool)
    for x in range(30, 561):
        if x % 37:  # a break every 37 px (blur)
            ink[115 + (x - 50) // 100, x] = True
    ink[110:125, 570:575] = True  # a letter of the next, unstruck word, 10 px after the line's end
    pieces = [Strike(100 + i, 130 + i, 100 + 100 * i, 190 + 100 * i, 115 + i) for i in range(4)]
    band = strike_band(pieces, ink, step=20)
    assert band[0].left <= 32 and 558 <= band[-1].right < 570
    assert all(b.left == a.right for a, b in zip(band, band[1:], strict=False))  # no gap between strips
    for strip in band:  # the text line: 15 px above and below the line, which drifts with the skew
        line_row = 115 + (strip.left + 10 - 50) // 100
        assert abs(strip.top - (line_row - 15)) <= 1 and abs(strip.bottom - (line_row + 15)) <= 1
