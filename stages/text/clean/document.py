"""clean: OCR pages (data/ocr/<doc>.json) -> one cleaned text per document (data/clean/<doc>.txt).

Unlike the original approach (deleting `" \\ _ . , @ * ~ $ ! +` and squeezing spaces, which took the
sample's CER from tesseract's ~4% to ~20%), every rule here only removes what is provably noise and
never deletes punctuation: "Art. 5º", "R$ 1.000,00", "nota 5,0" and "15/03/2024" survive untouched.

Rules, in order (each a pure function, counted into metrics/clean.json):
  1. unicode     NFC, control characters removed, ligatures expanded, odd spaces/hyphens/ordinals fixed;
                 the DOU's publisher marks and dot leaders ("Art. 12. ..........": filler) dropped
  2. whitespace  tabs and runs of spaces squeezed, line ends stripped
  3. headers     lines repeated near the top/bottom of most pages ("Página 2 de 5", the running header)
                 and lone page numbers dropped; once per page (a title repeating the header stays)
  4. junk        short lines made mostly of non-letters ("~ ,. ' |") dropped; structure lines never are; so are
                 whole lines of a gazette's running head ("ISSN 1677-7042", "Nº 185, terça-feira, 26 de ...")
  5. paragraphs  hyphenated line ends joined ("avalia-\\nção"), wrapped lines and page breaks joined into
                 paragraphs, breaks kept before CAPÍTULO, Art., §, incisos, alíneas and headings; a line-end
                 hyphen OCR lost is restored where a piece is no word and the two make one ("Edu" / "cação")
Output: one paragraph per line. Held-out check on layouts the rules were not tuned on: tests/test_heldout_clean.py.
"""

from __future__ import annotations

from collections import Counter

from stages.text.clean.chars import (
    DOT_LEADER_RE,
    FILL_IN_RE,
    PUBLISHER_MARK_RE,
    corpus_vocabulary,
    fill_in,
    normalize_unicode,
    normalize_whitespace,
    repair_replacement_chars,
    repair_words,
)
from stages.text.clean.furniture import (
    CleanParams,
    find_letterhead_lines,
    find_running_lines,
    is_junk_line,
    is_struck_line,
)
from stages.text.clean.numbering import fix_numbering
from stages.text.clean.paragraphs import join_paragraphs, render_paragraphs, word_counts
from stages.text.legis.acts import GAZETTE_HEAD_RE, PLANALTO_LINK_RE
from stages.text.legis.misreads import (
    fix_text_ordinals,
)
from stages.text.lexicon import (
    REPLACEMENT,
    load_lexicon,
)


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------
def clean_document(
    pages: list[str], p: CleanParams, corpus: Counter[str] | None = None
) -> tuple[str, dict[str, int]]:
    """Pages of raw OCR/text-layer text -> (cleaned text, one paragraph per line; counts per rule). `corpus`: the
    intact words of every document (corpus_vocabulary), evidence for U+FFFD repairs; None = this document's."""
    counts: Counter[str] = Counter()
    page_lines: list[list[str]] = []
    lexicon = load_lexicon()
    if corpus is None:
        corpus = corpus_vocabulary(pages)
    for page in pages:
        text, c = normalize_unicode(page)
        counts.update(c)
        text, n = PUBLISHER_MARK_RE.subn("", text)
        counts["dropped_publisher_marks"] += n
        text, n = DOT_LEADER_RE.subn(lambda m: "" if m.group(1) else " ", text)
        counts["dot_leaders"] += n
        text, n = FILL_IN_RE.subn(fill_in, text)
        counts["fill_in_blanks"] += n
        if REPLACEMENT in text:
            text = repair_replacement_chars(text, lexicon, corpus, counts)
        page_lines.append(normalize_whitespace(text))
    letterhead = find_letterhead_lines(page_lines, p, lexicon) if p.zone_lines else {}
    for (pi, li), rule in {**letterhead, **find_running_lines(page_lines, p)}.items():
        page_lines[pi][li] = ""
        counts[f"dropped_{rule}"] += 1
    kept: list[tuple[str, bool]] = []  # (line, blank line or page break before it)
    for lines in page_lines:
        gap = True
        for line in lines:
            if link := PLANALTO_LINK_RE.match(line):
                counts["dropped_web_links"] += 1  # a whole line, or the start OCR read across into the ementa
                line = line[link.end() :]
            if not line:
                gap = True
            elif GAZETTE_HEAD_RE.match(line):
                counts["dropped_gazette_head"] += 1
            elif is_junk_line(line, p):
                counts["dropped_junk"] += 1
            elif is_struck_line(line):
                counts["dropped_struck_lines"] += 1
            else:
                kept.append((line, gap))
                gap = False
    vocab = word_counts([line for line, _ in kept])
    kept = [(repair_words(line, lexicon, vocab, counts), gap) for line, gap in kept]
    fixed_lines, counts["numbering_fixed"] = fix_numbering([line for line, _ in kept])
    kept = [(line, gap) for line, (_, gap) in zip(fixed_lines, kept, strict=True)]
    paragraphs, c = join_paragraphs(kept, word_counts(fixed_lines), lexicon)
    counts.update(c)
    text, counts["ordinals_normalized"] = fix_text_ordinals(render_paragraphs(paragraphs))
    return text, {k: v for k, v in sorted(counts.items()) if v}
