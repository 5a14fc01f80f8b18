"""Page quality: is a page's text (OCR'd, or its own text layer) plausible for what is printed on it?

Signals, each cheap: letters, tesseract's mean word confidence, the share of words a Portuguese lexicon knows,
broken glyphs (U+FFFD, private-use characters inside words: a font without a Unicode map), words that lost a
ligature ("avidades" for "atividades": a text layer whose "ti" ligature glyph had no Unicode map) and, for a
rendered page, its ink and how unevenly its paper is lit (measured on a quarter-size copy in ~15 ms).

Measured on the 74 scanned pages of the real UFAM corpus (docs/benchmarks/real.md): ordinary scans have a
paper-brightness spread of 0-5 grey levels, phone photos 98-159; text pages carry 11-180 letters per cm² of
ink; ordinary pages have a lexicon share of 0.78-0.98 and mean confidence 82-96.

Pure functions, except `measure_image` (reads one image file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from stages.documents.settings import OcrParams
from stages.text.lexicon import Lexicon, known_share

# The letters a font's ligature glyph stands for: a text layer whose ligature glyph has no Unicode map drops them
# ("avidades" for "atividades").
LIGATURE_LETTERS = ("ti", "fi", "fl", "ff", "ffi", "ffl", "ft", "tt", "st")
MIN_WORDS = 15  # the lexicon share is judged only on pages with at least this many words
MAX_LIGATURE_LOSSES = 2  # a text layer with more words that lost a ligature is suspect
CM_PER_INCH = 2.54
REDUCE = 4  # the image is measured at a quarter of its size
BLOCK = 8  # paper brightness: the brightest pixel of each 8x8 block of the reduced image (~1 cm at 300 dpi)


@dataclass(frozen=True)
class ImageStats:
    ink_cm2: float  # area of the pixels clearly darker than the paper around them
    light_spread: float  # grey levels between bright and dark paper (5th to 95th percentile of the blocks)


def measure_image(path: str, dpi: int) -> ImageStats:
    """Ink and lighting of a grey page image rendered at `dpi`."""
    with Image.open(path) as img:
        grey = np.asarray(img.convert("L").reduce(REDUCE), dtype=np.int16)
    h, w = (grey.shape[0] // BLOCK) * BLOCK, (grey.shape[1] // BLOCK) * BLOCK
    if not h or not w:
        return ImageStats(0.0, 0.0)
    grey = grey[:h, :w]
    # Text lines are narrower than a block, so every block holds some paper: its brightest pixel is the paper's.
    blocks = grey.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).max(axis=(1, 3))
    paper = np.repeat(np.repeat(blocks, BLOCK, axis=0), BLOCK, axis=1)
    ink_pixels = int((grey < paper * 0.6).sum())
    cm_per_pixel = REDUCE * CM_PER_INCH / dpi
    low, high = np.percentile(blocks, [5, 95])
    return ImageStats(round(ink_pixels * cm_per_pixel**2, 2), float(high - low))


_PUA_IN_WORD_RE = re.compile(r"(?<=[^\W\d_])[\ue000-\uf8ff]|[\ue000-\uf8ff](?=[^\W\d_])")


def broken_glyphs(text: str) -> int:
    """U+FFFD, and private-use characters inside words (glyphs the PDF could not map to Unicode). A private-use
    character on its own is a Symbol-font bullet ("\uf0a7 a Reitoria"): harmless, not counted."""
    return text.count("\ufffd") + len(_PUA_IN_WORD_RE.findall(text))


_TOKEN_RE = re.compile(r"[^\W\d_]+")


def ligature_losses(text: str, lexicon: Lexicon) -> int:
    """Unknown lower-case words that become known with a ligature put back, inside the word ("parcipantes") or
    between it and a neighbour (the lost glyph often leaves a space: "a vidades"). Short fragments fit too many
    words ("sus" + ti = "sutis"), so only words of 6+ letters and joins of 7+."""
    known = lexicon.counts
    tokens = _TOKEN_RE.findall(text)
    lost = set()
    for i, word in enumerate(tokens):
        w = word.lower()
        if len(w) < 3 or w != word or w in known:
            continue
        prev = tokens[i - 1].lower() if i else ""
        nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        for lig in LIGATURE_LETTERS:
            if (
                (len(w) >= 6 and any(w[:k] + lig + w[k:] in known for k in range(1, len(w))))
                or (prev and len(prev + w) >= 7 and prev + lig + w in known)
                or (nxt and len(w + nxt) >= 7 and w + lig + nxt in known)
            ):
                lost.add(w)
                break
    return len(lost)


@dataclass(frozen=True)
class Quality:
    letters: int
    confidence: float | None
    lexicon_share: float | None
    broken_glyphs: int
    ink_cm2: float | None
    reasons: tuple[str, ...]  # why the page is suspect; empty when it is not

    @property
    def verdict(self) -> str:
        return "suspect" if self.reasons else "ok"


_LETTER_RE = re.compile(r"[^\W\d_]")


def assess(
    text: str,
    confidence: float | None,
    ink_cm2: float | None,
    lexicon: Lexicon,
    p: OcrParams,
    text_layer: bool = False,
) -> Quality:
    """A page's signals and the reasons, if any, it is suspect (thresholds: `p`'s quality_* fields). `ink_cm2` is
    None for an unrendered page."""
    letters = len(_LETTER_RE.findall(text))
    share, n_words = known_share(text, lexicon)
    broken = broken_glyphs(text)
    reasons = []
    if ink_cm2 is not None and ink_cm2 >= p.quality_min_ink_cm2:
        if letters == 0:
            reasons.append("empty_with_ink")
        elif letters < p.quality_min_letters_per_ink_cm2 * ink_cm2:
            reasons.append("little_text_for_ink")
    if confidence is not None and letters and confidence < p.quality_min_confidence:
        reasons.append("low_confidence")
    if share is not None and n_words >= MIN_WORDS and share < p.quality_min_lexicon_share:
        reasons.append("few_known_words")
    if broken:
        reasons.append("broken_glyphs")
    if text_layer and ligature_losses(text, lexicon) > MAX_LIGATURE_LOSSES:
        reasons.append("lost_ligatures")
    return Quality(
        letters=letters,
        confidence=confidence,
        lexicon_share=None if share is None else round(share, 3),
        broken_glyphs=broken,
        ink_cm2=ink_cm2,
        reasons=tuple(reasons),
    )
