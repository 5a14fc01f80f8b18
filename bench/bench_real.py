"""Benchmark on real layouts: born-digital real acts rendered as scans and as phone photos, read by the ocr stage
with today's settings and with the new ones in the same run, cleaned, chunked, and compared with the born-digital
text itself.

    python bench/bench_real.py --corpus ../ufam                 # print the tables
    python bench/bench_real.py --corpus ../ufam --write docs/benchmarks/real.md
    python bench/bench_real.py --corpus path/to/other-institution --unseen --settings new   # all held out

Reference documents: the corpus's born-digital PDFs whose every measured page (`--max-pages` pages from
`--first-page`) has a text layer that passes the ocr stage's quality check and whose text has article labels (a
broken layer is no ground truth: LEI_CARTEIRA's U+FFFD from page 4 on, PORT_05's lost ligatures; a calendar
table has no articles; a held-out document without article labels counts for CER alone); one of two identical
files. Held out: HELD_OUT below, chosen before any tuning and never looked at while tuning; the rest is the
development set the rules were tuned on (`--unseen`: every document is held out, for a corpus never looked at).
Targets are judged on the held-out set. Its first three documents have
since been looked into (docs/benchmarks.md says which pages); LEI_CARTEIRA_ESTUDANTIL's sound pages 1-3 joined
it before they were ever measured.

Renderings (each page at 300 dpi in grey by pdfium, then, seeded by document, page and profile):
  flatbed  skew within ±0.8°, blur 0.4-0.8 px, paper 225-245, Gaussian noise σ 7, stored at 200 or 300 dpi as
           JPEG quality 40-75 (an office scanner)
  photo    skew within ±1.5°, blur 0.8-1.3 px, grey paper 180-205 and ink 55-80, light falling off by 30-45%
           towards one side and the bottom, noise σ 9, 200 dpi, JPEG 60, pasted on a white page with margins
           (what phone scanner apps export; tesseract's global threshold blackens such a page whole)
Each rendering is an image-only PDF; the ocr stage reads it from an empty cache. `--drop-images` takes the pages'
images out first: text drawn as a picture (a letterhead's lettering beside its logo, a table pasted as an image) is
on the page but not in the text layer, so reading it counts as errors; without the images the CER is the OCR's and
the cleaning's own (and the logos' junk is gone too).

Settings: today = OcrParams(adaptive_light_spread=255, retry_suspect=False, check_text_layers=False,
drop_struck_text=False, blank_dot_leaders=False, join_label_column=False, read_split_lines_by_rows=False, read_tables=False, place_list_numerals=False) (global
Otsu, one reading per page, no struck lines or dot leaders painted out, a label column and lines cut into blocks read
as tesseract orders them); new =
OcrParams() (the defaults). Both are cleaned by the
current clean stage, so the difference between them is the OCR's alone.

Measures, per rendering profile, setting and document set:
  CER       Levenshtein(cleaned OCR text, cleaned born-digital text) / len(cleaned born-digital text), whitespace
            normalized, summed over the documents (character-weighted)
  CER, pages without a ruled table
            the same over the pages whose born-digital drawing holds no ruled table (at least 3 horizontal and 3
            vertical rules: ruled_table_pages), each side cleaned again without them. A text layer reads a table's
            cells line by line across its columns, tesseract down each column: on those pages the CER measures two
            reading orders as much as the reading
  articles  share of the article labels in the born-digital text's chunks that are in the rendering's chunks
  empty     rendered pages (every one has text) whose OCR text is empty
  pages/s   pages the ocr stage read per second of wall time (best of --rounds, settings interleaved); CPU
            s/page: user+system time of the stage and its worker processes per page
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from PIL import Image, ImageFilter

from stages.core.files import sha256_file
from stages.documents.corpus import run_ocr
from stages.documents.page import letter_count
from stages.documents.quality import assess
from stages.documents.settings import OcrParams
from stages.documents.textlayer import read_text_layers
from stages.records.base import from_dict
from stages.records.pages import OcrDocument
from stages.scoring.metrics import cer
from stages.text.chunking import ChunkParams, chunk_document
from stages.text.clean.chars import corpus_vocabulary
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams
from stages.text.lexicon import load_lexicon
from stages.text.tokens import approx_token_count

ROOT = Path(__file__).resolve().parents[1]


# Chosen before tuning, never looked at while tuning (the first four; see the docstring).
HELD_OUT = (
    "LEI__9.394_1996_DIRET_BASES_EDUC_NACIONAL",
    "LEI_Nº_12.089_2009",
    "PORTARIA_1.632_2006_PET",
    "RESOLUÇÃO_010_2004_CONSUNI",
    "LEI_CARTEIRA_ESTUDANTIL",  # pages 1-3 (`--max-pages 3`), added before they were ever measured
)
SETTINGS = {
    "today": OcrParams(
        adaptive_light_spread=255,
        retry_suspect=False,
        check_text_layers=False,
        drop_struck_text=False,
        blank_dot_leaders=False,
        join_label_column=False,
        read_split_lines_by_rows=False,
        read_tables=False,
        place_list_numerals=False,
    ),
    "new": OcrParams(),
}
RENDER_DPI = 300


# --- renderings ---------------------------------------------------------------------------------------
def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


def flatbed(img: Image.Image, rng: random.Random, noise: np.random.Generator) -> tuple[Image.Image, int]:
    img = img.rotate(rng.uniform(-0.8, 0.8), resample=Image.BICUBIC, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.8)))
    a = np.asarray(img, dtype=np.float32) / 255.0
    paper = rng.uniform(225, 245)
    a = 25 + a * (paper - 25) + noise.normal(0, 7, a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    dpi = rng.choice([200, 300])
    if dpi != RENDER_DPI:
        out = out.resize((out.width * dpi // RENDER_DPI, out.height * dpi // RENDER_DPI), Image.LANCZOS)
    return _jpeg(out, rng.choice([40, 60, 75])), dpi


def photo(img: Image.Image, rng: random.Random, noise: np.random.Generator) -> tuple[Image.Image, int]:
    img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.BICUBIC, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.3)))
    a = np.asarray(img, dtype=np.float32) / 255.0
    h, w = a.shape
    paper, ink = rng.uniform(180, 205), rng.uniform(55, 80)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    across = x / w if rng.random() < 0.5 else 1 - x / w
    light = 1.0 - rng.uniform(0.3, 0.45) * (0.6 * across + 0.4 * y / h) ** 1.5  # a lamp or window to one side
    a = (ink + a * (paper - ink)) * light + noise.normal(0, 9, a.shape)
    shot = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    shot = shot.resize((shot.width * 2 // 3, shot.height * 2 // 3), Image.LANCZOS)  # 200 dpi
    page = Image.new("L", (int(shot.width * 1.1), int(shot.height * 1.06)), 255)
    page.paste(shot, ((page.width - shot.width) // 2, (page.height - shot.height) // 2))
    return _jpeg(page, 60), 200


PROFILES = {"flatbed": flatbed, "photo": photo}


def render_pdf(
    src: Path, pages: int, profile: str, dst: Path, first: int = 1, drop_images: bool = False
) -> None:
    """`pages` pages of `src` from page `first` (1-based) rendered, degraded by `profile`, as an image-only PDF.
    `drop_images`: the page's images (a letterhead's logo and lettering, a table pasted as a picture) taken out
    first, so that the page shows only what its text layer holds."""
    pdf = pdfium.PdfDocument(src)
    out = pdfium.PdfDocument.new()
    for n in range(first - 1, first - 1 + pages):
        page = pdf[n]
        if drop_images:
            for obj in list(page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE], max_depth=1)):
                page.remove_obj(obj)
            page.gen_content()
        clean = page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil().convert("L")
        seed = zlib.crc32(f"{src.stem}|{n}|{profile}".encode())
        degraded, dpi = PROFILES[profile](clean, random.Random(seed), np.random.default_rng(seed))
        # each page a PDF of its own, at its own resolution: one `resolution` for all (PIL's save_all) gave the
        # pages stored at the other dpi a page 1.5x too large or too small
        buf = io.BytesIO()
        degraded.save(buf, "PDF", resolution=dpi)
        out.import_pages(pdfium.PdfDocument(buf.getvalue()))
    out.save(dst)


# --- reference documents ------------------------------------------------------------------------------
@dataclass
class Reference:
    path: Path
    pages: int  # how many of its pages are used (from page `first`)
    text: str  # cleaned born-digital text
    articles: list[str]
    first: int = 1  # the first page used (1-based)
    # of the pages used (0-based), those with a ruled table (ruled_table_pages)
    table_pages: tuple[int, ...] = ()
    text_without_tables: str = ""  # cleaned born-digital text of the other pages

    @property
    def chars(self) -> int:
        """Its length with whitespace normalized: the CER's denominator, each document's weight in a total."""
        return len(" ".join(self.text.split()))

    @property
    def chars_without_tables(self) -> int:
        return len(" ".join(self.text_without_tables.split()))


RULE_MAX_PT = 3.0  # a table's rule is drawn thinner than this ...
RULE_MIN_PT = 8.0  # ... and longer (a cell's height at least)
TABLE_MIN_RULES = 3  # a ruled table: at least this many horizontal and this many vertical rules on the page


def ruled_table_pages(path: Path, first: int, n: int) -> tuple[int, ...]:
    """The pages (0-based among the `n` from `first`) whose drawing holds a ruled table (at least
    TABLE_MIN_RULES rules each way). Both readers read a ruled table cell by cell (stages/documents/tables.py),
    but a table whose rules one side finds and the other does not is read in two orders (a text layer's in its
    producer's, pdfium: "(por semestre) 10,0 Declaração da Coordenação do"; tesseract's in its own), so the CER
    there measures reading order as much as reading: these pages are reported apart."""
    pdf, out = pdfium.PdfDocument(path), []
    for i in range(n):
        across = down = 0
        for obj in pdf[first - 1 + i].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_PATH], max_depth=3):
            left, bottom, right, top = obj.get_bounds()
            across += top - bottom < RULE_MAX_PT and right - left > RULE_MIN_PT
            down += right - left < RULE_MAX_PT and top - bottom > RULE_MIN_PT
        if across >= TABLE_MIN_RULES and down >= TABLE_MIN_RULES:
            out.append(i)
    return tuple(out)


def article_labels(stem: str, text: str) -> list[str]:
    chunks = chunk_document(stem, text, ChunkParams(), approx_token_count)
    return list(dict.fromkeys(a for chunk in chunks for a in chunk.articles))


def references(
    corpus: Path, max_pages: int, first: int = 1, held_out: tuple[str, ...] | None = HELD_OUT
) -> tuple[dict[str, Reference], dict[str, str]]:
    """Born-digital documents usable as ground truth, and the others with the reason they are not (`held_out`:
    the stems held out; None: all of them)."""
    lexicon, p = load_lexicon(), OcrParams()
    refs: dict[str, Reference] = {}
    skipped: dict[str, str] = {}
    seen: set[str] = set()
    for path in sorted(corpus.glob("*.pdf")):
        sha = sha256_file(path)
        if sha in seen:
            skipped[path.stem] = "the same bytes as another document"
            continue
        seen.add(sha)
        layers = [page.text for page in read_text_layers(path, p.drop_struck_text)]
        if len(layers) < first:
            skipped[path.stem] = f"fewer than {first} pages"
            continue
        n = min(max_pages, len(layers) - first + 1)
        layers = layers[first - 1 : first - 1 + n]  # only the pages measured need to be ground truth
        if any(letter_count(t) < p.min_text_chars for t in layers):
            skipped[path.stem] = "not born-digital (pages without a text layer)"
            continue
        failing = {r for t in layers for r in assess(t, None, None, lexicon, p, text_layer=True).reasons}
        if failing:
            skipped[path.stem] = f"text layer fails the quality check ({', '.join(sorted(failing))})"
            continue
        text = clean_document(layers, CleanParams())[0]
        labels = article_labels(path.stem, text)
        if not labels and held_out is not None and path.stem not in held_out:  # a held-out act counts for CER
            skipped[path.stem] = "no article labels"
            continue
        tables = ruled_table_pages(path, first, n)
        rest = (
            clean_document([t for i, t in enumerate(layers) if i not in tables], CleanParams())[0]
            if tables
            else text
        )
        refs[path.stem] = Reference(path, n, text, labels, first, tables, rest)
    return refs, skipped


# --- one run of the ocr stage -------------------------------------------------------------------------
def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def read_rendering(
    pdfs: list[Path], p: OcrParams, work: Path, tag: str
) -> tuple[float, float, dict[str, OcrDocument]]:
    """(wall s, CPU s, documents) of the ocr stage on `pdfs` from an empty cache (outputs in work/ocr-<tag>)."""
    out, cache = work / f"ocr-{tag}", work / f"cache-{tag}"
    for old in (out, cache):
        if old.exists():
            shutil.rmtree(old)
    cpu, wall = cpu_seconds(), time.perf_counter()
    run = run_ocr(pdfs, p, out, cache)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    assert not run.failures, run.failures
    docs = {
        f.stem: from_dict(OcrDocument, json.loads(f.read_text(encoding="utf-8"))) for f in out.glob("*.json")
    }
    return wall, cpu, docs


def score(docs: dict[str, OcrDocument], refs: dict[str, Reference], stems: list[str]) -> dict[str, float]:
    """CER, article recall, empty pages and leftover U+FFFD over `stems`."""
    corpus = corpus_vocabulary([page.text for doc in docs.values() for page in doc.pages])
    errors = length = found = wanted = empty = fffd = pages = 0
    errors_nt = length_nt = 0.0  # pages without a ruled table only
    per_doc, per_doc_nt = {}, {}
    for stem in stems:
        doc, ref = docs[stem], refs[stem]
        text = clean_document([page.text for page in doc.pages], CleanParams(), corpus)[0]
        n = ref.chars
        per_doc[stem] = cer(text, ref.text)
        errors += per_doc[stem] * n
        length += n
        got = set(article_labels(stem, text))
        found += len(got & set(ref.articles))
        wanted += len(ref.articles)
        empty += sum(not page.text.strip() for page in doc.pages)
        pages += len(doc.pages)
        fffd += text.count("\ufffd")
        if ref.table_pages:
            kept = [page.text for i, page in enumerate(doc.pages) if i not in ref.table_pages]
            rest = clean_document(kept, CleanParams(), corpus)[0] if kept else ""
        if ref.chars_without_tables:
            per_doc_nt[stem] = cer(rest, ref.text_without_tables) if ref.table_pages else per_doc[stem]
            errors_nt += per_doc_nt[stem] * ref.chars_without_tables
            length_nt += ref.chars_without_tables
    return {
        "cer": errors / max(1, length),
        "cer_without_tables": errors_nt / max(1, length_nt),
        "per_doc_without_tables": per_doc_nt,
        "articles": found / max(1, wanted),
        "articles_found": found,
        "articles_wanted": wanted,
        "empty": empty,
        "pages": pages,
        "fffd": fffd,
        "per_doc": per_doc,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder of real PDFs (e.g. ../ufam)")
    ap.add_argument("--max-pages", type=int, default=10, help="pages per document (default 10)")
    ap.add_argument(
        "--first-page", type=int, default=1, help="from this page of each document (1-based; default 1)"
    )
    ap.add_argument("--rounds", type=int, default=1, help="runs of each setting, interleaved; best time kept")
    ap.add_argument("--write", type=Path, help="also write the report (Markdown) here")
    ap.add_argument("--dev-only", action="store_true", help="leave the held-out documents out (while tuning)")
    ap.add_argument("--docs", nargs="*", help="only these development documents (stems)")
    ap.add_argument("--keep", type=Path, help="keep the renderings and the OCR outputs in this folder")
    ap.add_argument(
        "--unseen",
        action="store_true",
        help="every document of this corpus is held out (another institution's acts, never looked at while tuning)",
    )
    ap.add_argument(
        "--drop-images",
        action="store_true",
        help="take the pages' images out before rendering (the page then shows only its text layer's text)",
    )
    ap.add_argument(
        "--settings",
        nargs="+",
        choices=list(SETTINGS),
        default=list(SETTINGS),
        help="settings to run (default all)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("TQDM_DISABLE", "1")
    held_out = None if args.unseen else HELD_OUT
    refs, skipped = references(args.corpus, args.max_pages, args.first_page, held_out)
    if args.dev_only or args.docs:
        refs = {s: r for s, r in refs.items() if s not in HELD_OUT and (not args.docs or s in args.docs)}
    held = [s for s in refs if held_out is None or s in held_out]
    dev = [s for s in refs if s not in held]
    print(
        f"{len(refs)} reference documents ({len(dev)} dev, {len(held)} held out), {sum(r.pages for r in refs.values())} pages"
    )
    results: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        work = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            work = args.keep
        renderings: dict[str, list[Path]] = {}
        for profile in PROFILES:
            (work / profile).mkdir(exist_ok=True)
            renderings[profile] = []
            for stem, ref in refs.items():
                dst = work / profile / f"{stem}.pdf"
                render_pdf(ref.path, ref.pages, profile, dst, ref.first, args.drop_images)
                renderings[profile].append(dst)
        for rnd in range(args.rounds):
            for profile, pdfs in renderings.items():
                for name in args.settings:
                    p = SETTINGS[name]
                    wall, cpu, docs = read_rendering(pdfs, p, work, f"{profile}-{name}-{rnd}")
                    pages = sum(len(d.pages) for d in docs.values())
                    print(
                        f"round {rnd + 1} {profile:8s} {name:6s}: {pages} pages, {wall:.1f} s wall, {cpu:.1f} s CPU",
                        flush=True,
                    )
                    best = results.get((profile, name))
                    if best is None or wall < best["wall"]:
                        results[(profile, name)] = {
                            "wall": wall,
                            "cpu": cpu,
                            "pages": pages,
                            "dev": score(docs, refs, dev),
                            "held": score(docs, refs, held),
                        }
    report = render_report(args, refs, skipped, dev, held, results)
    print(report)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report, encoding="utf-8")


def render_report(args, refs, skipped, dev, held, results) -> str:  # noqa: ANN001
    import pytesseract

    lines = [
        "# OCR and cleaning on real layouts",
        "",
        f"Command: `python bench/bench_real.py {' '.join(sys.argv[1:])}`",
        f"Machine: {len(os.sched_getaffinity(0))} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"tesseract {pytesseract.get_tesseract_version()}; lexicon: {', '.join(load_lexicon().sources)}.",
        "",
        f"Reference documents (born-digital, {args.max_pages} pages from page {args.first_page}): "
        + "; ".join(f"{s} ({refs[s].pages} p.)" for s in dev)
        + " (development set); held out: "
        + "; ".join(f"{s} ({refs[s].pages} p.)" for s in held)
        + ".",
        "Not used: " + "; ".join(f"{s}: {why}" for s, why in sorted(skipped.items())) + ".",
        "",
        "| rendering | documents | setting | CER | CER, pages without a ruled table | articles in chunks | empty pages "
        "| U+FFFD left | pages/s | CPU s/page |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    shown = "new" if "new" in args.settings else args.settings[-1]
    for (profile, name), r in results.items():
        for subset, label in (("held", "held out"), ("dev", "dev")):
            s = r[subset]
            if not s["pages"]:
                continue
            lines.append(
                f"| {profile} | {label} ({s['pages']} p.) | {name} | {100 * s['cer']:.2f}% | "
                f"{100 * s['cer_without_tables']:.2f}% | "
                f"{100 * s['articles']:.1f}% ({s['articles_found']}/{s['articles_wanted']}) | {s['empty']} | {s['fffd']} | "
                f"{r['pages'] / r['wall']:.3f} | {r['cpu'] / r['pages']:.2f} |"
            )
    lines += [
        "",
        f"Per document (CER, {shown} setting):",
        "",
        "| document | set | characters | pages with a ruled table | flatbed | photo | flatbed, without them "
        "| photo, without them |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stem in [*held, *dev]:
        subset = "held" if stem in held else "dev"
        cells = [f"{100 * results[(p, shown)][subset]['per_doc'][stem]:.2f}%" for p in PROFILES]
        cells += [
            f"{100 * results[(p, shown)][subset]['per_doc_without_tables'][stem]:.2f}%"
            if stem in results[(p, shown)][subset]["per_doc_without_tables"]
            else "n.a."
            for p in PROFILES
        ]
        tables = len(refs[stem].table_pages)
        label = "held out" if subset == "held" else "dev"
        lines.append(f"| {stem} | {label} | {refs[stem].chars} | {tables} | {' | '.join(cells)} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
