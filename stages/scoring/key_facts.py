"""Key facts of an answer (numbers, dates, money, references), in canonical form, for evaluation."""

from __future__ import annotations

import re
from typing import Any

from stages.text.fold import fold

# ---------------------------------------------------------------------------------------------
# Quantities and references in running text (evaluation's key facts). These patterns read text that is
# case- and accent-folded by fold_text() ("º" spelled "o"); key_facts() turns what they find into canonical
# strings, so "30 (trinta) dias", "trinta dias" and "30 dias" all give "num:30".
# ---------------------------------------------------------------------------------------------
NUMBER_WORDS = {
    **dict.fromkeys(["um", "uma"], 1), **dict.fromkeys(["dois", "duas"], 2), "tres": 3, "quatro": 4,
    "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13,
    **dict.fromkeys(["catorze", "quatorze"], 14), "quinze": 15, **dict.fromkeys(["dezesseis", "dezasseis"], 16),
    **dict.fromkeys(["dezessete", "dezassete"], 17), "dezoito": 18, **dict.fromkeys(["dezenove", "dezanove"], 19),
    "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80,
    "noventa": 90, "cem": 100, "cento": 100, **dict.fromkeys(["duzentos", "duzentas"], 200),
    **dict.fromkeys(["trezentos", "trezentas"], 300), **dict.fromkeys(["quatrocentos", "quatrocentas"], 400),
    **dict.fromkeys(["quinhentos", "quinhentas"], 500), **dict.fromkeys(["seiscentos", "seiscentas"], 600),
    **dict.fromkeys(["setecentos", "setecentas"], 700), **dict.fromkeys(["oitocentos", "oitocentas"], 800),
    **dict.fromkeys(["novecentos", "novecentas"], 900),
}  # fmt: skip
MONTHS = ("janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")  # fmt: skip
_NUMBER_WORD = "(?:" + "|".join(sorted([*NUMBER_WORDS, "mil"], key=len, reverse=True)) + ")"
WORD_NUMBER = rf"{_NUMBER_WORD}(?:\s+(?:e\s+)?{_NUMBER_WORD})*"  # "setenta e cinco", "mil e duzentos"
DIGITS = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"  # 30 / 1.200,50 / 0,5
# what a spelled-out number must precede to count (a lone "um"/"uma" is mostly an article)
QUANTITY_UNIT = (
    r"(?:dias?|semanas?|mes|meses|anos?|horas?|minutos?|semestres?|periodos?|vezes|creditos?|salarios?|"
    r"membros?|vagas?|disciplinas?|parcelas?|por\s+cento|reais)"
)
# "30 (trinta) dias", "R$ 1.200,00 (mil e duzentos reais)": the words restate the digits before them
RESTATED_NUMBER_RE = re.compile(rf"\(\s*{WORD_NUMBER}(?:\s+(?:por\s+cento|reais))?\s*\)")
NUMERIC_DATE_RE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
WRITTEN_DATE_RE = re.compile(rf"\b(\d{{1,2}})o?\s+de\s+({'|'.join(MONTHS)})\s+de\s+(\d{{4}})\b")
MONEY_RE = re.compile(rf"r\$\s*({DIGITS})")
PERCENT_RE = re.compile(rf"\b({DIGITS})\s*(?:%|por\s+cento)|\b({WORD_NUMBER})\s+por\s+cento")
ARTICLE_REF_RE = re.compile(r"\bart(?:igo|\.)?s?\s*(\d{1,3}(?:\.\d{3})+|\d+)")  # Art. 1.027 (Código Civil)
PARAGRAPH_REF_RE = re.compile(r"(?:§|\bparagrafo)\s*(\d+|unico)")
NUMBER_RE = re.compile(rf"\b({DIGITS})\b")
WORD_QUANTITY_RE = re.compile(rf"\b({WORD_NUMBER})\s+(?=(?:\([^)]*\)\s+)?{QUANTITY_UNIT}\b)")


def fold_text(text: str) -> str:
    """The one fold, with a degree sign written as an ordinal read as one: 'Parágrafo Único do Art. 5°' ->
    'paragrafo unico do art. 5o'."""
    return fold(text).replace("°", "o")


def words_to_number(words: str) -> int | None:
    """'setenta e cinco' -> 75, 'mil e duzentos' -> 1200 (folded words); None if a word is not a number."""
    total, current = 0, 0
    for word in words.split():
        if word == "e":
            continue
        if word == "mil":
            total, current = total + max(current, 1) * 1000, 0
        elif word in NUMBER_WORDS:
            current += NUMBER_WORDS[word]
        else:
            return None
    return total + current


def _number(digits: str) -> str:
    """'1.200,50' -> '1200.5', '30' -> '30', '2,00' -> '2'."""
    value = float(digits.replace(".", "").replace(",", "."))
    return str(int(value)) if value == int(value) else repr(value)


def key_facts(text: str) -> set[str]:
    """Canonical facts of `text`: 'date:2015-10-29', 'money:1200', 'pct:75', 'art:5', 'par:2', 'par:unico',
    'num:30'. A span is read once, most specific kind first (a date's day is not also a number)."""
    folded = RESTATED_NUMBER_RE.sub(" ", fold_text(text))
    facts: set[str] = set()

    def spoken(words: str, kind: str) -> str | None:
        value = words_to_number(words)
        return None if value is None else f"{kind}:{value}"

    readers: list[tuple[re.Pattern[str], Any]] = [
        (NUMERIC_DATE_RE, lambda m: f"date:{int(m[3]):04d}-{int(m[2]):02d}-{int(m[1]):02d}"),
        (WRITTEN_DATE_RE, lambda m: f"date:{int(m[3]):04d}-{MONTHS.index(m[2]) + 1:02d}-{int(m[1]):02d}"),
        (MONEY_RE, lambda m: f"money:{_number(m[1])}"),
        (PERCENT_RE, lambda m: f"pct:{_number(m[1])}" if m[1] else spoken(m[2], "pct")),
        (ARTICLE_REF_RE, lambda m: f"art:{int(m[1].replace('.', ''))}"),
        (PARAGRAPH_REF_RE, lambda m: f"par:{m[1] if m[1] == 'unico' else int(m[1])}"),
        (NUMBER_RE, lambda m: f"num:{_number(m[1])}"),
        (WORD_QUANTITY_RE, lambda m: spoken(m[1], "num")),
    ]
    for pattern, read in readers:
        facts.update(f for f in map(read, pattern.finditer(folded)) if f)
        folded = pattern.sub(" ", folded)
    return facts
