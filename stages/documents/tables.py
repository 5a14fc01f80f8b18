"""Ruled tables: their cells found from the rules drawn around them, read one cell after another, row by row.

A text layer gives a table's characters in whatever order its producer wrote them: line by line across the
columns ("(por semestre) 10,0 Declaração da Coordenação do", UFMA) or the first columns row by row and the last
one down the page (UNIVASF's Resolução 03/2022, p. 9). Tesseract reads a scanned table another way again, often
across the row with the cells' wrapped lines interleaved ("Abrir processo Central da Receber a documentação,").
Neither keeps a cell's sentence together. The cells of a ruled table are known from its rules, so both readers
(stages/documents/textlayer.py from the PDF's drawing, stages/documents/layout.py from the page image) put each cell's text
together, cells in reading order (by the row of their top edge, then left to right), each cell its own paragraph,
the whole table where its first character or word was. On the bench's renderings the CER of a page with a ruled
table had measured two reading orders instead of the reading: UNIVASF's acts 1.34% -> 0.91% flatbed-like, 1.43% ->
1.05% photo-like; UFMA 313-CONSAD (four pages of a scoring table) 11.57% -> 1.42% (docs/benchmarks.md).

A table is found from its rules (find_tables): horizontal and vertical rules that meet; a vertical rule counts
only when it runs from one horizontal rule to another (a letter's stroke does not), a horizontal one only when two
such vertical rules meet it (an underline, a letterhead's rule, a form's fill-in line do not). The rules' lines cut
the table's box into a grid; neighbouring rectangles of the grid with no rule between them are one cell (a cell
spanning rows or columns); a region open to the outside (no rule on the table's edge there) is no cell, and its
text stays where it was. A table needs at least MIN_CELLS cells.

On a page image (rules_in_image) a rule is a run of ink at least RULE_MIN_INCH long with paper THIN_INCH to
either side across it (thin: a letter's bar or a word is not), found on the page reduced to about WORK_DPI and
turned straight by the skew of its text lines, so that a scan's skewed rule is one run; pieces of a rule are
joined across a gap where ink runs all along it (letters sitting on the rule). A page with no vertical rule skips
the horizontal search. ~18 ms a page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.documents.pageimage import LINE_INK, dark_mask, darkest, paper_blocks, true_runs

MIN_CELLS = 2  # a box around one paragraph is no table
WORK_DPI = 100  # rules are found on the page reduced to about this resolution (darkest pixel of each block)
RULE_MIN_INCH = 0.15  # a rule's piece runs at least this far (a one-line row's vertical rule: ~0.2 in)
THIN_INCH = 0.04  # ... with no ink this far to either side across it (a 1-pt rule blurred by a photo: ~0.02)
RUN_GAP_INCH = 0.03  # pieces this close along a row are one run (a crossing rule, blur, specks)
BRIDGE_INCH = 1.0  # ... and this far apart when ink runs all along between them (letters sitting on the rule)
BRIDGE_INK = 0.9  # share of the gap's columns with ink on the rule's row, to be bridged
IMAGE_TOL_INCH = 0.05  # rules this close across them are one; a rule this close to another's end meets it
IMAGE_GAP_INCH = 0.25  # a rule's pieces this far apart along it are one (letters touching it broke it: ~0.14)


@dataclass(frozen=True)
class Rule:
    """A ruled line in a top-down frame: horizontal (`across`) at y = `at` from x = `start` to `end`, or vertical
    at x = `at` from y = `start` to `end`."""

    across: bool
    at: float
    start: float
    end: float


@dataclass(frozen=True)
class Table:
    """A table's grid: the rules' positions (`ys` top to bottom, `xs` left to right) and, for each rectangle
    between them (row i, column j), the number of its cell in reading order, -1 outside every cell."""

    ys: tuple[float, ...]
    xs: tuple[float, ...]
    cell_of: tuple[tuple[int, ...], ...]
    cells: int
    row_of: tuple[int, ...] = ()  # per cell, the grid row of its top edge: cells of one row read as one line

    def cell_at(self, x: float, y: float) -> int:
        """The cell that holds the point (x, y), -1 when none does."""
        i = int(np.searchsorted(self.ys, y)) - 1
        j = int(np.searchsorted(self.xs, x)) - 1
        if 0 <= i < len(self.ys) - 1 and 0 <= j < len(self.xs) - 1:
            return self.cell_of[i][j]
        return -1


def merge_rules(rules: list[Rule], tol: float, gap: float) -> list[Rule]:
    """Pieces of one rule joined: the same orientation, within `tol` across (of the first piece of their band),
    at most `gap` apart along it (a rule drawn cell by cell, a scan's rule found piece by piece, broken where
    letters touch it). A joined rule stands where its longest piece does. Sorted once: a noisy page's thousands of
    pieces cost milliseconds."""
    out: list[Rule] = []
    for across in (True, False):
        pieces = sorted((r for r in rules if r.across == across), key=lambda r: r.at)
        bands: list[list[Rule]] = []
        for piece in pieces:
            if bands and piece.at - bands[-1][0].at <= tol:
                bands[-1].append(piece)
            else:
                bands.append([piece])
        for band in bands:
            group: list[Rule] = []
            reach = 0.0
            for piece in sorted(band, key=lambda r: r.start):
                if group and piece.start > reach + gap:
                    out.append(_joined(group))
                    group = []
                reach = max(reach, piece.end) if group else piece.end
                group.append(piece)
            out.append(_joined(group))
    return out


def _joined(group: list[Rule]) -> Rule:
    longest = max(group, key=lambda r: r.end - r.start)
    return Rule(longest.across, longest.at, min(r.start for r in group), max(r.end for r in group))


def _meets(h: Rule, v: Rule, tol: float) -> bool:
    return h.start - tol <= v.at <= h.end + tol and v.start - tol <= h.at <= v.end + tol


def _clusters(values: list[float], tol: float) -> list[float]:
    """Sorted values, those within `tol` of the one before taken as one (their mean)."""
    groups: list[list[float]] = []
    for value in sorted(values):
        if groups and value - groups[-1][-1] <= tol:
            groups[-1].append(value)
        else:
            groups.append([value])
    return [sum(g) / len(g) for g in groups]


def _find(parent: list[int], k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


def _grid(hs: list[Rule], vs: list[Rule], tol: float) -> Table | None:
    """The cells of one connected set of rules (see the module docstring); None with fewer than MIN_CELLS."""
    ys, xs = _clusters([h.at for h in hs], tol), _clusters([v.at for v in vs], tol)
    rows, cols = len(ys) - 1, len(xs) - 1
    if rows < 1 or cols < 1:
        return None

    def wall_across(y: float, x: float) -> bool:  # a horizontal rule at y covers x
        return any(abs(h.at - y) <= tol and h.start - tol <= x <= h.end + tol for h in hs)

    def wall_down(x: float, y: float) -> bool:  # a vertical rule at x covers y
        return any(abs(v.at - x) <= tol and v.start - tol <= y <= v.end + tol for v in vs)

    mid_y = [(a + b) / 2 for a, b in zip(ys, ys[1:], strict=False)]
    mid_x = [(a + b) / 2 for a, b in zip(xs, xs[1:], strict=False)]
    parent = list(range(rows * cols))
    open_side = [False] * (rows * cols)
    for i in range(rows):
        for j in range(cols):
            k = i * cols + j
            if j + 1 < cols and not wall_down(xs[j + 1], mid_y[i]):
                parent[_find(parent, k)] = _find(parent, k + 1)
            if i + 1 < rows and not wall_across(ys[i + 1], mid_x[j]):
                parent[_find(parent, k)] = _find(parent, k + cols)
            open_side[k] = (
                (i == 0 and not wall_across(ys[0], mid_x[j]))
                or (i == rows - 1 and not wall_across(ys[-1], mid_x[j]))
                or (j == 0 and not wall_down(xs[0], mid_y[i]))
                or (j == cols - 1 and not wall_down(xs[-1], mid_y[i]))
            )
    outside = {_find(parent, k) for k in range(rows * cols) if open_side[k]}
    number: dict[int, int] = {}
    row_of: list[int] = []
    for k in range(rows * cols):  # row-major: a cell is numbered at its top row's leftmost rectangle
        root = _find(parent, k)
        if root not in outside and root not in number:
            number[root] = len(number)
            row_of.append(k // cols)
    if len(number) < MIN_CELLS:
        return None
    cell_of = tuple(
        tuple(number.get(_find(parent, i * cols + j), -1) for j in range(cols)) for i in range(rows)
    )
    return Table(tuple(ys), tuple(xs), cell_of, len(number), tuple(row_of))


def find_tables(rules: list[Rule], tol: float, gap: float | None = None) -> list[Table]:
    """The ruled tables the rules draw (see the module docstring), top to bottom. `tol`: how far apart two
    rules may be and still meet or be one (the rules' units); `gap`: how far apart along it a rule's pieces may
    be (`tol` when None)."""
    merged = merge_rules(rules, tol, tol if gap is None else gap)
    hs = [r for r in merged if r.across]
    vs = [r for r in merged if not r.across]
    # a vertical rule from one horizontal rule to another; a horizontal one two of those meet
    for _ in range(2):
        vs = [v for v in vs if len(_clusters([h.at for h in hs if _meets(h, v, tol)], tol)) >= 2]
        hs = [h for h in hs if sum(_meets(h, v, tol) for v in vs) >= 2]
    rules_left = hs + vs
    parent = list(range(len(rules_left)))
    for a, h in enumerate(hs):
        for b, v in enumerate(vs, start=len(hs)):
            if _meets(h, v, tol):
                parent[_find(parent, a)] = _find(parent, b)
    groups: dict[int, list[Rule]] = {}
    for k, rule in enumerate(rules_left):
        groups.setdefault(_find(parent, k), []).append(rule)
    tables = []
    for group in groups.values():
        table = _grid([r for r in group if r.across], [r for r in group if not r.across], tol)
        if table is not None:
            tables.append(table)
    return sorted(tables, key=lambda t: t.ys[0])


def cell_of(tables: list[Table], x: float, y: float) -> tuple[int, int] | None:
    """(table, cell) of the first of `tables` with a cell that holds the point (x, y); None when none has."""
    for t, table in enumerate(tables):
        if (c := table.cell_at(x, y)) >= 0:
            return t, c
    return None


def whole_tables(tables: list[Table], points: list[tuple[float, float]]) -> list[Table]:
    """The tables that are all of what their rows hold: each of `points` (the middles of a page's words or
    characters) that lies between their top and bottom rules lies in one of their cells. A point in the box but
    in no cell means a rule was not found (a scanned form's faint edge); a point beside the table, that only part
    of a wider table was found (a calendar's column of boxes whose other rules are drawn another way). Reading
    such a table by its cells would tear its rows apart, so it keeps the order it has."""
    return [
        table
        for table in tables
        if not any(table.ys[0] < y < table.ys[-1] and table.cell_at(x, y) < 0 for x, y in points)
    ]


def straighten(x: float, y: float, slope: float) -> tuple[float, float]:
    """A point of a page skewed by `slope` (dy/dx of its text lines) in the page's straight frame."""
    return x + slope * y, y - slope * x


def _shift(a: np.ndarray, by: int, axis: int) -> np.ndarray:
    """`a` moved `by` places along `axis`, False where nothing moved in."""
    out = np.zeros_like(a)
    if axis == 0:
        if by > 0:
            out[by:] = a[:-by]
        else:
            out[:by] = a[-by:]
    elif by > 0:
        out[:, by:] = a[:, :-by]
    else:
        out[:, :by] = a[:, -by:]
    return out


def _sheared(a: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """`a` with each column moved up by its offset: out[y, x] = a[y + offsets[x], x], False outside. Offsets
    change by one every 1/skew columns: copied band by band."""
    h, w = a.shape
    out = np.zeros_like(a)
    edges = [0, *(np.flatnonzero(np.diff(offsets)) + 1).tolist(), w]
    for x0, x1 in zip(edges, edges[1:], strict=False):
        off = int(offsets[x0])
        if off >= h or -off >= h:
            continue
        if off >= 0:
            out[: h - off, x0:x1] = a[off:, x0:x1]
        else:
            out[-off:, x0:x1] = a[: h + off, x0:x1]
    return out


def _runs(
    thin: np.ndarray, solid: np.ndarray, min_len: int, gap: int, bridge: int
) -> list[tuple[int, int, int]]:
    """(row, start, end) of the runs along each row of `thin` at least `min_len` long (found for all rows at
    once; only rows that hold one are walked): gaps of at most `gap` closed, and gaps of at most `bridge` where
    the row is ink in `solid` nearly all along (BRIDGE_INK): the rule goes on under letters that touch it."""
    dilated = thin.copy()
    for s in range(1, gap + 1):
        dilated[:, s:] |= thin[:, :-s]
    closed = dilated.copy()
    for s in range(1, gap + 1):
        closed[:, :-s] &= dilated[:, s:]
    rows = np.flatnonzero(closed.sum(axis=1) >= min_len)  # those that might hold one
    sums = np.zeros((len(rows), closed.shape[1] + 1), dtype=np.int32)
    np.cumsum(closed[rows], axis=1, out=sums[:, 1:])
    rows = rows[((sums[:, min_len:] - sums[:, :-min_len]) == min_len).any(axis=1)]
    out = []
    for y in rows.tolist():
        # ink on the rule's row, counted from the left: the share of a gap that has ink, in O(1)
        inked = np.concatenate(([0], np.cumsum(solid[max(0, y - 1) : y + 2].any(axis=0))))
        # specks of noise in the row cannot be a rule's piece: the gaps around them are bridged or not alike
        runs = [(a, b) for a, b in true_runs(closed[y]) if b - a >= min_len // 3]
        start, end = runs[0]
        for a, b in runs[1:]:
            if a - end <= bridge and inked[a] - inked[end] >= BRIDGE_INK * (a - end):
                end = b
                continue
            if end - start >= min_len:
                out.append((y, start, end))
            start, end = a, b
        if end - start >= min_len:
            out.append((y, start, end))
    return out


def rules_in_image(grey: np.ndarray, dpi: int, slope: float) -> list[Rule]:
    """The rules of a grey page image (uint8, paper light) at `dpi`, in the straight frame of `straighten`
    (full-size pixels); `slope`: the page's skew (its text lines' dy/dx). A page with no vertical rule has no
    table: its horizontal ones are not looked for."""
    f = max(1, dpi // WORK_DPI)
    small = darkest(grey, f)
    r = dpi / f
    ink = dark_mask(small, paper_blocks(small, int(r)), LINE_INK)
    d = max(2, round(THIN_INCH * r))
    min_len, gap = max(3, round(RULE_MIN_INCH * r)), max(1, round(RUN_GAP_INCH * r))
    bridge = round(BRIDGE_INCH * r)
    h, w = ink.shape
    # thin across: ink with paper d columns left and right (vertical), d rows above and below (horizontal);
    # turned straight: a vertical rule x = x0 - slope * y moves to column x0, a horizontal one y = y0 + slope * x
    # to row y0
    thin_v = ink & ~_shift(ink, d, 1) & ~_shift(ink, -d, 1)
    across = np.round(-slope * np.arange(h)).astype(int)
    downs = _runs(_sheared(thin_v.T, across), _sheared(ink.T, across), min_len, gap, bridge)
    if not downs:
        return []
    thin_h = ink & ~_shift(ink, d, 0) & ~_shift(ink, -d, 0)
    down = np.round(slope * np.arange(w)).astype(int)
    acrosses = _runs(_sheared(thin_h, down), _sheared(ink, down), min_len, gap, bridge)
    rules = []
    for y, x0, x1 in acrosses:
        yc = (y + 0.5) * f
        rules.append(Rule(True, yc, x0 * f + slope * yc, x1 * f + slope * yc))
    for x, y0, y1 in downs:
        xc = (x + 0.5) * f
        rules.append(Rule(False, xc, y0 * f - slope * xc, y1 * f - slope * xc))
    return rules


def image_tables(grey: np.ndarray, dpi: int, slope: float) -> list[Table]:
    """The ruled tables of a grey page image at `dpi` skewed by `slope`, in the frame of `straighten`."""
    return find_tables(rules_in_image(grey, dpi, slope), IMAGE_TOL_INCH * dpi, IMAGE_GAP_INCH * dpi)
