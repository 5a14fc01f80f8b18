"""The built-in tiny Llama: a byte-level BPE tokenizer and a ~2 M-parameter model, both trained on the cleaned corpus."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.core.run import MissingInputError

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
# system/user/assistant turns; every assistant turn ends with EOS, which is what the model learns to emit.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{{ '<|' + m['role'] + '|>\n' + m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


@dataclass(frozen=True)
class BaseParams:
    corpus_dir: str = "data/clean"  # *.txt, one cleaned document each (the clean stage's output)
    vocab_size: int = 2048  # byte-level BPE; 256 bytes + merges + special tokens (fewer on a small corpus)
    hidden_size: int = 192  # ~2 M parameters with the values below
    intermediate_size: int = 512
    num_layers: int = 4
    num_heads: int = 4
    max_position_embeddings: int = 1024
    pretrain_steps: int = 300  # brief causal-LM pretraining on the corpus text (~1 min on 2 CPU cores)
    batch_size: int = 16
    seq_len: int = 64  # tokens per pretraining window
    learning_rate: float = 0.003
    seed: int = 13

    def problems(self) -> list[str]:
        out = []
        for name in ("hidden_size", "intermediate_size", "num_layers", "num_heads", "batch_size", "seq_len"):
            if getattr(self, name) <= 0:
                out.append(f"base.{name} must be > 0, got {getattr(self, name)}")
        if self.vocab_size < 300:
            out.append(
                f"base.vocab_size must be >= 300 (256 bytes + specials + merges), got {self.vocab_size}"
            )
        if self.num_heads > 0 and self.hidden_size % self.num_heads:
            out.append(
                f"base.hidden_size ({self.hidden_size}) must be divisible by base.num_heads ({self.num_heads})"
            )
        if self.pretrain_steps < 0:
            out.append(f"base.pretrain_steps must be >= 0, got {self.pretrain_steps}")
        if self.learning_rate <= 0:
            out.append(f"base.learning_rate must be > 0, got {self.learning_rate}")
        if self.seq_len > self.max_position_embeddings:
            out.append("base.seq_len must be <= base.max_position_embeddings")
        return out


def normalize_text(text: str) -> str:
    """NFC so that 'ç' typed two ways is one token sequence."""
    return unicodedata.normalize("NFC", text)


def train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """Byte-level BPE (deterministic for a given text order) wrapped as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
        model_max_length=10**6,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def llama_config(p: BaseParams, vocab_size: int, **token_ids: int | None) -> Any:
    """The built-in model's LlamaConfig (tied embeddings) from params.yaml [base]; also used by bench/."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=p.hidden_size,
        intermediate_size=p.intermediate_size,
        num_hidden_layers=p.num_layers,
        num_attention_heads=p.num_heads,
        num_key_value_heads=p.num_heads,
        max_position_embeddings=p.max_position_embeddings,
        tie_word_embeddings=True,
        **token_ids,
    )


def build_model(p: BaseParams, tokenizer: Any) -> Any:
    """A small LlamaForCausalLM with tied embeddings, seeded initialization."""
    import torch
    from transformers import LlamaForCausalLM

    config = llama_config(
        p,
        len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(p.seed)
    return LlamaForCausalLM(config)


def token_stream(texts: list[str], tokenizer: Any) -> list[int]:
    """All documents as one id stream, each opened by BOS and closed by EOS."""
    ids: list[int] = []
    for text in texts:
        ids += [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]
        ids.append(tokenizer.eos_token_id)
    return ids


def pretrain(model: Any, ids: list[int], p: BaseParams) -> list[float]:
    """Causal-LM steps on random windows of the stream (seeded); returns the loss per step."""
    import torch
    from tqdm import tqdm

    stream = torch.tensor(ids, dtype=torch.long)
    seq_len = min(p.seq_len, len(ids) - 1)
    gen = torch.Generator().manual_seed(p.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=p.learning_rate, weight_decay=0.01)
    warmup = max(1, p.pretrain_steps // 10)

    def lr_at(step: int) -> float:  # linear warmup then cosine decay to 10%
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, p.pretrain_steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    model.train()
    losses = []
    for _ in tqdm(range(p.pretrain_steps), desc="pretrain", mininterval=5):
        starts = torch.randint(0, len(ids) - seq_len, (p.batch_size,), generator=gen)
        batch = torch.stack([stream[s : s + seq_len] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def read_corpus(corpus_dir: Path) -> list[str]:
    """Texts of corpus_dir/*.txt (sub-folders included) in path order; empty files skipped."""
    files = sorted(corpus_dir.rglob("*.txt"))
    if not files:
        raise MissingInputError(corpus_dir, "clean", what="holds no *.txt files")
    texts = [normalize_text(f.read_text(encoding="utf-8")) for f in files]
    return [t for t in texts if t.strip()]


def build_base(p: BaseParams, out_dir: Path) -> dict[str, Any]:
    """Train tokenizer + model on the corpus and save both to out_dir; returns summary metrics."""
    import torch

    torch.manual_seed(p.seed)
    texts = read_corpus(Path(p.corpus_dir))
    tokenizer = train_tokenizer(texts, p.vocab_size)
    model = build_model(p, tokenizer)
    ids = token_stream(texts, tokenizer)
    if len(ids) < 16:
        raise ValueError(f"{p.corpus_dir} holds only {len(ids)} tokens: too little text to pretrain on")
    losses = pretrain(model, ids, p)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.iterdir():
        if stale.is_file():
            stale.unlink()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    n_params = sum(t.numel() for t in model.parameters())
    head = sum(losses[:10]) / max(1, len(losses[:10]))
    tail = sum(losses[-10:]) / max(1, len(losses[-10:]))
    return {
        "documents": len(texts),
        "corpus_tokens": len(ids),
        "vocab_size": len(tokenizer),
        "parameters": n_params,
        "pretrain_steps": p.pretrain_steps,
        "loss_first10": round(head, 4),
        "loss_last10": round(tail, 4),
    }
