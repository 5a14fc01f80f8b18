"""Lines joined into paragraphs: hyphenation, wrapped lines, page breaks, one paragraph per line."""

from __future__ import annotations

import re
from collections import Counter

from stages.text.legis.grammar import (
    ALINEA_RE,
    CLOSING_DATE_RE,
    HEADING_RE,
    INCISO_RE,
    LIST_ITEM_RE,
    is_heading,
    is_structural_start,
)
from stages.text.lexicon import (
    Lexicon,
)

# ---------------------------------------------------------------------------------------------
# 5. Hyphenation and paragraphs
# ---------------------------------------------------------------------------------------------
# Hyphen at a line end: is it a word broken by the layout ("avalia-|ção" -> "avaliação") or a real
# hyphen ("encontra-|se", "segunda-|feira")? Decided in this order:
#   a. the document itself: the hyphenated form seen inside a line -> keep; the joined form seen -> join
#   a'. the lexicon: the joined word is a word -> join (unless the hyphenated one is); both halves are words and
#      the joined one is not ("técnico-|administrativo", "pós-|graduação") -> keep
#   b. the next fragment starts with a digit or a capital (and the first part is not all caps) -> keep
#   c. enclisis: the fragment is a clitic pronoun (se, lhe, lo, ...) and the first part looks like a verb
#      form (ends in r, an accented vowel, or a/e/am/em/ou/eu/iu or a gerund's -ndo and is >= 4 letters),
#      unless the joined word is a common noun ending the same way (análise, base, hipótese, ...) -> keep
#   d. compounds: prefixes always hyphenated (vice-, recém-, além-, aquém-, ex- before a few nouns),
#      the weekdays (segunda-feira) and a few pairs frequent in university rules (pró-reitor,
#      pós-graduação, auxílio-transporte) -> keep
#   e. otherwise -> join (layout hyphenation is far more common than a real hyphen at a line end).
CLITICS = frozenset(
    "se lhe lhes me te nos vos o a os as lo la los las no na nas mo ma mos mas to ta tos tas".split()
)
NOUNS_LIKE_VERB_CLITIC = frozenset(
    "análise base fase crise tese síntese hipótese ênfase frase classe interesse posse catálise diocese "
    "prótese gênese mesa casa causa pausa coisa rosa camisa pesquisa despesa empresa defesa promessa "
    "remessa sessa pessoa lona zona coroa escola regra".split()
)
ALWAYS_HYPHEN_PREFIXES = frozenset("vice vice recém além aquém grão grã".split())
COMPOUND_PAIRS = {
    "segunda": ("feira",),
    "terça": ("feira",),
    "quarta": ("feira",),
    "quinta": ("feira",),
    "sexta": ("feira",),
    "pró": ("reitor", "reitora", "reitoria", "reitorias", "reitores", "reitoras"),
    "pós": ("graduação", "graduações", "graduando", "graduandos", "doutor", "doutorado", "doutorado"),
    "ex": ("aluno", "aluna", "alunos", "alunas", "servidor", "servidora", "reitor", "reitora", "presidente"),
    "sub": ("reitor", "reitora", "reitoria"),
    "auxílio": ("transporte", "alimentação", "moradia", "saúde", "creche"),
    "técnico": ("administrativo", "administrativa", "administrativos", "administrativas"),
    "decreto": ("lei",),
    "bem": ("estar",),
}
_HYPHEN_END_RE = re.compile(r"([^\W\d_]+)-$")
_FRAGMENT_RE = re.compile(r"^([^\W_]+)")
_WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_VERBISH_RE = re.compile(r"(?:r|[áéêíóôâ]|[ae]|am|em|ou|eu|iu|ndo)$")  # "ndo": a gerund, "associando-se"


def word_counts(lines: list[str]) -> Counter[str]:
    """Lower-cased words (hyphenated compounds whole) seen inside lines, line-end fragments excluded."""
    counts: Counter[str] = Counter()
    for line in lines:
        words = _WORD_RE.findall(line.lower())
        if line.endswith("-") and words:
            words = words[:-1]
        counts.update(words)
    return counts


def keep_hyphen(first: str, fragment: str, vocab: Counter[str], lexicon: Lexicon | None = None) -> bool:
    """True when `first-` + `fragment` at a line break is a real hyphenated word (see the rules above)."""
    a, b = first.lower(), fragment.lower()
    hyphenated, joined = vocab.get(f"{a}-{b}", 0), vocab.get(a + b, 0)
    if hyphenated or joined:
        return hyphenated > joined
    if lexicon is not None:  # a'. the lexicon: "avalia-ção" joins, "técnico-administrativo" (two words) stays
        if a + b in lexicon.counts or f"{a}-{b}" in lexicon.counts:
            return f"{a}-{b}" in lexicon.counts
        if a in lexicon.counts and b in lexicon.counts and len(b) >= 3:
            return True
    if fragment[0].isdigit() or (fragment[0].isupper() and not first.isupper()):
        return True
    if b in CLITICS and (a + b) not in NOUNS_LIKE_VERB_CLITIC:
        if a.endswith("r") or a[-1] in "áéêíóôâ" or (len(a) >= 4 and _VERBISH_RE.search(a)):
            return True
    return a in ALWAYS_HYPHEN_PREFIXES or b in COMPOUND_PAIRS.get(a, ())


TERMINAL = (".", "!", "?", ":", ";")


def starts_lower(line: str) -> bool:
    return line[:1].isalpha() and line[:1].islower()


def should_break(prev: str, nxt: str, gap: bool, short_line: int) -> bool:
    """Does `nxt` start a new paragraph after `prev`? `gap`: a blank line or a page break between them."""
    if is_structural_start(nxt):
        return True
    if starts_lower(nxt) and not prev.endswith(TERMINAL):
        return False  # the sentence goes on: wrapped line, or a paragraph split by a page break/blank line
    if is_heading(prev) or is_heading(nxt):
        return True
    if len(prev) < short_line:  # a wrapped line runs to the margin: a short one ended its paragraph
        return True
    return gap and prev.endswith(TERMINAL)


def join_paragraphs(
    lines: list[tuple[str, bool]], vocab: Counter[str], lexicon: Lexicon | None = None
) -> tuple[list[str], Counter[str]]:
    """(line, gap_before) pairs -> paragraphs, joining hyphenated words and wrapped lines."""
    counts: Counter[str] = Counter()
    # A line well short of the margin ends its paragraph (text layers have no blank lines between them).
    widths = sorted(len(line) for line, _ in lines)
    short_line = int(0.75 * widths[int(0.9 * (len(widths) - 1))]) if len(widths) >= 10 else 0
    paragraphs: list[list[str]] = []  # each a list of pieces, joined at the end (no quadratic concatenation)
    last = ""  # the previous physical line
    for line, gap in lines:
        if not paragraphs:
            paragraphs.append([line])
            last = line
            continue
        pieces = paragraphs[-1]
        end = _HYPHEN_END_RE.search(pieces[-1])
        fragment = _FRAGMENT_RE.match(line)
        if end and fragment and not is_structural_start(line) and (not gap or starts_lower(line)):
            if keep_hyphen(end.group(1), fragment.group(1), vocab, lexicon):
                counts["hyphen_kept"] += 1
            else:
                counts["hyphen_joined"] += 1
                pieces[-1] = pieces[-1][:-1]
            pieces.append(line)
        elif should_break(last, line, gap, short_line):
            paragraphs.append([line])
        elif fragment and lexicon is not None and lost_hyphen(pieces[-1], fragment.group(1), lexicon):
            counts["lost_hyphen_joined"] += 1  # "Edu" / "cação": a hyphen OCR did not see (a blurred photo)
            pieces.append(line)
        else:
            counts["lines_joined"] += 1
            pieces += [" ", line]
        last = line
    return ["".join(pieces) for pieces in paragraphs], counts


_LAST_WORD_RE = re.compile(r"(?<![\w-])[^\W\d_]{2,}$")


def lost_hyphen(prev: str, fragment: str, lexicon: Lexicon) -> bool:
    """Do `prev`'s last word and the next line's first (lower-case) `fragment` make one word whose line-end hyphen
    was lost? Only when together they are a word the lexicon knows and one piece is no word at all ("Edu" /
    "cação", "exi" / "gência"; not "em" / "presa", two words)."""
    tail = _LAST_WORD_RE.search(prev)
    if not tail or len(fragment) < 2 or not fragment[0].islower():
        return False
    a, b = tail.group(0).lower(), fragment.lower()
    return (a + b) in lexicon.counts and not (a in lexicon.counts and b in lexicon.counts)


def _signature_line(line: str) -> bool:
    """A line of the signature block: a name or a post ("Profa. Dra. Marta Lobo", "Reitor")."""
    return len(line) <= 80 and not line.endswith((*TERMINAL, ",")) and not is_structural_start(line)


def render_paragraphs(paragraphs: list[str]) -> str:
    """One paragraph per line; a blank line between blocks, none before an inciso/alínea/list item,
    between a CAPÍTULO line and its name, or inside the signature block under the closing date (the
    convention of data/sample/README.md)."""
    out: list[str] = []
    signature = -1  # paragraphs since the closing date; -1: no closing date seen, or a new unit began
    for i, para in enumerate(paragraphs):
        if i:
            prev = paragraphs[i - 1]
            same_block = bool(INCISO_RE.match(para) or ALINEA_RE.match(para) or LIST_ITEM_RE.match(para))
            same_block |= bool(HEADING_RE.match(prev)) and is_heading(para) and not HEADING_RE.match(para)
            same_block |= signature > 0 and _signature_line(prev) and _signature_line(para)
            out.append("\n" if same_block else "\n\n")
        if CLOSING_DATE_RE.match(para):
            signature = 0
        elif signature >= 0 and not is_structural_start(para):
            signature += 1
        else:
            signature = -1
        out.append(para)
    return "".join(out) + "\n" if out else ""
