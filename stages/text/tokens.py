"""Text helpers that know nothing of legislation (that grammar is stages/text/legis/): an approximate token
counter and whitespace normalization. Pure functions on strings; nothing here touches files.
"""

from __future__ import annotations

import math
import re

# ---------------------------------------------------------------------------------------------
# Token counting without a tokenizer. Pieces: runs of letters, single digits (Llama-2 style BPEs split
# numbers into digits), single punctuation marks (non-ASCII ones like § cost 2). A letter run costs ceil(len / 3.2) tokens (all caps:
# len / 2.2), plus one when it holds non-ASCII letters (accents are rarely merged into long pieces). Measured in
# docs/benchmarks/clean.md against byte-level BPEs trained with `tokenizers`; it overestimates, which
# is the safe side for a context limit.
# ---------------------------------------------------------------------------------------------
_PIECE_RE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_")
CHARS_PER_TOKEN = 3.2
CAPS_CHARS_PER_TOKEN = 2.2  # all-caps words (headings) are rare in training text: split finer


def approx_token_count(text: str) -> int:
    """Approximate (over-)count of a Llama-like BPE's tokens for Portuguese text."""
    total = 0
    for piece in _PIECE_RE.findall(text):
        if piece[0].isalpha():
            per_token = CAPS_CHARS_PER_TOKEN if len(piece) > 1 and piece.isupper() else CHARS_PER_TOKEN
            total += math.ceil(len(piece) / per_token) + (0 if piece.isascii() else 1)
        else:
            total += 1 if piece.isascii() else 2  # "§", "–": two bytes for a byte-level BPE
    return total


# ---------------------------------------------------------------------------------------------
# Whitespace
# ---------------------------------------------------------------------------------------------
_WS_RE = re.compile(r"\s+")
