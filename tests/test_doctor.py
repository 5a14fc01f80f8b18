"""`legis-lora doctor`: one line per check, against a real local server, a closed port and a PATH without tesseract."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stages.ask import cli
from stages.documents.tesseract import INSTALL_HINT
from stages.tools.doctor import FAIL, OK, WARN, check_params, check_server
from tests.fake_openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[1]
LM_MODELS = [  # what LM Studio's /api/v0/models says: one model loaded, one downloaded, one embedding model
    {"id": "qwen2.5-7b-instruct", "type": "llm", "state": "loaded", "max_context_length": 32768},
    {"id": "gemma-3-270m-it", "type": "llm", "state": "not-loaded", "max_context_length": 8192},
    {"id": "text-embedding-nomic-embed-text-v1.5", "type": "embeddings", "state": "not-loaded"},
]


def report_line(out: str, name: str) -> str:
    """The report's line for the check `name`."""
    return next(line for line in out.splitlines() if line[6:].startswith(name + " "))


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_reports_the_model_lm_studio_has_loaded(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(lm_models=LM_MODELS) as server:
        code = cli(["doctor", "--base-url", server.url, "--params", str(REPO / "params.yaml")])
    out = capsys.readouterr().out
    line = report_line(out, "LLM server")
    assert line.startswith(OK), out
    assert "loaded: qwen2.5-7b-instruct (llm, context 32768); 3 on the server" in line
    assert "synth would use qwen2.5-7b-instruct" in line and "gemma-3-270m-it" not in line
    assert any(r["path"] == "/api/v0/models" for r in server.requests)
    assert code == 0, out  # this machine has tesseract, poppler, the word lists and torch (make setup)
    for name in ("tesseract", "tesseract lang por", "poppler (pdftoppm)", "lexicon", "torch"):
        assert report_line(out, name).startswith(OK), out


def test_an_openai_style_server_lists_its_models() -> None:
    with FakeOpenAIServer(models=("llama-3-8b", "nomic-embed")) as server:
        check = check_server(server.url, model="")
    assert check.status == OK, check
    assert "models: llama-3-8b, nomic-embed (load state not reported)" in check.detail
    assert "synth would use llama-3-8b" in check.detail


def test_a_server_without_a_loaded_model_is_a_warning() -> None:
    unloaded = [{**m, "state": "not-loaded"} for m in LM_MODELS]
    with FakeOpenAIServer(lm_models=unloaded) as server:
        check = check_server(server.url, model="")
    assert check.status == WARN and "loaded: none" in check.detail and "no model is loaded" in check.detail


def test_a_closed_port_is_a_warning_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    url = closed_port_url()
    code = cli(["doctor", "--base-url", url, "--timeout", "1", "--params", str(REPO / "params.yaml")])
    out = capsys.readouterr().out
    line = report_line(out, "LLM server")
    assert line.startswith(WARN) and f"no answer from {url}/models" in line and "lms server start" in line
    assert FAIL not in out and code == 0, out


def test_without_tesseract_on_path_doctor_fails_with_the_install_hint(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": os.pathsep.join([str(empty), str(Path(sys.executable).parent)])}
    proc = subprocess.run(
        [sys.executable, "-m", "stages.ask", "doctor", "--base-url", closed_port_url(), "--timeout", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 1, proc.stdout + proc.stderr
    tesseract = report_line(out, "tesseract")
    assert (
        tesseract.startswith(FAIL) and "'tesseract' is not on PATH" in tesseract and INSTALL_HINT in tesseract
    )
    assert report_line(out, "tesseract lang por").startswith(FAIL)
    assert report_line(out, "tesseract lang osd").startswith(WARN)
    assert report_line(out, "poppler (pdftoppm)").startswith(FAIL)
    assert report_line(out, "LLM server").startswith(WARN)  # still only a warning
    assert out.splitlines()[-1].startswith("3 required check(s) failed")


def test_params_problems_fail_and_a_missing_file_falls_back_to_the_defaults(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("synth:\n  backend: nope\n", encoding="utf-8")
    check, _, synth = check_params(bad)
    assert check.status == FAIL and "synth.backend must be rules or lmstudio" in check.detail
    check, ocr, synth = check_params(tmp_path / "absent.yaml")
    assert check.status == WARN and (ocr.lang, synth.base_url) == ("por", "http://localhost:1234/v1")


def test_each_server_of_a_list_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dead = closed_port_url()
    with FakeOpenAIServer(lm_models=LM_MODELS) as server:
        params = tmp_path / "params.yaml"
        params.write_text(
            f"synth:\n  backend: lmstudio\n  base_url: [{server.url}, {dead}]\n", encoding="utf-8"
        )
        cli(["doctor", "--timeout", "1", "--params", str(params)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line[6:].startswith("LLM server ")]
    assert len(lines) == 2, lines
    assert lines[0].startswith(OK) and server.url in lines[0]
    assert lines[1].startswith(WARN) and dead in lines[1]
