"""ocr stage: params, bad input, strict mode, set-up errors, text layers, cache. Real tesseract and poppler
throughout; the only stand-in is a shell wrapper in front of the real tesseract that counts its calls."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from ocr_pdfs import (
    counting_tesseract,
    mixed_pdf,
    ocr_calls,
    path_with,
    png_named_pdf,
    random_bytes_pdf,
    scanned_pdf,
    text_layer_pdf,
    truncated_pdf,
    wide_page_pdf,
)

from stages.core.params import ParamsError, build_params
from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.settings import OcrParams
from stages.documents.tesseract import OcrSetupError, mean_confidence

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_stage(cwd: Path, params: dict, env_path: str | None = None) -> subprocess.CompletedProcess:
    """`python -m stages.ocr` as DVC runs it, in `cwd` with its own params.yaml."""
    (cwd / "params.yaml").write_text(yaml.safe_dump({"ocr": params}))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    if env_path is not None:
        env["PATH"] = env_path
    return subprocess.run(
        [sys.executable, "-m", "stages.ocr"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_params_problems_are_reported_together() -> None:
    with pytest.raises(ParamsError) as e:
        build_params("ocr", OcrParams, {"dpi": 20, "psm": 0, "lang": "por eng", "workers": -1, "colour": 1})
    assert "ocr.colour is not a known parameter" in str(e.value)
    with pytest.raises(ParamsError) as e:
        build_params("ocr", OcrParams, {"dpi": 20, "psm": 0, "lang": "por eng", "workers": -1})
    for name in ("ocr.dpi", "ocr.psm", "ocr.lang", "ocr.workers"):
        assert name in str(e.value)
    assert build_params("ocr", OcrParams, {"lang": "por+eng", "psm": 6}).lang == "por+eng"


def test_mean_confidence_uses_words_only() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",  # page row: no word
        "5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t90.5\tArt.",
        "5\t1\t1\t1\t1\t2\t0\t0\t10\t10\t70.5\t7º",
        "5\t1\t1\t1\t1\t3\t0\t0\t10\t10\t95\t ",  # blank word
    ]
    assert mean_confidence("\n".join([header, *rows])) == 80.5
    assert mean_confidence(header) is None


def test_empty_or_missing_input_dir_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no pdfs here")
    with pytest.raises(ParamsError, match=r"has no \*\.pdf files"):
        list_pdfs(tmp_path)
    with pytest.raises(ParamsError, match="is not a folder"):
        list_pdfs(tmp_path / "missing")
    done = run_stage(tmp_path, {"input_dir": "."})
    assert done.returncode == 2
    assert "ocr.input_dir '.' has no *.pdf files" in done.stderr


@pytest.fixture()
def bad_input_dir(tmp_path: Path) -> Path:
    """Two good documents and one of each kind of bad input."""
    d = tmp_path / "pdfs"
    d.mkdir()
    scanned_pdf(d / "good.pdf", ["Art. 7 O prazo de recurso e de 30 (trinta) dias."])
    text_layer_pdf(
        d / "digital.pdf", ["Art. 1 Esta Portaria regulamenta o emprestimo de livros da biblioteca."]
    )
    (d / "empty.pdf").write_bytes(b"")
    truncated_pdf(d / "truncated.pdf", d / "digital.pdf")
    random_bytes_pdf(d / "random.pdf")
    png_named_pdf(d / "image.pdf")
    text_layer_pdf(
        d / "encrypted.pdf", ["Art. 2 Documento protegido por senha de usuario."], encrypt="segredo"
    )
    wide_page_pdf(d / "widepage.pdf", "Art. 3 Primeira pagina legivel.")
    return d


def test_bad_inputs_are_skipped_listed_and_the_rest_processed(
    bad_input_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out, cache = tmp_path / "ocr", tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="stages.ocr"):
        run = run_ocr(list_pdfs(bad_input_dir), OcrParams(input_dir=str(bad_input_dir)), out, cache)

    reasons = {f.file: f.reason for f in run.failures}
    assert set(reasons) == {
        "empty.pdf",
        "truncated.pdf",
        "random.pdf",
        "image.pdf",
        "encrypted.pdf",
        "widepage.pdf",
    }
    assert "empty file" in reasons["empty.pdf"]
    assert "truncated or corrupt" in reasons["truncated.pdf"]
    assert "not a PDF" in reasons["random.pdf"] and "PNG" in reasons["image.pdf"]
    assert "encrypted" in reasons["encrypted.pdf"] and "qpdf --decrypt" in reasons["encrypted.pdf"]
    assert (
        reasons["widepage.pdf"].startswith("page 2: TesseractError")
        and "too large" in reasons["widepage.pdf"]
    )
    # one warning line per failure, naming the file
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 6 and all("\n" not in w for w in warnings)
    for name in reasons:
        assert sum(name in w for w in warnings) == 1

    good = json.loads((out / "good.json").read_text())
    assert good["source"] == "good.pdf" and good["pages"][0]["method"] == "ocr"
    assert "prazo de recurso" in good["pages"][0]["text"] and good["pages"][0]["confidence"] > 50
    digital = json.loads((out / "digital.json").read_text())
    assert (
        digital["pages"][0]["method"] == "text" and "regulamenta o emprestimo" in digital["pages"][0]["text"]
    )
    wide = json.loads((out / "widepage.json").read_text())  # the readable page is kept, the failed one listed
    assert [p["page"] for p in wide["pages"]] == [1] and wide["failed_pages"] == [2]
    assert "Primeira pagina" in wide["pages"][0]["text"]
    assert sorted(p.stem for p in out.glob("*.json")) == ["digital", "good", "widepage"]
    assert run.documents == 3 and run.pages_ocr == 2 and run.pages_text == 1
    # a document with a failed page is not cached: the next run tries it again
    assert len(list(cache.glob("*.json"))) == 2
    again = run_ocr(list_pdfs(bad_input_dir), OcrParams(input_dir=str(bad_input_dir)), out, cache)
    assert again.facts.cached_documents == 2 and again.facts.pages_ocr_run == 1 and len(again.failures) == 6


def test_stage_exits_zero_with_failures_and_nonzero_when_strict(tmp_path: Path) -> None:
    d = tmp_path / "pdfs"
    d.mkdir()
    scanned_pdf(d / "good.pdf", ["Art. 5 Considera-se bolsa o auxilio mensal."])
    (d / "empty.pdf").write_bytes(b"")
    random_bytes_pdf(d / "random.pdf")

    lenient = run_stage(tmp_path, {"input_dir": "pdfs", "workers": 1})
    assert lenient.returncode == 0, lenient.stderr
    metrics = json.loads((tmp_path / "metrics/ocr.json").read_text())
    assert [f["file"] for f in metrics["failures"]] == ["empty.pdf", "random.pdf"]
    assert (tmp_path / "data/ocr/good.json").exists()

    strict = run_stage(tmp_path, {"input_dir": "pdfs", "workers": 1, "strict": True})
    assert strict.returncode == 1
    last = strict.stderr.strip().splitlines()[-1]
    assert "ocr.strict" in last and "empty.pdf" in last and "random.pdf" in last
    assert json.loads((tmp_path / "metrics/timings/ocr.json").read_text())["cached_documents"] == 1


def test_missing_tesseract_is_one_error_before_any_work(tmp_path: Path) -> None:
    scanned_pdf(tmp_path / "a.pdf", ["Art. 1 Texto."])
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    done = run_stage(tmp_path, {"input_dir": "."}, env_path=str(empty_bin))  # no tesseract, no pdftoppm
    assert done.returncode == 3
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert "tesseract binary" in errors[0] and "pdftoppm" in errors[0]
    assert "sudo apt-get install tesseract-ocr tesseract-ocr-por poppler-utils" in errors[0]
    assert not (tmp_path / "data").exists() and not (tmp_path / "metrics").exists()


def test_missing_language_pack_names_the_package(tmp_path: Path) -> None:
    scanned_pdf(tmp_path / "a.pdf", ["Art. 1 Texto."])
    with pytest.raises(OcrSetupError, match="no language pack for xyz.*tesseract-ocr-xyz"):
        run_ocr([tmp_path / "a.pdf"], OcrParams(lang="por+xyz"), tmp_path / "ocr", tmp_path / "cache")
    assert not (tmp_path / "ocr").exists()


def test_text_layer_page_is_not_ocrd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "calls.log"
    counting_tesseract(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    d = tmp_path / "pdfs"
    d.mkdir()
    mixed_pdf(
        d / "mixed.pdf",
        "Art. 2 Pagina com camada de texto suficiente para uso direto.",
        "Art. 3 Pagina digitalizada.",
    )
    text_layer_pdf(d / "sparse.pdf", ["12"])  # a text layer with too few letters: OCR'd

    run = run_ocr(list_pdfs(d), OcrParams(input_dir=str(d)), tmp_path / "ocr", tmp_path / "cache")
    mixed = json.loads((tmp_path / "ocr/mixed.json").read_text())["pages"]
    assert [p["method"] for p in mixed] == ["text", "ocr"]
    assert mixed[0]["text"] == "Art. 2 Pagina com camada de texto suficiente para uso direto."
    assert mixed[0]["confidence"] is None and "digitalizada" in mixed[1]["text"]
    sparse = json.loads((tmp_path / "ocr/sparse.json").read_text())["pages"]
    assert sparse[0]["method"] == "ocr"
    assert ocr_calls(log) == 2 == run.facts.pages_ocr_run


def test_sample_scanned_pages_are_ocrd_and_born_digital_is_not(sample_ocr_dir: Path) -> None:
    metrics = json.loads((sample_ocr_dir.parent / "metrics.json").read_text())
    assert metrics["failures"] == [] and metrics["documents"] == 4
    digital = json.loads((sample_ocr_dir / "instrucao_estagio.json").read_text())
    assert {p["method"] for p in digital["pages"]} == {"text"}
    for stem in ("resolucao_avaliacao", "portaria_biblioteca", "regimento_bolsas"):
        pages = json.loads((sample_ocr_dir / f"{stem}.json").read_text())["pages"]
        assert {p["method"] for p in pages} == {"ocr"} and all(p["confidence"] > 85 for p in pages)
        assert "Art. 1º" in pages[0]["text"] or "Art. 1°" in pages[0]["text"]
    assert metrics["pages_text"] == len(digital["pages"]) and metrics["pages_ocr"] == metrics["pages_ocr_run"]


def test_cache_hits_params_change_and_stale_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "calls.log"
    counting_tesseract(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    d = tmp_path / "pdfs"
    d.mkdir()
    for i in range(3):
        scanned_pdf(d / f"doc{i}.pdf", [f"Art. {i + 1} Documento numero {i + 1}."], dpi=150)
    out, cache = tmp_path / "ocr", tmp_path / "cache"
    p = OcrParams(input_dir=str(d), dpi=150)

    first = run_ocr(list_pdfs(d), p, out, cache)
    assert first.facts.pages_ocr_run == 3 and ocr_calls(log) == 3
    outputs = {f.name: f.read_bytes() for f in out.glob("*.json")}
    second = run_ocr(list_pdfs(d), p, out, cache)
    assert second.facts.pages_ocr_run == 0 and second.facts.cached_documents == 3 and ocr_calls(log) == 3
    assert {
        f.name: f.read_bytes() for f in out.glob("*.json")
    } == outputs  # a cache hit gives the same output

    (d / "doc2.pdf").unlink()
    third = run_ocr(list_pdfs(d), OcrParams(input_dir=str(d), dpi=200), out, cache)  # new params: new key
    assert third.facts.pages_ocr_run == 2 and third.facts.cached_documents == 0 and ocr_calls(log) == 5
    assert sorted(f.stem for f in out.glob("*.json")) == ["doc0", "doc1"]  # doc2's stale output removed
    assert len(list(cache.iterdir())) == 2  # entries of the old params and of doc2 pruned


def test_killed_run_keeps_finished_documents(tmp_path: Path) -> None:
    d = tmp_path / "pdfs"
    d.mkdir()
    for i in range(8):
        scanned_pdf(d / f"doc{i}.pdf", [f"Art. {i + 1} Documento numero {i + 1}."] * 2, dpi=150)
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"ocr": {"input_dir": "pdfs", "dpi": 150, "workers": 1}})
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cache = tmp_path / "data/cache/ocr"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stages.ocr"], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (cache.exists() and list(cache.glob("*.json"))) and proc.poll() is None:
        assert time.monotonic() < deadline, "no cache entry appeared"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the stage and its worker processes
    proc.wait()
    kept = len(list(cache.glob("*.json")))
    assert kept >= 1

    done = run_stage(tmp_path, {"input_dir": "pdfs", "dpi": 150, "workers": 1})
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "metrics/ocr.json").read_text())
    timings = json.loads((tmp_path / "metrics/timings/ocr.json").read_text())
    assert timings["cached_documents"] == kept and metrics["documents"] == 8 and metrics["pages"] == 16
    assert timings["pages_ocr_run"] == 2 * (8 - kept)
    assert sorted(f.name for f in cache.iterdir()) == sorted(
        f.name for f in cache.glob("*.json")
    )  # no temp files
    assert len(list(cache.iterdir())) == 8


def test_pdfs_in_sub_folders_are_documents_of_their_own(tmp_path: Path) -> None:
    """Two institutions' RESOLUCAO_001_2020.pdf: two documents, data/ocr/<folder>/<name>.json, through clean and
    chunk; a hidden folder is left out; a sub-folder removed takes its outputs with it."""
    from stages.chunk import run as chunk_run
    from stages.clean import run as clean_run
    from stages.text.chunking import ChunkParams
    from stages.text.clean.furniture import CleanParams

    d = tmp_path / "pdfs"
    for institution in ("ufam", "ufma"):
        (d / institution).mkdir(parents=True)
        text_layer_pdf(
            d / institution / "RESOLUCAO_001_2020.pdf",
            [f"Art. 1 Fica aprovado o calendario academico da {institution.upper()} para o ano de 2020."],
        )
    text_layer_pdf(
        d / "portaria.pdf", ["Art. 2 Esta Portaria regulamenta o emprestimo de livros da biblioteca."]
    )
    (d / "atas").mkdir()
    text_layer_pdf(d / "atas" / "ata.PDF", ["Art. 3 Ata da reuniao ordinaria do conselho universitario."])
    text_layer_pdf(d / "atas" / "ata.pdf", ["Art. 3 Outra ata com o mesmo nome, noutra caixa."])
    (d / ".trash").mkdir()
    text_layer_pdf(d / ".trash" / "old.pdf", ["Art. 4 Documento apagado que nao entra no corpus."])

    done = run_stage(tmp_path, {"input_dir": "pdfs", "workers": 1})
    assert done.returncode == 0, done.stderr
    out = tmp_path / "data/ocr"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == [
        "atas/ata.json",
        "portaria.json",
        "ufam/RESOLUCAO_001_2020.json",
        "ufma/RESOLUCAO_001_2020.json",
    ]
    ufam = json.loads((out / "ufam/RESOLUCAO_001_2020.json").read_text())
    assert ufam["doc"] == "ufam/RESOLUCAO_001_2020" and ufam["source"] == "ufam/RESOLUCAO_001_2020.pdf"
    assert "UFAM" in ufam["pages"][0]["text"]
    assert "UFMA" in json.loads((out / "ufma/RESOLUCAO_001_2020.json").read_text())["pages"][0]["text"]
    portaria = json.loads((out / "portaria.json").read_text())
    assert portaria["doc"] == "portaria" and portaria["source"] == "portaria.pdf"  # as before sub-folders
    metrics = json.loads((tmp_path / "metrics/ocr.json").read_text())
    assert metrics["documents"] == 4 and metrics["failures"] == [
        {
            "file": "atas/ata.pdf",
            "reason": "another PDF has the same document id 'atas/ata'; rename one of them",
        }
    ]
    assert [row["doc"] for row in json.loads((tmp_path / "metrics/ocr_quality.json").read_text())] == [
        "atas/ata",
        "portaria",
        "ufam/RESOLUCAO_001_2020",
        "ufma/RESOLUCAO_001_2020",
    ]

    clean_dir, chunks = tmp_path / "data/clean", tmp_path / "data/chunks/chunks.jsonl"
    clean_run(out, clean_dir, tmp_path / "metrics/clean.json", CleanParams())
    assert "UFMA" in (clean_dir / "ufma/RESOLUCAO_001_2020.txt").read_text()
    chunk_run(clean_dir, chunks, tmp_path / "metrics/chunk.json", ChunkParams())
    docs = {json.loads(line)["doc"] for line in chunks.read_text().splitlines()}
    assert docs == {"atas/ata", "portaria", "ufam/RESOLUCAO_001_2020", "ufma/RESOLUCAO_001_2020"}

    shutil.rmtree(d / "ufma")
    done = run_stage(tmp_path, {"input_dir": "pdfs", "workers": 1})
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "atas",
        "atas/ata.json",
        "portaria.json",
        "ufam",
        "ufam/RESOLUCAO_001_2020.json",
    ]  # ufma's output and its folder pruned
    clean_run(out, clean_dir, tmp_path / "metrics/clean.json", CleanParams())
    assert not (clean_dir / "ufma/RESOLUCAO_001_2020.txt").exists()
