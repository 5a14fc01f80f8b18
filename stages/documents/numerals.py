"""A list's numerals set in a column of their own, put at the start of their lines; read again where tesseract
left them unread.

Word processors set a numbered list's numeral in a column of its own, right-aligned, left of a hanging indent
("   I.  presidir ...", "  II.  dirigir ...", " III.  convocar ..."). Tesseract's layout analysis can take such a
column of short, sparse marks for no text at all and read nothing there: on UFABC's Resolução 175 (a fourth
institution's acts, docs/benchmarks.md), page 7, it read "I." and a "1" of 26% confidence and nothing else of
the 19 numerals of Art. 28's incisos; the same strip read alone with --psm 4 is an "empty page". The incisos lose
their labels, so clean and chunk cannot tell them apart. Read as one block (--psm 6) with no characters but a
numeral's (legis.LIST_NUMERAL_CHARS: alone, out of any sentence, "II." read as "É" and "V." as "ve:"), the strip
gives 18 of them right or within the one OCR error clean's numbering repair mends ("II." for "III.").

find_label_strips: on the page reduced to about WORK_DPI (the darkest pixel of each block), the ink (darker than
INK of the paper around it) outside the boxes of the words tesseract read with at least KEEP_CONF confidence is
looked for beside each line, in the strip from STRIP_INCH left of the line's start to GAP_INCH before it, over the
line's height. A strip holds an unread label when that ink reaches at least LABEL_HEIGHT of the line's height (a
glyph, where a speck or a period does not) but not much further up or down (SLACK_LINES) nor to the strip's left
end (CLEAR_INCH: a logo beside a letterhead's lines is taller and wider), and no word of two or more letters was
read in it (another column's text is not a label), beside a line read with a mean confidence of KEEP_CONF at
least (the junk read from a logo beside a letterhead is no list item). The strips are cut out of the page image
together, everything else in their box painted the paper's grey (a white ground frames each strip in edges
tesseract reads), and read once by tesseract as one block (stages/ocr.py).

A numeral tesseract did read, but apart from its line (a photo's skew moves a right-aligned column past the label
column's margin test, stages/documents/layout.py), is a strip's numeral too when it is its own line's only word and ends in
its separator (SEPARATORS: "CIVIL" ending another column's heading, or a "4" read from a logo, is none).

place_labels: the words read in a strip go to the start of its line, which then begins a paragraph, when
together they read as a list's numeral alone (legis.LIST_NUMERAL_RE: "II.", "IV –", "3)", "V"); in a strip read
again the first reading's words (the "1" read for "II.") go, a numeral read apart moves, and every other word
stays. What does not read as a numeral (a logo's or a stamp's marks, a margin note) stays out, as before. ~11 ms a
page for the search; one tesseract call of ~0.1 s on a page with a strip left unread.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from stages.documents.layout import Block, Line, Word
from stages.documents.pageimage import INK, dark_mask, darkest, paper_blocks, true_runs
from stages.text.legis.labels import LIST_NUMERAL_RE

WORK_DPI = 100  # the unread ink is looked for on the page reduced to about this resolution
STRIP_INCH = 0.9  # a label stands at most this far left of its line's start ("XVIII." in 12 pt: ~0.6 in)
GAP_INCH = 0.02  # ... and ends at least this far before it
PAD_INCH = 0.02  # a word's box, widened by this much, holds its ink
KEEP_CONF = 50.0  # a word read with less confidence is read again ("1" at 26% for "II.")
LABEL_HEIGHT = 0.5  # unread ink this share of its line's height tall is a glyph (a period or a speck is not)
WORD_LETTERS = 2  # a word of this many letters in a strip: another column's text, no label column
SLACK_LINES = 0.35  # a numeral's ink reaches at most this share of its line's height above or below the line
CLEAR_INCH = 0.15  # no unread ink in the strip's first this much (its left end)
SPLIT_PAD_INCH = 0.05  # the strips' box is cut this much wider on each side
SEPARATORS = ".):;–—-"  # what ends a numeral tesseract read apart from its line ("IV.", "3)", "II –")


@dataclass(frozen=True)
class Strip:
    """The page region (page pixels, [left, right) x [top, bottom)) left of `line` that holds its numeral."""

    line: Line
    left: int
    top: int
    right: int
    bottom: int
    # a numeral tesseract read there, apart from its line; () when it left it unread
    read: tuple[Word, ...] = ()

    def holds(self, word: Word) -> bool:
        x, y = (word.left + word.right) / 2, (word.top + word.bottom) / 2
        return self.left <= x < self.right and self.top <= y < self.bottom


@dataclass(frozen=True)
class LabelStrips:
    """The strips of a page, and the image to read: the box of those left unread cut from the page (at `left`,
    `top`), everything outside them the paper's grey; None when tesseract read every numeral."""

    strips: tuple[Strip, ...]
    image: np.ndarray | None
    left: int = 0
    top: int = 0


def _is_text(word: Word) -> bool:
    """A word of WORD_LETTERS letters or more that is no numeral: another column's text."""
    return sum(c.isalpha() for c in word.text) >= WORD_LETTERS and not LIST_NUMERAL_RE.fullmatch(word.text)


def _holds_numeral(ink: np.ndarray, line: Line, left: int, right: int, f: int, dpi: int) -> bool:
    """Does the unread ink (`ink`, reduced by `f`) between `left` and `right` beside `line` look like a numeral:
    the runs of inked rows that reach into the line's band are together a glyph's height (LABEL_HEIGHT of the
    line's) and stay within SLACK_LINES of the band (a skewed page moves a numeral a little off its line's box; a
    logo, a stamp or a signature runs on above or below), with paper in the strip's first CLEAR_INCH (a logo or
    another column's text is wider than a numeral)."""
    h = line.height
    y0, y1 = max(0, int((line.top - h) // f)), int((line.bottom + h) // f) + 1
    region = ink[y0:y1, left // f : right // f]
    if region[:, : max(1, int(CLEAR_INCH * dpi) // f)].any():
        return False
    top, bottom = line.top // f - y0, -(-line.bottom // f) - y0
    runs = [(a, b) for a, b in true_runs(region.any(axis=1)) if a < bottom and b > top]
    if not runs:
        return False
    slack = SLACK_LINES * h / f
    first, last = runs[0][0], runs[-1][1]
    return first >= top - slack and last <= bottom + slack and (last - first) * f >= LABEL_HEIGHT * h


def find_label_strips(grey: np.ndarray, blocks: list[Block], dpi: int) -> LabelStrips | None:
    """The strips beside the page's lines that hold ink tesseract did not read (see the module docstring); None
    when there is none."""
    lines = [line for block in blocks for line in block.lines]
    if not lines:
        return None
    f = max(1, round(dpi / WORK_DPI))
    small = darkest(grey, f)
    ink = dark_mask(small, paper_blocks(small, dpi // f), INK)
    pad = PAD_INCH * dpi
    words = [w for line in lines for w in line.words]
    line_of = {id(w): line for line in lines for w in line.words}
    for w in words:
        if w.conf >= KEEP_CONF:
            ink[
                max(0, int((w.top - pad) // f)) : int((w.bottom + pad) // f) + 1,
                max(0, int((w.left - pad) // f)) : int((w.right + pad) // f) + 1,
            ] = False
    strips: list[Strip] = []
    for line in lines:
        left, right = max(0, int(line.left - STRIP_INCH * dpi)), int(line.left - GAP_INCH * dpi)
        if right - left < f or statistics.mean(w.conf for w in line.words) < KEEP_CONF:
            continue  # a line of junk read from a logo or a stamp: no list item
        strip = Strip(line, left, line.top, right, line.bottom)
        sure = sorted((w for w in words if strip.holds(w) and w.conf >= KEEP_CONF), key=lambda w: w.left)
        if any(_is_text(w) for w in sure):
            continue  # another column's text
        text = " ".join(w.text for w in sure)
        # a numeral tesseract read apart: with its separator (a bare "4" or "I" is as often a logo's stroke), and
        # its line holds nothing else ("CIVIL" ending a heading of another column, beside this line, is none)
        if (
            sure
            and LIST_NUMERAL_RE.fullmatch(text)
            and text[-1] in SEPARATORS
            and all(strip.holds(w) for x in sure for w in line_of[id(x)].words)
        ):
            strips.append(Strip(line, left, line.top, right, line.bottom, tuple(sure)))
        elif _holds_numeral(ink, line, left, right, f, dpi):
            strips.append(strip)
    if not strips:
        return None
    unread = [s for s in strips if not s.read]
    if not unread:
        return LabelStrips(tuple(strips), None)
    pad = int(SPLIT_PAD_INCH * dpi)
    h, w = grey.shape
    box_left, box_top = max(0, min(s.left for s in unread) - pad), max(0, min(s.top for s in unread) - pad)
    box_right, box_bottom = (
        min(w, max(s.right for s in unread) + pad),
        min(h, max(s.bottom for s in unread) + pad),
    )
    # outside the strips: the paper's own grey (a white ground would frame each strip in an edge tesseract reads)
    paper = int(np.median(np.concatenate([grey[s.top : s.bottom, s.left : s.right].ravel() for s in unread])))
    image = np.full((box_bottom - box_top, box_right - box_left), paper, np.uint8)
    for s in unread:
        y0, y1, x0, x1 = s.top - box_top, s.bottom - box_top, s.left - box_left, s.right - box_left
        image[y0:y1, x0:x1] = grey[s.top : s.bottom, s.left : s.right]
    return LabelStrips(tuple(strips), image, box_left, box_top)


def place_labels(blocks: list[Block], found: LabelStrips, read: list[Block]) -> tuple[list[Block], int]:
    """`blocks` with the strips' numerals at the start of their lines (`read`: the image of the strips left unread,
    read, in its own coordinates), and how many were placed."""
    words = [
        Word(
            w.text, w.left + found.left, w.top + found.top, w.right + found.left, w.bottom + found.top, w.conf
        )
        for block in read
        for line in block.lines
        for w in line.words
    ]
    placed: list[tuple[Strip, list[Word]]] = []
    for strip in found.strips:
        mine = list(strip.read) or sorted((w for w in words if strip.holds(w)), key=lambda w: w.left)
        if mine and LIST_NUMERAL_RE.fullmatch(" ".join(w.text for w in mine)):
            placed.append((strip, mine))
    if not placed:
        return blocks, 0
    moved = {id(w) for strip, _ in placed for w in strip.read}
    again = [strip for strip, _ in placed if not strip.read]
    for block in blocks:
        for line in block.lines:
            # a numeral read apart moves; in a strip read again, the first reading's words go (the "1" read for
            # "II."); any other word stays where it was
            line.words = [w for w in line.words if id(w) not in moved and not any(s.holds(w) for s in again)]
    for strip, mine in placed:
        strip.line.words[:0] = mine
        strip.line.par_start = True
    out: list[Block] = []
    for block in blocks:
        block.lines = [line for line in block.lines if line.words]
        if block.lines:
            out.append(block)
    return out, len(placed)
