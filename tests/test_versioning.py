"""The whole pipeline through real DVC in temporary clones.

- `dvc repro` from scratch, `dvc push` to a local remote, and in a fresh clone `dvc pull` restores every
  output, after which `dvc status` is clean and `dvc repro` runs nothing;
- two runs from scratch give byte-identical ocr, clean, chunk, synth (rules) and dataset outputs, the
  seeded training gives the same adapter, and `dvc metrics diff` between the two is empty;
- run-time knobs (workers, concurrency, timeouts, retries, inference batch size) leave `dvc status` clean;
- the committed dvc.lock matches the committed code, params and sample.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, run_ok

# Outputs compared byte for byte between two runs from scratch (the rules backend is deterministic).
DETERMINISTIC_OUTS = [
    "data/ocr",
    "data/clean",
    "data/chunks/chunks.jsonl",
    "data/qa/qa.jsonl",
    "data/qa/rejected.jsonl",
    "data/dataset/train.jsonl",
    "data/dataset/eval.jsonl",
]
# Everything a stage writes that `dvc push` must store and `dvc pull` restore.
ALL_OUTS = DETERMINISTIC_OUTS + [
    "data/cache/ocr",
    "data/cache/synth",
    "models/base",
    "models/adapter",
    "data/eval/predictions.jsonl",
]
STAGES = ["ocr", "clean", "chunk", "synth", "dataset", "base", "train", "evaluate"]
# Small enough for 2 CI cores: the pipeline and every stage still run for real.
FAST_PARAMS = {
    "base": {"pretrain_steps": 20},
    "train": {"epochs": 1},
    "evaluate": {"limit": 8, "max_new_tokens": 16},
}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """stdout + stderr of a command that must succeed."""
    proc = run_ok(cmd, cwd, env, timeout=900)
    return proc.stdout + proc.stderr


def pipeline_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",  # 2 shared cores: one torch thread is faster and steadier
        PYTHONPATH=str(REPO_ROOT),
        TQDM_DISABLE="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    env.pop("PIPELINE_PARAMS", None)
    return env


def copy_project(dst: Path) -> None:
    """The project's files as git sees them (tracked + untracked-not-ignored), without outputs or caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        src = REPO_ROOT / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)


def set_params(repo: Path, changes: dict[str, dict]) -> None:
    """Update some values of params.yaml, section by section."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in changes.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")


def point_remote(repo: Path, remote: Path, env: dict[str, str]) -> None:
    """A default remote in .dvc/config.local (never committed): the project commits none, so a fresh clone
    needs one before `dvc push` / `dvc pull`."""
    run(["dvc", "remote", "add", "--local", "--default", "localstore", str(remote)], repo, env)


def make_origin(tmp: Path, env: dict[str, str]) -> Path:
    origin = tmp / "origin"
    origin.mkdir()
    copy_project(origin)
    set_params(origin, FAST_PARAMS)
    for out in ALL_OUTS + ["metrics", "dvclive"]:  # a fresh clone has none of these
        target = origin / out
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    run(["git", "init", "-q", "-b", "main"], origin, env)
    run(["git", "add", "-A"], origin, env)
    run(["git", "commit", "-qm", "project"], origin, env)
    return origin


def file_bytes(root: Path, rel: str) -> dict[str, bytes]:
    """{relative path: bytes} of a file or every file under a directory."""
    path = root / rel
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def stages_run(log: str) -> list[str]:
    return [s for s in STAGES if f"Running stage '{s}'" in log]


@pytest.mark.slow
def test_push_pull_status_and_determinism(tmp_path: Path) -> None:
    env = pipeline_env()
    remote = tmp_path / "remote"
    origin = make_origin(tmp_path, env)

    # Run A: the whole pipeline from scratch, then push everything and commit the lock file.
    run_a = tmp_path / "a"
    run(["git", "clone", "-q", str(origin), str(run_a)], tmp_path, env)
    point_remote(run_a, remote, env)
    assert stages_run(run(["dvc", "repro"], run_a, env)) == STAGES
    run(["dvc", "push"], run_a, env)
    run(["git", "add", "-A"], run_a, env)
    run(["git", "commit", "-qm", "pipeline outputs"], run_a, env)
    assert json.loads((run_a / "metrics/synth.json").read_text())["accepted"] > 0

    # A fresh clone restores every output with `dvc pull`; then nothing is out of date.
    fresh = tmp_path / "fresh"
    run(["git", "clone", "-q", str(run_a), str(fresh)], tmp_path, env)
    point_remote(fresh, remote, env)
    run(["dvc", "pull"], fresh, env)
    for out in ALL_OUTS:
        assert file_bytes(fresh, out) == file_bytes(run_a, out), f"{out} not restored by dvc pull"
    assert "up to date" in run(["dvc", "status"], fresh, env)
    assert stages_run(run(["dvc", "repro"], fresh, env)) == []

    # Knobs that change only how a run goes (parallelism, timeouts, retries, inference batch size) are no
    # params deps: changing them leaves `dvc status` clean and reruns nothing.
    set_params(
        fresh,
        {
            "ocr": {"workers": 1, "strict": True},
            "synth": {"concurrency": 1, "timeout_s": 30, "max_retries": 1, "retry_backoff_s": 0.5},
            "train": {"save_steps": 7},
            "evaluate": {"batch_size": 3},
        },
    )
    assert "up to date" in run(["dvc", "status"], fresh, env)
    assert stages_run(run(["dvc", "repro"], fresh, env)) == []

    # Changing chunk.max_tokens reruns chunk and what follows it, nothing before it (and not `base`,
    # which learns from the clean text, not the chunks).
    set_params(fresh, {"chunk": {"max_tokens": 200}})
    assert stages_run(run(["dvc", "repro"], fresh, env)) == ["chunk", "synth", "dataset", "train", "evaluate"]

    # Run B: from scratch again in another clone; every deterministic output is byte-identical,
    # and the seeded training yields the same adapter weights.
    run_b = tmp_path / "b"
    run(["git", "clone", "-q", str(origin), str(run_b)], tmp_path, env)
    run(["dvc", "repro"], run_b, env)
    for out in DETERMINISTIC_OUTS:
        assert file_bytes(run_b, out) == file_bytes(run_a, out), f"{out} differs between two runs"
    adapter = "models/adapter"
    assert file_bytes(run_b, adapter) == file_bytes(run_a, adapter), "training is not reproducible"
    # Metrics hold results only (timings go to the untracked metrics/timings/): comparing run B's workspace
    # with run A's commit, `dvc metrics diff` finds nothing.
    run(["git", "fetch", "-q", str(run_a), "main:run-a"], run_b, env)
    diff = json.loads(
        run_ok(["dvc", "metrics", "diff", "run-a", "--json"], run_b, env, timeout=300).stdout or "{}"
    )
    assert not any(diff.values()), f"metrics differ between two identical runs: {diff}"


def is_tracked(path: str) -> bool:
    """Whether git tracks `path` (a file, or any file under a folder) in the repository."""
    listed = subprocess.run(["git", "ls-files", "--", path], cwd=REPO_ROOT, capture_output=True, text=True)
    return bool(listed.stdout.strip())


def test_committed_lock_matches_code_and_params(repo_root: Path) -> None:
    """`dvc status` in the repository: no dependency or param differs from dvc.lock (outputs may be absent)."""
    proc = subprocess.run(
        ["dvc", "status", "--json"], cwd=repo_root, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout or "{}")
    stale = {}
    for stage, entries in status.items():
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for kind in ("changed deps", "changed params"):
                # a dep that is another stage's missing output (a fresh clone before `dvc pull`) is not stale
                changed = {
                    k: v for k, v in (entry.get(kind) or {}).items() if v != "deleted" or is_tracked(k)
                }
                if changed:
                    stale.setdefault(stage, {})[kind] = changed
            if entry.get("changed command"):
                stale.setdefault(stage, {})["changed command"] = True
    assert not stale, f"dvc.lock is stale, run `dvc repro` and commit dvc.lock: {stale}"
