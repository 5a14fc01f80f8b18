"""Stage `train`: LoRA (or QLoRA) fine-tuning of the base model on data/dataset -> models/adapter/.

The base is model.name_or_path, or model.gguf_file (a GGUF converted once into a cached trainable copy).
Every parameter problem (in model, lora and train, plus an empty split or an unknown target module) is
reported in one error before any weights are loaded. The splits are tokenized with `datasets`; with
train.packed each batch is packed into rows of at most train.max_seq_len tokens and the output layer runs only at
answer positions (stages/answer_loss.py: same loss, 2.4x the tokens/s on CPU with a 262k-token vocabulary). Loss
curves, on the `seen` and `unseen` eval sets, go to dvclive/ (DVC metrics + plots).
Multi-GPU: `accelerate launch -m stages.train` or `torchrun --nproc_per_node N -m stages.train`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stages.core.files import read_jsonl, run_main, sha256_file, stable_hash
from stages.core.params import ParamsError, load_sections, raise_problems
from stages.core.run import MissingInputError, require_input
from stages.model.answer_loss import PackCollator, answer_only_loss, supports_answer_only
from stages.model.gguf_io import is_gguf_spec, read_source
from stages.model.loading import (
    ModelParams,
    ModelSource,
    ModelUnavailableError,
    PadCollator,
    TrainSharedParams,
    encode_example,
    linear_module_names,
    load_causal_lm,
    load_tokenizer,
    locate_model,
    pick_dtype,
    quantization_problems,
)
from stages.model.prompt_format import passage_text
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

log = logging.getLogger(__name__)

TIMING_SUFFIXES = ("runtime", "_per_second")  # Trainer log keys that measure the machine, not the model
# CHECKPOINT_ROOT: Trainer checkpoints of an unfinished run, one folder per run key (data + params + base
# model), so a killed run resumes where it stopped. Not a DVC output (DVC would delete it before the rerun);
# removed on success.


@dataclass(frozen=True)
class LoraParams:
    r: int = 16  # adapter rank
    alpha: float = 32  # scaling = alpha / r
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")  # as in the original work; or ["all-linear"]

    def problems(self) -> list[str]:
        out = []
        if self.r <= 0:
            out.append(f"lora.r must be > 0, got {self.r}")
        if self.alpha <= 0:
            out.append(f"lora.alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.dropout < 1.0:
            out.append(f"lora.dropout must be in [0, 1), got {self.dropout}")
        if not self.target_modules:
            out.append("lora.target_modules must name at least one module (or all-linear)")
        return out

    def peft_targets(self) -> str | list[str]:
        return "all-linear" if list(self.target_modules) == ["all-linear"] else list(self.target_modules)


@dataclass(frozen=True)
class TrainParams(TrainSharedParams):  # + max_seq_len and quantization, shared with evaluate
    epochs: float = 3
    learning_rate: float = 2e-4
    batch_size: int = 8  # per device
    grad_accum: int = 1
    warmup_ratio: float = 0.03  # fraction of the total optimizer steps
    warmup_steps: int = 0  # absolute count; > 0 overrides warmup_ratio (the original work used 500)
    weight_decay: float = 0.01
    seed: int = 13
    gradient_checkpointing: bool | str = "auto"  # auto = on for CUDA, off on CPU
    logging_steps: int = 5  # optimizer steps between loss points in dvclive/plots
    save_steps: int = 0  # checkpoint every N optimizer steps (resume a killed run); 0 = each epoch's end
    # pack each batch into rows of <= max_seq_len tokens (little padding) and compute logits only at answer
    # positions: the same loss, 2.4x the tokens/s on CPU with gemma-3-270m (docs/benchmarks.md); false = padded
    # batches, the model's own loss
    packed: bool = True
    # also train on the text of the chunks the training pairs come from (plain language modelling of the
    # passage), so each fact is learnt in its context and not only as the answer to one wording
    passages: bool = False

    def problems(self) -> list[str]:
        out = super().problems()
        if self.save_steps < 0:
            out.append(f"train.save_steps must be >= 0, got {self.save_steps}")
        for name in ("batch_size", "grad_accum", "logging_steps"):
            if getattr(self, name) <= 0:
                out.append(f"train.{name} must be > 0, got {getattr(self, name)}")
        if self.epochs <= 0:
            out.append(f"train.epochs must be > 0, got {self.epochs}")
        if self.learning_rate <= 0:
            out.append(f"train.learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            out.append(f"train.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.warmup_steps < 0:
            out.append(f"train.warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.weight_decay < 0:
            out.append(f"train.weight_decay must be >= 0, got {self.weight_decay}")
        if self.gradient_checkpointing not in ("auto", True, False):
            out.append(
                f"train.gradient_checkpointing must be auto, true or false, got {self.gradient_checkpointing!r}"
            )
        return out


@dataclass(frozen=True)
class TrainConfig:
    model: ModelParams
    lora: LoraParams
    train: TrainParams


def target_module_problems(targets: tuple[str, ...], available: set[str]) -> list[str]:
    if list(targets) == ["all-linear"]:
        return []
    unknown = sorted(set(targets) - available)
    if not unknown:
        return []
    return [
        f"lora.target_modules {unknown} not in the model (its linear layers: {sorted(available)}, or all-linear)"
    ]


def load_config(cuda: bool, path: Path | None = None) -> tuple[TrainConfig, ModelSource]:
    """model/lora/train params and the model's modules checked together; one ParamsError lists all problems."""
    parsed, problems = load_sections(
        {"model": ModelParams, "lora": LoraParams, "train": TrainParams}, path=path
    )
    model_p, lora_p, train_p = parsed["model"], parsed["lora"], parsed["train"]
    if train_p is not None:
        problems += quantization_problems(train_p.quantization, cuda)
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


def warmup_and_total_steps(n_examples: int, t: TrainParams, world_size: int) -> tuple[int, int]:
    """(warmup steps, total optimizer steps) as the Trainer will count them."""
    per_epoch = math.ceil(math.ceil(n_examples / (t.batch_size * world_size)) / t.grad_accum)
    total = max(1, math.ceil(per_epoch * t.epochs))
    warmup = t.warmup_steps if t.warmup_steps > 0 else math.ceil(total * t.warmup_ratio)
    return warmup, total


def encode_passages(tokenizer: Any, texts: list[str], max_len: int) -> Any:
    """Passages as language-modelling examples (every token a label), in windows of at most max_len tokens."""
    from datasets import Dataset

    rows = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        body = max_len - 2  # BOS ... EOS
        for start in range(0, len(ids), body):
            window = [tokenizer.bos_token_id, *ids[start : start + body], tokenizer.eos_token_id]
            window = [i for i in window if i is not None]
            rows.append({"input_ids": window, "labels": window, "length": len(window)})
    return Dataset.from_list(rows) if rows else None


def training_passages(train_records: list[SplitPair]) -> list[str]:
    """The texts of the chunks that training pairs come from (never an `unseen` chunk: none has a training pair)."""
    wanted = {r.chunk_id for r in train_records}
    chunks = [from_dict(Chunk, c) for c in read_jsonl(require_input(CHUNKS_FILE, "chunk"))]
    return [passage_text(c) for c in chunks if c.id in wanted]


def encode_split(tokenizer: Any, records: list[SplitPair], max_len: int) -> tuple[Any, int]:
    """A `datasets.Dataset` of input_ids/labels (+ length), and how many pairs were too long for max_seq_len."""
    from datasets import Dataset

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        example = encode_example(tokenizer, row["question"], row["answer"], max_len)
        ids, labels = (example["input_ids"], example["labels"]) if example else ([], [])
        return {"input_ids": ids, "labels": labels, "length": len(ids)}

    raw = Dataset.from_list([{"question": r.question, "answer": r.answer} for r in records])
    # an explicit fingerprint: hashing the closure (a 262k-token tokenizer inside) would take ~17 s
    key = stable_hash(
        [(r.question, r.answer) for r in records], tokenizer.name_or_path, len(tokenizer), max_len
    )
    encoded = raw.map(encode, remove_columns=raw.column_names, new_fingerprint=key, desc="tokenize")
    kept = encoded.filter(lambda row: row["length"] > 0, new_fingerprint=key + "-fits")
    return kept, len(encoded) - len(kept)


def attach_lora(model: Any, lora: LoraParams, seed: int) -> Any:
    """`model` wrapped with a fresh LoRA adapter (A matrices seeded)."""
    from peft import LoraConfig, get_peft_model
    from transformers import set_seed

    set_seed(seed)
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.peft_targets(),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def prepare_model(source: ModelSource, cfg: TrainConfig, device: str) -> Any:
    """Base model (float32 on CPU, bf16/fp16 or NF4 on GPU) wrapped with a fresh LoRA adapter."""
    from peft import prepare_model_for_kbit_training

    t = cfg.train
    model = load_causal_lm(source, pick_dtype(device), t.quantization)
    checkpointing = device == "cuda" if t.gradient_checkpointing == "auto" else bool(t.gradient_checkpointing)
    if t.quantization == "4bit":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
    elif checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still need input grads
    model.config.use_cache = False
    return attach_lora(model, cfg.lora, t.seed)


def training_arguments(t: TrainParams, device: str, warmup: int, output_dir: str) -> Any:
    """TrainingArguments for transformers 5 (warmup_steps takes the count; report_to set explicitly)."""
    import torch
    from transformers import TrainingArguments

    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=t.epochs,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        warmup_steps=warmup,
        weight_decay=t.weight_decay,
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="steps" if t.save_steps else "epoch",  # checkpoints for resuming a killed run
        save_steps=t.save_steps or 500,
        save_total_limit=1,  # only the latest: LoRA weights + optimizer state, small even for a 7B base
        logging_strategy="steps",
        logging_steps=t.logging_steps,
        report_to="none",  # DVCLive is added explicitly as a callback
        seed=t.seed,
        data_seed=t.seed,
        bf16=bf16,
        fp16=device == "cuda" and not bf16,
        remove_unused_columns=False,
        use_cpu=device != "cuda",  # also what makes torchrun on CPU run DDP (gloo) instead of N copies
        disable_tqdm=False,
        ddp_find_unused_parameters=False,
        prediction_loss_only=True,  # eval loss only: gathering logits would hold eval pairs x length x vocab floats
    )


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


def checkpoint_dir(cfg: TrainConfig, source: ModelSource) -> Path:
    """Where this exact run (same data, params and base model) keeps its resumable checkpoints."""
    key = stable_hash(cfg, sha256_file(TRAIN_FILE), sha256_file(EVAL_FILE), model_fingerprint(source))
    return CHECKPOINT_ROOT / f"run-{key}"


def dvclive_callback(world_rank: int, resume: bool = False) -> Any | None:
    """DVCLive logger for rank 0 only; it never edits dvc.yaml or saves experiments by itself.

    None (with a warning) where dvclive cannot be imported, e.g. `torchrun -m stages.train` on a GPU node
    that has the training stack but not DVC: the adapter is still trained, only the curves are missing.
    """
    from transformers.integrations import DVCLiveCallback

    if world_rank != 0:
        return DVCLiveCallback()
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


def trainer_class(packed: bool, model: Any) -> Any:
    """The Trainer, or (train.packed) one whose loss computes logits only at answer positions."""
    from transformers import Trainer

    if not packed:
        return Trainer
    if not supports_answer_only(model):
        log.warning("%s scales its logits: training with the model's own loss", type(model).__name__)
        return Trainer

    class AnswerOnlyTrainer(Trainer):
        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            loss = answer_only_loss(model, inputs, num_items_in_batch)
            return (loss, {"loss": loss}) if return_outputs else loss

    return AnswerOnlyTrainer


def base_record(cfg: TrainConfig, source: ModelSource) -> dict[str, Any]:
    """What the adapter was trained on: the base as params.yaml names it, and a GGUF base's content hash."""
    gguf = read_source(Path(source.path)) if is_gguf_spec(cfg.model.base) else None
    return {"base": cfg.model.base, "gguf_sha256": gguf.sha256 if gguf else None}


def sort_target_modules(config_file: Path) -> None:
    """peft writes target_modules from a set, in an order that changes with Python's string hashing from run
    to run; sorted, two identical trainings give byte-identical adapter folders (DVC sees no change)."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the adapter, for its model card (reproducing it needs the same)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "peft", "accelerate", "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def model_card(cfg: TrainConfig, stats: dict[str, Any]) -> str:
    """Short README.md for models/adapter/."""
    lines = [
        "---",
        "library_name: peft",
        f"base_model: {cfg.model.base}",
        "language: [pt]",
        "tags: [lora, legislation, portuguese]",
        "---",
        "# LoRA adapter: Portuguese legislation Q&A",
        "",
        f"- Base model: `{cfg.model.base}`"
        + (" (the pipeline's built-in tiny Llama)" if cfg.model.base == "models/base" else "")
        + (f" (GGUF, sha256 {stats['gguf_sha256'][:12]})" if stats.get("gguf_sha256") else ""),
        f"- Data: {stats['train_pairs']} training pairs / {stats['eval_pairs']} evaluation pairs from "
        f"`{TRAIN_FILE}` (sha256 {stats['train_sha256'][:12]}), synthesized from the cleaned legislation corpus",
        f"  ({stats['skipped_too_long']} pairs longer than train.max_seq_len skipped)"
        + (
            f", + {stats['passage_windows']} passage windows of their chunks"
            if stats.get("passage_windows")
            else ""
        ),
        f"- LoRA: {json.dumps(asdict(cfg.lora), ensure_ascii=False)}",
        f"- Training: {json.dumps(asdict(cfg.train), ensure_ascii=False)}",
        f"- Software: {', '.join(f'{name} {version}' for name, version in library_versions().items())}",
        f"- Final metrics: train loss {stats.get('train_loss', float('nan')):.4f}, eval loss "
        + ", ".join(f"{name} {loss:.4f}" for name, loss in stats.get("eval_loss", {}).items())
        + "; answer-level scores in `metrics/eval.json`",
        "",
        "Load with `PeftModel.from_pretrained(base, 'models/adapter')` or `python -m stages.ask \"pergunta\"`;",
        "`python -m stages.ask --merge-to DIR` writes a merged 16-bit model, `--merge-to FILE.gguf` a GGUF file.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    import torch
    from transformers.trainer_utils import get_last_checkpoint

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    cfg, source = load_config(cuda)
    train_records = [from_dict(SplitPair, r) for r in read_jsonl(require_input(TRAIN_FILE, "dataset"))]
    eval_records = [from_dict(SplitPair, r) for r in read_jsonl(require_input(EVAL_FILE, "dataset"))]
    for path, records in ((TRAIN_FILE, train_records), (EVAL_FILE, eval_records)):
        if not records:
            raise MissingInputError(path, "dataset", what="holds no pairs")
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    t = cfg.train
    log.info(
        "train: %s on %s (x%d), quantization=%s, lora r=%d",
        cfg.model.base,
        device,
        world,
        t.quantization,
        cfg.lora.r,
    )

    tokenizer = load_tokenizer(source)
    train_rows, train_skipped = encode_split(tokenizer, train_records, t.max_seq_len)
    n_pairs, n_passages = len(train_rows), 0
    if t.passages:
        from datasets import concatenate_datasets

        passages = encode_passages(tokenizer, training_passages(train_records), t.max_seq_len)
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

    warmup, total = warmup_and_total_steps(len(train_rows), t, world)
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
    last_checkpoint = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if last_checkpoint:
        log.info("resuming the interrupted run from %s", last_checkpoint)
    packed = t.packed and supports_answer_only(model)
    trainer = trainer_class(t.packed, model)(
        model=model,
        args=training_arguments(t, device, warmup, output_dir=str(ckpt_dir)),
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
    if trainer.is_world_process_zero():
        ADAPTER_DIR.mkdir(parents=True, exist_ok=True)
        for stale in ADAPTER_DIR.iterdir():  # a manual rerun must not leave files of an older adapter
            if stale.is_file():
                stale.unlink()
        base = base_record(cfg, source)
        model.peft_config["default"].base_model_name_or_path = base["base"]  # ask finds it from here
        model.save_pretrained(ADAPTER_DIR, safe_serialization=True)
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


if __name__ == "__main__":
    run_main(main)
