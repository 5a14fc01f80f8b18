"""A list's numerals set in a column of their own (stages/documents/numerals.py): the strips beside lines that hold one,
read again where tesseract left them unread, and the numerals put at the start of their lines. Drawn pages
(ink as bars, word boxes by hand); the real page with real tesseract is in tests/test_real_fixtures.py."""

from __future__ import annotations

import numpy as np

from stages.documents.layout import Block, Line, Word, render
from stages.documents.numerals import LabelStrips, find_label_strips, place_labels
from stages.text.legis.labels import LIST_NUMERAL_RE

DPI = 300
TEXT_LEFT = 600  # where the lines' text starts (a hanging indent)
PITCH = 80  # one line to the next
HEIGHT = 40  # a line's words


def page() -> np.ndarray:
    return np.full((1200, 2000), 235, np.uint8)  # grey paper, as a scan's


def text_line(i: int, text: str = "presidir as sessões da CG;", conf: float = 95.0) -> Line:
    top, x, words = 200 + i * PITCH, TEXT_LEFT, []
    for w in text.split():
        words.append(Word(w, x, top, x + 20 * len(w), top + HEIGHT, conf))
        x += 20 * len(w) + 15
    return Line(words, par_start=True)


def numeral(grey: np.ndarray, i: int, right: int = TEXT_LEFT - 40, strokes: int = 3) -> None:
    """Ink where a right-aligned numeral stands beside line i: `strokes` upright bars of the line's height."""
    top = 200 + i * PITCH + 2
    for k in range(strokes):
        x = right - 12 - k * 14
        grey[top : top + HEIGHT - 4, x : x + 5] = 20


def test_a_numeral_tesseract_left_unread_beside_its_line_is_found() -> None:
    grey, lines = page(), [text_line(i) for i in range(3)]
    numeral(grey, 1)
    found = find_label_strips(grey, [Block(lines)], DPI)
    assert found is not None and [s.line for s in found.strips] == [lines[1]]
    strip = found.strips[0]
    assert strip.right <= TEXT_LEFT and strip.top == lines[1].top and strip.bottom == lines[1].bottom
    assert found.image is not None
    # the image holds the strip's ink at its place, the rest the paper's grey
    y, x = lines[1].top - found.top + 10, TEXT_LEFT - 40 - 10 - found.left
    assert found.image[y, x] == 20 and (found.image == 235).mean() > 0.8


def test_no_strip_where_there_is_no_unread_ink() -> None:
    lines = [text_line(i) for i in range(3)]
    assert find_label_strips(page(), [Block(lines)], DPI) is None


def test_a_numeral_tesseract_read_with_confidence_is_no_unread_ink() -> None:
    grey, lines = page(), [text_line(i) for i in range(2)]
    numeral(grey, 1)
    box = Word("II.", TEXT_LEFT - 90, lines[1].top, TEXT_LEFT - 35, lines[1].bottom, 90.0)
    lines[1].words.insert(0, box)  # read with its line: the strip is left of "II.", where there is nothing
    assert find_label_strips(grey, [Block(lines)], DPI) is None


def test_a_word_read_with_little_confidence_is_read_again() -> None:
    grey, lines = page(), [text_line(i) for i in range(2)]
    numeral(grey, 1)
    guess = Word("1", TEXT_LEFT - 90, lines[1].top, TEXT_LEFT - 35, lines[1].bottom, 26.0)  # "1" for "II."
    found = find_label_strips(grey, [Block(lines), Block([Line([guess], True)])], DPI)
    assert found is not None and found.image is not None and [s.line for s in found.strips] == [lines[1]]


def test_a_logo_taller_than_a_line_is_no_numeral() -> None:
    grey, lines = page(), [text_line(i) for i in range(4)]
    grey[lines[0].top : lines[3].bottom, TEXT_LEFT - 150 : TEXT_LEFT - 60] = (
        30  # a coat of arms by four lines
    )
    assert find_label_strips(grey, [Block(lines)], DPI) is None


def test_ink_wider_than_a_numeral_is_no_numeral() -> None:
    grey, lines = page(), [text_line(i) for i in range(2)]
    # a line's height, but from the strip's far end (0.9 in to the left) to the text: a drawing, another column
    grey[lines[1].top + 2 : lines[1].bottom - 2, TEXT_LEFT - 260 : TEXT_LEFT - 40 : 6] = 20
    assert find_label_strips(grey, [Block(lines)], DPI) is None


def test_a_speck_or_a_period_is_no_numeral() -> None:
    grey, lines = page(), [text_line(i) for i in range(2)]
    grey[lines[1].bottom - 10 : lines[1].bottom - 4, TEXT_LEFT - 60 : TEXT_LEFT - 54] = 20
    assert find_label_strips(grey, [Block(lines)], DPI) is None


def test_no_numeral_beside_junk_read_from_a_logo() -> None:
    grey, lines = page(), [text_line(0), text_line(1, "PRC o TA", conf=30.0)]
    numeral(grey, 1)
    assert find_label_strips(grey, [Block(lines)], DPI) is None


def test_another_columns_text_beside_a_line_is_no_numeral() -> None:
    grey, lines = page(), [text_line(i) for i in range(2)]
    numeral(grey, 1)
    other = Word("dados", TEXT_LEFT - 200, lines[1].top, TEXT_LEFT - 120, lines[1].bottom, 93.0)
    assert find_label_strips(grey, [Block(lines), Block([Line([other], True)])], DPI) is None


def test_a_numeral_tesseract_read_apart_from_its_line_goes_to_its_start_without_reading_again() -> None:
    grey, lines = page(), [text_line(i) for i in range(3)]
    apart = [Line([Word(n, TEXT_LEFT - 90, line.top, TEXT_LEFT - 40, line.bottom, 88.0)], True) for n, line in
             zip(("HI.", "IV."), lines[1:], strict=True)]  # fmt: skip
    column, text = Block(apart), Block(lines)
    found = find_label_strips(grey, [text, column], DPI)
    assert found is not None and found.image is None  # nothing to read again
    blocks, placed = place_labels([text, column], found, [])
    assert placed == 2 and blocks == [text]  # the numerals' block, emptied, is gone
    assert render(blocks).splitlines()[2:] == [
        "HI. presidir as sessões da CG;",
        "",
        "IV. presidir as sessões da CG;",
    ]


def strips_read(found: LabelStrips, texts: list[str]) -> list[Block]:
    """What tesseract would read in the strips' image: `texts[k]` in strip k, in the image's coordinates."""
    out = []
    for strip, text in zip(found.strips, texts, strict=True):
        left, top = strip.right - 60 - found.left, strip.top - found.top + 2
        out.append(Block([Line([Word(text, left, top, left + 50, top + HEIGHT - 4, 90.0)], True)]))
    return out


def test_a_numeral_read_again_goes_to_the_start_of_its_line_which_begins_a_paragraph() -> None:
    grey, lines = page(), [text_line(0), text_line(1, "coordenando os debates", conf=95.0)]
    lines[1].par_start = False
    numeral(grey, 1)
    guess = Word("1", TEXT_LEFT - 90, lines[1].top, TEXT_LEFT - 35, lines[1].bottom, 26.0)
    text, stray = Block(lines), Block([Line([guess], True)])
    found = find_label_strips(grey, [text, stray], DPI)
    assert found is not None
    blocks, placed = place_labels([text, stray], found, strips_read(found, ["II."]))
    assert placed == 1 and lines[1].par_start
    assert render(blocks) == "presidir as sessões da CG;\n\nII. coordenando os debates\n"  # the "1" is gone


def test_what_does_not_read_as_a_numeral_stays_out() -> None:
    grey, lines = page(), [text_line(i) for i in range(3)]
    numeral(grey, 1)
    numeral(grey, 2)
    before = render([Block(lines)])
    found = find_label_strips(grey, [Block(lines)], DPI)
    assert found is not None and len(found.strips) == 2
    blocks, placed = place_labels([Block(lines)], found, strips_read(found, ["É", "ve"]))
    assert placed == 0 and render(blocks) == before


def test_a_word_ending_another_columns_line_is_no_numeral() -> None:
    """A heading of the column to the left ends in "XI" (or "CIVIL") beside this line: its line holds more than
    the numeral, so it is left where it is."""
    grey, lines = page(), [text_line(i) for i in range(2)]
    top, bottom = lines[1].top, lines[1].bottom
    heading = Line(
        [Word("CAPÍTULO", 100, top, 280, bottom, 95.0), Word("XI", 500, top, 540, bottom, 95.0)], True
    )
    civil = Line([Word("AVIAÇÃO", 100, top + PITCH, 260, bottom + PITCH, 95.0)], True)
    civil.words.append(Word("CIVIL", 480, top + PITCH, 560, bottom + PITCH, 95.0))
    lines.append(text_line(2))
    assert find_label_strips(grey, [Block(lines), Block([heading]), Block([civil])], DPI) is None
    assert LIST_NUMERAL_RE.fullmatch("CIVIL") is None and LIST_NUMERAL_RE.fullmatch("XIV.")


def test_a_bare_mark_read_apart_is_no_numeral() -> None:
    """A "4" or an "I" read apart without its separator is as often a logo's stroke: left where it is."""
    grey, lines = page(), [text_line(i) for i in range(2)]
    stroke = Line([Word("4", TEXT_LEFT - 80, lines[1].top, TEXT_LEFT - 50, lines[1].bottom, 90.0)], True)
    assert find_label_strips(grey, [Block(lines), Block([stroke])], DPI) is None


def test_moving_a_numeral_read_apart_leaves_the_other_words_beside_it() -> None:
    grey, lines = page(), [text_line(i) for i in range(2)]
    top, bottom = lines[1].top, lines[1].bottom
    numeral_line = Line([Word("IV.", TEXT_LEFT - 90, top, TEXT_LEFT - 40, bottom, 88.0)], True)
    junk = Line(
        [Word("An", TEXT_LEFT - 200, top, TEXT_LEFT - 160, bottom, 30.0)], True
    )  # read with little trust
    blocks = [Block(lines), Block([numeral_line]), Block([junk])]
    found = find_label_strips(grey, blocks, DPI)
    assert found is not None and found.image is None
    out, placed = place_labels(blocks, found, [])
    assert (
        placed == 1 and render(out) == "presidir as sessões da CG;\n\nIV. presidir as sessões da CG;\n\nAn\n"
    )
