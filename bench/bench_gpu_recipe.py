"""GPU benchmark: the compute of training the gemma-3-270m LoRA recipe on the whole real UFAM pair set.

What it measures: tokens/s, s/step and peak memory of the pipeline's own training path (stages.model.finetune's
prepare_model, the packed answer-only loss of stages.model.answer_loss, AdamW over the LoRA weights, bf16
autocast and gradient checkpointing on CUDA) over micro batches that have the real lengths of every training
example, and from that the projected seconds to train the whole set for the recipe's epochs, and whether that
fits in 10 minutes. Two architectures, built from their configs with RANDOM weights (real weights cannot travel
to the GPU machine; throughput and memory do not depend on the values): Google gemma-3-270m
(Gemma3ForCausalLM, config.json of the converted GGUF) and a Llama-2-7B (bench_train_gpu.LLAMA2_7B), both with
the gemma preset's recipe (stages/model/presets.py: LoRA all-linear r16 alpha32, 2 epochs, passages learnt,
15% of the pairs asked with a chunk in the prompt). Not counted: loading, tokenizing, the per-epoch eval loss.
The lengths are gemma tokens for both architectures (Llama 2's 32k vocabulary splits Portuguese into more).
One AdamW step per micro batch: the recipe's global_batch is 8, so --micro-batch 8 is its exact step; a larger
micro batch is the same work per token with fewer, larger steps.

`prepare` (CPU, where the gemma tokenizer is) tokenizes the training set exactly as `stages.train` does
(raft.training_prompts, finetune.encode_split and encode_passages) and stores per example the prompt and
answer token counts (a passage window: prompt 0, every token a label), the gemma config and a summary in
bench/gpu_recipe_lengths.json. `run` needs only that file: the GPU machine has no tokenizer, GGUF or network.

The real UFAM training pairs (rules backend, ~10k pairs; ~20 s on one core), from the repository root <repo>:

    mkdir -p <workdir>/data/chunks && cd <workdir>
    cp <repo>/params.yaml . && cp -r <repo>/prompts . && ln -s <repo>/stages stages
    cp <repo>/.bench/questions/ufam/data/chunks/chunks.jsonl data/chunks/
    PYTHONPATH=<repo> python -m stages.synth && PYTHONPATH=<repo> python -m stages.dataset

Then, in <repo>:

    python -m bench.bench_gpu_recipe prepare --pairs <workdir>/data/dataset/train.jsonl \\
        --chunks <workdir>/data/chunks/chunks.jsonl --out bench/gpu_recipe_lengths.json
    python -m bench.bench_gpu_recipe run --lengths bench/gpu_recipe_lengths.json --arch tiny --out /tmp/t.json
    bash bench/gpu_recipe.sh          # on one H100: gemma-3-270m, Llama-2-7B LoRA and QLoRA, ~8 minutes

`run --arch gemma-3-270m|llama-2-7b|tiny|tiny-llama` (the tiny ones: toy sizes of the two, logic checks) prints one
JSON line and writes it with the device description to --out.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import random
import resource
import time
from pathlib import Path
from typing import Any

import torch

from bench.bench_train_gpu import LLAMA2_7B, TINY, device_info, qlora_unavailable, save_random_model
from stages.core.files import sha256_file, stable_hash
from stages.model.answer_loss import IGNORE_INDEX, answer_only_loss, pack_batch
from stages.model.finetune import LoraParams, TrainConfig, TrainParams, prepare_model
from stages.model.loading import ModelParams, ModelSource
from stages.model.presets import PRESETS

log = logging.getLogger("bench_gpu_recipe")

PRESET = "gemma-3-270m"
FITS_S = 600.0  # the question asked: does one training run fit in 10 minutes
WARMUP_STEPS = 2  # untimed: CUDA kernels, autotuning and allocator growth
SEED = 13  # the recipe's train.seed: walk order and random token ids
# gemma-3-270m's architecture at a toy size (~0.1 M parameters): checks the whole path on a CPU in seconds
TINY_GEMMA = dict(
    vocab_size=1000,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=32,
    query_pre_attn_scalar=32,
    layer_types=["sliding_attention", "full_attention"],
    max_position_embeddings=4096,
)
ARCHS = ("gemma-3-270m", "llama-2-7b", "tiny", "tiny-llama")  # tiny-llama: bench_train_gpu.TINY, a toy Llama
GPU_MICRO_BATCH = {
    "gemma-3-270m": 64,
    "llama-2-7b": 16,
    "tiny": 8,
    "tiny-llama": 8,
}  # pairs per step on CUDA; 8 on CPU


def recipe() -> tuple[LoraParams, TrainParams]:
    """The gemma preset's LoRA and train params over the dataclass defaults (params.yaml has the same values)."""
    preset = PRESETS[PRESET]
    lora = dict(preset["lora"])
    lora["target_modules"] = tuple(lora["target_modules"])
    return LoraParams(**lora), TrainParams(**preset["train"])


# ---------------------------------------------------------------- prepare (CPU, the real tokenizer)


def split_lengths(input_ids: list[list[int]], labels: list[list[int]]) -> tuple[list[int], list[int]]:
    """(prompt tokens, answer tokens) per encoded example: the answer is every position with a label."""
    answers = [sum(1 for t in row if t != IGNORE_INDEX) for row in labels]
    prompts = [len(ids) - a for ids, a in zip(input_ids, answers, strict=True)]
    return prompts, answers


def measure_lengths(
    tokenizer: Any, records: list[Any], chunks: list[Any], train: TrainParams
) -> dict[str, Any]:
    """Token counts of every training example as stages.train encodes them: the RAFT prompts, pairs too long
    for max_seq_len skipped, then (train.passages) the windows of the training pairs' chunks."""
    from stages.model.finetune import encode_passages, encode_split
    from stages.model.prompt_format import passage_text
    from stages.model.raft import training_prompts
    from stages.scoring.retrieval import BM25

    scorer = BM25([passage_text(c) for c in chunks]).scores
    prompts, kinds = training_prompts(
        records, chunks, scorer, train.retrieval_fraction, train.distractor_share, train.seed
    )
    encoded, skipped = encode_split(tokenizer, records, train.max_seq_len, prompts)
    prompt_tokens, answer_tokens = split_lengths(encoded["input_ids"], encoded["labels"])
    n_pairs = len(prompt_tokens)
    if train.passages:
        wanted = {r.chunk_id for r in records}
        texts = [passage_text(c) for c in chunks if c.id in wanted]
        windows = encode_passages(tokenizer, texts, train.max_seq_len)
        if windows is not None:
            prompt_tokens += [0] * len(windows)  # language modelling: every token a label
            answer_tokens += list(windows["length"])
    return {
        "prompt_tokens": prompt_tokens,
        "answer_tokens": answer_tokens,
        "pairs": n_pairs,
        "passage_windows": len(prompt_tokens) - n_pairs,
        "skipped_too_long": skipped,
        "prompt_kinds": dict(sorted(kinds.items())),
    }


def prepare(args: argparse.Namespace) -> None:
    from stages.core.files import read_jsonl
    from stages.model.gguf_io import ensure_converted
    from stages.model.loading import load_tokenizer
    from stages.records.base import from_dict
    from stages.records.chunks import Chunk
    from stages.records.pairs import SplitPair

    lora, train = recipe()
    folder, _ = ensure_converted(PRESETS[PRESET]["model"]["gguf_file"])
    tokenizer = load_tokenizer(ModelSource(str(folder), local_files_only=True))
    records = [from_dict(SplitPair, row) for row in read_jsonl(args.pairs)]
    chunks = [from_dict(Chunk, row) for row in read_jsonl(args.chunks)]
    log.info("prepare: %d training pairs, %d chunks", len(records), len(chunks))
    lengths = measure_lengths(tokenizer, records, chunks, train)
    prompts, answers = lengths.pop("prompt_tokens"), lengths.pop("answer_tokens")
    summary = {
        **lengths,
        "examples": len(prompts),
        "total_tokens": sum(prompts) + sum(answers),
        "answer_tokens": sum(answers),
        "longest_example": max(p + a for p, a in zip(prompts, answers, strict=True)),
        "pairs_file": args.pairs.name,
        "pairs_sha256": sha256_file(args.pairs),
        "chunks_file": args.chunks.name,
        "chunks_sha256": sha256_file(args.chunks),
        "documents": sorted({r.doc for r in records}),  # those with training pairs
        "chunk_documents": len({c.doc for c in chunks}),
        "tokenizer": "gemma-3-270m (" + PRESETS[PRESET]["model"]["gguf_file"] + ")",
        "preset": PRESET,
        "epochs": train.epochs,
        "max_seq_len": train.max_seq_len,
        "global_batch": train.global_batch,
        "retrieval_fraction": train.retrieval_fraction,
        "distractor_share": train.distractor_share,
        "passages": train.passages,
        "seed": train.seed,
        "lora": {"r": lora.r, "alpha": lora.alpha, "target_modules": list(lora.target_modules)},
    }
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    data = {"summary": summary, "gemma_config": config, "prompt_tokens": prompts, "answer_tokens": answers}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    log.info(
        "prepare: %d pairs + %d passage windows, %d tokens (%d answer) -> %s",
        summary["pairs"],
        summary["passage_windows"],
        summary["total_tokens"],
        summary["answer_tokens"],
        args.out,
    )


# ---------------------------------------------------------------- run (GPU or CPU, random weights)


def example_features(
    prompt_tokens: int, answer_tokens: int, vocab: int, gen: torch.Generator
) -> dict[str, list]:
    """One example of the given lengths: random ids, labels -100 over the prompt (as encode_example builds)."""
    ids = torch.randint(4, vocab, (prompt_tokens + answer_tokens,), generator=gen).tolist()
    return {"input_ids": ids, "labels": [IGNORE_INDEX] * prompt_tokens + ids[prompt_tokens:]}


def micro_batches(n: int, micro_batch: int, seed: int) -> list[list[int]]:
    """Example indices in a seeded shuffled order, cut into micro batches (the last one may be short)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i : i + micro_batch] for i in range(0, n, micro_batch)]


def projection(epoch_tokens: int, epochs: float, tokens_per_s: float) -> tuple[float, bool]:
    """(seconds to train epoch_tokens x epochs at tokens_per_s, whether that fits in FITS_S)."""
    seconds = epoch_tokens * epochs / tokens_per_s if tokens_per_s > 0 else math.inf
    return seconds, seconds <= FITS_S


def model_config(arch: str, gemma_config: dict[str, Any]) -> dict[str, Any]:
    """The config of `arch`: gemma's from the lengths file (or its toy size), or Llama-2-7B's shapes."""
    if arch in ("llama-2-7b", "tiny-llama"):
        return dict(LLAMA2_7B if arch == "llama-2-7b" else TINY)
    config = {k: v for k, v in gemma_config.items() if not k.startswith("_") and k != "transformers_version"}
    return {**config, **TINY_GEMMA} if arch == "tiny" else config


def save_random_gemma(config: dict[str, Any], out_dir: Path, device: str) -> None:
    """A randomly initialized Gemma3ForCausalLM (bf16 on CUDA, float32 on CPU) saved as safetensors."""
    from transformers import AutoConfig, AutoModelForCausalLM

    if (out_dir / "config.json").exists():
        log.info("reusing random model in %s", out_dir)
        return
    fields = {k: v for k, v in config.items() if k not in ("model_type", "dtype", "torch_dtype")}
    hf_config = AutoConfig.for_model(config["model_type"], **fields)
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16 if device == "cuda" else torch.float32)
    try:
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(hf_config, trust_remote_code=False)
    finally:
        torch.set_default_dtype(default)
    model.save_pretrained(out_dir, safe_serialization=True)
    log.info(
        "saved random %s (%.3f B params) to %s", type(model).__name__, model.num_parameters() / 1e9, out_dir
    )
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def build_random_model(arch: str, config: dict[str, Any], workdir: Path, device: str) -> Path:
    """Save the random model of `arch` once under `workdir` (a folder per config) and return that folder."""
    out_dir = workdir / f"{arch}-{stable_hash(config, device, length=8)}"
    if arch in ("llama-2-7b", "tiny-llama"):
        save_random_model(config, out_dir, device)
    else:
        save_random_gemma(config, out_dir, device)
    return out_dir


def peak_memory_gib(cuda: bool) -> float:
    """torch.cuda.max_memory_allocated on CUDA; on CPU the process's peak resident set (Linux: KiB)."""
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def causal_base(model: Any) -> Any:
    """The transformers model inside a PeftModel."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def train_walk(
    model: Any,
    prompts: list[int],
    answers: list[int],
    batches: list[list[int]],
    max_len: int,
    budget_s: float,
    device: str,
) -> dict[str, Any]:
    """WARMUP_STEPS untimed steps, then micro batches in order until the epoch ends or budget_s passes: one
    AdamW step per micro batch on the packed answer-only loss. Counts what the timed steps covered."""
    cuda = device == "cuda"
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    vocab = model.config.vocab_size
    pad_id = getattr(model.config, "pad_token_id", None) or 0
    gen = torch.Generator().manual_seed(SEED)

    def step(batch_ids: list[int]) -> tuple[float, int, int]:
        features = [example_features(prompts[i], answers[i], vocab, gen) for i in batch_ids]
        batch = pack_batch(features, max_len, pad_id)
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast:
            loss = answer_only_loss(model, batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach()), batch["input_ids"].numel(), batch["input_ids"].shape[0]

    model.train()
    for batch_ids in batches[:WARMUP_STEPS]:
        step(batch_ids)
    if cuda:
        torch.cuda.synchronize()
    losses: list[float] = []
    pairs = tokens = answer_tokens = positions = rows = 0
    t0 = time.perf_counter()
    for batch_ids in batches:
        loss, batch_positions, batch_rows = step(batch_ids)  # float(loss) waits for the GPU
        losses.append(loss)
        pairs += len(batch_ids)
        tokens += sum(prompts[i] + answers[i] for i in batch_ids)
        answer_tokens += sum(answers[i] for i in batch_ids)
        positions += batch_positions
        rows += batch_rows
        if time.perf_counter() - t0 >= budget_s:
            break
    elapsed = time.perf_counter() - t0
    return {
        "steps": len(losses),
        "elapsed_s": elapsed,
        "pairs_walked": pairs,
        "tokens_walked": tokens,
        "answer_tokens_walked": answer_tokens,
        "packed_positions": positions,  # rows x width: tokens + padding
        "packed_rows": rows,
        "losses": losses,
        "trainable_params": sum(p.numel() for p in params),
        "total_params": sum(p.numel() for p in model.parameters()),
    }


def bench_run(args: argparse.Namespace, data: dict[str, Any], device: str) -> dict[str, Any]:
    """Build, load through prepare_model and train one arch; the result row (also on CUDA out of memory)."""
    cuda = device == "cuda"
    summary = data["summary"]
    prompts, answers = data["prompt_tokens"], data["answer_tokens"]
    lora, train = recipe()
    micro = args.micro_batch or (GPU_MICRO_BATCH[args.arch] if cuda else 8)
    row: dict[str, Any] = {"arch": args.arch, "quantization": args.quantization, "micro_batch": micro}
    if args.quantization == "4bit" and (reason := qlora_unavailable(device)):
        return {**row, "skipped": reason}
    epoch_tokens = sum(prompts) + sum(answers)
    try:
        t_build = time.perf_counter()
        model_dir = build_random_model(
            args.arch, model_config(args.arch, data["gemma_config"]), args.workdir, device
        )
        build_s = time.perf_counter() - t_build
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        cfg = TrainConfig(
            ModelParams(str(model_dir)),
            lora,
            TrainParams(
                **{**PRESETS[PRESET]["train"], "quantization": args.quantization, "global_batch": micro}
            ),
        )
        t_load = time.perf_counter()
        model = prepare_model(ModelSource(str(model_dir), local_files_only=True), cfg, device)
        if args.quantization == "none":
            model.to(device)
        load_s = time.perf_counter() - t_load
        weights_gib = torch.cuda.memory_allocated() / 2**30 if cuda else None
        batches = micro_batches(len(prompts), micro, SEED)
        walked = train_walk(model, prompts, answers, batches, train.max_seq_len, args.budget_s, device)
        base = causal_base(model)
        checkpointing = getattr(base, "is_activation_checkpointing", None)  # transformers 5; 4.x: the other
        if checkpointing is None:
            checkpointing = getattr(base, "is_gradient_checkpointing", False)
        del model
    except torch.cuda.OutOfMemoryError as e:
        gc.collect()
        torch.cuda.empty_cache()
        return {**row, "error": f"CUDA out of memory: {str(e)[:300]}"}
    losses = walked.pop("losses")
    elapsed = walked["elapsed_s"]
    tokens_per_s = walked["tokens_walked"] / elapsed
    projected_s, fits = projection(epoch_tokens, summary["epochs"], tokens_per_s)
    result = {
        **row,
        **{k: v for k, v in walked.items() if k != "elapsed_s"},
        "elapsed_s": round(elapsed, 2),
        "epoch_fraction": round(walked["pairs_walked"] / len(prompts), 4),
        "tokens_per_s": round(tokens_per_s, 1),
        "answer_tokens_per_s": round(walked["answer_tokens_walked"] / elapsed, 1),
        "s_per_step": round(elapsed / walked["steps"], 4),
        "padding_share": round(1 - walked["tokens_walked"] / walked["packed_positions"], 4),
        "peak_gpu_mem_gib" if cuda else "peak_rss_gib": round(peak_memory_gib(cuda), 2),
        "weights_gpu_mem_gib": round(weights_gib, 2) if weights_gib is not None else None,
        "build_s": round(build_s, 1),
        "load_s": round(load_s, 1),
        "first_loss": round(losses[0], 4),
        "last_loss": round(losses[-1], 4),
        "losses_finite": all(math.isfinite(x) for x in losses),
        "gradient_checkpointing": bool(checkpointing),
        "epoch_examples": len(prompts),
        "epoch_tokens": epoch_tokens,
        "epochs": summary["epochs"],
        "projected_s": round(projected_s, 2),
        "fits_10_min": fits,
        "lora": {"r": lora.r, "alpha": lora.alpha, "target_modules": list(lora.target_modules)},
        "budget_s": args.budget_s,
    }
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = json.loads(args.lengths.read_text(encoding="utf-8"))
    log.info(
        "run: %s on %s, %d examples, %d tokens per epoch, budget %.0f s",
        args.arch,
        device,
        len(data["prompt_tokens"]),
        data["summary"]["total_tokens"],
        args.budget_s,
    )
    result = bench_run(args, data, device)
    print(json.dumps(result), flush=True)
    summary = {k: v for k, v in data["summary"].items() if k != "documents"}
    report = {"info": device_info(device), "lengths": summary, "result": result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="token lengths of the training set (CPU, gemma tokenizer)")
    prep.add_argument("--pairs", type=Path, required=True, help="data/dataset/train.jsonl")
    prep.add_argument("--chunks", type=Path, required=True, help="data/chunks/chunks.jsonl")
    prep.add_argument("--out", type=Path, default=Path("bench/gpu_recipe_lengths.json"))
    bench = commands.add_parser("run", help="train on those lengths with a random-weight model")
    bench.add_argument("--lengths", type=Path, default=Path("bench/gpu_recipe_lengths.json"))
    bench.add_argument("--arch", choices=ARCHS, required=True)
    bench.add_argument("--out", type=Path, required=True)
    bench.add_argument("--budget-s", type=float, default=240.0, help="timed seconds at most (after warm-up)")
    bench.add_argument(
        "--micro-batch", type=int, default=0, help="pairs per step; 0 = 8 on CPU, 64/16 on CUDA"
    )
    bench.add_argument("--quantization", choices=["none", "4bit"], default="none")
    bench.add_argument("--workdir", type=Path, default=Path("/tmp/bench-gpu-recipe"), help="random models")
    bench.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
