"""Paraphrases of a chunk's questions, asked of the same server as the pairs (synth.paraphrases).

Pure functions: the prompt, its JSON schema, and the reply's parser. The prompt numbers the chunk's questions
(each shown with its answer, so a paraphrase keeps asking what the answer answers) and the reply names the
number of the question each list rewrites:

    {"perguntas": [{"n": 1, "reformulacoes": ["...?", "...?"]}, {"n": 2, "reformulacoes": [...]}]}

so a paraphrase is tied to its question by that number, never by position. The parser takes the reply as the
pairs' parser does (stages/qa/parse.py): reasoning before it dropped, a ```json fence opened, a reply cut by
max_tokens closed after its last complete string. An entry without a number, or with one outside 1..the
questions asked, is dropped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stages.qa.parse import (
    _FAILED,
    _FENCE,
    _clean,
    _close_at_last_value,
    _is_placeholder,
    _load,
    _scan_spans,
)
from stages.qa.reply_shapes import split_reasoning
from stages.qa.validate import validate_pair
from stages.text.fold import fold

PARAPHRASE_PROMPT = "prompts/paraphrase_pt.txt"  # placeholders: {paraphrases}, {doc}, {questions}
PARAPHRASE_FAMILY = "llm_paraphrase"  # QAPair.family of a model-written paraphrase that training sees

NUMBER_KEYS = {"n", "numero", "num", "indice", "id"}
LIST_KEYS = {
    "reformulacoes",
    "reformulacao",
    "parafrases",
    "paraphrases",
    "variacoes",
    "perguntas_reformuladas",
}


def paraphrase_targets(
    pairs: list[tuple[str, str]], chunk_text: str, min_grounding: float, examples: frozenset[str]
) -> list[int]:
    """Indices of the parsed pairs worth paraphrasing: those that pass validate_pair. A paraphrase keeps its
    pair's answer, so one of a pair rejected for its answer (ungrounded, an echo of the example) would be
    rejected too; it is not asked for."""
    return [
        i
        for i, (q, a) in enumerate(pairs)
        if validate_pair(q, a, chunk_text, min_grounding, examples) is None
    ]


def render_paraphrase_prompt(template: str, doc: str, pairs: list[tuple[str, str]], paraphrases: int) -> str:
    """The template with the questions numbered from 1, each followed by its answer."""
    questions = "\n".join(f"{n}. Pergunta: {q}\n   Resposta: {a}" for n, (q, a) in enumerate(pairs, 1))
    return template.format(paraphrases=paraphrases, doc=doc, questions=questions)


def paraphrase_schema(questions: int, paraphrases: int) -> dict[str, Any]:
    """JSON schema for `response_format`: one entry per question, its number among those asked."""
    entry = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "enum": list(range(1, questions + 1))},
            "reformulacoes": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": paraphrases,
            },
        },
        "required": ["n", "reformulacoes"],
        "additionalProperties": False,
    }
    schema = {
        "type": "object",
        "properties": {"perguntas": {"type": "array", "items": entry, "minItems": 1, "maxItems": questions}},
        "required": ["perguntas"],
        "additionalProperties": False,
    }
    return {"name": "reformulacoes_de_perguntas", "strict": True, "schema": schema}


@dataclass(frozen=True)
class ParsedParaphrases:
    by_question: list[list[str]]  # the paraphrases of question i (0-based, in the prompt's order)
    out_of_range: int = 0  # entries dropped: no number, or one outside 1..questions
    # why a reply gave no paraphrase: empty_reply, reasoning_cut_off, truncated, no_paraphrases_parsed; "" if some
    why_none: str = ""


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


def _entries(data: Any) -> list[tuple[int | None, list[Any]]]:
    """(number, list of paraphrases) for every entry in loaded JSON: dicts with a number key and a list key,
    anywhere inside wrappers. An entry with a list but no usable number gives (None, list)."""
    if isinstance(data, dict):
        keys = {fold(str(k)).strip().replace(" ", "_"): v for k, v in data.items()}
        listed = next((keys[k] for k in keys if k in LIST_KEYS and isinstance(keys[k], (list, str))), None)
        if listed is not None:
            number = next((_number(keys[k]) for k in keys if k in NUMBER_KEYS), None)
            return [(number, listed if isinstance(listed, list) else [listed])]
        return [entry for value in data.values() for entry in _entries(value)]
    if isinstance(data, (list, tuple)):
        return [entry for item in data for entry in _entries(item)]
    return []


def _span_entries(span: str) -> list[tuple[int | None, list[Any]]]:
    """Entries in one balanced span; when it does not load (one broken element), in the good spans inside."""
    data = _load(span)
    if data is _FAILED:
        spans, _ = _scan_spans(span, 1, len(span) - 1)
        return [entry for s, e in spans for entry in _span_entries(span[s:e])]
    return _entries(data)


def parse_paraphrases(text: str, questions: int, paraphrases: int, cut: bool = False) -> ParsedParaphrases:
    """The paraphrases of each of `questions` questions in a reply, at most `paraphrases` each, in order;
    placeholders and repeats within one list left out. `cut`: the reply was stopped by max_tokens."""
    if not text or not text.strip():
        return ParsedParaphrases([[] for _ in range(questions)], 0, "empty_reply")
    text, reasoning_cut_off = split_reasoning(text)
    if reasoning_cut_off:
        return ParsedParaphrases([[] for _ in range(questions)], 0, "reasoning_cut_off")
    fenced = [m.group(1) for m in _FENCE.finditer(text)]
    body = "\n".join(fenced) if fenced else text
    spans, open_at = _scan_spans(body, 0, len(body))
    entries = [entry for s, e in spans for entry in _span_entries(body[s:e])]
    if open_at >= 0 and (closed := _close_at_last_value(body[open_at:])) is not None:
        entries += _span_entries(closed)
    by_question: list[list[str]] = [[] for _ in range(questions)]
    out_of_range = 0
    for number, listed in entries:
        if number is None or not 1 <= number <= questions:
            out_of_range += 1
            continue
        kept = by_question[number - 1]
        for value in listed:
            question = _clean(value)
            if (
                question
                and not _is_placeholder(question)
                and question not in kept
                and len(kept) < paraphrases
            ):
                kept.append(question)
    if any(by_question):
        why = ""
    else:
        why = "truncated" if cut or open_at >= 0 else "no_paraphrases_parsed"
    return ParsedParaphrases(by_question, out_of_range, why)
