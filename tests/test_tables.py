"""Ruled tables read cell by cell, row by row: the grid (stages/documents/tables.py), a text layer's table
(stages/documents/textlayer.py) and a scanned one (stages/documents/layout.py through the ocr stage, real tesseract)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from stages.documents.corpus import run_ocr
from stages.documents.layout import Block, Line, Word, read_tables, render
from stages.documents.settings import OcrParams
from stages.documents.tables import Rule, find_tables, image_tables, merge_rules, straighten, whole_tables
from stages.documents.textlayer import read_text_layers
from stages.records.base import from_dict
from stages.records.pages import OcrDocument

H, V = True, False


def grid(ys: list[float], xs: list[float], skip: tuple[tuple[bool, float, float], ...] = ()) -> list[Rule]:
    """The rules of a full grid, drawn cell side by cell side (as Word does), less the sides in `skip`:
    (across, at, the middle of the side left out)."""
    rules = []
    for y in ys:
        for a, b in zip(xs, xs[1:], strict=False):
            if (H, y, (a + b) / 2) not in skip:
                rules.append(Rule(H, y, a, b))
    for x in xs:
        for a, b in zip(ys, ys[1:], strict=False):
            if (V, x, (a + b) / 2) not in skip:
                rules.append(Rule(V, x, a, b))
    return rules


def test_cells_are_numbered_row_by_row() -> None:
    (table,) = find_tables(grid([100, 130, 160], [50, 200, 400]), tol=3)
    assert table.cells == 4
    assert [table.cell_at(x, y) for y in (115, 145) for x in (100, 300)] == [0, 1, 2, 3]
    assert table.cell_at(40, 115) == table.cell_at(100, 170) == -1  # outside


def test_a_letter_standing_on_a_rule_parts_no_cell() -> None:
    # an "l" in a cell whose foot touches the rule below it: a vertical stroke from one rule, not to another
    stroke = Rule(V, 120, 112, 130)
    (table,) = find_tables([*grid([100, 130, 160], [50, 200, 400]), stroke], tol=3)
    assert table.cells == 4 and table.cell_at(100, 120) == table.cell_at(150, 120) == 0


def test_a_cell_spanning_two_rows_is_one_cell() -> None:
    # the left column's cell spans both rows: no rule between them there
    (table,) = find_tables(grid([100, 130, 160], [50, 200, 400], skip=((H, 130, 125),)), tol=3)
    assert table.cells == 3
    assert table.cell_at(100, 115) == table.cell_at(100, 145) == 0
    assert (table.cell_at(300, 115), table.cell_at(300, 145)) == (1, 2)


def test_a_region_open_to_the_outside_is_no_cell() -> None:
    # the top-right rectangle has no rule on its top edge: text above the table is not in a cell
    (table,) = find_tables(grid([100, 130, 160], [50, 200, 400], skip=((H, 100, 300),)), tol=3)
    assert table.cell_at(300, 115) == -1
    assert table.cells == 3


def test_no_table_from_a_box_an_underline_or_letter_strokes() -> None:
    box = grid([100, 160], [50, 400])  # one framed paragraph: one cell
    underline = [Rule(H, 300, 50, 400)]
    strokes = [Rule(V, x, 290, 299) for x in (60, 80, 120)]  # short verticals touching the underline only
    assert find_tables(box + underline + strokes, tol=3) == []


def test_a_table_with_text_outside_its_cells_is_not_read_by_cells() -> None:
    # a scanned form whose left edge was not found beside its first row: that cell is open, and the words
    # there are in the table's box but in no cell; reading the rest by cells would tear the rows apart
    (table,) = find_tables(grid([100, 130, 160], [50, 200, 400, 600], skip=((V, 50, 115),)), tol=3)
    assert table.cell_at(100, 115) == -1 and table.cell_at(300, 115) >= 0
    assert whole_tables([table], [(300, 115), (300, 200)]) == [table]  # a word below the table: no matter
    assert whole_tables([table], [(300, 115), (100, 115)]) == []
    # a word beside it, on its rows: only part of a wider table was found (the calendar's column of boxes)
    (whole,) = find_tables(grid([100, 130, 160], [200, 400]), tol=3)
    assert whole_tables([whole], [(300, 115), (700, 145)]) == []


def test_pieces_of_a_rule_are_joined() -> None:
    pieces = [Rule(H, 100, 0, 40), Rule(H, 101, 45, 90), Rule(H, 100, 200, 300)]
    joined = merge_rules(pieces, tol=3, gap=10)
    assert sorted((r.start, r.end) for r in joined) == [(0, 90), (200, 300)]


# --- a table whose text is written across the row, line by line (as UFMA's producer does) -----------------
A = ["Analisar o recurso para", "fins de conhecimento."]
B = ["Emitir despacho e notificar", "o requerente no prazo."]
C = ["Efetuar a matrícula do", "discente aprovado."]
D = ["Arquivar o processo na", "secretaria do curso."]
PAGE = (595, 842)


def table_pdf(path: Path) -> Path:
    """A born-digital page: a sentence, a 2 x 2 ruled table whose cells' lines are written across the rows
    (A1 B1 A2 B2), a sentence."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=PAGE, invariant=1)
    c.setFont("Helvetica", 12)
    top = PAGE[1]
    c.drawString(60, top - 80, "Art. 1º As etapas do processo seguem a tabela abaixo.")
    ys, xs = [110, 170, 230], [55, 196, 540]  # text close to the middle rule
    c.setLineWidth(0.8)
    for y in ys:
        c.line(xs[0], top - y, xs[-1], top - y)
    for x in xs:
        c.line(x, top - ys[0], x, top - ys[-1])
    for row, (left, right) in enumerate(((A, B), (C, D))):
        for k in range(2):  # across the row: the left cell's line, then the right cell's
            y = top - ys[row] - 22 - 16 * k
            c.drawString(xs[0] + 4, y, left[k])
            c.drawString(xs[1] + 4, y, right[k])
    c.drawString(60, top - 270, "Art. 2º Esta resolução entra em vigor na data de sua publicação.")
    c.showPage()
    c.save()
    return path


def assert_cells_in_order(text: str) -> None:
    """Each cell's two lines together, the cells row by row, between the sentences before and after."""
    flat = " ".join(text.lower().split())  # OCR's "Arquivar O processo" is no matter of order
    cells = [" ".join(cell).lower() for cell in (A, B, C, D)]
    where = [flat.find(cell) for cell in cells]
    assert -1 not in where, (cells, flat)
    assert where == sorted(where), flat
    assert flat.find("art. 1º") < where[0] and where[-1] < flat.find("art. 2º"), flat


def test_text_layer_table_is_read_cell_by_cell(tmp_path: Path) -> None:
    pdf = table_pdf(tmp_path / "table.pdf")
    (page,) = read_text_layers(pdf)
    assert page.tables == 1
    assert_cells_in_order(page.text)
    (stream,) = read_text_layers(pdf, read_tables=False)  # the producer's order interleaves the cells
    assert stream.tables == 0
    assert " ".join(A) not in " ".join(stream.text.split())


def roster_pdf(path: Path, rows: list[tuple[str, str]]) -> Path:
    """A born-digital page with a ruled two-column list of one-line cells, written column by column (names,
    then numbers), as PORTARIA 1.632/2006's list of fellows is."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=PAGE, invariant=1)
    c.setFont("Helvetica", 12)
    top = PAGE[1]
    ys = [100 + 24 * k for k in range(len(rows) + 1)]
    xs = [55, 330, 540]
    c.setLineWidth(0.6)
    for y in ys:
        c.line(xs[0], top - y, xs[-1], top - y)
    for x in xs:
        c.line(x, top - ys[0], x, top - ys[-1])
    for column in range(2):
        for k, row in enumerate(rows):
            c.drawString(xs[column] + 6, top - ys[k] - 17, row[column])
    c.showPage()
    c.save()
    return path


def test_a_row_of_one_line_cells_is_one_line(tmp_path: Path) -> None:
    rows = [
        ("Nome", "Nº Processo"),
        ("ANABELLE LOIVOS CONSIDERA", "033360/06-20"),
        ("HELEN FERRAZ", "039233/06-26"),
    ]
    pdf = roster_pdf(tmp_path / "roster.pdf", rows)
    (page,) = read_text_layers(pdf)
    assert page.tables == 1
    assert [line for line in page.text.splitlines() if line.strip()] == [f"{a} {b}" for a, b in rows]
    (stream,) = read_text_layers(pdf, read_tables=False)
    assert "ANABELLE LOIVOS CONSIDERA 033360/06-20" not in stream.text  # the names first, then the numbers


def test_a_drawing_whose_rules_cut_words_is_no_table(tmp_path: Path) -> None:
    # text running over a column's rule (a calendar's lines drawn across its boxes): no grid of cells
    from reportlab.pdfgen import canvas

    path = tmp_path / "over.pdf"
    c = canvas.Canvas(str(path), pagesize=PAGE, invariant=1)
    c.setFont("Helvetica", 12)
    top = PAGE[1]
    ys, xs = [110, 170, 230], [55, 196, 540]
    for y in ys:
        c.line(xs[0], top - y, xs[-1], top - y)
    for x in xs:
        c.line(x, top - ys[0], x, top - ys[-1])
    c.drawString(60, top - 140, "Aprovado administrativamente em 2022")  # runs over the rule at 196
    c.drawString(60, top - 200, "Final")
    c.drawString(200, top - 200, "27/02/2023")
    c.showPage()
    c.save()
    (page,) = read_text_layers(path)
    assert page.tables == 0
    assert page.text == read_text_layers(path, read_tables=False)[0].text


def scanned(pdf: Path, out: Path, degrees: float) -> Path:
    """`pdf` rendered at 300 dpi, turned `degrees` (a skewed scan), as an image-only PDF."""
    doc = pdfium.PdfDocument(pdf)
    img = doc[0].render(scale=300 / 72).to_pil().convert("L")
    doc.close()
    img.rotate(degrees, resample=Image.BICUBIC, fillcolor=255).save(out, "PDF", resolution=300)
    return out


@pytest.mark.parametrize("degrees", [-0.7, 0.4, 1.2])
def test_scanned_table_is_read_cell_by_cell(tmp_path: Path, degrees: float) -> None:
    pdf = scanned(table_pdf(tmp_path / "born.pdf"), tmp_path / "scan.pdf", degrees)
    texts = {}
    for on in (True, False):
        out = tmp_path / f"out-{on}"
        p = OcrParams(input_dir=str(tmp_path), workers=1, read_tables=on)
        run = run_ocr([pdf], p, out, tmp_path / f"cache-{on}")
        (page,) = from_dict(OcrDocument, json.loads((out / "scan.json").read_text())).pages
        assert page.method == "ocr" and page.count("tables_read") == run.counts["tables_read"] == int(on)
        texts[on] = page.text
    assert_cells_in_order(texts[True])
    with pytest.raises(
        AssertionError
    ):  # tesseract's own order is not the cells' (else this test proves nothing)
        assert_cells_in_order(texts[False])


def test_rules_found_on_a_skewed_image_and_none_on_text() -> None:
    img = Image.new("L", (1800, 1200), 245)
    a = np.asarray(img).copy()
    ys, xs = [300, 500, 700], [200, 900, 1600]
    for y in ys:
        a[y - 1 : y + 2, xs[0] : xs[-1] + 2] = 30
    for x in xs:
        a[ys[0] : ys[-1] + 2, x - 1 : x + 2] = 30
    a[350:380:4, 300:800] = 30  # lines of "text": thick strokes, no rule
    a[640:699, 1000:1200] = 30  # a word sitting on the bottom rule: no paper below its letters and the rule
    turned = np.asarray(Image.fromarray(a).rotate(1.0, resample=Image.BICUBIC, fillcolor=245))
    slope = -np.tan(np.radians(1.0))  # PIL turns counter-clockwise: lines rise to the right
    (table,) = image_tables(turned, 300, slope)
    assert table.cells == 4
    centre = np.array([[1800 / 2], [1200 / 2]])
    for (x, y), cell in (((550, 400), 0), ((1250, 400), 1), ((550, 600), 2), ((1250, 600), 3)):
        # the middle of each cell, turned the way the page was (about the image's centre)
        t = np.radians(1.0)
        dx, dy = x - centre[0, 0], y - centre[1, 0]
        tx, ty = (
            centre[0, 0] + dx * np.cos(t) + dy * np.sin(t),
            centre[1, 0] - dx * np.sin(t) + dy * np.cos(t),
        )
        assert table.cell_at(*straighten(tx, ty, slope)) == cell
    text_only = np.full((1200, 1800), 245, np.uint8)
    text_only[350:700:6, 300:1500] = 30  # many long thin lines close together: ruled paper, no vertical rule
    assert image_tables(text_only, 300, 0.0) == []


# --- tesseract's word boxes read by cells (stages/documents/layout.py), on hand-made boxes ------------------------------
def word(text: str, x: int, y: int) -> Word:
    return Word(text, x, y, x + 10 * len(text), y + 20)


def line(*words: Word) -> Line:
    return Line(list(words), par_start=False)


TABLE = grid([100, 200, 300], [0, 500, 1000])  # two rows of two cells, in pixels


def test_scanned_cells_read_row_by_row_and_a_row_of_one_liners_is_one_line() -> None:
    # tesseract read across the rows, the cells' lines interleaved; the second row's cells are one line each
    blocks = [
        Block([line(word("Antes", 0, 40))]),
        Block(
            [
                line(word("Abrir", 20, 120), word("Receber|", 520, 120)),
                line(word("processo", 20, 150), word("a", 520, 150), word("|", 995, 150)),
                line(word("Tramitar", 20, 240), word("PROEN", 520, 240)),
            ]
        ),
        Block([line(word("Depois", 0, 340))]),
    ]
    tables = find_tables(TABLE, tol=5)
    out, read = read_tables(blocks, tables, 0.0)
    assert read == 1
    assert render(out).split("\n\n") == [
        "Antes",
        "Abrir\nprocesso",
        "Receber\na",
        "Tramitar PROEN",
        "Depois\n",
    ]


def test_a_line_running_into_the_table_stays_whole_before_it() -> None:
    # "CURSO: PERÍODO LETIVO:" stands above the first rule found (a shaded bar's edge is no thin rule); a
    # speck on the rule went into tesseract's line: the line stays whole, before the table
    blocks = [
        Block([line(word("CURSO:", 20, 80), word("q", 400, 92), word("LETIVO:", 520, 80))]),
        Block([line(word("DISCIPLINA", 20, 150), word("SIGLA", 520, 150))]),
    ]
    out, read = read_tables(blocks, find_tables(TABLE, tol=5), 0.0)
    assert read == 1
    assert render(out).splitlines()[0] == "CURSO: LETIVO:"


def test_a_scanned_table_with_words_outside_its_cells_keeps_tesseracts_order() -> None:
    blocks = [Block([line(word("NOME:", 20, 120), word("Nº", 520, 120)), line(word("CPF", 1100, 240))])]
    out, read = read_tables(blocks, find_tables(TABLE, tol=5), 0.0)
    assert read == 0 and out is blocks
