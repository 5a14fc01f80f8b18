"""Dot leaders on page images (stages/documents/leaders.py): found on a real Diário Oficial page and painted out, so
tesseract reads the lines around them; nothing found on real scans' text, rules and letterheads, nor on shapes
that look like a row of dots in one pixel row only."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytesseract
import pytest
from rapidfuzz import fuzz

from stages.documents.leaders import blank_leaders, find_leaders
from stages.documents.textlayer import read_text_layers

DATA = Path(__file__).resolve().parent / "data"
DOU = DATA / "textlayer/dou_2006_three_columns_p1.pdf"
TOC = DATA / "real/univasf_regimento_toc_p2.pdf"  # bold 12-pt headings, each joined to its page by bold dots
DPI = 300


def render(pdf: Path, page: int, dpi: int = DPI) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf)
    return np.asarray(doc[page - 1].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))


def test_the_leaders_of_an_amending_act_are_found_and_painted_out_alone() -> None:
    grey = render(DOU, 1)
    leaders = find_leaders(grey, DPI)
    # '“Art.12.......' and the row of dots under '§1º': the page's only leaders (its rules and table are not)
    assert len(leaders) == 2 and all(lead.dots >= 80 for lead in leaders)
    first, second = leaders
    assert first.bottom < second.top and 0 < second.top - first.top < 0.3 * DPI  # two lines apart
    blanked = blank_leaders(grey, leaders)
    changed = np.argwhere(blanked != grey)
    for y, x in changed[:: max(1, len(changed) // 500)]:  # only inside the leaders' boxes
        assert any(lead.top <= y < lead.bottom and lead.left <= x < lead.right for lead in leaders)
    for lead in leaders:  # no ink left in the boxes
        assert (blanked[lead.top : lead.bottom, lead.left : lead.right] > 0.6 * np.median(grey)).all()
    box = (slice(first.top - 120, second.bottom + 150), slice(first.left - 300, second.right + 60))
    after = pytesseract.image_to_string(blanked[box], lang="por", config="--psm 6")
    assert "Art.12" in after.replace(" ", "") and "A bolsa de tutoria" in after
    assert "....." not in after


def test_the_bold_leaders_of_a_table_of_contents_are_found_once_each_and_read_as_nothing() -> None:
    grey = render(TOC, 1)
    layer = read_text_layers(TOC, True)[0].text
    lines = [line for line in layer.splitlines() if "....." in line]
    leaders = find_leaders(grey, DPI)
    assert len(leaders) == len(lines) == 15
    assert all(a.bottom <= b.top for a, b in zip(leaders, leaders[1:], strict=False))  # one box per line
    text = pytesseract.image_to_string(blank_leaders(grey, leaders), lang="por")
    for line in lines:  # the heading before each leader is read
        assert fuzz.partial_ratio(line.split("..")[0].strip(), text) >= 85, line
    known = set(re.findall(r"[^\W\d_]{5,}", layer))
    # the dots read as letters ("sssiteseesesesaesersesersasaeo", "simemeesess") before they were found
    junk = [w for w in re.findall(r"[^\W\d_]{5,}", text) if max(fuzz.ratio(w, k) for k in known) < 75]
    assert not junk


def test_bold_dots_after_a_bold_heading_are_the_leader_alone() -> None:
    stems = [(120, 154, x, x + 9) for x in range(100, 400, 18)]  # a bold heading's stems, as wide as a dot
    dots = [
        (144, 154, x, x + 10) for x in range(430, 800, 14)
    ]  # bold full stops, 0.033 in wide, 0.047 in apart
    (lead,) = find_leaders(page_with(stems + dots), DPI)
    assert lead.dots >= 24 and 400 <= lead.left <= 430 and lead.right >= 794


@pytest.mark.parametrize(
    ("pdf", "page"),
    [
        ("real/res15_2018_letterhead_p1_p6.pdf", 1),  # a rule under a letterhead with a logo
        ("real/res15_2018_letterhead_p1_p6.pdf", 2),  # a double rule above the footer
        ("real/res23_2017_photo_p2.pdf", 1),  # a phone photo: grey paper, uneven light, speckle
        ("real/ldb_1996_struck_revoked_p2.pdf", 1),  # struck and underlined lines
        ("real/lei_carteira_broken_layer_p5.pdf", 1),
    ],
)
def test_no_leaders_on_real_pages_without_them(pdf: str, page: int) -> None:
    assert find_leaders(render(DATA / pdf, page), DPI) == []


def page_with(draw: list[tuple[int, int, int, int]], shape: tuple[int, int] = (300, 900)) -> np.ndarray:
    grey = np.full(shape, 235, dtype=np.uint8)
    for top, bottom, left, right in draw:
        grey[top:bottom, left:right] = 30
    return grey


def test_a_clean_row_of_dots_is_a_leader_and_its_box_covers_it() -> None:
    dots = [(150, 154, x, x + 4) for x in range(100, 700, 12)]  # 50 full stops, 0.013 in, 0.04 in apart
    (lead,) = find_leaders(page_with(dots), DPI)
    assert lead.dots == 50
    assert lead.top <= 150 and lead.bottom >= 154 and lead.left <= 100 and lead.right >= 692


@pytest.mark.parametrize(
    "draw",
    [
        [(150, 154, x, x + 4) for x in range(100, 124, 12)],  # an ellipsis: 2-3 dots
        [(150, 152, x, x + 6) for x in range(100, 700, 12)]
        + [(152, 154, x + 6, x + 12) for x in range(100, 700, 12)],
        # ^ a rule drawn jagged: breaks in one row closed in the next
        [(130, 154, x, x + 4) for x in range(100, 700, 12)],  # stems of letters ("mmmm", "iiii"): tall
        [(150, 154, x, x + 4) for x in range(100, 700, 12)]
        + [(160, 162, 100, 700)],  # a rule right under them
        [(150, 154, x + d, x + d + 4) for x in range(100, 700, 30) for d in (0, 6)],  # pairs: uneven gaps
    ],
    ids=["ellipsis", "jagged-rule", "stems", "rule-below", "uneven"],
)
def test_shapes_that_are_no_leaders(draw: list[tuple[int, int, int, int]]) -> None:
    assert find_leaders(page_with(draw), DPI) == []
