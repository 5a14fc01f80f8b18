"""Struck-through lines on a page image: found, and painted out before tesseract reads the page.

A printed compiled law (Planalto's LDB, printed from the browser and scanned or photographed) shows each revoked
wording with a line drawn through it. Tesseract leaves some of those lines out and reads others as junk or as
words joined by hyphens ("Lol: do-sor f. ou L d religiosos", "informar-os-pais-e-responsáveis"); on renderings of
the LDB's pages 11-20 such lines were most of what was left wrong (docs/benchmarks.md). The text-layer reader
leaves the same text out of a born-digital copy (stages/documents/textlayer.py).

A strike is a dark horizontal run at least STRIKE_MIN_INCH long and at most STRIKE_MAX_INCH thick whose
neighbourhood, a little above and a little below, holds letter strokes in the same columns (the line goes
through the letters' middle, within MIDDLE of the text line's height). Not a strike: an underline (nothing below
it, or at the foot of its line), a rule under a letterhead or over a footer (nothing crossing it; a double rule's
other line is a long run, not strokes), a shaded table row or a bar (too thick). On the real corpus's 74 scanned
and photographed pages it finds none. A page with a strike is searched again for lighter lines (a camera's blur
makes a thin line lighter than the letters), each strike is traced to its ends, and its text line is painted the
colour of the paper there. On renderings of the LDB's pages 11-30, photo-like CER went from 2.73% and 4.09%
without this module to 0.66% and 0.69% (flatbed: 1.15% / 0.16% to 0.17% / 0.24%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.documents.pageimage import INK, LINE_INK, dark_mask, full_size, paper_blocks, true_runs

STRIKE_MIN_INCH = 0.25  # a strike runs at least this far (a word of 4-5 letters)
STRIKE_MAX_INCH = 0.014  # ... and at most this thick (Planalto's: 0.007 in; letterhead rules: 0.025+)
CONTEXT_MIN_INK = 0.12  # share of columns with ink right above and right below it (an underline: ~0 below)
STROKE_MAX_INCH = 0.05  # ink beside a strike comes in letter strokes: runs no longer than this
CROSSED_MIN = 0.1  # share of columns with ink both right above and right below: letter strokes crossing it
LINE_MAX_INCH = 0.12  # how far a struck text line reaches up and down from its strike, at most
MIDDLE = (0.3, 0.72)  # where in its text line's height (from the top) a strike lies; an underline lies lower
JOIN_INCH = 0.3  # pieces this close along a line (a skewed one breaks into pieces a row apart) are one strike
COLUMNS = 4  # runs are found on groups of this many pixel columns (all dark), 4x cheaper


@dataclass(frozen=True)
class Strike:
    top: int  # rows [top, bottom) and columns [left, right) of the struck text line, in pixels
    bottom: int
    left: int
    right: int
    row: int = -1  # the row of the line drawn through it


def _longest_run(row: np.ndarray) -> int:
    runs = true_runs(row)
    return max((end - start for start, end in runs), default=0)


def _pieces(
    ink: np.ndarray, line: np.ndarray, dpi: int, solid_share: float, thick: int
) -> list[tuple[int, int, int, Strike]]:
    """(row, left, right, struck text line) of each piece of a line in the dark pixels `line` that passes the
    tests of the module docstring (letter strokes judged on `ink`)."""
    h, w = ink.shape
    wc = w // COLUMNS
    k = max(2, int(STRIKE_MIN_INCH * dpi) // COLUMNS)
    if wc <= k:
        return []
    # a group is dark when all its pixels are: its 4 bytes read as one uint32
    groups = np.ascontiguousarray(line[:, : wc * COLUMNS]).view(np.uint32)
    coarse = groups == np.frombuffer(b"\x01" * COLUMNS, dtype=np.uint32)[0]
    sums = np.concatenate((np.zeros((h, 1), np.int32), np.cumsum(coarse, axis=1, dtype=np.int32)), axis=1)
    full = (sums[:, k:] - sums[:, :-k]) == k  # a run of k dark groups starts here
    reach = int(LINE_MAX_INCH * dpi)
    stroke = int(STROKE_MAX_INCH * dpi)
    gap_near, gap_far = max(2, int(dpi * 0.01)), max(4, int(dpi * 0.023))  # 3 and 6 px at 300 dpi
    pieces: list[tuple[int, int, int, Strike]] = []
    for y in np.flatnonzero(full.any(axis=1)).tolist():
        for start, end in true_runs(full[y]):
            x0, x1 = start * COLUMNS, (end - 1 + k) * COLUMNS
            # the line itself: the rows around y that are (nearly) all dark along the piece
            near = max(0, y - 3 * thick)
            solid = np.flatnonzero(line[near : y + 3 * thick + 1, x0:x1].mean(axis=1) > solid_share) + near
            if not len(solid):
                continue
            top, bottom = int(solid.min()), int(solid.max())
            if bottom - top + 1 > thick or len(solid) != bottom - top + 1:
                continue  # a rule, a bar, a shaded table row: thicker than a line drawn through text
            # letters crossed: ink a little above and a little below the line (clear of a skewed line's own
            # pixels), in the same columns: the strokes of the letters it goes through
            above = ink[max(0, top - gap_far) : max(0, top - gap_near), x0:x1].any(axis=0)
            below = ink[bottom + gap_near + 1 : bottom + gap_far + 1, x0:x1].any(axis=0)
            if min(above.mean(), below.mean()) < CONTEXT_MIN_INK or (above & below).mean() < CROSSED_MIN:
                continue  # an underline (nothing below), a rule beside text (strokes that do not cross it)
            if max(_longest_run(above), _longest_run(below)) > stroke:
                continue  # another line or a bar beside it (a double rule), not the strokes of letters
            density = ink[max(0, y - reach) : y + reach + 1, x0:x1].mean(axis=1)
            mid = y - max(0, y - reach)
            up = mid
            while up > 0 and density[up - 1] > 0.01:
                up -= 1
            down = mid
            while down < len(density) - 1 and density[down + 1] > 0.01:
                down += 1
            if not MIDDLE[0] <= (mid - up) / max(1, down - up) <= MIDDLE[1]:
                continue  # not through the letters' middle: an underline at the foot of a line
            base = max(0, y - reach)
            pieces.append((y, x0, x1, Strike(base + up, base + down + 1, x0, x1, y)))
    return pieces


def find_strikes(grey: np.ndarray, dpi: int) -> list[list[Strike]]:
    """The struck-through text lines of a grey page image (uint8, paper light) rendered at `dpi`: one list of
    rectangles per strike (a skewed scan draws one line across several pixel rows, piece by piece).

    A page where a line is found for sure is searched again for lines as light as LINE_INK of the paper (a
    camera's blur makes a 1-px line lighter than the letters): on pages without struck text that search found
    rules and logo strokes, so it runs only where struck text is known to be."""
    thick = max(2, int(STRIKE_MAX_INCH * dpi))
    blocks = paper_blocks(grey, dpi)
    ink = dark_mask(grey, blocks, INK)
    pieces = _pieces(ink, ink, dpi, 0.8, thick)
    if pieces:
        faint = dark_mask(grey, blocks, LINE_INK)
        pieces = sorted(pieces + _pieces(ink, faint, dpi, 0.95, thick + 1), key=lambda piece: piece[0])
    strikes: list[list[Strike]] = []
    last: list[tuple[int, int, int]] = []  # per strike: its last piece's row, left, right
    near = int(JOIN_INCH * dpi)
    for y, x0, x1, rect in pieces:  # rows in order: a piece joins the strike whose last piece is near it
        for n, (row, left, right) in enumerate(last):
            if y - row <= 2 * thick and x0 < right + near and left - near < x1:
                strikes[n].append(rect)
                last[n] = (y, min(left, x0), max(right, x1))
                break
        else:
            strikes.append([rect])
            last.append((y, x0, x1))
    return strikes


def _fit(xs: np.ndarray, ys: list[int]) -> np.ndarray:
    """A straight line through (xs, ys); flat when the points do not spread along x."""
    if len(xs) < 2 or np.ptp(xs) == 0:
        return np.array([0.0, float(np.mean(ys))])
    return np.polyfit(xs, ys, 1)


def trace(ink: np.ndarray, row: np.ndarray, start: int, step: int, max_gap: int) -> int:
    """The last column from `start` (going by `step`) where the line `row(x)` still has ink, with gaps of at most
    `max_gap` columns (where blur broke it): letters beside the line leave wider gaps, a line does not."""
    h, w = ink.shape
    x, last, gap = start, start, 0
    while 0 <= x < w and gap <= max_gap:
        r = int(round(np.polyval(row, x)))
        if 0 < r < h - 1 and ink[r - 1 : r + 2, x].any():
            last, gap = x, 0
        else:
            gap += 1
        x += step
    return last


def strike_band(strike: list[Strike], ink: np.ndarray, step: int = 16, max_gap: int = 4) -> list[Strike]:
    """The struck text line as vertical strips: its line traced left and right past its pieces (the parts of a
    line that blur broke or letters thickened) and fitted as a straight line through them (a skewed scan), the
    text line reaching as far above and below it as in its pieces, so that nothing of the struck line is left for
    OCR to read as junk."""
    centres = np.array([(s.left + s.right) / 2 for s in strike])
    row = _fit(centres, [s.row for s in strike])
    above = int(np.median([s.row - s.top for s in strike]))
    below = int(np.median([s.bottom - s.row for s in strike]))
    left = trace(ink, row, min(s.left for s in strike), -1, max_gap)
    right = trace(ink, row, max(s.right for s in strike) - 1, 1, max_gap) + 1
    strips = []
    for x in range(left, right, step):
        r = int(round(np.polyval(row, x + step / 2)))
        strips.append(Strike(max(0, r - above), max(0, r + below), x, min(right, x + step), r))
    return strips


def blank_strikes(grey: np.ndarray, strikes: list[list[Strike]], dpi: int, pad: int = 3) -> np.ndarray:
    """A copy of `grey` with each struck text line painted the colour of the paper around it."""
    out = grey.copy()
    blocks = paper_blocks(grey, dpi)
    paper = full_size(*blocks, grey.shape)
    faint = dark_mask(grey, blocks, LINE_INK)  # a blurred line is lighter than the letters' cores
    for strike in strikes:
        for s in strike + strike_band(strike, faint):
            box = (slice(max(0, s.top - pad), s.bottom + pad), slice(max(0, s.left - pad), s.right + pad))
            if paper[box].size:
                out[box] = np.uint8(np.median(paper[box]))
    return out
