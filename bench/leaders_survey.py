"""Dot leaders found on real pages rendered as scans and photos, by stages/documents/leaders.py now and at a git revision,
beside the rows of dots each page's text layer holds.

    python bench/leaders_survey.py --corpus ../ufam --corpus ../univasf --baseline-rev REV

Each PDF's first `--pages` pages are rendered by bench/bench_real.py's flatbed and photo profiles (the same seeds);
a line is printed for every rendering where either version finds a leader or the text layer has a row of dots
("want": lines of the layer with 6 or more dots in a row; a scan has no layer, so 0). A leader found where the
layer has none is worth a look at the page (`--show DIR` writes a crop of each such box).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from bench_real import PROFILES, RENDER_DPI

from stages.documents import leaders

ROOT = Path(__file__).resolve().parents[1]


DOTS_RE = re.compile(r"\.{6,}|(?:\. ){6,}")


def module_at(rev: str, tmp: Path):  # noqa: ANN201
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:stages/documents/leaders.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = tmp / "leaders_baseline.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("leaders_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["leaders_baseline"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--corpus", type=Path, action="append", required=True, help="a folder of PDFs (repeatable)"
    )
    ap.add_argument(
        "--baseline-rev", required=True, help="git revision of stages/documents/leaders.py to compare with"
    )
    ap.add_argument("--pages", type=int, default=6, help="first pages of each PDF (default 6)")
    ap.add_argument(
        "--show", type=Path, help="write a crop of each leader found where the layer has none here"
    )
    args = ap.parse_args()
    totals = {"renderings": 0, "want": 0, "baseline": 0, "now": 0, "now_without_dots": 0}
    with tempfile.TemporaryDirectory() as tmp:
        old = module_at(args.baseline_rev, Path(tmp))
        for folder in args.corpus:
            for path in sorted(folder.glob("*.pdf")):
                pdf = pdfium.PdfDocument(path)
                for n in range(min(args.pages, len(pdf))):
                    page = pdf[n]
                    want = len(DOTS_RE.findall(page.get_textpage().get_text_range()))
                    clean = page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil().convert("L")
                    for profile, degrade in PROFILES.items():
                        seed = zlib.crc32(f"{path.stem}|{n}|{profile}".encode())
                        img, dpi = degrade(clean, random.Random(seed), np.random.default_rng(seed))
                        grey = np.asarray(img)
                        before, now = old.find_leaders(grey, dpi), leaders.find_leaders(grey, dpi)
                        totals["renderings"] += 1
                        totals["want"] += want
                        totals["baseline"] += len(before)
                        totals["now"] += len(now)
                        if now and not want:
                            totals["now_without_dots"] += len(now)
                            if args.show:
                                args.show.mkdir(parents=True, exist_ok=True)
                                for i, lead in enumerate(now):
                                    box = (lead.left - 200, lead.top - 40, lead.right + 100, lead.bottom + 40)
                                    img.crop(box).save(args.show / f"{path.stem}_p{n + 1}_{profile}_{i}.png")
                        if before or now or want:
                            print(
                                f"{path.stem[:60]} p{n + 1} {profile}: layer {want}, "
                                f"{args.baseline_rev} {len(before)}, now {len(now)}",
                                flush=True,
                            )
    print(" ".join(f"{k} {v}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
