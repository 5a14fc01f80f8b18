"""Scores summarised per eval set and system, paired deltas, the plot's rows and predictions.md."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from stages.records.pairs import SplitPair
from stages.scoring.judge import judge_summary
from stages.scoring.metrics import (
    bootstrap_ci,
    paired_delta_ci,
)

# in answering order: the base model's systems, then the adapter's (merged into the base weights once)
SYSTEMS = ("base", "open_book", "adapter", "adapter_retrieval")
ADAPTER_SYSTEMS = ("adapter", "adapter_retrieval")
RETRIEVAL_SYSTEMS = ("open_book", "adapter_retrieval")  # the best BM25 chunk in the prompt
# every answer metric a set can hold: abstention on `unanswerable`, false_refusal on the other sets
ANSWER_METRICS = (
    "f1",
    "rouge_l",
    "exact_match",
    "key_fact_recall",
    "key_fact_precision",
    "wrong_act",
    "names_act",
    "abstention",
    "false_refusal",
    "judge_score",
)
COMPARISONS = (("adapter", "base"), ("adapter", "open_book"), ("adapter_retrieval", "open_book"))
WHOSE = {True: "its own", False: "another", None: "no chunk answers it"}  # predictions.md, retrieved chunk
PLOTTED = ("key_fact_recall", "key_fact_precision", "wrong_act", "abstention", "false_refusal", "f1")


def _metric_names(scores: list[dict[str, Any]]) -> tuple[str, ...]:
    """The answer metrics the set's scores hold (a set's rows all have the same keys)."""
    return tuple(name for name in ANSWER_METRICS if scores and name in scores[0])


def summarize(scores: list[dict[str, Any]]) -> dict[str, float]:
    """Mean and 95% interval of each metric over the pairs where it is defined (key-fact recall: the reference
    states a key fact; precision: the answer does; wrong_act: the pair's act is known); answer loss weighted by
    answer tokens; perplexity = exp(answer loss)."""
    out: dict[str, float] = {}
    for name in _metric_names(scores):
        values = [s[name] for s in scores if s[name] is not None]
        mean, low, high = bootstrap_ci(values)
        out.update({name: mean, f"{name}_low": low, f"{name}_high": high})
        if name in ("key_fact_precision", "wrong_act"):
            out[f"{name}_pairs"] = len(values)
    losses = [(s["loss_sum"], s["loss_tokens"]) for s in scores if s["loss_tokens"]]
    mean, low, high = bootstrap_ci([a / n for a, n in losses], weights=[n for _, n in losses])
    out.update({"answer_loss": mean, "answer_loss_low": low, "answer_loss_high": high})
    out["perplexity"] = math.exp(min(mean, 50.0)) if losses else float("nan")
    out["answer_loss_pairs"] = len(losses)  # pairs longer than train.max_seq_len have no loss
    return out


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, float]:
    """a - b on the same pairs, with paired-bootstrap 95% intervals (a metric over the pairs where both
    systems have it)."""
    out: dict[str, float] = {}
    for name in _metric_names(a):
        pairs = [(x[name], y[name]) for x, y in zip(a, b, strict=True) if None not in (x[name], y[name])]
        mean, low, high = paired_delta_ci([x for x, _ in pairs], [y for _, y in pairs])
        out.update({name: mean, f"{name}_low": low, f"{name}_high": high})
    losses = [(x, y) for x, y in zip(a, b, strict=True) if x["loss_tokens"] and y["loss_tokens"]]
    mean, low, high = paired_delta_ci(
        [x["loss_sum"] / x["loss_tokens"] for x, _ in losses],
        [y["loss_sum"] / y["loss_tokens"] for _, y in losses],
        weights=[x["loss_tokens"] for x, _ in losses],
    )
    out.update({"answer_loss": mean, "answer_loss_low": low, "answer_loss_high": high})
    return out


def set_metrics(
    records: list[SplitPair], scores: dict[str, list[dict[str, Any]]], hits: list[bool | None]
) -> dict:
    """metrics/eval.json's entry for one eval set (`hits`: is the retrieved chunk the pair's own; None for an
    unanswerable question; empty when no system retrieved)."""
    entry: dict[str, Any] = {
        "pairs": len(records),
        "pairs_with_key_facts": sum(s["key_fact_recall"] is not None for s in next(iter(scores.values()))),
    }
    known = [hit for hit in hits if hit is not None]
    if known:
        entry["retrieval_top1"] = sum(known) / len(known)  # the retrieved chunk is the pair's own chunk
    for system, rows in scores.items():
        entry[system] = summarize(rows)
        if rows and "judge_grade" in rows[0]:
            entry[system].update(judge_summary([s["judge_grade"] for s in rows]))
    for a, b in COMPARISONS:
        if a in scores and b in scores:
            entry[f"{a}_vs_{b}"] = compare(scores[a], scores[b])
    return _rounded(entry)


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def plot_rows(metrics: dict[str, Any]) -> str:
    """data/eval/scores.csv: one bar per set x plotted metric x system (DVC plot `bar_horizontal`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["label", "value", "low", "high"])
    for eval_set, entry in metrics["sets"].items():
        for metric in PLOTTED:
            for system in SYSTEMS:
                s = entry.get(system, {})
                if s.get(metric) is not None:
                    writer.writerow(
                        [f"{eval_set} {metric} {system}", s[metric], s[f"{metric}_low"], s[f"{metric}_high"]]
                    )
    return buffer.getvalue()


def _answer_line(row: dict[str, Any], system: str) -> str:
    def score(name: str) -> str:
        value = row[f"{system}_{name}"]
        return "—" if value is None else f"{value:.2f}"

    flags = [
        flag
        for flag, on in (("refusal", row[f"{system}_refusal"]), ("wrong act", row[f"{system}_wrong_act"]))
        if on
    ]
    marks = f" **[{', '.join(flags)}]**" if flags else ""
    return (
        f"- **{system}** ({row[f'{system}_f1']:.2f} / {score('key_fact_recall')} / {score('key_fact_precision')})"
        f"{marks}: {row[system] or '(empty)'}"
    )


def predictions_report(rows: list[dict[str, Any]]) -> str:
    """data/eval/predictions.md: each question with the reference and every system's answer, side by side."""
    lines = [
        "# Predictions",
        "",
        "Scores per answer: F1 / key-fact recall / key-fact precision (— when the reference, or the answer, "
        "states no key fact); **[refusal]** when the answer says the rules do not answer, **[wrong act]** when "
        "it names an act the pair does not come from.",
        "",
    ]
    for eval_set in dict.fromkeys(r["eval_set"] for r in rows):
        lines += [f"## {eval_set}", ""]
        for r in (r for r in rows if r["eval_set"] == eval_set):
            lines += [f"### {r['question']}", "", f"- **reference**: {r['reference']}"]
            lines += [_answer_line(r, system) for system in SYSTEMS if system in r]
            if "retrieved_chunk" in r:
                lines.append(
                    f"- retrieved chunk: `{r['retrieved_chunk']}` ({WHOSE[r['retrieval_hit']]}, {r['retrieved_act']})"
                )
            lines.append("")
    return "\n".join(lines)
