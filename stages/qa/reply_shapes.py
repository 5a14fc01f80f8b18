"""What surrounds the pairs in a chat model's reply: reasoning before the answer, markdown tables, notes after it.

Pure functions; stages/qa/parse.py reads the pairs. The shapes are those of the models people load in LM Studio
and similar servers when the server does not split the reasoning off into `reasoning_content`.
"""

from __future__ import annotations

import re

from stages.text.fold import fold

# Opening and closing markers of a reasoning block, by the models that write them.
_REASONING_OPEN = re.compile(
    r"<think>|<thinking>|<thought>|<reasoning>|<seed:think>"  # R1, Qwen3, QwQ; fine-tunes; EXAONE; Seed-OSS
    r"|\[THINK\]|◁think▷|<\|begin_of_thought\|>|<\|START_THINKING\|>"  # Magistral, Kimi, OpenThinker, Command A
    r"|^Thinking\.\.\.[ \t]*$|Here is my thought process:",  # Ollama's CLI transcript, Granite 3.2
    re.IGNORECASE | re.MULTILINE,
)
_REASONING_CLOSE = re.compile(
    r"</think>|</thinking>|</thought>|</reasoning>|</seed:think>"
    r"|\[/THINK\]|◁/think▷|<\|end_of_thought\|>|<\|END_THINKING\|>"
    r"|^\.\.\.done thinking\.[ \t]*$|Here is my response:",
    re.IGNORECASE | re.MULTILINE,
)
# gpt-oss (harmony): `<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final<|message|>…`,
# or the same with its special tokens decoded away: `analysisWe need…assistantfinal…`.
_HARMONY_CHANNEL = re.compile(r"<\|channel\|>\s*(\w+)[^<]*(?:<\|constrain\|>[^<]*)?<\|message\|>")
_HARMONY_END = re.compile(r"<\|(?:return|end|call)\|>")
_BARE_ANALYSIS = re.compile(r"^\s*analysis(?=[A-Z])")
_BARE_FINAL = "assistantfinal"
_SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z_]+\|>")  # <|begin_of_solution|>, <|im_end|>, <|eot_id|>, ...


def split_reasoning(text: str) -> tuple[str, bool]:
    """The answer part of a reply, and whether its reasoning was left open: cut off, so there is no answer ("").

    Closed reasoning blocks are dropped. A closing marker with no opening one before it ends reasoning that
    began in the prompt (Qwen3 and R1 templates put `<think>` there). gpt-oss's harmony channels count as
    reasoning unless named `final`.
    """
    channels = list(_HARMONY_CHANNEL.finditer(text))
    if channels:
        finals = [m for m in channels if m.group(1).lower() == "final"]
        if not finals:
            return "", True
        text = _HARMONY_END.split(text[finals[-1].end() :])[0]
    elif _BARE_ANALYSIS.match(text):
        if _BARE_FINAL not in text:
            return "", True
        text = text.rsplit(_BARE_FINAL, 1)[1]
    answer: list[str] = []
    pos = 0
    first_open, first_close = _REASONING_OPEN.search(text), _REASONING_CLOSE.search(text)
    if first_close and (not first_open or first_close.start() < first_open.start()):
        pos = first_close.end()
    while opening := _REASONING_OPEN.search(text, pos):
        answer.append(text[pos : opening.start()])
        closing = _REASONING_CLOSE.search(text, opening.end())
        if not closing:
            return "", True
        pos = closing.end()
    answer.append(text[pos:])
    return _SPECIAL_TOKEN.sub("", "".join(answer)), False


# ---------------------------------------------------------------- notes after the answer

# A line that is the model talking about its answer, not part of it: a labelled note, a sign-off, a rule.
_NOTE_LINE = re.compile(
    r"^\s*(?:[-*>#]\s*)*[*_]*\s*(?:"
    r"(?:observa[cç](?:[aã]o|[oõ]es)|obs\.?|notas?|notes?|aviso|importante|disclaimer)\s*[*_]*\s*(?::|$)"
    r"|espero\s+(?:ter\s+ajudado|que\s)|i\s+hope\b|let\s+me\s+know|feel\s+free"
    r"|(?:se\s+(?:precisar|quiser|desejar)|caso\s+(?:precise|queira|deseje))\s+(?:de\s+)?(?:mais|que\s+eu)\b"
    r"|qualquer\s+d[uú]vida"
    r"|fico\s+[àa]\s+disposi|posso\s+(?:ajudar|gerar|criar|elaborar)\b"
    r")"
    r"|^\s*(?:[-*_]\s*){3,}$",
    re.IGNORECASE,
)


def is_note_line(line: str) -> bool:
    """A note ("Observação: …", "Note: …"), a sign-off ("Espero ter ajudado!") or a rule: ends the answer."""
    return bool(_NOTE_LINE.match(line))


# ---------------------------------------------------------------- markdown tables

_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_CLOSING_PIPE = re.compile(r"(?<!\\)\|\s*$")
_QUESTION_HEADER = re.compile(r"(?:pergunta|questao|question|[pq])s?\b")
_ANSWER_HEADER = re.compile(r"(?:resposta|answer|[ra])s?\b")
_CELL_NUMBER = re.compile(r"^[*_]*\d+[.)][*_]*\s+")  # "| **1.** Qual …? |"


def _cells(row: str) -> list[str]:
    """A row's cells: outer pipes dropped, split at unescaped pipes, `\\|` and `<br>` read as text."""
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [re.sub(r"<br\s*/?>", " ", cell.replace("\\|", "|")).strip() for cell in _CELL_SPLIT.split(row)]


def _header_columns(header: list[str]) -> tuple[int, int] | None:
    """Indexes of the question and answer columns ("Pergunta", "**Question**", "Resposta esperada"...)."""
    folded = [fold(cell).strip(" *_#:") for cell in header]
    question = next((i for i, cell in enumerate(folded) if _QUESTION_HEADER.match(cell)), None)
    if question is None:
        return None
    answer = next((i for i, c in enumerate(folded) if i > question and _ANSWER_HEADER.match(c)), None)
    return None if answer is None else (question, answer)


def _row_pair(cells: list[str], width: int, question: int, answer: int) -> tuple[str, str]:
    """A row's question and answer; a row with more cells than the header had a raw `|` in a cell, which
    belongs to the question only when that makes the question end with "?"."""
    joined = [" | ".join(cells[question : question + k + 1]) for k in range(len(cells) - width + 1)]
    split = next((k for k, text in enumerate(joined) if text.rstrip(" *_").endswith("?")), 0)
    after = width - answer - 1  # columns after the answer (a "Fundamento" column)
    return (
        _CELL_NUMBER.sub("", joined[split]),
        " | ".join(cells[answer + split : len(cells) - after]),
    )


def table_pairs(text: str, cut: bool = False) -> list[tuple[str, str]]:
    """Raw (question, answer) cells of every markdown table with a question and an answer column.

    A row the reply may stop in is dropped: one without a closing pipe where the header had one, and the line
    a cut reply ends on (even "| … | … |": a raw pipe in the answer, or a further column, may have come next)."""
    lines = text.splitlines()
    cut_line = len(lines) - 1 if cut and not text.endswith("\n") else -1
    pairs: list[tuple[str, str]] = []
    i = 0
    while i + 1 < len(lines):
        columns = _header_columns(_cells(lines[i])) if "|" in lines[i] else None
        if columns is None or not _SEPARATOR_ROW.match(lines[i + 1]):
            i += 1
            continue
        width, piped = len(_cells(lines[i])), bool(_CLOSING_PIPE.search(lines[i]))
        i += 2
        while i < len(lines) and "|" in lines[i] and lines[i].strip():
            cells = _cells(lines[i])
            complete = i != cut_line and (bool(_CLOSING_PIPE.search(lines[i])) or not piped)
            if complete and len(cells) >= width:
                pairs.append(_row_pair(cells, width, *columns))
            i += 1
    return pairs
