"""Roman numerals, ordinals and the paragraph sign as OCR and broken text layers misread them."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from stages.text.legis.grammar import ALINEA_RE, DASH, INCISO_RE, ROMAN

# ---------------------------------------------------------------------------------------------
# Roman numerals and their OCR misreads. Legislation numbers its parts in sequence, so a numeral one edit
# away from the expected next one is that one: "Il –"/"IH –" -> "II –", "TÍTULO HI" -> "TÍTULO III",
# "Art. 32º" after Art. 2º -> "Art. 3º", and "$ 1º"/"8 2º" at a line start -> "§ 1º".
# ---------------------------------------------------------------------------------------------
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(n: int) -> str:
    out = []
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                       (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):  # fmt: skip
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


def from_roman(s: str) -> int | None:
    """The value of a canonical roman numeral, else None."""
    if not s or any(c not in _ROMAN_VALUES for c in s):
        return None
    total = 0
    for a, b in zip(s, s[1:] + " ", strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES[b] > v else v
    return total if to_roman(total) == s else None


# How OCR spells the strokes of a roman numeral: "H" is two bridged strokes (II), "l", "1" and "|" are I.
OCR_ROMAN = str.maketrans({"H": "II", "l": "I", "1": "I", "|": "I"})
# The dash after an inciso numeral may come doubled ("I-— texto", "II —- texto").
INCISO_MISREAD_RE = re.compile(r"^([IVXLHWl1|]{1,7})\s*([-–—]{1,2})\s+")
# Not `\b` after the numeral: "CAPÍTULO |" (a bar for "I") has no word boundary after the bar.
HEADING_NUM_RE = re.compile(
    r"^((?i:T[ÍI]TULO|CAP[ÍI]TULO|SE[ÇC][ÃA]O|SUBSE[ÇC][ÃA]O|LIVRO))\s+([IVXLHl1|]{1,7})(?![^\W_]|-[A-Z]\b)"
)  # "CAPÍTULO HI", "Título |", "Capítulo Il"; not "Seção IV-A" (a section inserted by an amendment)
HEADING_LEVELS = ("LIV", "TÍT", "TIT", "CAP", "SEÇ", "SEC", "SUB")  # first letters, outermost first
# "Art. 32º" / "ART. 32º": an ordinal on a two-digit number is a misread (10+ never take º).
ARTICLE_NUM_RE = re.compile(r"^((?:Art|ART)(?:igo|IGO|\.)?\s*)(\d{2,4})º")
PARAGRAPH_MISREAD_RE = re.compile(
    rf"^(?:\$\s?|8\s|S\s)(?=\d{{1,2}}º\s*(?:{DASH}\s*)?[A-ZÀ-Ý])"
)  # not "82º Congresso"


def enumeration_ordinal(line: str) -> int | None:
    """Position of the inciso ("IV –" -> 4) or alínea ("b)" -> 2) that `line` starts, else None."""
    if INCISO_RE.match(line):
        return from_roman(re.match(ROMAN, line).group())  # type: ignore[union-attr]
    if ALINEA_RE.match(line):
        return ord(line[0]) - ord("a") + 1
    return None


def expected_numeral(token: str, expected: int) -> int | None:
    """`expected` when `token` reads as it with at most one OCR error, else the token's own value when
    it is a valid numeral (the numbering restarted or skipped), else None."""
    read = token.translate(OCR_ROMAN)
    value = from_roman(read)
    if read == token and value == expected + 1:
        return value  # "II" where I was expected: the I was lost or unrecognized, this one is right
    if value == expected or Levenshtein.distance(read, to_roman(expected)) <= 1:
        return expected
    return value


# ---------------------------------------------------------------------------------------------
# Real layouts: the paragraph sign, ordinals and inciso numerals as OCR and broken text layers write
# them. Measured on the real UFAM corpus and renderings of its born-digital acts (docs/benchmarks/real.md).
# ---------------------------------------------------------------------------------------------
# "$ 1º", "$3º", "o $ 2º do art. 5º", "$$ 1º e 2º": a dollar sign where a § belongs (OCR's commonest misread
# of §). Never "R$ 100,00" / "US$ 5" (a letter before it) nor an amount "$ 1.000,00" (digits, then a period or
# comma and more digits).
DOLLAR_PARAGRAPH_RE = re.compile(r"(?<![\w$])(\$\$?)(?=\s?\d{1,3}(?!\d)(?![.,]\d))")
# ... and one glued to the word before it, where OCR lost the space: "a mesma sistemática do$1º deste artigo" (a
# small letter before it, an ordinal after it: never money, "R$ 1º" neither).
GLUED_DOLLAR_PARAGRAPH_RE = re.compile(r"(?<=[a-zà-ÿ])\$(?=\d{1,2}º)")
# A § OCR read as "8" where a sentence cites a paragraph: "o 8 10 do art. 1º", "no 8 2º deste artigo" (two numbers
# side by side, the second a paragraph's, then what it belongs to: never Portuguese otherwise). Group 1: the
# article or preposition before it.
_CITING_EIGHT = r"\b((?:o|no|do|ao|pelo|os|nos|dos|aos|pelos)\s)8"
EIGHT_PARAGRAPH_RE = re.compile(
    _CITING_EIGHT + r"(?=\s\d{1,2}º?,?\s(?:do\s+art(?:\.|igo\b)|deste\s+artigo|desta\s+lei))"
)
# The same with the sign glued to its number ("§2º" read "82º"): "do 82º, do Art. 2º", "no 81º deste Artigo".
# Ordinals of 10 and more are real in other places: "o 82º Congresso", "148º da Independência e 81º da República".
EIGHT_GLUED_PARAGRAPH_RE = re.compile(_CITING_EIGHT + r"(?=[1-9]º(?:[,;)]|\s+(?:deste|desta|do\s+[Aa]rt)))")
# A paragraph label at a line start read that way ("86º A operacionalização"): clean takes it only inside an
# article, for the paragraph expected next (or the one after, a label lost between them).
PARAGRAPH_GLUED_EIGHT_RE = re.compile(r"^8([1-9])º(?=\s+[A-ZÀ-Ý])")
# Incisos a sentence cites, with their numerals' strokes misread: "nos incisos | e Il deste artigo", "inciso Ill".
_CITED_NUMERAL = r"[IVXLl|H]{1,7}"
CITED_INCISOS_RE = re.compile(
    rf"\b(incisos?\s+)({_CITED_NUMERAL}(?:(?:\s*,\s*|\s+e\s+|\s+a\s+){_CITED_NUMERAL})*)(?=[\s,.;:)]|$)"
)
_CITED_NUMERAL_RE = re.compile(_CITED_NUMERAL)


def _cited_incisos(m: re.Match[str]) -> str:
    def numeral(t: re.Match[str]) -> str:
        read = t.group(0).translate(OCR_ROMAN)
        return read if from_roman(read) is not None else t.group(0)

    return m.group(1) + _CITED_NUMERAL_RE.sub(numeral, m.group(2))


# A superscript ordinal that a text layer wrote as a separate letter: "§ 2 o Os", "Art. 4 o A", "Lei n o 9.394".
SUPERSCRIPT_ORDINAL_RE = re.compile(r"((?:§|\bArt\.?)\s?[1-9]) o(?=\s+[A-ZÀ-Ý]|[,.;:])")
SUPERSCRIPT_NUMERO_RE = re.compile(r"\b([nN]) o (?=\d)")
# A paragraph label at a line start whose sign and ordinal OCR misread: "8 20 Os", "820 A", "$ 1 0 O", "81 o No",
# "S 3º A", "§ 20 Os" (the number: group 1 or 2, 1-9). Taken only when it is the number expected next (clean's
# fix_numbering); "§ 2º", "§ 2°" and "§ 2o" are spellings the grammar reads as they are.
PARAGRAPH_OCR_RE = re.compile(
    rf"^(?:[$S8]\s?([1-9])\s?(?:[º°oO0]|\.º)|§\s?([1-9])\s?[0O])\.?(?=\s+[A-ZÀ-Ý]|\s?{DASH}\s*[A-ZÀ-Ý])"
)
PARAGRAPH_NUMBER_RE = re.compile(r"^§\s?(\d{1,3})")
# A stray mark OCR read before an article's or a paragraph's label ("— Art. 128 - Os", "| § 2º"): not the text.
LEADING_MARK_RE = re.compile(r"^[—–\-|~•·*_'`]{1,3}\s+(?=(?:Art\.?|ART\.?|§)\s?\d)")
# From the 10th on a paragraph's number is cardinal ("§ 10. A concessão"): "8 10. A", "$ 11. As" (clean takes it
# only when it is the number expected next).
PARAGRAPH_OCR_CARDINAL_RE = re.compile(r"^[$S8]\s?(\d{2})\.(?=\s+[A-ZÀ-Ý])")
# An article label whose ordinal OCR read as a digit: "Art. 90 O PET" for "Art. 9º O PET", "Art. 22 É proibido"
# and "Art. 32 A instituição" for "Art. 2º" and "Art. 3º" (group 2: 1-9; group 3: the digit read for the "º").
ORDINAL_MISREADS = "0O2"  # what tesseract reads for a small raised "º" after a digit
ARTICLE_OCR_ORDINAL_RE = re.compile(rf"^(Art\.?)\s?([1-9])\s?([{ORDINAL_MISREADS}])(?=\s+[A-ZÀ-Ý]|\s?[-–—])")
# An article label whose period OCR read as a comma ("Art, 30. Esta Instrução", "Art, 10 + O discente"): at a line
# start "Art," before a number is nothing else.
ARTICLE_COMMA_RE = re.compile(r"^(Art|ART)\s?,(?=\s?\d{1,4}(?:º|\.|\s))")
# An article label whose "Art" OCR misread ("Att. 8º A importação", "Arl. 3º", "Ari. 5º", "Aft. 2º"): one letter of
# "Art" wrong, then the number with its ordinal and a capital. Taken only for the article expected next (clean).
ARTICLE_WORD_MISREAD_RE = re.compile(r"^(?:A[tlIif1]t|Ar[lIi1f]|Aft)\.\s?([1-9])º(?=\s+[A-ZÀ-Ý]|\s?[-–—])")
# An article label whose number OCR lost ("Art. O reconhecimento …" between Art. 6º and Art. 8º), and one OCR read
# behind an opening quote ("“Art.21 O ingresso …" between Art. 20 and Art. 22): a quote also opens an article an
# amending act cites, so both are taken only where the number fits between the articles before and after (clean).
# The word after "Art." is no Roman numeral's letters ("Art. Il -").
ARTICLE_NUMBER_LOST_RE = re.compile(r"^(Art\.)\s?(?=(?![IVXL][IVXLl]*\b)[A-ZÀ-Ý](?:[a-zà-ý]|\s))")
ARTICLE_QUOTED_RE = re.compile(r"^[“\"]\s?(?=Art\.?\s?\d)")
# An article number with a digit OCR read as a letter ("Art. i4 - Ao término" for Art. 14): taken only where the
# articles before and after pin the number (clean).
ARTICLE_GARBLED_NUMBER_RE = re.compile(
    r"^(Art\.)\s?(?=[0-9iIl|!oO]{1,3}[º°.]?\s)(?=\S*\d)(?!\d+[º°.]?\s)[0-9iIl|!oO]{1,3}[º°]?"
)
# What follows an article cited at a line start ("Art. 5º da Lei nº 9.394", "Art. 3º, inciso II"), not a label.
CITED_ARTICLE_TAIL_RE = re.compile(r"\s*(?:(?:d[aoe]s?|dest[ae]s?|n[ao]s?)\b|[,(])")
# An inciso numeral OCR garbled at a line start ("IR pelo", "HI. representação", "Ê o Pró-Reitor", "J; elaborar",
# "MI.", "XIL —", "Vil", "Mill"): up to 5 numeral-like glyphs, an optional separator, then a lower-case word; or
# the numeral's period glued to the word ("lll.Representar", "Hll.extemporânea": the gap lost); or no numeral at all
# before its period (". o Pró-Reitor": a first "I" lost; clean takes an empty one only for the first inciso).
INCISO_OCR_RE = re.compile(
    rf"^([IVXLHWMlJRÊÍi1|!\[]{{0,5}})\s?([.;:,)]|\s?{DASH}{{1,2}})?(?:\s+|(?<=[.)])(?=[^\W\d_]{{3}}))"
    r"(?=[a-zà-ú]|(?<=[.;:,)R–—-]\s)[A-ZÀ-Ý]|(?<=[.)])[A-ZÀ-Ý])"  # a capital after a separator: "l. Professor"
)
# How those glyphs read as numeral strokes: "H" two bridged strokes, "M" a V with a stray stroke, "R" the period
# after a numeral read together with the gap after it (tesseract: "I.     pelo" -> "IR pelo").
OCR_ROMAN_GLYPHS = str.maketrans(
    {"H": "II", "l": "I", "1": "I", "|": "I", "!": "I", "J": "I", "Í": "I", "Ê": "I", "i": "I", "W": "II",
     "M": "V", "R": "", "[": "I"}
)  # fmt: skip
INCISO_STYLE_RE = re.compile(rf"^{ROMAN}(\.|\)|\s?{DASH})\s")
# U+FFFD where legal text has a sign or an ordinal (a text layer whose font maps every non-ASCII glyph to U+FFFD):
# "no \ufffd 2\ufffd do art." -> "no § 2º do art.", "art. 4\ufffd", "1\ufffd de dezembro", "194\ufffd da Independência",
# "n\ufffd 9.394" -> "nº 9.394".
FFFD = "\ufffd"
FFFD_LEGAL = (
    (re.compile(rf"(?<![\w{FFFD}]){FFFD}{FFFD}(?= ?\d)"), "§§"),
    (re.compile(rf"(?<![\w{FFFD}]){FFFD}(?= ?\d)"), "§"),
    (re.compile(rf"(§ ?\d{{1,3}}){FFFD}"), r"\1º"),
    (re.compile(rf"(\b[Aa]rt\.? ?\d{{1,3}}){FFFD}"), r"\1º"),
    (re.compile(rf"(\d{{1,3}}){FFFD}(?= d[aeo]s? )"), r"\1º"),
    (re.compile(rf"\b([nN]){FFFD}(?= ?\d)"), r"\1º"),
)


# Ordinals and the number sign as text layers write a raised "o" (Planalto's and the DOU's <sup>o</sup>): "Art. 1o",
# "§ 2o", "188o da Independência", "Lei no 9.394", "Decreto-Lei no 1.044", "Portaria MF no 30", "PORTARIA No - 1.632"
# (the DOU underlines the raised o: a "-" after it). The scan of the same page reads "º": one spelling for both.
# Not the preposition: "definidos no 11", "nos 3 (três) dias" (no act named before it), nor "1.000o" / "A4o".
TEXT_ORDINAL_RE = re.compile(r"(?<![\w.,/-])(\d{1,3})o(?!\w)")
_ACT_WORDS = (
    r"(?i:lei|leis|decreto|decretos|decreto-lei|provis[óo]ria|complementar|constitucional|portarias?|resolu[çc][ãa]o"
    r"|resolu[çc][õo]es|processo|parecer|edital|normativa|of[íi]cio|ato|emenda|delibera[çc][ãa]o|decis[ãa]o)"
)
TEXT_NUMBER_SIGN_RE = re.compile(
    rf"(\b{_ACT_WORDS}(?:\s+[A-Z]{{2,}}(?:/[A-Z]{{2,}})*)?\s+)([Nn])o(s?)\s?(?:-\s?)?(?=\d)"
)


# ... and as a letter of its own, after a space (the Planalto's compiled laws as pdfium reads them): "Art. 8 o É",
# "§ 1 o do art. 2 o desta Lei", "Decreto-Lei n o 5.452", "as Leis n os 6.494", "de 1 o de maio de 1943". An
# article or paragraph numbered 1-9 always takes the ordinal (LC 95/1998, art. 10, I), and so does a month's
# first day; "n o"/"n os" before a number is the number sign. Not "o art. 5, o prazo" (a comma between).
SPACED_ORDINAL_RE = re.compile(r"((?:§|\b[Aa]rts?\.)\s?[1-9]) o(?!\w)")
# the next numbers of a list after one so mended: "§§ 1º e 2 o", "arts. 1º, 2 o e 3 o"
SPACED_ORDINAL_NEXT_RE = re.compile(r"(\dº(?:,| e| a|, e) [1-9]) o(?!\w)")
SPACED_NUMBER_SIGN_RE = re.compile(r"\b([nN]) o(s?) (?=\d)")
SPACED_FIRST_DAY_RE = re.compile(
    r"\b1 o(?= de (?:janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro)\b)",
    re.IGNORECASE,
)


def fix_text_ordinals(text: str) -> tuple[str, int]:
    """ "Art. 1o" -> "Art. 1º", "Lei no 9.394" -> "Lei nº 9.394", "PORTARIA No - 1.632" -> "PORTARIA Nº 1.632",
    "§ 1 o do art. 2 o" -> "§ 1º do art. 2º", "Leis n os 6.494" -> "Leis nºs 6.494", "1 o de maio" -> "1º de maio"."""
    text, n = TEXT_NUMBER_SIGN_RE.subn(lambda m: f"{m.group(1)}{m.group(2)}º{m.group(3)} ", text)
    text, k = TEXT_ORDINAL_RE.subn(r"\1º", text)
    text, spaced = SPACED_ORDINAL_RE.subn(r"\1º", text)
    more = spaced
    while more:  # each pass reaches one number further along a list
        text, more = SPACED_ORDINAL_NEXT_RE.subn(r"\1º", text)
        spaced += more
    text, signs = SPACED_NUMBER_SIGN_RE.subn(r"\1º\2 ", text)
    text, days = SPACED_FIRST_DAY_RE.subn("1º", text)
    return text, n + k + spaced + signs + days


def fix_signs(line: str) -> str:
    """ "$ 1º" -> "§ 1º" (never R$), "do$1º" -> "do § 1º", "o 8 10 do art." -> "o § 10 do art.",
    "§ 2 o Os" -> "§ 2º Os", "n o 9.394" -> "nº 9.394"."""
    line = DOLLAR_PARAGRAPH_RE.sub(lambda m: "§" * len(m.group(1)), line)
    line = GLUED_DOLLAR_PARAGRAPH_RE.sub(" § ", line)
    line = EIGHT_PARAGRAPH_RE.sub(r"\1§", line)
    line = EIGHT_GLUED_PARAGRAPH_RE.sub(r"\1§", line)
    line = CITED_INCISOS_RE.sub(_cited_incisos, line)
    line = SUPERSCRIPT_ORDINAL_RE.sub(r"\1º", line)
    return SUPERSCRIPT_NUMERO_RE.sub(r"\1º ", line)


def inciso_separator(lines: list[str]) -> str:
    """How a document writes an inciso's separator: ".", ")" or " -" (its most frequent; " -" when none)."""
    seps: dict[str, int] = {}
    for line in lines:
        if m := INCISO_STYLE_RE.match(line):
            sep = m.group(1).strip()
            seps[sep] = seps.get(sep, 0) + 1
    sep = max(seps, key=lambda k: seps[k]) if seps else "-"
    return sep if sep in ".)" else f" {sep}"


def misread_inciso(token: str, expected: int) -> bool:
    """Is `token` (an INCISO_OCR_RE group 1) the numeral `expected` misread, within one OCR error? Strokes and
    an "R" ("IR", "[R": the period read with the gap after it, the strokes merged) are any of I, II, III."""
    strokes = token.translate(OCR_ROMAN_GLYPHS)
    if token.endswith("R") and set(strokes) <= {"I"} and 1 <= expected <= 3:
        return True
    return Levenshtein.distance(strokes, to_roman(expected)) <= 1
