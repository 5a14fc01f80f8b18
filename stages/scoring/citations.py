"""Acts an answer cites, the act a chunk belongs to, and whether an answer names an act its pair does not come from.

A citation is read from running text, in any case and with or without accents: a numbered act ("Resolução nº
023/2017", "Resolução CONSEPE nº 23, de 29 de outubro de 2015", "Portaria 05/2020", "Lei 11.788") or, written with
capitals, a named one ("Regimento Geral da UFAM", "Estatuto", "Código de Conduta Discente"). Its key is the kind,
the number without leading zeros, and the year when given; "Resolução nº 23" matches "Resolução nº 023/2017" (an
answer may leave the year out), "Resolução nº 24/2017" and "Portaria nº 23/2017" do not.

The acts a pair comes from are read from its document, as synth reads them to name the act in its questions
(stages/text/legis/acts.py): every act whose heading precedes the end of the pair's chunk (a resolution and the
regulation annexed to it both count), the acts the chunk itself cites ("nos termos da Lei nº 11.788"), and those the
question and reference answer cite. An answer naming any other act names a wrong act.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from stages.records.chunks import Chunk
from stages.scoring.key_facts import fold_text
from stages.text.legis.acts import ActName, act_headings, with_institution

_KINDS = (
    r"decreto[- ]lei|lei complementar|lei|decreto|medida provisoria|emenda constitucional"
    r"|portaria(?: conjunta| normativa| interministerial)?|resolucao(?: normativa)?|instrucao normativa"
    r"|deliberacao|decisao|edital|provimento"
)
# folded text: "resolucao consepe no 023/2017-ceg", "lei no 11.788, de 25 de setembro de 2008", "portaria 05/2020"
_MARK = r"(?:n\s?\.?\s?o\.?|n\.|numero)(?=\s|\d)"  # "nº", "n.º", "n°", "número", folded
NUMBERED_CITATION_RE = re.compile(
    rf"\b(?P<kind>{_KINDS})\b(?:\s+[a-z]{{2,}}(?:/[a-z]{{2,}})*\s*{_MARK}|\s*{_MARK})?\s*"
    r"(?P<number>\d{1,3}(?:\.\d{3})+|\d{1,5})(?!\d|,\d)(?:\s*/\s*(?P<year>\d{4}|\d{2})\b)?"
    r"(?:[-/][a-z]{2,}(?:/[a-z]{2,})*)?(?:,?\s*de\s+\d{1,2}o?\s+de\s+[a-z]+\s+de\s+(?P<date_year>\d{4}))?"
)
# original text (capitals matter: "o regulamento do estágio" names no act)
NAMED_CITATION_RE = re.compile(
    r"\b(?P<kind>Regimento|Estatuto|Regulamento|C[óo]digo)\b"
    r"(?:\s+(?:d[aeo]s?\s+)?(?P<qualifier>[A-ZÀ-Ý][a-zà-ÿ]+))?"
)
_KIND_ALIASES = {"decreto lei": "decreto-lei"}


@dataclass(frozen=True)
class Citation:
    """An act as cited: kind ("resolucao"), number ("23") or a named act's qualifier ("geral"), year ("2017")."""

    kind: str
    ident: str = ""  # "" = any (a named act cited by its kind alone)
    year: str = ""  # "" = not given

    def matches(self, other: Citation) -> bool:
        """The same act, as far as both say: kinds equal, numbers (qualifiers) and years equal where both give one."""
        return (
            self.kind == other.kind
            and (not self.ident or not other.ident or self.ident == other.ident)
            and (not self.year or not other.year or self.year == other.year)
        )


def _year(digits: str | None) -> str:
    if not digits:
        return ""
    year = int(digits)
    return str(year if year >= 100 else (2000 + year if year <= 50 else 1900 + year))


def _kind(words: str) -> str:
    kind = " ".join(words.split())
    kind = _KIND_ALIASES.get(kind, kind)
    return kind.split()[0] if kind.startswith(("portaria", "resolucao")) else kind


def citations(text: str) -> list[Citation]:
    """Every act `text` cites, in order (numbered acts first, then named ones)."""
    found = [
        Citation(
            _kind(m["kind"]),
            str(int(m["number"].replace(".", ""))),
            _year(m["year"] or m["date_year"]),
        )
        for m in NUMBERED_CITATION_RE.finditer(fold_text(text))
    ]
    for m in NAMED_CITATION_RE.finditer(text):
        kind = fold_text(m["kind"])
        qualifier = m["qualifier"] or ""
        found.append(Citation(kind, fold_text(qualifier)))
    return found


def strip_citations(text: str) -> str:
    """`text` without its numbered act citations (folded): their numbers are not facts of the answer."""
    return NUMBERED_CITATION_RE.sub(" ", fold_text(text))


def document_acts(chunks: list[Chunk]) -> dict[str, list[ActName]]:
    """Chunk id -> the acts whose heading precedes the chunk's end in its document (its title block first), in
    order (the last one is the act the chunk's text belongs to); named acts get their institution ("Regimento
    Geral da UFAM")."""
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        by_doc[chunk.doc].append(chunk)
    out: dict[str, list[ActName]] = {}
    for doc_chunks in by_doc.values():
        doc_chunks.sort(key=lambda c: c.index)
        contents = [c.text[c.overlap_chars :] for c in doc_chunks]
        title = doc_chunks[0].title.strip()
        # the title block leads the document; a chunk list that starts after it still gets its heading
        lead = f"{title}\n" if title and not contents[0].lstrip().startswith(title[:60]) else ""
        full = lead + "\n".join(contents)
        heads = [(offset, with_institution(act, full)) for offset, act in act_headings(full)]
        end = len(lead)
        for chunk, content in zip(doc_chunks, contents, strict=True):
            end += len(content) + 1
            out[chunk.id] = [act for offset, act in heads if offset < end]
    return out


def source_citations(chunks: list[Chunk], acts: dict[str, list[ActName]]) -> dict[str, list[Citation]]:
    """Chunk id -> the acts a pair from that chunk may name: its document's acts up to the chunk (`acts`, from
    document_acts), the acts its title and text cite."""
    return {
        c.id: [cited for act in acts.get(c.id, []) for cited in citations(act.name)]
        + citations(c.title)
        + citations(c.text)
        for c in chunks
    }


def chunk_act_name(chunk: Chunk, acts: dict[str, list[ActName]]) -> str:
    """What to call the act a chunk comes from: its act's name, else its title's first line, else its document."""
    if acts.get(chunk.id):
        return acts[chunk.id][-1].name
    title = chunk.title.strip().splitlines()
    return title[0].strip() if title else chunk.doc


def wrong_act(answer: str, allowed: list[Citation]) -> float | None:
    """1.0 when the answer cites an act none of `allowed` matches, 0.0 when it cites none or only allowed ones;
    None when `allowed` is empty (the pair's act is unknown, so no citation can be judged)."""
    if not allowed:
        return None
    return float(any(not any(c.matches(a) for a in allowed) for c in citations(answer)))


def names_act(answer: str) -> float:
    """1.0 when the answer cites some act (the system prompt asks it to)."""
    return float(bool(citations(answer)))
