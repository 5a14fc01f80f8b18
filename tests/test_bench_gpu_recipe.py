"""bench/bench_gpu_recipe.py on a CPU: the `run` path with the toy gemma over a small lengths file, the packed
batches it trains on, and bench/gpu_recipe.sh's syntax."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
from pathlib import Path

import pytest

from stages.model.answer_loss import IGNORE_INDEX, pack_batch

bench = importlib.import_module("bench.bench_gpu_recipe")

REPO_ROOT = Path(__file__).resolve().parents[1]
# 0: a passage window, every token a label; no prompt of 1 token, which a masked window would look like
PROMPTS = [12, 30, 0, 7, 25, 40, 9, 18, 0, 33, 14]
ANSWERS = [5, 9, 40, 3, 11, 6, 20, 8, 25, 4, 13]
GEMMA_CONFIG = {  # the keys of gemma-3-270m's config.json that the toy size does not replace
    "architectures": ["Gemma3ForCausalLM"],
    "model_type": "gemma3_text",
    "hidden_activation": "gelu_pytorch_tanh",
    "sliding_window": 512,
    "pad_token_id": 0,
    "bos_token_id": 2,
    "eos_token_id": 1,
    "tie_word_embeddings": True,
    "final_logit_softcapping": None,
    "_sliding_window_pattern": 6,
}


def write_lengths(path: Path, epochs: float = 2) -> Path:
    summary = {"epochs": epochs, "total_tokens": sum(PROMPTS) + sum(ANSWERS), "documents": ["a"]}
    data = {
        "summary": summary,
        "gemma_config": GEMMA_CONFIG,
        "prompt_tokens": PROMPTS,
        "answer_tokens": ANSWERS,
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_run_tiny_walks_the_whole_epoch_and_projects_from_its_tokens(tmp_path: Path) -> None:
    lengths = write_lengths(tmp_path / "lengths.json")
    out = tmp_path / "result.json"
    argv = ["run", "--lengths", str(lengths), "--arch", "tiny", "--out", str(out), "--budget-s", "600"]
    bench.main([*argv, "--micro-batch", "4", "--workdir", str(tmp_path / "models"), "--threads", "1"])
    report = json.loads(out.read_text(encoding="utf-8"))
    result = report["result"]
    assert report["info"]["device"] == "cpu"
    assert result["steps"] == math.ceil(len(PROMPTS) / 4)
    assert result["pairs_walked"] == len(PROMPTS) and result["epoch_fraction"] == 1.0
    assert result["tokens_walked"] == sum(PROMPTS) + sum(ANSWERS) == result["epoch_tokens"]
    assert result["answer_tokens_walked"] == sum(ANSWERS)
    assert result["packed_positions"] >= result["tokens_walked"]
    expected_s = result["epoch_tokens"] * 2 / result["tokens_per_s"]
    assert result["projected_s"] == pytest.approx(expected_s, rel=1e-3, abs=0.01)
    assert result["fits_10_min"] is (result["projected_s"] <= 600)
    assert result["losses_finite"] and math.isfinite(result["first_loss"]) and result["first_loss"] > 0
    assert result["lora"] == {"r": 16, "alpha": 32, "target_modules": ["all-linear"]}
    assert 0 < result["trainable_params"] < result["total_params"]
    assert result["gradient_checkpointing"] is False  # the recipe's "auto": off on CPU


def test_run_tiny_llama_goes_through_the_llama_builder(tmp_path: Path) -> None:
    lengths = write_lengths(tmp_path / "lengths.json")
    out = tmp_path / "result.json"
    argv = ["run", "--lengths", str(lengths), "--arch", "tiny-llama", "--out", str(out), "--budget-s", "600"]
    bench.main([*argv, "--workdir", str(tmp_path / "models"), "--threads", "1"])
    result = json.loads(out.read_text(encoding="utf-8"))["result"]
    (model_dir,) = (tmp_path / "models").iterdir()
    assert json.loads((model_dir / "config.json").read_text())["model_type"] == "llama"
    assert result["micro_batch"] == 8 and result["steps"] == 2  # the CPU default
    assert result["tokens_walked"] == sum(PROMPTS) + sum(ANSWERS) and result["losses_finite"]


def test_budget_stops_the_walk_and_counts_only_what_was_walked(tmp_path: Path) -> None:
    lengths = write_lengths(tmp_path / "lengths.json", epochs=3)
    out = tmp_path / "result.json"
    argv = ["run", "--lengths", str(lengths), "--arch", "tiny", "--out", str(out), "--budget-s", "0"]
    bench.main([*argv, "--micro-batch", "3", "--workdir", str(tmp_path / "models"), "--threads", "1"])
    result = json.loads(out.read_text(encoding="utf-8"))["result"]
    first = bench.micro_batches(len(PROMPTS), 3, bench.SEED)[0]  # budget 0: one timed step, then stop
    assert result["steps"] == 1 and result["pairs_walked"] == len(first)
    assert result["tokens_walked"] == sum(PROMPTS[i] + ANSWERS[i] for i in first)
    assert result["projected_s"] == pytest.approx(
        result["epoch_tokens"] * 3 / result["tokens_per_s"], rel=1e-3, abs=0.01
    )


def test_micro_batches_cover_every_example_once_in_a_seeded_order() -> None:
    batches = bench.micro_batches(10, 4, seed=13)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert batches == bench.micro_batches(10, 4, seed=13) != bench.micro_batches(10, 4, seed=14)


def test_packed_batches_label_only_the_answers() -> None:
    import torch

    gen = torch.Generator().manual_seed(0)
    features = [bench.example_features(p, a, 1000, gen) for p, a in zip(PROMPTS, ANSWERS, strict=True)]
    batch = pack_batch(features, max_len=64, pad_id=0)
    wanted = sorted(zip(PROMPTS, ANSWERS, strict=True))
    found = []
    for ids, labels, positions in zip(
        batch["input_ids"], batch["labels"], batch["position_ids"], strict=True
    ):
        starts = [i for i, p in enumerate(positions.tolist()) if p == 0] + [len(positions)]
        for start, end in zip(starts, starts[1:], strict=False):
            seq_ids, seq_labels = ids[start:end].tolist(), labels[start:end].tolist()
            if all(t == 0 for t in seq_ids):
                assert all(t == IGNORE_INDEX for t in seq_labels)  # the padding: never a label
                continue
            answer = sum(t != IGNORE_INDEX for t in seq_labels)
            prompt = len(seq_ids) - answer
            assert seq_labels[:prompt] == [IGNORE_INDEX] * prompt
            assert seq_labels[prompt:] == seq_ids[prompt:]  # the answer's own tokens
            # pack_batch masks each sequence's first token: a passage window (prompt 0) loses one label
            found.append((0, answer + 1) if prompt == 1 and (0, answer + 1) in wanted else (prompt, answer))
    assert sorted(found) == wanted
    assert int((batch["labels"] != IGNORE_INDEX).sum()) == sum(ANSWERS) - PROMPTS.count(0)


def test_split_lengths_counts_the_labelled_positions() -> None:
    ids = [[5, 6, 7, 8, 9], [3, 4]]
    labels = [[IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 8, 9], [3, 4]]
    assert bench.split_lengths(ids, labels) == ([3, 0], [2, 2])


def test_gpu_script_parses() -> None:
    proc = subprocess.run(
        ["bash", "-n", str(REPO_ROOT / "bench/gpu_recipe.sh")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
