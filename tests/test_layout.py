"""Labels set in a column of their own (stages/documents/layout.py): a real page of UFMA's Resolução 313-CONSAD, rendered
without its text layer and read by the ocr stage, gets each "Art. Nº" back at the start of its article's text
(tesseract alone reads the label column as blocks of its own, away from the text); tesseract's text is rebuilt
exactly from its TSV; pages with no label column are left as tesseract wrote them. A page whose lines tesseract
cut into fragments of different blocks (a real skewed scan of UFAM's Resolução 011/2007, a photo-like rendering of
UFMA's Resolução 1.892) is read row by row."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium
import pytesseract
import pytest

from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.layout import (
    Block,
    Line,
    Word,
    cut_interleaved,
    join_label_column,
    parse_tsv,
    read_by_rows,
    render,
    split_lines,
)
from stages.documents.report import OcrRun
from stages.documents.settings import OcrParams
from stages.records.base import from_dict
from stages.records.pages import OcrDocument
from stages.text.chunking import ChunkParams, chunk_document
from stages.text.clean.chars import corpus_vocabulary
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams
from stages.text.legis.labels import LABEL_ALONE_RE
from stages.text.tokens import approx_token_count

PAGE = Path(__file__).resolve().parent / "data/real/ufma_313_consad_label_column_p4.pdf"
PHOTO = Path(__file__).resolve().parent / "data/real/ufma_1892_photo_like_p19.pdf"
SCAN = Path(__file__).resolve().parent / "data/real/res011_2007_cut_lines_p1.pdf"
MISREAD = Path(__file__).resolve().parent / "data/real/ufma_2807_flatbed_like_p5.pdf"
INTERLEAVED = Path(__file__).resolve().parent / "data/real/ufma_1892_photo_like_p16.pdf"
DPI = 300


def scanned(tmp: Path) -> Path:
    """The fixture page as an image-only PDF (a flatbed-like scan): the ocr stage must OCR it."""
    folder = tmp / "pdf"
    folder.mkdir()
    image = pdfium.PdfDocument(PAGE)[0].render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
    image.save(folder / "res313_p4.pdf", resolution=DPI)
    image.save(tmp / "page.png")
    return folder


def read(tmp: Path, p: OcrParams) -> tuple[OcrRun, str]:
    run = run_ocr(
        list_pdfs(tmp / "pdf"), p, tmp / f"ocr-{p.join_label_column}", tmp / f"c-{p.join_label_column}"
    )
    doc = from_dict(OcrDocument, json.loads((tmp / f"ocr-{p.join_label_column}/res313_p4.json").read_text()))
    return run, doc.pages[0].text


def read_both_ways(tmp: Path, pdf: Path, switch: str = "read_split_lines_by_rows") -> dict:
    """`pdf` read by the ocr stage with OcrParams' `switch` on (True) and off (False): (run, page)."""
    (tmp / "pdf").mkdir()
    (tmp / "pdf" / pdf.name).write_bytes(pdf.read_bytes())
    out = {}
    for on in (True, False):
        run = run_ocr(list_pdfs(tmp / "pdf"), OcrParams(**{switch: on}), tmp / f"ocr-{on}", tmp / f"c-{on}")
        doc = from_dict(OcrDocument, json.loads((tmp / f"ocr-{on}" / f"{pdf.stem}.json").read_text()))
        out[on] = (run, doc.pages[0])
    return out


@pytest.fixture(scope="module")
def readings(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("labels")
    scanned(tmp)
    joined, text = read(tmp, OcrParams())
    _, as_tesseract = read(tmp, OcrParams(join_label_column=False))
    return {"run": joined, "text": text, "tesseract": as_tesseract, "png": tmp / "page.png"}


def test_each_label_goes_back_to_the_start_of_its_article(readings: dict) -> None:
    starts = ("Art. 4º A progressão na Carreira", "Art. 5º A promoção na Carreira", "Art. 6º Na contagem")
    assert all(s in readings["text"] for s in starts)
    # tesseract alone reads the labels as a column of their own, away from the text they begin
    assert not any(s in readings["tesseract"] for s in starts)
    assert readings["run"].counts["labels_joined"] == 3
    # the paragraph's last line, set back at the left margin, follows the line it ends
    assert "conforme\nlegislação:" in readings["text"]
    assert readings["text"].index("SECRETARIA DOS COLEGIADOS") < readings["text"].index("Art. 4º")


def test_the_chunks_carry_each_article_with_its_text(readings: dict) -> None:
    text = readings["text"]
    cleaned, _ = clean_document([text], CleanParams(), corpus_vocabulary([text]))
    chunks = chunk_document("res313_p4", cleaned, ChunkParams(), approx_token_count)
    articles: dict[str, str] = {}
    for chunk in chunks:  # an article's first chunk
        for label in chunk.articles:
            articles.setdefault(label, chunk.text)
    assert list(articles) == ["Art. 4º", "Art. 5º", "Art. 6º"]
    assert "Art. 4º A progressão" in articles["Art. 4º"] and "cumulativamente" in articles["Art. 4º"]
    assert "Art. 6º Na contagem" in articles["Art. 6º"] and "conforme legislação:" in articles["Art. 6º"]


def test_the_text_is_rebuilt_from_the_tsv_exactly_as_tesseract_writes_it(readings: dict) -> None:
    config = f"--oem 1 --psm 3 --dpi {DPI}"
    txt = pytesseract.image_to_string(str(readings["png"]), lang="por", config=config)
    tsv = pytesseract.image_to_data(str(readings["png"]), lang="por", config=config)
    assert render(parse_tsv(tsv)) == txt.rstrip("\f")


def line(text: str, left: int, top: int, height: int = 40, par_start: bool = True) -> Line:
    words, x = [], left
    for w in text.split():
        words.append(Word(w, x, top, x + 25 * len(w), top + height))
        x += 25 * len(w) + 20
    return Line(words, par_start)


def test_a_page_without_a_label_column_is_left_alone() -> None:
    body = Block([line("A carreira de Magistério Superior é constituída", 800, 500)])
    logo = Block([line("3 =", 1030, 215)])  # a logo's junk beside a letterhead: far from the left margin
    head = Block([line("UNIVERSIDADE FEDERAL DO MARANHÃO SECRETARIA", 1224, 200)])
    footer = Block([line("a universidade que a gente quer", 350, 3300)])
    stamp = Block([line("- ira raçãs", 350, 500)])  # a stamp's junk at the margin, beside a line: no label
    blocks = [head, logo, stamp, body, footer]
    assert join_label_column(blocks, DPI) == (blocks, 0, 0)
    # a short line beside a line of a block not much wider than itself is a column, not a label
    left = Block([line("Art. 1º Esta", 350, 500)])
    right = Block([line("Resolução entra em vigor", 800, 500)])
    assert join_label_column([left, right], DPI)[1] == 0


def test_a_label_beside_a_line_inside_a_paragraph_starts_a_paragraph() -> None:
    label = Block([line("§ 2º", 350, 560)])
    body = Block(
        [
            line("As classes são distribuídas em cinco níveis de vencimento", 800, 500),
            line("Os níveis são contados a partir da data", 800, 560, par_start=False),
        ]
    )
    blocks, joined, _ = join_label_column([label, body], DPI)
    assert joined == 1
    assert render(blocks) == (
        "As classes são distribuídas em cinco níveis de vencimento\n\n§ 2º Os níveis são contados a partir da data\n"
    )


def test_a_stray_line_of_the_label_column_follows_the_line_above_it_on_a_skewed_page() -> None:
    label = Block([line("Art. 6º", 350, 500)])
    first = line("Na contagem do interstício para fins de promoção tratadas", 800, 500)
    last = line("nesta Resolução serão descontados os dias, conforme", 800, 560, par_start=False)
    for i, word in enumerate(
        last.words
    ):  # skewed: the long line's box reaches down past the stray line's top
        word.top += 30 * i // len(last.words)
        word.bottom += 30 * i // len(last.words)
    stray = Block([line("legislação:", 350, 615)])
    inciso = Block([line("I. Às faltas não justificadas do servidor no período", 800, 680)])
    blocks, joined, _ = join_label_column([label, stray, Block([first, last]), inciso], DPI)
    assert joined == 1
    assert render(blocks).splitlines()[:3] == [
        "Art. 6º Na contagem do interstício para fins de promoção tratadas",
        "nesta Resolução serão descontados os dias, conforme",
        "legislação:",
    ]


def test_junk_at_the_margin_stays_where_tesseract_put_it_on_a_page_with_labels() -> None:
    label = Block([line("Art. 14 -", 350, 500)])
    body = Block(
        [
            line("O Coordenador de Curso decidirá sobre o requerimento no prazo", 800, 500),
            line("de cinco dias úteis, cientificando o discente da decisão.", 800, 560, par_start=False),
        ]
    )
    junk = Block([line("EDS 18 ai", 350, 640, height=70)])  # a stamp: taller, after a full stop
    blocks, joined, misread = join_label_column([junk, label, body], DPI)
    assert joined == 1 and misread == 0 and blocks[0] is junk
    assert (
        render(blocks).splitlines()[2]
        == "Art. 14 - O Coordenador de Curso decidirá sobre o requerimento no prazo"
    )


def paragraphs(*rows: tuple[str, int]) -> Block:
    """A block of the text column (at x = 800): each (text, top) a line, the first one starting a paragraph."""
    return Block([line(text, 800, top, par_start=not i) for i, (text, top) in enumerate(rows)])


def test_a_block_of_the_label_column_is_read_line_by_line() -> None:
    # tesseract put a paragraph's last line, back at the left margin, and the next label in one block
    column = Block([line("deste artigo;", 350, 620, par_start=True), line("§ 2º", 350, 700, par_start=False)])
    first = Block([line("§ 1º", 350, 500)])
    body = paragraphs(
        ("Os representantes docentes serão escolhidos entre seus pares", 500),
        ("e referidos no inciso III", 560),
    )
    second = paragraphs(("O representante do pessoal técnico será escolhido", 700))
    blocks, joined, misread = join_label_column([first, column, body, second], DPI)
    assert (joined, misread) == (2, 0)
    assert render(blocks).splitlines() == [
        "§ 1º Os representantes docentes serão escolhidos entre seus pares",
        "e referidos no inciso III",
        "deste artigo;",
        "",
        "§ 2º O representante do pessoal técnico será escolhido",
    ]


def test_a_misread_label_where_the_labels_stand_goes_to_its_line() -> None:
    labels = [Block([line("§ 5º", 350, 500)]), Block([line("Ss", 352, 700)]), Block([line("§ 7º", 350, 900)])]
    body = [
        paragraphs(("Os mandatos dos representantes eleitos serão de dois anos", 500)),
        paragraphs(("A escolha dos representantes atenderá ao Regimento", 700)),
        paragraphs(("O Conselho adotará critérios para a desvinculação", 900)),
    ]
    blocks, joined, misread = join_label_column([*labels, *body], DPI)
    assert (joined, misread) == (3, 1)
    assert "Ss A escolha dos representantes atenderá ao Regimento" in render(blocks).splitlines()


def test_no_label_is_taken_for_misread_on_a_page_whose_labels_all_misread() -> None:
    blocks = [Block([line("Ss", 352, 700)]), paragraphs(("A escolha dos representantes atenderá", 700))]
    assert join_label_column(blocks, DPI) == (blocks, 0, 0)


TALL = Block([line("Ss", 352, 700, height=80)])  # twice as tall as the label: a logo's or a stamp's junk
LONG = Block([line("ao de um", 352, 700)])  # more characters than a label: a paragraph's last words
WIDE = Block([Line([Word("1", 352, 700, 377, 740), Word("2", 650, 700, 675, 740)], True)])  # > 1.5x as wide
AWAY = Block([line("Ss", 352, 700)])  # beside a line that starts further right than the labels' lines


@pytest.mark.parametrize(("other", "beside"), [(TALL, 800), (LONG, 800), (WIDE, 800), (AWAY, 1100)])
def test_what_is_no_misread_label(other: Block, beside: int) -> None:
    label = Block([line("Art. 12", 350, 500)])
    body = [
        paragraphs(("Os mandatos dos representantes eleitos serão de dois anos", 500)),
        Block(
            [line("A escolha dos representantes que constituem o Conselho Técnico-Científico", beside, 700)]
        ),
    ]
    blocks, joined, misread = join_label_column([label, other, *body], DPI)
    assert (joined, misread) == (1, 0)
    assert other in blocks


def test_misread_labels_and_a_block_of_label_and_last_line_go_to_their_lines(tmp_path: Path) -> None:
    """UFMA's Resolução 2.807 p. 5 as the bench renders it flatbed-like: tesseract read three of its "§ Nº"
    labels as "Ss", "3a" and "34", and put "§ 2º" in one block with the paragraph's last line above it."""
    pages = read_both_ways(tmp_path, MISREAD, "join_label_column")
    run, page = pages[True]
    assert (run.counts["labels_joined"], run.counts["labels_misread"]) == (7, 3)
    assert (page.count("labels_joined"), page.count("labels_misread")) == (7, 3)
    starts = [
        "Ss Os representantes docentes das unidades",
        "82º O representante do pessoal técnico-administrativo",
        "entre seus pares com exercício no\nNúcleo.",  # the last line, back at the margin, after its line
        "3a O representante do pessoal discente",
        "34 O representante da Pró-Reitoria",
        "$5º Os mandatos dos representantes",
    ]
    at = [page.text.find(s) for s in starts]
    assert -1 not in at and at == sorted(at)
    assert page.text.startswith("UNIVERSIDADE")  # no label left above the letterhead
    cleaned, _ = clean_document([page.text], CleanParams(), corpus_vocabulary([page.text]))
    assert "3a O representante do pessoal discente" in cleaned  # no longer dropped with the letterhead
    # tesseract's own order: the label column's lines above the letterhead
    run, page = pages[False]
    assert run.counts["labels_joined"] == run.counts["labels_misread"] == 0
    assert not any(s in page.text for s in starts)
    assert page.text.startswith("Ss\n")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Art. 4º", True),
        ("Art. 12.", True),
        ("Art. 10 -", True),
        ("§ 1º", True),
        ("$1º", True),  # OCR's readings of the sign
        ("S 2º", True),
        ("Parágrafo único.", True),
        ("IV –", True),
        ("III)", True),
        ("b)", True),
        ("Art. 2º se", False),  # a label and a word of the text: not a label alone
        ("S 2", False),  # a misread sign needs its ordinal or period
        ("Surés", False),  # logo, stamp and margin junk from the UFAM corpus's scans
        ("- ira raçãs", False),
        ("EDS — 18 2 ai Md Sis io 1", False),
        ("AR", False),
    ],
)
def test_what_reads_as_a_label_alone(text: str, label: bool) -> None:
    assert bool(LABEL_ALONE_RE.fullmatch(text)) is label


def assert_read_in_order(readings: dict, lines: list[str], splits: int) -> None:
    """Read row by row (at least `splits` lines found cut), the page has `lines` whole and in order; as tesseract
    orders it, none of them."""
    run, page = readings[True]
    assert run.pages_read_by_rows == 1 and page.count("lines_split") >= splits
    at = [page.text.find(line) for line in lines]
    assert -1 not in at and at == sorted(at)
    run, page = readings[False]
    assert run.pages_read_by_rows == 0
    assert not any(line in page.text for line in lines)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return read_both_ways(tmp_path_factory.mktemp("rows"), PHOTO)


def test_a_skewed_scan_cut_into_blocks_reads_in_the_order_of_its_lines(tmp_path: Path) -> None:
    """A real flatbed scan, a little skewed: tesseract cut its lines where the words of several lines happen to
    line up, and read the pieces block after block ("O PRÓ-REITOR DE EN" ... "SINO DE GRADUAÇÃO")."""
    readings = read_both_ways(tmp_path, SCAN)
    lines = [
        "O PRÓ-REITOR DE ENSINO DE GRADUAÇÃO DA UNIVERSIDADE FEDERAL DO",
        "AMAZONAS, NA PRESIDÊNCIA DA CÂMARA DE ENSINO DE GRADUAÇÃO, DO",
        "CONSELHO DE ENSINO, PESQUISA E EXTENSÃO no uso de suas atribuições estatutárias.",
        # a speck read as "-" far left, inside the piece this line's other piece goes on from
        "Inciso | e Parágrafo Unico do Artigo 75. do Regimento Geral da Universidade Federal do",
        "candidatos para o ano letivo imediatamente subsequente à sua realização",
        "novo aluno usar de outros meios para postergar seu ingresso efetivo na Universidade",
        "CONSIDERANDO as propostas produzidas nas discussões em torno da matéria objeto",
        "CONSIDERANDO a competência funcional da Câmara de Ensino de Graduação",
    ]
    assert_read_in_order(readings, lines, splits=5)


def test_a_page_with_lines_cut_into_blocks_is_read_row_by_row(photo: dict) -> None:
    run, page = photo[True]
    assert run.pages_read_by_rows == 1 and run.counts["lines_split"] >= 3
    assert page.count("lines_split") == run.counts["lines_split"]
    # each line whole, in the order of the page
    lines = [
        "CONSEPE a decisão final sobre a criação do novo formato de",
        "componente curricular, levando em consideração o parecer de que",
        "curricular no CONSEPE, a PROEN deverá encaminhar ao NTI",
        "solicitação para a sua implantação, o qual terá um prazo de 6 (seis)",
        "Art. 56 As disciplinas e os módulos deverão ser detalhados em um programa,",
        "no qual deverá constar, obrigatoriamente:",
        "Art. 57 As turmas formadas em função de um componente curricular deverão",
    ]
    at = [page.text.find(line) for line in lines]
    assert -1 not in at and at == sorted(at)
    # tesseract's own order: the fragments block after block, the labels away from their articles
    run, page = photo[False]
    assert run.pages_read_by_rows == 0 and page.count("lines_split") == 0
    assert [line in page.text for line in lines] == [False] * 5 + [True, False]  # one line was whole


def test_the_rows_chunk_into_articles_with_their_text(photo: dict) -> None:
    text = photo[True][1].text
    cleaned, _ = clean_document([text], CleanParams(), corpus_vocabulary([text]))
    chunks = chunk_document("res1892_p19", cleaned, ChunkParams(), approx_token_count)
    first: dict[str, str] = {}  # an article's first chunk
    for chunk in chunks:
        for label in chunk.articles:
            first.setdefault(label, chunk.text)
    assert {"Art. 56", "Art. 57"} <= set(first)
    assert "As disciplinas e os módulos deverão ser detalhados" in first["Art. 56"]


def test_a_line_whose_words_tesseract_interleaved_with_another_block_s_is_read_as_one_row(
    tmp_path: Path,
) -> None:
    """UFMA 1.892 p. 16 as the bench renders it photo-like: tesseract put "vínculo à feita mediante" in one block
    and "empregatício será", which stands between "vínculo" and "feita", in another; no line is cut at a seam."""
    readings = read_both_ways(tmp_path, INTERLEAVED)
    whole = [
        "Art. 40 A comprovação de vínculo empregatício será feita mediante",
        "apresentação do ato de nomeação, da carteira de trabalho,",
        "Art. 41 Matrícula é o ato que formaliza o vínculo de estudantes ingressantes",
    ]
    assert_read_in_order(readings, whole, splits=2)
    _, page = readings[False]
    assert "vínculo à feita mediante" in page.text


def interleaved(gap_word: Line) -> list[Block]:
    """A line of one block with `gap_word` (another block's) between its words "vínculo" and "feita"."""
    left = line("de vínculo", 800, 500)
    right = line("feita mediante", 1540, 500)
    host = Line([*left.words, *right.words], par_start=True)
    return [Block([line("apresentação do ato", 800, 440)]), Block([host]), Block([gap_word])]


def test_words_interleaved_from_another_block_are_read_in_their_place() -> None:
    blocks = interleaved(line("empregatício será", 1090, 503))
    cut, found = cut_interleaved(blocks)
    assert found == 1 and render(blocks).splitlines()[2] == "de vínculo feita mediante"  # blocks left alone
    assert render(read_by_rows(cut)).splitlines() == [
        "apresentação do ato",
        "de vínculo empregatício será feita mediante",
    ]
    # an accent read apart as a word of the line, inside the other's span, does not stop it
    speck = Block(
        [
            Line(
                [
                    *blocks[1].lines[0].words[:2],
                    Word("à", 1400, 490, 1410, 500),
                    *blocks[1].lines[0].words[2:],
                ],
                True,
            )
        ]
    )
    assert cut_interleaved([blocks[0], speck, blocks[2]])[1] == 1


@pytest.mark.parametrize(
    "gap_word",
    [
        line("empregatício será", 1090, 560),  # a row below: a line of its own between the line's words
        line("sé", 1090, 503),  # fewer than three letters: a speck
        line("empregatício será feita mediante e mais", 1090, 503),  # runs past the line's next word
    ],
)
def test_what_is_no_interleaved_line(gap_word: Line) -> None:
    assert cut_interleaved(interleaved(gap_word))[1] == 0


def test_lines_of_one_block_are_not_taken_for_interleaved() -> None:
    above, host, gap = interleaved(line("empregatício será", 1090, 503))
    assert cut_interleaved([above, Block([*host.lines, *gap.lines])])[1] == 0


def test_a_line_cut_into_two_blocks_is_read_row_by_row() -> None:
    cut = [
        line("CONSEPE a decisão final sobre", 850, 520, par_start=False),
        line("componente curricular,", 850, 580, par_start=False),
    ]
    left = Block([line("Após a manifestação da comissão, o Projeto Pedagógico", 850, 460), *cut])
    right = Block(  # a word space from the seams (0.6 word heights), a little lower: a photo's skew
        [
            line("a criação do novo formato de", cut[0].right + 24, 526),
            line("levando em consideração", cut[1].right + 24, 584, par_start=False),
        ]
    )
    # a row this far below the one above begins a paragraph, whatever tesseract's paragraphs said
    label = Block([line("Art. 56", 370, 700, par_start=False)])
    last = Block([line("As disciplinas e os módulos deverão", 850, 702, par_start=False)])
    assert split_lines([left, right, label, last]) == 2
    assert render(read_by_rows([left, right, label, last])) == (
        "Após a manifestação da comissão, o Projeto Pedagógico\n"
        "CONSEPE a decisão final sobre a criação do novo formato de\n"
        "componente curricular, levando em consideração\n"
        "\n"
        "Art. 56 As disciplinas e os módulos deverão\n"
    )


def test_rows_follow_a_skewed_page() -> None:
    """Lines rising 5% to the right: a long line's box is taller than its type, so the fragments of a cut line
    share less than half their boxes' height, though their words at the seam stand beside each other; and a
    short line at the right stands higher than the start of the line above it."""

    def skewed(text: str, left: int, top: int) -> Line:
        out = line(text, left, top, par_start=False)
        for word in out.words:
            rise = int(0.05 * (word.left - 300))
            word.top -= rise
            word.bottom -= rise
        return out

    first = skewed("O PRÓ-REITOR DE EN", 300, 900)
    second = skewed("AMAZONAS, NA PRESIDÊNCIA DA CÂMARA", 300, 960)
    third = skewed("CONSELHO DE ENSINO, PESQUISA E EXTENSÃO no uso", 300, 1020)
    date = skewed("Manaus, 18 de abril.", 1700, 1080)
    rest = skewed("de suas atribuições estatutárias e regimentais.", third.right + 20, 1020)
    shared = min(third.bottom, rest.bottom) - max(third.top, rest.top)
    assert shared < 0.5 * min(third.bottom - third.top, rest.bottom - rest.top)  # the boxes: not beside
    assert split_lines([Block([third]), Block([rest])]) == 1
    blocks = [
        Block([skewed("SINO DE GRADUAÇÃO DA UNIVERSIDADE", first.right + 2, 900)]),
        Block([rest]),
        Block([first, second, third]),
        Block([date]),
    ]
    assert split_lines(blocks) == 2
    assert render(read_by_rows(blocks)).splitlines() == [
        "O PRÓ-REITOR DE ENSINO DE GRADUAÇÃO DA UNIVERSIDADE",  # capitals cut at the seam: joined too
        "AMAZONAS, NA PRESIDÊNCIA DA CÂMARA",
        "CONSELHO DE ENSINO, PESQUISA E EXTENSÃO no uso de suas atribuições estatutárias e regimentais.",
        "Manaus, 18 de abril.",
    ]


def test_every_word_is_kept_when_specks_overlap() -> None:
    """Two specks at one place, each within the other's reach, and one a pixel further: no row loses them."""
    marks = ((".", 1000), (",", 1000), ("'", 1001))
    specks = [Line([Word(mark, left, 500, left + 4, 540)], True) for mark, left in marks]
    body = line("O programa deve ser implantado", 300, 700)
    rows = render(read_by_rows([Block([body]), *(Block([s]) for s in specks)]))
    assert sorted(rows.split()) == sorted([".", ",", "'", *"O programa deve ser implantado".split()])


def test_a_speck_at_a_piece_s_end_does_not_keep_it_from_its_row() -> None:
    left = line("Inciso I e Parágrafo Único do Artigo", 330, 1314)
    right = line("75. do Regimento Geral", left.right + 25, 1315)
    right.words.insert(0, Word("-", 771, 1319, 777, 1325))  # tesseract put a speck inside `left` in `right`
    rows = render(read_by_rows([Block([right]), Block([left])])).splitlines()
    assert rows == ["-", "Inciso I e Parágrafo Único do Artigo 75. do Regimento Geral"]
    # a speck beside its line, a word space away, stays in it
    near = line("Art. 5º O prazo", 330, 1314)
    near.words.append(Word("-", near.right + 10, 1320, near.right + 16, 1326))
    assert render(read_by_rows([Block([near])])) == "Art. 5º O prazo -\n"


def test_a_word_cut_at_the_seam_is_joined_again() -> None:
    left = line("deverão se", 850, 500)
    right = line("r detalhados em um programa,", left.right + 4, 500)  # 0.1 word heights: no space
    assert render(read_by_rows([Block([left]), Block([right])])) == "deverão ser detalhados em um programa,\n"


def test_columns_a_gutter_apart_a_logo_s_specks_and_table_cells_are_no_cut_lines() -> None:
    left = Block([line("Art. 1º Fica aprovado o", 300, 500), line("regulamento dos cursos", 300, 560)])
    right = Block([line("de graduação da universidade", left.right + 60, 500)])  # 1.5 word heights
    assert split_lines([left, right]) == 0
    head = line("UNIVERSIDADE FEDERAL", 1100, 195, height=56)
    specks = line("» 46% .", head.left - 200, 200, height=50)  # a logo's specks beside the letterhead
    assert split_lines([Block([specks]), Block([head])]) == 0
    small = line("Fundação", head.left - 230, 210, height=26)  # the letterhead's smaller type, beside
    assert split_lines([Block([small]), Block([head])]) == 0
    # a table's cells either side of a vertical rule, which tesseract reads as "|"
    cell = Block([line("Administrativa da", 300, 700)])
    other = Block([line("| Analisar o mérito para a transferência", cell.right + 14, 700)])
    assert split_lines([cell, other]) == 0
