#!/usr/bin/env bash
# GPU check of the real stages (train/evaluate/ask) on the built-in model: LoRA bf16, then QLoRA 4-bit.
set -uo pipefail
[ -d "${WHEELS:-.carry}" ] && python3 -m pip install --no-deps -q "${WHEELS:-.carry}"/*.whl 2>&1 | grep -v -i warning | tail -3
python3 -c "import bitsandbytes; print(bitsandbytes.__version__)"
for q in none 4bit; do
  python3 - "$q" <<'PY'
import sys, yaml
p = yaml.safe_load(open("params.yaml"))
p["train"]["quantization"] = sys.argv[1]
yaml.safe_dump(p, open(f"/tmp/params_{sys.argv[1]}.yaml", "w"))
PY
  export PIPELINE_PARAMS=/tmp/params_$q.yaml
  echo "=== quantization=$q"
  python3 -m stages.train 2>&1 | grep -v -i "warn" | grep -E "INFO|ERROR|Error|error|Traceback|bf16|fp16|cuda" | tail -15
  cp dvclive/metrics.json ${OUT:-/tmp}/dvclive_metrics_$q.json 2>/dev/null
  cp models/adapter/README.md ${OUT:-/tmp}/model_card_$q.md 2>/dev/null
  python3 -m stages.evaluate 2>&1 | grep -E "INFO|ERROR|Traceback|Error" | tail -5
  cp metrics/eval.json ${OUT:-/tmp}/eval_$q.json
done
unset PIPELINE_PARAMS
python3 -m stages.ask "Qual o prazo para pedir revisão da nota?" 2>&1 | tail -3
python3 -m stages.ask --merge-to /tmp/merged 2>&1 | tail -3
python3 -c "
import json, torch; from safetensors import safe_open
f = safe_open('/tmp/merged/model.safetensors', 'pt'); k = next(iter(f.keys())); print('merged dtype', f.get_tensor(k).dtype, 'keys', len(list(f.keys())))"
ls -la /tmp/merged
