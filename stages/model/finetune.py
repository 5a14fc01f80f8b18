"""LoRA fine-tuning with peft and the transformers Trainer: params, encoding, the model, the Trainer's arguments."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any

from stages.core.files import stable_hash
from stages.model.answer_loss import answer_only_loss, supports_answer_only
from stages.model.loading import (
    NO_LIMIT,
    ModelParams,
    ModelSource,
    TrainSharedParams,
    encode_example,
    load_causal_lm,
    pick_dtype,
)
from stages.records.pairs import SplitPair

log = logging.getLogger(__name__)


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
    # pairs per optimizer step over all processes: the number of processes (GPUs) changes no result, only how
    # the batch is split; gradient accumulation steps = global_batch / (micro_batch x processes)
    global_batch: int = 8
    # pairs per process per forward pass: memory and speed only; 0 = global_batch / processes
    micro_batch: int = 0
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
    # share of the training pairs asked with a chunk in the prompt, as adapter_retrieval and `ask --retrieve` ask
    # (stages/model/raft.py): their own chunk, or for `distractor_share` of them another one; 0 = none
    retrieval_fraction: float = 0.0
    distractor_share: float = 0.2
    # with passages: this many rewrites of each chunk too, the act named at every article and the order of its
    # paragraphs varied (stages/model/rewrites.py); 0 = the chunks as they are
    passage_rewrites: int = 0

    def problems(self) -> list[str]:
        out = super().problems()
        if self.passage_rewrites < 0:
            out.append(f"train.passage_rewrites must be >= 0, got {self.passage_rewrites}")
        for name in ("retrieval_fraction", "distractor_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                out.append(f"train.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.save_steps < 0:
            out.append(f"train.save_steps must be >= 0, got {self.save_steps}")
        for name in ("global_batch", "logging_steps"):
            if getattr(self, name) <= 0:
                out.append(f"train.{name} must be > 0, got {getattr(self, name)}")
        if self.micro_batch < 0:
            out.append(
                f"train.micro_batch must be >= 0 (0 = global_batch / processes), got {self.micro_batch}"
            )
        elif self.micro_batch and self.global_batch > 0 and self.global_batch % self.micro_batch:
            out.append(f"train.global_batch ({self.global_batch}) must be a multiple of train.micro_batch")
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

    def batch_problems(self, world_size: int) -> list[str]:
        """Problems splitting global_batch into `world_size` processes x micro_batch pairs x accumulation steps."""
        g, m = self.global_batch, self.micro_batch
        if g <= 0 or m < 0:
            return []  # already reported by problems()
        if g % world_size:
            return [
                f"train.global_batch ({g}) must be a multiple of the number of processes ({world_size}), "
                f"e.g. {world_size * -(-g // world_size)}"
            ]
        per_process = g // world_size
        if m and per_process % m:
            fits = max(d for d in range(1, m + 1) if per_process % d == 0)
            return [
                f"train.global_batch ({g}) must be a multiple of train.micro_batch ({m}) x {world_size} processes "
                f"= {m * world_size} (gradient accumulation steps = global_batch / (micro_batch x processes)); "
                f"train.micro_batch: {fits} fits"
            ]
        return []

    def batch_layout(self, world_size: int) -> tuple[int, int]:
        """(pairs per process per forward pass, gradient accumulation steps) on `world_size` processes."""
        per_process = self.global_batch // world_size
        micro = self.micro_batch or per_process
        return micro, per_process // micro


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


def warmup_and_total_steps(n_examples: int, t: TrainParams) -> tuple[int, int]:
    """(warmup steps, total optimizer steps) as the Trainer will count them, on any number of processes."""
    # the Trainer's ceil(ceil(ceil(n / micro) / processes) / accumulation) is this one ceiling
    per_epoch = math.ceil(n_examples / t.global_batch)
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


def encode_split(
    tokenizer: Any, records: list[SplitPair], max_len: int, prompts: list[str] | None = None
) -> tuple[Any, int]:
    """A `datasets.Dataset` of input_ids/labels (+ length), and how many pairs were too long for max_seq_len.
    `prompts` replaces the questions (raft.training_prompts); a prompt holding a chunk is not held to max_len,
    as evaluation's retrieval prompts are not: max_len bounds the pair, the chunk comes on top."""
    from datasets import Dataset

    prompts = prompts if prompts is not None else [r.question for r in records]

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        limit = max_len if row["bare"] else NO_LIMIT
        example = encode_example(tokenizer, row["prompt"], row["answer"], limit)
        ids, labels = (example["input_ids"], example["labels"]) if example else ([], [])
        return {"input_ids": ids, "labels": labels, "length": len(ids)}

    raw = Dataset.from_list(
        [
            {"prompt": q, "answer": r.answer, "bare": q == r.question}
            for q, r in zip(prompts, records, strict=True)
        ]
    )
    # an explicit fingerprint: hashing the closure (a 262k-token tokenizer inside) would take ~17 s
    key = stable_hash(
        [(q, r.answer) for q, r in zip(prompts, records, strict=True)],
        tokenizer.name_or_path,
        len(tokenizer),
        max_len,
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


def training_arguments(t: TrainParams, device: str, warmup: int, output_dir: str, world_size: int = 1) -> Any:
    """TrainingArguments for transformers 5 (warmup_steps takes the count; report_to set explicitly).

    The batch is split by `TrainParams.batch_layout`; the Trainer's sampler (accelerate's, seeded with
    data_seed) draws one permutation per epoch on every process and deals its micro batches round-robin, so
    optimizer step k sees the same global_batch pairs on 1 process with accumulation as on N processes.
    """
    import torch
    from transformers import TrainingArguments

    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    micro, accumulation = t.batch_layout(world_size)
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=t.epochs,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro,
        gradient_accumulation_steps=accumulation,
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


def fsdp_launch() -> bool:
    """True in a process started by `accelerate launch` with an FSDP config (configs/accelerate/fsdp_lora.yaml)."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


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
            processes = self.accelerator.num_processes
            if num_items_in_batch is not None and self.args.average_tokens_across_devices and processes > 1:
                # num_items_in_batch counts the labels of every process and DDP averages the gradients over the
                # processes: x processes makes the step the gradient of the global batch's mean (Trainer does so)
                loss = loss * processes
            return (loss, {"loss": loss}) if return_outputs else loss

    return AnswerOnlyTrainer
