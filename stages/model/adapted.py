"""An adapter on its base: found from the adapter's own record, loaded, merged into a folder or a checked GGUF file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.core.run import require_input
from stages.model.gguf_io import (
    SOURCE_METADATA,
    compare_logits,
    export_gguf,
    load_gguf_model,
    read_source,
    within_tolerance,
)
from stages.model.loading import (
    ModelSource,
    ModelUnavailableError,
    load_causal_lm,
    load_tokenizer,
    locate_model,
    pick_dtype,
)
from stages.model.prompt_format import FALLBACK_CHAT_TEMPLATE, prompt_text
from stages.records.paths import ADAPTER_BASE_FILE

# prompts for the export check: the training format, and plain text
CHECK_PROMPTS = ("Qual é o prazo para o trancamento de matrícula?", "Art. 5º O estudante poderá requerer")


def adapter_base(adapter_dir: Path) -> str:
    """The base model the adapter was trained on, from its adapter_config.json."""
    config_file = require_input(adapter_dir / "adapter_config.json", "train")
    return json.loads(config_file.read_text(encoding="utf-8"))["base_model_name_or_path"]


def check_base(adapter_dir: Path, source: ModelSource) -> None:
    """A GGUF base whose file changed since training (same path, new contents) would silently get the adapter
    of another model: refuse, naming both hashes."""
    recorded_file = adapter_dir / ADAPTER_BASE_FILE
    if not recorded_file.is_file():
        return
    recorded = json.loads(recorded_file.read_text(encoding="utf-8")).get("gguf_sha256")
    current = read_source(Path(source.path))
    if recorded and current is not None and current.sha256 != recorded:
        raise ModelUnavailableError(
            f"the adapter was trained on a GGUF with sha256 {recorded[:12]}, but {current.file} now has "
            f"{current.sha256[:12]}: retrain (`dvc repro -f base train`) or point --base at the original file"
        )


def base_source(adapter_dir: Path, base: str | None) -> ModelSource:
    """The base to load: `base` if given, else the one the adapter records; checked against the adapter."""
    source = locate_model(base or adapter_base(adapter_dir))
    check_base(adapter_dir, source)
    return source


def load_adapted(
    adapter_dir: Path, source: ModelSource, merge: bool, full_precision: bool = False
) -> tuple[Any, Any]:
    """(model, tokenizer): base + adapter. For merging the base is loaded in 16-bit (never 4-bit) on CPU or GPU,
    or in float32 (`full_precision`, for a GGUF export that rounds once, at the end)."""
    import torch
    from peft import PeftModel

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float32 if full_precision else pick_dtype(device)
    if merge and dtype == torch.float32 and not full_precision:
        dtype = torch.bfloat16  # merged checkpoints are saved in 16-bit, like the originals
    model = load_causal_lm(source, dtype)  # full precision weights: LoRA deltas merge exactly
    model.to(device)
    model = PeftModel.from_pretrained(model, str(adapter_dir))
    tokenizer = load_tokenizer(ModelSource(str(adapter_dir), local_files_only=True))
    return model, tokenizer


def merge_to_gguf(
    model: Any, tokenizer: Any, source: ModelSource, out_file: Path, out_type: str, verify: bool = True
) -> dict[str, Any]:
    """Merge, write GGUF (the base GGUF's metadata and tokenizer when it has one), then check it reloads to the
    same logits. Returns the export summary with the check's numbers and any tolerance it exceeds."""
    base_folder = Path(source.path)
    origin = read_source(base_folder)
    source_metadata = base_folder / SOURCE_METADATA
    merged = model.merge_and_unload().float().eval()
    chat_template = getattr(tokenizer, "chat_template", None) or FALLBACK_CHAT_TEMPLATE
    info = export_gguf(
        merged,
        tokenizer,
        out_file,
        out_type,
        source_metadata=source_metadata if source_metadata.is_file() else None,
        chat_template=chat_template,
        name=f"{out_file.stem} (LoRA fine-tune of {Path(origin.file).name if origin else base_folder.name})",
    )
    if verify:
        ids = [
            tokenizer(prompt_text(tokenizer, q), add_special_tokens=False)["input_ids"]
            for q in CHECK_PROMPTS[:1]
        ]
        ids.append(tokenizer(CHECK_PROMPTS[1])["input_ids"])
        info["check"] = compare_logits(merged, load_gguf_model(out_file), ids)
        info["problems"] = within_tolerance(info["check"], out_type)
    return info


def merge_to(model: Any, tokenizer: Any, out_dir: Path) -> None:
    """Fold the LoRA deltas into the weights and save a plain model (safetensors) + tokenizer."""
    merged = model.merge_and_unload()
    merged.save_pretrained(out_dir, safe_serialization=True)
    if not getattr(tokenizer, "chat_template", None):  # a base model trained on the fixed template: say so,
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE  # so `transformers serve` formats chats the same way
    tokenizer.save_pretrained(out_dir)
