"""Benchmark: the pipeline's stages on generated corpora of 1,000 and 10,000 acts, per document.

    python -m bench.bench_scale                          # --acts 1000 --acts 10000
    python -m bench.bench_scale --acts 1000 --json .bench/scale/results.json

For each --acts N, bench/make_acts.py writes N born-digital acts of two institutions in two sub-folders, plus
2% exact copies and 2% near copies (3 words changed) in the other folder; then ocr -> clean -> chunk -> synth
(rules backend) -> dataset run as `python -m stages.<name>` would, in a work directory (.bench/scale/acts-N)
with the repository's params.yaml, ocr.input_dir pointing at the corpus, and nothing cached (data/ and
metrics/ removed first; the corpus is kept between runs and rewritten only when missing).

Reported per stage: wall seconds, milliseconds per PDF, peak RSS (the stage's process and the processes it
waited for: `os.wait4`'s rusage), and, between the smallest and the largest N, the ratio of the time per PDF
(target: within 1.3×). Also: whether the ocr stage listed every planted copy in metrics/ocr.json's
`duplicates` (either way round: the copy as a duplicate of its original or the other way), and the stages'
counts (pages, chunks, pairs, train / eval pairs, near-duplicate links).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.make_acts import write_corpus

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ocr", "clean", "chunk", "synth", "dataset")


def run_stage(stage: str, work: Path) -> dict[str, float]:
    """`python -m stages.<stage>` in `work`: wall seconds and peak RSS (MiB) of it and the children it waited for."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOGLEVEL": "WARNING", "TQDM_DISABLE": "1"}
    log = work / "logs" / f"{stage}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", f"stages.{stage}"], cwd=work, env=env, stdout=out, stderr=out
        )
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(
            f"stages.{stage} failed in {work} (exit {child.returncode}):\n{log.read_text()[-3000:]}"
        )
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def prepare(acts: int, work: Path, flat: bool) -> tuple[Path, dict[str, list[list[str]]]]:
    """The corpus of `acts` acts (written once) and a work directory with nothing cached."""
    corpus = work / ("pdf-flat" if flat else "pdf")
    planted_file = corpus / "planted.json"
    if not planted_file.exists():
        started = time.perf_counter()
        write_corpus(corpus, acts, flat=flat)
        print(f"acts-{acts}: corpus written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for generated in ("data", "metrics", "logs"):
        shutil.rmtree(work / generated, ignore_errors=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["ocr"]["input_dir"] = str(corpus.resolve())
    params["synth"]["backend"] = "rules"
    (work / "params.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    shutil.rmtree(work / "prompts", ignore_errors=True)
    shutil.copytree(ROOT / "prompts", work / "prompts")
    return corpus, json.loads(planted_file.read_text(encoding="utf-8"))


def planted_found(
    planted: dict[str, list[list[str]]], duplicates: list[dict[str, str]]
) -> dict[str, list[int]]:
    """Per kind of planted copy: [found, planted]. A duplicate names files by path or by name: compared by name."""
    listed = {frozenset((Path(d["file"]).name, Path(d["same_as"]).name)) for d in duplicates}
    return {
        kind: [sum(frozenset(Path(p).name for p in pair) in listed for pair in pairs), len(pairs)]
        for kind, pairs in planted.items()
    }


def measure(acts: int, work: Path, flat: bool) -> dict[str, Any]:
    corpus, planted = prepare(acts, work, flat)
    pdfs = sum(1 for _ in corpus.rglob("*.pdf"))
    stages = {}
    for stage in STAGES:
        stages[stage] = run_stage(stage, work)
        stages[stage]["ms_per_pdf"] = round(1000 * stages[stage]["seconds"] / pdfs, 2)
        print(f"acts-{acts}: {stage} {stages[stage]}", file=sys.stderr)

    def metrics(stage: str) -> dict[str, Any]:
        return json.loads((work / "metrics" / f"{stage}.json").read_text(encoding="utf-8"))

    ocr, chunk, synth, dataset = metrics("ocr"), metrics("chunk"), metrics("synth"), metrics("dataset")
    total = round(sum(s["seconds"] for s in stages.values()), 2)
    return {
        "acts": acts,
        "pdfs": pdfs,
        "stages": stages,
        "total_seconds": total,
        "total_ms_per_pdf": round(1000 * total / pdfs, 2),
        "planted_found": planted_found(planted, ocr["duplicates"]),
        "duplicates_listed": len(ocr["duplicates"]),
        "documents": ocr["documents"],
        "pages": ocr["pages"],
        "failures": len(ocr["failures"]),
        "chunks": chunk.get("chunks"),
        "pairs": synth.get("accepted", synth.get("pairs")),
        "train_pairs": dataset["train_pairs"],
        "eval_pairs": dataset["eval_pairs"],
        "near_dup_links": dataset["near_dup_links"],
        "groups": dataset["groups"],
    }


def markdown(results: list[dict[str, Any]], command: str) -> str:
    small, large = results[0], results[-1]
    head = "| stage | " + " | ".join(f"{r['acts']:,} acts: s | ms/PDF | peak RSS MiB" for r in results)
    out = [
        f"Command (repository root): `{command}`",
        "",
        head + (" | ms/PDF ratio |" if len(results) > 1 else " |"),
        "|---|" + "---:|---:|---:|" * len(results) + ("---:|" if len(results) > 1 else ""),
    ]
    for stage in STAGES:
        cells = " | ".join(
            f"{r['stages'][stage]['seconds']:.1f} | {r['stages'][stage]['ms_per_pdf']:.1f} | "
            f"{r['stages'][stage]['peak_rss_mib']:.0f}"
            for r in results
        )
        ratio = (
            f" | {large['stages'][stage]['ms_per_pdf'] / small['stages'][stage]['ms_per_pdf']:.2f}×"
            if len(results) > 1
            else ""
        )
        out.append(f"| {stage} | {cells}{ratio} |")
    cells = " | ".join(f"**{r['total_seconds']:.1f}** | **{r['total_ms_per_pdf']:.1f}** | —" for r in results)
    ratio = f" | **{large['total_ms_per_pdf'] / small['total_ms_per_pdf']:.2f}×**" if len(results) > 1 else ""
    out += [f"| total | {cells}{ratio} |", ""]
    for r in results:
        found = ", ".join(f"{kind} {n} of {of}" for kind, (n, of) in r["planted_found"].items())
        out.append(
            f"- {r['acts']:,} acts, {r['pdfs']:,} PDFs: {r['documents']:,} documents read ({r['duplicates_listed']} "
            f"listed as duplicates, {r['failures']} failures), {r['pages']:,} pages, {r['chunks']:,} chunks, "
            f"{r['pairs']:,} pairs, {r['train_pairs']:,} train / {r['eval_pairs']:,} eval, {r['groups']:,} groups, "
            f"{r['near_dup_links']} near-duplicate links. Planted copies found: {found}."
        )
    out.append(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}."
    )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--acts", type=int, action="append", help="distinct acts per corpus (repeatable)")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".bench" / "scale")
    parser.add_argument(
        "--flat",
        action="store_true",
        help="one folder, names prefixed by the institution, not two sub-folders",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    sizes = sorted(args.acts or [1000, 10000])
    results = [measure(n, args.workdir / f"acts-{n}", args.flat) for n in sizes]
    command = "python -m bench.bench_scale " + " ".join(f"--acts {n}" for n in sizes) + " --flat" * args.flat
    print(markdown(results, command))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
