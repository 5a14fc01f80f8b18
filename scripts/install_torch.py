"""Install PyTorch the way this machine needs it, before the locked requirements (run by `make setup`).

A plain `pip install torch==X` on Linux downloads the CUDA build from PyPI (several GB, with its nvidia-*
packages) even where there is no GPU. So, with no NVIDIA GPU on Linux, torch comes from PyTorch's own CPU
wheel index (about 200 MB); if that index cannot be reached (an offline mirror, a proxy that only allows
PyPI), it falls back to the default index. With an NVIDIA GPU, or on macOS/Windows (whose PyPI wheels are
already the right build), the default index is used. An importable torch is left alone: install your own
CUDA build first and `make setup` keeps it.

    python scripts/install_torch.py [--version 2.13.0] [--dry-run]

The choice is a pure function (`install_plan`), unit-tested in tests/test_install_torch.py; the download
itself cannot be exercised on the test machines (no route to download.pytorch.org).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import logging
import platform
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import urlparse

log = logging.getLogger("install_torch")

TORCH_VERSION = "2.13.0"  # the CPU build the lock file (requirements/cpu.lock) was resolved and tested with
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class Step:
    why: str
    args: tuple[str, ...]  # pip arguments after `python -m pip`
    needs: str | None = None  # a URL that must answer first; the step is skipped when it does not


def install_plan(system: str, has_nvidia_gpu: bool, version: str = TORCH_VERSION) -> list[Step]:
    """The pip installs to try in order, first success wins: where torch should come from on this machine."""
    pinned = f"torch=={version}"
    default = Step("the default index (PyPI)", ("install", pinned))
    if has_nvidia_gpu:
        return [Step("an NVIDIA GPU: the default index's CUDA build", ("install", "torch"))]
    if system == "Linux":
        cpu = Step(
            f"no NVIDIA GPU: PyTorch's CPU wheel index {CPU_INDEX}",
            ("install", pinned, "--index-url", CPU_INDEX),
            CPU_INDEX,
        )
        return [cpu, default]
    return [default]


def reachable(url: str, timeout_s: float = 5.0) -> bool:
    """True when a TCP connection to the URL's host opens in time, DNS included (getaddrinfo ignores socket
    timeouts, so the attempt runs in a thread): no pip retries against an index that cannot answer."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)

    def connect() -> None:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout_s):
            pass

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(connect).result(timeout=timeout_s)
        return True
    except (OSError, concurrent.futures.TimeoutError):
        return False
    finally:
        pool.shutdown(wait=False)


def has_nvidia_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="install_torch: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=TORCH_VERSION)
    parser.add_argument("--dry-run", action="store_true", help="print the plan, install nothing")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("torch") is not None and not args.dry_run:
        log.info("torch is already installed: leaving it alone")
        return 0
    plan = install_plan(platform.system(), has_nvidia_gpu(), args.version)
    for step in plan:
        command = [sys.executable, "-m", "pip", *step.args]
        if args.dry_run:
            log.info("would try (%s): %s", step.why, " ".join(command))
            continue
        if step.needs and not reachable(step.needs):
            log.info("%s cannot be reached: trying the next source", step.needs)
            continue
        log.info("installing torch from %s", step.why)
        if subprocess.run(command).returncode == 0:
            return 0
        log.warning("that failed: trying the next source")
    if args.dry_run:
        return 0
    log.error("could not install torch from any source; install it by hand (https://pytorch.org) and rerun")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
