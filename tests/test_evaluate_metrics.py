"""Answer metrics on known strings, with Portuguese normalization (accents kept, articles dropped)."""

from __future__ import annotations

import pytest

from stages.metrics_text import exact_match, normalize_answer, rouge_l, score_answers, token_f1


def test_normalize_keeps_accents_and_drops_articles() -> None:
    assert normalize_answer("O Prazo é de 30 (trinta) dias, a contar da Publicação.") == (
        "prazo é de 30 trinta dias contar da publicação"
    )
    assert normalize_answer("Uma bolsa e umas férias; os alunos") == "bolsa e férias alunos"


def test_exact_match() -> None:
    assert exact_match("A lei.", "lei") == 1.0
    assert exact_match("É obrigatório", "e obrigatório") == 0.0  # "é" (is) and "e" (and) differ
    assert exact_match("", "") == 1.0


def test_token_f1_known_value() -> None:
    # pred tokens: prazo é de 30 dias; ref: prazo de trinta dias -> 3 common, P=3/5, R=3/4
    assert token_f1("O prazo é de 30 dias", "prazo de trinta dias") == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert token_f1("nada aqui", "prazo de trinta dias") == 0.0
    assert token_f1("", "algo") == 0.0


def test_rouge_l_known_value() -> None:
    # LCS of "x y z w" and "x z w y" is "x z w" (3 of 4 tokens each side)
    assert rouge_l("x y z w", "x z w y") == pytest.approx(0.75)
    assert rouge_l("as regras da bolsa", "regras da bolsa") == 1.0


def test_score_answers_means_and_length_check() -> None:
    scores = score_answers(["a lei", "nada"], ["lei", "algo"])
    assert scores == {"exact_match": 0.5, "f1": 0.5, "rouge_l": 0.5}
    with pytest.raises(ValueError):
        score_answers(["a"], [])
