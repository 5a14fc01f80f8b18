"""The stage end to end through a real OpenAI-compatible server: `transformers serve` with a tiny local Llama.

Found while writing this: `transformers serve` answers 500 unless the tokenizer has a chat_template,
HF_HUB_OFFLINE=1 is set and the Hugging Face hub cache directory exists. The model id in requests is
the local path, which is what GET /v1/models lists.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from stages import synth
from tests.synth_fixtures import FALLBACK_DOCS, chunk_by_articles, make_workdir

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def build_tiny_llama(out: Path) -> None:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here on a few Portuguese sentences."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(list(FALLBACK_DOCS.values()), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.server
def test_stage_through_transformers_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = tmp_path / "tiny-llama"
    build_tiny_llama(model_dir)
    hf_home = tmp_path / "hf-home"
    (hf_home / "hub").mkdir(parents=True)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(hf_home), "TRANSFORMERS_OFFLINE": "1"}
    log_path = tmp_path / "serve.log"
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning"]
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"transformers serve exited:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"transformers serve not up in 120 s:\n{log_path.read_text()[-3000:]}"
            )
            try:
                if requests.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)

        chunks = chunk_by_articles("portaria_teste", FALLBACK_DOCS["portaria_teste"], articles_per_chunk=1)[
            1:4
        ]
        work = make_workdir(
            tmp_path / "work",
            chunks,
            backend="lmstudio",
            base_url=base_url,
            max_tokens=12,
            concurrency=2,
            timeout_s=60,
        )
        monkeypatch.chdir(work)
        synth.main()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    metrics = json.loads((work / "metrics/synth.json").read_text())
    assert metrics["model"] == str(model_dir)  # the id the server lists
    timings = json.loads((work / "metrics/timings/synth.json").read_text())
    assert timings["requests"] == len(chunks) and metrics["chunks_failed"] == 0
    assert metrics["accepted"] == 0  # a random model's babble is no pair: reported, not a crash
    assert sum(metrics["rejected"].values()) == len(chunks)
    assert set(metrics["rejected"]) <= {"truncated", "no_pairs_parsed"}
    assert (work / "data/qa/qa.jsonl").read_text() == ""
