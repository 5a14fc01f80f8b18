"""clean on real layouts (issue 9), rule by rule on small inputs shaped like what the real UFAM corpus produced:
§ read as $, superscript ordinals of text layers, misread paragraph/article/inciso numerals, letterheads that OCR
reads differently on every page, browser print margins, words split or glued by text layers, U+FFFD."""

from __future__ import annotations

from collections import Counter

import pytest

from stages.text.clean.chars import (
    corpus_vocabulary,
    normalize_whitespace,
    repair_replacement_chars,
    repair_words,
)
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams, find_letterhead_lines, find_running_lines
from stages.text.clean.numbering import fix_numbering
from stages.text.clean.paragraphs import keep_hyphen
from stages.text.legis.misreads import fix_signs, inciso_separator
from stages.text.lexicon import load_lexicon

P = CleanParams()
LEX = load_lexicon()


# --- § and ordinals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        ("$ 1º O prazo será de 30 dias.", "§ 1º O prazo será de 30 dias."),
        ("$3º Fica vedado", "§3º Fica vedado"),
        ("conforme o $ 2º do art. 5º desta Resolução", "conforme o § 2º do art. 5º desta Resolução"),
        ("nos $$ 1º e 2º do art. 3º", "nos §§ 1º e 2º do art. 3º"),
        ("a mesma sistemática do$1º deste artigo", "a mesma sistemática do § 1º deste artigo"),  # glued
        ("o valor de R$1º lugar", "o valor de R$1º lugar"),  # a capital before it: R$, never a §
        ("a bolsa de R$ 400,00 (quatrocentos reais)", "a bolsa de R$ 400,00 (quatrocentos reais)"),
        ("valor de US$ 5 por dia e $ 1.000,00 de multa", "valor de US$ 5 por dia e $ 1.000,00 de multa"),
        ("§ 2 o Os representantes", "§ 2º Os representantes"),  # a superscript "o" a text layer split off
        ("Art. 4 o A bolsa", "Art. 4º A bolsa"),
        ("Lei n o 9.394, de 1996", "Lei nº 9.394, de 1996"),
        ("Art 1o Fica instituído", "Art 1o Fica instituído"),  # a spelling the grammar reads as it is
        ("o aluno n o aprovado", "o aluno n o aprovado"),
    ],
)
def test_paragraph_sign_and_superscript_ordinals(line: str, fixed: str) -> None:
    assert fix_signs(line) == fixed


def test_article_ordinals_read_as_a_digit_two_follow_the_sequence() -> None:
    lines = ["Art. 1º Esta Lei visa.", "Art. 22 É proibido.", "Art. 32 A instituição.", "Art. 4º O aluno."]
    fixed, n = fix_numbering(lines)
    assert fixed[1:3] == ["Art. 2º É proibido.", "Art. 3º A instituição."] and n == 2
    real = ["Art. 21 O curso.", "Art. 22 É proibido.", "Art. 23 A instituição."]  # articles 21 to 23
    assert fix_numbering(real) == (real, 0)
    lines = ["Art. 7º A empresa.", "Att. 8º A importação de aeronaves.", "Arl. 9º A empresa ficará."]
    assert fix_numbering(lines)[0][1:] == ["Art. 8º A importação de aeronaves.", "Art. 9º A empresa ficará."]
    other = ["Art. 7º A empresa.", "Att. 3º A importação."]  # not the article expected next: stays
    assert fix_numbering(other) == (other, 0)


def test_misread_paragraph_and_article_numbers_follow_the_sequence() -> None:
    lines = [
        "Art. 8º O programa tem duração de dois anos.",
        "Art. 90 O PET organizar-se-á academicamente.",  # "Art. 9º" with a zero for the ordinal
        "$ 1 0 O grupo PET deverá realizar atividades.",  # "§ 1º"
        "8 20 Os representantes serão indicados.",  # "§ 2º"
        "820 A extinção de um grupo não faculta nada.",  # "§ 3º"? no: 2 is not 3, left alone
        "Art. 10. Compete ao tutor:",
        "§ 10 Os casos omissos.",  # no § 10 comes right after an article's caput: "§ 1º" with a zero
    ]
    out, fixed = fix_numbering(lines)
    assert out[1].startswith("Art. 9º O PET") and out[2].startswith("§ 1º O grupo")
    assert out[3].startswith("§ 2º Os representantes") and out[4] == lines[4]
    assert out[5] == lines[5] and out[6] == "§ 1º Os casos omissos." and fixed == 4
    assert fix_numbering(["Art. 10 - O estudante"])[0] == ["Art. 10 - O estudante"]  # nothing before it
    # the first two articles misread, known by the article that follows them (PORTARIA 3.385/2005)
    first = [
        "Art. 10 O Programa reger-se-á.",
        "Art. 20 O PET constitui-se.",
        "Art. 3º O grupo será.",
        "Art. 4º Fim.",
    ]
    assert [line[:7] for line in fix_numbering(first)[0]] == ["Art. 1º", "Art. 2º", "Art. 3º", "Art. 4º"]
    cardinal = ["Art. 10 - O prazo.", "Art. 11 - O recurso."]  # an excerpt from article 10 on
    assert fix_numbering(cardinal)[0] == cardinal


def test_an_article_label_whose_number_ocr_lost_misread_or_put_behind_a_quote_fits_the_sequence() -> None:
    """UFMA 1.892 as the bench renders it flatbed-like: "Art. 7º" read "Art." and "Art. 21" read "“Art.21"."""
    lines = [
        "Art. 6º Os projetos pedagógicos deverão ser avaliados.",
        "Art. O reconhecimento e a renovação do reconhecimento dos cursos.",
        "Art. 8º Os cursos de graduação podem ser afins.",
        "Art. 20 O ingresso de segundo ciclo é a forma de ingresso.",
        "“Art.21 O ingresso de segundo ciclo será concedido mediante realização de",
        "Art. 22 O estudante em regime especial.",
    ]
    out, fixed = fix_numbering(lines)
    assert out[1] == "Art. 7º O reconhecimento e a renovação do reconhecimento dos cursos." and fixed == 2
    assert out[4] == "Art.21 O ingresso de segundo ciclo será concedido mediante realização de"
    # an amending act quotes the article it rewrites: the quote stays (the next article is no 3rd)
    amending = [
        "Art. 1º O art. 2º da Resolução nº 10/2019 passa a vigorar com a seguinte redação:",
        "“Art. 2º O prazo para o recurso é de dez dias.”",
        "Art. 2º Esta Resolução entra em vigor na data de sua publicação.",
    ]
    assert fix_numbering(amending) == (amending, 0)
    # a number misread, where those before and after pin it (UFMA 1.892 photo-like, UNIVASF Resolução 01/2022)
    assert fix_numbering(["Art. 52 A.", "Art. 5 toa Os componentes curriculares.", "Art. 54 B."])[0][1] == (
        "Art. 53 toa Os componentes curriculares."
    )
    assert fix_numbering(["Art. 9. A.", "Art. 18. Os prazos.", "Art. 11. B."])[0][1] == "Art. 10. Os prazos."
    first = [
        "RESOLVE:",
        "Art. 4º A Resolução nº 02/2018 passa a vigorar.",
        "Art. 2º Esta Resolução entra em vigor.",
    ]
    assert fix_numbering(first)[0][1] == "Art. 1º A Resolução nº 02/2018 passa a vigorar."
    garbled = [
        "Art. 13 A.",
        "Art. i4 - Ao término do período.",
        "Art. 15 B.",
    ]  # a UFAM scan (PORT_PROEG 001/2004)
    assert fix_numbering(garbled)[0][1] == "Art. 14 - Ao término do período."
    assert fix_numbering(["Art. 5º A.", "Art. i4º Ao término.", "Art. 7º B."])[0][1] == "Art. 6º Ao término."
    # UNIVASF Resolução 18/2017, consolidated: a revoked wording's label, then the one in force, then Art. 9º
    repeated = ["Art. 7º Compete à :", "Art. 7º Compete à Coordenação de Cerimonial:", "Art. 9º A colação."]
    assert fix_numbering(repeated) == (repeated, 0)
    cited = ["CONSIDERANDO o disposto no", "Art. 5º da Lei nº 9.394, de 1996;", "Art. 2º Esta Resolução."]
    assert fix_numbering(cited) == (cited, 0)  # an article cited at a line start is no label
    # no number fits: two articles lost between those around, a Roman numeral, no article before
    for kept in (
        ["Art. 6º A.", "Art. O reconhecimento.", "Art. 9º B."],
        ["Art. 1º A.", "Art. I - B.", "Art. 3º C."],
        ["Art. 13 A.", "Art. Il - Ao término.", "Art. 15 B."],
        ["Art. O reconhecimento.", "Art. 2º B."],
    ):
        assert fix_numbering(kept) == (kept, 0)


def test_garbled_inciso_numerals_inside_an_enumeration() -> None:
    """What tesseract made of "I.", "II.", "III." set apart from their text by a wide gap (REGIMENTO_UFAM)."""
    lines = [
        "Art. 3º A Administração Superior será exercida:",
        "IR pelo Conselho Universitário - CONSUNI;",
        "IR pelo Conselho de Administração - CONSAD;",
        "HI. pelo Conselho de Ensino, Pesquisa e Extensão;",
        "IV. pela Reitoria, com função executiva.",
        "Art. 4º Compete às Câmaras:",
        "Ê à Câmara de Administração e Finanças:",
        "a) deliberar sobre o orçamento;",
        "Art. 5º Compete ao Departamento:",
        "I. elaborar seus planos de trabalho;",
        "II. atribuir encargos de ensino;",
        "MI. elaborar projetos de pesquisa;",  # III. wait: 3 expected, "MI" reads VI: two errors, left alone
        "IV. elaborar a lista de ofertas;",
        "V. elaborar o calendário;",
        "MI. elaborar projetos de extensão;",
        "VIl. examinar as questões;",
        "Mill. opinar sobre aproveitamento;",
    ]
    out, _ = fix_numbering(lines)
    assert [line.split(" ", 1)[0] for line in out[1:5]] == ["I.", "II.", "III.", "IV."]
    assert out[6].startswith("I. à Câmara")
    assert out[11] == lines[11]
    assert [line.split(" ", 1)[0] for line in out[12:]] == ["IV.", "V.", "VI.", "VII.", "VIII."]
    outside = ["O conselho decidirá.", "IR ao local indicado pelo edital."]  # no enumeration: no inciso
    assert fix_numbering(outside)[0] == outside
    assert inciso_separator(["I - um", "II - dois", "III. três"]) == " -"


# --- letterheads and print margins ------------------------------------------------------------------


def page(top: list[str], body: list[str], bottom: list[str]) -> list[str]:
    return normalize_whitespace("\n".join([*top, "", *body, "", *bottom]))


def kept_lines(pages: list[list[str]], drop: dict[tuple[int, int], str]) -> list[str]:
    """The non-empty lines of `pages` that `drop` does not take, in order."""
    return [
        line
        for pi, lines in enumerate(pages)
        for li, line in enumerate(lines)
        if line and (pi, li) not in drop
    ]


def test_letterhead_read_differently_on_every_page_is_dropped() -> None:
    """The letterhead of RES_15_2018 as tesseract read it on three pages: junk before and between its lines,
    then a running footer with the page number."""
    tops = [
        [
            "é. Poder Executivo",
            '"4 Ministério da Educação',
            "Universidade Federal do Amazonas",
            "Conselho de Administração",
        ],
        [
            "E Ministério da Educação",
            "Universidade Federal do Amazonas",
            "Conselho de Administração",
            "RO",
            "ES e “a (1",
            "y -",
        ],
        [
            "Hi Poder Executivo",
            "* Ministério da Educação",
            "Universidade Federal do Amazonas",
            "&” Conselho de Administração",
        ],
    ]
    bodies = [
        ["RESOLUÇÃO Nº 015/2018", "Art. 1º - APROVAR o Regulamento do Programa de Trabalho Voluntário."],
        ["Art. 7º - O Termo de Adesão poderá ter o seu efeito cessado por iniciativa do credenciado."],
        ["Parágrafo Único - O voluntário poderá exercer atividades de ensino.", "Presidente"],
    ]
    bottoms = [[f"{n} RESOLUÇÃO Nº. 015/2018 - CONSAD, DE 21.06.2018"] for n in (1, 2, 3)]
    pages = [page(t, b, f) for t, b, f in zip(tops, bodies, bottoms, strict=True)]
    drop = find_letterhead_lines(pages, P, LEX)
    kept = kept_lines(pages, drop)
    assert kept == [line for body in bodies for line in body]
    text, counts = clean_document(
        ["\n".join([*t, "", *b, "", *f]) for t, b, f in zip(tops, bodies, bottoms, strict=True)], P
    )
    assert "Poder Executivo" not in text and "CONSAD, DE 21.06.2018" not in text and "RO" not in text.split()
    assert counts["dropped_letterhead"] >= 8


def test_a_letterhead_under_logo_junk_on_one_page_only_is_still_the_letterhead() -> None:
    """RESOLUÇÃO_010_2004_CONSUNI photographed, as tesseract read it: the coat of arms became three lines of junk
    above the letterhead on page 1 and none on page 2, where the two letterhead lines also came out in the other
    order. Counted in lines, "CONSELHO UNIVERSITÁRIO" lies four lines deeper on page 1 than on page 2; junk does
    not count, so it is the same running line."""
    tops = [
        ["Va", "Ma", "be", "UNIVERSIDADE FEDERAL DO AMAZONAS", "CONSELHO UNIVERSITÁRIO"],
        ["SÁ CONSELHO UNIVERSITÁRIO", "K b); UNIVERSIDADE FEDERAL DO AMAZONAS OH", "DO"],
    ]
    bodies = [
        [
            "RESOLUÇÃO Nº 010/2004",
            "O REITOR DA UNIVERSIDADE FEDERAL DO AMAZONAS E PRESIDENTE DO",
            "CONSELHO UNIVERSITÁRIO, no uso de suas atribuições estatutárias,",
            "CONSIDERANDO o Parecer do Relator, aprovado por maioria de votos, em reunião",
            "ordinária realizada nesta data,",
            "RESOLVE:",
            "APROVAR o Programa de Educação à Distância/EaD, no âmbito da Universidade",
            "Federal do Amazonas, nos termos propostos pela Faculdade de Educação.",
        ],
        ["Anexo da Resolução Nº 009/2004, de 9 de junho de 2004.", "PROGRAMA DE EDUCAÇÃO À DISTÂNCIA"],
    ]
    bottoms = [
        ["Hidembergue Ordozgoith da Frota", "Presidente"],
        ["Art. 1º O Programa tem por objetivo a formação."],
    ]
    pages = [page(*parts) for parts in zip(tops, bodies, bottoms, strict=True)]
    drop = find_letterhead_lines(pages, P, LEX)
    kept = kept_lines(pages, drop)
    assert kept == [line for body, bottom in zip(bodies, bottoms, strict=True) for line in body + bottom]


def test_two_running_lines_that_share_most_words_are_both_running() -> None:
    """UNIVASF's statute: every page carries a footer of two amendment notes that share most of their words
    ("Alterado pela Decisão nº 21/2014 ..." and "Alterado pela Resolução nº 13/2020 ..."). The second is no body
    text repeating the first (that test is for a title under a header that names the document): both go."""
    footer = [
        "Aprovado pela Portaria nº 148, de 10/08/2012, da Secretaria de Regulação e Supervisão da Educação Superior;",
        "Alterado pela Decisão nº 21/2014 – Conuni, de 21/03/2014, aprovada pela Portaria nº 01, de 29/03/2019, do",
        "61, de 29/03/2019;",
        "Alterado pela Resolução nº 13/2020 – Conuni, de 13/08/2020, aprovada pela Portaria nº 01, de 17/08/2020, do",
        "158, de 18/08/2020.",
    ]
    bodies = [
        ["Art. 1º A Fundação Universidade Federal do Vale do São Francisco é uma Instituição Federal."],
        ["Art. 2º A Univasf goza de autonomia didático-científica, administrativa e de gestão financeira."],
        ["Art. 3º A organização e o funcionamento da Univasf serão disciplinados nos seguintes documentos."],
    ]
    pages = [page([str(n)], body, footer) for n, body in enumerate(bodies, start=2)]
    drop = {
        **find_letterhead_lines(pages, P, LEX),
        **find_running_lines(pages, P),
    }  # page numbers: the latter
    kept = kept_lines(pages, drop)
    assert kept == [line for body in bodies for line in body]


def test_logo_junk_that_spells_words_above_the_letterhead_goes_with_it() -> None:
    """A photographed UNIVASF resolution: the coat of arms read as short lines, some of them words ("PINA",
    "ERRO", "eia"), above the university's name. Counted without the junk, the name is among the zone's first
    lines, so what lies above it is the letterhead's; the title below it stays."""
    tops = [
        ["eia", "Ro", "WESERA,", "UNIVERSIDADE FEDERAL DO VALE DO SÃO FRANCISCO", "CONSELHO UNIVERSITÁRIO"],
        ["PINA", "ERRO", "VE EE", "UNIVERSIDADE FEDERAL DO VALE DO SÃO FRANCISCO", "CONSELHO UNIVERSITÁRIO"],
        ["UNIVERSIDADE FEDERAL DO VALE DO SÃO FRANCISCO", "CONSELHO UNIVERSITÁRIO"],
    ]
    bodies = [
        [
            "RESOLUÇÃO Nº 18/2017",
            "Art. 1º As colações de grau na Univasf acontecerão exclusivamente por solenidade.",
        ],
        ["Art. 2º A colação de grau é ato oficial da Universidade, realizado em sessão solene e pública."],
        ["Art. 3º As solenidades serão presididas pelo Reitor ou por quem ele designar para representá-lo."],
    ]
    pages = [
        page(t, b, [f"Página {n} de 3"]) for n, (t, b) in enumerate(zip(tops, bodies, strict=True), start=1)
    ]
    drop = {
        **find_letterhead_lines(pages, P, LEX),
        **find_running_lines(pages, P),
    }  # page numbers: the latter
    kept = kept_lines(pages, drop)
    assert kept == [line for body in bodies for line in body]


def test_the_name_above_a_running_line_that_ocr_reads_on_some_pages_only_goes_with_the_letterhead() -> None:
    """A UNIVASF council resolution whose letterhead is a picture: OCR reads the council's name on every page, the
    university's name above it on 2 of 5 pages only (too few for a running line, and too long for the letterhead's
    short lines), and logo junk instead on a third. The name repeats at the same depth and lies above a running
    line: it is the letterhead's. A line that repeats on two pages with no running line below it stays."""
    council, name = "CONSELHO UNIVERSITÁRIO", "UNIVERSIDADE FEDERAL DO VALE DO SÃO FRANCISCO"
    tops = [[name, council], [council], ["o Ed", "ei", "Eira", council], [name, council], [council]]
    bodies = [
        ["ANEXO I - FORMULÁRIO DE CADASTRO DO PROJETO", "Art. 1º O cadastro de projetos destina-se a todos."],
        ["ANEXO I - FORMULÁRIO DE CADASTRO DO PROJETO", "Art. 2º O projeto não deverá depender de recursos."],
        ["Art. 3º O líder deverá atualizar as informações do grupo pelo menos a cada doze meses."],
        ["Art. 4º A Diretoria de Pesquisa acompanhará os projetos de fluxo contínuo."],
        ["Art. 5º Esta Resolução entra em vigor na data de sua publicação."],
    ]
    pages = [page(t, b, []) for t, b in zip(tops, bodies, strict=True)]
    kept = kept_lines(pages, find_letterhead_lines(pages, P, LEX))
    assert kept == [line for body in bodies for line in body]


def test_letterhead_zone_keeps_the_title_that_repeats_it_and_misread_headings() -> None:
    header = ["CÂMARA MUNICIPAL DE PEDRA BRANCA DO SUL", "Edital de Chamamento Público nº 4/2025"]
    pages = [
        page(
            header,
            ["EDITAL DE CHAMAMENTO PÚBLICO Nº 4/2025", "Art. 1º Texto do primeiro artigo."],
            ["CAPÍTULO HI"],
        ),
        page(header, ["Art. 2º Texto do segundo artigo."], ["CAPÍTULO IV"]),
        page(header, ["Art. 3º Texto do terceiro artigo."], ["Praça da Matriz, 120"]),
    ]
    drop = find_letterhead_lines(pages, P, LEX)
    kept = {pages[pi][li] for pi, lines in enumerate(pages) for li in range(len(lines))} - {
        pages[pi][li] for pi, li in drop
    }
    assert {"EDITAL DE CHAMAMENTO PÚBLICO Nº 4/2025", "CAPÍTULO HI", "CAPÍTULO IV"} <= kept
    assert not kept & set(header)


def test_browser_print_margins_are_dropped_even_on_a_single_page() -> None:
    text = (
        "DEL 1044 http://www.planalto.gov.br/CCIVIL/Decreto-Lei/Del1044.htm\n"
        "DECRETO-LEI Nº 1.044, DE 21 DE OUTUBRO DE 1969.\n"
        "Art. 1º São considerados merecedores de tratamento excepcional os alunos.\n"
        "Os interessados podem consultar http://www.planalto.gov.br para o texto integral da norma legal vigente.\n"
        "http://www.planalto.gov.br/CCIVIL/Decreto-Lei/Del1044.htm 1 de 1 13/04/2010 13:14\n"
    )
    cleaned, _ = clean_document([text], P)
    assert "Del1044.htm" not in cleaned and "13/04/2010" not in cleaned
    assert "consultar http://www.planalto.gov.br para o texto" in cleaned  # a URL inside the text stays


def test_browser_margins_as_ocr_reads_them_are_dropped() -> None:
    text = (
        "12089 http://www .planalto.gov.br/ccivil U5/ AtOZUU /-2U LU/ 2UVZ/ IRMA LU...\n"
        "LEI Nº 12.089 DE 11 DE NOVEMBRO DE 2009.\n"
        "Art. 1º Esta Lei visa a proibir que uma mesma pessoa ocupe duas vagas.\n"
        "Este texto não substitui o publicado no DOU de 12.11.2009\n"
        "Ide l 15/04/2010 10:50\n"
    )
    cleaned, _ = clean_document([text], P)
    assert cleaned.startswith("LEI Nº 12.089") and "15/04/2010" not in cleaned
    cut = clean_document([text.replace("Ide l 15/04/2010 10:50", "Ii de | 13/04/2010 13:1.")], P)[0]
    assert "13/04/2010" not in cut  # the minute cut in half, a period read after it
    assert cleaned.rstrip().endswith("Este texto não substitui o publicado no DOU de 12.11.2009")


# --- what text layers write (Planalto, the DOU) -------------------------------------------------------


def test_raised_o_ordinals_and_number_signs_of_text_layers() -> None:
    text = (
        "<!ID689553-0> PORTARIA No\n- 1.632, DE 25 DE SETEMBRO DE 2006\n\n"
        "Art. 1o Esta Lei, conforme a Lei no 9.394, o Decreto-Lei no\n1.044 e a Portaria MF no 30, de 2005.\n\n"
        "§ 2o Os prazos definidos no 11º dia e nos 3 (três) dias seguintes; 188o da Independência.\n"
    )
    cleaned, counts = clean_document([text], P)
    assert cleaned.startswith("PORTARIA Nº 1.632, DE 25 DE SETEMBRO DE 2006")
    assert (
        "Art. 1º Esta Lei, conforme a Lei nº 9.394, o Decreto-Lei nº 1.044 e a Portaria MF nº 30" in cleaned
    )
    assert "§ 2º Os prazos definidos no 11º dia e nos 3 (três) dias" in cleaned  # the preposition stays
    assert "188º da Independência" in cleaned and "<!ID" not in cleaned
    assert counts["dropped_publisher_marks"] == 1 and counts["ordinals_normalized"] == 7


def test_raised_o_ordinals_a_text_layer_set_off_by_a_space() -> None:
    # Lei 11.788/2008 as the Planalto's PDF gives it to pdfium (UNIVASF's PROEX folder): every ordinal is "N o"
    text = (
        "Art. 3 o O estágio, tanto na hipótese do § 1 o do art. 2 o desta Lei quanto na prevista no § 2 o do "
        "mesmo dispositivo, não cria vínculo.\n\n"
        "Art. 19. O art. 428 da CLT, aprovada pelo Decreto-Lei n o 5.452, de 1 o de maio de 1943, passa a vigorar.\n\n"
        "Art. 22. Revogam-se as Leis n os 6.494 e 8.859 e os §§ 1 o e 2 o do art. 3 o da Medida Provisória.\n\n"
        "Art. 23. Nos termos do art. 5, o prazo conta do 1 o dia útil.\n"
    )
    cleaned, counts = clean_document([text], P)
    assert (
        "Art. 3º O estágio, tanto na hipótese do § 1º do art. 2º desta Lei quanto na prevista no § 2º do"
        in cleaned
    )
    assert "Decreto-Lei nº 5.452, de 1º de maio de 1943" in cleaned
    assert "Revogam-se as Leis nºs 6.494 e 8.859 e os §§ 1º e 2º do art. 3º da Medida" in cleaned
    assert "do art. 5, o prazo conta do 1 o dia útil" in cleaned  # a comma between; not a month's first day
    # 10 spaced ordinals: 8 here, and "Art. 3 o O" and "n o 5.452" on lines that open with an article label,
    # which the label reader mends (numbering_fixed)
    assert counts["ordinals_normalized"] == 8 and counts["numbering_fixed"] == 2


def test_a_struck_line_that_ocr_read_as_hyphenated_words_is_dropped_and_counted() -> None:
    text = (
        "I - articular-se com as famílias e a comunidade;\n"
        "Vil-informar-os-pais-e-responsáveis-sobre-a-frequência-e-o-rendimento-dos alunos, bem\n"
        "como-sobre-a-execução-de-sua-proposta-pedagógica:\n"
        "matriculados-regularmente-segundo-sua-jurisdição-estadual ou Superior\n\n"
        "II - informar pai e mãe, conviventes ou não com seus filhos, sobre a frequência;\n"
        "III - receber o aluno de segunda-feira a sexta-feira, no dia-a-dia, dá-se-lhe o pé-de-meia.\n"
    )
    cleaned, counts = clean_document([text], P)
    assert "Vil-informar" not in cleaned and "como-sobre" not in cleaned
    assert counts["dropped_struck_lines"] == 3
    assert "II - informar pai e mãe" in cleaned and "dia-a-dia, dá-se-lhe o pé-de-meia" in cleaned


def test_dot_leaders_are_dropped_and_counted_ellipses_stay() -> None:
    text = (
        "Art. 1º O § 2º do art. 12 passa a vigorar com a seguinte redação:\n"
        "“Art.12....................................................................\n§1º\n"
        ". . . . . . . . . . . . . . . . . . . . . . . . . .\n"
        "§ 2º A bolsa terá a duração de três anos, prorrogável (...) etc.... até o fim.”\n\n"
        "Eu, ............................... RG nº ……………………, declaro.\n"
    )
    cleaned, counts = clean_document([text], P)
    assert (
        "“Art.12\n" in cleaned and "\n§1º\n" in cleaned and "....." not in cleaned and ". . ." not in cleaned
    )
    assert "prorrogável (...) etc.... até o fim" in cleaned  # fewer than 5 dots: an ellipsis
    assert "Eu, RG nº, declaro." in cleaned  # a form's blanks; none left before a comma
    assert counts["dot_leaders"] == 4


def test_fill_in_blanks_of_a_form_are_dropped_and_counted_identifiers_stay() -> None:
    """UNIVASF's volunteer-teacher form, as its text layer has it: underscores to write on, whose length is the
    form's, not the text's (OCR reads them as underscores or as nothing)."""
    text = (
        "Eu, ______________________________, CPF ______________, celebram o presente termo.\n"
        "Local e data: ____/____/______\n"
        "Envie o arquivo termo_de_adesao.pdf ou x_y."
    )
    cleaned, counts = clean_document([text], P)
    assert "Eu, CPF, celebram o presente termo." in cleaned and "___" not in cleaned
    assert "termo_de_adesao.pdf ou x_y" in cleaned  # single underscores inside a name stay
    assert counts["fill_in_blanks"] == 5


def test_a_gazettes_running_head_is_dropped_wherever_the_layer_puts_it() -> None:
    text = (
        "8 ISSN 1677-7042\n\nDiário Oficial da União - Seção 1\n\nMinistério da Educação\n\n"
        "PORTARIA Nº 1.632, DE 25 DE SETEMBRO DE 2006\n\n"
        "Art. 1º O art. 12 da Portaria nº 3385, publicada no Diário Oficial da União - Seção 1\n"
        "de 30 de setembro de 2005, passa a vigorar com a seguinte redação.\n\n"
        "Nº 185, terça-feira, 26 de setembro de 2006\n\n"
        "Art. 2º Esta Portaria entra em vigor na data de sua publicação no Diário Oficial.\n"
    )
    cleaned, counts = clean_document([text], P)
    assert "ISSN" not in cleaned and "terça-feira" not in cleaned and not cleaned.startswith("Diário")
    assert "publicada no Diário Oficial da União - Seção 1 de 30 de setembro" in cleaned  # inside a sentence
    assert "publicação no Diário Oficial." in cleaned
    assert counts["dropped_gazette_head"] == 3


def test_a_line_end_hyphen_ocr_lost_is_restored_only_when_a_piece_is_no_word() -> None:
    text = "O Ministro de Estado da Edu\ncação e a exi\ngência da em\npresa de trans\nporte, a\nluno.\n"
    cleaned, counts = clean_document([text], P)
    assert "Ministro de Estado da Educação e a exigência da em presa de transporte, a luno." in cleaned
    assert counts["lost_hyphen_joined"] == 3  # not "em presa" (two words) nor "a luno" ("a": one letter)


def test_the_planalto_margin_links_go_whole_or_where_ocr_read_them_into_the_ementa() -> None:
    layer = (
        "LEI Nº 12.933, DE 26 DE DEZEMBRO DE 2013.\nProdução de efeitos\nRegulamento (Vigência)\nMensagem de Veto\n"
        "Dispõe sobre o benefício do pagamento de\nmeia-entrada para estudantes, e revoga a\n"
        "Medida Provisória nº 2.208, de 17 de agosto de\n2001.\n"
    )
    ocr = (
        "LEI Nº 12.933, DE 26 DE DEZEMBRO DE 2013.\n\nDispõe sobre o benefício do pagamento de\n"
        "Produção de efeitos meia-entrada para estudantes, e revoga a\n"
        "Mensagem de Veto Medida Provisória nº 2.208, de 17 de agosto de\n\n2001.\n"
    )
    (a, ca), (b, cb) = clean_document([layer], P), clean_document([ocr], P)
    assert a == b and "Mensagem" not in a and "Produção" not in a and "Regulamento" not in a
    assert "Dispõe sobre o benefício do pagamento de meia-entrada para estudantes, e revoga a Medida" in a
    assert (ca["dropped_web_links"], cb["dropped_web_links"]) == (3, 2)
    # the words themselves stay where the law uses them
    kept = clean_document(["Art. 5º O Regulamento da Vigência e a Produção de efeitos são do Anexo.\n"], P)[0]
    assert kept.startswith("Art. 5º O Regulamento da Vigência e a Produção de efeitos")


def test_the_last_line_of_a_sentence_above_a_running_footer_stays() -> None:
    footer = [
        "Av. Rodrigo Otávio, 6.200, Campus Universitário, Coroado I",
        "CEP: 69077-000 Manaus/AM daest@ufam.edu.br",
    ]
    pages = [
        ["Art. 1º Um artigo que começa e termina nesta página.", *footer],
        [
            "Art. 6º Esta Lei entra em vigor na data de sua publicação, gerando efeitos a partir da edição",
            "de sua norma regulamentadora.",
            *footer,
        ],
        ["Brasília, 26 de dezembro de 2013.", *footer],
    ]
    cleaned, counts = clean_document(["\n".join(p) for p in pages], P)
    assert "a partir da edição de sua norma regulamentadora." in cleaned and "CEP" not in cleaned


@pytest.mark.parametrize(
    ("lines", "fixed"),
    [
        # "§" read as "8" before a cardinal paragraph number, in the sequence; and where a sentence cites one
        (
            ["§ 9º Os jovens.", "8 10. A concessão.", "8 11. As normas."],
            ["§ 9º Os jovens.", "§ 10. A concessão.", "§ 11. As normas."],
        ),
        (
            ["Art. 2º O percentual de que trata o 8 10 do art. 1º e no 8 2º deste artigo."],
            ["Art. 2º O percentual de que trata o § 10 do art. 1º e no § 2º deste artigo."],
        ),
        (["Art. 9º Tem 8 10 itens."], ["Art. 9º Tem 8 10 itens."]),  # no paragraph cited
        (
            ["combinado com o 8 1º do artigo 2º do Ato Institucional nº 5"],
            ["combinado com o § 1º do artigo 2º do Ato Institucional nº 5"],
        ),
        # a dash after the ordinal ("§ 1º - No regime"), and a stray mark before a label
        (
            ["Art. 100 - O regime:", "8 1º - No regime", "— Art. 101 - Os equipamentos."],
            ["Art. 100 - O regime:", "§ 1º - No regime", "Art. 101 - Os equipamentos."],
        ),
        # incisos with capitals after the numeral: "l.", "IR" (the period read with the gap), "1." before "II."
        (
            [
                "Art. 93 - As classes:",
                "l. Professor Titular;",
                "II. Professor Adjunto;",
                "IR Professor Assistente;",
                "IV. Professor Auxiliar.",
            ],
            [
                "Art. 93 - As classes:",
                "I. Professor Titular;",
                "II. Professor Adjunto;",
                "III. Professor Assistente;",
                "IV. Professor Auxiliar.",
            ],
        ),
        (
            ["Art. 94 - São:", "1. Professor Titular;", "II. Professor Adjunto."],
            ["Art. 94 - São:", "I. Professor Titular;", "II. Professor Adjunto."],
        ),
        (["Art. 95 - São:", "1. Objetivos;", "2. Metas."], ["Art. 95 - São:", "1. Objetivos;", "2. Metas."]),
        # numerals of incisos a sentence cites
        (
            ["§ 1º Nos casos dos incisos | e Il deste artigo, e do inciso Ill do art. 5º."],
            ["§ 1º Nos casos dos incisos I e II deste artigo, e do inciso III do art. 5º."],
        ),
    ],
)
def test_paragraph_and_inciso_numerals_as_ocr_misread_them(lines: list[str], fixed: list[str]) -> None:
    assert fix_numbering(lines)[0] == fixed


def test_an_accent_ocr_lost_on_a_capital_comes_back_when_one_word_fits() -> None:
    counts: Counter[str] = Counter()
    line = "Parágrafo Unico. Os Orgãos Suplementares e o Indice; Area e Agua ficam; ORGAOS também."
    assert (
        repair_words(line, LEX, Counter(), counts)
        == "Parágrafo Único. Os Órgãos Suplementares e o Índice; Area e Agua ficam; ÓRGÃOS também."
    )
    assert counts["accents_restored"] == 4


def test_accents_ocr_lost_on_capitals_come_back_in_a_whole_document() -> None:
    """UNIVASF's letterheads and headings as tesseract read them: every accent of an all-caps word lost. The
    document's own words hold the misread itself, so only the lexicon says it is no word. Acronyms, words the
    lexicon knows without the accent and words that fit two spellings stay; of two, the one the document writes
    elsewhere is taken (the lexicon's counts favour Portugal's "académica")."""
    text, counts = clean_document(
        [
            "CONSELHO UNIVERSITARIO\nCAMARA DE ENSINO\nRESOLUÇÃO Nº 07/2016\n"
            "Art. 1º A PRESIDENCIA do CONSEPE e da UNIVASF, na Area de Agua, sobre o TITULO e a vida ACADEMICA.\n"
            "Art. 2º A vida acadêmica segue o ORGAO, e a ACADEMICO fica.",
        ],
        P,
    )
    assert (
        "CONSELHO UNIVERSITÁRIO" in text and "CÂMARA DE ENSINO" in text and "A PRESIDÊNCIA do CONSEPE" in text
    )
    assert "da UNIVASF, na Area de Agua, sobre o TITULO e a vida ACADÊMICA" in text
    assert "o ÓRGÃO, e a ACADEMICO fica" in text  # acadêmico / académico: two fits, neither written
    assert counts["accents_restored"] == 5


def test_inciso_numerals_glued_to_their_word_or_before_the_next_inciso() -> None:
    """UNIVASF's incisos as tesseract read them: the period glued to the word ("lll.Representar" for "VIII.
    Representar"), and a list after a parenthesis (no ":" to announce it) whose first numeral is a bar."""
    lines = [
        "§ 1º. As colações de grau acontecerão exclusivamente: (redação dada pela Resolução nº 19/2021)",
        "|. por solenidade;",
        "Il. em gabinete, quando não houver solenidade da turma;",
        "Hll.extemporânea em gabinete.",
        "Art. 5º São deveres do estudante:",
        *[f"{n}. dever {n.lower()};" for n in ("I", "II", "III", "IV", "V", "VI")],
        "VII.Assediar, e",
        "lll.Representar o curso;",
        "IX. zelar pelo patrimônio.",
        "O Ill.mo Sr. Reitor",
    ]
    fixed, _ = fix_numbering(lines)
    assert fixed[1:4] == [
        "I. por solenidade;",
        "II. em gabinete, quando não houver solenidade da turma;",
        "III. extemporânea em gabinete.",
    ]
    assert fixed[11:14] == ["VII. Assediar, e", "VIII. Representar o curso;", "IX. zelar pelo patrimônio."]
    assert fixed[-1] == "O Ill.mo Sr. Reitor"
    # REGIMENTO_UFAM photographed: the first numeral lost, its period left; the second read as "H."
    lost = [
        "Art. 6º - têm a seguinte composição comum:",
        ". o Pró-Reitor, como Presidente;",
        "H. o corpo docente;",
    ]
    assert fix_numbering([*lost, "HI. o corpo discente."])[0][1:] == [
        "I - o Pró-Reitor, como Presidente;",
        "II - o corpo docente;",
        "III - o corpo discente.",
    ]
    assert fix_numbering([*lost[:2], "e o corpo docente."])[0][1] == ". o Pró-Reitor, como Presidente;"


def test_a_paragraph_sign_glued_to_its_number_and_read_as_an_eight() -> None:
    """UNIVASF's "§5º" (no space) photographed: "85º". At a line start inside an article it is the paragraph
    expected next (or the one after); in a sentence, a cited one when a comma, "deste" or "do art." follows.
    Ordinals of 10 and more with their noun stay ("o 82º Congresso", "e 81º da República")."""
    lines = [
        "Art. 11. O currículo pleno compreende:",
        "§ 4º Os estágios dos cursos de bacharelado.",
        "85º Os currículos dos cursos.",
        "87º A operacionalização do disposto no 85º, e do 82º do Art. 2º e no 81º deste Artigo.",
        "84º O 82º Congresso Nacional; 148º da Independência e 81º da República.",
    ]
    assert fix_numbering(lines)[0][2:] == [
        "§ 5º Os currículos dos cursos.",
        "§ 7º A operacionalização do disposto no §5º, e do §2º do Art. 2º e no §1º deste Artigo.",
        "84º O 82º Congresso Nacional; 148º da Independência e 81º da República.",  # 4 is no next paragraph
    ]
    assert fix_numbering(["82º Congresso Nacional de Educação"])[0] == ["82º Congresso Nacional de Educação"]


def test_an_article_label_whose_period_ocr_read_as_a_comma() -> None:
    """ "Art, 30. Esta Instrução" (a photographed UNIVASF instruction) and "Art, 10 + O discente" (a real UFAM
    scan): at a line start, "Art," before a number is the label; inside a sentence it stays."""
    text, _ = clean_document(
        [
            "Art. 29. Fica revogada a Orientação Normativa nº 2, de 24 de junho de 2016,\n\n"
            "Art, 30. Esta Instrução Normativa entra em vigor.\n\nArt, 31 + O discente que obtiver\n"
            "o Art, 5 da lei."
        ],
        P,
    )
    assert text.splitlines()[2:5] == [
        "Art. 30. Esta Instrução Normativa entra em vigor.",
        "",
        "Art. 31 + O discente que obtiver o Art, 5 da lei.",
    ]


def test_heading_numerals_misread_in_title_case_headings() -> None:
    fixed, _ = fix_numbering(
        ["Título |", "DA UNIVASF", "Capítulo |", "DA INSTITUIÇÃO", "Capítulo Il", "Seção l"]
    )
    assert fixed == ["Título I", "DA UNIVASF", "Capítulo I", "DA INSTITUIÇÃO", "Capítulo II", "Seção I"]


# --- words ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        ("as dis ciplinas optativas", "as disciplinas optativas"),
        ("os cr éditos exigidos", "os créditos exigidos"),
        ("o Sistema Int egrado de Ensino", "o Sistema Integrado de Ensino"),
        ("o coordenador dev e encaminhar", "o coordenador deve encaminhar"),
        ("sob a responsabilidad e da PROEG", "sob a responsabilidade da PROEG"),
        ("para ministrá -las e cursá -la(s)", "para ministrá-las e cursá-la(s)"),
        ("R E S O L V E:", "RESOLVE:"),
        ("R E I TO R I A", "REITORIA"),  # the DOU sets a pair of letters closer
        ("DE A O E A", "DE A O E A"),  # no word when joined
        ("de R$ 100,00 a o aluno e de um", "de R$ 100,00 a o aluno e de um"),  # words stay words
        ("da UFAM e do CONSEPE", "da UFAM e do CONSEPE"),
    ],
)
def test_words_split_by_a_text_layer_are_joined(line: str, fixed: str) -> None:
    assert repair_words(line, LEX, Counter(), Counter()) == fixed


def test_a_lost_hyphen_comes_back_when_the_document_writes_it() -> None:
    counts: Counter[str] = Counter()
    vocab = Counter({"técnico-administrativo": 2})
    assert (
        repair_words("do pessoal técnicoadministrativo e", LEX, vocab, counts)
        == "do pessoal técnico-administrativo e"
    )
    assert counts["hyphens_restored"] == 1
    assert keep_hyphen("técnico", "administrativo", Counter(), LEX)  # two words: the hyphen is real
    assert not keep_hyphen("avalia", "ção", Counter(), LEX)  # layout hyphenation: joined


def test_replacement_characters_repaired_only_where_certain() -> None:
    counts: Counter[str] = Counter()
    corpus = corpus_vocabulary(["documento físico ou eletrônico", "o benefício"])
    text = (
        "no \ufffd 2\ufffd do art. 4\ufffd da Lei n\ufffd 12.933, o servi\ufffdo p\ufffdblico, "
        "certifica\ufffd\ufffdo eletr\ufffdnico at\ufffd 1\ufffd de dezembro, \ufffds vezes, ter\ufffdo"
    )
    fixed = repair_replacement_chars(text, LEX, corpus, counts)
    assert fixed == (
        "no § 2º do art. 4º da Lei nº 12.933, o serviço público, "
        "certificação eletrônico até 1º de dezembro, \ufffds vezes, ter\ufffdo"
    )
    assert counts["fffd_kept"] == 2  # "às"/"és"/"ás" and "terão"/"terço": no single word fits
    assert counts["fffd_repaired"] == 11
    cleaned, doc_counts = clean_document(["Art. 1\ufffd O servi\ufffdo \ufffd p\ufffdblico."], P)
    assert cleaned == "Art. 1º O serviço \ufffd público.\n" and doc_counts["fffd_kept"] == 1
