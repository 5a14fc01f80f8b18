"""Benchmark: the ocr stage vs a sequential pytesseract loop vs `ocrmypdf --jobs N --sidecar`, in one run.

    python bench/bench_ocr.py                                  # print the table
    python bench/bench_ocr.py --write docs/benchmarks/ocr.md   # ... and record it
    python bench/bench_ocr.py --inputs DIR --baseline-rev REV --skip-sequential --write FILE
        # other scans (e.g. the real corpus's flatbed scans), and the stage as it was at git revision REV beside
        # the stage as it is (each run as `python -m stages.ocr` would: a fresh process, its own cache)

Input: the scanned sample PDFs (data/sample/pdf minus the born-digital one), copied `--replicate` times under
new names so there are enough pages to keep every core busy. All three read the same files at 300 dpi with
`-l por`; each starts from nothing (the stage gets an empty cache). Also reported: the raw character error rate
of each method's text against data/sample/src (whitespace-normalized, headers and hyphens not cleaned), to show
the speed does not come from reading worse.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BORN_DIGITAL = "instrucao_estagio"
STAGE = "ocr stage (this repo)"


def cpu_seconds() -> float:
    """User + system CPU time of this process and of every finished (waited-for) child process tree."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def scanned_inputs(work: Path, replicate: int) -> list[Path]:
    src = sorted(p for p in (ROOT / "data/sample/pdf").glob("*.pdf") if p.stem != BORN_DIGITAL)
    out = work / "pdf"
    out.mkdir()
    paths = []
    for r in range(replicate):
        for p in src:
            dst = out / f"{p.stem}__{r}.pdf"
            shutil.copy(p, dst)
            paths.append(dst)
    return paths


def real_inputs(work: Path, folder: Path, exclude: list[str]) -> list[Path]:
    """The image-only PDFs of `folder` (no page with a text layer), minus the stems in `exclude` and files with the
    same bytes as an earlier one (the stage now reads those once: they would only slow the old stage down)."""
    import hashlib

    import pypdfium2 as pdfium

    out = work / "pdf"
    out.mkdir()
    paths = []
    seen = set()
    for p in sorted(folder.glob("*.pdf")):
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if p.stem in exclude or digest in seen:
            continue
        seen.add(digest)
        pdf = pdfium.PdfDocument(p)
        if any(page.get_textpage().get_text_range().strip() for page in pdf):
            continue
        shutil.copy(p, out / p.name)
        paths.append(out / p.name)
    return paths


def truth_of(path: Path) -> str | None:
    truth = ROOT / "data/sample/src" / f"{path.stem.split('__')[0]}.txt"
    return truth.read_text(encoding="utf-8") if truth.exists() else None


def cer(text: str, truth: str | None) -> float | None:
    if truth is None:
        return None
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError:
        return None
    a, b = " ".join(text.split()), " ".join(truth.split())
    return Levenshtein.distance(a, b) / len(b)


def export_revision(rev: str, work: Path) -> Path:
    """stages/ as it was at git revision `rev`, in a folder of its own."""
    dst = work / f"rev-{rev}"
    if not dst.exists():
        dst.mkdir()
        archive = subprocess.run(["git", "archive", rev, "stages"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dst)], input=archive.stdout, check=True)
    return dst


def run_stage(
    pdfs: list[Path], work: Path, workers: int, code: Path, tag: str
) -> tuple[float, dict[str, str]]:
    """The ocr stage of the code in `code` on `pdfs`, in a fresh process, from an empty cache."""
    import json

    out = work / f"stage-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    script = (
        "import sys; from pathlib import Path; from stages.documents.corpus import run_ocr; "
        "from stages.documents.settings import OcrParams; "
        f"m = run_ocr([Path(p) for p in sys.argv[1:]], OcrParams(workers={workers}), Path({str(out / 'ocr')!r}), "
        f"Path({str(out / 'cache')!r})); assert not m.failures, m.failures"
    )
    env = {**os.environ, "PYTHONPATH": str(code), "TQDM_DISABLE": "1"}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", script, *map(str, pdfs)], env=env, check=True, stderr=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - t
    texts = {}
    for p in pdfs:
        doc = json.loads((out / "ocr" / f"{p.stem}.json").read_text())
        texts[p.stem] = "\n".join(page["text"] for page in doc["pages"])
    return seconds, texts


def run_sequential(pdfs: list[Path]) -> tuple[float, dict[str, str]]:
    """The original approach: whole document through pdf2image, image_to_string page by page."""
    import pytesseract
    from pdf2image import convert_from_path

    texts = {}
    t = time.perf_counter()
    for p in pdfs:
        images = convert_from_path(p, dpi=300)
        texts[p.stem] = "\n".join(pytesseract.image_to_string(img, lang="por") for img in images)
    return time.perf_counter() - t, texts


def run_ocrmypdf(pdfs: list[Path], work: Path, jobs: int) -> tuple[float, dict[str, str]]:
    out = work / "ocrmypdf"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    texts = {}
    t = time.perf_counter()
    for p in pdfs:
        sidecar = out / f"{p.stem}.txt"
        cmd = ["ocrmypdf", "--jobs", str(jobs), "--sidecar", str(sidecar), "--force-ocr", "-l", "por", "-q"]
        subprocess.run([*cmd, str(p), str(out / p.name)], check=True)
        texts[p.stem] = sidecar.read_text(encoding="utf-8").replace("\f", "\n")
    return time.perf_counter() - t, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicate", type=int, default=2, help="copies of each scanned sample PDF (default 2)")
    ap.add_argument(
        "--repeat", type=int, default=1, help="run the methods in turn this many times; best time kept"
    )
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--skip-sequential", action="store_true")
    ap.add_argument("--inputs", type=Path, help="read this folder's image-only PDFs instead of the sample")
    ap.add_argument("--exclude", nargs="*", default=[], help="stems of --inputs to leave out")
    ap.add_argument("--baseline-rev", help="also run the ocr stage as it was at this git revision")
    ap.add_argument("--write", type=Path, help="also write the results as Markdown to this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.pop("OMP_THREAD_LIMIT", None)  # baselines run with tesseract's default threading
    nproc = len(os.sched_getaffinity(0))

    import pypdfium2 as pdfium

    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        work = Path(tmp)
        pdfs = (
            real_inputs(work, args.inputs, args.exclude)
            if args.inputs
            else scanned_inputs(work, args.replicate)
        )
        pages = sum(len(pdfium.PdfDocument(p)) for p in pdfs)
        print(f"{len(pdfs)} scanned PDFs, {pages} pages, {nproc} cores", flush=True)
        methods = {STAGE: lambda: run_stage(pdfs, work, nproc, ROOT, "now")}
        if args.baseline_rev:
            before = export_revision(args.baseline_rev, work)
            methods[f"ocr stage at {args.baseline_rev}"] = lambda: run_stage(
                pdfs, work, nproc, before, "before"
            )
        if not args.skip_sequential:
            methods["sequential pytesseract loop"] = lambda: run_sequential(pdfs)
        if not args.skip_ocrmypdf and shutil.which("ocrmypdf"):
            methods[f"ocrmypdf --jobs {nproc} --sidecar"] = lambda: run_ocrmypdf(pdfs, work, nproc)
        results: dict[str, tuple[float, dict[str, str]]] = {}
        cpu: dict[str, float] = {}
        for r in range(args.repeat):  # interleaved, so a burst of background load hits every method alike
            for name, fn in methods.items():
                cpu_before = cpu_seconds()
                seconds, texts = fn()
                used = cpu_seconds() - cpu_before
                print(f"round {r + 1}: {name}: {seconds:.1f} s wall, {used:.1f} s CPU", flush=True)
                if name not in results or seconds < results[name][0]:
                    results[name] = (seconds, texts)
                cpu[name] = min(used, cpu.get(name, used))

    stage_rate = pages / results[STAGE][0]
    rows = []
    for name, (seconds, texts) in results.items():
        rates = [cer(texts[p.stem], truth_of(p)) for p in pdfs]
        mean_cer = sum(rates) / len(rates) if None not in rates else None
        rate = pages / seconds
        rows.append((name, seconds, rate, stage_rate / rate, cpu[name] / pages, mean_cer))
    lines = [
        "| method | seconds | pages/s | stage speed-up | CPU s/page | raw CER |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {n} | {s:.1f} | {r:.3f} | {x:.2f}x | {u:.2f} | {'n/a' if c is None else f'{100 * c:.2f}%'} |"
            for n, s, r, x, u, c in rows
        ),
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        import pytesseract

        command = "python bench/bench_ocr.py " + " ".join(sys.argv[1:])
        ocrmypdf_version = (
            subprocess.run(["ocrmypdf", "--version"], capture_output=True, text=True).stdout.strip()
            if shutil.which("ocrmypdf")
            else "not installed"
        )
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(
            "# OCR benchmark\n\n"
            f"Command: `{command}`  \n"
            f"Machine: {nproc} cores (`nproc`), {platform.machine()}, Python {platform.python_version()}, "
            f"tesseract {pytesseract.get_tesseract_version()}, ocrmypdf {ocrmypdf_version}  \n"
            + (
                f"Input: the {len(pdfs)} image-only PDFs of {args.inputs}"
                + (f" except {', '.join(args.exclude)}" if args.exclude else "")
                if args.inputs
                else f"Input: {len(pdfs)} scanned PDFs ({args.replicate} copies of the 3 scanned sample documents)"
            )
            + f", {pages} pages, 300 dpi, `-l por`; best of {args.repeat} interleaved round(s).\n\n"
            f"{table}\n\n"
            "Speed-up = the stage's pages/s divided by the method's. CPU s/page: user+system time of the "
            "process and all its children per page (less sensitive than wall time to other load on the machine)."
            " Wall times are the best of the rounds. Raw CER: whitespace-normalized edit distance "
            "to data/sample/src before any cleaning (running headers, page footers and line-end hyphens still in "
            "the text), averaged over the documents.\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
