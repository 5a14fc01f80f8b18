"""A Hub model that is neither cached nor downloadable fails at once with advice, never after retries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stages.model.loading import ModelUnavailableError, locate_model

MISSING_ID = "legis-lora-tests/not-a-real-model"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.timeout(20)  # guards against transformers' retry loop (~30 s); no timing assertion
def test_offline_env_fails_with_download_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as e:
        locate_model(MISSING_ID)
    msg = str(e.value)
    assert (
        f"hf download {MISSING_ID}" in msg and "HF_HUB_OFFLINE is set" in msg and "model.name_or_path" in msg
    )


@pytest.mark.timeout(20)
def test_unreachable_hub_fails_with_download_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    with pytest.raises(ModelUnavailableError, match=f"{endpoint} is unreachable"):
        locate_model(MISSING_ID)


def test_missing_builtin_model_points_to_the_base_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelUnavailableError, match="dvc repro base"):
        locate_model("models/base")


@pytest.mark.timeout(60)
def test_train_stage_reports_every_problem_and_exits_2(tmp_path: Path, repo_root: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        "model:\n  name_or_path: sharpbai/Llama-2-7b-hf\nlora:\n  r: 0\ntrain: {}\n", encoding="utf-8"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(repo_root),
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache
        "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
    }
    env.pop("HF_HUB_OFFLINE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "stages.train"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    for needle in ("hf download sharpbai/Llama-2-7b-hf", "lora.r must be > 0"):
        assert needle in proc.stderr
    assert "Retrying" not in proc.stderr
