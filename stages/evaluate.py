"""Stage `evaluate`: did the adapter learn the regulations? -> metrics/eval.json, predictions, a DVC plot.

Two eval sets (written by `dataset`): `seen`, held-out phrasings of facts whose chunk was trained, and
`unseen`, pairs from chunks no training pair comes from. Per set, three systems answer greedily:
- `base`: the base model, closed-book;
- `open_book`: the base model with the best BM25 match among data/chunks in its prompt (stages/retrieval.py;
  the index holds every chunk, eval chunks included: retrieval reads the documents, fine-tuning learns from
  the training pairs);
- `adapter`: base + LoRA adapter, closed-book.
Each answer is scored with token F1, ROUGE-L, exact match and key-fact recall (stages/metrics_text.py), and
each reference answer's loss under the system (same masking as training). Every mean has a 95% bootstrap
interval over pairs, and adapter - base and adapter - open_book differences a paired one: an interval that
excludes 0 is a difference this many pairs can show. Optionally (evaluate.judge) the OpenAI-compatible
server synth uses grades each answer against the reference and the source chunk (stages/judge.py):
judge_score (correct 1, partial 0.5, wrong 0) gets intervals like the rest.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from stages.core.files import atomic_write_text, read_jsonl, write_json, write_jsonl, write_timings
from stages.core.params import load_sections, raise_problems
from stages.core.run import require_input, run_main
from stages.model.answer_loss import answer_losses
from stages.model.loading import (
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
from stages.model.prompt_format import passage_text, with_context
from stages.qa.client import ServerUnavailable
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from stages.records.pairs import SplitPair, by_eval_set
from stages.records.paths import (
    ADAPTER_DIR,
    CHUNKS_FILE,
    EVAL_FILE,
    EVAL_SCORES_FILE,
    JUDGE_CACHE_FILE,
    PREDICTIONS_FILE,
    PREDICTIONS_REPORT,
    metrics_file,
)
from stages.scoring.judge import GRADES, Judge, JudgeServerParams
from stages.scoring.metrics import (
    exact_match,
    key_fact_recall,
    rouge_l,
    token_f1,
)
from stages.scoring.report import SYSTEMS, plot_rows, predictions_report, set_metrics
from stages.scoring.retrieval import BM25

log = logging.getLogger(__name__)


NO_LIMIT = 10**9


@dataclass(frozen=True)
class EvaluateParams:
    max_new_tokens: int = 96  # greedy answer budget (the sample's answers: median ~40 gemma tokens)
    batch_size: int = 8
    limit: int = (
        0  # evaluate only the first N pairs of each set (0 = all), for quick looks at a large eval set
    )
    open_book: bool = True  # also answer with the base model + the best-matching chunk (retrieval baseline)
    judge: bool = False  # grade answers correct/partial/wrong with an LLM server (LM Studio)
    judge_base_url: str = "http://localhost:1234/v1"  # the judge's OpenAI-compatible server
    judge_model: str = ""  # "" = the model the server reports as loaded

    def problems(self) -> list[str]:
        out = [
            f"evaluate.{k} must be > 0, got {getattr(self, k)}"
            for k in ("max_new_tokens", "batch_size")
            if getattr(self, k) <= 0
        ]
        if self.limit < 0:
            out.append(f"evaluate.limit must be >= 0, got {self.limit}")
        if self.judge and not re.match(r"https?://", self.judge_base_url):
            out.append(
                f"evaluate.judge_base_url must start with http:// or https://, got {self.judge_base_url!r}"
            )
        return out


def answer_scores(record: SplitPair, answer: str) -> dict[str, float | None]:
    """The answer metrics of one answer (key_fact_recall None when the reference states no key fact)."""
    return {
        "f1": token_f1(answer, record.answer),
        "rouge_l": rouge_l(answer, record.answer),
        "exact_match": exact_match(answer, record.answer),
        "key_fact_recall": key_fact_recall(answer, record.answer, record.question),
    }


def reference_losses(
    model: Any, tokenizer: Any, prompts: list[str], records: list[SplitPair], max_len: int, batch_size: int
) -> list[tuple[float, int]]:
    """(summed loss, tokens) of each reference answer (+EOS) after its prompt; (nan, 0) when too long."""
    import torch

    rows = [encode_example(tokenizer, q, r.answer, max_len) for q, r in zip(prompts, records, strict=True)]
    fitting = [i for i, row in enumerate(rows) if row is not None]
    out: list[tuple[float, int]] = [(float("nan"), 0)] * len(rows)
    for start in range(0, len(fitting), batch_size):
        idx = fitting[start : start + batch_size]
        batch = pad_batch([rows[i] for i in idx], tokenizer.pad_token_id)
        with torch.no_grad():
            sums, counts = answer_losses(model, {k: v.to(model.device) for k, v in batch.items()})
        for i, s, n in zip(idx, sums.tolist(), counts.tolist(), strict=True):
            out[i] = (s, n)
    return out


def load_setup(
    cuda: bool,
) -> tuple[EvaluateParams, TrainSharedParams, ModelParams, ModelSource, Judge | None]:
    """[evaluate], [model] and the two [train] keys evaluate shares (and [synth]'s client settings for the judge),
    checked together; then the inputs; then the judge's server, before any answer is generated."""
    parsed, problems = load_sections(
        {
            "evaluate": EvaluateParams,
            "model": ModelParams,
            "train": TrainSharedParams,
            "synth": JudgeServerParams,
        },
        partial=("train", "synth"),
    )
    if parsed["train"] is not None:
        problems += quantization_problems(parsed["train"].quantization, cuda)
    source = None
    if parsed["model"] is not None:
        try:
            source = locate_model(parsed["model"].base)
        except ModelUnavailableError as e:
            problems.append(str(e))
    raise_problems("cannot evaluate", problems)
    require_input(EVAL_FILE, "dataset")
    require_input(ADAPTER_DIR / "adapter_config.json", "train")
    p = parsed["evaluate"]
    if p.open_book or p.judge:
        require_input(CHUNKS_FILE, "chunk")
    judge = None
    if p.judge:
        try:
            judge = Judge(parsed["synth"], p.judge_base_url, p.judge_model)
        except ServerUnavailable as e:
            raise_problems("cannot evaluate", [str(e)])
    assert source is not None
    return p, parsed["train"], parsed["model"], source, judge


def retrieve(records: list[SplitPair]) -> tuple[list[str], list[str], list[bool]]:
    """For each pair: the best BM25 chunk's text (with its act's title), its id, and whether it is the pair's own."""
    chunks = [from_dict(Chunk, c) for c in read_jsonl(CHUNKS_FILE)]
    index = BM25([passage_text(c) for c in chunks])
    best = [chunks[index.best(r.question)] for r in records]
    return (
        [passage_text(c) for c in best],
        [c.id for c in best],
        [c.id == r.chunk_id for c, r in zip(best, records, strict=True)],
    )


def answer_all(
    model: Any,
    tokenizer: Any,
    prompts: dict[str, list[str]],
    records: list[SplitPair],
    p: EvaluateParams,
    t: TrainSharedParams,
    quantized: bool,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]], dict[str, float]]:
    """Every system's answers and per-pair scores (answer metrics + the reference's loss), and seconds taken.
    The adapter comes last: it is merged into the base weights (same function, base-model speed), except
    over 4-bit weights, which stay unmerged."""
    import time

    from peft import PeftModel

    scores: dict[str, list[dict[str, Any]]] = {}
    answers: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    for system in [s for s in SYSTEMS if s in prompts]:
        if system == "adapter":
            model = PeftModel.from_pretrained(model, str(ADAPTER_DIR))
            model = (model if quantized else model.merge_and_unload()).eval()
        started = time.perf_counter()
        answers[system] = generate_answers(
            model, tokenizer, prompts[system], p.max_new_tokens, p.batch_size, system
        )
        # closed book: pairs as long as training allowed; open book: the prompt holds a chunk, no limit
        max_len = NO_LIMIT if system == "open_book" else t.max_seq_len
        losses = reference_losses(model, tokenizer, prompts[system], records, max_len, p.batch_size)
        scores[system] = [
            {**answer_scores(r, a), "loss_sum": loss[0], "loss_tokens": loss[1]}
            for r, a, loss in zip(records, answers[system], losses, strict=True)
        ]
        seconds[f"{system}_s"] = round(time.perf_counter() - started, 1)
    return scores, answers, seconds


def add_judge_grades(
    judge: Judge, records: list[SplitPair], answers: dict[str, list[str]], scores: dict
) -> None:
    """judge_grade / judge_score on every scored answer (None where the server gave no readable grade)."""
    chunk_texts = {c["id"]: passage_text(from_dict(Chunk, c)) for c in read_jsonl(CHUNKS_FILE)}
    for system in answers:
        items = [
            {
                "question": r.question,
                "reference": r.answer,
                "chunk": chunk_texts.get(r.chunk_id, ""),
                "answer": a,
            }
            for r, a in zip(records, answers[system], strict=True)
        ]
        for row, grade in zip(scores[system], judge.grade(items), strict=True):
            row.update(judge_grade=grade, judge_score=None if grade is None else GRADES[grade])


def prediction_rows(
    records: list[SplitPair],
    answers: dict[str, list[str]],
    scores: dict,
    retrieved: list[str],
    hits: list[bool],
) -> list[dict[str, Any]]:
    """data/eval/predictions.jsonl: each pair's reference beside every system's answer and its scores."""
    rows = []
    for i, r in enumerate(records):
        row: dict[str, Any] = {
            "id": r.id,
            "eval_set": r.eval_set or "unseen",
            "question": r.question,
            "reference": r.answer,
        }
        for system in answers:
            score = scores[system][i]
            row[system] = answers[system][i]
            row[f"{system}_f1"] = round(score["f1"], 4)
            recall = score["key_fact_recall"]
            row[f"{system}_key_fact_recall"] = None if recall is None else round(recall, 4)
            if "judge_grade" in score:
                row[f"{system}_judge"] = score["judge_grade"]
        if retrieved:
            row["retrieved_chunk"], row["retrieval_hit"] = retrieved[i], hits[i]
        rows.append(row)
    return rows


def main() -> None:
    import torch

    cuda = torch.cuda.is_available()
    p, t, model_p, source, judge = load_setup(cuda)
    JUDGE_CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)  # a DVC output even when evaluate.judge is off
    sets = by_eval_set([from_dict(SplitPair, r) for r in read_jsonl(EVAL_FILE)])
    if p.limit:
        sets = {name: rows[: p.limit] for name, rows in sets.items()}
    records = [r for rows in sets.values() for r in rows]
    log.info(
        "evaluate: %s pairs, base %s", " + ".join(f"{len(v)} {k}" for k, v in sets.items()), model_p.base
    )
    tokenizer = load_tokenizer(ModelSource(str(ADAPTER_DIR), local_files_only=True))
    model = load_causal_lm(source, pick_dtype("cuda" if cuda else "cpu"), t.quantization).eval()
    if cuda and t.quantization != "4bit":
        model.to("cuda")
    questions = [r.question for r in records]
    prompts = {"base": questions, "adapter": questions}
    retrieved: list[str] = []
    hits: list[bool] = []
    if p.open_book:
        contexts, retrieved, hits = retrieve(records)
        prompts["open_book"] = [with_context(q, c) for q, c in zip(questions, contexts, strict=True)]
    scores, answers, seconds = answer_all(model, tokenizer, prompts, records, p, t, t.quantization == "4bit")
    if judge is not None:
        add_judge_grades(judge, records, answers, scores)
        judge.close()

    metrics: dict[str, Any] = {"sets": {}}
    start = 0
    for name, rows in sets.items():
        span = slice(start, start + len(rows))
        start += len(rows)
        metrics["sets"][name] = set_metrics(rows, {s: v[span] for s, v in scores.items()}, hits[span])
    write_json(metrics_file("eval"), metrics)
    atomic_write_text(EVAL_SCORES_FILE, plot_rows(metrics))
    predictions = prediction_rows(records, answers, scores, retrieved, hits)
    write_jsonl(PREDICTIONS_FILE, predictions)
    atomic_write_text(PREDICTIONS_REPORT, predictions_report(predictions))
    write_timings("evaluate", seconds)
    for name, entry in metrics["sets"].items():
        log.info(
            "evaluate %s (%d pairs): F1 base %s / open book %s / adapter %s; key-fact recall base %s / adapter %s",
            name,
            entry["pairs"],
            entry["base"]["f1"],
            entry.get("open_book", {}).get("f1", "-"),
            entry["adapter"]["f1"],
            entry["base"]["key_fact_recall"],
            entry["adapter"]["key_fact_recall"],
        )


if __name__ == "__main__":
    run_main(main)
