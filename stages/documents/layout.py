"""Labels set in a column of their own, read with the line they stand beside (tesseract's word boxes, TSV).

Many acts set each label ("Art. 4º", "§ 1º") in a narrow column at the left margin and the article's text in a
wide column beside it, with a hanging indent: a paragraph's last line may run back to the left margin. Tesseract's
layout analysis takes the labels for a column: it makes each one a block and reads them all, in a run, before
the text they belong to ("Art. 4º / Art. 5º / Art. 6º / legislação: / <letterhead> / A progressão na ..."), so
articles lose their labels and the letterhead lands mid-page. UFMA's Resolução 2.807-CONSEPE, set this way:
10.4% -> 5.4% CER on a flatbed-like rendering (bench/bench_real.py, docs/benchmarks.md).

Here the page is rebuilt from the TSV that tesseract writes with its text:
  - a label is a block of one line that reads as a label alone (legis.LABEL_ALONE_RE: "Art. 4º", "§ 1º" or
    "$1º", "Parágrafo único.", "II.", "b)"), at most LABEL_MAX_INCH wide, starting within MARGIN_INCH of the
    page's leftmost text, whose line sits beside a line of another block
    (vertical overlap of at least OVERLAP of the smaller height) that starts to its right, at most GAP_MAX_INCH
    away, in a block at least WIDE_FACTOR times wider. Its words go to the start of that line, which then begins
    a paragraph;
  - a narrow block at the margin is read line by line: tesseract puts a paragraph's last line and the next label
    ("Núcleo." / "§ 2º"), or two labels, in one block of the column;
  - once a page has labels, a line of the label column that does not read as one, no longer than
    MISREAD_MAX_CHARS, at most MISREAD_WIDTH times as wide as the widest label and as tall as the labels
    (STRAY_HEIGHT), beside a line that starts where the labels' lines start, is a label OCR misread ("Ss", "34",
    "dito" for "§ 1º", "§ 4º", "§ 1º"); it goes to its line too, keeping tesseract's text (counted apart: clean
    cannot read it as a label). Left above the letterhead, these lines went with it in clean's letterhead rule.
    On the bench's renderings of three corpora it takes 25 lines, all on UFMA's acts, each a "§ Nº" of the
    born-digital text;
  - a stray line of the label column (a block of at most STRAY_MAX_LINES lines lying wholly left of the text
    column, beside no line) goes after the nearest line above it in the text column, in that line's paragraph,
    when it goes on from it (_goes_on: right below it, as tall, going on with its sentence); junk at the margin
    stays where tesseract put it.
Every other block keeps tesseract's order and lines. A page with no label is left exactly as tesseract wrote it.

Lines cut in two (read_by_rows). On a degraded page (a photo's uneven light, a hanging indent, a skewed scan)
tesseract sometimes cuts a line of a single column into fragments a word space apart and puts them in different
blocks ("CONSEPE a decisão final sobre" / "a criação do novo formato de"), then reads block after block: the page's
sentences come out shuffled and its labels end up far from their articles. Two fragments are one line cut in two
(split_lines) when they stand beside each other (OVERLAP), about as tall (STRAY_HEIGHT), each with at least
SPLIT_MIN_LETTERS letters (a logo's specks are not text), at most SPLIT_GAP_HEIGHTS word heights apart: a word
space, where a column's gutter or a label column's gap is wider; with no table rule between them (read as "|").
Whether two fragments stand beside each other is judged by their words at the seam (_meet): on a skewed page a long
line's box is taller than its type. A page with such a cut is read row by row: each fragment followed by the
nearest one to its right that goes on from it; rows from top to bottom with the page's skew taken out (the median
slope of its lines); a row begins a paragraph when it stands PARAGRAPH_PITCH times further below the row above than
the page's usual distance. A word cut at the seam (less than CUT_GAP_HEIGHTS apart: "se" + "r detalhados", "EN" +
"SINO") is joined again. A speck at a piece's end, more than SPLIT_GAP_HEIGHTS from its next word, is a piece of
its own (_shed_specks): tesseract adds one to a line from where it lies, even inside the piece the line goes on
from. UFMA Resolução 1.892's photo-like rendering, page 19: 38% -> 9% raw CER; a real skewed UFAM scan (Resolução
011/2007) reads in the order of its lines (bench/bench_real.py, docs/benchmarks.md).

Lines interleaved (cut_interleaved). On such pages tesseract also puts words of one line in a line of another
block that stands between two of its words ("vínculo à feita mediante" / "empregatício será", UFMA 1.892 p. 16):
no seam joins them, since the pieces overlap. A line of at least SPLIT_MIN_LETTERS letters that stands inside
another block's line, between two of its words (words of SPECK_CHARS at most in between: an accent read apart),
beside both, cuts that line there; the page is then read row by row as above, and the pieces chain in their
order. On the bench's renderings of three corpora it finds such lines on 6 pages (2 with no cut line); the third
corpus's photo-like CER 8.10% -> 7.79%. The 109 real scanned pages have none.

Ruled tables (read_tables). Tesseract reads a table across its rows, the cells' wrapped lines interleaved ("Abrir
processo Central da Receber a documentação,"), or down its columns. With the table's cells found from its rules
on the page image (stages/documents/tables.py), each word goes to the cell that holds its middle; each cell is read as a
paragraph, its pieces of tesseract's lines top to bottom; a row whose cells are one line each is one line; the
table goes where its first word was, after the rest of that word's line (a line that runs into the table above
its first rule stays whole). The "|" that tesseract reads for a rule is left out of a cell. A table with a word of
two letters or digits in its rows but outside its cells (a rule not found) keeps tesseract's order.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field

from stages.documents.tables import Table, cell_of, straighten, whole_tables
from stages.text.legis.labels import LABEL_ALONE_RE

LABEL_MAX_INCH = 1.6  # "Parágrafo único." in 12-pt bold is ~1.3 in; "Art. 4º" ~0.5 in
GAP_MAX_INCH = 2.5  # from a label's right end to its line's start (UFMA: ~1.1 in)
WIDE_FACTOR = 3.0  # the text's block is at least this many times wider than the label
OVERLAP = 0.5  # share of the smaller line height two lines must share to stand beside each other
MARGIN_INCH = 0.3  # a label starts this close to the page's leftmost text, at most
STRAY_MAX_LINES = 2  # a stray block of the label column: a paragraph's last line or two
MISREAD_MAX_CHARS = 5  # a label OCR misread: "Ss", "34", "dito", "$Pat" for "§ 1º", "§ 4º" (UFMA)
MISREAD_WIDTH = 1.5  # ... at most this many times as wide as the widest label that reads as one
STRAY_GAP_LINES = 1.0  # a stray line starts at most this many line heights below the line it goes after ...
STRAY_HEIGHT = (0.6, 1.6)  # ... and is this many times as tall (the same type)
SPLIT_GAP_HEIGHTS = 1.0  # fragments of one line: a word space apart, at most one word height (UFMA: ~0.7)
SPLIT_MIN_LETTERS = 3  # letters on each side of a cut; specks of a logo have fewer
CUT_GAP_HEIGHTS = 0.2  # closer, the seam cut a word ("se" + "r detalhados": ~0.1; a word space: ~0.35)
SEAM_OVERLAP = 0.2  # fragments at a seam may overlap by this many word heights (their boxes' ink)
SPECK_CHARS = 2  # a speck: a word this short ("à" read apart from "será"; "-" and "/" when not alphanumeric)
PARAGRAPH_PITCH = 1.4  # a row this many times further below the row above than usual begins a paragraph
TABLE_WORD_ALNUM = 2  # a word beside a table counts with this many letters or digits (dirt: "." or "'")
RULE = "|"  # how tesseract reads a table's vertical rule: cells on either side of one are no cut line


@dataclass
class Word:
    text: str
    left: int
    top: int
    right: int
    bottom: int
    conf: float = 100.0  # tesseract's confidence in it


@dataclass
class Line:
    words: list[Word]
    par_start: bool  # the first line of a paragraph

    @property
    def left(self) -> int:
        return min(w.left for w in self.words)

    @property
    def right(self) -> int:
        return max(w.right for w in self.words)

    @property
    def top(self) -> int:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.bottom for w in self.words)

    @property
    def height(self) -> float:
        """Its words' median height: the type's size, which a skewed line's box overstates."""
        return statistics.median(w.bottom - w.top for w in self.words)


@dataclass
class Block:
    lines: list[Line] = field(default_factory=list)

    @property
    def left(self) -> int:
        return min(line.left for line in self.lines)

    @property
    def right(self) -> int:
        return max(line.right for line in self.lines)

    @property
    def width(self) -> int:
        return self.right - self.left


def parse_tsv(tsv: str) -> list[Block]:
    """Tesseract's TSV -> blocks of lines of words, in its reading order; words with no text are left out."""
    blocks: dict[str, Block] = {}
    lines: dict[tuple[str, str, str], Line] = {}
    paragraphs: set[tuple[str, str]] = set()
    for row in csv.DictReader(tsv.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        left, top = int(row["left"]), int(row["top"])
        word = Word(text, left, top, left + int(row["width"]), top + int(row["height"]), float(row["conf"]))
        key = (row["block_num"], row["par_num"], row["line_num"])
        if key not in lines:
            lines[key] = Line([], par_start=key[:2] not in paragraphs)
            paragraphs.add(key[:2])
            blocks.setdefault(key[0], Block()).lines.append(lines[key])
        lines[key].words.append(word)
    return list(blocks.values())


def render(blocks: list[Block]) -> str:
    """The page's text as tesseract writes it: one line per line, a blank line after each paragraph."""
    out: list[str] = []
    for block in blocks:
        for i, line in enumerate(block.lines):
            if line.par_start and i:
                out.append("")
            out.append(_text(line))
        out.append("")
    return "\n".join(out[:-1]) + "\n" if out else ""


def _beside(a: Line | Word, b: Line | Word) -> bool:
    shared = min(a.bottom, b.bottom) - max(a.top, b.top)
    return shared >= OVERLAP * min(a.bottom - a.top, b.bottom - b.top)


def _goes_on(host: Line, stray: Line) -> bool:
    """Is `stray` the line after `host` in its paragraph: right below it, as tall, and going on with its
    sentence (a small letter first, or no stop at the end of `host`)? A logo's or stamp's junk is not."""
    height = host.height
    first = next((c for w in stray.words for c in w.text if c.isalnum()), "")
    return (
        stray.top - host.bottom <= STRAY_GAP_LINES * height
        and STRAY_HEIGHT[0] * height <= stray.height <= STRAY_HEIGHT[1] * height
        and (first.islower() or not host.words[-1].text.endswith((".", ";", ":", "!", "?")))
    )


def _text(line: Line) -> str:
    return " ".join(w.text for w in line.words)


def _one_line_blocks(blocks: list[Block], dpi: int, margin: int) -> list[Block]:
    """`blocks` with each narrow block at the left margin split into blocks of one line each: tesseract puts a
    paragraph's last line and the next label ("Núcleo." / "§ 2º"), or two labels, in one block of the column."""
    out: list[Block] = []
    for block in blocks:
        if len(block.lines) > 1 and _in_label_column(block, dpi, margin):
            out.extend(Block([line]) for line in block.lines)
        else:
            out.append(block)
    return out


def _in_label_column(block: Block, dpi: int, margin: int) -> bool:
    return block.width <= LABEL_MAX_INCH * dpi and block.left <= margin + MARGIN_INCH * dpi


def _line_beside(label: Block, blocks: list[Block], dpi: int) -> tuple[Line, Block] | None:
    """The leftmost line that `label` stands beside, starting to its right at most GAP_MAX_INCH away, in a block
    at least WIDE_FACTOR times wider (the text column); None when there is none."""
    first = label.lines[0]
    beside = [
        (line.left, i, line, other)
        for i, other in enumerate(blocks)
        if other is not label and other.width >= WIDE_FACTOR * max(label.width, 1)
        for line in other.lines
        if first.right <= line.left <= first.right + GAP_MAX_INCH * dpi and _beside(first, line)
    ]
    if not beside:
        return None
    _, _, line, other = min(beside, key=lambda t: (t[0], t[1]))
    return line, other


def _misread_labels(
    candidates: list[Block], labels: list[tuple[Block, Line, Block]], blocks: list[Block], dpi: int
) -> list[tuple[Block, Line, Block]]:
    """Lines of the label column about as wide and as tall as the page's labels, beside a line that starts where
    their lines start, that do not read as a label: labels OCR misread ("Ss", "34", "dito" for "§ 1º", "§ 4º",
    "§ 1º" on UFMA's renderings), at most MISREAD_MAX_CHARS long."""
    starts = [line.left for _, line, _ in labels]
    widest = max(block.width for block, _, _ in labels)
    height = statistics.median(block.lines[0].height for block, _, _ in labels)
    slack = MARGIN_INCH * dpi
    taken = {id(block) for block, _, _ in labels}
    out = []
    for block in candidates:
        line = block.lines[0]
        if (
            id(block) in taken
            or len("".join(_text(line).split())) > MISREAD_MAX_CHARS
            or block.width > MISREAD_WIDTH * widest
            or not STRAY_HEIGHT[0] * height <= line.height <= STRAY_HEIGHT[1] * height
        ):
            continue
        hit = _line_beside(block, blocks, dpi)
        if hit and min(starts) - slack <= hit[0].left <= max(starts) + slack:
            out.append((block, *hit))
    return out


def join_label_column(blocks: list[Block], dpi: int) -> tuple[list[Block], int, int]:
    """Blocks with the label column's lines moved into the lines they belong to; how many labels moved, and how
    many of them OCR misread (they keep the text tesseract read)."""
    margin = min(block.left for block in blocks) if blocks else 0
    pieces = _one_line_blocks(blocks, dpi, margin)
    candidates = [b for b in pieces if len(b.lines) == 1 and _in_label_column(b, dpi, margin)]
    labels: list[tuple[Block, Line, Block]] = []  # (label's block, the line it goes to, that line's block)
    for block in candidates:
        # a logo's or a stamp's junk at the margin, read as a line of its own, does not read as a label
        if LABEL_ALONE_RE.fullmatch(_text(block.lines[0])) and (hit := _line_beside(block, pieces, dpi)):
            labels.append((block, *hit))
    if not labels:
        return blocks, 0, 0
    misread = _misread_labels(candidates, labels, pieces, dpi)
    labels += misread
    moved = {id(block) for block, _, _ in labels}
    column_left = min(other.left for _, _, other in labels)
    text = [b for b in pieces if id(b) not in moved and b.left >= column_left]
    strays: list[tuple[Block, Line]] = []  # (a stray block, the line it goes after)
    for block in pieces:
        if id(block) in moved or block.right > column_left or len(block.lines) > STRAY_MAX_LINES:
            continue
        if any(_beside(stray, line) for stray in block.lines for b in text for line in b.lines):
            continue
        # by middles: on a skewed scan a long line's box reaches down past the stray line's top
        above = [line for b in text for line in b.lines if line.top + line.bottom < 2 * block.lines[0].top]
        host = max(above, key=lambda line: line.top + line.bottom) if above else None
        if host and _goes_on(host, block.lines[0]):
            strays.append((block, host))
    for block, line, _ in labels:
        line.words[:0] = block.lines[0].words
        line.par_start = True
    for block, host in strays:
        lines = next(b.lines for b in text if any(line is host for line in b.lines))
        at = next(i for i, line in enumerate(lines) if line is host) + 1
        lines[at:at] = [Line(stray.words, par_start=False) for stray in block.lines]
        moved.add(id(block))
    return [b for b in pieces if id(b) not in moved], len(labels), len(misread)


def _letters(line: Line) -> int:
    return sum(c.isalpha() for w in line.words for c in w.text)


def _meet(left: Line, right: Line) -> bool:
    """Does `right` go on from `left` on the same line? Their words at the seam stand beside each other (the
    lines' own boxes do not on a skewed page: a long line's box is taller than its type)."""
    return _beside(left.words[-1], right.words[0])


def split_lines(blocks: list[Block]) -> int:
    """How many lines tesseract cut into fragments of different blocks (see the module docstring)."""
    lines = [
        (i, line, line.height, _letters(line) >= SPLIT_MIN_LETTERS)
        for i, block in enumerate(blocks)
        for line in block.lines
    ]
    cuts = 0
    for i, left, left_height, left_text in lines:
        for j, right, right_height, right_text in lines:
            height = max(left_height, right_height)  # a line of small letters has a low median
            cuts += (
                i != j
                and left_text
                and right_text
                and -SEAM_OVERLAP * height <= right.left - left.right <= SPLIT_GAP_HEIGHTS * height
                and STRAY_HEIGHT[0] <= left_height / max(right_height, 1) <= STRAY_HEIGHT[1]
                and not (left.words[-1].text.endswith(RULE) or right.words[0].text.startswith(RULE))
                and _meet(left, right)
            )
    return cuts


def _inside(line: Line, other: Line) -> tuple[int, int] | None:
    """Where `other` stands inside `line`, between two of its words and beside both: (k1, k2), `line` cut
    before its words k1 and k2 (the words between, if any, are specks of SPECK_CHARS at most: an accent read
    apart); None when it does not."""
    if other.left <= line.left or other.right >= line.right:
        return None
    slack = SEAM_OVERLAP * max(line.height, other.height)
    k1 = next((k for k, w in enumerate(line.words) if w.right > other.left + slack), None)
    k2 = next((k for k, w in enumerate(line.words) if w.left >= other.right - slack), None)
    if not k1 or k2 is None or k2 < k1 or any(len(w.text) > SPECK_CHARS for w in line.words[k1:k2]):
        return None
    before, after = line.words[k1 - 1], line.words[k2]
    if (
        before.right - slack <= other.left
        and _beside(before, other.words[0])
        and _beside(other.words[-1], after)
    ):
        return k1, k2
    return None


def cut_interleaved(blocks: list[Block]) -> tuple[list[Block], int]:
    """Blocks with each line cut where a line of another block stands between two of its words (see the module
    docstring), and how many lines stand so inside another; `blocks` themselves are left as they are."""
    block_of = {id(line): i for i, block in enumerate(blocks) for line in block.lines}
    lines = [line for block in blocks for line in block.lines if _letters(line) >= SPLIT_MIN_LETTERS]
    cuts: dict[int, set[int]] = {}
    found = 0
    for line in lines:
        for other in lines:
            if block_of[id(line)] != block_of[id(other)] and (at := _inside(line, other)):
                cuts.setdefault(id(line), set()).update(at)
                found += 1
    if not found:
        return blocks, 0
    out = []
    for block in blocks:
        pieces = []
        for line in block.lines:
            edges = [
                0,
                *sorted(k for k in cuts.get(id(line), ()) if 0 < k < len(line.words)),
                len(line.words),
            ]
            pieces += [
                Line(line.words[a:b], par_start=line.par_start and not a)
                for a, b in zip(edges, edges[1:], strict=False)
            ]
        out.append(Block(pieces))
    return out, found


def _centre(word: Word) -> tuple[float, float]:
    return (word.left + word.right) / 2, (word.top + word.bottom) / 2


def _slope(lines: list[Line]) -> float:
    """The page's skew (dy/dx), the median over its lines of three words or more."""
    slopes = []
    for line in lines:
        (x0, y0), (x1, y1) = _centre(line.words[0]), _centre(line.words[-1])
        if len(line.words) >= 3 and x1 > x0:
            slopes.append((y1 - y0) / (x1 - x0))
    return statistics.median(slopes) if slopes else 0.0


def skew(blocks: list[Block]) -> float:
    """The page's skew (dy/dx of its text lines)."""
    return _slope([line for block in blocks for line in block.lines])


def _chains(lines: list[Line]) -> list[list[Line]]:
    """Lines chained into rows: each fragment followed by the nearest one to its right that goes on from it
    (_meet)."""
    after: dict[int, Line] = {}
    taken: set[int] = set()
    for line in sorted(lines, key=lambda line: line.left):
        nearest = [
            other
            for other in lines
            # further right only: a chain never comes back to a line, so no line is lost in a loop
            if other.left > line.left
            and id(other) not in taken
            and other.left >= line.right - SEAM_OVERLAP * line.height
            and _meet(line, other)
        ]
        if nearest:
            after[id(line)] = min(nearest, key=lambda other: other.left)
            taken.add(id(after[id(line)]))
    rows = []
    for line in lines:
        if id(line) in taken:
            continue
        row = [line]
        while id(row[-1]) in after:
            row.append(after[id(row[-1])])
        rows.append(row)
    return rows


def _level(words: list[Word], slope: float) -> float:
    """Where a row (or a cell's line) stands on the page turned straight: its first word's middle, less the skew."""
    return straighten(*_centre(words[0]), slope)[1]


def _row_words(row: list[Line]) -> list[Word]:
    """A row's words, left to right; a word the seam between two fragments cut is joined again ("se" +
    "r detalhados", "EN" + "SINO")."""
    words = list(row[0].words)
    for previous, fragment in zip(row, row[1:], strict=False):
        last, first = words[-1], fragment.words[0]
        a, b = last.text[-1:], first.text[:1]
        if (
            fragment.left - previous.right <= CUT_GAP_HEIGHTS * max(fragment.height, previous.height)
            and a.isalpha()
            and b.isalpha()
            and (b.islower() or a.isupper())
        ):
            words[-1] = Word(
                last.text + first.text,
                last.left,
                min(last.top, first.top),
                first.right,
                max(last.bottom, first.bottom),
            )
            words += fragment.words[1:]
        else:
            words += fragment.words
    return words


def _is_speck(word: Word) -> bool:
    return len(word.text) <= SPECK_CHARS and not any(c.isalnum() for c in word.text)


def _shed_specks(line: Line) -> list[Line]:
    """`line` with a speck at either end ("-", "/"), further than SPLIT_GAP_HEIGHTS from the next word, made a
    piece of its own: tesseract added it to the line from where it lies, maybe inside another piece ("-" inside
    "Inciso … do Artigo", before "75. do Regimento"), and the line could not chain after that piece."""
    words, height = line.words, line.height
    head = (
        len(words) > 1 and _is_speck(words[0]) and words[1].left - words[0].right > SPLIT_GAP_HEIGHTS * height
    )
    rest = words[1:] if head else words
    tail = (
        len(rest) > 1 and _is_speck(rest[-1]) and rest[-1].left - rest[-2].right > SPLIT_GAP_HEIGHTS * height
    )
    body = rest[:-1] if tail else rest
    pieces = [Line([words[0]], line.par_start)] if head else []
    pieces.append(Line(body, line.par_start and not head))
    return pieces + ([Line([rest[-1]], par_start=False)] if tail else [])


def read_by_rows(blocks: list[Block]) -> list[Block]:
    """The page as one block read row by row (see the module docstring); a row begins a paragraph when it
    stands further below the row above than PARAGRAPH_PITCH times the page's usual distance."""
    lines = [piece for block in blocks for line in block.lines for piece in _shed_specks(line)]
    if not lines:
        return []
    slope = _slope(lines)
    # top to bottom, the page turned straight
    placed = sorted(
        ((_level(row[0].words, slope), row) for row in _chains(lines)), key=lambda placed: placed[0]
    )
    levels = [level for level, _ in placed]
    rows = [row for _, row in placed]
    height = statistics.median(line.height for line in lines)
    steps = [b - a for a, b in zip(levels, levels[1:], strict=False) if b - a > 0.5 * height]
    pitch = statistics.median(steps) if steps else height
    return [
        Block(
            [
                Line(_row_words(row), par_start=k == 0 or levels[k] - levels[k - 1] > PARAGRAPH_PITCH * pitch)
                for k, row in enumerate(rows)
            ]
        )
    ]


def _cell_words(words: list[Word]) -> list[Word]:
    """A cell's words without the table's vertical rules that tesseract read as "|" (alone, or glued to a
    word's end: "Administrativa da|")."""
    out = []
    for word in words:
        text = word.text.strip(RULE)
        if text:
            out.append(Word(text, word.left, word.top, word.right, word.bottom))
    return out


def read_tables(blocks: list[Block], tables: list[Table], slope: float) -> tuple[list[Block], int]:
    """Blocks with the words of each ruled table (stages/documents/tables.py; `tables` in the straight frame of a page
    skewed by `slope`) read cell by cell: each cell one block, its lines (pieces of tesseract's lines that fall in
    it) top to bottom; a row whose cells are one line each, one line; the table where its first word was. Returns
    them and how many tables were read. A word belongs to the cell that holds its middle; the rest of the page
    keeps its order, and so does a table that is not whole (tables.whole_tables)."""
    words = [w for block in blocks for line in block.lines for w in line.words]
    middles = {id(w): straighten(*_centre(w), slope) for w in words}
    text = [middles[id(w)] for w in words if sum(c.isalnum() for c in w.text) >= TABLE_WORD_ALNUM]
    tables = whole_tables(tables, text)
    if not tables:
        return blocks, 0

    where = {id(w): cell_of(tables, *middles[id(w)]) for w in words}
    pieces: dict[tuple[int, int], list[list[Word]]] = {}
    for block in blocks:
        for line in block.lines:
            by_cell: dict[tuple[int, int], list[Word]] = {}
            for word in line.words:
                if (at := where[id(word)]) is not None:
                    by_cell.setdefault(at, []).append(word)
            for at, cell_words in by_cell.items():
                if cell_words := _cell_words(cell_words):
                    pieces.setdefault(at, []).append(cell_words)
    read: dict[int, list[Block]] = {}
    rows: dict[tuple[int, int], list[list[list[Word]]]] = {}  # (table, row) -> its cells' lines, in order
    for (t, c), lines in sorted(pieces.items()):
        rows.setdefault((t, tables[t].row_of[c]), []).append(sorted(lines, key=lambda ws: _level(ws, slope)))
    for (t, _row), cells in sorted(rows.items()):
        if all(len(lines) == 1 for lines in cells):  # "ANABELLE LOIVOS CONSIDERA 033360/06-20": one line
            read.setdefault(t, []).append(Block([Line([w for lines in cells for w in lines[0]], True)]))
        else:
            read.setdefault(t, []).extend(
                Block([Line(ws, par_start=k == 0) for k, ws in enumerate(lines)]) for lines in cells
            )
    out: list[Block] = []
    placed: set[int] = set()
    for block in blocks:
        kept: list[Line] = []
        for line in block.lines:
            outside = [word for word in line.words if where[id(word)] is None]
            if outside:  # a line that runs into a table (above its first rule) stays whole, before it
                kept.append(Line(outside, par_start=line.par_start or len(outside) < len(line.words)))
            for t in dict.fromkeys(at[0] for w in line.words if (at := where[id(w)]) is not None):
                if t in read and t not in placed:
                    if kept:
                        out.append(Block(kept))
                        kept = []
                    out += read[t]
                    placed.add(t)
        if kept:
            out.append(Block(kept))
    return out, len(placed)
