"""Benchmark: character error rate of the clean stage vs its baselines, and the approximate token counter
vs real byte-level BPEs, in one run.

    python bench/clean_cer.py                                   # print the tables
    python bench/clean_cer.py --write docs/benchmarks/clean.md  # ... and record them

CER: the ocr stage reads the shipped sample (data/sample/pdf, default params) once; each document's text is
then compared with its ground truth (data/sample/src/<stem>.txt) as
  raw       tesseract's / the text layer's pages as they come (headers, footers, hyphens and all)
  original  the report's cleaning: delete the characters " \\ _ . , @ * ~ $ ! + and squeeze spaces
  clean     stages.clean.clean_document with the default params
CER = Levenshtein(whitespace-normalized text, whitespace-normalized truth) / len(truth).

Tokens: byte-level BPEs trained with `tokenizers` (leave-one-document-out, so no document is counted by a
tokenizer that saw it; plus one trained on all of them, like the `base` stage's) against stages.textutil.approx_token_count on the same text. A ratio > 1 means the
approximate counter overestimates, the safe side for a context limit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import tempfile
from pathlib import Path

from stages.documents.corpus import list_pdfs, run_ocr
from stages.documents.settings import OcrParams
from stages.scoring.metrics import cer
from stages.text.clean.document import clean_document
from stages.text.clean.furniture import CleanParams
from stages.text.tokens import approx_token_count

ROOT = Path(__file__).resolve().parents[1]


TRUTH = ROOT / "data/sample/src"


def original_cleaning(text: str) -> str:
    """The approach this project replaces: delete " \\ _ . , @ * ~ $ ! + and squeeze spaces."""
    return re.sub(r" +", " ", re.sub(r'["\\_.,@*~$!+]', "", text))


def cer_table(ocr_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(ocr_dir.glob("*.json")):
        pages = json.loads(path.read_text(encoding="utf-8"))["pages"]
        texts = [p["text"] for p in pages]
        truth = (TRUTH / f"{path.stem}.txt").read_text(encoding="utf-8")
        raw = "\n".join(texts)
        rows.append(
            {
                "doc": path.stem,
                "method": "/".join(sorted({p["method"] for p in pages})),
                "raw": cer(raw, truth),
                "original": cer(original_cleaning(raw), truth),
                "clean": cer(clean_document(texts, CleanParams())[0], truth),
            }
        )
    return rows


def token_table(vocab_sizes: tuple[int, ...] = (500, 1000, 2048)) -> list[dict]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from stages.text.chunking import ChunkParams, chunk_document

    docs = {p.stem: p.read_text(encoding="utf-8") for p in sorted(TRUTH.glob("*.txt"))}
    words = sum(len(t.split()) for t in docs.values())
    approx = sum(approx_token_count(t) for t in docs.values())
    rows = [
        {
            "counter": "approx_token_count",
            "tokens": approx,
            "per_word": approx / words,
            "ratio": 1.0,
            "worst": 1.0,
        }
    ]
    runs = [(vocab, True) for vocab in vocab_sizes] + [(2048, False)]
    for vocab, leave_one_out in runs:
        total, worst = 0, 0.0
        for held_out, text in docs.items():
            tok = Tokenizer(models.BPE())
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            train = [t for d, t in docs.items() if d != held_out or not leave_one_out]
            tok.train_from_iterator(train, trainers.BpeTrainer(vocab_size=vocab, show_progress=False))
            total += len(tok.encode(text).ids)
            for chunk in chunk_document(held_out, text, ChunkParams(), approx_token_count):
                worst = max(worst, len(tok.encode(chunk.text).ids) / chunk.n_tokens)
        rows.append(
            {"counter": f"byte-level BPE, vocab {vocab}" + ("" if leave_one_out else ", trained on all 4 (as `base` does)"),
             "tokens": total, "per_word": total / words,
             "ratio": approx / total, "worst": worst}
        )  # fmt: skip
    return rows


def render(cer_rows: list[dict], token_rows: list[dict], pages_s: float) -> str:
    lines = [
        "# clean stage: character error rate on the sample",
        "",
        f"Command: `python bench/clean_cer.py --write docs/benchmarks/clean.md` (nproc = {os.cpu_count()}, "
        f"{platform.processor() or platform.machine()}; the ocr stage read the sample at {pages_s:.2f} pages/s).",
        "",
        "CER = Levenshtein(whitespace-normalized text, whitespace-normalized ground truth) / len(truth), against",
        "`data/sample/src/<stem>.txt`. *raw*: the ocr stage's pages as they come; *original*: the report's cleaning",
        '(delete `" \\ _ . , @ * ~ $ ! +`, squeeze spaces); *clean*: this stage. Target: clean <= 1% scanned, <= 0.5% born-digital.',
        "",
        "| document | pages read by | raw CER | original cleaning | clean stage | clean / raw |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in cer_rows:
        lines.append(
            f"| {r['doc']} | {r['method']} | {r['raw']:.2%} | {r['original']:.2%} | {r['clean']:.2%} | {r['clean'] / r['raw']:.3f} |"
        )
    lines += [
        "",
        "Remaining errors after cleaning are tesseract's own misreadings that no rule can undo safely",
        '(e.g. "87ª" read as "87º", "0 (zero)" as "O (zero)", "I e II" as "Ie II").',
        "",
        '## Approximate token counter (`chunk.tokenizer: ""`)',
        "",
        "Byte-level BPEs trained with `tokenizers` on the other three ground-truth documents, counting the fourth",
        "(leave-one-out; the last row: trained on all four), summed over the sample; `approx / this` > 1 means the",
        "built-in counter overestimates. The last column: the sample chunked at `max_tokens: 350` by the built-in",
        "counter, the largest ratio of a chunk's BPE count to its approximate count (> 1: that chunk is over).",
        "",
        "| counter | tokens | tokens per word | approx / this | worst 350-token chunk: this / approx |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in token_rows:
        lines.append(
            f"| {r['counter']} | {r['tokens']} | {r['per_word']:.2f} | {r['ratio']:.2f} | {r['worst']:.2f} |"
        )
    lines += [
        "",
        "Reading: against a small-vocabulary BPE that has never seen the document (vocab 2048, leave-one-out) the",
        "built-in counter overestimates by 14% overall, and its worst 350-token chunk is 2% under; against one that",
        "has seen the corpus, as the `base` stage's tokenizer has, it overestimates by 78%. The sample is small",
        "(about 2,500 words), so these BPEs run out of merges near a vocabulary of 2,000; a 32k-128k Llama vocabulary",
        "splits Portuguese into fewer pieces still. No Llama tokenizer is available offline to measure against. For",
        "exact counts with a real model, set `chunk.tokenizer` to its local directory.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", type=Path, help="also write the markdown report here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        run = run_ocr(
            list_pdfs(ROOT / "data/sample/pdf"), OcrParams(), Path(tmp) / "ocr", Path(tmp) / "cache"
        )
        cer_rows = cer_table(Path(tmp) / "ocr")
    report = render(cer_rows, token_table(), run.facts.pages_per_s)
    print(report)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
