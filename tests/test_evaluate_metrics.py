"""Answer metrics on known strings, with Portuguese normalization (accents kept, articles dropped)."""

from __future__ import annotations

import pytest

from stages.scoring.metrics import exact_match, normalize_answer, rouge_l, score_answers, token_f1


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


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("não excederá 6 (seis) horas diárias e 30 (trinta) horas semanais", {"num:6", "num:30"}),
        ("bolsa não inferior a R$ 1.200,00 (mil e duzentos reais)", {"money:1200"}),
        ("frequência mínima de 75% (setenta e cinco por cento)", {"pct:75"}),
        ("setenta e cinco por cento das aulas", {"pct:75"}),
        (
            "nos termos do Art. 5º, § 2º e do parágrafo único do artigo 12",
            {"art:5", "par:2", "art:12", "par:unico"},
        ),
        (
            "publicada em 29 de outubro de 2015, vigente desde 10/03/2020",
            {"date:2015-10-29", "date:2020-03-10"},
        ),
        ("Lei nº 11.788 e o Art. 1.027 do Código Civil", {"num:11788", "art:1027"}),
        ("pode trancar duas vezes, por até dois semestres, num prazo de quinze dias", {"num:2", "num:15"}),
        ("um estudante e uma comissão decidem", set()),  # "um"/"uma" before no quantity: articles
    ],
)
def test_key_facts(text: str, facts: set[str]) -> None:
    from stages.scoring.key_facts import key_facts

    assert key_facts(text) == facts


def test_key_fact_recall_ignores_what_the_question_says() -> None:
    from stages.scoring.metrics import key_fact_recall

    reference = "O relatório é entregue a cada 6 (seis) meses; o final, em 15 (quinze) dias."
    assert key_fact_recall("a cada seis meses", reference, "Qual o prazo?") == 0.5
    assert key_fact_recall("seis meses e quinze dias", reference) == 1.0
    # the article number is given by the question: echoing it earns nothing
    assert key_fact_recall("O Art. 5º diz", "O Art. 5º fixa 10 dias.", "O que diz o Art. 5º?") == 0.0
    assert key_fact_recall("qualquer coisa", "Sem números aqui.") is None


def test_bootstrap_intervals_cover_the_mean_and_shrink_with_more_pairs() -> None:
    import numpy as np

    from stages.scoring.metrics import bootstrap_ci, paired_delta_ci

    rng = np.random.default_rng(0)
    small, large = rng.normal(0.5, 0.2, 20), rng.normal(0.5, 0.2, 500)
    mean, low, high = bootstrap_ci(small)
    assert low < mean < high and mean == pytest.approx(small.mean())
    _, low2, high2 = bootstrap_ci(large)
    assert high2 - low2 < (high - low) / 3
    assert bootstrap_ci(small) == bootstrap_ci(small)  # seeded
    # weighted mean: a token-weighted loss
    assert bootstrap_ci([1.0, 3.0], weights=[3, 1])[0] == pytest.approx(1.5)
    # paired: a constant improvement of 0.1 on noisy pairs is certain; no improvement straddles 0
    delta, dlow, dhigh = paired_delta_ci(large + 0.1, large)
    assert delta == pytest.approx(0.1) and dlow == pytest.approx(0.1) and dhigh == pytest.approx(0.1)
    _, nlow, nhigh = paired_delta_ci(rng.normal(0.5, 0.2, 40), rng.normal(0.5, 0.2, 40))
    assert nlow < 0 < nhigh
    with pytest.raises(ValueError):
        paired_delta_ci([1.0], [1.0, 2.0])
