#!/usr/bin/env bash
# The gemma-3-270m LoRA recipe's training compute on the real UFAM training set, on one NVIDIA GPU (H100 80 GB):
# bench/bench_gpu_recipe.py (random weights, real lengths from bench/gpu_recipe_lengths.json), in one go:
#   1. gemma-3-270m, micro batch 64, the whole epoch (at most 180 s timed)
#   2. gemma-3-270m, micro batch 8 = the recipe's global_batch, its exact optimizer step (45 s)
#   3. Llama-2-7B shapes, bf16 LoRA, micro batch 16 (150 s)
#   4. Llama-2-7B shapes, QLoRA 4-bit, micro batch 16 (120 s; only when bitsandbytes imports)
# Each run's timed budget shrinks so that all of them end within TOTAL_S seconds (default 480), leaving room for
# model building (a 13 GB random 7B saved once under $WORKDIR) and loading; a run with under 20 s left is skipped.
#
#   bash bench/gpu_recipe.sh            # from the repository root; no network needed
#   bash bench/gpu_recipe.sh --tiny     # the same runs on toy gemma/Llama sizes, 3 s budgets (checks it on a CPU)
#
# Writes under $OUT (default ./gpu_out): gpu_recipe_<run>.json (result + device), <run>.log, and
# gpu_recipe_results.jsonl (one result line per run).
set -uo pipefail
TINY=0
case "${1:-}" in
  --tiny) TINY=1 ;;
  "") ;;
  *) echo "usage: bash bench/gpu_recipe.sh [--tiny]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.." || exit 2
PYTHON=${PYTHON:-python3}
OUT=${OUT:-./gpu_out}
WORKDIR=${WORKDIR:-/tmp/bench-gpu-recipe}
TOTAL_S=${TOTAL_S:-480}
LENGTHS=bench/gpu_recipe_lengths.json
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"

"$PYTHON" - <<'PY' || exit 2
import importlib.util
missing = [m for m in ("torch", "transformers", "peft", "safetensors", "yaml") if importlib.util.find_spec(m) is None]
if missing:
    raise SystemExit(f"missing Python packages (no network here to install them): {', '.join(missing)}")
import peft, torch, transformers
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}, peft {peft.__version__}")
print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)")
PY
[ -f "$LENGTHS" ] || { echo "$LENGTHS is missing: run \`python -m bench.bench_gpu_recipe prepare\` first" >&2; exit 2; }
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
if "$PYTHON" -c "import bitsandbytes" 2>/dev/null; then QLORA=1; else QLORA=0; echo "bitsandbytes not importable: no QLoRA run"; fi

# name:arch:quantization:micro batch:timed budget (s):time to allow for building, loading and warm-up (s)
RUNS=(
  "gemma64:gemma-3-270m:none:64:180:40"
  "gemma8:gemma-3-270m:none:8:45:30"
  "llama7b_lora:llama-2-7b:none:16:150:120"
  "llama7b_qlora:llama-2-7b:4bit:16:120:80"
)
: > "$OUT/gpu_recipe_results.jsonl"
for run in "${RUNS[@]}"; do
  IFS=: read -r name arch quant micro budget allow <<< "$run"
  if [ "$quant" = 4bit ] && [ "$QLORA" = 0 ]; then
    echo "{\"run\": \"$name\", \"skipped\": \"bitsandbytes not importable\"}" | tee -a "$OUT/gpu_recipe_results.jsonl"
    continue
  fi
  if [ "$TINY" = 1 ]; then arch=$([ "${arch%%-*}" = llama ] && echo tiny-llama || echo tiny); budget=3; allow=10; fi
  left=$((TOTAL_S - SECONDS - allow))
  [ "$left" -lt "$budget" ] && budget=$left
  if [ "$budget" -lt 20 ] && [ "$TINY" = 0 ]; then
    echo "=== $name skipped: ${SECONDS}s used of TOTAL_S=$TOTAL_S"
    echo "{\"run\": \"$name\", \"skipped\": \"out of time (${SECONDS}s used)\"}" | tee -a "$OUT/gpu_recipe_results.jsonl"
    continue
  fi
  echo "=== $name: $arch quantization=$quant micro_batch=$micro budget=${budget}s (${SECONDS}s used)"
  timeout $((budget + allow + 120)) "$PYTHON" -m bench.bench_gpu_recipe run --lengths "$LENGTHS" --arch "$arch" \
    --quantization "$quant" --micro-batch "$micro" --budget-s "$budget" --workdir "$WORKDIR" \
    --out "$OUT/gpu_recipe_$name.json" > "$OUT/$name.stdout" 2> "$OUT/$name.log"
  rc=$?
  if [ "$rc" = 0 ]; then
    tail -1 "$OUT/$name.stdout" | sed "s/^{/{\"run\": \"$name\", /" | tee -a "$OUT/gpu_recipe_results.jsonl"
  else
    echo "{\"run\": \"$name\", \"error\": \"exit $rc, see $name.log\"}" | tee -a "$OUT/gpu_recipe_results.jsonl"
    tail -5 "$OUT/$name.log"
  fi
done
echo "=== done in ${SECONDS}s: $OUT/gpu_recipe_results.jsonl"
