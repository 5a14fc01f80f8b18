"""Benchmark the `rules` backend's questions on real documents, against the previous generator in the same run.

    python bench/bench_questions.py                                          # print the tables
    python bench/bench_questions.py --write docs/benchmarks/questions.md     # ... and record them

For each corpus (--corpus, repeatable; default: the shipped sample data/sample/pdf) the pipeline's own
stages run in a work directory (.bench/questions/<corpus>, kept between runs so OCR comes from its cache):
ocr -> clean -> chunk -> synth (rules). The baseline is the rules backend of `--baseline-ref` (the first
generator, qa_rules-v1), run by `git worktree` on the same chunks. Re-run after any change to ocr/clean/chunk/legis:
the chunks are rebuilt and both generators measured again.

Targets, each measured on the accepted pairs of data/qa/qa.jsonl:
- questions that cite an article/§/inciso without naming an act: 0;
- duplicate questions (letters and digits, accents folded): 0;
- >= 10 question kinds, none above 35% of pairs (also shown: the where-based kinds artigo+paragrafo+inciso
  together);
- >= 2 phrasings for >= 80% of facts (pairs sharing a fact_id);
- accepted answers with web-copy annotations ("(Redação dada pela ...)", "(Vide ...)", "(Regulamento)"),
  with a line the document repeats as letterhead/footer (a line of data/clean/<doc>.txt seen 3+ times that
  is not an article/§/inciso head), or with contact/page-footer text (telefone, a phone number, e-mail, www,
  "Página N de M", ISSN, "Documento assinado eletronicamente", DOU markers): 0;
- chunks with no pair, by reason (metrics/synth.json), reported;
- rules pairs grounded in their chunk (grounding score 1.0): 100%.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from stages.qa.rules.document import WHERE_KINDS
from stages.qa.validate import grounding_score, has_bad_glyph
from stages.text.fold import question_key
from stages.text.legis.acts import ANNOTATION_RE

ROOT = Path(__file__).resolve().parents[1]


BASELINE_REF = "7b7e052"  # the first rules backend, qa_rules-v1
ACT_NAME = re.compile(
    r"\b(?:Lei|Decreto|Decreto-Lei|Portaria|Resolução|Instrução Normativa|Decisão|Deliberação|Regimento|Estatuto"
    r"|Regulamento|Código|Normas|Edital|Medida Provisória|Provimento|Ato)\b"
)
CITES_PROVISION = re.compile(r"\b(?:Art\.|art\.|[Aa]rtigo|§|parágrafo único|inciso|alínea|n\.º)\s*\S")
FOOTER = re.compile(
    r"\b[Tt]elefones?:?\s*\(?\d|\(\d{2}\)\s*\d{4,5}-\d{4}|\be-mail:|\bwww\.|https?://|\bP[áa]gina \d+ de \d+|\bISSN\b|<!ID"
    r"|Documento assinado eletronicamente|Este texto não substitui"
)


def run(cmd: list[str], cwd: Path, pythonpath: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "LOGLEVEL": "WARNING", "TQDM_DISABLE": "1"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def build_chunks(corpus: Path, work: Path) -> float:
    """ocr -> clean -> chunk of `corpus` in `work` (its OCR cache kept); seconds taken."""
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["ocr"]["input_dir"] = str(corpus.resolve())
    (work / "params.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    shutil.rmtree(work / "prompts", ignore_errors=True)
    shutil.copytree(ROOT / "prompts", work / "prompts")
    started = time.perf_counter()
    for stage in ("ocr", "clean", "chunk"):
        run([sys.executable, "-m", f"stages.{stage}"], work, ROOT)
    return time.perf_counter() - started


def synth_with(code: Path, work: Path, out: Path) -> float:
    """The synth stage (rules backend) of the code at `code` on work/data/chunks, run in `out`."""
    (out / "data" / "chunks").mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "data" / "chunks" / "chunks.jsonl", out / "data" / "chunks" / "chunks.jsonl")
    params = yaml.safe_load((code / "params.yaml").read_text(encoding="utf-8"))
    params["synth"]["backend"] = "rules"
    (out / "params.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    started = time.perf_counter()
    run([sys.executable, "-m", "stages.synth"], out, code)
    return time.perf_counter() - started


def repeated_lines(clean_dir: Path) -> dict[str, set[str]]:
    """Per document, the lines its clean text repeats 3+ times (letterheads, footers), articles' heads aside."""
    out = {}
    for path in sorted(clean_dir.glob("*.txt")):
        counts = Counter(line.strip() for line in path.read_text(encoding="utf-8").split("\n"))
        out[path.stem] = {
            line
            for line, n in counts.items()
            if n >= 3
            and len(line) >= 12
            and len(line.split()) >= 2
            and not re.match(r"^(?:Art|ART|§|[IVXLC]+\s*[-–—)])", line)
        }
    return out


def measure(out: Path, work: Path) -> dict[str, Any]:
    """The targets on one synth run's output (see the module docstring)."""
    pairs = [json.loads(line) for line in (out / "data/qa/qa.jsonl").read_text(encoding="utf-8").splitlines()]
    chunks = {
        c["id"]: c
        for c in map(json.loads, (work / "data/chunks/chunks.jsonl").read_text(encoding="utf-8").splitlines())
    }
    metrics = json.loads((out / "metrics/synth.json").read_text(encoding="utf-8"))
    letterheads = repeated_lines(work / "data" / "clean")
    questions = Counter(question_key(p["question"]) for p in pairs)
    kinds = Counter(
        p.get("kind") or " ".join(p["question"].split()[:3]) for p in pairs
    )  # v1: no kind, its shape
    facts = Counter(p["fact_id"] for p in pairs if p.get("fact_id"))
    annotated = [p for p in pairs if ANNOTATION_RE.search(p["answer"])]
    letterhead = [p for p in pairs if any(line in p["answer"] for line in letterheads.get(p["doc"], ()))]
    footer = [p for p in pairs if FOOTER.search(p["answer"])]
    no_pair = metrics.get(
        "chunks_without_pairs", {"no_pairs_parsed": metrics["rejected"].get("no_pairs_parsed", 0)}
    )
    return {
        "chunks": len(chunks),
        "pairs": len(pairs),
        "cites_without_act": sum(
            bool(CITES_PROVISION.search(p["question"])) and not ACT_NAME.search(p["question"]) for p in pairs
        ),
        "duplicate_questions": sum(n - 1 for n in questions.values() if n > 1),
        "kinds": len(kinds),
        "top_kind": kinds.most_common(1)[0] if kinds else ("", 0),
        "top_kind_share": round(kinds.most_common(1)[0][1] / len(pairs), 4) if pairs else 0.0,
        "where_share": round(sum(kinds[k] for k in WHERE_KINDS) / len(pairs), 4) if pairs and facts else None,
        "facts": len(facts),
        "facts_2_phrasings": round(sum(n >= 2 for n in facts.values()) / len(facts), 4) if facts else 0.0,
        "annotation_answers": len(annotated),
        "letterhead_answers": len(letterhead),
        "footer_answers": len(footer),
        "bad_glyph_pairs": sum(has_bad_glyph(p["question"] + p["answer"]) for p in pairs),
        "chunks_without_pairs": sum(no_pair.values()),
        "no_pair_share": round(sum(no_pair.values()) / len(chunks), 4) if chunks else 0.0,
        "no_pair_reasons": dict(sorted(no_pair.items(), key=lambda kv: -kv[1])),
        "repeated_text_chunks": repeated_text_chunks(list(chunks.values())),
        "grounded": round(
            sum(grounding_score(p["answer"], chunks[p["chunk_id"]]["text"]) == 1.0 for p in pairs)
            / len(pairs),
            4,
        )
        if pairs
        else 0.0,
        "kind_counts": dict(kinds.most_common()),
        "examples": {
            "annotation": [p["answer"][:160] for p in annotated[:3]],
            "letterhead": [p["answer"][:160] for p in letterhead[:3]],
            "footer": [p["answer"][:160] for p in footer[:3]],
        },
    }


def repeated_text_chunks(chunks: list[dict[str, Any]]) -> int:
    """Chunks whose text an earlier document already holds word for word (the same act under two names)."""
    seen: dict[str, str] = {}
    count = 0
    for chunk in chunks:
        if seen.setdefault(chunk["text"], chunk["doc"]) != chunk["doc"]:
            count += 1
    return count


def baseline_code(ref: str, into: Path) -> Path | None:
    """A checkout of `ref` (git worktree), or None when git or the ref is not there."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), ref],
        capture_output=True,
        text=True,
    )
    return into if done.returncode == 0 else None


def markdown(results: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace) -> str:
    rows = [
        ("questions citing an article/§ without naming the act", "cites_without_act", "0"),
        ("duplicate questions", "duplicate_questions", "0"),
        ("question kinds", "kinds", "≥ 10"),
        ("largest kind's share of pairs", "top_kind_share", "≤ 35%"),
        ("where-based kinds (artigo + paragrafo + inciso) together", "where_share", "—"),
        ("facts with ≥ 2 phrasings", "facts_2_phrasings", "≥ 80%"),
        ("accepted answers with web-copy annotations", "annotation_answers", "0"),
        ("accepted answers with a repeated letterhead/footer line", "letterhead_answers", "0"),
        ("accepted answers with contact/page-footer text", "footer_answers", "0"),
        ("accepted pairs with U+FFFD / private-use glyphs", "bad_glyph_pairs", "0"),
        ("chunks with no pair", "no_pair_share", "reported"),
        ("pairs grounded in their chunk (score 1.0)", "grounded", "100%"),
        ("pairs", "pairs", "—"),
    ]

    def fmt(key: str, value: Any) -> str:
        if value is None:
            return "—"
        if key in ("top_kind_share", "where_share", "facts_2_phrasings", "no_pair_share", "grounded"):
            return f"{value:.1%}"
        return str(value)

    out = [
        "# questions: the rules backend on real documents",
        "",
        "Command (repository root; 2 CPU cores; OCR comes from the work directory's cache after the first run):",
        "",
        f"    python bench/bench_questions.py --write {args.write}",
        "",
        f"Baseline: the rules backend at `{args.baseline_ref}` (qa_rules-v1), run in the same invocation on the "
        "same chunks. `bench/bench_questions.py`'s docstring says how each figure is counted.",
        "",
    ]
    for corpus, runs in results.items():
        new, old = runs["new"], runs.get("baseline")
        out += [
            f"## {corpus}: {new['chunks']} chunks",
            "",
            "| target | wanted | baseline | now |",
            "|---|---|---:|---:|",
        ]
        for label, key, wanted in rows:
            out.append(
                f"| {label} | {wanted} | {fmt(key, old[key]) if old else '—'} | **{fmt(key, new[key])}** |"
            )
        out += [
            "",
            f"Largest kind: `{new['top_kind'][0]}` ({new['top_kind'][1]} pairs). Kinds: "
            + ", ".join(f"{k} {v}" for k, v in new["kind_counts"].items())
            + ".",
            "",
            "Chunks with no pair, by reason: "
            + (", ".join(f"{k} {v}" for k, v in new["no_pair_reasons"].items()) or "none")
            + f". {new['repeated_text_chunks']} chunks repeat, word for word, a chunk of another document (the same "
            "act under two file names): their questions were asked already and are rejected as duplicates.",
        ]
        if old:
            out += [
                "",
                "Baseline question shapes (first three words): "
                + ", ".join(f"“{k}” {v}" for k, v in list(old["kind_counts"].items())[:6])
                + ".",
            ]
        out.append("")
    out.append(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", action="append", type=Path, help="PDF folder(s); default: the real corpus and the sample"
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / ".bench" / "questions")
    parser.add_argument(
        "--baseline-ref", default=BASELINE_REF, help="git ref of the baseline generator ('' = none)"
    )
    parser.add_argument("--write", type=Path, help="write the markdown tables here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    corpora = args.corpus or [ROOT / "data" / "sample" / "pdf"]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_code(args.baseline_ref, Path(tmp) / "baseline") if args.baseline_ref else None
        try:
            for corpus in corpora:
                if not corpus.is_dir():
                    print(f"skipped {corpus}: not a folder", file=sys.stderr)
                    continue
                name = corpus.resolve().name
                work = args.workdir / name
                seconds = build_chunks(corpus, work)
                print(f"{name}: ocr+clean+chunk {seconds:.0f} s", file=sys.stderr)
                synth_with(ROOT, work, work / "synth-now")
                runs = {"new": measure(work / "synth-now", work)}
                if base:
                    out = Path(tmp) / f"baseline-{name}"
                    synth_with(base, work, out)
                    runs["baseline"] = measure(out, work)
                results[f"{corpus.parent.name}/{name}"] = runs
        finally:
            if base:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True
                )
    text = markdown(results, args)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
