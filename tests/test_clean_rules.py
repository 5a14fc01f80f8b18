"""Unit tests of the clean stage's rules, one group per rule, on small hand-written inputs."""

from __future__ import annotations

import pytest

from stages.core.params import ParamsError, build_params
from stages.text.clean.chars import normalize_unicode, normalize_whitespace
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams, find_running_lines, is_junk_line
from stages.text.clean.numbering import fix_numbering
from stages.text.clean.paragraphs import join_paragraphs, keep_hyphen, word_counts
from stages.text.fold import squash_ws
from stages.text.legis.misreads import from_roman, to_roman

P = CleanParams()


def clean(text: str) -> str:
    return clean_document([text], P)[0]


# --- 1. unicode ---------------------------------------------------------------------------------


def test_nfc_composes_decomposed_accents() -> None:
    text, counts = normalize_unicode("avaliac\u0327a\u0303o")
    assert text == "avaliação" and counts["nfc"] == 1


def test_control_characters_removed_newlines_and_tabs_kept() -> None:
    text, counts = normalize_unicode("Art.\x00 1º\x07 O\tprazo\x1b\nfim")
    assert text == "Art. 1º O\tprazo\nfim"
    assert counts["control_chars"] == 3


def test_ligatures_expanded() -> None:
    text, counts = normalize_unicode("ﬁcam ﬂuxo staﬀ eﬃcient baﬄe")
    assert text == "ficam fluxo staff efficient baffle"
    assert counts["ligatures"] == 5


def test_odd_spaces_zero_width_and_unicode_hyphens() -> None:
    text, _ = normalize_unicode("R$\u00a01.000,00\u200b e\u202fpós\u2010graduação \ufeffx\u2212y")
    assert text == "R$ 1.000,00 e pós-graduação x-y"


def test_soft_hyphen_at_line_end_joins_the_word() -> None:
    assert clean("avalia\u00ad\nção do curso") == "avaliação do curso\n"
    assert normalize_unicode("co\u00adope\u00adração")[0] == "cooperação"


def test_degree_sign_after_number_becomes_ordinal_but_not_temperature() -> None:
    text, _ = normalize_unicode("Art. 5° O n° 12 e o § 2°, a 25 °C e 30°C.")
    assert text == "Art. 5º O nº 12 e o § 2º, a 25 °C e 30°C."


@pytest.mark.parametrize(
    "legal",
    [
        "Art. 5º Fica instituído o programa.",
        "O valor é de R$ 1.000,00 (mil reais).",
        "Será aprovado com nota 5,0 (cinco).",
        "Publicada em 15/03/2024, às 10h30.",
        "§ 2º O prazo é de 30 (trinta) dias; e",
        'Denominado "Programa Vale", com 87ª sessão, 100% e 1,5 salário mínimo.',
        "Dados: e-mail reitoria@ufvv.edu.br; nota* e + ou ! ~ _ \\",
    ],
)
def test_punctuation_survives(legal: str) -> None:
    # The original approach deleted " \ _ . , @ * ~ $ ! +; every one of them must come through.
    assert clean(legal) == legal + "\n"


# --- 2. whitespace ------------------------------------------------------------------------------


def test_whitespace_squeezed_and_stripped() -> None:
    assert normalize_whitespace("  Art.   1º \t O  prazo  \n\n  fim ") == ["Art. 1º O prazo", "", "fim"]


# --- 3. running headers, footers, page numbers --------------------------------------------------

HEADER = "UNIVERSIDADE FEDERAL DO VALE VERDE - Pró-Reitoria de Graduação"


def _page(n: int, m: int, body: str, header: str = HEADER) -> str:
    return f"{header}\n\n{body}\n\nPágina {n} de {m}\n"


def test_header_and_page_footer_removed_across_pages() -> None:
    pages = [
        _page(1, 3, "Art. 1º Esta Resolução estabelece normas."),
        _page(
            2, 3, "Art. 2º O prazo é de 30 dias.", header=HEADER.replace("Graduação", "Graduacao")
        ),  # OCR noise
        _page(3, 3, "Art. 3º Esta Resolução entra em vigor."),
    ]
    text, counts = clean_document(pages, P)
    assert text == (
        "Art. 1º Esta Resolução estabelece normas.\n\n"
        "Art. 2º O prazo é de 30 dias.\n\n"
        "Art. 3º Esta Resolução entra em vigor.\n"
    )
    assert counts["dropped_header_footer"] == 3
    assert counts["dropped_page_number"] == 3


@pytest.mark.parametrize("number", ["- 3 -", "3", "— 12 —", "Pág. 4", "página 2/5", "(7)", "Página 2 de 5"])
def test_lone_page_numbers_at_page_edges_removed(number: str) -> None:
    pages = [f"Art. 1º O texto segue.\n{number}", f"{number}\nArt. 2º Outro texto."]
    drop = find_running_lines([normalize_whitespace(p) for p in pages], P)
    assert set(drop.values()) == {"page_number"} and len(drop) == 2


def test_repeated_lines_in_the_middle_of_pages_kept() -> None:
    # Only the first/last `edge_lines` lines are candidates; body lines repeated elsewhere stay.
    body = "{w} a\n{w} b\n{w} c\n{w} d\nOs casos omissos serão resolvidos pelo Conselho Universitário.\n{w} e\n{w} f\n{w} g"
    pages = [body.format(w=word) for word in ("primeira", "segunda", "terceira")]
    text, counts = clean_document(pages, P)
    assert text.count("Os casos omissos") == 3
    assert "dropped_header_footer" not in counts


def test_headings_repeated_at_page_tops_are_not_headers() -> None:
    # "CAPÍTULO I"/"CAPÍTULO II" differ by one letter: short lines must match exactly, structure never drops.
    pages = ["CAPÍTULO I\nDAS DISPOSIÇÕES\nArt. 1º Texto.", "CAPÍTULO II\nDA AVALIAÇÃO\nArt. 2º Texto."]
    assert find_running_lines([normalize_whitespace(p) for p in pages], P) == {}


def test_single_page_document_keeps_its_lines() -> None:
    text = "RESOLUÇÃO Nº 1, DE 2 DE JANEIRO DE 2024\n\nArt. 1º Texto."
    assert clean(text) == "RESOLUÇÃO Nº 1, DE 2 DE JANEIRO DE 2024\n\nArt. 1º Texto.\n"


def test_header_needs_half_of_the_pages() -> None:
    tops = ["Cabeçalho que aparece só em duas páginas"] * 2 + ["Sem", "cabeçalho", "nestas", "quatro"]
    pages = [_page(i + 1, 6, f"Art. {i + 1}º Texto.", header=top) for i, top in enumerate(tops)]
    drop = find_running_lines([normalize_whitespace(p) for p in pages], P)
    assert "header_footer" not in drop.values()  # 2 of 6 pages < 50%
    assert list(drop.values()).count("page_number") == 6  # "Página N de 6"


# --- 4. junk lines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk", ["~ ,. ' |", "=]", '—————WwWWwWwW—W>—W]WWwWWwW>—>—>—— o "mm mm —', "mL EEE —", "|", "x", "~~~"]
)
def test_junk_lines_dropped(junk: str) -> None:
    assert is_junk_line(junk, P)
    assert (
        clean(f"Art. 1º O prazo é de 30 dias.\n{junk}\nArt. 2º Fim.")
        == "Art. 1º O prazo é de 30 dias.\n\nArt. 2º Fim.\n"
    )


@pytest.mark.parametrize(
    "keep",
    [
        "§ 2º",
        "I –",
        "II -",
        "a)",
        "R$ 1.500,00",
        "15/03/2024",
        "10,0",
        "Art. 5º",
        "e",
        "(...)",
        "1º",
        "RESOLVE:",
    ],
)
def test_short_legal_lines_never_junk(keep: str) -> None:
    assert not is_junk_line(keep, P), keep


# --- 4b. numbering misread by OCR ---------------------------------------------------------------


def test_roman_numerals_round_trip() -> None:
    assert [to_roman(n) for n in (1, 4, 9, 14, 40, 90, 1999)] == [
        "I",
        "IV",
        "IX",
        "XIV",
        "XL",
        "XC",
        "MCMXCIX",
    ]
    assert all(from_roman(to_roman(n)) == n for n in range(1, 300))
    assert from_roman("IIII") is None and from_roman("Il") is None


def test_misread_inciso_numerals_fixed_in_sequence() -> None:
    lines = ["Art. 5º São deveres:", "I - um;", "Il - dois;", "HI - três;", "lV - quatro;", "V- cinco."]
    fixed, n = fix_numbering(lines)
    assert fixed == [
        "Art. 5º São deveres:",
        "I - um;",
        "II - dois;",
        "III - três;",
        "IV - quatro;",
        "V - cinco.",
    ]
    assert n == 4  # "V- cinco" is only re-spaced


def test_inciso_read_as_i_twice_becomes_ii_but_numbering_restarts_after_a_paragraph() -> None:
    lines = ["Art. 5º Requisitos:", "I - um; e", "I - dois.", "§ 1º Também:", "I - outro."]
    assert fix_numbering(lines)[0] == [
        "Art. 5º Requisitos:",
        "I - um; e",
        "II - dois.",
        "§ 1º Também:",
        "I - outro.",
    ]


def test_misread_paragraph_sign_and_article_ordinal() -> None:
    lines = [
        "Art. 2º Texto.",
        "$ 1º O plano.",
        "8 2º Será reprovado.",
        "Art. 32º O cadastro.",
        "Art. 4º Fim.",
    ]
    assert fix_numbering(lines)[0] == [
        "Art. 2º Texto.",
        "§ 1º O plano.",
        "§ 2º Será reprovado.",
        "Art. 3º O cadastro.",
        "Art. 4º Fim.",
    ]
    # Without the sequence (Art. 31 before it) a number stays as read; "R$ 1º" mid-line is not touched.
    assert fix_numbering(["Art. 31. Texto.", "Art. 32. O cadastro custa 8 2º lugar."])[1] == 0


def test_heading_numerals_fixed_and_chapters_restart_in_a_new_title() -> None:
    lines = ["TÍTULO I", "CAPÍTULO I", "CAPÍTULO H", "TÍTULO HI", "CAPÍTULO I", "CAPÍTULO Il", "TÍTULO HI"]
    assert fix_numbering(lines)[0] == [
        "TÍTULO I",
        "CAPÍTULO I",
        "CAPÍTULO II",
        "TÍTULO II",
        "CAPÍTULO I",
        "CAPÍTULO II",
        "TÍTULO III",
    ]


def test_colon_misread_before_a_later_list_item() -> None:
    lines = [
        "Art. 6º O usuário deverá:",
        "a) repor o exemplar:",
        "b) ou pagar:",
        "Art. 7º Considera-se:",
        "I - um: e",
        "II - dois.",
    ]
    fixed = fix_numbering(lines)[0]
    assert fixed[1] == "a) repor o exemplar;" and fixed[2] == "b) ou pagar:"  # b) is last: ends as read
    assert fixed[3] == "Art. 7º Considera-se:" and fixed[4] == "I - um; e"


# --- 5. hyphenation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "fragment"),
    [("avalia", "ção"), ("aprendi", "zagem"), ("análi", "se"), ("ba", "se"), ("hipóte", "se"), ("fos", "se"),
     ("capítu", "lo"), ("pró", "ximo"), ("pré", "via"), ("ex", "ceto"), ("proces", "so"), ("RESOLU", "ÇÃO")],
)  # fmt: skip
def test_layout_hyphenation_joined(first: str, fragment: str) -> None:
    assert not keep_hyphen(first, fragment, word_counts([]))


@pytest.mark.parametrize(
    ("first", "fragment"),
    [("encontra", "se"), ("considera", "se"), ("aplicam", "se"), ("observar", "se"), ("dá", "se"), ("fazê", "lo"),
     ("confere", "lhe"), ("segunda", "feira"), ("vice", "reitor"), ("pró", "reitoria"), ("pós", "graduação"),
     ("auxílio", "transporte"), ("técnico", "administrativo"), ("COVID", "19"), ("Anexo", "II")],
)  # fmt: skip
def test_real_hyphen_kept(first: str, fragment: str) -> None:
    assert keep_hyphen(first, fragment, word_counts([]))


def test_the_document_itself_decides_first() -> None:
    seen = word_counts(["o bolsista recebe auxílio-creche mensal", "a base de cálculo", "no semi-árido"])
    assert keep_hyphen("auxílio", "creche", seen)  # not in the compound list, but written so in the text
    assert keep_hyphen("semi", "árido", seen)
    assert not keep_hyphen("ba", "se", seen)


def test_hyphenation_in_context_both_ways() -> None:
    text = (
        "Art. 2º Considera-\nse avaliação da aprendi-\nzagem o processo da pró-\nreitoria na segunda-\nfeira."
    )
    assert (
        clean(text)
        == "Art. 2º Considera-se avaliação da aprendizagem o processo da pró-reitoria na segunda-feira.\n"
    )


def test_hyphenation_across_a_page_break() -> None:
    pages = ["Art. 1º O estudante entregará o relatório de ativi-", "dades no prazo de 15 dias."]
    assert (
        clean_document(pages, P)[0]
        == "Art. 1º O estudante entregará o relatório de atividades no prazo de 15 dias.\n"
    )


def test_dash_before_a_structural_line_is_not_a_hyphenation() -> None:
    assert clean("Art. 1º Texto -\nI - inciso.") == "Art. 1º Texto -\nI - inciso.\n"


# --- 5. paragraphs ------------------------------------------------------------------------------


def test_wrapped_lines_joined_structure_kept() -> None:
    raw = (
        "RESOLUÇÃO Nº 12, DE 15 DE MARÇO DE 2024\n\n"
        "CAPÍTULO I\nDAS DISPOSIÇÕES GERAIS\n\n"
        "Art. 1º Esta Resolução estabelece as normas de avaliação aplicáveis a todos os\n"
        "cursos de graduação, presenciais e a distância, oferecidos pela Universidade e\n"
        "por seus campi.\n"
        "Art. 2º São instrumentos de avaliação, entre outros:\n"
        "I – provas escritas;\nII – trabalhos individuais ou\nem grupo;\n"
        "a) relatórios;\nb) projetos.\n"
        "§ 1º O plano será publicado.\n"
        "Parágrafo único. Fica revogada a norma anterior.\n"
    )
    assert clean(raw) == (
        "RESOLUÇÃO Nº 12, DE 15 DE MARÇO DE 2024\n\n"
        "CAPÍTULO I\nDAS DISPOSIÇÕES GERAIS\n\n"
        "Art. 1º Esta Resolução estabelece as normas de avaliação aplicáveis a todos os cursos de graduação, "
        "presenciais e a distância, oferecidos pela Universidade e por seus campi.\n\n"
        "Art. 2º São instrumentos de avaliação, entre outros:\n"
        "I – provas escritas;\nII – trabalhos individuais ou em grupo;\n"
        "a) relatórios;\nb) projetos.\n\n"
        "§ 1º O plano será publicado.\n\n"
        "Parágrafo único. Fica revogada a norma anterior.\n"
    )


def test_sentence_continuing_across_page_break_and_blank_line_joined() -> None:
    pages = [
        "Art. 3º A Universidade Federal do\n\nPágina 1 de 2",
        "Página 2 de 2\n\nVale Verde publicará o edital.",
    ]
    assert clean_document(pages, P)[0] == "Art. 3º A Universidade Federal do Vale Verde publicará o edital.\n"


def test_blank_line_after_a_finished_sentence_is_a_paragraph_break() -> None:
    assert (
        clean("Dispõe sobre a avaliação.\n\nO CONSELHO resolve.")
        == "Dispõe sobre a avaliação.\n\nO CONSELHO resolve.\n"
    )


def test_all_caps_line_that_goes_on_is_not_a_heading() -> None:
    raw = "A PRÓ-REITORA DE GRADUAÇÃO DA UNIVERSIDADE FEDERAL DO\nVALE VERDE, no uso de suas atribuições,\nRESOLVE:"
    assert (
        clean(raw)
        == "A PRÓ-REITORA DE GRADUAÇÃO DA UNIVERSIDADE FEDERAL DO VALE VERDE, no uso de suas atribuições,\n\nRESOLVE:\n"
    )


def test_short_line_ends_its_paragraph_in_text_layers() -> None:
    wide = "Art. 1º O texto deste artigo ocupa a largura toda da linha e continua na"
    lines = [(wide, False)] * 9 + [("linha seguinte.", False), ("Vale Verde, 2 de maio de 2024.", False)]
    lines += [("Profa. Dra. Marta Lobo", False), ("Pró-Reitora de Graduação", False)]
    paragraphs, _ = join_paragraphs(lines, word_counts([]))
    assert paragraphs[-3:] == [
        "Vale Verde, 2 de maio de 2024.",
        "Profa. Dra. Marta Lobo",
        "Pró-Reitora de Graduação",
    ]


def test_counts_per_rule_and_text_preserved_modulo_whitespace() -> None:
    raw = "Cabeçalho institucional da universidade\nArt. 1º Tex-\nto um.\n~ ,.\n3"
    raw2 = "Cabeçalho institucional da universidade\nArt. 2º Texto dois.\n4"
    text, counts = clean_document([raw, raw2], P)
    assert text == "Art. 1º Texto um.\n\nArt. 2º Texto dois.\n"
    assert counts["dropped_header_footer"] == 2 and counts["dropped_page_number"] == 2
    assert counts["dropped_junk"] == 1 and counts["hyphen_joined"] == 1
    assert squash_ws(clean("um\n\n\n  dois")) == "um dois"


def test_empty_document() -> None:
    assert clean_document([], P) == ("", {})
    assert clean_document(["", "  \n "], P)[0] == ""


def test_params_checked() -> None:
    with pytest.raises(ParamsError, match="header_min_pages.*junk_max_letter_ratio"):
        build_params("clean", CleanParams, {"header_min_pages": 1, "junk_max_letter_ratio": 2})
    with pytest.raises(ParamsError, match="not a known parameter"):
        build_params("clean", CleanParams, {"header_pages": 2})


def test_paragraph_sign_fix_needs_the_misread_sign_alone() -> None:
    assert fix_numbering(["82º Congresso Nacional de Estudantes."]) == (
        ["82º Congresso Nacional de Estudantes."],
        0,
    )


@pytest.mark.parametrize("head", ["ART. {n}º", "Artigo {n}.º", "Art. {n}°", "Art {n}o", "Artigo {n}º"])
def test_incisos_restart_after_every_article_spelling(head: str) -> None:
    """The bug the one-grammar module fixed: after "ART. 2º" the next article's "I - quatro" was renumbered
    "IV - quatro" (and its caput's colon turned into a semicolon), because clean knew only "Art."."""
    lines = [
        head.format(n=1) + " Um:",
        "I - um;",
        "II - dois;",
        "III - três.",
        head.format(n=2) + " Dois:",
        "I - quatro;",
        "II - cinco.",
    ]
    assert fix_numbering(lines) == (lines, 0)
    misread = lines[:5] + ["l - quatro;", "Il - cinco."]  # OCR's l/Il for I/II are still repaired
    assert fix_numbering(misread) == (lines, 2)


def test_portuguese_numbered_paragraphs_are_not_misread_incisos() -> None:
    lines = [
        "Artigo 3.º",
        "Prazos",
        "1 - A propina é paga em 10 prestações.",
        "2 - O pagamento fora do prazo.",
    ]
    assert fix_numbering(lines) == (lines, 0)
    # a lone "1 -" after a colon is OCR's misread of "I -"
    assert fix_numbering(["Art. 2º São deveres:", "1 - cumprir;", "II - apresentar."])[0][1] == "I - cumprir;"
