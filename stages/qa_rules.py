"""The offline `rules` backend: questions from the structure of legislation, answers copied from it.

Deterministic and pure. Per article (`Art. 7º`, however the text spells it: "Art. 7°", "ART. 7º", "Artigo 7.º"):
what the caput establishes; definitions (`considera-se:` / `entende-se por:` followed by `I – termo: definição`
or Portugal's `a) «Termo», definição`, or `X é …`) → "O que é X?"; enumerations (incisos "I –" / "I)" / "I.",
alíneas "a)" / "a.", items "1.") → "Quais …?"; deadlines, money and percentages → "Qual o prazo / valor /
percentual …?"; each §, parágrafo único and Portugal's numbered paragraph ("2 - …", cited "n.º 2") → "O que
dispõe …?". Every answer is a verbatim span of the chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.legis import (
    ARTICLE_HEAD_RE,
    BODY_END_RE,
    CLAUSE_END_RE,
    ENUM_ITEM_RE,
    NUMBERED_PARAGRAPH_RE,
    PARAGRAPH_HEAD_RE,
    article_label,
    is_heading_name,
    item_name,
    paragraph_name,
)

# "estágio obrigatório: aquele definido ..." / Portugal's "«Estudante», a pessoa inscrita ..."
_DEFINITION_ITEM = re.compile(r"^((?:«([^»]{2,60})»,?|([^:;]{2,60}):)\s*.+?)[;.]?$")
_UNDERSTOOD_AS = ("entende-se por", "entendem-se por")  # asked "O que se entende por X?", as Portugal writes
_DEFINES = ("considera-se", "consideram-se", "define-se", "definem-se", *_UNDERSTOOD_AS)
_IS_DEFINITION = re.compile(
    r"^(?:(?:O|A|Os|As)\s+)?([^,;:]{3,60}?)\s+(é|são)\s+(?:o|a|os|as|um|uma)\s+(.{10,})$"
)
_DEADLINE = re.compile(
    r"\d+\s*(?:\([^)]*\)\s*)?(?:dias|horas|meses|anos|semanas)\b|\bprazo\b[^.;]{0,40}\d", re.IGNORECASE
)
_MONEY = re.compile(r"R\$\s*[\d.,]+")
_PERCENT = re.compile(r"\d+(?:,\d+)?\s*%|por cento", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{3,}")  # a word of three letters or more

MAX_ANSWER_CHARS = 600  # longer spans are cut at a sentence end (or kept whole if none is close)


@dataclass(frozen=True)
class Article:
    label: str  # "Art. 7º"
    caput: str  # text before the first § / inciso
    items: list[tuple[str, str]]  # ("inciso I" / "alínea a", its text) for the caput's enumeration
    items_text: str  # the whole enumeration, verbatim
    paragraphs: list[tuple[str, str]]  # ("§ 1º", text) / ("parágrafo único", text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _first_sentences(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """The leading sentences of `text` within `limit` characters (at least one whole sentence)."""
    text = _squash(text)
    if len(text) <= limit:
        return text
    out = ""
    for sentence in CLAUSE_END_RE.split(text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    return out


def _drop_epigraph(body: str) -> str:
    """The body without the epigraph under a label alone on its line ("Artigo 3.º" / "Prazos de pagamento")."""
    first, _, rest = body.partition("\n")
    if first.strip():  # the caput follows the label on its line
        return body
    name, _, after = rest.lstrip("\n").partition("\n")
    return after if after.strip() and is_heading_name(name) else body


def split_articles(text: str) -> list[Article]:
    """Articles headed inside the chunk; text before the first heading (a continuation) is skipped."""
    heads = list(ARTICLE_HEAD_RE.finditer(text))
    articles = []
    for head, nxt in zip(heads, heads[1:] + [None], strict=False):
        body = text[head.end() : nxt.start() if nxt else len(text)]
        if end := BODY_END_RE.search(body):
            body = body[: end.start()]
        label = article_label(text[head.start() :]) or ""
        body = _drop_epigraph(body)
        # Portugal: "1 - A propina é paga ..." / "2 - O pagamento ...": n.º 1 is the caput, the rest paragraphs.
        if first := NUMBERED_PARAGRAPH_RE.match(body.lstrip()):
            body = body.lstrip()[first.end() :]
            paras = [m for m in NUMBERED_PARAGRAPH_RE.finditer(body) if m.start() > 0]
        else:
            paras = list(PARAGRAPH_HEAD_RE.finditer(body))
        caput_block = body[: paras[0].start()] if paras else body
        marks = list(ENUM_ITEM_RE.finditer(caput_block))
        caput = _squash(caput_block[: marks[0].start()] if marks else caput_block)
        items = []
        for mark, nxt_mark in zip(marks, marks[1:] + [None], strict=False):
            item_text = _squash(caput_block[mark.end() : nxt_mark.start() if nxt_mark else len(caput_block)])
            items.append((item_name(mark), item_text))
        items_text = _squash(caput_block[marks[0].start() :]) if marks else ""
        paragraphs = []
        for para, nxt_para in zip(paras, paras[1:] + [None], strict=False):
            para_text = _squash(body[para.end() : nxt_para.start() if nxt_para else len(body)])
            paragraphs.append((paragraph_name(para), para_text))
        if caput:
            articles.append(Article(label, caput, items, items_text, paragraphs))
    return articles


def _number_questions(where: str, sentence: str) -> list[tuple[str, str]]:
    """Deadline / value / percentage questions for one sentence of `where` (e.g. "o Art. 4º, § 1º")."""
    out = []
    if _DEADLINE.search(sentence):
        out.append((f"Qual o prazo estabelecido {where}?", sentence))
    elif _MONEY.search(sentence):
        out.append((f"Qual o valor estabelecido {where}?", sentence))
    elif _PERCENT.search(sentence):
        out.append((f"Qual o percentual estabelecido {where}?", sentence))
    return out


def rules_pairs(text: str, title: str = "") -> list[tuple[str, str]]:
    """All (question, answer) pairs the rules find in one chunk; `title` names the act in the questions."""
    of_act = (
        f" da {title}" if title.split(" ")[0].lower() in {"portaria", "lei", "resolução", "instrução"} else ""
    )
    if title and not of_act:
        of_act = f" do {title}"
    pairs: list[tuple[str, str]] = []
    for art in split_articles(text):
        where = f"no {art.label}{of_act}"
        lead = f"{art.caput} {art.items_text}" if art.items else art.caput
        pairs.append((f"O que estabelece o {art.label}{of_act}?", _first_sentences(lead)))
        defines = art.caput.rstrip(": ").lower().endswith(_DEFINES)
        verb = "entende por" if art.caput.rstrip(": ").lower().endswith(_UNDERSTOOD_AS) else "considera"
        if art.items:
            if defines:
                for match in filter(None, (_DEFINITION_ITEM.match(item) for _, item in art.items)):
                    term = (match.group(2) or match.group(3)).strip()
                    question = f"O que se {verb} {term}, segundo o {art.label}{of_act}?"
                    pairs.append((question, match.group(1)))
            else:
                pairs.append((f"Quais são os itens enumerados {where}?", _first_sentences(art.items_text)))
        definition = _IS_DEFINITION.match(art.caput)
        if definition and len(definition.group(1).split()) <= 6 and not art.caput.endswith(":"):
            term = definition.group(1).strip()
            term = term[:1].lower() + term[1:] if term[1:2].islower() else term
            pairs.append(
                (f"O que {definition.group(2)} {term}{', segundo o ' + art.label + of_act}?", art.caput)
            )
        for sentence in CLAUSE_END_RE.split(art.caput):
            pairs.extend(_number_questions(where, sentence))
        for item_label, item in art.items:
            if not defines:
                pairs.extend(_number_questions(f"{where}, {item_label}", item))
        for name, para_text in art.paragraphs:
            para_where = f"no {name} do {art.label}{of_act}"
            pairs.append((f"O que dispõe o {name} do {art.label}{of_act}?", _first_sentences(para_text)))
            pairs.extend(_number_questions(para_where, _first_sentences(para_text)))
    return _dedupe(pairs)


def _dedupe(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """First pair per question; none whose answer has no word (a chunk cut right after "Art. 11. O")."""
    seen: set[str] = set()
    out = []
    for question, answer in pairs:
        if question not in seen and _WORD.search(answer):
            seen.add(question)
            out.append((question, answer))
    return out
