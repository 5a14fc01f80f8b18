"""Ask the fine-tuned model one question, or merge the adapter into a full 16-bit model.

python -m stages.ask "O que regula o artigo 3.º?"
python -m stages.ask --merge-to models/merged      # then: transformers serve models/merged
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from stages.common import EXIT_NO_INPUT, MissingInputError, require_input, setup_logging
from stages.modeling import (
    ModelSource,
    ModelUnavailableError,
    generate_answers,
    load_causal_lm,
    load_tokenizer,
    locate_model,
    pick_dtype,
)
from stages.records import ADAPTER_DIR

log = logging.getLogger(__name__)


def adapter_base(adapter_dir: Path) -> str:
    """The base model the adapter was trained on, from its adapter_config.json."""
    config_file = require_input(adapter_dir / "adapter_config.json", "train")
    return json.loads(config_file.read_text(encoding="utf-8"))["base_model_name_or_path"]


def load_adapted(adapter_dir: Path, base: str | None, merge: bool) -> tuple[Any, Any]:
    """(model, tokenizer): base + adapter. For merging the base is loaded in 16-bit (never 4-bit) on CPU or GPU."""
    import torch
    from peft import PeftModel

    source = locate_model(base or adapter_base(adapter_dir))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = pick_dtype(device)
    if merge and dtype == torch.float32:
        dtype = torch.bfloat16  # merged checkpoints are saved in 16-bit, like the originals
    model = load_causal_lm(source, dtype)  # full precision weights: LoRA deltas merge exactly
    model.to(device)
    model = PeftModel.from_pretrained(model, str(adapter_dir))
    tokenizer = load_tokenizer(ModelSource(str(adapter_dir), local_files_only=True))
    return model, tokenizer


def merge_to(model: Any, tokenizer: Any, out_dir: Path) -> None:
    """Fold the LoRA deltas into the weights and save a plain model (safetensors) + tokenizer."""
    merged = model.merge_and_unload()
    merged.save_pretrained(out_dir, safe_serialization=True)
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
        "--merge-to", type=Path, default=None, help="write base+adapter merged in 16-bit to this directory"
    )
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args(argv)
    if not args.question and not args.merge_to:
        parser.error("give a question, --merge-to DIR, or both")
    try:
        model, tokenizer = load_adapted(args.adapter, args.base, merge=args.merge_to is not None)
    except MissingInputError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_NO_INPUT) from None
    except ModelUnavailableError as e:
        log.error("%s", e)
        raise SystemExit(2) from None
    if args.question:
        model.eval()
        print(generate_answers(model, tokenizer, [args.question], args.max_new_tokens, batch_size=1)[0])
    if args.merge_to:
        merge_to(model, tokenizer, args.merge_to)
        log.info(
            "merged model written to %s (serve it with `transformers serve %s`)", args.merge_to, args.merge_to
        )


if __name__ == "__main__":
    main()
