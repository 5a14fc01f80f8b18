"""GPU benchmark: LoRA (bf16) vs QLoRA (NF4) training of a Llama-2-7B-shaped model, tokens/s and peak memory.

No download: the model has Llama-2-7B's exact shapes (LlamaConfig 4096 hidden, 32 layers, 11008 intermediate,
32 heads, vocab 32000) with RANDOM weights, built on the GPU in bf16 and saved once to --workdir as
safetensors (~13 GB), then loaded back through the pipeline's own code (stages.train.prepare_model: the
same dtype, 4-bit config, gradient checkpointing and LoRA setup as `dvc repro train`). Throughput and memory
do not depend on the weight values. Each mode does --warmup untimed then --steps timed optimizer steps on a
fixed random batch; peak memory is torch.cuda.max_memory_allocated over load + training.

    python bench/bench_train_gpu.py --out bench/results_gpu.json                 # both modes, 7B
    python bench/bench_train_gpu.py --shape llama-3-8b --out bench/results_gpu_llama3.json
    python bench/bench_train_gpu.py --tiny --out /tmp/gpu_tiny.json               # logic check, CPU ok

Prints one JSON line per mode and writes all of them (with the device description) to --out.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from stages.model.finetune import LoraParams, TrainConfig, TrainParams, prepare_model
from stages.model.loading import ModelParams, ModelSource

log = logging.getLogger("bench_train_gpu")

LLAMA2_7B = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    max_position_embeddings=4096,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)
LLAMA3_8B = dict(  # Meta-Llama-3-8B: grouped-query attention (8 KV heads) and a 128k vocabulary
    vocab_size=128256,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_theta=500000.0,
    tie_word_embeddings=False,
)
TINY = dict(
    vocab_size=1000,
    hidden_size=64,
    intermediate_size=172,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=1024,
    tie_word_embeddings=False,
)


def save_random_model(shape: dict[str, Any], out_dir: Path, device: str) -> None:
    """A randomly initialized LlamaForCausalLM in bf16, built directly on `device`, saved as safetensors."""
    from transformers import LlamaConfig, LlamaForCausalLM

    if (out_dir / "config.json").exists():
        log.info("reusing random model in %s", out_dir)
        return
    config = LlamaConfig(**shape, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    t0 = time.perf_counter()
    model.save_pretrained(out_dir, safe_serialization=True, max_shard_size="2GB")
    log.info(
        "saved random model (%.1f B params) in %.0f s",
        sum(p.numel() for p in model.parameters()) / 1e9,
        time.perf_counter() - t0,
    )
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def timed_steps(
    model: Any, opt: Any, ids: Any, autocast: Any, warmup: int, steps: int, cuda: bool
) -> tuple[float, list[float]]:
    """`warmup` untimed then `steps` timed optimizer steps on one batch; (seconds, losses)."""

    def step() -> float:
        with autocast:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    losses = [step() for _ in range(steps)]
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0, losses


def bench_mode(mode: str, model_dir: Path, args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Train `args.steps` timed steps of LoRA (`mode`=lora) or QLoRA (`mode`=qlora); tokens/s and peak memory."""
    cuda = device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    cfg = TrainConfig(
        model=ModelParams(str(model_dir)),
        lora=LoraParams(r=args.r, alpha=2 * args.r, dropout=0.05, target_modules=tuple(args.target_modules)),
        train=TrainParams(
            quantization="4bit" if mode == "qlora" else "none",
            gradient_checkpointing=not args.no_checkpointing,
            global_batch=args.batch,
            max_seq_len=args.seq_len,
        ),
    )
    t_load = time.perf_counter()
    model = prepare_model(ModelSource(str(model_dir), local_files_only=True), cfg, device)
    if mode == "lora":
        model.to(device)
    load_s = time.perf_counter() - t_load
    weights_gb = torch.cuda.memory_allocated() / 2**30 if cuda else float("nan")
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    ids = torch.randint(3, vocab, (args.batch, args.seq_len), generator=gen).to(device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)

    elapsed, losses = timed_steps(model, opt, ids, autocast, args.warmup, args.steps, cuda)
    result = {
        "mode": mode,
        "tokens_per_s": round(args.batch * args.seq_len * args.steps / elapsed, 1),
        "s_per_step": round(elapsed / args.steps, 4),
        "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "weights_gpu_mem_gib": round(weights_gb, 2) if cuda else None,
        "trainable_params": sum(p.numel() for p in params),
        "total_params": sum(p.numel() for p in model.parameters()),
        "load_s": round(load_s, 1),
        "final_loss": round(losses[-1], 4),
        "batch": args.batch,
        "seq_len": args.seq_len,
        "r": args.r,
        "target_modules": list(args.target_modules),
        "gradient_checkpointing": not args.no_checkpointing,
    }
    del model, opt, params
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def qlora_unavailable(device: str) -> str | None:
    if device != "cuda":
        return "no CUDA device"
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as e:
        return f"bitsandbytes not importable ({e})"
    return None


def device_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "torch": torch.__version__}
    import transformers

    info["transformers"] = transformers.__version__
    try:
        import peft

        info["peft"] = peft.__version__
    except ImportError:
        pass
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_mem_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        try:
            import bitsandbytes

            info["bitsandbytes"] = bitsandbytes.__version__
        except ImportError:
            pass
    return info


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--r", type=int, default=16)
    parser.add_argument("--target-modules", nargs="+", default=["q_proj", "v_proj"])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--modes", default="lora,qlora", help="comma list of lora, qlora")
    parser.add_argument("--no-checkpointing", action="store_true", help="disable gradient checkpointing")
    parser.add_argument(
        "--tiny", action="store_true", help="tiny Llama instead of 7B (checks the script on CPU)"
    )
    parser.add_argument("--shape", choices=["llama-2-7b", "llama-3-8b"], default="llama-2-7b")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-llama-random"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    shape_name = "tiny" if args.tiny else args.shape
    shape = {"tiny": TINY, "llama-2-7b": LLAMA2_7B, "llama-3-8b": LLAMA3_8B}[shape_name]
    model_dir = args.workdir / f"{shape_name}-shape"
    save_random_model(shape, model_dir, device)
    # tokenizer-free: prepare_model only needs the weights; the bench feeds random ids
    results: list[dict[str, Any]] = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        reason = qlora_unavailable(device) if mode == "qlora" else None
        if reason:
            result = {"mode": mode, "skipped": reason}
        else:
            try:
                result = bench_mode(mode, model_dir, args, device)
            except torch.cuda.OutOfMemoryError as e:
                result = {"mode": mode, "error": f"CUDA out of memory: {str(e)[:200]}"}
                gc.collect()
                torch.cuda.empty_cache()
        print(json.dumps(result), flush=True)
        results.append(result)
    by_mode = {r["mode"]: r for r in results if "tokens_per_s" in r}
    ratios = {}
    if "lora" in by_mode and "qlora" in by_mode:
        ratios = {
            "qlora_vs_lora_tokens_per_s": round(
                by_mode["qlora"]["tokens_per_s"] / by_mode["lora"]["tokens_per_s"], 3
            ),
        }
        if by_mode["lora"]["peak_gpu_mem_gib"]:
            ratios["qlora_vs_lora_peak_mem"] = round(
                by_mode["qlora"]["peak_gpu_mem_gib"] / by_mode["lora"]["peak_gpu_mem_gib"], 3
            )
    summary = {
        "info": device_info(device),
        "shape": shape_name,
        "results": results,
        "ratios": ratios,
    }
    print(json.dumps({"ratios": ratios}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
