"""Stage `evaluate`: base vs base + adapter on data/dataset/eval.jsonl -> metrics/eval.json, predictions.

Greedy answers scored with exact match / token F1 / ROUGE-L (Portuguese normalization, see
stages/metrics_text.py), plus loss and perplexity on the reference answer tokens (same masking as training).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from stages.common import (
    load_sections,
    raise_problems,
    read_jsonl,
    require_input,
    run_main,
    write_json,
    write_jsonl,
)
from stages.metrics_text import rouge_l, score_answers, token_f1
from stages.modeling import (
    IGNORE_INDEX,
    ModelParams,
    ModelSource,
    ModelUnavailableError,
    TrainSharedParams,
    encode_example,
    generate_answers,
    load_causal_lm,
    load_tokenizer,
    locate_model,
    pad_batch,
    pick_dtype,
    quantization_problems,
)
from stages.records import ADAPTER_DIR, EVAL_FILE, PREDICTIONS_FILE, QAPair, from_dict, metrics_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateParams:
    max_new_tokens: int = 64  # greedy answer budget
    batch_size: int = 8
    limit: int = 0  # evaluate only the first N pairs (0 = all), for quick looks at a large eval set

    def problems(self) -> list[str]:
        out = [
            f"evaluate.{k} must be > 0, got {getattr(self, k)}"
            for k in ("max_new_tokens", "batch_size")
            if getattr(self, k) <= 0
        ]
        if self.limit < 0:
            out.append(f"evaluate.limit must be >= 0, got {self.limit}")
        return out


def answer_loss(
    model: Any, tokenizer: Any, records: list[QAPair], max_len: int, batch_size: int
) -> dict[str, float]:
    """Mean loss over the reference answer tokens (+EOS) and its perplexity."""
    import torch

    rows = [encode_example(tokenizer, r.question, r.answer, max_len) for r in records]
    rows = [r for r in rows if r is not None]
    total, count = 0.0, 0
    for start in range(0, len(rows), batch_size):
        batch = {
            k: v.to(model.device)
            for k, v in pad_batch(rows[start : start + batch_size], tokenizer.pad_token_id).items()
        }
        with torch.no_grad():
            logits = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits.float()
        labels = batch["labels"][:, 1:]
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        total += float(losses)
        count += int((labels != IGNORE_INDEX).sum())
    mean = total / max(1, count)
    return {"answer_loss": mean, "perplexity": math.exp(min(mean, 50.0))}


def score_model(
    model: Any, tokenizer: Any, records: list[QAPair], p: EvaluateParams, max_len: int
) -> tuple[list[str], dict[str, float]]:
    """Greedy answers and their metrics for one model."""
    model.eval()
    answers = generate_answers(
        model, tokenizer, [r.question for r in records], p.max_new_tokens, p.batch_size
    )
    metrics = score_answers(answers, [r.answer for r in records])
    metrics.update(answer_loss(model, tokenizer, records, max_len, p.batch_size))
    return answers, {k: round(v, 6) for k, v in metrics.items()}


def delta(adapter: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {k: round(adapter[k] - base[k], 6) for k in adapter}


def load_setup(cuda: bool) -> tuple[EvaluateParams, TrainSharedParams, ModelSource]:
    """[evaluate], [model] and the two [train] keys evaluate shares, checked together; then the inputs."""
    parsed, problems = load_sections(
        {"evaluate": EvaluateParams, "model": ModelParams, "train": TrainSharedParams}, partial=("train",)
    )
    if parsed["train"] is not None:
        problems += quantization_problems(parsed["train"].quantization, cuda)
    source = None
    if parsed["model"] is not None:
        try:
            source = locate_model(parsed["model"].name_or_path)
        except ModelUnavailableError as e:
            problems.append(str(e))
    raise_problems("cannot evaluate", problems)
    require_input(EVAL_FILE, "dataset")
    require_input(ADAPTER_DIR / "adapter_config.json", "train")
    assert source is not None
    return parsed["evaluate"], parsed["train"], source


def main() -> None:
    import torch
    from peft import PeftModel

    cuda = torch.cuda.is_available()
    p, t, source = load_setup(cuda)
    records = [from_dict(QAPair, r) for r in read_jsonl(EVAL_FILE)]
    if p.limit:
        records = records[: p.limit]
    log.info("evaluate: %d pairs, base %s", len(records), source.path)
    tokenizer = load_tokenizer(ModelSource(str(ADAPTER_DIR), local_files_only=True))
    model = load_causal_lm(source, pick_dtype("cuda" if cuda else "cpu"), t.quantization)
    if cuda and t.quantization != "4bit":
        model.to("cuda")
    base_answers, base_metrics = score_model(model, tokenizer, records, p, t.max_seq_len)
    model = PeftModel.from_pretrained(model, str(ADAPTER_DIR))
    adapter_answers, adapter_metrics = score_model(model, tokenizer, records, p, t.max_seq_len)

    write_jsonl(
        PREDICTIONS_FILE,
        (
            {
                "id": r.id,
                "question": r.question,
                "reference": r.answer,
                "base": b,
                "adapter": a,
                "base_f1": round(token_f1(b, r.answer), 4),
                "adapter_f1": round(token_f1(a, r.answer), 4),
                "adapter_rouge_l": round(rouge_l(a, r.answer), 4),
            }
            for r, b, a in zip(records, base_answers, adapter_answers, strict=True)
        ),
    )
    write_json(
        metrics_file("eval"),
        {
            "pairs": len(records),
            "base": base_metrics,
            "adapter": adapter_metrics,
            "delta": delta(adapter_metrics, base_metrics),
        },
    )
    log.info(
        "evaluate: F1 %.3f -> %.3f, answer loss %.3f -> %.3f",
        base_metrics["f1"],
        adapter_metrics["f1"],
        base_metrics["answer_loss"],
        adapter_metrics["answer_loss"],
    )


if __name__ == "__main__":
    run_main(main)
