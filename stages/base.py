"""Stage `base`: the built-in tiny Llama, built from the cleaned corpus -> models/base/.

A byte-level BPE tokenizer (with a chat template) trained on data/clean/*.txt and a small
LlamaForCausalLM pretrained briefly on the same text, so that the pipeline and its tests run offline on a
CPU in minutes. It is a small domain LM, not a useful assistant: set model.name_or_path to a real model
(e.g. sharpbai/Llama-2-7b-hf) for that. When model.name_or_path is not models/base the stage only writes a
small marker file, so a Hub model never waits on (or reruns because of) the built-in one.

With model.gguf_file set, the stage converts that GGUF into a trainable copy once (cached by the file's
sha256, see stages/model/gguf_io.py) and writes a marker naming the file and its hash: a different file, or the
same path with new contents after `dvc repro -f base`, changes models/base and so reruns train.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from stages.core.files import atomic_write_text, write_json, write_timings
from stages.core.params import load_sections, raise_problems
from stages.core.run import require_input, run_main
from stages.model.gguf_io import GgufError, ensure_converted
from stages.model.loading import ModelParams
from stages.model.presets import preset_overlays
from stages.model.tiny_llama import BaseParams, build_base
from stages.records.paths import BASE_MODEL_DIR, metrics_file

log = logging.getLogger(__name__)


def write_marker(text: str) -> None:
    """models/base holds only NOT_BUILT.txt: a valid, tiny, stable output, so train's dependency on it
    changes (and reruns train) only when the text does."""
    for stale in BASE_MODEL_DIR.glob("*"):
        if stale.is_file():
            stale.unlink()
    atomic_write_text(BASE_MODEL_DIR / "NOT_BUILT.txt", text)


def convert_gguf_base(spec: str) -> None:
    """Convert (or find converted) the GGUF base; the marker names its content hash, not the machine's paths."""
    started = time.perf_counter()
    try:
        folder, source = ensure_converted(spec)
    except GgufError as e:
        raise_problems("cannot use model.gguf_file", [str(e)])
        return
    write_marker(
        f"model.gguf_file is {spec} (architecture {source.architecture}, sha256 {source.sha256}): the built-in "
        "model was not built; train, evaluate and ask load the converted copy.\n"
    )
    write_json(
        metrics_file("base"),
        {"built": False, "gguf_architecture": source.architecture, "gguf_sha256": source.sha256},
    )
    write_timings("base", {"gguf_ready_s": round(time.perf_counter() - started, 2)})
    log.info("base: %s (%s) ready in %s", spec, source.architecture, folder)


def main() -> None:
    parsed, problems = load_sections({"model": ModelParams, "base": BaseParams}, overlays=preset_overlays())
    raise_problems("cannot build the base model", problems)
    model_p, p = parsed["model"], parsed["base"]
    if model_p.gguf_file.strip():
        convert_gguf_base(model_p.gguf_file)
        return
    if model_p.name_or_path.rstrip("/") != str(BASE_MODEL_DIR):
        write_marker(f"model.name_or_path is {model_p.name_or_path}: the built-in model was not built.\n")
        write_json(metrics_file("base"), {"built": False})
        log.info("base: skipped (model.name_or_path = %s)", model_p.name_or_path)
        return
    require_input(Path(p.corpus_dir), "clean")
    log.info("base: building %s from %s", BASE_MODEL_DIR, p.corpus_dir)
    summary = build_base(p, BASE_MODEL_DIR)
    write_json(metrics_file("base"), {"built": True, **summary})
    log.info(
        "base: %d params, %d corpus tokens, loss %.3f -> %.3f",
        summary["parameters"],
        summary["corpus_tokens"],
        summary["loss_first10"],
        summary["loss_last10"],
    )


if __name__ == "__main__":
    run_main(main)
