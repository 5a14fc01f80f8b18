"""Small PDFs for the OCR tests, built on the fly (no system fonts needed: Pillow's built-in font, reportlab's
standard Helvetica)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TESSERACT_WRAPPER = """#!/bin/sh
# Counts tesseract calls: one log line per recognition call, then the real tesseract does the work.
case "$1" in --*) ;; *) echo "$1" >> "{log}" ;; esac
exec "{real}" "$@"
"""


def text_image(line: str, dpi: int = 300) -> Image.Image:
    """One line of black text on a small white grayscale page, at `dpi`."""
    font = ImageFont.load_default(size=round(14 * dpi / 72))  # 14 pt
    width = int(font.getlength(line)) + dpi // 2
    img = Image.new("L", (width, dpi // 2), 255)
    ImageDraw.Draw(img).text((dpi // 4, dpi // 8), line, font=font, fill=0)
    return img


def scanned_pdf(path: Path, lines: list[str], dpi: int = 300) -> Path:
    """An image-only PDF with one page per line (no text layer)."""
    pages = [text_image(line, dpi) for line in lines]
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return path


def text_layer_pdf(path: Path, pages: list[str], encrypt: str | None = None) -> Path:
    """A born-digital PDF, one page per string, with a real text layer; `encrypt` sets a user password."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(420, 200), encrypt=encrypt, invariant=1)
    for text in pages:
        c.setFont("Helvetica", 11)
        c.drawString(20, 150, text)
        c.showPage()
    c.save()
    return path


def mixed_pdf(path: Path, text_page: str, scanned_line: str, dpi: int = 300) -> Path:
    """Page 1 with a text layer, page 2 an image of `scanned_line` only."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    img = text_image(scanned_line, dpi)
    w, h = img.width * 72 / dpi, img.height * 72 / dpi
    c = canvas.Canvas(str(path), pagesize=(420, 200), invariant=1)
    c.setFont("Helvetica", 11)
    c.drawString(20, 150, text_page)
    c.showPage()
    c.setPageSize((w, h))
    c.drawImage(ImageReader(img), 0, 0, w, h)
    c.showPage()
    c.save()
    return path


def wide_page_pdf(path: Path, first_line: str, dpi: int = 300) -> Path:
    """Page 1 a normal scanned line; page 2 a blank 200-inch-wide strip that tesseract refuses ("Image too
    large": over 32767 pixels wide at 300 dpi)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    img = text_image(first_line, dpi)
    w, h = img.width * 72 / dpi, img.height * 72 / dpi
    c = canvas.Canvas(str(path), pagesize=(w, h), invariant=1)
    c.drawImage(ImageReader(img), 0, 0, w, h)
    c.showPage()
    c.setPageSize((14400, 12))
    c.rect(0, 0, 14400, 12, stroke=0, fill=0)
    c.showPage()
    c.save()
    return path


def truncated_pdf(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def png_named_pdf(path: Path) -> Path:
    buf = io.BytesIO()
    text_image("not a pdf").save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def random_bytes_pdf(path: Path, seed: int = 7) -> Path:
    import random

    path.write_bytes(random.Random(seed).randbytes(4096))
    return path


def counting_tesseract(bin_dir: Path, log: Path) -> Path:
    """A `tesseract` wrapper script in bin_dir that logs each recognition call; put bin_dir first on PATH."""
    import shutil

    real = shutil.which("tesseract")
    assert real, "tesseract is not installed"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "tesseract"
    wrapper.write_text(TESSERACT_WRAPPER.format(log=log, real=real))
    wrapper.chmod(0o755)
    return wrapper


def ocr_calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
