"""A PDF's own text layer, page by page (pypdfium2): in reading order, without the text shown struck through.

Struck-through text is revoked text. The Planalto's compiled laws (the LDB, Lei 9.394/1996, and every federal
law a university cites) keep each revoked wording on the page with a line drawn through it, followed by the
wording in force: "Art. 6º É dever dos pais ... a partir dos sete anos" (struck), then "Art. 6º ... a partir
dos seis anos (Redação dada pela Lei nº 11.114, de 2005)". The text layer has both, so a born-digital copy
taught the model both wordings; tesseract leaves struck lines out of a clean scan (none of the LDB's came back
from its flatbed renderings). Measured on the LDB's first 10 pages: 2,536 characters, 10.5% of its text, all
revoked wordings (docs/benchmarks/real.md). A character is struck when a thin horizontal path (at most
STRIKE_MAX_PT thick and STRIKE_MAX_HEIGHT of the character's height) crosses its box within STRIKE_BAND of its
height and covers its horizontal centre, in a run of at least MIN_STRUCK_ALNUM letters or digits. An underline
("(Redação dada pela Lei ...)", links) lies at the foot of the box, a table rule between rows: neither counts.

Columns: the content stream of a Diário Oficial page holds its three columns in the order the acts were set,
not read: the end of one act (top of column 3) came before its start (foot of column 2). A page with a column
gutter (column_blocks) is read block by block in XY-cut order; any other page keeps the stream's order exactly.

Tables: a ruled table's characters come in whatever order its producer wrote them (line by line across the
columns, or some columns row by row and the last one down the page). Its cells are found from the rules the page
draws (path objects at most RULE_MAX_PT thick; stages/documents/tables.py), and the table is read cell by cell, row by row,
each cell a paragraph, where its first character was: as the ocr stage reads a scanned table.

pdfium writes a hyphen that ended a line as U+FFFE and drops the line end ("pós\ufffegraduação"): both are put
back, and clean decides, as for a scan, whether the hyphen stays ("pós-graduação") or goes ("empresa").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from stages.documents.tables import Rule, Table, cell_of, find_tables, whole_tables

STRIKE_MAX_PT = 2.5  # a strike line's thickness in points (Planalto's: 0.48)
STRIKE_MAX_HEIGHT = 0.3  # ... and at most this share of the struck character's (loose) box height
STRIKE_BAND = (0.3, 0.75)  # where in the character's box (from its bottom) the line's middle lies
MIN_STRIKE_WIDTH_PT = 2.0  # shorter paths are dots, not lines
COLUMN_MIN_GUTTER_PT = 6.0  # empty space between two text columns (the DOU's: ~12)
COLUMN_MIN_WIDTH = 0.2  # each side of a column gutter spans at least this share of the page width
COLUMN_MIN_HEIGHT = 0.25  # ... and the gutter runs down at least this share of the page height
MIN_STRUCK_ALNUM = 3  # letters/digits a struck run needs ("II - progressiva ...": many)
RULE_MAX_PT = 3.0  # a table's rule is a path at most this thick ...
RULE_MIN_PT = 4.0  # ... and this long (drawn cell by cell: a cell's side)
TABLE_TOL_PT = 3.0  # rules this close are one, or meet (stages/documents/tables.py)
_CELLS = 1 << 20  # a character's cell as table * _CELLS + cell
LINE_END_HYPHEN = "\ufffe"  # pdfium's mark for a hyphen that ended a line
_LINE_END_HYPHEN_RE = re.compile(LINE_END_HYPHEN + "\n?")
_SPACES = re.compile(" {2,}")  # where struck words were


class BadPdfError(ValueError):
    """A PDF that cannot be read at all (empty, not a PDF, encrypted, corrupt)."""


@dataclass(frozen=True)
class LayerPage:
    text: str  # the page's own text, struck-through characters left out when asked
    struck_chars: int = 0  # non-space characters left out because a line is drawn through them
    columns: bool = False  # text columns: read column by column, not in the content stream's order
    tables: int = 0  # ruled tables read cell by cell (stages/documents/tables.py)


def path_bounds(page: pdfium.PdfPage) -> np.ndarray:
    """(left, bottom, right, top) of every path object on the page (form XObjects included): read once for the
    struck-line and the table searches."""
    boxes = [obj.get_bounds() for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH])]
    return np.array(boxes, dtype=float).reshape(-1, 4)


def horizontal_lines(paths: np.ndarray) -> np.ndarray:
    """The thin, wide ones of the path bounds `paths` (path_bounds)."""
    width, height = paths[:, 2] - paths[:, 0], paths[:, 3] - paths[:, 1]
    return paths[(height <= STRIKE_MAX_PT) & (width >= MIN_STRIKE_WIDTH_PT)]


def page_tables(paths: np.ndarray, page_height: float) -> list[Table]:
    """The ruled tables the page's drawing (`paths`: path_bounds) holds (stages/documents/tables.py), in a top-down frame of
    points."""
    rules = []
    for left, bottom, right, top in paths.tolist():
        if top - bottom <= RULE_MAX_PT and right - left >= RULE_MIN_PT:
            rules.append(Rule(True, page_height - (top + bottom) / 2, left, right))
        elif right - left <= RULE_MAX_PT and top - bottom >= RULE_MIN_PT:
            rules.append(Rule(False, (left + right) / 2, page_height - top, page_height - bottom))
    return find_tables(rules, TABLE_TOL_PT)


def _visible(boxes: np.ndarray, nonspace: np.ndarray) -> np.ndarray:
    """Which characters have a box and are not white space."""
    return (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]) & nonspace


def _carried(values: np.ndarray, known: np.ndarray, before: int) -> np.ndarray:
    """`values` where `known`; elsewhere the value of the last known character before (a space or pdfium's line
    end goes with the character it follows), `before` for those ahead of the first known one."""
    last = np.maximum.accumulate(np.where(known, np.arange(len(values)), -1))
    return np.where(last >= 0, values[np.maximum(last, 0)], before)


def table_cells(
    boxes: np.ndarray, nonspace: np.ndarray, tables: list[Table], height: float
) -> tuple[np.ndarray, list[Table]]:
    """Per character, its table and cell as table * _CELLS + cell, -1 outside every cell (characters without a
    box follow the one before them), and the tables read: those whose box holds no character outside their
    cells (tables.whole_tables) and whose rules cut through no word (a word drawn across a rule: the drawing is
    no grid of cells, as a calendar whose text runs over its columns' lines)."""
    visible = _visible(boxes, nonspace)
    at = np.flatnonzero(visible)
    middles = [
        ((boxes[i, 0] + boxes[i, 2]) / 2, height - (boxes[i, 1] + boxes[i, 3]) / 2) for i in at.tolist()
    ]
    tables = whole_tables(tables, middles)
    word = np.cumsum(~nonspace)[at]  # characters between two spaces or line ends: one word
    cell = np.full(len(boxes), -1)
    for _ in range(2):  # the second time without the tables that cut words
        cell[:] = -1
        for i, (x, y) in zip(at.tolist(), middles, strict=True):
            if (found := cell_of(tables, x, y)) is not None:
                cell[i] = found[0] * _CELLS + found[1]
        cut: set[int] = set()
        for w in np.flatnonzero(np.diff(word) == 0).tolist():  # neighbours within one word
            a, b = int(cell[at[w]]), int(cell[at[w + 1]])
            if a != b:
                cut |= {c // _CELLS for c in (a, b) if c >= 0}
        if not cut:
            break
        tables = [t for k, t in enumerate(tables) if k not in cut]
    return _carried(cell, visible, -1), tables


def table_segments(
    order: list[np.ndarray], cell: np.ndarray, tables: list[Table]
) -> list[tuple[np.ndarray, tuple[int, int] | None]]:
    """The blocks of character indices `order` cut so that each table cell is a segment of its own, the
    table's cells in their order where its first character was: (indices, (table, the cell's row) or None)."""
    flat = np.concatenate(order) if order else np.zeros(0, dtype=int)
    out: list[tuple[np.ndarray, tuple[int, int] | None]] = []
    placed: set[int] = set()
    for block in order:
        run: list[int] = []
        for i in block.tolist():
            if cell[i] < 0:
                run.append(i)
                continue
            table = int(cell[i]) // _CELLS
            if table in placed:
                continue
            if run:
                out.append((np.array(run), None))
                run = []
            placed.add(table)
            cells = cell[flat]
            mine = flat[(cells >= 0) & (cells // _CELLS == table)]
            for c in sorted(set(cell[mine].tolist())):
                out.append((mine[cell[mine] == c], (table, tables[table].row_of[c % _CELLS])))
        if run:
            out.append((np.array(run), None))
    return out


def join_segments(parts: list[tuple[str, tuple[int, int] | None]]) -> str:
    """The page's text from its segments' texts: a cell is a paragraph (blank lines around it), and the cells
    of a row that are one line each are one line ("ANABELLE LOIVOS CONSIDERA 033360/06-20")."""
    paragraphs: list[tuple[str, bool]] = []  # (text, a table's)
    k = 0
    while k < len(parts):
        text, row = parts[k]
        if row is None:
            if text:
                paragraphs.append((text, False))
            k += 1
            continue
        end = k
        while end < len(parts) and parts[end][1] == row:
            end += 1
        cells = [t for t, _ in parts[k:end] if t]
        if cells and all("\n" not in t for t in cells):
            paragraphs.append((" ".join(cells), True))
        else:
            paragraphs += [(t, True) for t in cells]
        k = end
    out: list[str] = []
    for n, (text, table) in enumerate(paragraphs):
        if n:
            out.append("\n\n" if table or paragraphs[n - 1][1] else "\n")
        out.append(text)
    return "".join(out)


def struck_mask(chars: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Which of the character boxes `chars` (n x 4: left, bottom, right, top) a line of `lines` strikes through."""
    if not len(chars) or not len(lines):
        return np.zeros(len(chars), dtype=bool)
    left, bottom, right, top = (chars[:, i : i + 1] for i in range(4))
    height = top - bottom
    centre = (left + right) / 2
    mid = (lines[:, 1] + lines[:, 3]) / 2
    thick = lines[:, 3] - lines[:, 1]
    hits = (
        (lines[:, 0] <= centre)
        & (centre <= lines[:, 2])
        & (mid >= bottom + STRIKE_BAND[0] * height)
        & (mid <= bottom + STRIKE_BAND[1] * height)
        & (thick <= STRIKE_MAX_HEIGHT * height)
        & (height > 0)
    )
    return hits.any(axis=1)


def whole_runs(chars: list[str], struck: np.ndarray) -> np.ndarray:
    """`struck` kept only in runs (struck characters with nothing but spaces between them) that hold at least
    MIN_STRUCK_ALNUM letters or digits: a single glyph drawn as a path of its own ("º" underlined, a dot leader)
    strikes nothing."""
    out = struck.copy()
    start = None
    for i in range(len(chars) + 1):
        inside = i < len(chars) and (struck[i] or (start is not None and chars[i] == " "))
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            if sum(chars[j].isalnum() for j in range(start, i) if struck[j]) < MIN_STRUCK_ALNUM:
                out[start:i] = False
            start = None
    return out


def drop_struck(chars: list[str], struck: list[bool]) -> str:
    """The text of `chars` without the struck ones; a line left with nothing but spaces goes with its line end.

    pdfium ends lines with "\\r\\n" (two characters, each with its own box): read as one "\\n" here."""
    lines: list[tuple[str, bool]] = []  # (kept text, had struck characters)
    kept: list[str] = []
    any_struck = False
    for i, (ch, gone) in enumerate(zip(chars, struck, strict=True)):
        if ch == "\r" and i + 1 < len(chars) and chars[i + 1] == "\n":
            continue
        if ch in "\r\n":
            lines.append(("".join(kept), any_struck))
            kept, any_struck = [], False
        elif gone:
            any_struck = True
        else:
            kept.append(ch)
    lines.append(("".join(kept), any_struck))
    return "\n".join(
        _SPACES.sub(" ", text).rstrip() if had else text
        for text, had in lines
        if not (had and not text.strip())
    )


def _layout(text: str) -> str:
    """pdfium's line ends ("\\r\\n") as "\\n", and its mark for a hyphen that ended a line (U+FFFE, with the
    line break removed: "pós\\ufffegraduação", "em\\ufffepresa") as that hyphen and line end again, so that clean
    decides as it does for a scan whether the hyphen stays ("pós-graduação") or goes ("empresa")."""
    return _LINE_END_HYPHEN_RE.sub("-\n", text.replace("\r\n", "\n").replace("\r", "\n"))


def _gaps(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes spanning [lo, hi] on one axis, sorted by lo; the empty gap after each (until the next one starts)."""
    order = np.argsort(lo, kind="stable")
    reach = np.maximum.accumulate(hi[order])
    return order, lo[order][1:] - reach[:-1]


def column_blocks(
    boxes: np.ndarray, idx: np.ndarray, page_size: tuple[float, float]
) -> tuple[list[np.ndarray], int]:
    """The characters `idx` (boxes: left, bottom, right, top) cut into blocks in reading order (recursive XY-cut),
    and the number of column cuts made.

    A region is cut at a column gutter when one runs down at least COLUMN_MIN_HEIGHT of the page, at least
    COLUMN_MIN_GUTTER_PT wide, between two sides each at least COLUMN_MIN_WIDTH of the page wide (three DOU columns;
    never the narrow column of article labels beside their text, as in Planalto's older pages); else across
    the widest horizontal gap (top to bottom)."""
    width, height = page_size
    blocks: list[np.ndarray] = []
    cuts = 0
    stack = [idx]
    while stack:
        region = stack.pop()
        b = boxes[region]
        parts = None
        if b[:, 3].max() - b[:, 1].min() >= COLUMN_MIN_HEIGHT * height:
            order, gaps = _gaps(b[:, 0], b[:, 2])
            for k in np.argsort(-gaps, kind="stable"):
                if gaps[k] < COLUMN_MIN_GUTTER_PT:
                    break
                left, right = order[: k + 1], order[k + 1 :]
                if min(np.ptp(b[left][:, [0, 2]]), np.ptp(b[right][:, [0, 2]])) >= COLUMN_MIN_WIDTH * width:
                    parts, cuts = (left, right), cuts + 1
                    break
        if parts is None:
            order, gaps = _gaps(-b[:, 3], -b[:, 1])  # top to bottom
            if len(gaps) and gaps.max() > 0:
                k = int(np.argmax(gaps))
                parts = (order[: k + 1], order[k + 1 :])
        if parts is None:
            blocks.append(np.sort(region))
        else:
            stack.extend([region[parts[1]], region[parts[0]]])  # the first part is popped first
    return blocks, cuts


def reading_order(
    nonspace: np.ndarray, boxes: np.ndarray, page_size: tuple[float, float]
) -> list[np.ndarray] | None:
    """Character indices block by block in reading order when the page has text columns, else None (the content
    stream's order stays). A character without a box (a space, pdfium's line end) goes with the one before it.
    `nonspace`: which characters are not white space."""
    visible = np.flatnonzero(_visible(boxes, nonspace))
    if len(visible) < 2:
        return None
    blocks, cuts = column_blocks(boxes, visible, page_size)
    if not cuts:
        return None
    block_of = np.full(len(nonspace), -1)
    for number, block in enumerate(blocks):
        block_of[block] = number
    block_of = _carried(block_of, block_of >= 0, int(block_of[visible[0]]))
    return [np.flatnonzero(block_of == number) for number in range(len(blocks))]


def page_text(page: pdfium.PdfPage, drop_struck_text: bool, read_tables: bool = True) -> LayerPage:
    """One page's text layer: columns in reading order, ruled tables cell by cell (each cell a paragraph),
    struck-through characters left out when asked."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        n = textpage.count_chars()
        if n == 0:
            return LayerPage(_layout(text))
        chars = list(text) if len(text) == n else [textpage.get_text_range(i, 1) for i in range(n)]
        boxes = np.array([textpage.get_charbox(i, loose=True) for i in range(n)], dtype=float).reshape(-1, 4)
        nonspace = np.array([not c.isspace() for c in chars], dtype=bool)
        paths = path_bounds(page) if drop_struck_text or read_tables else np.zeros((0, 4))
        lines = horizontal_lines(paths) if drop_struck_text else np.zeros((0, 4))
        struck = np.zeros(n, dtype=bool)
        if len(lines):
            struck = whole_runs(chars, struck_mask(boxes, lines) & nonspace)
        blocks = reading_order(nonspace, boxes, page.get_size())
        tables = page_tables(paths, page.get_height()) if read_tables else []
        cell = np.full(n, -1)
        if tables:
            cell, tables = table_cells(boxes, nonspace, tables, page.get_height())
        if not tables:
            if blocks is None and not struck.any():
                return LayerPage(_layout(text))  # nearly every page
            if blocks is None:
                return LayerPage(_layout(drop_struck(chars, struck.tolist())), int(struck.sum()))
        order = blocks if blocks is not None else [np.arange(n)]
        parts = [
            (drop_struck([chars[i] for i in idx], struck[idx].tolist()).strip("\r\n"), row)
            for idx, row in table_segments(order, cell, tables)
        ]
        placed = len({int(c) // _CELLS for c in cell[cell >= 0].tolist()})
        return LayerPage(
            _layout(join_segments(parts)), int(struck.sum()), columns=blocks is not None, tables=placed
        )
    finally:
        textpage.close()


def read_text_layers(path: Path, drop_struck_text: bool = True, read_tables: bool = True) -> list[LayerPage]:
    """Each page's own text (possibly empty); BadPdfError with a readable reason when the file is unusable."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head:
        raise BadPdfError("empty file (0 bytes)")
    if b"%PDF-" not in head:
        raise BadPdfError(f"not a PDF (starts with {head[:8]!r})")
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise BadPdfError(
                "encrypted PDF (needs a password): decrypt it first, e.g. `qpdf --decrypt`"
            ) from None
        raise BadPdfError(f"unreadable PDF, truncated or corrupt ({e})") from None
    try:
        if len(pdf) == 0:
            raise BadPdfError("PDF has no pages")
        pages = []
        for page in pdf:
            pages.append(page_text(page, drop_struck_text, read_tables))
            page.close()
        return pages
    finally:
        pdf.close()
