"""CPU benchmark: training tokens/s and peak RSS of the built-in model at several LoRA ranks vs full fine-tuning.

Each configuration runs in its own subprocess (so peak RSS is its own): the model with the shapes of
params.yaml [base] (random weights: speed and memory do not depend on their values), the stage's LoRA setup
(stages.train: q_proj/v_proj, alpha = 2r), AdamW, --warmup untimed then --steps timed optimizer steps on a
fixed batch. Ratios are against full fine-tuning (all weights trainable) measured in the same invocation.

    python bench/bench_train_cpu.py --out bench/results_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_one(config: str, batch: int, seq_len: int, warmup: int, steps: int) -> dict[str, Any]:
    """One configuration ('full' or 'r<N>') in this process."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    from stages.core.params import load_params
    from stages.model.tiny_llama import BaseParams, llama_config

    p = load_params("base", BaseParams, REPO / "params.yaml")
    p = replace(p, max_position_embeddings=max(p.max_position_embeddings, seq_len))
    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(p, p.vocab_size))
    if config != "full":
        r = int(config.removeprefix("r"))
        lora = LoraConfig(
            r=r,
            lora_alpha=2 * r,
            lora_dropout=0.05,
            target_modules=["q_proj", "v_proj"],
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    model.train()
    trainable = [t for t in model.parameters() if t.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    ids = torch.randint(0, p.vocab_size, (batch, seq_len), generator=torch.Generator().manual_seed(0))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def step() -> None:
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - t0
    return {
        "config": config,
        "tokens_per_s": round(batch * seq_len * steps / elapsed, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_at_start_mib": round(rss_before, 1),
        "trainable_params": sum(t.numel() for t in trainable),
        "total_params": sum(t.numel() for t in model.parameters()),
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="4,16,64")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="round-robin repeats; the median is reported")
    parser.add_argument(
        "--threads", type=int, default=0, help="OMP_NUM_THREADS for the runs (0 = torch default)"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one config, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.batch, args.seq_len, args.warmup, args.steps)))
        return

    configs = ["full"] + [f"r{r}" for r in args.ranks.split(",")]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}))
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    for repeat in range(args.repeats):  # round-robin, so a change in machine load hits every config alike
        for config in configs:
            cmd = [sys.executable, __file__, "--one", config, "--batch", str(args.batch), "--seq-len", str(args.seq_len),
                   "--warmup", str(args.warmup), "--steps", str(args.steps)]  # fmt: skip
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO, env=env).stdout
            runs[config].append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps({"repeat": repeat, **runs[config][-1]}), flush=True)
    results = []
    for config in configs:
        speeds = sorted(r["tokens_per_s"] for r in runs[config])
        results.append(
            {
                **runs[config][0],
                "tokens_per_s": speeds[len(speeds) // 2],  # median over repeats
                "tokens_per_s_all": [r["tokens_per_s"] for r in runs[config]],
                "peak_rss_mib": max(r["peak_rss_mib"] for r in runs[config]),
            }
        )
    full = results[0]
    r4 = next((r for r in results if r["config"] == "r4"), None)
    for r in results:
        r["tokens_per_s_vs_full"] = round(r["tokens_per_s"] / full["tokens_per_s"], 3)
        r["peak_rss_vs_full"] = round(r["peak_rss_mib"] / full["peak_rss_mib"], 3)
        if r4:
            r["tokens_per_s_vs_r4"] = round(r["tokens_per_s"] / r4["tokens_per_s"], 3)
    summary = {
        "nproc": os.cpu_count(),
        "batch": args.batch,
        "seq_len": args.seq_len,
        "steps": args.steps,
        "results": results,
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
