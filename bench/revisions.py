"""Another git revision beside this checkout, for benches that time the same code at two revisions."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """`ref` checked out by `git worktree` into a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), ref], cwd=ROOT, check=True, capture_output=True
        )
        try:
            yield base
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)


def run_child(code: Path, source: str, *args: str, what: str, threads: int | None = None) -> dict[str, Any]:
    """`source` run as `python -c` in a process of its own with the stages of the checkout at `code`; the JSON
    object on the last line it prints. `what` names it in the error when it fails."""
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run(
        [sys.executable, "-c", source, *args], cwd=code, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed in {code}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
