"""Every path one stage writes and another reads, relative to the repository root (dvc.yaml's wdir)."""

from __future__ import annotations

from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Paths, relative to the repository root (every stage runs there: dvc.yaml's wdir)
# ---------------------------------------------------------------------------------------------
OCR_DIR = Path("data/ocr")  # ocr -> clean: <doc>.json, one page record per page (stages/records/pages.py)
OCR_CACHE_DIR = Path("data/cache/ocr")  # ocr's own per-document cache (persist: true)
CLEAN_DIR = Path("data/clean")  # clean -> chunk, base: <doc>.txt, one paragraph per line
CHUNKS_FILE = Path("data/chunks/chunks.jsonl")  # chunk -> synth: one Chunk per line
QA_FILE = Path("data/qa/qa.jsonl")  # synth -> dataset: one QAPair per line
REJECTED_FILE = Path("data/qa/rejected.jsonl")  # synth: every pair or chunk it dropped, with the reason
JUDGE_CACHE_FILE = Path("data/cache/judge/grades.jsonl")  # evaluate's LLM-judge grades (persist: true)
SYNTH_CACHE_DIR = Path(
    "data/cache/synth"
)  # synth's own server-reply cache, <2 hex>.jsonl shards (persist: true)
SYNTH_CACHE_FILE = (
    SYNTH_CACHE_DIR / "replies.jsonl"
)  # the single-file cache, moved into the shards when found
DATASET_DIR = Path("data/dataset")
TRAIN_FILE = DATASET_DIR / "train.jsonl"  # dataset -> train: QAPair lines
EVAL_FILE = DATASET_DIR / "eval.jsonl"  # dataset -> train, evaluate: QAPair lines
BASE_MODEL_DIR = Path("models/base")  # base -> train, evaluate: the built-in model (or a marker file)
ADAPTER_DIR = Path("models/adapter")  # train -> evaluate, ask: the LoRA adapter (safetensors)
ADAPTER_BASE_FILE = "base_model.json"  # in an adapter folder: its base as params named it, a GGUF's sha256
CHECKPOINT_ROOT = Path("models/checkpoints")  # train's resumable checkpoints (not a DVC output)
LIVE_DIR = Path("dvclive")  # train's loss curves (DVC metrics + plots)
PREDICTIONS_FILE = Path("data/eval/predictions.jsonl")  # evaluate: answers beside the references
PREDICTIONS_REPORT = Path("data/eval/predictions.md")  # evaluate: the same, for reading
EVAL_SCORES_FILE = Path("data/eval/scores.csv")  # evaluate: per set and system, the DVC bar plot's data
METRICS_DIR = Path("metrics")  # metrics/<stage>.json: results only, what `dvc metrics diff` compares
OCR_QUALITY_PLOT = METRICS_DIR / "ocr_quality.json"  # ocr: one row per document (a DVC plot)
TIMINGS_DIR = METRICS_DIR / "timings"  # metrics/timings/<stage>.json: seconds, rates, cache hits (untracked)


def metrics_file(stage: str) -> Path:
    """metrics/<stage>.json."""
    return METRICS_DIR / f"{stage}.json"
