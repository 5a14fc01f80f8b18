"""Ask the fine-tuned model one question, or merge the adapter into a full model: a folder, or a GGUF file.

python -m stages.ask "O que regula o artigo 3.º?"
python -m stages.ask --merge-to models/merged      # then: transformers serve models/merged
python -m stages.ask --merge-to models/legis.gguf  # F16 GGUF for LM Studio / llama.cpp (--gguf-type q8_0: half)

A GGUF export is loaded back with transformers and its logits compared with the merged model's on a few
prompts (limits in stages/gguf_io.py LOGIT_TOLERANCE); a file outside them is reported and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from stages.core.run import EXIT_NO_INPUT, MissingInputError, require_input, setup_logging
from stages.model.gguf_io import (
    OUT_TYPES,
    SOURCE_METADATA,
    GgufError,
    compare_logits,
    export_gguf,
    load_gguf_model,
    read_source,
    within_tolerance,
)
from stages.model.loading import (
    ModelSource,
    ModelUnavailableError,
    generate_answers,
    load_causal_lm,
    load_tokenizer,
    locate_model,
    pick_dtype,
)
from stages.model.prompt_format import FALLBACK_CHAT_TEMPLATE, prompt_text
from stages.records.paths import ADAPTER_BASE_FILE, ADAPTER_DIR

# prompts for the export check: the training format, and plain text
CHECK_PROMPTS = ("Qual é o prazo para o trancamento de matrícula?", "Art. 5º O estudante poderá requerer")

log = logging.getLogger(__name__)


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


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(prog="python -m stages.ask", description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", help="a question in Portuguese")
    parser.add_argument(
        "--adapter", default=ADAPTER_DIR, type=Path, help="adapter directory (default %(default)s)"
    )
    parser.add_argument("--base", default=None, help="base model (default: the one recorded in the adapter)")
    parser.add_argument(
        "--merge-to",
        type=Path,
        default=None,
        help="write base+adapter merged: a directory (16-bit safetensors) or a .gguf file (for LM Studio)",
    )
    parser.add_argument(
        "--gguf-type", choices=OUT_TYPES, default="f16", help="GGUF weights (default %(default)s)"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip reloading the GGUF to compare logits")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args(argv)
    if not args.question and not args.merge_to:
        parser.error("give a question, --merge-to DIR, or both")
    to_gguf = args.merge_to is not None and args.merge_to.suffix.lower() == ".gguf"
    try:
        source = base_source(args.adapter, args.base)
        model, tokenizer = load_adapted(
            args.adapter, source, merge=args.merge_to is not None, full_precision=to_gguf
        )
    except MissingInputError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_NO_INPUT) from None
    except ModelUnavailableError as e:
        log.error("%s", e)
        raise SystemExit(2) from None
    if args.question:
        model.eval()
        print(generate_answers(model, tokenizer, [args.question], args.max_new_tokens, batch_size=1)[0])
    if to_gguf:
        try:
            info = merge_to_gguf(
                model, tokenizer, source, args.merge_to, args.gguf_type, verify=not args.no_verify
            )
        except GgufError as e:
            log.error("%s", e)
            raise SystemExit(2) from None
        log.info(
            "GGUF written: %s (%s, %d tensors, %.0f MB)",
            info["file"],
            info["type"],
            info["tensors"],
            info["bytes"] / 1e6,
        )
        if "check" in info:
            log.info("reload check: %s", json.dumps({k: round(v, 6) for k, v in info["check"].items()}))
            if info["problems"]:
                log.error(
                    "the GGUF file does not reproduce the merged model: %s", "; ".join(info["problems"])
                )
                raise SystemExit(1)
    elif args.merge_to:
        merge_to(model, tokenizer, args.merge_to)
        log.info(
            "merged model written to %s (serve it with `transformers serve %s`)", args.merge_to, args.merge_to
        )


if __name__ == "__main__":
    main()
