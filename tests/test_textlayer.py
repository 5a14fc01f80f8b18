"""The text layer without struck-through (revoked) text: the geometry rule on boxes, and a real Planalto page."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.documents.textlayer import column_blocks, drop_struck, read_text_layers, struck_mask, whole_runs

LDB_PAGE = Path(__file__).resolve().parent / "data/real/ldb_1996_struck_revoked_p2.pdf"
# a 10-point character box: left, bottom, right, top
CHAR = np.array([[100.0, 500.0, 105.0, 510.0]])


def test_a_thin_line_through_the_middle_strikes_a_character() -> None:
    assert struck_mask(CHAR, np.array([[90.0, 504.6, 200.0, 505.1]])).tolist() == [True]


def test_underlines_rules_and_bars_strike_nothing() -> None:
    lines = np.array(
        [
            [90.0, 500.2, 200.0, 500.7],  # an underline at the foot of the box
            [90.0, 511.0, 200.0, 511.5],  # a rule above the line
            [90.0, 502.0, 200.0, 508.0],  # a bar as thick as the letters (a highlight, a filled box)
            [106.0, 504.6, 200.0, 505.1],  # a line that starts after the character
        ]
    )
    assert struck_mask(CHAR, lines).tolist() == [False]
    assert struck_mask(CHAR, np.zeros((0, 4))).tolist() == [False]


def test_a_lone_glyph_drawn_as_a_path_is_no_strike() -> None:
    chars = list("Art. 3\ufffd Os ab")
    hit = np.array([c == "\ufffd" for c in chars])  # the ordinal's own underline, the glyph's width
    assert not whole_runs(chars, hit).any()
    words = np.array([i >= 10 or 0 < i < 3 for i in range(len(chars))])  # "rt" and "ab": too short
    assert not whole_runs(chars, words).any()


def test_struck_lines_go_whole_and_struck_words_leave_no_double_space() -> None:
    text = "I - ensino;\r\nII - velho texto;\r\nII - texto novo velho e atual\r\nfim"
    struck = [False] * len(text)
    for start, word in ((text.index("II - velho"), "II - velho texto;"), (text.rindex("velho "), "velho ")):
        for i in range(start, start + len(word)):
            struck[i] = not text[i].isspace()
    kept = drop_struck(list(text), struck)
    assert kept == "I - ensino;\nII - texto novo e atual\nfim"


def test_a_planalto_page_keeps_the_wording_in_force_only() -> None:
    (page,) = read_text_layers(LDB_PAGE)
    assert "II - progressiva extensão" not in page.text
    assert (
        "II - universalização do ensino médio gratuito; (Redação dada pela Lei nº 12.061, de \n2009)"
        in page.text
    )
    assert page.struck_chars == 64
    assert "ensino-\naprendizagem" in page.text and "\ufffe" not in page.text and "\r" not in page.text
    (whole,) = read_text_layers(LDB_PAGE, drop_struck_text=False)
    assert "II - progressiva extensão da obrigatoriedade e gratuidade ao ensino médio;" in whole.text
    assert whole.struck_chars == 0 and len(whole.text) > len(page.text)


DOU_PAGE = Path(__file__).resolve().parent / "data/textlayer/dou_2006_three_columns_p1.pdf"


def test_a_three_column_page_is_read_column_by_column() -> None:
    (page,) = read_text_layers(DOU_PAGE)
    assert page.columns
    text = page.text
    # column 1 (the ANAC's decision), column 2 (its end, then the Ministry of Education), column 3 (the end of
    # the UFRN's portaria begun at the foot of column 2, then the Ministry of Finance)
    marks = [
        "AGÊNCIA NACIONAL DE AVIAÇÃO CIVIL",
        "CHETA",
        "GABINETE DO MINISTRO",
        "MPOG",
        "07/11/2002; e CONSIDERANDO",
    ]
    marks += ["JOSÉ IVONILDO DO RÊGO", "SECRETARIA DA RECEITA FEDERAL"]
    positions = [text.find(m) for m in marks]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "em-\npresa de transporte" in text  # a line-end hyphen put back, no blank line after it


def test_a_single_column_page_keeps_the_stream_order() -> None:
    (page,) = read_text_layers(LDB_PAGE)
    assert not page.columns


def test_a_narrow_column_of_labels_is_no_text_column() -> None:
    """Labels set in a table cell beside their text ("Art. 1o" | "Esta Lei visa ..."): one block per row, in order."""
    boxes, rows = [], []
    for row in range(6):  # 6 articles of 3 lines each on an A4 page (595 x 842 pt)
        top = 780 - row * 60
        boxes.append([60, top - 10, 100, top])  # the label, 40 pt wide
        rows.append(row)
        for line in range(3):
            boxes.append([130, top - 10 - 14 * line, 540, top - 14 * line])
            rows.append(row)
    blocks, cuts = column_blocks(np.array(boxes, dtype=float), np.arange(len(boxes)), (595.0, 842.0))
    assert cuts == 0
    assert [rows[b[0]] for b in blocks] == sorted(rows[b[0]] for b in blocks)


def test_two_wide_columns_are_cut_once() -> None:
    boxes = [[60, 780 - 14 * i, 290, 790 - 14 * i] for i in range(40)]
    boxes += [[305, 780 - 14 * i, 535, 790 - 14 * i] for i in range(40)]
    blocks, cuts = column_blocks(np.array(boxes, dtype=float), np.arange(80), (595.0, 842.0))
    assert cuts == 1
    order = np.concatenate(blocks)
    assert sorted(order[:40]) == list(range(40))  # the left column whole, then the right one
