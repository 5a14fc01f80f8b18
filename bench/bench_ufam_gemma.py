"""Knowledge on real acts: the whole pipeline with a model preset on a few real acts, timed, scored.

    python -m bench.bench_ufam_gemma --corpus ../ufam --write docs/benchmarks/ufam_gemma.md
    python -m bench.bench_ufam_gemma --corpus ../ufam --preset "" --write /tmp/ufam_toy.md   # the built-in model

The chosen acts (--acts, file stems; by default DEFAULT_ACTS, six short UFAM acts: 20 chunks, one of them with a
broken text layer) are linked into a work directory (--workdir, default .bench/ufam-gemma, kept so OCR comes from
its cache), whose params.yaml is this repository's with `ocr.input_dir` pointing at them and `model.preset` set.
Every stage then runs there as `python -m stages.<name>`, as `dvc repro` would run it: ocr, clean, chunk, synth
(rules), dataset, base, train, evaluate. Written: each stage's wall seconds, the pair and eval-set counts
(metrics/dataset.json), and per eval set and system the key-fact recall and precision, wrong-act rate,
abstention / false-refusal rate and answer loss with their 95% intervals (metrics/eval.json), with the targets of
a real-model preset checked against them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_ufam_gemma")

DEFAULT_ACTS = (
    "RESOLUÇÃO_010_2004_CONSUNI",
    "LEI_Nº_12.089_2009",
    "RESOLUÇÃO_026_2007_CONSEPE_CEG-1",
    "DECRETO_1044_69_AFECÇÕES_ORGÂNICAS",
    "RES_037_2011_TEMPO_MÁXIMO_GRADUAÇÃO",
    "PORT_05_2020_APROVEIT_DISCI_DO_PIBID",
)
STAGES = ("ocr", "clean", "chunk", "synth", "dataset", "base", "train", "evaluate")
SYSTEM_ORDER = ("base", "open_book", "adapter", "adapter_retrieval")
# (set, system, metric, comparison, threshold): the targets a real-model preset is held to
TARGETS = (
    ("seen", "adapter", "key_fact_recall", ">=", 0.75),
    ("paraphrase", "adapter", "key_fact_recall", ">=", 0.60),
    ("seen", "adapter_vs_open_book", "key_fact_recall", ">=", 0.15),
    ("seen", "adapter_vs_open_book", "key_fact_recall_low", ">", 0.0),
    ("unanswerable", "adapter", "abstention", ">=", 0.70),
    ("seen", "adapter", "false_refusal", "<=", 0.10),
    ("seen", "adapter", "wrong_act", "<=", 0.05),
    ("seen", "adapter", "key_fact_precision", ">=", 0.90),
    ("unseen", "adapter_retrieval_vs_open_book", "key_fact_recall", ">=", 0.10),
)


def prepare(corpus: Path, acts: list[str], work: Path, preset: str, modes: list[str] | None = None) -> None:
    """The work directory: the acts linked into pdf/, params.yaml with input_dir and the preset, the prompts."""
    pdf = work / "pdf"
    shutil.rmtree(pdf, ignore_errors=True)
    pdf.mkdir(parents=True)
    for stem in acts:
        source = corpus / f"{stem}.pdf"
        if not source.is_file():
            raise SystemExit(f"{source}: no such PDF in --corpus (give --acts as file stems of {corpus})")
        (pdf / source.name).symlink_to(source.resolve())
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["ocr"]["input_dir"] = "pdf"
    params["model"]["preset"] = preset
    if modes:
        params["evaluate"]["modes"] = modes
    (work / "params.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    shutil.rmtree(work / "prompts", ignore_errors=True)
    shutil.copytree(ROOT / "prompts", work / "prompts")


def run_stage(stage: str, work: Path) -> float:
    """One stage in `work` with this repository's code; its wall seconds. Its log goes to work/logs/<stage>.log."""
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    started = time.perf_counter()
    with (logs / f"{stage}.log").open("w", encoding="utf-8") as out:
        done = subprocess.run(
            [sys.executable, "-m", f"stages.{stage}"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (logs / f"{stage}.log").read_text(encoding="utf-8")[-3000:]
        raise SystemExit(f"stage {stage} failed in {work} (exit {done.returncode}):\n{tail}")
    log.info("%s: %.0f s", stage, seconds)
    return seconds


def read_metrics(work: Path, name: str) -> dict[str, Any]:
    return json.loads((work / "metrics" / f"{name}.json").read_text(encoding="utf-8"))


def check(entry: dict[str, Any] | None, metric: str, op: str, threshold: float) -> tuple[float | None, bool]:
    value = (entry or {}).get(metric)
    if value is None:
        return None, False
    ok = {">=": value >= threshold, ">": value > threshold, "<=": value <= threshold}[op]
    return value, ok


def interval(entry: dict[str, Any], metric: str) -> str:
    value = entry.get(metric)
    if value is None:
        return "—"
    low, high = entry.get(f"{metric}_low"), entry.get(f"{metric}_high")
    return f"{value:.2f} [{low:.2f}, {high:.2f}]" if low is not None and high is not None else f"{value:.2f}"


def markdown(result: dict[str, Any], command: str) -> str:
    ds, ev, seconds = result["dataset"], result["eval"], result["seconds"]
    lines = [
        "# Knowledge on real acts: the pipeline with a model preset on a UFAM subset",
        "",
        f"Written by `bench/bench_ufam_gemma.py`; {platform.machine()}, `nproc` = {os.cpu_count()}, "
        f"Python {platform.python_version()}.",
        "",
        f"    {command}",
        "",
        f"Preset `{result['preset'] or '(none: the built-in model)'}`; acts: "
        + ", ".join(f"`{a}`" for a in result["acts"])
        + f". {result['chunks']} chunks, {ds['pairs_in']} pairs: {ds['train_pairs']} training "
        f"({ds.get('unanswerable_trained', 0)} refusals); eval {ds.get('seen_pairs', 0)} `seen`, "
        f"{ds.get('unseen_pairs', 0)} `unseen`, {ds.get('paraphrase_pairs', 0)} `paraphrase`, "
        f"{ds.get('unanswerable_pairs', 0)} `unanswerable`.",
        "",
        "Wall seconds per stage: "
        + ", ".join(f"{stage} {seconds[stage]:.0f}" for stage in STAGES if stage in seconds)
        + f"; train + evaluate {(seconds.get('train', 0) + seconds.get('evaluate', 0)) / 60:.1f} min.",
        "",
        "| set | system | key-fact recall | key-fact precision | wrong act | abstention / false refusal | answer loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in ev["sets"].items():
        refusal = "abstention" if name == "unanswerable" else "false_refusal"
        for system in SYSTEM_ORDER:
            if system in entry:
                s = entry[system]
                lines.append(
                    f"| {name} ({entry['pairs']}) | {system} | {interval(s, 'key_fact_recall')} | "
                    f"{interval(s, 'key_fact_precision')} | {interval(s, 'wrong_act')} | {interval(s, refusal)} | "
                    f"{interval(s, 'answer_loss')} |"
                )
    lines += ["", "| target | measured | met |", "|---|---:|---|"]
    for target in result["targets"]:
        value = "—" if target["value"] is None else f"{target['value']:.2f}"
        lines.append(f"| {target['target']} | {value} | {'yes' if target['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of the real acts' PDFs")
    parser.add_argument("--acts", nargs="+", default=list(DEFAULT_ACTS), help="file stems of the acts")
    parser.add_argument("--preset", default="gemma-3-270m", help='model.preset ("" = the built-in model)')
    parser.add_argument("--workdir", type=Path, default=ROOT / ".bench" / "ufam-gemma")
    parser.add_argument(
        "--stages", nargs="+", default=list(STAGES), help="run only these (the rest as found)"
    )
    parser.add_argument(
        "--seed-cache", type=Path, help="a data/cache folder of an earlier run on these PDFs (OCR not redone)"
    )
    parser.add_argument(
        "--modes", nargs="+", help="evaluate.modes (default: params.yaml's); the targets need no `base`"
    )
    parser.add_argument("--out", type=Path, help="write the raw results here (JSON)")
    parser.add_argument("--write", type=Path, help="write the markdown report here")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    prepare(args.corpus, args.acts, args.workdir, args.preset, args.modes)
    if args.seed_cache and not (args.workdir / "data" / "cache").exists():
        shutil.copytree(args.seed_cache, args.workdir / "data" / "cache")
    seconds = {stage: round(run_stage(stage, args.workdir), 1) for stage in STAGES if stage in args.stages}
    ev = read_metrics(args.workdir, "eval")
    targets = []
    for eval_set, system, metric, op, threshold in TARGETS:
        value, met = check(ev["sets"].get(eval_set, {}).get(system), metric, op, threshold)
        targets.append(
            {"target": f"{eval_set} {system} {metric} {op} {threshold}", "value": value, "met": met}
        )
    result = {
        "preset": args.preset,
        "acts": args.acts,
        "chunks": read_metrics(args.workdir, "chunk").get("chunks"),
        "seconds": seconds,
        "dataset": read_metrics(args.workdir, "dataset"),
        "eval": ev,
        "targets": targets,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    command = (
        "python -m bench.bench_ufam_gemma --corpus ../ufam"
        + (f" --preset '{args.preset}'" if args.preset != "gemma-3-270m" else "")
        + (f" --acts {' '.join(args.acts)}" if args.acts != list(DEFAULT_ACTS) else "")
        + (f" --modes {' '.join(args.modes)}" if args.modes else "")
    )
    report = markdown(result, command + (f" --write {args.write}" if args.write else ""))
    if args.write:
        args.write.write_text(report, encoding="utf-8")
    sys.stdout.write(report)


if __name__ == "__main__":
    main()
