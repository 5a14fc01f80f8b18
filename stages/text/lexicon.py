"""A Portuguese lexicon: which words exist, and which one word a damaged word can only be.

Word lists: pyspellchecker's Portuguese dictionary (a PyPI dependency of the project: 416,782 lower-case forms
with usage counts; all but 39 are also in Debian's curated lists, so it is a dictionary, not a raw frequency
dump) joined with Debian's wbrazilian and wportuguese word lists when they are installed (/usr/share/dict;
`make setup` installs them). The Debian lists add Brazilian forms pyspellchecker lacks (seção, percepção,
pedágio). `Lexicon.sources` names the lists loaded with their sizes; the ocr stage puts it in its cache key, so
a machine with another lexicon recomputes rather than reuses. Loaded once per process (~1 s, ~130 MB).

Used by the ocr stage (the share of a page's words the lexicon knows: a failed binarization, a sideways page or
a broken text layer reads as words no dictionary has) and by clean (U+FFFD repair, split and glued words).
Pure functions over strings; the only I/O is reading the word lists.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from stages.text.fold import strip_accents

REPLACEMENT = "\ufffd"
WORD_RE = re.compile(r"[^\W\d_]+")
MIN_WORD_LEN = 3  # shorter tokens ("a", "de", "II") say little about a page either way
SYSTEM_WORD_LISTS = (Path("/usr/share/dict/brazilian"), Path("/usr/share/dict/portuguese"))
INSTALL_HINT = "`pip install pyspellchecker` (or `make setup`)"


@dataclass
class Lexicon:
    """Lower-case word -> usage count (0 for words only the Debian lists have), and where they came from."""

    counts: dict[str, int]
    sources: tuple[str, ...] = ()
    _skeletons: dict[str, list[str]] | None = field(default=None, repr=False)
    _folded: dict[str, list[str]] | None = field(default=None, repr=False)

    def __contains__(self, word: str) -> bool:
        return word.lower() in self.counts

    def with_skeleton(self, key: str) -> list[str]:
        """Words whose non-ASCII letters, replaced by U+FFFD, give `key` (the index is built on first use)."""
        if self._skeletons is None:
            self._skeletons = self._non_ascii_by(skeleton)
        return self._skeletons.get(key, [])

    def with_accents_of(self, plain: str) -> list[str]:
        """Words with accents or a cedilla that, without them, are `plain` (lower case): "presidencia" ->
        ["presidência"] (the index is built on first use)."""
        if self._folded is None:
            self._folded = self._non_ascii_by(strip_accents)
        return self._folded.get(plain, [])

    def _non_ascii_by(self, key: Callable[[str], str]) -> dict[str, list[str]]:
        """The words with a non-ASCII letter, indexed by `key`."""
        index: dict[str, list[str]] = {}
        for word in self.counts:
            if not word.isascii():
                index.setdefault(key(word), []).append(word)
        return index


def skeleton(word: str) -> str:
    """`word` in lower case with every non-ASCII letter replaced by U+FFFD: "serviço" -> "servi\ufffdo"."""
    return "".join(c if c.isascii() else REPLACEMENT for c in word.lower())


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """pyspellchecker's Portuguese list plus the Debian word lists that are installed."""
    try:
        data = resources.files("spellchecker") / "resources" / "pt.json.gz"
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
            counts: dict[str, int] = json.load(f)
    except (ModuleNotFoundError, FileNotFoundError):
        raise ModuleNotFoundError(
            f"the Portuguese lexicon comes from the pyspellchecker package: {INSTALL_HINT}"
        ) from None
    sources = [f"pyspellchecker-pt:{len(counts)}"]
    for path in SYSTEM_WORD_LISTS:
        if path.is_file():
            words = path.read_text(encoding="utf-8", errors="replace").split()
            for word in words:
                counts.setdefault(word.lower(), 0)
            sources.append(f"{path.name}:{len(words)}")
    return Lexicon(counts, tuple(sources))


def words(text: str, min_len: int = MIN_WORD_LEN) -> list[str]:
    """Runs of letters of at least `min_len`, as written."""
    return [w for w in WORD_RE.findall(text) if len(w) >= min_len]


def known_share(text: str, lexicon: Lexicon) -> tuple[float | None, int]:
    """(share of the text's words the lexicon knows, number of words judged); None when there are none.

    Words of 3+ letters; all-caps words of up to 5 letters are left out (acronyms: UFAM, PROEG, CEG are names,
    evidence of nothing)."""
    judged = [w for w in words(text) if not (w.isupper() and len(w) <= 5)]
    if not judged:
        return None, 0
    return sum(w.lower() in lexicon.counts for w in judged) / len(judged), len(judged)


def known_count(text: str, lexicon: Lexicon) -> int:
    """How many of the text's words (3+ letters) the lexicon knows: the score that picks the best reading."""
    return sum(w.lower() in lexicon.counts for w in words(text))


def match_case(word: str, model: str) -> str:
    """`word` (lower case) in the case pattern of `model`: ALL CAPS, Capitalized or lower."""
    letters = [c for c in model if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def repair_candidates(broken: str, lexicon: Lexicon, vocabulary: Iterable[str] = ()) -> set[str]:
    """Every lower-case word of the lexicon or of `vocabulary` that `broken` can be: each U+FFFD one non-ASCII
    letter, every other letter as written (case aside)."""
    key = broken.lower()
    found = set(lexicon.with_skeleton(key))
    found |= {w for w in vocabulary if len(w) == len(key) and not w.isascii() and skeleton(w) == key}
    return found
