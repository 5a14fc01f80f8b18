"""ocr.executor: ray, on real Ray clusters of local processes: the outputs byte-identical to the local executor's,
a worker process SIGKILLed mid-page (every page still once), a node whose tesseract lacks a language named before
any work, Ray missing. The node-setup comparison and the params on small hand-made inputs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ocr_pdfs import scanned_pdf

from stages.core.files import write_json
from stages.core.params import ParamsError, build_params
from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.report import RunFacts, quality_table
from stages.documents.settings import OcrParams
from stages.documents.tesseract import Installed

pytest.importorskip("ray")
from stages.documents.raycluster import NodeSetup, cluster_problems  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "data/sample/pdf"
TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")


def ray_env(**extra: str) -> dict[str, str]:
    """The environment of a stage or node: the repository importable, a token of this test's own (so that no
    cluster of the machine's user is joined and ~/.ray is not read), no RAY_ADDRESS unless given."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PYTHONPATH=str(REPO_ROOT), TQDM_DISABLE="1", RAY_AUTH_MODE="token")
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    return {**env, **extra}


def run_stage(cwd: Path, params: dict, env: dict[str, str]) -> subprocess.CompletedProcess:
    (cwd / "params.yaml").write_text(yaml.safe_dump({"ocr": params}))
    return subprocess.run(
        [sys.executable, "-m", "stages.ocr"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- pure parts ------------------------------------------------------------------------------------------


def test_executor_param_is_checked() -> None:
    assert build_params("ocr", OcrParams, {"executor": "ray"}).executor == "ray"
    with pytest.raises(ParamsError, match="ocr.executor must be one of local, ray"):
        build_params("ocr", OcrParams, {"executor": "spark"})


def node(tesseract: str = "tesseract 5.3.0", por: str = "c4932b93", probe: int = 100) -> NodeSetup:
    langs = ("eng", "osd", "por") if por else ("eng", "osd")
    data = {"osd": "9cf5d576", **({"por": por} if por else {})}
    found = Installed(tesseract, langs, "/usr/share/tesseract-ocr/5/tessdata/", "pdftoppm version 22.12.0")
    return NodeSetup(found, data, ("pyspellchecker-pt:416782",), {"numpy": "2.4.6"}, probe)


def test_cluster_problems_name_the_node_that_differs() -> None:
    labels = {n: f"10.0.0.{i} (id {n})" for i, n in enumerate(("head", "b", "c"), 1)}
    same = {"head": node(), "b": node(), "c": node()}
    assert cluster_problems(same, labels, "head", "por", "/x.pdf", 100) == ([], "head")

    other_data = {**same, "c": node(por="0badc0de")}  # tessdata_fast vs tessdata_best: same name, other model
    problems, reference = cluster_problems(other_data, labels, "head", "por", "/x.pdf", 100)
    assert reference == "head" and len(problems) == 1
    assert problems[0].startswith("node 10.0.0.3 (id c) differs: language data") and "0badc0de" in problems[0]

    tie = {"head": node(), "b": node(tesseract="tesseract 4.1.1")}  # one against one: the head's setup wins
    problems, reference = cluster_problems(tie, labels, "head", "por", "/x.pdf", 100)
    assert reference == "head" and problems == [
        "node 10.0.0.2 (id b) differs: tesseract 'tesseract 4.1.1' where the others have 'tesseract 5.3.0'"
    ]

    blind = {**same, "b": node(probe=-1)}  # the PDFs are not on its disk
    problems, _ = cluster_problems(blind, labels, "head", "por", "/x.pdf", 100)
    assert problems == [
        "node 10.0.0.2 (id b): it cannot read /x.pdf as the driver does (the PDFs must be at the same path "
        "on every node: a shared filesystem)"
    ]


def test_missing_ray_is_one_clear_error(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "instrucao_estagio.pdf", tmp_path / "a.pdf")
    blocker = tmp_path / "no_ray" / "ray"
    blocker.mkdir(parents=True)  # what `import ray` finds where Ray is not installed
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'ray'\", name='ray')\n")
    env = ray_env(PYTHONPATH=f"{blocker.parent}{os.pathsep}{REPO_ROOT}")
    done = run_stage(tmp_path, {"input_dir": ".", "executor": "ray"}, env)
    assert done.returncode == 3
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "pip install '.[ray]'" in errors[0] and "ocr.executor: local" in errors[0]
    assert not (tmp_path / "data").exists()


# --- a cluster of this machine, started by the stage ------------------------------------------------------


@pytest.mark.slow
def test_ray_executor_output_is_byte_identical_on_the_sample(sample_ocr_dir: Path, tmp_path: Path) -> None:
    done = run_stage(tmp_path, {"input_dir": str(SAMPLE), "executor": "ray", "workers": 2}, ray_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 workers" in done.stderr and "ray: 1 nodes checked" in done.stderr

    local = sample_ocr_dir.parent  # the local executor's run (conftest): ocr/, cache/, metrics.json
    assert files_of(tmp_path / "data/ocr") == files_of(local / "ocr")
    assert files_of(tmp_path / "data/cache/ocr") == files_of(local / "cache")
    facts = {f for f in RunFacts.__dataclass_fields__}
    write_json(
        tmp_path / "local-ocr.json",
        {k: v for k, v in json.loads((local / "metrics.json").read_text()).items() if k not in facts},
    )
    assert (tmp_path / "metrics/ocr.json").read_bytes() == (tmp_path / "local-ocr.json").read_bytes()
    write_json(tmp_path / "local-quality.json", quality_table(local / "ocr"))
    assert (tmp_path / "metrics/ocr_quality.json").read_bytes() == (
        tmp_path / "local-quality.json"
    ).read_bytes()


SLOW_TESSERACT = """#!/bin/sh
# one log line per recognition call, then a second's pause, so that a page is surely in flight when it is killed
case "$1" in --*) ;; *) echo "$1" >> "{log}"; sleep 1 ;; esac
exec "{real}" "$@"
"""


def ancestors(pid: int) -> Iterator[int]:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return
        yield pid


def page_workers(stage: int) -> list[int]:
    """The Ray worker processes under the stage's process that are reading a page now."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::ocr_page") and stage in ancestors(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_worker_killed_mid_page_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for i in range(5):
        scanned_pdf(pdfs / f"doc{i}.pdf", [f"Art. {i + 1} Documento numero {i + 1}."] * 2, dpi=150)
    local = run_ocr(
        list_pdfs(pdfs), OcrParams(dpi=150, workers=2), tmp_path / "local/ocr", tmp_path / "local/c"
    )
    assert local.pages == 10 and local.facts.pages_retried == 0  # one tesseract call a page

    log, real = tmp_path / "calls.log", shutil.which("tesseract")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/tesseract").write_text(SLOW_TESSERACT.format(log=log, real=real))
    (tmp_path / "bin/tesseract").chmod(0o755)
    env = ray_env(PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"ocr": {"input_dir": "pdfs", "dpi": 150, "workers": 1, "executor": "ray"}})
    )
    stage = subprocess.Popen(
        [sys.executable, "-m", "stages.ocr"], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    killed = []
    deadline = time.monotonic() + 300
    while not killed and stage.poll() is None:
        assert time.monotonic() < deadline, "no page was read"
        calls = len(log.read_text().splitlines()) if log.exists() else 0
        if calls >= 3:  # the third page is in tesseract's pause: kill the worker reading it
            for pid in page_workers(stage.pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.05)
    _, stderr = stage.communicate(timeout=300)
    for image in log.read_text().splitlines():  # the killed worker's temporary folder is left behind
        if Path(image).parent.name.startswith("ocr-"):
            shutil.rmtree(Path(image).parent, ignore_errors=True)
    assert killed, "the stage finished before a worker could be killed"
    assert stage.returncode == 0, stderr[-3000:]

    metrics = json.loads((tmp_path / "metrics/ocr.json").read_text())
    timings = json.loads((tmp_path / "metrics/timings/ocr.json").read_text())
    assert metrics["failures"] == [] and metrics["documents"] == 5 and metrics["pages"] == 10
    assert timings["pages_ocr_run"] == 10
    assert len(log.read_text().splitlines()) == 11  # the killed page was read again, and only that one
    assert files_of(tmp_path / "data/ocr") == files_of(tmp_path / "local/ocr")
    assert files_of(tmp_path / "data/cache/ocr") == files_of(tmp_path / "local/c")


# --- a cluster of two nodes started with `ray start` --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`ray start --block` in a session of its own: killing its process group stops the node."""
    cmd = [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--block",
        "--num-cpus",
        "1",
        "--disable-usage-stats",
    ]
    cmd += ["--dashboard-agent-listen-port", "0", "--metrics-export-port", "0", *args]
    return subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


WAIT_FOR_NODES = """
import json, sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR")
deadline = time.monotonic() + 120
while len([n for n in ray.nodes() if n["Alive"]]) < int(sys.argv[2]):
    assert time.monotonic() < deadline, ray.nodes()
    time.sleep(0.5)
print(json.dumps({n["NodeID"]: "node:__internal_head__" in n["Resources"] for n in ray.nodes() if n["Alive"]}))
"""


def test_a_node_whose_tesseract_lacks_the_language_is_named(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "regimento_bolsas.pdf", tmp_path / "a.pdf")
    tessdata = tmp_path / "tessdata"  # what the other node's tesseract reads: eng and osd, no por
    tessdata.mkdir()
    for lang in ("eng", "osd"):
        (tessdata / f"{lang}.traineddata").symlink_to(TESSDATA / f"{lang}.traineddata")
    env = ray_env()
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    nodes = [
        start_node(env, "--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp)
    ]
    try:
        time.sleep(3)
        nodes.append(start_node({**env, "TESSDATA_PREFIX": str(tessdata)}, "--address", f"127.0.0.1:{port}"))
        listing = subprocess.run(
            [sys.executable, "-c", WAIT_FOR_NODES, f"127.0.0.1:{port}", "2"],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert listing.returncode == 0, listing.stderr[-2000:]
        is_head = json.loads(listing.stdout.strip().splitlines()[-1])
        (other,) = [n for n, head in is_head.items() if not head]
        (head,) = [n for n, head in is_head.items() if head]

        done = run_stage(
            tmp_path, {"input_dir": ".", "executor": "ray"}, {**env, "RAY_ADDRESS": f"127.0.0.1:{port}"}
        )
    finally:
        for proc in nodes:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode == 3, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert f"(id {other[:8]}): tesseract has no language pack for por" in errors[0]
    assert f"id {other[:8]}) differs: language data" in errors[0] and head[:8] not in errors[0]
    assert not (tmp_path / "data").exists()  # stopped before any work
