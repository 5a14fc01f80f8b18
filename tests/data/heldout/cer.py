"""CER of the held-out documents: tesseract's raw pages vs the clean stage, per document.

    python tests/data/heldout/cer.py                                   # the current stages/clean.py
    git show 14c1040:stages/clean.py > /tmp/clean_before.py
    python tests/data/heldout/cer.py --cleaner /tmp/clean_before.py    # another version of the cleaner

Reads tests/data/heldout/*.pdf with the ocr stage (default params), cleans with the default CleanParams,
and prints a markdown table; CER as in bench/clean_cer.py (whitespace-normalized Levenshtein / len(truth)).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.settings import OcrParams
from stages.scoring.metrics import cer

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cleaner", type=Path, help="a clean.py to use instead of stages/clean.py")
    args = ap.parse_args()
    if args.cleaner:
        spec = importlib.util.spec_from_file_location("clean_under_test", args.cleaner)
        clean = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
        spec.loader.exec_module(clean)
    else:
        import stages.clean as clean
    with tempfile.TemporaryDirectory() as tmp:
        run = run_ocr(list_pdfs(HERE), OcrParams(), Path(tmp) / "ocr", Path(tmp) / "cache")
        print(f"ocr: {run.facts.pages_ocr_run} pages read by tesseract in {run.facts.seconds} s\n")
        print("| document | raw CER | clean stage |\n|---|---:|---:|")
        for path in sorted((Path(tmp) / "ocr").glob("*.json")):
            pages = [page["text"] for page in json.loads(path.read_text(encoding="utf-8"))["pages"]]
            truth = (HERE / f"{path.stem}.txt").read_text(encoding="utf-8")
            text = clean.clean_document(pages, clean.CleanParams())[0]
            print(f"| {path.stem} | {cer(chr(10).join(pages), truth):.2%} | {cer(text, truth):.2%} |")


if __name__ == "__main__":
    main()
