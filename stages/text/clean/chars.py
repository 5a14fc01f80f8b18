"""Characters and words: Unicode, whitespace, leaders and fill-ins, words split apart, U+FFFD repaired."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from stages.text.fold import strip_accents
from stages.text.legis.misreads import (
    FFFD_LEGAL,
)
from stages.text.lexicon import (
    REPLACEMENT,
    Lexicon,
    match_case,
    repair_candidates,
)

# ---------------------------------------------------------------------------------------------
# 1. Unicode
# ---------------------------------------------------------------------------------------------
LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
# Odd spaces become a plain space, invisible characters go, Unicode hyphens become "-". Dashes (– —),
# quotes, §, º and ª are kept: they are real characters of legal text.
TYPOGRAPHIC = {
    **dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
    ),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
    **dict.fromkeys("\u2010\u2011\u2212", "-"),
}
# "5°" / "n°" are OCR's (and typists') ordinal indicator: "Art. 5º", "nº 12". Not "25 °C".
_DEGREE_ORDINAL_RE = re.compile(r"(?<=[0-9nN])°(?![CF]\b)")
_SOFT_HYPHEN_EOL_RE = re.compile("\u00ad[ \t]*\n[ \t]*")


def normalize_unicode(text: str) -> tuple[str, Counter[str]]:
    """NFC, control characters out, ligatures and typographic oddities normalized; counts per kind."""
    counts: Counter[str] = Counter()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text, n = _SOFT_HYPHEN_EOL_RE.subn("", text)  # a soft hyphen at a line end is a layout break: join
    counts["hyphen_joined"] += n
    counts["typographic"] += text.count("\u00ad")
    text = text.replace("\u00ad", "")
    nfc = unicodedata.normalize("NFC", text)
    counts["nfc"] += int(nfc != text)
    out = []
    for ch in nfc:
        if ch in LIGATURES:
            counts["ligatures"] += 1
            out.append(LIGATURES[ch])
        elif ch in TYPOGRAPHIC:
            counts["typographic"] += 1
            out.append(TYPOGRAPHIC[ch])
        elif ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            counts["control_chars"] += 1
        else:
            out.append(ch)
    text, n = _DEGREE_ORDINAL_RE.subn("º", "".join(out))
    counts["typographic"] += n
    return text, counts


# ---------------------------------------------------------------------------------------------
# 2. Whitespace
# ---------------------------------------------------------------------------------------------
_SPACES_RE = re.compile(r"[ \t\v]+")
# The Imprensa Nacional's marks in the DOU's text layer, one before each act ("<!ID691307-0> DECISÃO Nº 181"):
# never printed on the page.
PUBLISHER_MARK_RE = re.compile(r"<!ID\d+(?:-\d+)?>[ \t]?")
# Dot leaders: a row of dots standing for wording an amending act leaves unchanged ("Art. 12. ..........") or
# joining a heading to its page. Filler whose length is the column's: dropped, as the ocr stage paints them out
# of page images (stages/documents/leaders.py). An ellipsis ("(...)", "etc....") has fewer dots.
# Group 1: the punctuation after it ("nacionalidade......., RG"), which takes the leader's place.
DOT_LEADER_RE = re.compile(r"[ \t]*(?:[.…][ \t]?){5,}(?=([,;:)])?)")
# A form's fill-in blanks ("Eu, ______________, CPF ________"): a rule to write on, whose length is the form's.
# A text layer has it as underscores; OCR reads it as underscores, dashes or nothing. Dropped the same way.
FILL_IN_RE = re.compile(r"[ \t]*_{3,}(?:[ \t]*_{3,})*(?:[ \t]*([,;:.)]))?")


def fill_in(m: re.Match[str]) -> str:
    """What a blank leaves: the punctuation after it, unless the text before it ends with the same ("Eu, ____,
    CPF" -> "Eu, CPF"); else a space."""
    before = m.string[: m.start()].rstrip()
    if m.group(1):
        return "" if before.endswith(m.group(1)) else m.group(1)
    return " "


def normalize_whitespace(text: str) -> list[str]:
    """Lines with inner runs of spaces squeezed and ends stripped (empty lines kept as '')."""
    return [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]


# ---------------------------------------------------------------------------------------------
# 6. Words a text layer (or OCR) broke: "dis ciplinas" / "dev e" (a space inside a word),
# "técnicoadministrativo" (a hyphen lost), "R E S O L V E" (letter-spaced), "ministrá -las" (a space before an
# enclitic), and U+FFFD for an accented letter ("servi\ufffdo"). Each is repaired only when the lexicon, or the
# document's and the corpus's own words, make the fix certain; a U+FFFD no single word explains stays, counted.
# ---------------------------------------------------------------------------------------------
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_TRAILING_PUNCT_RE = re.compile(r"[.,;:!?)]+$")
# "R E S O L V E:", "R E I TO R I A" (a pair of letters set closer): at least 4 pieces of 1-2 capitals.
_LETTER_SPACED_RE = re.compile(r"(?<!\S)((?:[A-ZÀ-Ý]{1,2} ){3,}[A-ZÀ-Ý]{1,2})(?=[\s:.,;]|$)")
_LONE_CLITIC_RE = re.compile(r"(?<=[^\W\d_]) -(?=(?:se|lhes?|l[oa]s?|n[oa]s?|me|te|vos)\b)")
_GLUED_RE = re.compile(r"[^\W\d_]{8,}")
# A capitalized or all-caps word of 3+ letters: OCR drops the accents of capitals ("Orgãos", "Unico", "PRESIDENCIA",
# "ACADEMICO", "UNIVERSITARIO").
_CAPITALIZED_RE = re.compile(r"(?<![\w-])[A-ZÀ-Ý](?:[a-zà-ÿ]{2,}|[A-ZÀ-Ý]{2,})(?![\w-])")
# A word of up to 3 capitals is often an acronym ("ERE", Ensino Remoto Emergencial, is no "erê"): its accent comes
# back only as a common word's (SÃO, NÃO: this many uses in the lexicon's counts).
SHORT_ACCENT_MIN_COUNT = 1000
_FFFD_WORD_RE = re.compile(rf"[^\W\d_]*{REPLACEMENT}[{REPLACEMENT}\w]*")
_INTACT_WORD_RE = re.compile(rf"(?<![\w{REPLACEMENT}])[^\W\d_]+(?![\w{REPLACEMENT}])")
FFFD_DOMINANCE = 100  # of several words that fit, one this many times as frequent as each other one is taken


def repair_words(line: str, lexicon: Lexicon, vocab: Counter[str], counts: Counter[str]) -> str:
    """One line with split, glued, letter-spaced and enclitic-spaced words repaired (see above)."""
    known = lexicon.counts

    def is_known(w: str) -> bool:
        return w.lower() in known or vocab.get(w.lower(), 0) > 0

    def joins(a: str, b: str) -> bool:  # "dis ciplinas", "dev e": joined only when a piece is no word
        unknown = [w for w in (a, b) if not is_known(w)]
        return (
            b[0].islower()
            and bool(unknown)
            and all(len(w) >= 2 for w in unknown)
            and (a + b).lower() in known
        )

    def split(line: str) -> str:
        tokens = line.split(" ")
        out: list[str] = []
        i = 0
        while i < len(tokens):
            a = tokens[i]
            b = tokens[i + 1] if i + 1 < len(tokens) else ""
            if (
                _LETTERS_RE.fullmatch(a)
                and _LETTERS_RE.fullmatch(_TRAILING_PUNCT_RE.sub("", b))
                and joins(a, _TRAILING_PUNCT_RE.sub("", b))
            ):
                counts["words_joined"] += 1
                out.append(a + b)
                i += 2
            else:
                out.append(a)
                i += 1
        return " ".join(out)

    def spaced(m: re.Match[str]) -> str:  # "R E S O L V E:" when "RESOLVE" is a word
        pieces = m.group(1).split(" ")
        joined = "".join(pieces)
        if 3 * sum(len(x) == 1 for x in pieces) >= 2 * len(pieces) and joined.lower() in known:
            counts["words_joined"] += 1
            return joined
        return m.group(0)

    def glued(m: re.Match[str]) -> str:  # "técnicoadministrativo" when "técnico-administrativo" is in use
        w = m.group(0)
        if w.lower() in known:
            return w
        for k in range(3, len(w) - 2):
            hyphenated = f"{w[:k]}-{w[k:]}"
            if vocab.get(hyphenated.lower(), 0) or hyphenated.lower() in known:
                counts["hyphens_restored"] += 1
                return hyphenated
        return w

    def capital_accent(m: re.Match[str]) -> str:  # "Orgãos" -> "Órgãos", "PRESIDENCIA" -> "PRESIDÊNCIA"
        # The lexicon says whether it is a word (the document's own words hold the misread itself): one it knows
        # stays ("Area"), one that fits no accented word stays (UNIVASF, CONSEPE); of several that fit, only the
        # one the document writes elsewhere (pyspellchecker's counts favour Portugal's "académica" over Brazil's
        # "acadêmica", so frequency does not decide).
        w = m.group(0)
        if w.lower() in known:
            return w
        fit = pick_word(lexicon.with_accents_of(strip_accents(w.lower())), lexicon, vocab, by_frequency=False)
        if fit and (len(w) > 3 or lexicon.counts.get(fit, 0) >= SHORT_ACCENT_MIN_COUNT):
            counts["accents_restored"] += 1
            return match_case(fit, w)
        return w

    line, n = _LONE_CLITIC_RE.subn("-", line)
    counts["words_joined"] += n
    line = _CAPITALIZED_RE.sub(capital_accent, line)
    line = _LETTER_SPACED_RE.sub(spaced, line)
    line = split(line)
    return _GLUED_RE.sub(glued, line)


def corpus_vocabulary(texts: list[str]) -> Counter[str]:
    """Lower-case words written whole (no U+FFFD in or beside them) across the corpus: evidence for a repair."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in _INTACT_WORD_RE.findall(text))
    return counts


def pick_word(
    candidates: Iterable[str], lexicon: Lexicon, written: Counter[str], by_frequency: bool = True
) -> str | None:
    """The word a repair is certain of: the only candidate; of several, the one `written` (the text's own words)
    has, or (`by_frequency`) one `FFFD_DOMINANCE` times as frequent in the lexicon as each other one; else None."""
    found = set(candidates)
    if len(found) > 1:
        seen = {c for c in found if written.get(c, 0)}
        if len(seen) == 1:
            found = seen
        elif by_frequency:
            ranked = sorted(((lexicon.counts.get(c, 0), c) for c in found), reverse=True)
            if ranked[0][0] >= FFFD_DOMINANCE * max(ranked[1][0], 1):
                found = {ranked[0][1]}
    return found.pop() if len(found) == 1 else None


def repair_replacement_chars(text: str, lexicon: Lexicon, corpus: Counter[str], counts: Counter[str]) -> str:
    """U+FFFD (one per lost non-ASCII letter) replaced where the fix is certain: a legal sign or ordinal
    (stages/text/legis/ FFFD_LEGAL: "\ufffd 2\ufffd do art." -> "§ 2º do art."), else the one word of the lexicon and
    the corpus that fits; of several, the one the corpus itself writes, or one `FFFD_DOMINANCE` times as frequent
    as each other one (até/atá, após/apôs, início/inácio). Otherwise the U+FFFD stays and is counted."""
    for pattern, repl in FFFD_LEGAL:
        text, n = pattern.subn(repl, text)
        counts["fffd_repaired"] += n

    def fix(m: re.Match[str]) -> str:
        broken = m.group(0)
        if word := pick_word(repair_candidates(broken, lexicon, corpus), lexicon, corpus):
            counts["fffd_repaired"] += broken.count(REPLACEMENT)
            return match_case(word, broken)
        counts["fffd_kept"] += broken.count(REPLACEMENT)
        return broken

    return _FFFD_WORD_RE.sub(fix, text)
