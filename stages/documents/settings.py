"""The ocr stage's params ([ocr] in params.yaml), checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass

EXECUTORS = ("local", "ray")  # stages/documents/executors.py, stages/documents/raycluster.py


@dataclass(frozen=True)
class OcrParams:
    input_dir: str = "data/sample/pdf"  # folder of *.pdf
    dpi: int = 300  # render resolution for pages without a text layer
    lang: str = "por"  # tesseract language(s), e.g. por or por+eng
    psm: int = 3  # tesseract page segmentation mode (3 = fully automatic)
    workers: int = (
        0  # OCR processes; 0 = all cores (with executor ray: pages in flight; 0 = the cluster's CPUs)
    )
    executor: str = "local"  # local: a pool of processes on this machine | ray: the tasks of a Ray cluster
    min_text_chars: int = 40  # letters a page's own text layer needs to be used instead of OCR
    strict: bool = False  # exit non-zero when any document or page failed
    # Paper brightness varying by more grey levels than this: local (Sauvola) binarization at once. Measured:
    # ordinary scans 0-5, phone photos 98-159 (docs/benchmarks/real.md).
    adaptive_light_spread: float = 40.0
    retry_suspect: bool = True  # read a suspect page again (OSD rotation, the other binarization); best kept
    check_text_layers: bool = True  # OCR a text layer that fails the quality check; the better reading kept
    osd_min_confidence: float = 2.0  # tesseract OSD orientation confidence needed to turn a suspect page
    # The page verdict's thresholds (quality.py's `assess` reads them from here)
    quality_min_confidence: float = 70.0  # mean word confidence below this: suspect (ordinary pages 82-96)
    quality_min_lexicon_share: float = 0.6  # known-word share below this: suspect (ordinary pages 0.78-0.98)
    quality_min_ink_cm2: float = 3.0  # a rendered page with this much ink has something printed on it
    quality_min_letters_per_ink_cm2: float = 3.0  # fewer letters per cm² of ink: text lost (pages: 11-180)
    duplicate_similarity: float = 98.0  # rapidfuzz ratio of two documents' whole texts that makes them one
    drop_struck_text: bool = True  # leave out text shown struck through (revoked wording): layers and scans
    blank_dot_leaders: bool = True  # paint rows of dots ("Art. 12. ......") out of page images before OCR
    join_label_column: bool = True  # labels set in a column of their own ("Art. 4º") read with their lines
    read_split_lines_by_rows: bool = True  # a page whose lines tesseract cut into blocks is read row by row
    read_tables: bool = True  # ruled tables read cell by cell, row by row (scans and text layers)
    place_list_numerals: bool = True  # a list's numerals set apart ("II.") put at their lines' starts

    def problems(self) -> list[str]:
        out = []
        if not self.input_dir.strip():
            out.append("ocr.input_dir must name a folder of PDFs")
        if not 50 <= self.dpi <= 1200:
            out.append(f"ocr.dpi must be in [50, 1200], got {self.dpi}")
        if not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", self.lang):
            out.append(f"ocr.lang must look like por or por+eng, got {self.lang!r}")
        if self.psm not in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
            out.append(f"ocr.psm must be a text-producing tesseract mode (1, 3-13), got {self.psm}")
        if self.workers < 0:
            out.append(f"ocr.workers must be >= 0 (0 = all cores), got {self.workers}")
        if self.executor not in EXECUTORS:
            out.append(f"ocr.executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.min_text_chars < 1:
            out.append(f"ocr.min_text_chars must be >= 1, got {self.min_text_chars}")
        if not 0 <= self.adaptive_light_spread <= 255:
            out.append(f"ocr.adaptive_light_spread must be in [0, 255], got {self.adaptive_light_spread}")
        if self.osd_min_confidence < 0:
            out.append(f"ocr.osd_min_confidence must be >= 0, got {self.osd_min_confidence}")
        if not 0 <= self.quality_min_confidence <= 100:
            out.append(f"ocr.quality_min_confidence must be in [0, 100], got {self.quality_min_confidence}")
        if not 0 <= self.quality_min_lexicon_share <= 1:
            out.append(
                f"ocr.quality_min_lexicon_share must be in [0, 1], got {self.quality_min_lexicon_share}"
            )
        if self.quality_min_ink_cm2 <= 0:
            out.append(f"ocr.quality_min_ink_cm2 must be > 0, got {self.quality_min_ink_cm2}")
        if self.quality_min_letters_per_ink_cm2 < 0:
            out.append(
                f"ocr.quality_min_letters_per_ink_cm2 must be >= 0, got {self.quality_min_letters_per_ink_cm2}"
            )
        if not 50 <= self.duplicate_similarity <= 100:
            out.append(f"ocr.duplicate_similarity must be in [50, 100], got {self.duplicate_similarity}")
        return out
