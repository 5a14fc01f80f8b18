"""Stage `evaluate`: did the adapter learn the rules? -> metrics/eval.json, predictions, a DVC plot.

Every eval set data/dataset/eval.jsonl holds (`seen`, `unseen`, `paraphrase`, `unanswerable`: records/pairs.py
EVAL_SETS) is answered greedily by each system of evaluate.modes:
- `base`: the base model, closed book;
- `open_book`: the base model with the best BM25 chunk of data/chunks in its prompt (stages/scoring/retrieval.py;
  the index holds every chunk: retrieval reads the documents, fine-tuning learns from the training pairs);
- `adapter`: base + LoRA adapter, closed book;
- `adapter_retrieval`: base + adapter with the same retrieved chunk in its prompt (what `ask --retrieve` does).
Each answer gets token F1, ROUGE-L, exact match, key-fact recall and precision (stages/scoring/metrics.py),
wrong-act and act-naming rates (citations.py), abstention on `unanswerable` and false refusal elsewhere
(refusal.py), and the loss of its reference answer under the system (same masking as training). Every mean has a
95% bootstrap interval over pairs, and adapter - base, adapter - open_book and adapter_retrieval - open_book a
paired one. Optionally (evaluate.judge) an LLM server grades each answer (stages/scoring/judge.py).
docs/evaluation.md says what each number means.
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
    NO_LIMIT,
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
from stages.model.presets import preset_overlays
from stages.model.prompt_format import passage_text, retrieval_prompt
from stages.qa.client import ClientSettings, ServerUnavailable
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from stages.records.pairs import UNANSWERABLE, SplitPair, by_eval_set
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
from stages.scoring.citations import (
    Citation,
    chunk_act_name,
    citations,
    document_acts,
    names_act,
    source_citations,
    wrong_act,
)
from stages.scoring.judge import GRADES, Judge
from stages.scoring.metrics import (
    exact_match,
    key_fact_precision,
    key_fact_recall,
    rouge_l,
    token_f1,
)
from stages.scoring.refusal import is_refusal
from stages.scoring.report import (
    ADAPTER_SYSTEMS,
    RETRIEVAL_SYSTEMS,
    SYSTEMS,
    plot_rows,
    predictions_report,
    set_metrics,
)
from stages.scoring.retrieval import best_chunks
from stages.text.legis.acts import ActName

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateParams:
    max_new_tokens: int = 96  # greedy answer budget (the sample's answers: median ~40 gemma tokens)
    batch_size: int = 8
    # the first N pairs of each set (0 = all): the built-in toy model is scored on a few, a real model (a preset)
    # on all
    limit: int = 40
    # the systems that answer (report.SYSTEMS): base, open_book (base + the best BM25 chunk in the prompt),
    # adapter, adapter_retrieval (adapter + the same chunk)
    modes: tuple[str, ...] = SYSTEMS
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
        unknown = [m for m in self.modes if m not in SYSTEMS]
        if unknown or not self.modes or len(set(self.modes)) != len(self.modes):
            out.append(
                f"evaluate.modes must be distinct systems among {', '.join(SYSTEMS)}, got {list(self.modes)}"
            )
        if self.judge and not re.match(r"https?://", self.judge_base_url):
            out.append(
                f"evaluate.judge_base_url must start with http:// or https://, got {self.judge_base_url!r}"
            )
        return out


def answer_scores(record: SplitPair, answer: str, acts: list[Citation]) -> dict[str, float | None]:
    """The answer metrics of one answer; `acts` are the acts its pair may name (None where a metric is not
    defined: recall when the reference states no key fact, precision when the answer states none, wrong_act when
    the pair's act is unknown). A refusal is an abstention on `unanswerable`, a false refusal on other sets."""
    refused = float(is_refusal(answer))
    return {
        "f1": token_f1(answer, record.answer),
        "rouge_l": rouge_l(answer, record.answer),
        "exact_match": exact_match(answer, record.answer),
        "key_fact_recall": key_fact_recall(answer, record.answer, record.question),
        "key_fact_precision": key_fact_precision(answer, record.answer, record.question),
        "wrong_act": wrong_act(answer, acts),
        "names_act": names_act(answer),
        **({"abstention": refused} if record.eval_set == UNANSWERABLE else {"false_refusal": refused}),
    }


def pair_acts(
    records: list[SplitPair], chunks: list[Chunk], acts: dict[str, list[ActName]]
) -> list[list[Citation]]:
    """For each pair, the acts an answer may name (citations.py): its document's acts up to its chunk (`acts`),
    those its chunk cites, and those its question and reference answer cite."""
    by_chunk = source_citations(chunks, acts)
    return [by_chunk.get(r.chunk_id, []) + citations(r.question) + citations(r.answer) for r in records]


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
            "synth": ClientSettings,
        },
        partial=("train", "synth"),
        overlays=preset_overlays(),
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
    require_input(CHUNKS_FILE, "chunk")
    p = parsed["evaluate"]
    judge = None
    if p.judge:
        try:
            judge = Judge(parsed["synth"], p.judge_base_url, p.judge_model)
        except ServerUnavailable as e:
            raise_problems("cannot evaluate", [str(e)])
    assert source is not None
    return p, parsed["train"], parsed["model"], source, judge


def retrieve(records: list[SplitPair], chunks: list[Chunk]) -> tuple[list[Chunk], list[bool | None]]:
    """For each pair: the best BM25 chunk, and whether it is the pair's own (None for an unanswerable question: the
    chunk it is filed under does not answer it)."""
    best = best_chunks(chunks, [r.question for r in records])
    return best, [
        None if r.eval_set == UNANSWERABLE or not r.chunk_id else c.id == r.chunk_id
        for c, r in zip(best, records, strict=True)
    ]


def answer_all(
    model: Any,
    tokenizer: Any,
    prompts: dict[str, list[str]],
    records: list[SplitPair],
    acts: list[list[Citation]],
    p: EvaluateParams,
    t: TrainSharedParams,
    quantized: bool,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]], dict[str, float]]:
    """Every system's answers and per-pair scores (answer metrics + the reference's loss), and seconds taken.
    The adapter's systems come last: the adapter is merged into the base weights once (same function,
    base-model speed), except over 4-bit weights, which stay unmerged."""
    import time

    from peft import PeftModel

    scores: dict[str, list[dict[str, Any]]] = {}
    answers: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    adapted = False
    for system in [s for s in SYSTEMS if s in prompts]:
        if system in ADAPTER_SYSTEMS and not adapted:
            model = PeftModel.from_pretrained(model, str(ADAPTER_DIR))
            model = (model if quantized else model.merge_and_unload()).eval()
            adapted = True
        started = time.perf_counter()
        answers[system] = generate_answers(
            model, tokenizer, prompts[system], p.max_new_tokens, p.batch_size, system
        )
        # closed book: pairs as long as training allowed; with a retrieved chunk in the prompt, no limit
        max_len = NO_LIMIT if system in RETRIEVAL_SYSTEMS else t.max_seq_len
        losses = reference_losses(model, tokenizer, prompts[system], records, max_len, p.batch_size)
        scores[system] = [
            {**answer_scores(r, a, allowed), "loss_sum": loss[0], "loss_tokens": loss[1]}
            for r, a, allowed, loss in zip(records, answers[system], acts, losses, strict=True)
        ]
        seconds[f"{system}_s"] = round(time.perf_counter() - started, 1)
    return scores, answers, seconds


def add_judge_grades(
    judge: Judge, records: list[SplitPair], answers: dict[str, list[str]], scores: dict, chunks: list[Chunk]
) -> None:
    """judge_grade / judge_score on every scored answer (None where the server gave no readable grade)."""
    chunk_texts = {c.id: passage_text(c) for c in chunks}
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
    retrieved: list[Chunk],
    hits: list[bool | None],
    act_names: dict[str, list[ActName]],
) -> list[dict[str, Any]]:
    """data/eval/predictions.jsonl: each pair's reference beside every system's answer and its scores."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

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
            row[f"{system}_key_fact_recall"] = rounded(score["key_fact_recall"])
            row[f"{system}_key_fact_precision"] = rounded(score["key_fact_precision"])
            row[f"{system}_wrong_act"] = score["wrong_act"] == 1.0
            row[f"{system}_refusal"] = bool(score.get("abstention") or score.get("false_refusal"))
            if "judge_grade" in score:
                row[f"{system}_judge"] = score["judge_grade"]
        if retrieved:
            row["retrieved_chunk"], row["retrieval_hit"] = retrieved[i].id, hits[i]
            row["retrieved_act"] = chunk_act_name(retrieved[i], act_names)
        rows.append(row)
    return rows


def system_prompts(
    modes: tuple[str, ...], questions: list[str], retrieved: list[Chunk]
) -> dict[str, list[str]]:
    """Each system's prompts: the question, or the question after its retrieved chunk (`retrieved` is empty
    when no system of `modes` retrieves)."""
    with_chunk = (
        [retrieval_prompt(q, c) for q, c in zip(questions, retrieved, strict=True)] if retrieved else []
    )
    return {mode: with_chunk if mode in RETRIEVAL_SYSTEMS else questions for mode in modes}


def main() -> None:
    import torch

    cuda = torch.cuda.is_available()
    p, t, model_p, source, judge = load_setup(cuda)
    JUDGE_CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)  # a DVC output even when evaluate.judge is off
    sets = by_eval_set([from_dict(SplitPair, r) for r in read_jsonl(EVAL_FILE)])
    if p.limit:
        sets = {name: rows[: p.limit] for name, rows in sets.items()}
    records = [r for rows in sets.values() for r in rows]
    chunks = [from_dict(Chunk, c) for c in read_jsonl(CHUNKS_FILE)]
    log.info(
        "evaluate: %s pairs, systems %s, base %s",
        " + ".join(f"{len(v)} {k}" for k, v in sets.items()),
        ", ".join(p.modes),
        model_p.base,
    )
    tokenizer = load_tokenizer(ModelSource(str(ADAPTER_DIR), local_files_only=True))
    model = load_causal_lm(source, pick_dtype("cuda" if cuda else "cpu"), t.quantization).eval()
    if cuda and t.quantization != "4bit":
        model.to("cuda")
    retrieved: list[Chunk] = []
    hits: list[bool | None] = []
    if any(mode in RETRIEVAL_SYSTEMS for mode in p.modes):
        retrieved, hits = retrieve(records, chunks)
    prompts = system_prompts(p.modes, [r.question for r in records], retrieved)
    act_names = document_acts(chunks)
    acts = pair_acts(records, chunks, act_names)
    scores, answers, seconds = answer_all(
        model, tokenizer, prompts, records, acts, p, t, t.quantization == "4bit"
    )
    if judge is not None:
        add_judge_grades(judge, records, answers, scores, chunks)
        judge.close()

    metrics: dict[str, Any] = {"sets": {}}
    start = 0
    for name, rows in sets.items():
        span = slice(start, start + len(rows))
        start += len(rows)
        metrics["sets"][name] = set_metrics(rows, {s: v[span] for s, v in scores.items()}, hits[span])
    write_json(metrics_file("eval"), metrics)
    atomic_write_text(EVAL_SCORES_FILE, plot_rows(metrics))
    predictions = prediction_rows(records, answers, scores, retrieved, hits, act_names)
    write_jsonl(PREDICTIONS_FILE, predictions)
    atomic_write_text(PREDICTIONS_REPORT, predictions_report(predictions))
    write_timings("evaluate", seconds)
    for name, entry in metrics["sets"].items():
        refusal = "abstention" if name == UNANSWERABLE else "false_refusal"
        log.info(
            "evaluate %s (%d pairs), key-fact recall / precision / wrong act / %s: %s",
            name,
            entry["pairs"],
            refusal,
            "; ".join(
                f"{system} {entry[system]['key_fact_recall']} / {entry[system]['key_fact_precision']} / "
                f"{entry[system]['wrong_act']} / {entry[system][refusal]}"
                for system in SYSTEMS
                if system in entry
            ),
        )


if __name__ == "__main__":
    run_main(main)
