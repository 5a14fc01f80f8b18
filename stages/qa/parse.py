"""Recover (question, answer) pairs from the messy replies of small local chat models.

Pure functions only. `parse_reply` gives the pairs and, when there are none, why (`parse_qa_pairs`: the pairs
only). Reasoning before the answer (`<think>…</think>` and the other models' markers, stages/qa/reply_shapes.py)
is dropped first; a reply whose reasoning never closed gives nothing ("reasoning_cut_off"). Then, in order:
1. structured data: every balanced `{...}` / `[...]` span is loaded as JSON, then as a Python literal
   (the single-quoted dict format the original prompt asked for), then once more after repairs
   (trailing commas, raw newlines in strings, `\\'` in JSON, bare keys); a span that still fails is
   searched for smaller spans, so one broken element does not lose its good neighbours;
2. labelled plain text: `Pergunta:`/`Resposta:`, `P:`/`R:`, `Q:`/`A:`, bold, numbered and heading forms, and
   markdown tables with a question and an answer column; a note under the last answer ("Observação: …",
   "Espero ter ajudado!") is not part of it;
3. numbered questions with the answer as a paragraph of its own ("1. O que é X?\n\nX é ..."), as small base
   models continue a text.
A reply cut by max_tokens keeps what was complete: a JSON reply is closed after its last complete value, so
every pair whose question and answer strings both closed is kept; the last plain-text pair or table row
(perhaps cut mid-answer) is dropped. Empty fields, placeholders and echoes of the built-in prompt's example
pair give nothing.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from stages.qa.reply_shapes import is_note_line, split_reasoning, table_pairs
from stages.text.fold import fold, question_key

# The example pair shown in prompts/qa_pt.txt; a model that copies it back has not read the text.
PROMPT_EXAMPLE_QUESTION = "Qual é o assunto principal do trecho?"
PROMPT_EXAMPLE_ANSWER = "O trecho trata de ..."

QUESTION_KEYS = {"pergunta", "question", "questao", "q", "p", "pregunta", "pergunta_texto"}
ANSWER_KEYS = {"resposta", "answer", "a", "r", "respuesta", "resposta_texto"}
# Values that are schema/prompt placeholders, not content.
PLACEHOLDERS = {
    "",
    "...",
    "string",
    "pergunta",
    "resposta",
    "question",
    "answer",
    "texto",
    "n/a",
    "null",
    "none",
}

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|\Z)", re.DOTALL)
_DOUBLE_TYPO = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
# Typographic single quotes used as string delimiters (next to a bracket, comma or colon) become ';
# the ones inside words (d’água) stay apostrophes.
_SINGLE_TYPO_OPEN = re.compile(r"([\[{,:]\s*)[‘’]")
_SINGLE_TYPO_CLOSE = re.compile(r"[‘’](\s*[\]},:])")

# Indented labels count when bold or spelled out ("   **Resposta:**"), not "   a) inciso".
_LABEL = r"(?:\s+(?=[*_]|pergunta|quest|resposta|answer))?(?:[-*•>]\s*|\d+\s*[.)-]\s*|#+\s*)*[*_]*\s*"
_Q_LINE = re.compile(
    _LABEL + r"(?:(?:pergunta|quest[aã]o|question)\s*\d*|[PQ]\d*)\s*[*_]*\s*[:.)\-–—]\s*[*_]*\s*(.*)$"
    r"|" + _LABEL + r"(?:pergunta|quest[aã]o|question)\s*\d*\s*[*_]*\s*$",
    re.IGNORECASE,
)
_A_LINE = re.compile(
    _LABEL + r"(?:(?:resposta|answer)\s*\d*|[RA]\d*)\s*[*_]*\s*[:.)\-–—]\s*[*_]*\s*(.*)$"
    r"|" + _LABEL + r"(?:resposta|answer)\s*\d*\s*[*_]*\s*$",
    re.IGNORECASE,
)
# "P: ... ? R: ..." on one line: break before the answer label.
_INLINE_ANSWER = re.compile(r"(?<=\?)[*_\s]*(?=(?:\*\*)?(?:resposta|answer|R|A)\s*[*_]*\s*:)", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*(?:[-*•]\s*|\d+\s*[.)-]\s*)+")


def _clean(value: Any) -> str:
    """A field as one tidy line: markdown emphasis, wrapping quotes, "A resposta é:" and extra spaces removed."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return ""
    text = re.sub(r"\s+", " ", str(value)).strip()
    text = re.sub(r"^(?:a\s+)?resposta\s+é\s*:\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^[*_]+|[*_]+$", "", text).strip()
    text = re.sub(r"(\*\*|__)(\S(?:.*?\S)?)\1", r"\2", text)  # bold inside: "de **5 dias** úteis"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _is_placeholder(text: str) -> bool:
    """A schema or prompt placeholder, or the original work's example ("Exemplo de pergunta 1")."""
    folded = fold(text).strip(" .…:")
    return (
        folded in PLACEHOLDERS
        or bool(re.fullmatch(r"<[^<>]*>|\.{2,}|…+", text.strip()))
        or bool(re.fullmatch(r"exemplo de (?:pergunta|resposta)\s*\d*", folded))
    )


def _is_example_echo(question: str, answer: str) -> bool:
    return question_key(question) == question_key(PROMPT_EXAMPLE_QUESTION) or question_key(
        answer
    ) == question_key(PROMPT_EXAMPLE_ANSWER)


# ---------------------------------------------------------------- structured replies


def _scan_spans(text: str, start: int, end: int) -> tuple[list[tuple[int, int]], int]:
    """Top-level balanced bracket spans in text[start:end], and where the one left open starts (-1: none).

    Quotes count only inside brackets, so an apostrophe in a preamble does not derail the scan.
    """
    spans: list[tuple[int, int]] = []
    depth, span_start, quote, i = 0, -1, "", start
    while i < end:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif depth and ch in "\"'":
            quote = ch
        elif ch in "[{":
            if depth == 0:
                span_start = i
            depth += 1
        elif ch in "]}" and depth:
            depth -= 1
            if depth == 0:
                spans.append((span_start, i + 1))
        i += 1
    return spans, span_start if depth else -1


def _repair(span: str) -> str:
    """Fix the usual defects: raw newlines in strings, `\\'` in JSON strings, trailing commas, bare keys."""
    segments: list[str] = []  # code outside strings (repaired) and whole quoted strings, in turn
    current: list[str] = []
    quote, i = "", 0
    while i < len(span):
        ch = span[i]
        if quote:
            if ch == "\\" and i + 1 < len(span):
                nxt = span[i + 1]
                current.append("'" if (nxt == "'" and quote == '"') else ch + nxt)
                i += 2
                continue
            current.append(" " if ch in "\r\n\t" else ch)
            if ch == quote:
                quote = ""
                segments.append("".join(current))
                current = []
        elif ch in "\"'":
            segments.append(_repair_outside("".join(current)))
            quote, current = ch, [ch]
        else:
            current.append(ch)
        i += 1
    segments.append("".join(current) if quote else _repair_outside("".join(current)))
    return "".join(segments)


def _repair_outside(code: str) -> str:
    code = re.sub(r",(\s*[\]}])", r"\1", code)
    return re.sub(r"([{,]\s*)([A-Za-zÀ-ÿ_][\wÀ-ÿ]*)(\s*):", r'\1"\2"\3:', code)


_FAILED = object()


def _load(span: str) -> Any:
    """The span as data (JSON, then Python literal, then both after repairs); _FAILED when hopeless."""
    for candidate in (span, _repair(span)):
        try:
            return json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            pass
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return _FAILED


def _pairs_from_data(data: Any) -> list[tuple[str, str]]:
    """Walk loaded JSON: dicts with a question and an answer key, or lists/wrappers holding them."""
    if isinstance(data, dict):
        keys = {fold(str(k)).strip(): v for k, v in data.items()}
        question = next((keys[k] for k in keys if k in QUESTION_KEYS), None)
        answer = next((keys[k] for k in keys if k in ANSWER_KEYS), None)
        if question is not None or answer is not None:
            return [(_clean(question), _clean(answer))]
        return [pair for value in data.values() for pair in _pairs_from_data(value)]
    if isinstance(data, (list, tuple)):
        if len(data) == 2 and all(isinstance(v, str) for v in data) and data[0].rstrip().endswith("?"):
            return [(_clean(data[0]), _clean(data[1]))]
        return [pair for item in data for pair in _pairs_from_data(item)]
    return []


def _close_at_last_value(span: str) -> str | None:
    """A span cut by max_tokens, cut back to its last complete value and closed: `[{"pergunta": "A?",
    "resposta": "B."}, {"pergunta": "C?", "resp` gives `[{"pergunta": "A?", "resposta": "B."}, {"pergunta":
    "C?"}]`, whose second pair has no answer and is dropped. None when no value was complete."""
    stack: list[str] = []  # the closers of the brackets open at i
    quote, key_next, i = "", False, 0  # key_next: the next string in this object is a key
    last: tuple[int, str] | None = None  # where the last complete value ends, and the closers there
    while i < len(span):
        ch = span[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
                if not key_next:
                    last = (i + 1, "".join(reversed(stack)))
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
            key_next = ch == "{"
        elif ch in "]}" and stack:
            stack.pop()
            last, key_next = (i + 1, "".join(reversed(stack))), False
        elif ch == ":" and stack:
            key_next = False
        elif ch == "," and stack:
            key_next = stack[-1] == "}"
        i += 1
    return None if last is None else span[: last[0]] + last[1]


def _structured_pairs(text: str, start: int, end: int) -> tuple[list[tuple[str, str]], bool]:
    """Pairs from every span in text[start:end]; True when the reply stops inside an open span of pairs,
    whose complete pairs are kept (`_close_at_last_value`)."""
    spans, open_at = _scan_spans(text, start, end)
    pairs: list[tuple[str, str]] = []
    for s, e in spans:
        pairs.extend(_span_pairs(text[s:e]))
    if open_at < 0:
        return pairs, False
    if (closed := _close_at_last_value(text[open_at:end])) is not None:
        pairs.extend(_span_pairs(closed))
    return pairs, bool(re.search(r"pergunta|question|resposta|answer", fold(text[open_at:end])))


def _span_pairs(span: str) -> list[tuple[str, str]]:
    """Pairs in one balanced span; when it does not load (one broken element), in the good spans inside it."""
    data = _load(span)
    if data is _FAILED:
        return _structured_pairs(span, 1, len(span) - 1)[0]
    return _pairs_from_data(data)


# ---------------------------------------------------------------- labelled plain text


def _plain_pairs(text: str) -> list[tuple[str, str]]:
    """`Pergunta: … Resposta: …` in its many dresses; an answer ends at a blank line or the next question."""
    text = _INLINE_ANSWER.sub("\n", text)
    pairs: list[tuple[str, str]] = []
    question: list[str] | None = None
    answer: list[str] | None = None
    previous_line = ""

    def flush() -> None:
        if question is not None and answer is not None:
            pairs.append((_clean(_NUMBERING.sub("", " ".join(question).strip())), _clean(" ".join(answer))))

    for line in text.splitlines():
        q_match, a_match = _Q_LINE.match(line), _A_LINE.match(line)
        if is_note_line(line):
            if answer is not None and any(part.strip() for part in answer):
                flush()
                question, answer = None, None
        elif q_match:
            flush()
            question, answer = [q_match.group(1) or ""], None
        elif a_match:
            if question is None and previous_line.rstrip().endswith("?"):  # numbered question without a label
                question = [_NUMBERING.sub("", previous_line)]
            answer = [a_match.group(1) or ""] if question is not None else None
        elif not line.strip():
            if answer is not None and any(part.strip() for part in answer):
                flush()
                question, answer = None, None
        elif answer is not None:
            answer.append(line)
        elif question is not None:
            question.append(line)
        if line.strip():
            previous_line = line
    flush()
    return pairs


_NUMBERED_QUESTION = re.compile(r"^\s*(?:\d+\s*[.)-]|[A-Za-z]\)|[-*•])\s*[*_]*\s*(?P<q>[^\n]{8,}\?)[*_]*\s*$")
_ENUMERATOR = re.compile(r"^\s*(?:\d+|[A-Za-z])[.)]\s+")  # "A) O Programa ..." as an answer paragraph


_ANSWER_LABEL = re.compile(
    r"^\s*(?:a\s+)?resposta(?:\s+é)?\s*:\s*(.*)$", re.IGNORECASE
)  # "A resposta é: ..."


def _numbered_pairs(text: str) -> list[tuple[str, str]]:
    """'1. O que significa X?' then the answer as a paragraph of its own, perhaps under a label line ("A
    resposta é:", "Resposta:"), as small base models write."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    answer: list[str] = []
    for line in text.splitlines() + [""]:
        m = _NUMBERED_QUESTION.match(line)
        if m:
            if question and any(answer):
                pairs.append((_clean(question), _clean(" ".join(answer))))
            question, answer = m.group("q"), []
        elif not line.strip() or is_note_line(line):
            if question and any(answer):
                pairs.append((_clean(question), _clean(" ".join(answer))))
                question, answer = None, []
        elif question is not None:
            label = _ANSWER_LABEL.match(line) or _A_LINE.match(line)
            if label:
                answer.append(label.group(1) or "")
            else:
                answer.append(_ENUMERATOR.sub("", line) if not any(answer) else line)
    return pairs


def _ends_with(text: str, answer: str) -> bool:
    """Does `text` end with `answer` (whitespace and emphasis aside)? Then a cut reply was cut inside it."""
    squashed = re.sub(r"[\s*_]+", " ", text).strip()
    return bool(answer) and squashed.endswith(re.sub(r"[\s*_]+", " ", answer).strip())


# ---------------------------------------------------------------- entry point


@dataclass(frozen=True)
class ParsedReply:
    pairs: list[tuple[str, str]]
    # why a reply gave no pair: empty_reply, reasoning_cut_off (its reasoning never closed), truncated (cut by
    # max_tokens, or stopped inside its JSON, before a pair was complete), no_pairs_parsed; "" when it gave some
    why_none: str = ""


def parse_reply(text: str, cut: bool = False) -> ParsedReply:
    """(question, answer) pairs found in a model's reply, and why there are none when there are none.

    `cut`: the reply was stopped by max_tokens. Its last plain-text pair or table row may be incomplete and
    is dropped; a structured reply keeps every pair that was complete (see `_close_at_last_value`)."""
    if not text or not text.strip():
        return ParsedReply([], "empty_reply")
    text, reasoning_cut_off = split_reasoning(text)
    if reasoning_cut_off:  # whatever it holds is a draft
        return ParsedReply([], "reasoning_cut_off")
    # Typographic quotes are tried as delimiters only when the reply does not parse as it is:
    # inside a well-formed JSON string “these” are content.
    typo_fixed = text.translate(_DOUBLE_TYPO)
    typo_fixed = _SINGLE_TYPO_CLOSE.sub(r"'\1", _SINGLE_TYPO_OPEN.sub(r"\1'", typo_fixed))
    pairs: list[tuple[str, str]] = []
    truncated = False
    for variant in dict.fromkeys((text, typo_fixed)):
        fenced = [m.group(1) for m in _FENCE.finditer(variant)]
        body = "\n".join(fenced) if fenced else variant
        pairs, truncated = _structured_pairs(body, 0, len(body))
        if not pairs and not truncated:  # a cut JSON reply is never read as plain text
            readings = [_plain_pairs(body), _numbered_pairs(body)]
            if cut:  # the reply stops inside its last answer
                readings = [r[:-1] if r and _ends_with(body, r[-1][1]) else r for r in readings]
            readings.append([(_clean(q), _clean(a)) for q, a in table_pairs(body, cut)])
            pairs = max(readings, key=lambda reading: len(_kept(reading)))  # the reading that finds more
        if pairs:
            break
    kept = _kept(pairs)
    return ParsedReply(kept, "" if kept else "truncated" if cut or truncated else "no_pairs_parsed")


def parse_qa_pairs(text: str, cut: bool = False) -> list[tuple[str, str]]:
    """(question, answer) pairs found in a model's reply; [] when there are none (`parse_reply` says why)."""
    return parse_reply(text, cut).pairs


def _kept(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pairs without placeholders, echoes of the prompt's example or repeated questions."""
    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    for question, answer in pairs:
        if _is_placeholder(question) or _is_placeholder(answer) or _is_example_echo(question, answer):
            continue
        key = question_key(question)
        if key in seen:
            continue
        seen.add(key)
        kept.append((question, answer))
    return kept
