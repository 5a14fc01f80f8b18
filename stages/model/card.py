"""What an adapter says about itself: its base, its target modules in order, library versions, the model card."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stages.model.finetune import TrainConfig
from stages.model.gguf_io import is_gguf_spec, read_source
from stages.model.loading import (
    ModelSource,
)
from stages.records.paths import (
    TRAIN_FILE,
)


def base_record(cfg: TrainConfig, source: ModelSource) -> dict[str, Any]:
    """What the adapter was trained on: the base as params.yaml names it, and a GGUF base's content hash."""
    gguf = read_source(Path(source.path)) if is_gguf_spec(cfg.model.base) else None
    return {
        "base": cfg.model.base,
        "gguf_sha256": gguf.sha256 if gguf else None,
        "gguf_file": Path(gguf.file).name if gguf else None,
    }


def card_base_model(base: str, gguf_file: str | None) -> str | None:
    """The card's `base_model`: the GGUF file's name, or a Hub id; None for a local folder (no Hub id to name)."""
    if gguf_file:
        return gguf_file
    return None if Path(base).exists() or base.startswith((".", "/")) else base


def sort_target_modules(config_file: Path) -> None:
    """peft writes target_modules from a set, in an order that changes with Python's string hashing from run
    to run; sorted, two identical trainings give byte-identical adapter folders (DVC sees no change)."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the adapter, for its model card (reproducing it needs the same)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "peft", "accelerate", "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def model_card(cfg: TrainConfig, stats: dict[str, Any]) -> str:
    """Short README.md for models/adapter/."""
    base_model = card_base_model(cfg.model.base, stats.get("gguf_file"))
    lines = [
        "---",
        "library_name: peft",
        *([f"base_model: {base_model}"] if base_model else []),
        "language: [pt]",
        "tags: [lora, legislation, portuguese, brazil]",
        "---",
        "# LoRA adapter: Brazilian legislation Q&A",
        "",
        f"- Base model: `{cfg.model.base}`"
        + (" (the pipeline's built-in tiny Llama)" if cfg.model.base == "models/base" else "")
        + (f" (GGUF, sha256 {stats['gguf_sha256'][:12]})" if stats.get("gguf_sha256") else ""),
        f"- Data: {stats['train_pairs']} training pairs / {stats['eval_pairs']} evaluation pairs from "
        f"`{TRAIN_FILE}` (sha256 {stats['train_sha256'][:12]}), synthesized from the cleaned legislation corpus",
        f"  ({stats['skipped_too_long']} pairs longer than train.max_seq_len skipped)"
        + (
            f", + {stats['passage_windows']} passage windows of their chunks"
            if stats.get("passage_windows")
            else ""
        ),
        f"- LoRA: {json.dumps(asdict(cfg.lora), ensure_ascii=False)}",
        f"- Training: {json.dumps(asdict(cfg.train), ensure_ascii=False)}",
        f"- Software: {', '.join(f'{name} {version}' for name, version in library_versions().items())}",
        f"- Final metrics: train loss {stats.get('train_loss', float('nan')):.4f}, eval loss "
        + ", ".join(f"{name} {loss:.4f}" for name, loss in stats.get("eval_loss", {}).items())
        + "; answer-level scores in `metrics/eval.json`",
        "",
        "Load with `PeftModel.from_pretrained(base, 'models/adapter')` or `python -m stages.ask \"pergunta\"`;",
        "`python -m stages.ask --merge-to DIR` writes a merged 16-bit model, `--merge-to FILE.gguf` a GGUF file.",
        "",
    ]
    return "\n".join(lines)
