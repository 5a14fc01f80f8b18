#!/usr/bin/env bash
# Smoke test of the accelerate configs for several GPUs (configs/accelerate/): each runs the real train stage on
# the built-in tiny model for 5 optimizer steps (a checkpoint at step 2), on every GPU of the machine, and prints
# whether it finished, its seconds and the peak memory nvidia-smi saw on the busiest GPU (all its processes).
#
#   bash bench/gpu_ddp_smoke.sh              # on a CUDA machine: ddp_gpu (LoRA, then QLoRA when bitsandbytes
#                                            # imports), fsdp_lora, zero3_lora (when deepspeed imports)
#   bash bench/gpu_ddp_smoke.sh --cpu        # the same path with ddp_cpu.yaml on 2 CPU processes
#   bash bench/gpu_ddp_smoke.sh --dry-run    # check the configs load, print the commands, run nothing
#
# Needs models/base and data/dataset (`dvc repro dataset base`, or carried over). Runs in $SMOKE_DIR (default: a
# new temporary folder) with links to them and a params.yaml of its own, so the repository's outputs stay as
# they are. On one GPU every config runs with --num_processes 1: FSDP then falls back to NO_SHARD, so only a
# machine with 2 or more GPUs tests the sharding itself.
set -uo pipefail
MODE=gpu
case "${1:-}" in
  --cpu) MODE=cpu ;;
  --dry-run) MODE=dry ;;
  "") ;;
  *) echo "usage: bash bench/gpu_ddp_smoke.sh [--cpu | --dry-run]" >&2; exit 2 ;;
esac
if [ "$MODE" = cpu ]; then
  PROCESSES=2
  RUNS=("ddp_cpu:none")
else
  PROCESSES=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  RUNS=("ddp_gpu:none" "ddp_gpu:4bit" "fsdp_lora:none" "zero3_lora:none")
  if [ "${PROCESSES:-0}" -lt 1 ]; then
    [ "$MODE" = gpu ] && { echo "no CUDA GPU (nvidia-smi lists none): use --cpu or --dry-run" >&2; exit 2; }
    PROCESSES=1
  fi
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${SMOKE_DIR:-$(mktemp -d -t gpu_ddp_smoke.XXXXXX)}
mkdir -p "$WORK/models" "$WORK/data"
ln -sfn "$REPO/models/base" "$WORK/models/base"
ln -sfn "$REPO/data/dataset" "$WORK/data/dataset"
python3 - "$REPO/params.yaml" "$WORK/params.yaml" <<'PY'
import sys, yaml
params = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
params["model"].update(name_or_path="models/base", gguf_file="")
params["train"].update(epochs=0.5, logging_steps=1, save_steps=2)  # the sample's 77 pairs: 5 steps
yaml.safe_dump(params, open(sys.argv[2], "w", encoding="utf-8"), sort_keys=False)
PY

[ "$MODE" = dry ] || printf '%-11s %-6s %-10s %7s %13s  %s\n' config quant finished seconds peak_gpu_mib log
for run in "${RUNS[@]}"; do
  config=${run%%:*}
  quant=${run##*:}
  python3 - "$WORK/params.yaml" "$WORK/params_$quant.yaml" "$quant" <<'PY'
import sys, yaml
params = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
params["train"]["quantization"] = sys.argv[3]
yaml.safe_dump(params, open(sys.argv[2], "w", encoding="utf-8"), sort_keys=False)
PY
  vars=(PIPELINE_PARAMS="params_$quant.yaml" PYTHONPATH="$REPO" TQDM_DISABLE=1)
  cmd=(accelerate launch --config_file "$REPO/configs/accelerate/$config.yaml" --num_processes "$PROCESSES"
    -m stages.train)
  if [ "$MODE" = dry ]; then
    python3 -c "import sys; from accelerate.commands.config.config_args import load_config_from_file as load
load(sys.argv[1])" "$REPO/configs/accelerate/$config.yaml" || { echo "$config.yaml does not load" >&2; exit 1; }
    echo "cd $WORK && ${vars[*]} ${cmd[*]}"
    continue
  fi
  if [ "$quant" = 4bit ] && ! python3 -c "import bitsandbytes" 2>/dev/null; then
    printf '%-11s %-6s %s\n' "$config" "$quant" "skipped: bitsandbytes does not import"; continue
  fi
  if [ "$config" = zero3_lora ] && ! python3 -c "import deepspeed" 2>/dev/null; then
    printf '%-11s %-6s %s\n' "$config" "$quant" "skipped: deepspeed does not import"; continue
  fi
  rm -rf "$WORK/models/adapter" "$WORK/models/checkpoints" "$WORK/dvclive"
  log="$WORK/${config}_$quant.log"
  mem="$WORK/${config}_$quant.mem"
  : > "$mem"
  sampler=
  if [ "$MODE" = gpu ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$mem" &
    sampler=$!
  fi
  start=$(date +%s)
  (cd "$WORK" && env "${vars[@]}" "${cmd[@]}") > "$log" 2>&1
  rc=$?
  seconds=$(( $(date +%s) - start ))
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  peak=$(sort -n "$mem" | tail -1)
  finished=no
  [ $rc -eq 0 ] && [ -f "$WORK/models/adapter/adapter_model.safetensors" ] && finished=yes
  printf '%-11s %-6s %-10s %7s %13s  %s\n' "$config" "$quant" "$finished" "$seconds" "${peak:-n/a}" "$log"
  [ "$finished" = yes ] || { echo "  exit $rc:"; grep -E "Error|Traceback" "$log" | tail -5; }
done
