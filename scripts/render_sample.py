"""Render the sample corpus data/sample/src/*.txt into data/sample/pdf/*.pdf (a dev-time script).

The PDFs are committed; rerun this only after editing a source text:

    python scripts/render_sample.py            # needs Pillow, numpy, reportlab (the `dev` extra) and DejaVu fonts

Scanned look (every stem except BORN_DIGITAL): A4 pages drawn with Pillow at 300 dpi in Nimbus Roman 12 pt,
justified lines with words hyphenated at line ends, a running header (institution name and a rule) and a
"Página N de M" footer on every page, then slight skew (<= 0.7 deg), mild Gaussian noise and a light blur,
stored as grayscale JPEG images: an image-only PDF with no text layer.
Born-digital (BORN_DIGITAL): the same layout written by reportlab with an embedded TrueType font, i.e. a real
text layer, with the same header and footer but no hyphenation (as a word processor would export it).

`ScanStyle` varies font, header, footer, alignment and storage for other layouts (tests/data/heldout/render.py).
Everything is seeded from the file stem and reportlab runs in invariant mode, so reruns give identical bytes.
See data/sample/README.md for the ground-truth convention.
"""

from __future__ import annotations

import argparse
import io
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
SRC_DIR = ROOT / "data/sample/src"
PDF_DIR = ROOT / "data/sample/pdf"
BORN_DIGITAL = {"instrucao_estagio"}
HEADER = "UNIVERSIDADE FEDERAL DO VALE VERDE"
# Scans: Nimbus Roman (a Times clone, Debian fonts-urw-base35, comes with ghostscript), the usual face of
# printed regulations. Born-digital: DejaVu Serif (fonts-dejavu-core), a TrueType font reportlab can embed.
SCAN_FONT_DIR = Path("/usr/share/fonts/opentype/urw-base35")
SCAN_REGULAR = SCAN_FONT_DIR / "NimbusRoman-Regular.otf"
SCAN_BOLD = SCAN_FONT_DIR / "NimbusRoman-Bold.otf"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = FONT_DIR / "DejaVuSerif.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSerif-Bold.ttf"

# Page geometry in points (1/72 in); A4.
PAGE_W, PAGE_H = 595.0, 842.0
MARGIN_L, MARGIN_R = 71.0, 57.0  # 2.5 cm / 2 cm
BODY_TOP, BODY_BOTTOM = 110.0, 770.0  # body area between header and footer
FONT_PT = 12.0
LEADING = 1.45  # line pitch, times the font size
BLOCK_GAP = 0.8  # extra space where the source has a blank line, times the font size
INDENT = 36.0  # first-line indent of ordinary paragraphs

SCAN_DPI = 300  # drawn at this resolution ...
STORE_DPI = (
    200  # ... and stored at this one: JPEG of text costs ~200 KiB a page here, so the sample stays < 2 MB
)
JPEG_QUALITY = 35
NOISE_SIGMA = 6.0  # grey levels at 300 dpi, before the blur: "mild"
MAX_SKEW_DEG = 0.7
FIXED_DATE = time.gmtime(1712707200)  # 2024-04-10, as struct_time (what Pillow's PDF writer accepts)

VOWELS = set("aeiouáéíóúâêôãõàüy")
INSEPARABLE = {
    "br",
    "cr",
    "dr",
    "fr",
    "gr",
    "pr",
    "tr",
    "vr",
    "bl",
    "cl",
    "fl",
    "gl",
    "pl",
    "tl",
    "ch",
    "lh",
    "nh",
}


def syllable_breaks(word: str) -> list[int]:
    """Indices where a lowercase Portuguese word may be hyphenated (simplified rules, consonant boundaries only).

    V-CV (ca-sa), digraphs ch/lh/nh kept together (ma-nhã), rr/ss/sc split (car-ro), a consonant cluster goes
    with the next vowel when its last two letters are inseparable (ins-tru-ção), else splits before its last
    consonant (pers-pec-ti-va). Vowel sequences are never split (no hiatus guessing).
    """
    w = word.lower()
    breaks = []
    i = 0
    n = len(w)
    while i < n:
        if w[i] in VOWELS:
            j = i + 1
            while j < n and w[j] not in VOWELS:
                j += 1
            cluster = w[i + 1 : j]
            if j < n and cluster:  # vowel, consonants, vowel
                if len(cluster) == 1 or cluster in INSEPARABLE:
                    breaks.append(i + 1)
                elif cluster[-2:] in INSEPARABLE:
                    breaks.append(j - 2)
                else:
                    breaks.append(j - 1)
            i = j
        else:
            i += 1
    return [b for b in breaks if 2 <= b <= n - 2]


def hyphenation_candidates(word: str) -> list[int]:
    """Break points for a plain word (letters with optional trailing punctuation); none for compounds."""
    m = re.fullmatch(r"([a-záéíóúâêôãõàüç]+)([,.;:]?)", word)
    if not m or len(m.group(1)) < 5:
        return []
    return syllable_breaks(m.group(1))


@dataclass(frozen=True)
class Line:
    words: list[str]
    justify: bool  # stretch to the full width (not for a paragraph's last line)
    indent: float
    centered: bool
    bold: bool


@dataclass(frozen=True)
class ScanStyle:
    """How a scanned page looks; the defaults are the sample's (tests/data/heldout/render.py varies them)."""

    regular: Path = SCAN_REGULAR
    bold: Path = SCAN_BOLD
    font_pt: float = FONT_PT
    header: tuple[str, ...] = (HEADER,)  # running header, one line each, centred at the top
    footer: str = "Página {n} de {m}"  # {n}: page number, {m}: page count; "\n" for a two-line footer
    justify: bool = True  # False: ragged right (left-aligned)
    indent: float = INDENT  # first-line indent of ordinary paragraphs
    store_dpi: int = STORE_DPI
    jpeg_quality: int = JPEG_QUALITY


def is_heading(par: str) -> bool:
    letters = [c for c in par if c.lower() != c.upper()]  # cased letters only: º and ª are neither
    return bool(letters) and all(c.isupper() for c in letters)


def wrap_paragraph(
    par: str,
    width: float,
    measure: Callable[[str, bool], float],
    hyphenate: bool,
    justify: bool = True,
    indent: float = INDENT,
) -> list[Line]:
    """Greedy line filling; a word that does not fit is hyphenated at the longest syllable prefix that does."""
    heading = is_heading(par)
    indent = 0.0 if heading else indent
    words = par.split()
    lines: list[Line] = []
    current: list[str] = []
    space = measure(" ", heading)

    def avail() -> float:
        return width - (indent if not lines else 0.0)

    def used(ws: list[str]) -> float:
        return sum(measure(w, heading) for w in ws) + space * max(0, len(ws) - 1)

    queue = list(words)
    while queue:
        word = queue.pop(0)
        if used([*current, word]) <= avail():
            current.append(word)
            continue
        if hyphenate and current and not heading:
            for b in reversed(hyphenation_candidates(word)):
                head = word[:b] + "-"
                if used([*current, head]) <= avail():
                    current.append(head)
                    queue.insert(0, word[b:])
                    break
            else:
                queue.insert(0, word)
        else:
            queue.insert(0, word)
        if not current:  # a single word wider than the line: put it alone
            current.append(queue.pop(0))
        lines.append(
            Line(current, justify and not heading, indent if len(lines) == 0 else 0.0, heading, heading)
        )
        current = []
    lines.append(Line(current, False, indent if not lines else 0.0, heading, heading))
    return lines


def layout(
    text: str,
    measure: Callable[[str, bool], float],
    hyphenate: bool,
    style: ScanStyle | None = None,
) -> list[list[tuple[float, Line]]]:
    """Pages of (y offset in points from BODY_TOP, line); blank source lines become vertical gaps."""
    style = style or ScanStyle()
    leading, block_gap = LEADING * style.font_pt, BLOCK_GAP * style.font_pt
    width = PAGE_W - MARGIN_L - MARGIN_R
    pages: list[list[tuple[float, Line]]] = [[]]
    y = 0.0
    pending_gap = 0.0
    for raw in text.split("\n"):
        if not raw.strip():
            pending_gap = block_gap
            continue
        for line in wrap_paragraph(raw.strip(), width, measure, hyphenate, style.justify, style.indent):
            if pages[-1]:
                y += pending_gap
            pending_gap = 0.0
            if y + leading > BODY_BOTTOM - BODY_TOP:
                pages.append([])
                y = 0.0
            pages[-1].append((y, line))
            y += leading
    return pages


def line_positions(line: Line, measure: Callable[[str, bool], float]) -> tuple[float, float]:
    """(x of the first word, extra space per gap) in points."""
    width = PAGE_W - MARGIN_L - MARGIN_R
    natural = sum(measure(w, line.bold) for w in line.words) + measure(" ", line.bold) * (len(line.words) - 1)
    if line.centered:
        return MARGIN_L + (width - natural) / 2, 0.0
    gaps = len(line.words) - 1
    if line.justify and gaps:
        return MARGIN_L + line.indent, (width - line.indent - natural) / gaps
    return MARGIN_L + line.indent, 0.0


def render_scanned(stem: str, text: str, style: ScanStyle | None = None) -> bytes:
    style = style or ScanStyle()
    scale = SCAN_DPI / 72.0
    fonts = {
        False: ImageFont.truetype(str(style.regular), round(style.font_pt * scale)),
        True: ImageFont.truetype(str(style.bold), round(style.font_pt * scale)),
    }
    small = ImageFont.truetype(str(style.regular), round(10 * scale))

    def measure(s: str, bold: bool) -> float:
        return fonts[bold].getlength(s) / scale

    pages = layout(text, measure, hyphenate=True, style=style)
    seed = zlib.crc32(stem.encode())
    rng = np.random.default_rng(seed)
    w_px, h_px = round(PAGE_W * scale), round(PAGE_H * scale)
    images = []
    for number, page in enumerate(pages, 1):
        img = Image.new("L", (w_px, h_px), 255)
        draw = ImageDraw.Draw(img)
        for i, header in enumerate(style.header):
            hw = small.getlength(header)
            draw.text(((w_px - hw) / 2, (50 + 13 * i) * scale), header, font=small, fill=0)
        for i, footer in enumerate(style.footer.format(n=number, m=len(pages)).split("\n")):
            fw = small.getlength(footer)
            draw.text(((w_px - fw) / 2, (800 + 13 * i) * scale), footer, font=small, fill=0)
        for y, line in page:
            x, extra = line_positions(line, measure)
            for word in line.words:
                draw.text((x * scale, (BODY_TOP + y) * scale), word, font=fonts[line.bold], fill=0)
                x += measure(word, line.bold) + measure(" ", line.bold) + extra
        angle = float(rng.uniform(-MAX_SKEW_DEG, MAX_SKEW_DEG))
        img = img.rotate(angle, resample=Image.BICUBIC, fillcolor=255)
        arr = np.asarray(img, dtype=np.float32) * 0.93 + 8  # paper is not pure white
        arr += rng.normal(0.0, NOISE_SIGMA, arr.shape)
        noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").filter(
            ImageFilter.GaussianBlur(0.8)
        )
        size = (w_px * style.store_dpi // SCAN_DPI, h_px * style.store_dpi // SCAN_DPI)
        images.append(noisy.resize(size, Image.LANCZOS))
    buf = io.BytesIO()
    images[0].save(
        buf,
        "PDF",
        save_all=True,
        append_images=images[1:],
        resolution=style.store_dpi,
        quality=style.jpeg_quality,
        optimize=True,
        creationDate=FIXED_DATE,  # Pillow would stamp the current time: keep reruns byte-identical
        modDate=FIXED_DATE,
    )
    return buf.getvalue()


def render_born_digital(stem: str, text: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("Serif", str(FONT_REGULAR)))
    pdfmetrics.registerFont(TTFont("Serif-Bold", str(FONT_BOLD)))
    face = {False: "Serif", True: "Serif-Bold"}

    def measure(s: str, bold: bool) -> float:
        return pdfmetrics.stringWidth(s, face[bold], FONT_PT)

    pages = layout(text, measure, hyphenate=False)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=1)
    c.setTitle(stem)
    for number, page in enumerate(pages, 1):
        c.setFont("Serif", 10)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 60, HEADER)
        for y, line in page:
            x, extra = line_positions(line, measure)
            t = c.beginText(x, PAGE_H - BODY_TOP - y - FONT_PT)
            t.setFont(face[line.bold], FONT_PT)
            t.setWordSpace(extra)
            t.textLine(" ".join(line.words))
            c.drawText(t)
        c.setFont("Serif", 10)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 808, f"Página {number} de {len(pages)}")
        c.showPage()
    c.save()
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stems", nargs="*", help="render only these (default: all)")
    args = ap.parse_args()
    PDF_DIR.mkdir(parents=True, exist_ok=True)
    for src in sorted(SRC_DIR.glob("*.txt")):
        if args.stems and src.stem not in args.stems:
            continue
        text = src.read_text(encoding="utf-8")
        render = render_born_digital if src.stem in BORN_DIGITAL else render_scanned
        data = render(src.stem, text)
        (PDF_DIR / f"{src.stem}.pdf").write_bytes(data)
        print(f"{src.stem}.pdf: {len(data) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
