"""A training run killed with SIGKILL resumes from its last checkpoint and ends with the same adapter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from stages.core.files import write_jsonl
from tests.conftest import REPO_ROOT, make_qa_records, sample_texts

ADAPTER = Path("models/adapter/adapter_model.safetensors")


def make_workdir(root: Path, base_model: Path) -> Path:
    """A repository-like folder with params.yaml and a dataset, for `python -m stages.train`."""
    root.mkdir()
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["model"]["name_or_path"] = str(base_model)
    params["train"].update(epochs=6, global_batch=4, logging_steps=2)
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    records = make_qa_records(sample_texts())
    write_jsonl(root / "data/dataset/train.jsonl", records[:-8])
    write_jsonl(root / "data/dataset/eval.jsonl", records[-8:])
    return root


def train_cmd(workdir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    return dict(args=[sys.executable, "-m", "stages.train"], cwd=workdir, env=env, text=True)


def saved_checkpoints(workdir: Path) -> list[Path]:
    return [
        p
        for p in workdir.glob("models/checkpoints/run-*/checkpoint-*")
        if (p / "trainer_state.json").exists()
    ]


def test_killed_training_resumes_from_its_checkpoint(tmp_path: Path, tiny_base_model: Path) -> None:
    whole = make_workdir(tmp_path / "whole", tiny_base_model)
    done = subprocess.run(**train_cmd(whole), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (whole / "models/checkpoints").exists(), "a finished run must remove its checkpoints"

    killed = make_workdir(tmp_path / "killed", tiny_base_model)
    proc = subprocess.Popen(**train_cmd(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not saved_checkpoints(killed) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before a checkpoint could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert saved_checkpoints(killed) and not (killed / ADAPTER).exists()

    resumed = subprocess.run(**train_cmd(killed), capture_output=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming the interrupted run from" in resumed.stderr
    assert (killed / ADAPTER).read_bytes() == (whole / ADAPTER).read_bytes()
    assert not (killed / "models/checkpoints").exists()


def test_checkpoints_of_other_params_are_not_resumed(tmp_path: Path, tiny_base_model: Path) -> None:
    """A leftover checkpoint from a run with other params is ignored (and cleaned up), never resumed."""
    workdir = make_workdir(tmp_path / "w", tiny_base_model)
    stale = workdir / "models/checkpoints/run-0123456789abcdef/checkpoint-4"
    stale.mkdir(parents=True)
    (stale / "trainer_state.json").write_text("{}")
    done = subprocess.run(**train_cmd(workdir), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" not in done.stderr
    assert not stale.exists()
