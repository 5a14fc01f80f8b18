"""Stage `train`: LoRA (or QLoRA) fine-tuning of the base model on data/dataset -> models/adapter/.

The base is model.name_or_path, or model.gguf_file (a GGUF converted once into a cached trainable copy).
Every parameter problem (in model, lora and train, plus an empty split or an unknown target module) is
reported in one error before any weights are loaded. The splits are tokenized with `datasets`; with
train.packed each batch is packed into rows of at most train.max_seq_len tokens and the output layer runs only at
answer positions (stages/answer_loss.py: same loss, 2.4x the tokens/s on CPU with a 262k-token vocabulary). Loss
curves, on the `seen` and `unseen` eval sets, go to dvclive/ (DVC metrics + plots).
Several processes or GPUs: `torchrun --nproc_per_node N -m stages.train` or `accelerate launch --config_file
configs/accelerate/<config>.yaml -m stages.train` (docs/scaling.md). train.global_batch pairs make one optimizer
step whatever N is; only rank 0 writes the adapter, dvclive/ and the checkpoints' shared files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from stages.core.files import read_jsonl, sha256_file, stable_hash
from stages.core.params import ParamsError, load_sections, raise_problems
from stages.core.run import MissingInputError, require_input, run_main
from stages.model.answer_loss import PackCollator, supports_answer_only
from stages.model.card import base_record, model_card, sort_target_modules
from stages.model.finetune import (
    LoraParams,
    TrainConfig,
    TrainParams,
    encode_passages,
    encode_split,
    fsdp_launch,
    prepare_model,
    target_module_problems,
    trainer_class,
    training_arguments,
    warmup_and_total_steps,
)
from stages.model.loading import (
    ModelParams,
    ModelSource,
    ModelUnavailableError,
    PadCollator,
    linear_module_names,
    load_tokenizer,
    locate_model,
    quantization_problems,
)
from stages.model.presets import preset_overlays
from stages.model.prompt_format import passage_text
from stages.model.raft import BARE, DISTRACTOR, GOLD, RETRIEVED, training_prompts
from stages.model.rewrites import passage_rewrites
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from stages.records.pairs import SplitPair, by_eval_set
from stages.records.paths import (
    ADAPTER_BASE_FILE,
    ADAPTER_DIR,
    CHECKPOINT_ROOT,
    CHUNKS_FILE,
    EVAL_FILE,
    LIVE_DIR,
    TRAIN_FILE,
)
from stages.scoring.citations import chunk_act_name, document_acts
from stages.scoring.retrieval import BM25

log = logging.getLogger(__name__)


TIMING_SUFFIXES = ("runtime", "_per_second")  # Trainer log keys that measure the machine, not the model


def load_config(cuda: bool, path: Path | None = None, world_size: int = 1) -> tuple[TrainConfig, ModelSource]:
    """model/lora/train params, the batch split over `world_size` processes and the model's modules checked
    together; one ParamsError lists all problems."""
    parsed, problems = load_sections(
        {"model": ModelParams, "lora": LoraParams, "train": TrainParams},
        path=path,
        overlays=preset_overlays(path),
    )
    model_p, lora_p, train_p = parsed["model"], parsed["lora"], parsed["train"]
    if train_p is not None:
        problems += quantization_problems(train_p.quantization, cuda)
        problems += train_p.batch_problems(world_size)
    source = None
    if model_p is not None:
        try:
            source = locate_model(model_p.base)
        except ModelUnavailableError as e:
            problems.append(str(e))
    if source is not None and lora_p is not None:
        problems += target_module_problems(lora_p.target_modules, linear_module_names(source))
    raise_problems("cannot train", problems)
    assert source is not None
    return TrainConfig(model_p, lora_p, train_p), source


def training_passages(train_records: list[SplitPair], rewrites: int = 0, seed: int = 0) -> list[str]:
    """The texts of the chunks that training pairs come from (never an `unseen` chunk: none has a training pair),
    each followed by up to `rewrites` rewrites of it (stages/model/rewrites.py)."""
    wanted = {r.chunk_id for r in train_records}
    chunks = [from_dict(Chunk, c) for c in read_jsonl(require_input(CHUNKS_FILE, "chunk"))]
    acts = document_acts(chunks) if rewrites else {}
    out = []
    for c in chunks:
        if c.id in wanted:
            out.append(passage_text(c))
            if rewrites:
                out += passage_rewrites(c.text[c.overlap_chars :], chunk_act_name(c, acts), rewrites, seed)
    return out


def model_fingerprint(source: ModelSource) -> str:
    """Identity of the base model for the checkpoint key: a local folder's file hashes, else the Hub id."""
    folder = Path(source.path)
    if not folder.is_dir():
        return source.path
    files = sorted(f for f in folder.rglob("*") if f.is_file())
    # big shards (a local 7B) by name and size: hashing 13 GB at every start would cost minutes
    return stable_hash(
        [
            (str(f.relative_to(folder)), f.stat().st_size if f.stat().st_size > 2**28 else sha256_file(f))
            for f in files
        ]
    )


def last_complete_checkpoint(run_dir: Path) -> str | None:
    """The newest checkpoint-N of `run_dir` holding trainer_state.json, which the Trainer writes last: a run
    killed while saving leaves a newer folder without it (and the previous checkpoint still in place)."""
    done = [p for p in run_dir.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return str(max(done, key=lambda p: int(p.name.rpartition("-")[2]))) if done else None


def checkpoint_dir(cfg: TrainConfig, source: ModelSource) -> Path:
    """Where this exact run (same data, params and base model) keeps its resumable checkpoints."""
    key = stable_hash(cfg, sha256_file(TRAIN_FILE), sha256_file(EVAL_FILE), model_fingerprint(source))
    return CHECKPOINT_ROOT / f"run-{key}"


def dvclive_callback(world_rank: int, resume: bool = False) -> Any | None:
    """DVCLive logger for rank 0 only (None on the other ranks); it never edits dvc.yaml or saves experiments.

    None (with a warning) where dvclive cannot be imported, e.g. `torchrun -m stages.train` on a GPU node
    that has the training stack but not DVC: the adapter is still trained, only the curves are missing.
    """
    if world_rank != 0:
        return None
    from transformers.integrations import DVCLiveCallback

    try:
        from dvclive import Live
    except ImportError as e:
        log.warning("dvclive not importable (%s): training without loss curves in %s/", e, LIVE_DIR)
        return None

    class ResultsOnly(DVCLiveCallback):
        """Drops the Trainer's timings (train_runtime, eval_samples_per_second, ...) before DVCLive logs them:
        dvclive/ is a DVC metrics + plots output, and two identical runs must give an empty `dvc metrics diff`."""

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            results = {k: v for k, v in (logs or {}).items() if not k.endswith(TIMING_SUFFIXES)}
            super().on_log(args, state, control, logs=results, **kwargs)

    # dvcyaml=False: the metrics/plots are declared in our dvc.yaml; save_dvc_exp=False: under `dvc exp run`
    # DVC itself records the experiment, and a plain `dvc repro` must not create git refs.
    return ResultsOnly(live=Live(str(LIVE_DIR), save_dvc_exp=False, dvcyaml=False, resume=resume))


def main() -> None:
    import torch

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cfg, source = load_config(cuda, world_size=world)
    train_records = [from_dict(SplitPair, r) for r in read_jsonl(require_input(TRAIN_FILE, "dataset"))]
    eval_records = [from_dict(SplitPair, r) for r in read_jsonl(require_input(EVAL_FILE, "dataset"))]
    for path, records in ((TRAIN_FILE, train_records), (EVAL_FILE, eval_records)):
        if not records:
            raise MissingInputError(path, "dataset", what="holds no pairs")
    t = cfg.train
    micro, accumulation = t.batch_layout(world)
    log.info(
        "train: %s on %s, quantization=%s, lora r=%d, global batch %d = %d process(es) x %d pairs x %d accumulated",
        cfg.model.base,
        device,
        t.quantization,
        cfg.lora.r,
        t.global_batch,
        world,
        micro,
        accumulation,
    )

    tokenizer = load_tokenizer(source)
    prompts = None
    if t.retrieval_fraction > 0:
        chunks = [from_dict(Chunk, c) for c in read_jsonl(require_input(CHUNKS_FILE, "chunk"))]
        scorer = BM25([passage_text(c) for c in chunks]).scores
        prompts, kinds = training_prompts(
            train_records, chunks, scorer, t.retrieval_fraction, t.distractor_share, t.seed
        )
        log.info(
            "train: %d pairs asked with a chunk in the prompt (%d their own, %d another, %d refusals), %d bare",
            len(train_records) - kinds[BARE],
            kinds[GOLD],
            kinds[DISTRACTOR],
            kinds[RETRIEVED],
            kinds[BARE],
        )
    train_rows, train_skipped = encode_split(tokenizer, train_records, t.max_seq_len, prompts)
    n_pairs, n_passages = len(train_rows), 0
    if t.passages:
        from datasets import concatenate_datasets

        passages = encode_passages(
            tokenizer, training_passages(train_records, t.passage_rewrites, t.seed), t.max_seq_len
        )
        if passages is not None:
            log.info("train: + %d passage windows from the training pairs' chunks", len(passages))
            train_rows = concatenate_datasets([train_rows, passages])
            n_passages = len(passages)
    eval_rows, eval_skipped = {}, 0
    for name, rows in by_eval_set(eval_records).items():
        encoded, skipped = encode_split(tokenizer, rows, t.max_seq_len)
        eval_skipped += skipped
        if len(encoded):
            eval_rows[name] = encoded
    if train_skipped or eval_skipped:
        log.warning(
            "skipped %d train / %d eval pairs longer than train.max_seq_len=%d",
            train_skipped,
            eval_skipped,
            t.max_seq_len,
        )
    if not len(train_rows) or not eval_rows:
        raise ParamsError(f"cannot train: no pair fits in train.max_seq_len={t.max_seq_len}; raise it")

    warmup, total = warmup_and_total_steps(len(train_rows), t)
    if warmup >= total:
        log.warning(
            "warmup (%d steps) >= total optimizer steps (%d): the learning rate never reaches train.learning_rate; "
            "lower train.warmup_steps / warmup_ratio",
            warmup,
            total,
        )
    model = prepare_model(source, cfg, device)
    trainable, total_params = model.get_nb_trainable_parameters()
    log.info(
        "LoRA: %d trainable of %d parameters (%.2f%%)",
        trainable,
        total_params,
        100 * trainable / total_params,
    )
    ckpt_dir = checkpoint_dir(cfg, source)
    last_checkpoint = last_complete_checkpoint(ckpt_dir)
    if last_checkpoint:
        log.info("resuming the interrupted run from %s", last_checkpoint)
    answer_only = t.packed and not fsdp_launch()
    if t.packed and not answer_only:
        log.warning(
            "FSDP: training with the model's own loss over padded batches (the same loss): the packed path "
            "calls the decoder and output layer outside FSDP's root unit, whose weights stay sharded there"
        )
    packed = answer_only and supports_answer_only(model)
    trainer = trainer_class(answer_only, model)(
        model=model,
        args=training_arguments(t, device, warmup, output_dir=str(ckpt_dir), world_size=world),
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        data_collator=PackCollator(t.max_seq_len, tokenizer.pad_token_id)
        if packed
        else PadCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=[cb for cb in [dvclive_callback(rank, resume=bool(last_checkpoint))] if cb is not None],
    )
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    logged: dict[str, float] = {}  # each eval set logs its own entry: keep the latest value of every key
    for entry in trainer.state.log_history:
        logged.update(entry)
    if not any(f"eval_{name}_loss" in logged for name in eval_rows):
        logged.update(trainer.evaluate())
    eval_loss = {name: logged[f"eval_{name}_loss"] for name in eval_rows if f"eval_{name}_loss" in logged}
    # every rank takes part: FSDP and DeepSpeed ZeRO-3 gather the sharded weights (DDP: the weights as they are)
    state_dict = trainer.accelerator.get_state_dict(trainer.model_wrapped)
    if trainer.is_world_process_zero():
        ADAPTER_DIR.mkdir(parents=True, exist_ok=True)
        for stale in ADAPTER_DIR.iterdir():  # a manual rerun must not leave files of an older adapter
            if stale.is_file():
                stale.unlink()
        base = base_record(cfg, source)
        model.peft_config["default"].base_model_name_or_path = base["base"]  # ask finds it from here
        model.save_pretrained(ADAPTER_DIR, state_dict=state_dict, safe_serialization=True)
        sort_target_modules(ADAPTER_DIR / "adapter_config.json")
        tokenizer.save_pretrained(ADAPTER_DIR)
        (ADAPTER_DIR / ADAPTER_BASE_FILE).write_text(json.dumps(base, indent=2) + "\n", encoding="utf-8")
        stats = {
            "train_pairs": n_pairs,
            "passage_windows": n_passages,
            "eval_pairs": sum(len(rows) for rows in eval_rows.values()),
            "skipped_too_long": train_skipped + eval_skipped,
            "train_sha256": sha256_file(TRAIN_FILE),
            "train_loss": result.training_loss,
            "eval_loss": eval_loss,
            "gguf_sha256": base["gguf_sha256"],
            "gguf_file": base["gguf_file"],
        }
        (ADAPTER_DIR / "README.md").write_text(model_card(cfg, stats), encoding="utf-8")
        shutil.rmtree(CHECKPOINT_ROOT, ignore_errors=True)  # finished: this run's and any stale checkpoints
        log.info(
            "train: %d steps, train loss %.4f, eval loss %s -> %s",
            total,
            result.training_loss,
            ", ".join(f"{name} {loss:.4f}" for name, loss in eval_loss.items()),
            ADAPTER_DIR,
        )
    trainer.accelerator.wait_for_everyone()  # the other ranks end once the adapter is written


if __name__ == "__main__":
    run_main(main)
