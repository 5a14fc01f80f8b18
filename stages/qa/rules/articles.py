"""A chunk cut into articles and provisions (caput, §, incisos), each with where it sits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stages.text.fold import squash_ws
from stages.text.legis.acts import SIGNATURE_RE
from stages.text.legis.grammar import (
    ARTICLE_HEAD_RE,
    BODY_END_RE,
    ENUM_ITEM_RE,
    NUMBERED_PARAGRAPH_RE,
    PARAGRAPH_HEAD_RE,
    article_label,
    is_heading_name,
    item_name,
    paragraph_name,
)


@dataclass
class Provision:
    """The caput or one § of an article: its lead and its enumeration (incisos, alíneas, items)."""

    where: str  # "o Art. 7º", "o § 1º do Art. 7º", "o parágrafo único do Art. 7º", "o n.º 2 do Art. 3º"
    lead: str
    items: list[tuple[str, str, str]] = field(default_factory=list)  # ("inciso I", "I -", its text)
    continued: bool = False  # its lead is in an earlier chunk


@dataclass
class ArticleText:
    label: str
    provisions: list[Provision]
    offset: int  # where its head starts in the chunk's text (0 for the continuation of an earlier article)


# ------------------------------------------------------------------------------------------------- cutting


# A lead ending in ":" followed by lines each ending in ";" or ".": an enumeration whose numerals OCR lost or
# moved ("Compete ao Fórum:\n\nVI.\n\nelaborar o Regimento;\n\ndeliberar ...;").
_UNNUMBERED_LIST = re.compile(
    r"^(?P<lead>.+?:)[ \t]*\n(?P<items>(?:\s*[^\n]*[;.][ \t]*(?:\n|$)){2,})", re.DOTALL
)
_STRAY_NUMERAL = re.compile(r"^\s*(?:[IVXLC]+|[a-z]|\d{1,2})[.)]?\s*$")


def _provision(where: str, block: str, continued: bool = False) -> Provision:
    marks = list(ENUM_ITEM_RE.finditer(block))
    lead = squash_ws(block[: marks[0].start()] if marks else block)
    items = []
    for mark, nxt in zip(marks, marks[1:] + [None], strict=False):
        text = squash_ws(block[mark.end() : nxt.start() if nxt else len(block)])
        if re.search(r"[^\W\d_]{3,}", text):
            items.append((item_name(mark), mark.group().strip(), text))
    if not items and (m := _UNNUMBERED_LIST.match(block.strip())):
        lines = [line.strip() for line in m.group("items").split("\n") if line.strip()]
        lead = squash_ws(m.group("lead"))
        items = [(f"item {i}", "", line) for i, line in enumerate(lines, 1) if not _STRAY_NUMERAL.match(line)]
    return Provision(where, lead, items, continued)


def split_article(label: str, body: str, offset: int, continued: bool = False) -> ArticleText:
    """An article's provisions: caput, then each § (or Portugal's numbered paragraph "2 - ...")."""
    body = re.sub(r"^[ \t]*o[ \t]+(?=[A-ZÀ-Ý])", "", body)  # "Art. 4 o O Conselho": the label's º read as "o"
    for end_re in (BODY_END_RE, SIGNATURE_RE):
        # a numeral alone on its line ("VI." where OCR moved an inciso's numeral) is not a heading
        ends = (m for m in end_re.finditer(body) if not _STRAY_NUMERAL.match(m.group()))
        if end := next(ends, None):
            body = body[: end.start()]
    first, _, rest = body.partition("\n")
    if (
        not first.strip()
    ):  # a label alone on its line, perhaps with an epigraph under it ("Artigo 3.º" / "Prazos")
        name, _, after = rest.lstrip("\n").partition("\n")
        if after.strip() and is_heading_name(name):
            body = after
    if numbered := NUMBERED_PARAGRAPH_RE.match(body.lstrip()):  # Portugal: "1 - A propina ..." / "2 - ..."
        body = body.lstrip()[numbered.end() :]
        paras = [m for m in NUMBERED_PARAGRAPH_RE.finditer(body) if m.start() > 0]
    else:
        paras = list(PARAGRAPH_HEAD_RE.finditer(body))
    provisions = [_provision(f"o {label}", body[: paras[0].start()] if paras else body, continued)]
    for para, nxt in zip(paras, paras[1:] + [None], strict=False):
        text = body[para.end() : nxt.start() if nxt else len(body)]
        provisions.append(_provision(f"o {paragraph_name(para)} do {label}", text))
    return ArticleText(label, [p for p in provisions if p.lead or p.items], offset)


def split_chunk(text: str, open_article: str | None) -> list[ArticleText]:
    """Articles headed in `text`; what comes before the first head continues `open_article`, if any (cut at a
    signature, the next act's title or its preamble)."""
    heads = list(ARTICLE_HEAD_RE.finditer(text))
    articles = []
    continuation = text[: heads[0].start() if heads else len(text)]
    stop = re.search(
        r"^[ \t]*(?:CONSIDERANDO|(?!(?:[IVXLC]+|[a-z])\b)[A-ZÀ-Ý]{2,}[ \t]+[A-ZÀ-Ý]{2,})", continuation, re.M
    )
    if stop:
        continuation = continuation[: stop.start()]
    if open_article and continuation.strip():
        cont = split_article(open_article, continuation, 0, continued=True)
        if cont.provisions:
            articles.append(cont)
    for head, nxt in zip(heads, heads[1:] + [None], strict=False):
        label = article_label(text[head.start() :]) or ""
        articles.append(
            split_article(label, text[head.end() : nxt.start() if nxt else len(text)], head.start())
        )
    return articles
