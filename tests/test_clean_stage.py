"""The clean stage's I/O: data/ocr JSONs in, data/clean texts and metrics out, bad files skipped."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stages.clean import read_ocr_pages, run
from stages.text.clean.furniture import CleanParams

REPO = Path(__file__).resolve().parents[1]


def _ocr_json(path: Path, pages: list[str]) -> None:
    record = {
        "doc": path.stem,
        "source": f"{path.stem}.pdf",
        "sha256": "0" * 64,
        "pages": [
            {"page": i + 1, "method": "ocr", "text": t, "confidence": 91.5} for i, t in enumerate(pages)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def test_pages_read_in_page_order(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    _ocr_json(path, ["a", "b"])
    record = json.loads(path.read_text(encoding="utf-8"))
    record["pages"].reverse()
    path.write_text(json.dumps(record), encoding="utf-8")
    assert read_ocr_pages(path) == ["a", "b"]


def test_struck_lines_dropped_are_counted_and_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ocr, out, metrics_file = tmp_path / "ocr", tmp_path / "clean", tmp_path / "metrics.json"
    page = (
        "Art. 6º É dever dos pais efetuar a matrícula dos menores.\n"
        "Art-6º-É-dever-dos-pais-ou-responsáveis-efetuar-a-matrícula dos menores\n\n"
        "Art. 7º O ensino é livre à iniciativa privada.\n"
    )
    _ocr_json(ocr / "ldb.json", [page])
    with caplog.at_level(logging.WARNING):
        metrics = run(ocr, out, metrics_file, CleanParams())
    assert "Art-6º-É" not in (out / "ldb.txt").read_text(encoding="utf-8")
    assert metrics["lines_dropped"]["struck_lines"] == 1
    assert metrics["per_document"]["ldb"]["dropped_struck_lines"] == 1
    assert any("ldb: 1 OCR lines dropped as struck through" in r.getMessage() for r in caplog.records)


def test_bad_files_skipped_with_a_warning_others_cleaned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ocr, out, metrics_file = tmp_path / "ocr", tmp_path / "clean", tmp_path / "metrics.json"
    _ocr_json(
        ocr / "boa.json",
        ["CABEÇALHO DA UNIVERSIDADE\nArt. 1º Tex-\nto.\n1", "CABEÇALHO DA UNIVERSIDADE\nArt. 2º Fim.\n2"],
    )
    (ocr / "truncada.json").write_text('{"doc": "truncada", "pages": [{"page": 1, "te', encoding="utf-8")
    (ocr / "forma.json").write_text('{"doc": "forma", "pages": "texto"}', encoding="utf-8")
    (ocr / "binaria.json").write_bytes(b"\xff\xfe\x00garbage")
    with caplog.at_level(logging.WARNING):
        metrics = run(ocr, out, metrics_file, CleanParams())
    assert (out / "boa.txt").read_text(encoding="utf-8") == "Art. 1º Texto.\n\nArt. 2º Fim.\n"
    assert sorted(p.name for p in out.iterdir()) == ["boa.txt"]
    assert sorted(Path(f["file"]).name for f in metrics["failures"]) == [
        "binaria.json",
        "forma.json",
        "truncada.json",
    ]
    for name in ("binaria.json", "forma.json", "truncada.json"):
        assert any(name in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert json.loads(metrics_file.read_text(encoding="utf-8")) == metrics
    assert metrics["documents"] == 1
    assert metrics["lines_dropped"] == {
        "header_footer": 2,
        "page_number": 2,
        "letterhead": 0,
        "gazette_head": 0,
        "web_links": 0,
        "junk": 0,
        "struck_lines": 0,
    }
    assert metrics["chars_out"] == len("Art. 1º Texto.\n\nArt. 2º Fim.\n")
    assert metrics["chars_in"] > metrics["chars_out"]
    assert metrics["per_document"]["boa"]["hyphen_joined"] == 1


def test_stale_outputs_removed_and_rerun_identical(tmp_path: Path) -> None:
    ocr, out, metrics_file = tmp_path / "ocr", tmp_path / "clean", tmp_path / "metrics.json"
    _ocr_json(ocr / "a.json", ["Art. 1º Um."])
    _ocr_json(ocr / "b.json", ["Art. 1º Dois."])
    run(ocr, out, metrics_file, CleanParams())
    first = (out / "a.txt").read_bytes()
    (ocr / "b.json").unlink()
    (out / "notes.md").write_text("not ours", encoding="utf-8")
    run(ocr, out, metrics_file, CleanParams())
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "notes.md"]
    assert (out / "a.txt").read_bytes() == first


def test_main_reads_params_and_writes_stage_outputs(tmp_path: Path) -> None:
    _ocr_json(tmp_path / "data/ocr/doc.json", ["Art. 1º O prazo é de 30 dias."])
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    env_path = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "stages.clean"], cwd=tmp_path, env=env_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data/clean/doc.txt").read_text(encoding="utf-8") == "Art. 1º O prazo é de 30 dias.\n"
    assert json.loads((tmp_path / "metrics/clean.json").read_text(encoding="utf-8"))["documents"] == 1
    (tmp_path / "params.yaml").write_text(
        "clean:\n  header_min_pages: 1\n  junk_max_chars: 0\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "stages.clean"], cwd=tmp_path, env=env_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "header_min_pages must be >= 2" in done.stderr and "junk_max_chars must be >= 1" in done.stderr
