"""Dot leaders on a page image: found, and painted out before tesseract reads the page.

An amending act quotes the article it changes with the unchanged wording elided by a row of dots
("Art. 12. ..........", "§ 1º .........."); a table of contents joins a heading to its page by one. Tesseract
reads such a row as letters and can merge it with the lines around it: on a Diário Oficial page rendered like a
flatbed scan, `“Art.12......`, `§1º` and a second row of dots came out as one line of junk
("Si 26 UA JRR SOU DEAR ROD RENO To O be A A Di DRE O"). Clean drops dot leaders from text layers too
(stages/clean.py, DOT_LEADER_RE), so a page reads the same whichever way it was read.

A dot leader is a row of at least MIN_DOTS small blobs (each at most DOT_MAX_INCH tall and DOT_MAX_WIDE_INCH
wide) on one baseline, spaced evenly (gaps at most GAP_MAX_DOTS dot sizes, varying little), with paper a dot's
height above and below nearly the whole row and wholly above and below its END_DOTS first and last dots. A row
of letters is not one: its strokes reach further up or down (round letters hollow in the middle still have their
sides there), and its gaps are uneven.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.documents.pageimage import LINE_INK, dark_mask, darkest, paper_blocks, true_runs

DOT_MAX_INCH = 0.02  # a printed full stop: ~0.012 in tall (9-11 pt type); letters' stems run much taller
DOT_MAX_WIDE_INCH = 0.04  # ... and as wide, or up to twice that: a bold one in 12-pt type is ~0.033 in wide
MIN_DOTS = 10  # an ellipsis has 3
GAP_MAX_DOTS = 4  # leader dots stand 1-3 dot sizes apart
GAP_SPREAD = 0.35  # ... and evenly: the gaps' standard deviation at most this share of their mean (+1 px)
CLEAR_MAX = 0.05  # share of the row's columns with ink a dot's height above/below it, at most
END_DOTS = 3  # ... and ends in this many dots with paper above and below each
WORK_DPI = 150  # searched on the page reduced to about this resolution (4x fewer pixels at 300 dpi)


@dataclass(frozen=True)
class Leader:
    top: int  # rows [top, bottom) and columns [left, right) of the row of dots, in pixels of the page image
    bottom: int
    left: int
    right: int
    dots: int


def _dot_rows(ink: np.ndarray, d: int, wide: int) -> dict[int, list[tuple[int, int, int]]]:
    """Pixel rows of `ink` that cross a row of dots at most `d` pixels tall and `wide` wide: row -> [(left, right,
    dots)]."""
    h = ink.shape[0]
    edges = np.diff(np.pad(ink, ((0, 0), (1, 1))).view(np.int8), axis=1)  # +1: a run starts, -1: it ends
    ys, xs = np.nonzero(edges)
    starts = edges[ys, xs] == 1
    row, left, right = ys[starts], xs[starts], xs[~starts]  # runs in reading order: [left, right) on `row`
    short = (right - left) <= wide
    gap = left[1:] - right[:-1]
    paired = (row[1:] == row[:-1]) & short[1:] & short[:-1] & (gap <= GAP_MAX_DOTS * d)
    bounds = np.flatnonzero(np.diff(np.concatenate(([0], paired.astype(np.int8), [0]))))
    rows: dict[int, list[tuple[int, int, int]]] = {}
    groups = zip(bounds[::2].tolist(), bounds[1::2].tolist(), strict=True)  # runs a..b, gaps a..b-1
    pieces = [
        piece
        for first, last in groups
        if last - first + 1 >= MIN_DOTS
        for piece in _evenly_spaced(gap, first, last)
    ]
    for a, b in pieces:
        y = int(row[a])
        if b - a + 1 < MIN_DOTS or y - 2 * d < 0 or y + 2 * d >= h:
            continue
        above, below = ink[y - 2 * d : y - d].any(axis=0), ink[y + d + 1 : y + 2 * d + 1].any(axis=0)
        near = above | below  # columns with ink a dot's height above or below the row
        clear = np.array(
            [not near[x0:x1].any() for x0, x1 in zip(left[a : b + 1], right[a : b + 1], strict=True)]
        )
        # a leader ends in END_DOTS clear dots: the feet of "12" in "Art.12....." and a bold heading's letters
        # before its leader are left out
        ends = np.flatnonzero(np.convolve(clear, np.ones(END_DOTS), "valid") == END_DOTS)
        if not len(ends):
            continue
        a, b = a + int(ends[0]), a + int(ends[-1]) + END_DOTS - 1
        if b - a + 1 < MIN_DOTS:
            continue
        gaps = gap[a:b]
        if gaps.std() > GAP_SPREAD * gaps.mean() + 1:
            continue  # uneven: letters' strokes
        x0, x1 = int(left[a]), int(right[b])
        if max(above[x0:x1].mean(), below[x0:x1].mean()) > CLEAR_MAX:
            continue  # ink a dot's height above or below the row: letters, speckle, or dots taller than stops
        if len(true_runs(ink[y - d : y + d + 1, x0:x1].any(axis=0))) < (b - a + 1) / 2:
            continue  # the gaps close a row up or down: a rule drawn jagged by noise, not separate dots
        rows.setdefault(y, []).append((x0, x1, b - a + 1))
    return rows


def _evenly_spaced(gap: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Runs a..b of one pixel row, short and close together, cut where the spacing changes: (first, last) of
    each piece whose gaps keep near their running mean. A heading's letter strokes can be as short as a bold
    full stop and stand as close, so one row of short runs can hold letters and a leader; the letters' uneven
    gaps make pieces of their own, and the leader stays one piece."""
    pieces, start, total = [], a, 0.0
    for k in range(a, b):
        n = k - start  # gaps in the piece so far
        if n and abs(gap[k] - total / n) > GAP_SPREAD * total / n + 1:
            pieces.append((start, k))
            start, total = k, 0.0
        total += gap[k]
    pieces.append((start, b))
    return pieces


def find_leaders(grey: np.ndarray, dpi: int) -> list[Leader]:
    """The dot leaders of a grey page image (uint8, paper light) rendered at `dpi` (see the module docstring)."""
    f = max(1, dpi // WORK_DPI)
    small = darkest(grey, f)
    # lighter than ink (a camera's blur spreads a dot, and a letter's body is lighter than its core), so a row
    # of dots keeps paper between them and a rule broken up by noise is one long run
    ink = dark_mask(small, paper_blocks(small, dpi // f), LINE_INK)
    d = max(2, int(round(dpi / f * DOT_MAX_INCH)))
    rows = _dot_rows(ink, d, max(d, int(round(dpi / f * DOT_MAX_WIDE_INCH))))
    boxes: list[list[int]] = []  # [top, bottom, left, right, dots]: the pixel rows crossing one row of dots
    for y in sorted(rows):
        for x0, x1, n in rows[y]:
            # joined with the boxes it overlaps that reach this row or the one above (a row of dots cut in two
            # pieces on one pixel row and whole on the next is one leader)
            touching = [b for b in boxes if y <= b[1] and x0 < b[3] and b[2] < x1]
            boxes = [b for b in boxes if all(b is not t for t in touching)]
            group = [*touching, [y, y + 1, x0, x1, n]]
            top, left = min(b[0] for b in group), min(b[2] for b in group)
            boxes.append([top, y + 1, left, max(b[3] for b in group), max(b[4] for b in group)])
    h, w = grey.shape
    # each box reaches a dot's size past the rows found (paper there, by the test above)
    leaders = [
        Leader(max(0, (top - d) * f), min(h, (bottom + d) * f), max(0, (x0 - 1) * f), min(w, (x1 + 1) * f), n)
        for top, bottom, x0, x1, n in boxes
    ]
    return sorted(leaders, key=lambda lead: (lead.top, lead.left))


def blank_leaders(grey: np.ndarray, leaders: list[Leader]) -> np.ndarray:
    """A copy of `grey` with each dot leader painted the grey of the paper there (the median of its box: the
    dots cover less than half of it)."""
    out = grey.copy()
    for lead in leaders:
        box = (slice(lead.top, lead.bottom), slice(lead.left, lead.right))
        out[box] = np.uint8(np.median(grey[box]))
    return out
