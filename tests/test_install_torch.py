"""The torch install the set-up chooses (scripts/install_torch.py). The download itself cannot run here (no
route to download.pytorch.org), so what is tested is the choice of source and the fallback."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "install_torch", Path(__file__).resolve().parents[1] / "scripts" / "install_torch.py"
)
it = importlib.util.module_from_spec(_spec)
sys.modules["install_torch"] = it
_spec.loader.exec_module(it)


def test_linux_without_gpu_takes_the_cpu_index_then_falls_back_to_the_default() -> None:
    cpu, default = it.install_plan("Linux", has_nvidia_gpu=False, version="2.13.0")
    assert cpu.args == ("install", "torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu")
    assert cpu.needs == "https://download.pytorch.org/whl/cpu"
    assert default.args == ("install", "torch==2.13.0") and default.needs is None


def test_gpu_takes_the_default_cuda_build_and_other_systems_the_default_index() -> None:
    assert [s.args for s in it.install_plan("Linux", has_nvidia_gpu=True)] == [("install", "torch")]
    for system in ("Darwin", "Windows"):
        assert [s.args for s in it.install_plan(system, has_nvidia_gpu=False, version="2.13.0")] == [
            ("install", "torch==2.13.0")
        ]


def test_an_unreachable_index_is_detected_fast() -> None:
    assert not it.reachable("http://127.0.0.1:9/simple", timeout_s=1.0)  # discard port: refused at once


def test_dry_run_prints_the_plan() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/install_torch.py", "--dry-run"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "would try" in done.stderr and "torch==" in done.stderr
