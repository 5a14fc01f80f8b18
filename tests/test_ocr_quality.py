"""ocr on real layouts: page quality and verdicts, adaptive binarization, second passes, OSD rotation,
text layers checked rather than trusted, duplicates. Real tesseract on real pages from the UFAM corpus
(tests/data/real/, see its README); the signal functions on small hand-made inputs."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.duplicates import same_text_duplicates
from stages.documents.quality import assess, broken_glyphs, ligature_losses, measure_image
from stages.documents.report import Duplicate, SuspectPage, quality_table
from stages.documents.settings import OcrParams
from stages.documents.tesseract import tesseract_major
from stages.records.base import from_dict
from stages.records.pages import OcrDocument, OcrPage
from stages.text.lexicon import known_share, load_lexicon, match_case, repair_candidates

REAL = Path(__file__).resolve().parent / "data/real"
PHOTO = REAL / "res23_2017_photo_p2.pdf"  # phone photo: grey paper, light falling off, white margins
LETTERHEAD = REAL / "res15_2018_letterhead_p1_p6.pdf"  # flatbed scan, coat of arms beside the letterhead
BROKEN_LAYER = REAL / "lei_carteira_broken_layer_p5.pdf"  # text layer (and drawing) with U+FFFD for accents
LOST_LIGATURES = REAL / "port05_2020_lost_ligatures_p1.pdf"  # text layer without its "ti" ligatures
P = OcrParams()
LEX = load_lexicon()
BODY = (
    "Art. 1º Ficam aprovadas as normas do regime didático dos cursos de graduação da Universidade, "
    "contidas nos anexos desta Resolução, que dela fazem parte integrante para todos os efeitos legais."
)


def read_doc(out: Path, stem: str) -> OcrDocument:
    return from_dict(OcrDocument, json.loads((out / f"{stem}.json").read_text(encoding="utf-8")))


def only(*pdfs: Path, into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    for pdf in pdfs:
        shutil.copy(pdf, into / pdf.name)
    return list_pdfs(into)


# --- signals and verdicts --------------------------------------------------------------------------


def test_lexicon_knows_portuguese_and_not_ocr_garbage() -> None:
    share, n = known_share(BODY, LEX)
    assert n >= 20 and share > 0.9
    garbage = "Ny q N 4 o fl WAR Pta ada Ergo leo by mic soca Surés aii Rana oral TER REA Vas ADN jângcia resigaencia"
    share, _ = known_share(garbage * 2, LEX)
    assert share < 0.6
    assert "seção" in LEX and "percepção" in LEX  # Brazilian forms (Debian's wbrazilian) when installed


def test_repair_candidates_and_case() -> None:
    assert repair_candidates("servi\ufffdo", LEX) == {"serviço"}
    assert repair_candidates("certifica\ufffd\ufffdo", LEX) == {"certificação"}
    assert repair_candidates("\ufffds", LEX) >= {"às", "és"}  # ambiguous: never guessed
    assert repair_candidates("xyz\ufffdw", LEX, ["xyzéw"]) == {"xyzéw"}  # the corpus's own words count
    assert (
        match_case("serviço", "SERVI\ufffdO") == "SERVIÇO" and match_case("título", "T\ufffdtulo") == "Título"
    )


def test_verdicts_name_their_reasons() -> None:
    ok = assess(BODY, 93.0, 4.0, LEX, P)
    assert ok.verdict == "ok" and ok.reasons == () and ok.letters > 150
    assert assess("", None, 25.0, LEX, P).reasons == ("empty_with_ink",)
    assert assess("", None, 0.2, LEX, P).verdict == "ok"  # a blank page is not suspect
    assert "little_text_for_ink" in assess("Art. 1º Fica", 90.0, 40.0, LEX, P).reasons
    assert "low_confidence" in assess(BODY, 45.0, 4.0, LEX, P).reasons
    sideways = "iE ot ssa 3 ospo ueoss ed ohn ebd soy udnoj opnu oinjig ogenjed woo opusq arf ew ifs " * 3
    assert "few_known_words" in assess(sideways, 80.0, 4.0, LEX, P).reasons
    assert assess("T\ufffdtulo V da Lei " + BODY, None, None, LEX, P).reasons == ("broken_glyphs",)


def test_broken_glyphs_and_lost_ligatures() -> None:
    assert broken_glyphs("\uf0a7 a Reitoria;\n\uf0a7 os órgãos") == 0  # Symbol-font bullets are harmless
    assert broken_glyphs("servi\ufffdo p\ue020blico") == 2
    lost = "as avidades dos parcipantes do programa instucional, a vidades de cerficação"
    assert ligature_losses(lost, LEX) >= 3
    assert "lost_ligatures" in assess(lost + " " + BODY, None, None, LEX, P, text_layer=True).reasons
    assert ligature_losses(BODY + " sus pas renta", LEX) == 0  # short fragments fit too many words


def test_light_spread_tells_a_photo_from_a_scan(tmp_path: Path) -> None:
    h, w = 1400, 1000
    page = np.full((h, w), 235, np.uint8)
    for y in range(200, 1200, 60):
        page[y : y + 16, 100:900] = 30  # lines of "text", 16 px high (a 10 pt line at 300 dpi is ~25 px)
    Image.fromarray(page).save(tmp_path / "scan.pgm")
    falloff = np.linspace(1.0, 0.55, w)[None, :] * np.linspace(1.0, 0.8, h)[:, None]
    Image.fromarray((page * falloff).astype(np.uint8)).save(tmp_path / "photo.pgm")
    scan, photo = (
        measure_image(str(tmp_path / "scan.pgm"), 300),
        measure_image(str(tmp_path / "photo.pgm"), 300),
    )
    assert scan.light_spread < 10 < 40 < photo.light_spread
    assert scan.ink_cm2 == pytest.approx(photo.ink_cm2, rel=0.2) and scan.ink_cm2 > 1
    Image.fromarray(np.full((h, w), 240, np.uint8)).save(tmp_path / "blank.pgm")
    assert measure_image(str(tmp_path / "blank.pgm"), 300).ink_cm2 == 0


def test_tesseract_major_version() -> None:
    assert tesseract_major("tesseract 5.3.0") == 5 and tesseract_major("tesseract 4.1.1") == 4
    assert tesseract_major("?") == 0


def test_same_text_duplicates_keeps_the_better_copy() -> None:
    def page(text: str, verdict: str = "ok") -> OcrPage:
        return OcrPage(page=1, method="ocr", text=text, confidence=90.0, verdict=verdict)

    docs = {
        "a_copy": [page(BODY * 3)],
        "b_original": [page(BODY * 3 + " ")],
        "c_other": [page(BODY.replace("aprovadas", "revogadas") * 3 + " Art. 9º Outro texto inteiro aqui.")],
        "d_short": [page("Art. 1º")],
        "e_short": [page("Art. 1º")],
    }
    assert same_text_duplicates(docs, 98.0) == {"b_original": "a_copy"}
    docs["a_copy"] = [page(BODY * 3, "suspect")]  # the copy without a suspect page is the one kept
    assert same_text_duplicates(docs, 98.0) == {"a_copy": "b_original"}


# --- real pages through the real stage ------------------------------------------------------------


def test_photographed_page_is_read_whole(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Today's settings (global Otsu, one pass) read nothing on this photographed page: it must now be read,
    and with the old settings it must at least be reported, never silently empty."""
    pdfs = only(PHOTO, into=tmp_path / "pdf")
    run = run_ocr(pdfs, OcrParams(), tmp_path / "ocr", tmp_path / "cache")
    (page,) = read_doc(tmp_path / "ocr", PHOTO.stem).pages
    assert page.method == "ocr" and page.binarization == "sauvola" and page.verdict == "ok"
    assert page.chars > 900 and page.lexicon_share > 0.85 and page.confidence > 80
    assert "Art. 1º APROVAR" in page.text and "Art. 2º Esta resolução" in page.text
    assert "Resolução nº 006, de 20 de janeiro" in page.text  # the right-hand ends of lines are there
    assert run.pages_adaptive == 1 and run.pages_suspect == 0

    old = OcrParams(adaptive_light_spread=255, retry_suspect=False)  # today's behaviour
    with caplog.at_level(logging.WARNING, logger="stages.ocr"):
        run = run_ocr(pdfs, old, tmp_path / "ocr-old", tmp_path / "cache-old")
    (page,) = read_doc(tmp_path / "ocr-old", PHOTO.stem).pages
    assert page.text.strip() == "" and page.verdict == "suspect" and page.reasons == ["empty_with_ink"]
    assert run.pages_empty_with_ink == 1
    assert run.suspect_pages == [SuspectPage(PHOTO.name, 1, "empty_with_ink")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(PHOTO.name in w and "page 1" in w and "empty_with_ink" in w for w in warnings)

    # a second pass recovers it even when the lighting check is off: Otsu reads nothing, Sauvola reads it
    run = run_ocr(pdfs, OcrParams(adaptive_light_spread=255), tmp_path / "ocr-2", tmp_path / "cache-2")
    (page,) = read_doc(tmp_path / "ocr-2", PHOTO.stem).pages
    assert page.passes == 2 and page.binarization == "sauvola" and page.verdict == "ok"
    assert "Art. 1º APROVAR" in page.text and run.facts.pages_retried == 1


@pytest.mark.parametrize("degrees", [90, 180])
def test_page_scanned_sideways_or_upside_down_is_turned(tmp_path: Path, degrees: int) -> None:
    """OSD turns the page before it is read (ocr.retry_suspect); the text is the upright page's."""
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(LETTERHEAD)[0].render(scale=200 / 72, grayscale=True).to_pil()
    (tmp_path / "pdf").mkdir()
    page.rotate(degrees, expand=True).save(tmp_path / "pdf/turned.pdf", resolution=200)
    run = run_ocr(list_pdfs(tmp_path / "pdf"), OcrParams(), tmp_path / "ocr", tmp_path / "cache")
    (record,) = read_doc(tmp_path / "ocr", "turned").pages
    assert record.rotation == degrees  # PIL turned it counter-clockwise; OSD says turn it back clockwise
    assert record.passes >= 2 and record.verdict == "ok" and record.lexicon_share > 0.85
    assert "APROVAR o Regulamento do Programa de Trabalho Voluntário" in record.text
    assert run.pages_rotated == 1


def test_text_layers_are_checked_not_trusted(tmp_path: Path) -> None:
    pdfs = only(BROKEN_LAYER, LOST_LIGATURES, into=tmp_path / "pdf")
    run = run_ocr(pdfs, OcrParams(), tmp_path / "ocr", tmp_path / "cache")
    # Accents drawn as U+FFFD on the page too: OCR reads no better, so the layer stays (clean repairs it), and
    # the page is reported suspect.
    (broken,) = read_doc(tmp_path / "ocr", BROKEN_LAYER.stem).pages
    assert broken.method == "text" and broken.passes == 1 and not broken.text_layer_rejected
    assert broken.verdict == "suspect" and broken.reasons == ["broken_glyphs"] and broken.broken_glyphs > 50
    # A layer that lost its "ti" ligatures ("avidades"): the page is OCR'd and the OCR text kept.
    (lost,) = read_doc(tmp_path / "ocr", LOST_LIGATURES.stem).pages
    assert lost.method == "ocr" and lost.text_layer_rejected and lost.verdict == "ok"
    assert "atividades" in lost.text and "avidades" not in lost.text.replace("atividades", "")
    assert run.text_layers_failed == 2 and run.text_layers_rejected == 1
    assert run.pages_ocr == 1 and run.pages_text == 1
    assert run.suspect_pages == [SuspectPage(BROKEN_LAYER.name, 1, "broken_glyphs")]
    with_check_off = run_ocr(pdfs, OcrParams(check_text_layers=False), tmp_path / "ocr-off", tmp_path / "c2")
    assert with_check_off.pages_ocr == 0 and with_check_off.text_layers_failed == 0


def test_duplicates_are_processed_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from reportlab.pdfgen import canvas

    d = tmp_path / "pdf"
    d.mkdir()
    shutil.copy(LOST_LIGATURES, d / "a_portaria.pdf")
    shutil.copy(LOST_LIGATURES, d / "b_portaria_copia.pdf")  # the same bytes under another name
    for name, title in (("c_resolucao.pdf", "Original"), ("d_resolucao_v2.pdf", "Reexportada")):
        c = canvas.Canvas(str(d / name), invariant=1)
        c.setTitle(title)  # other bytes, the same text
        for i in range(6):
            c.drawString(40, 760 - 20 * i, BODY[i * 30 : (i + 1) * 30 + 30])
        c.showPage()
        c.save()
    with caplog.at_level(logging.WARNING, logger="stages.ocr"):
        run = run_ocr(list_pdfs(d), OcrParams(), tmp_path / "ocr", tmp_path / "cache")
    assert run.duplicates == [
        Duplicate("b_portaria_copia.pdf", "a_portaria.pdf", "same bytes"),
        Duplicate("d_resolucao_v2.pdf", "c_resolucao.pdf", "same text"),
    ]
    assert sorted(p.stem for p in (tmp_path / "ocr").glob("*.json")) == ["a_portaria", "c_resolucao"]
    assert run.documents == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("processed once" in w for w in warnings) == 2
    rows = quality_table(tmp_path / "ocr")
    assert [r["doc"] for r in rows] == ["a_portaria", "c_resolucao"] and all(
        r["suspect_pages"] == 0 for r in rows
    )
