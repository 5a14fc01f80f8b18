"""The benchmarks' accuracy measures (bench/textmetrics.py): the CER in reading order, and the CER with the order
of lines left aside, on texts whose errors are known by construction."""

from __future__ import annotations

import pytest

from bench.textmetrics import cer, flexible_cer

PARAGRAPHS = [
    "Art. 1º O estágio é ato educativo escolar supervisionado.",
    "§ 1º O estágio faz parte do projeto pedagógico do curso.",
    "Art. 2º O estágio poderá ser obrigatório ou não obrigatório.",
]
REF = "\n\n".join(PARAGRAPHS)


def test_the_same_text_costs_nothing_either_way() -> None:
    assert cer(REF, REF) == flexible_cer(REF, REF) == 0


def test_paragraphs_in_another_order_cost_only_in_reading_order() -> None:
    swapped = "\n\n".join([PARAGRAPHS[2], PARAGRAPHS[0], PARAGRAPHS[1]])
    assert cer(swapped, REF) > 0.3
    assert flexible_cer(swapped, REF) == 0


def test_a_table_read_row_by_row_against_a_text_layer_read_column_by_column() -> None:
    ref = "ATIVIDADE\nMonitoria\nTutoria\nPesquisa\nPONTUAÇÃO\n5 pontos por semestre\n3 pontos por semestre\n8 pontos"
    ocr = "ATIVIDADE PONTUAÇÃO\nMonitoria 5 pontos por semestre\nTutoria 3 pontos por semestre\nPesquisa 8 pontos"
    assert cer(ocr, ref) > 0.3
    assert flexible_cer(ocr, ref) == 0


@pytest.mark.parametrize(
    ("ocr", "edits"),
    [
        (REF.replace("§ 1º", "$ 1º"), 1),  # one misread character
        (REF.replace("estágio é", "estagio e"), 2),
        (REF.replace("Art. 2º", "Art, 2º").replace("supervisionado", "supervisionad"), 2),
        (REF.replace("pedagógico", "pedagé gico"), 2),  # a letter misread and a space put in
    ],
)
def test_misread_characters_cost_as_much_as_in_reading_order(ocr: str, edits: int) -> None:
    n = len(" ".join(REF.split()))
    assert cer(ocr, REF) == pytest.approx(edits / n)
    assert flexible_cer(ocr, REF) == pytest.approx(edits / n)


def test_what_is_lost_or_added_costs_in_full() -> None:
    n = len(" ".join(REF.split()))
    lost = "\n\n".join([PARAGRAPHS[0], PARAGRAPHS[2]])
    assert flexible_cer(lost, REF) == pytest.approx(len(PARAGRAPHS[1]) / n)
    junk = "sssiteseesesesaesersesersasaeo"
    assert flexible_cer(REF + "\n" + junk, REF) == pytest.approx(len(junk) / n)
    assert flexible_cer("", REF) == pytest.approx(len(REF.replace("\n\n", "")) / n)
