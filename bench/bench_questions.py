"""Benchmark the `rules` backend's questions on real documents (optionally against another revision's).

    python -m bench.bench_questions --baseline-ref ''                          # print the tables
    python -m bench.bench_questions --baseline-ref '' --write docs/benchmarks/questions.md   # ... and record them

For each corpus (--corpus, repeatable; default: the shipped sample data/sample/pdf) the pipeline's own
stages run in a work directory (--workdir, default .bench/questions/<corpus>, kept between runs so OCR comes
from its cache): ocr -> clean -> chunk -> synth (rules). With `--baseline-ref` the rules backend of that git
revision also runs, by `git worktree`, on the same chunks. Re-run after any change to ocr/clean/chunk/legis:
the chunks are rebuilt and the generators measured again.

Targets, each measured on the accepted pairs of data/qa/qa.jsonl:
- questions that name an article/§/inciso/alínea by its number (a student asks by content): <= 25%;
- phrasings per answerable fact (pairs sharing a fact_id): >= 8 (min, median and the share of facts with 8+
  reported; a question the corpus does not answer is asked in fewer, REFUSAL_PHRASINGS);
- answerable facts asked at least twice without an article/§/inciso number: 100%;
- unanswerable pairs (kind "unanswerable", answered by the refusal): 10-20%;
- heldout phrasings (family "heldout", for the `paraphrase` eval set), and the facts with 2+ phrasings that
  have one: 100%;
- malformed questions rejected, by reason (metrics/synth.json), and malformed questions accepted: 0;
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
- rules pairs grounded in their chunk (grounding score 1.0 of the text an answer quotes, its act's citation
  aside): 100%.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from stages.qa.rules.document import WHERE_KINDS
from stages.qa.rules.phrasings import CITES_PROVISION, quote_of
from stages.qa.validate import grounding_score, has_bad_glyph, malformed_question
from stages.text.fold import question_key
from stages.text.legis.acts import ANNOTATION_RE

ROOT = Path(__file__).resolve().parents[1]


BASELINE_REF = "7b7e052"  # the first rules backend, qa_rules-v1
# The act by number, title or topic ("a resolução sobre …"), or the question asks which act ("Que norma …")
ACT_NAME = re.compile(
    r"\b(?:Lei|Decreto|Decreto-Lei|Portaria|Resolução|Instrução Normativa|Decisão|Deliberação|Regimento|Estatuto"
    r"|Regulamento|Código|Normas?|Edital|Medida Provisória|Provimento|Ato)\b",
    re.IGNORECASE,
)
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
    citing = [bool(CITES_PROVISION.search(p["question"])) for p in pairs]
    uncited = Counter(p["fact_id"] for p, c in zip(pairs, citing, strict=True) if p.get("fact_id") and not c)
    answerable = {p["fact_id"] for p in pairs if p.get("fact_id") and p.get("kind") != "unanswerable"}
    heldout = Counter(p["fact_id"] for p in pairs if p.get("family") == "heldout")
    several = [f for f, n in facts.items() if n >= 2]
    counts = sorted(
        n for f, n in facts.items() if f in answerable
    )  # a refusal is asked in fewer (phrasings.py)
    annotated = [p for p in pairs if ANNOTATION_RE.search(p["answer"])]
    letterhead = [p for p in pairs if any(line in p["answer"] for line in letterheads.get(p["doc"], ()))]
    footer = [p for p in pairs if FOOTER.search(p["answer"])]
    quoting = [p for p in pairs if p.get("kind") != "unanswerable"]
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
        "citing_share": round(sum(citing) / len(pairs), 4) if pairs else 0.0,
        "facts_8_phrasings": round(sum(n >= 8 for n in counts) / len(counts), 4) if counts else 0.0,
        "phrasings_min": counts[0] if counts else 0,
        "phrasings_median": statistics.median(counts) if counts else 0,
        "facts_2_uncited": round(sum(uncited[f] >= 2 for f in answerable) / len(answerable), 4)
        if answerable
        else 0.0,
        "unanswerable_share": round(sum(p.get("kind") == "unanswerable" for p in pairs) / len(pairs), 4)
        if pairs
        else 0.0,
        "heldout_phrasings": sum(heldout.values()),
        "facts_with_heldout": round(sum(heldout[f] > 0 for f in several) / len(several), 4)
        if several
        else 0.0,
        "malformed_accepted": sum(malformed_question(p["question"]) is not None for p in pairs),
        "malformed_rejected": metrics.get("malformed_rejected", {}),
        "annotation_answers": len(annotated),
        "letterhead_answers": len(letterhead),
        "footer_answers": len(footer),
        "bad_glyph_pairs": sum(has_bad_glyph(p["question"] + p["answer"]) for p in pairs),
        "chunks_without_pairs": sum(no_pair.values()),
        "no_pair_share": round(sum(no_pair.values()) / len(chunks), 4) if chunks else 0.0,
        "no_pair_reasons": dict(sorted(no_pair.items(), key=lambda kv: -kv[1])),
        "repeated_text_chunks": repeated_text_chunks(list(chunks.values())),
        "grounded": round(
            sum(grounding_score(quote_of(p["answer"]), chunks[p["chunk_id"]]["text"]) == 1.0 for p in quoting)
            / len(quoting),
            4,
        )
        if quoting
        else 0.0,
        "kind_counts": dict(kinds.most_common()),
        "questions": [p["question"] for p in pairs[:: max(1, len(pairs) // 12)]][:12],
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
        ("questions naming an article/§/inciso by its number", "citing_share", "≤ 25%"),
        ("phrasings per answerable fact: min / median", "phrasings", "≥ 8"),
        ("answerable facts with ≥ 8 phrasings", "facts_8_phrasings", "100%"),
        ("answerable facts asked ≥ 2 times without a number", "facts_2_uncited", "100%"),
        ("unanswerable pairs (answered by the refusal)", "unanswerable_share", "10–20%"),
        ("heldout phrasings (family `heldout`)", "heldout_phrasings", "—"),
        ("facts with ≥ 2 phrasings that have a heldout one", "facts_with_heldout", "100%"),
        ("malformed questions rejected, by reason", "malformed_rejected", "reported"),
        ("malformed questions accepted", "malformed_accepted", "0"),
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
        ("answers grounded in their chunk (score 1.0, citation aside)", "grounded", "100%"),
        ("facts", "facts", "—"),
        ("pairs", "pairs", "—"),
    ]
    shares = (
        "top_kind_share",
        "where_share",
        "facts_2_phrasings",
        "no_pair_share",
        "grounded",
        "citing_share",
        "facts_2_uncited",
        "unanswerable_share",
        "facts_with_heldout",
        "facts_8_phrasings",
    )

    def fmt(key: str, run: dict[str, Any] | None) -> str:
        if run is None or (key != "phrasings" and run.get(key) is None):
            return "—"
        if key == "phrasings":
            return f"{run.get('phrasings_min', '—')} / {run.get('phrasings_median', '—')}"
        value = run[key]
        if key == "malformed_rejected":
            return ", ".join(f"{k.removeprefix('malformed_')} {v}" for k, v in value.items()) or "0"
        return f"{value:.1%}" if key in shares else str(value)

    baseline = any("baseline" in runs for runs in results.values())
    command = "python -m bench.bench_questions " + " ".join(
        [f"--corpus {c}" for c in args.corpus or []]
        + ([f"--workdir {args.workdir}"] if args.workdir != ROOT / ".bench" / "questions" else [])
        + [f"--baseline-ref '{args.baseline_ref}'", f"--write {args.write}"]
    )
    out = [
        "# questions: the rules backend on real documents",
        "",
        "Command (repository root; OCR comes from the work directory's cache after the first run):",
        "",
        f"    {command}",
        "",
        "A corpus outside the repository (the UFAM folder, 29 real PDFs) is named by its path on the machine that "
        "ran it.",
        "",
        "`bench/bench_questions.py`'s docstring says how each figure is counted. A question names an article by "
        "its number when it holds “Art. N”, “§ N”, “parágrafo único”, “inciso”, “alínea”; the act's own "
        "number (“Resolução nº 23/2017”) does not count.",
        "",
    ]
    for corpus, runs in results.items():
        new, old = runs["new"], runs.get("baseline")
        head = "| target | wanted | baseline | now |" if baseline else "| target | wanted | now |"
        out += [
            f"## {corpus}: {new['chunks']} chunks",
            "",
            head,
            "|---|---|---:|---:|" if baseline else "|---|---|---:|",
        ]
        for label, key, wanted in rows:
            cells = [label, wanted] + ([fmt(key, old)] if baseline else []) + [f"**{fmt(key, new)}**"]
            out.append("| " + " | ".join(cells) + " |")
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
            "",
            "Questions, every n-th accepted pair:",
            "",
            *[f"- {q}" for q in new["questions"]],
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
