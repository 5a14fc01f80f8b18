"""`dvc exp run -S lora.r=32` in a temporary repository reruns only train and evaluate.

The repository holds just this issue's stages (dataset, base, train, evaluate, taken from the real dvc.yaml
and params.yaml) fed by a committed Q&A file and corpus, so the test needs no OCR or synthesis.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TINY_BASE_PARAMS, make_chunk_records, make_qa_records, run_ok, sample_texts

STAGES = ("dataset", "base", "train", "evaluate")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], stdout_only: bool = False) -> str:
    proc = run_ok(cmd, cwd, env, timeout=300)
    return proc.stdout if stdout_only else proc.stdout + proc.stderr


def _make_repo(repo: Path, repo_root: Path) -> None:
    (repo / "stages").mkdir(parents=True)
    full = yaml.safe_load((repo_root / "dvc.yaml").read_text(encoding="utf-8"))
    dvc_yaml = {"stages": {name: full["stages"][name] for name in STAGES}}
    modules = {
        d
        for s in dvc_yaml["stages"].values()
        for d in s["deps"]
        if isinstance(d, str) and d.startswith("stages/")
    }
    # what dvc.yaml declares is all these stages need, with their packages' (empty) __init__.py
    for rel in sorted(modules):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo_root / rel, repo / rel)
        for package in Path(rel).parents[:-1]:
            shutil.copy(repo_root / package / "__init__.py", repo / package / "__init__.py")
    (repo / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml, sort_keys=False), encoding="utf-8")
    params = yaml.safe_load((repo_root / "params.yaml").read_text(encoding="utf-8"))
    params = {k: params[k] for k in ("dataset", "model", "base", "lora", "train", "evaluate")}
    params["base"] = {**TINY_BASE_PARAMS, "corpus_dir": "data/clean", "pretrain_steps": 40}
    params["train"].update(epochs=1, max_seq_len=256, logging_steps=2)
    params["evaluate"].update(max_new_tokens=8, limit=6)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    texts = sample_texts()
    (repo / "data/clean").mkdir(parents=True)
    for name, text in texts.items():
        (repo / "data/clean" / f"{name}.txt").write_text(text, encoding="utf-8")
    (repo / "data/qa").mkdir(parents=True)
    records = make_qa_records(texts)
    (repo / "data/qa/qa.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    (repo / "data/chunks").mkdir(parents=True)
    chunks = make_chunk_records(texts)
    (repo / "data/chunks/chunks.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chunks)
    )


@pytest.mark.slow
def test_exp_run_with_new_rank_reruns_only_train_and_evaluate(tmp_path: Path, repo_root: Path) -> None:
    repo = tmp_path / "repo"
    _make_repo(repo, repo_root)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "OMP_NUM_THREADS": "1",  # tiny models; see conftest.torch_one_thread
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    env.pop("PYTHONPATH", None)
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.name", "t"],
        ["git", "config", "user.email", "t@e.com"],
    ):
        _run(cmd, repo, env)
    _run(["dvc", "init", "-q"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "pipeline"], repo, env)

    first = _run(["dvc", "repro"], repo, env)
    assert all(f"Running stage '{s}'" in first for s in STAGES), first
    eval_metrics = json.loads((repo / "metrics/eval.json").read_text())["sets"]["unseen"]
    assert set(eval_metrics) >= {"base", "open_book", "adapter", "adapter_vs_base", "adapter_vs_open_book"}
    assert {"f1", "f1_low", "f1_high", "rouge_l", "key_fact_recall", "perplexity"} <= set(
        eval_metrics["adapter"]
    )
    assert (repo / "models/adapter/adapter_model.safetensors").exists()
    assert (repo / "models/adapter/README.md").read_text().startswith("---\nlibrary_name: peft")
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "baseline results"], repo, env)
    commits_before = _run(["git", "rev-list", "--count", "HEAD"], repo, env)

    exp = _run(["dvc", "exp", "run", "--set-param", "lora.r=32"], repo, env)
    ran = {s for s in STAGES if f"Running stage '{s}'" in exp}
    assert ran == {"train", "evaluate"}, exp
    assert json.loads((repo / "models/adapter/adapter_config.json").read_text())["r"] == 32
    assert (
        _run(["git", "rev-list", "--count", "HEAD"], repo, env) == commits_before
    )  # DVCLive made no commits

    show = json.loads(_run(["dvc", "exp", "show", "--json"], repo, env, stdout_only=True))
    rows = [e for rev in show for e in [rev, *[x for x in rev.get("experiments") or [] for x in x["revs"]]]]
    ranks = {
        r["data"]["params"]["params.yaml"]["data"]["lora"]["r"]: r["data"]["metrics"]
        for r in rows
        if r.get("data")
    }
    assert {16, 32} <= set(ranks)
    assert "metrics/eval.json" in ranks[32] and "dvclive/metrics.json" in ranks[32]

    plots = json.loads(_run(["dvc", "plots", "show", "--json"], repo, env, stdout_only=True))
    assert any("dvclive/plots/metrics" in key for key in plots.get("data", plots))
    assert any("data/eval/scores.csv" in key for key in plots.get("data", plots))

    # a GGUF file as the base (here the built-in model exported to GGUF, as LM Studio would hold it)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from stages.core.files import sha256_file
    from stages.model.gguf_io import export_gguf

    gguf_file = tmp_path / "lmstudio-models" / "toy.gguf"
    built = repo / "models/base"
    export_gguf(AutoModelForCausalLM.from_pretrained(built), AutoTokenizer.from_pretrained(built), gguf_file)
    env["LEGIS_LORA_CACHE"] = str(tmp_path / "gguf-cache")
    exp = _run(["dvc", "exp", "run", "--set-param", f"model.gguf_file={gguf_file}"], repo, env)
    ran = {s for s in STAGES if f"Running stage '{s}'" in exp}
    assert ran == {"base", "train", "evaluate"}, exp
    recorded = json.loads((repo / "models/adapter/base_model.json").read_text())
    assert recorded == {
        "base": str(gguf_file),
        "gguf_sha256": sha256_file(gguf_file),
        "gguf_file": gguf_file.name,
    }
    assert json.loads((repo / "models/adapter/adapter_config.json").read_text())[
        "base_model_name_or_path"
    ] == str(gguf_file)
    assert "sets" in json.loads((repo / "metrics/eval.json").read_text())
