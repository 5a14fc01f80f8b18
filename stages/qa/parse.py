"""Recover (question, answer) pairs from the messy replies of small local chat models.

Pure functions only. `parse_qa_pairs` tries, in order:
1. structured data: every balanced `{...}` / `[...]` span is loaded as JSON, then as a Python literal
   (the single-quoted dict format the original prompt asked for), then once more after repairs
   (trailing commas, raw newlines in strings, `\\'` in JSON, bare keys); a span that still fails is
   searched for smaller spans, so one broken element does not lose its good neighbours;
2. labelled plain text: `Pergunta:`/`Resposta:`, `P:`/`R:`, `Q:`/`A:`, bold, numbered and heading forms.
3. numbered questions with the answer as a paragraph of its own ("1. O que é X?\n\nX é ..."), as small base
   models continue a text.
A reply cut by max_tokens keeps what was complete: a JSON reply cut only at its closing brackets is closed,
the last plain-text pair (perhaps cut mid-answer) is dropped. Empty fields, placeholders and echoes of the
built-in prompt's example pair give nothing.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from typing import Any

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

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|\Z)", re.DOTALL)
_DOUBLE_TYPO = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
# Typographic single quotes used as string delimiters (next to a bracket, comma or colon) become ';
# the ones inside words (d’água) stay apostrophes.
_SINGLE_TYPO_OPEN = re.compile(r"([\[{,:]\s*)[‘’]")
_SINGLE_TYPO_CLOSE = re.compile(r"[‘’](\s*[\]},:])")

_LABEL = r"(?:[-*•>]\s*|\d+\s*[.)-]\s*|#+\s*)*[*_]*\s*"
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


def fold(text: str) -> str:
    """Lower case without accents: the form keys and questions are compared in."""
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in nfkd if not unicodedata.combining(c))


def normalize_question(question: str) -> str:
    """Key for duplicate detection: folded, letters and digits only."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(question)))


def _clean(value: Any) -> str:
    """A field as one tidy line: markdown emphasis, wrapping quotes, "A resposta é:" and extra spaces removed."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return ""
    text = re.sub(r"\s+", " ", str(value)).strip()
    text = re.sub(r"^(?:a\s+)?resposta\s+é\s*:\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^[*_]+|[*_]+$", "", text).strip()
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
    return normalize_question(question) == normalize_question(PROMPT_EXAMPLE_QUESTION) or normalize_question(
        answer
    ) == normalize_question(PROMPT_EXAMPLE_ANSWER)


# ---------------------------------------------------------------- structured replies


def _scan_spans(text: str, start: int, end: int) -> tuple[list[tuple[int, int]], bool]:
    """Top-level balanced bracket spans in text[start:end], and whether one is left open.

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
    return spans, depth > 0


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


def _closers(text: str) -> str | None:
    """The brackets that close a reply cut only after its last complete value ('}]}' for
    `{"pares": [{"pergunta": "…?", "resposta": "…"`); None when it was cut inside a string or a key."""
    stack: list[str] = []
    quote, i = "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'" and stack:
            quote = ch
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
        i += 1
    if quote or not stack:
        return None
    tail = text.rstrip()
    if not tail.endswith(('"', "'", "}", "]")):
        return None  # cut after a key, a colon or a comma: the last value is not complete
    return "".join(reversed(stack))


def _structured_pairs(text: str, start: int, end: int) -> tuple[list[tuple[str, str]], bool]:
    """Pairs from every span in text[start:end]; True when the reply stops inside an open span.

    A reply cut only at its closing brackets, after a complete last value, is closed and read."""
    spans, left_open = _scan_spans(text, start, end)
    if left_open and (closers := _closers(text[start:end])) is not None:
        closed = text[start:end] + closers
        spans, left_open = _scan_spans(closed, 0, len(closed))
        text, start, end = closed, 0, len(closed)
    pairs: list[tuple[str, str]] = []
    for s, e in spans:
        data = _load(text[s:e])
        if data is _FAILED:  # one broken element: look for good ones inside
            inner, _ = _structured_pairs(text, s + 1, e - 1)
            pairs.extend(inner)
        else:
            pairs.extend(_pairs_from_data(data))
    truncated = left_open and bool(re.search(r"pergunta|question|resposta|answer", fold(text[start:end])))
    return pairs, truncated


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
        if q_match:
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
        elif not line.strip():
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


def parse_qa_pairs(text: str, cut: bool = False) -> list[tuple[str, str]]:
    """(question, answer) pairs found in a model's reply; [] when there are none.

    `cut`: the reply was stopped by max_tokens. Its last plain-text pair may be incomplete and is dropped;
    a structured reply counts only if it was cut after its last complete value (see `_closers`)."""
    if not text or not text.strip():
        return []
    text = _THINK.sub("", text)
    # Typographic quotes are tried as delimiters only when the reply does not parse as it is:
    # inside a well-formed JSON string “these” are content.
    typo_fixed = text.translate(_DOUBLE_TYPO)
    typo_fixed = _SINGLE_TYPO_CLOSE.sub(r"'\1", _SINGLE_TYPO_OPEN.sub(r"\1'", typo_fixed))
    pairs: list[tuple[str, str]] = []
    for variant in dict.fromkeys((text, typo_fixed)):
        fenced = [m.group(1) for m in _FENCE.finditer(variant)]
        body = "\n".join(fenced) if fenced else variant
        pairs, truncated = _structured_pairs(body, 0, len(body))
        if truncated:
            return []
        if not pairs:
            plain = max(_plain_pairs(body), _numbered_pairs(body), key=len)  # the reading that finds more
            if cut and plain and _ends_with(body, plain[-1][1]):
                plain = plain[:-1]  # the reply stops inside its last answer
            pairs = plain
        if pairs:
            break

    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    for question, answer in pairs:
        if _is_placeholder(question) or _is_placeholder(answer) or _is_example_echo(question, answer):
            continue
        key = normalize_question(question)
        if key in seen:
            continue
        seen.add(key)
        kept.append((question, answer))
    return kept
