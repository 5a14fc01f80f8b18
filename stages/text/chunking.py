"""Structure-aware chunks: a document cut at its units (title, chapter, article, §, inciso) and packed to a token budget."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stages.core.files import stable_hash
from stages.core.params import ParamsError
from stages.records.chunks import Chunk
from stages.text.legis.grammar import (
    ARTICLE_RE,
    HEADING_RE,
    PARAGRAPH_RE,
    article_label,
    is_heading,
    is_heading_name,
)
from stages.text.legis.sentences import sentence_spans
from stages.text.tokens import approx_token_count

log = logging.getLogger(__name__)


TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkParams:
    max_tokens: int = 350  # per chunk (overlap included), in `tokenizer` tokens
    overlap: int = 40  # at most this many tokens of whole sentences repeated from the previous chunk
    tokenizer: str = ""  # local Hugging Face tokenizer directory; "" = built-in approximate counter

    def problems(self) -> list[str]:
        out = []
        if self.max_tokens < 16:
            out.append(f"chunk.max_tokens must be >= 16, got {self.max_tokens}")
        if not 0 <= self.overlap <= self.max_tokens // 2:
            out.append(
                f"chunk.overlap must be in [0, max_tokens/2 = {self.max_tokens // 2}], got {self.overlap}"
            )
        return out


def make_token_counter(tokenizer: str) -> TokenCounter:
    """The tokenizer's token count (no special tokens), or the built-in approximate counter for ''."""
    if not tokenizer:
        return approx_token_count
    path = Path(tokenizer)
    if not path.is_dir():
        raise ParamsError(
            f"chunk.tokenizer: {tokenizer} is not a directory. Give a local Hugging Face tokenizer directory "
            '(e.g. a model folder holding tokenizer.json), or "" for the built-in approximate counter'
        )
    from transformers import AutoTokenizer  # slow import: only when a tokenizer is configured

    try:
        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError) as e:
        raise ParamsError(f"chunk.tokenizer: cannot load a tokenizer from {tokenizer}: {e}") from None
    return lambda text: len(tok.encode(text, add_special_tokens=False))


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Atom:
    """A piece of the document in reading order: its text, the whitespace before it, its article."""

    text: str
    sep: str  # "\n\n" before a block, "\n" before a paragraph, " " before a sentence or word
    article: str | None
    lead: bool = False  # a heading, or an article's label/epigraph on a line of its own: never ends a chunk


Unit = list[Atom]  # atoms of a unit, of a § group, or of one paragraph


def parse_units(text: str) -> list[Unit]:
    """Title block, then one unit per article (with the headings above it); each atom one paragraph.

    Headings are CAPÍTULO/SEÇÃO lines and the all-caps or sentence-case names right under them ("Seção I" /
    "Da Composição"); an article label alone on its line and its epigraph ("Artigo 3.º" / "Prazos", as in
    Portugal) lead like headings.
    """
    units: list[Unit] = []
    article: str | None = None
    prev_heading = name_may_follow = False  # a heading name or an epigraph may come next
    for bi, block in enumerate(b for b in text.split("\n\n") if b.strip()):
        for pi, para in enumerate(line.strip() for line in block.split("\n") if line.strip()):
            numbered = bool(HEADING_RE.match(para))
            heading = numbered or (
                prev_heading and (is_heading(para) or (name_may_follow and is_heading_name(para)))
            )
            label = article_label(para)
            starts = heading or label is not None
            if label:
                article = label
            elif heading:
                article = None
            head = ARTICLE_RE.match(para)
            bare_label = head is not None and head.end() >= len(para.rstrip(".:-–— "))
            epigraph = not starts and name_may_follow and article is not None and is_heading_name(para)
            sep = "\n\n" if pi == 0 and bi > 0 else "\n"
            atom = Atom(para, sep, article, lead=heading or bare_label or epigraph)
            if not units or (starts and not prev_heading):
                units.append([atom])
            else:
                units[-1].append(atom)
            prev_heading = heading
            name_may_follow = numbered or bare_label
    return units


def _split(atoms: Unit, level: int) -> list[Unit]:
    """One level finer: 0 unit -> § groups, 1 -> paragraphs, 2 -> sentences, 3 -> words.

    Headings (and bare article labels, epigraphs) stay glued to what follows them: at levels 1-3 they travel
    with the first piece of the next paragraph, so no chunk ends with a bare "CAPÍTULO II" or "Artigo 3.º".
    """
    if level == 0:
        groups: list[Unit] = []
        for atom in atoms:
            if not groups or PARAGRAPH_RE.match(atom.text):
                groups.append([])
            groups[-1].append(atom)
        return groups
    if level == 1:
        groups, pending = [], []
        for atom in atoms:
            pending.append(atom)
            if not (atom.lead or HEADING_RE.match(atom.text) or is_heading(atom.text)):
                groups.append(pending)
                pending = []
        if pending:
            groups.append(pending)
        return groups
    *glued, last = atoms
    if level == 2:
        pieces = [last.text[a:b] for a, b in sentence_spans(last.text)]
    else:
        pieces = last.text.split()
    out = [[Atom(piece, last.sep if i == 0 else " ", last.article)] for i, piece in enumerate(pieces)]
    if out:
        out[0] = glued + out[0]
    return out


def render(atoms: Unit) -> str:
    return "".join(a.sep + a.text for a in atoms)[len(atoms[0].sep) :] if atoms else ""


# ---------------------------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------------------------
@dataclass
class _Packer:
    max_tokens: int
    overlap: int
    count: TokenCounter
    chunks: list[tuple[str, Unit]] = field(default_factory=list)  # (overlap prefix, content atoms)
    prefix: str = ""
    content: Unit = field(default_factory=list)
    title_only: bool = False

    def _fits(self, prefix: str, atoms: Unit) -> bool:
        text = render(atoms)
        if prefix:
            text = prefix + atoms[0].sep + text
        return self.count(text) <= self.max_tokens

    def _prefixes(self) -> list[str]:
        """Overlap candidates for the next chunk, longest first: trailing whole sentences of the current
        content of at most `overlap` tokens, down to none."""
        text = render(self.content)
        out = []
        if self.overlap:
            for start, _ in reversed(sentence_spans(text)):
                if self.count(text[start:]) > self.overlap:
                    break
                out.append(text[start:])
        return out[::-1] + [""]

    def _fresh_prefix(self, atoms: Unit) -> str | None:
        """The longest overlap with which `atoms` fit a new chunk (structure beats overlap), else None."""
        return next((prefix for prefix in self._prefixes() if self._fits(prefix, atoms)), None)

    def flush(self, next_prefix: str = "") -> None:
        if self.content:
            self.chunks.append((self.prefix, self.content))
            self.prefix, self.content, self.title_only = next_prefix, [], False

    def add(self, atoms: Unit, level: int = 0) -> None:
        if not atoms:
            return
        if self._fits(self.prefix, self.content + atoms):
            self.content = self.content + atoms
            self.title_only = False
            return
        # Right after the title block, an article that does not fit beside it is split at § and paragraph
        # boundaries to keep the title with the first article; never at sentences just for that.
        if self.content and not (self.title_only and level < 2):
            prefix = self._fresh_prefix(atoms)
            if prefix is not None:
                self.flush(prefix)
                self.content = list(atoms)
                return
        if level >= 4 and len(atoms) > 1:  # headings glued to a word, too big together: ungluing them
            for atom in atoms:
                self.add([atom], 2)
            return
        if level >= 4:  # one word that fits no chunk with an overlap: a chunk without one
            self.flush()
            self.prefix, self.content = "", list(atoms)
            if not self._fits("", atoms):  # longer than a whole chunk: alone, over the limit, rather than cut
                log.warning(
                    "a word of %d tokens exceeds chunk.max_tokens: %.40s",
                    self.count(atoms[0].text),
                    atoms[0].text,
                )
                self.flush()
            return
        for sub in _split(atoms, level):
            self.add(sub, min(level + 1, 4))


def chunk_document(doc: str, text: str, p: ChunkParams, count_tokens: TokenCounter) -> list[Chunk]:
    """Chunks of one cleaned document (see the module docstring)."""
    units = parse_units(text)
    packer = _Packer(p.max_tokens, p.overlap, count_tokens)
    title = units[0][0].text if units else ""
    for ui, unit in enumerate(units):
        packer.add(unit)
        # The title block is kept with the first article rather than left alone in a chunk.
        packer.title_only = ui == 0 and unit[0].article is None and len(units) > 1
    packer.flush()
    records: list[Chunk] = []
    seen: set[str] = set()
    for index, (prefix, content) in enumerate(packer.chunks):
        body = render(content)
        chunk_text = prefix + content[0].sep + body if prefix else body
        chunk_id = stable_hash(doc, chunk_text)
        if chunk_id in seen:  # the same text twice in one document: still one id each, still stable
            chunk_id = stable_hash(doc, chunk_text, index)
        seen.add(chunk_id)
        articles = list(dict.fromkeys(a.article for a in content if a.article))
        records.append(
            Chunk(
                id=chunk_id,
                doc=doc,
                index=index,
                text=chunk_text,
                n_tokens=count_tokens(chunk_text),
                articles=articles,
                title=title,
                overlap_chars=len(chunk_text) - len(body),
            )
        )
    return records
