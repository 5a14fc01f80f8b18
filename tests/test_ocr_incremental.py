"""`dvc repro` after one PDF of thirty changes OCRs only that PDF's pages (counted at the tesseract binary), and
switching ocr.executor leaves the stage up to date.

Runs the real ocr stage definition from dvc.yaml in a throwaway git+DVC repository (never in the checkout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import run_ok
from ocr_pdfs import counting_tesseract, ocr_calls, scanned_pdf

REPO_ROOT = Path(__file__).resolve().parents[1]
N_DOCS = 30


def make_repo(root: Path) -> None:
    """git + DVC repo holding the ocr stage exactly as dvc.yaml declares it, with fast params."""
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    stage = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]["ocr"]
    modules = [d for d in stage["deps"] if isinstance(d, str) and d.startswith("stages/")]
    # what dvc.yaml declares is all the stage needs, with its packages' (empty) __init__.py
    for rel in modules:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, root / rel)
        for package in Path(rel).parents[:-1]:
            shutil.copy(REPO_ROOT / package / "__init__.py", root / package / "__init__.py")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"ocr": stage}}, sort_keys=False))
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["ocr"]
    params.update(input_dir="data/raw", dpi=150, workers=2)
    (root / "params.yaml").write_text(yaml.safe_dump({"ocr": params}))


def dvc(root: Path, env: dict[str, str], *args: str) -> str:
    done = run_ok([sys.executable, "-m", "dvc", *args], root, env)
    return done.stdout + done.stderr


def test_dvc_repro_reocrs_only_the_changed_pdf(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    make_repo(root)
    raw = root / "data/raw"
    raw.mkdir(parents=True)
    for i in range(N_DOCS):
        scanned_pdf(raw / f"doc{i:02d}.pdf", [f"Art. {i + 1} Documento numero {i + 1} do acervo."], dpi=150)

    bin_dir, log = tmp_path / "bin", tmp_path / "tesseract-calls.log"
    counting_tesseract(bin_dir, log)
    # dvc.yaml's `python -m stages.ocr` runs this interpreter; a wrapper, not a symlink, so that a virtual
    # environment's interpreter still finds its pyvenv.cfg (and packages)
    wrapper = bin_dir / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    env.pop("PYTHONPATH", None)  # the stage must run from the temporary repository's own stages/
    dvc(root, env, "init", "-q")

    def metrics() -> dict:  # results + this run's cache hits (metrics/timings/ocr.json)
        timings = json.loads((root / "metrics/timings/ocr.json").read_text())
        return {**json.loads((root / "metrics/ocr.json").read_text()), **timings}

    dvc(root, env, "repro")
    assert ocr_calls(log) == N_DOCS
    assert metrics()["pages_ocr_run"] == N_DOCS and metrics()["cached_documents"] == 0

    out = dvc(root, env, "repro")  # nothing changed: DVC does not even start the stage
    assert "didn't change" in out and ocr_calls(log) == N_DOCS

    scanned_pdf(raw / "doc07.pdf", ["Art. 8 Texto alterado depois da primeira leitura."], dpi=150)
    dvc(root, env, "repro")
    assert ocr_calls(log) == N_DOCS + 1  # only the changed PDF's page went through tesseract
    m = metrics()
    assert m["pages_ocr_run"] == 1 and m["cached_documents"] == N_DOCS - 1 and m["documents"] == N_DOCS
    changed = json.loads((root / "data/ocr/doc07.json").read_text())
    assert "alterado" in changed["pages"][0]["text"]
    assert len(list((root / "data/cache/ocr").iterdir())) == N_DOCS  # the old doc07 entry was pruned

    # which executor runs the stage is no DVC param: switching it leaves the pipeline up to date
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["ocr"]["executor"] = "ray"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert "up to date" in dvc(root, env, "status")
