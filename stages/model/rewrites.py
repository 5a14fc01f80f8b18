"""Rewrites of a chunk for passage training: the same provisions, their order varied within each article, the act
named at every article.

Facts are extractable from a small model only when it met them in several forms (Allen-Zhu & Li, "Physics of
Language Models 3.1": one description per fact, 9.7% extraction; five descriptions with shuffled sentences,
96.6%). `train.passage_rewrites` adds this many rewrites of each training pair's chunk to the passages
(`train.passages`): in each, an article keeps its head paragraph first ("Art. 5º A bolsa ...", named "<act>,
Art. 5º ...") and the rest of it (its §s, each with the incisos and alíneas that follow it) comes in a seeded
order. Headings stay where they are. Rewrites identical to the text or to each other are left out.
"""

from __future__ import annotations

import random
import re

from stages.core.files import stable_hash
from stages.text.legis.grammar import ALINEA_RE, ARTICLE_RE, INCISO_RE, is_heading

_PARAGRAPHS_RE = re.compile(r"\n\s*\n")


def _units(paragraphs: list[str]) -> list[list[str]]:
    """Paragraphs grouped: a list item (inciso, alínea) stays with the paragraph before it."""
    units: list[list[str]] = []
    for p in paragraphs:
        if units and (INCISO_RE.match(p) or ALINEA_RE.match(p)):
            units[-1].append(p)
        else:
            units.append([p])
    return units


def _articles(text: str) -> list[tuple[bool, list[list[str]]]]:
    """The text as blocks: (is an article, its units). A block starts at each article head and each heading."""
    blocks: list[tuple[bool, list[str]]] = []
    for p in (p.strip() for p in _PARAGRAPHS_RE.split(text)):
        if not p:
            continue
        if ARTICLE_RE.match(p):
            blocks.append((True, [p]))
        elif is_heading(p.splitlines()[0]) or not blocks or not blocks[-1][0]:
            blocks.append((False, [p]))
        else:
            blocks[-1][1].append(p)
    return [(is_article, _units(paragraphs)) for is_article, paragraphs in blocks]


def rewrite(text: str, act: str, seed: int | None) -> str:
    """One rewrite: every article named "<act>, Art. ..." with its units after the head in `seed`'s order (None:
    in the text's order)."""
    rng = random.Random(seed) if seed is not None else None
    out: list[str] = []
    for is_article, units in _articles(text):
        if not is_article:
            out += [p for unit in units for p in unit]
            continue
        head, rest = units[0], units[1:]
        if rng is not None:
            rng.shuffle(rest)
        named = f"{act}, {head[0]}" if act else head[0]
        out += [named, *head[1:], *(p for unit in rest for p in unit)]
    return "\n\n".join(out)


def passage_rewrites(text: str, act: str, count: int, seed: int) -> list[str]:
    """Up to `count` distinct rewrites of `text` (none identical to it): the first names the act only, the others
    also vary the order; fewer when the articles have little to reorder."""
    found: list[str] = []
    for k in range(count * 3):  # a few more tries: short articles give the same order again
        if len(found) == count:
            break
        candidate = rewrite(text, act, int(stable_hash(seed, k, text[:200]), 16) if k else None)
        if candidate != text.strip() and candidate not in found:
            found.append(candidate)
    return found
