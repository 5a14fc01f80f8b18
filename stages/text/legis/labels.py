"""A label or list numeral standing alone, as a column of labels sets it: what the ocr stage's layout reads."""

from __future__ import annotations

import re

from stages.text.legis.grammar import ARTICLE_LABEL_PATTERN, DASH, ORDINAL, PARAGRAFO_UNICO, ROMAN

# A label standing alone, as a column of labels sets it beside its text (stages/documents/layout.py): "Art. 4º", "Art. 12.",
# "§ 1º" and OCR's readings of its sign ("$1º", "S 2º", "8 3º"), "Parágrafo único.", an inciso's numeral with its
# separator ("IV –", "II.", "III)") and an alínea's letter ("b)"); nothing after it but a period, colon or dash.
LABEL_ALONE_RE = re.compile(
    rf"(?:{ARTICLE_LABEL_PATTERN}|§{{1,2}}\s?\d{{1,3}}(?:{ORDINAL})?|[$S8]\s?\d{{1,3}}(?:{ORDINAL}|\.)|{PARAGRAFO_UNICO}"
    rf"|{ROMAN}\s?(?:[.)]|{DASH})|[a-z]\))\s*[.:–—-]?"
)

# A list item's numeral standing alone, as a numbered list sets it in a column of its own ("XIV.", "3)", "IV –",
# "V" with its period lost), its strokes as OCR may read them ("HI.", "IH.", "Il.", "VIL": clean's numbering repair
# mends them in sequence; no C, D or M: a list is not that long, and "CIVIL" is a word): what stages/documents/numerals.py
# puts at the start of the line it stands beside.
LIST_NUMERAL_RE = re.compile(rf"(?:[IVXLHlJÍ1|]{{1,7}}|\d{{1,3}})\s?(?:[.:;)]|{DASH})?")
# The characters such a numeral is written with: tesseract reads the strip with no others (alone, out of any
# sentence, it took "II." for "É" and "V." for "ve:").
LIST_NUMERAL_CHARS = "IVXL.)–—-"
