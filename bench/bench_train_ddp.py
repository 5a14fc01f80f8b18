"""CPU benchmark: the train stage on 2 processes (DDP over gloo) vs 1, at the same train.global_batch.

Runs the real stage twice per repeat, alternating, in temporary folders with the same params and pairs:
`python -m stages.train` and `torchrun --standalone --nproc_per_node 2 -m stages.train`, each process with
--threads torch threads. Reports training tokens/s (the tokens of the training rows x epochs, over the Trainer's
train_runtime less its evaluations' runtimes) and the largest |loss difference| between the two runs' logged
loss curves (dvclive/, one point per optimizer step). LoRA dropout is off and --pairs is a multiple of
global_batch, so both runs see the same pairs in every step (tests/test_train_ddp.py) and differ only in the
order of float sums.

    python bench/bench_train_ddp.py --repeats 2 --write docs/benchmarks/train_ddp.md
"""

from __future__ import annotations

import argparse
import csv
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
from pathlib import Path
from typing import Any

import yaml

from stages.core.files import read_jsonl, write_jsonl

REPO = Path(__file__).resolve().parents[1]
RUNTIME = re.compile(r"'(train|eval_\w+?)_runtime': '?([0-9.]+)")


def make_workdir(root: Path, args: argparse.Namespace) -> Path:
    """params.yaml (dropout off, a loss point per step) and the first --pairs training pairs."""
    root.mkdir(parents=True)
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["model"]["name_or_path"] = str(Path(args.model).resolve())
    params["lora"]["dropout"] = 0.0
    params["train"].update(epochs=args.epochs, logging_steps=1, save_steps=0)
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    write_jsonl(root / "data/dataset/train.jsonl", list(read_jsonl(Path(args.train_file)))[: args.pairs])
    write_jsonl(root / "data/dataset/eval.jsonl", list(read_jsonl(Path(args.eval_file)))[: args.eval_pairs])
    return root


def training_tokens(workdir: Path, epochs: float) -> int:
    """Tokens the training rows hold x epochs, as the stage encodes them."""
    from stages.model.finetune import TrainParams, encode_split
    from stages.model.loading import ModelSource, load_tokenizer
    from stages.records.base import from_dict
    from stages.records.pairs import SplitPair

    params = yaml.safe_load((workdir / "params.yaml").read_text(encoding="utf-8"))
    tokenizer = load_tokenizer(ModelSource(params["model"]["name_or_path"], local_files_only=True))
    records = [from_dict(SplitPair, r) for r in read_jsonl(workdir / "data/dataset/train.jsonl")]
    rows, _ = encode_split(tokenizer, records, TrainParams(**params["train"]).max_seq_len)
    return int(sum(rows["length"]) * epochs)


def run_stage(cmd: list[str], workdir: Path, threads: int) -> dict[str, Any]:
    """One run of the stage: wall seconds, training seconds (train_runtime less the evaluations), loss curve."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads), "TQDM_DISABLE": "1"}
    for stale in ("models", "dvclive"):
        shutil.rmtree(workdir / stale, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    found = RUNTIME.findall(done.stdout + done.stderr)  # the Trainer prints each log entry (rank 0)
    train = [float(s) for name, s in found if name == "train"]
    if not train:
        raise SystemExit(f"no train_runtime in the log of {' '.join(cmd)}")
    evals = sum(float(s) for name, s in found if name != "train")  # each evaluation, every epoch
    with open(workdir / "dvclive/plots/metrics/loss.tsv", encoding="utf-8") as f:
        curve = [float(r["loss"]) for r in csv.DictReader(f, delimiter="\t")]
    return {"wall_s": wall, "train_s": train[-1] - evals, "eval_s": evals, "curve": curve}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--train-file", default="data/dataset/train.jsonl")
    ap.add_argument("--eval-file", default="data/dataset/eval.jsonl")
    ap.add_argument("--pairs", type=int, default=72, help="training pairs; a multiple of train.global_batch")
    ap.add_argument("--eval-pairs", type=int, default=16)
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", type=Path, help="JSON results")
    ap.add_argument("--write", type=Path, help="markdown report (docs/benchmarks/train_ddp.md)")
    args = ap.parse_args()
    global_batch = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))["train"]["global_batch"]
    if args.pairs % global_batch:
        raise SystemExit(f"--pairs {args.pairs} is not a multiple of train.global_batch {global_batch}")

    commands = {
        1: [sys.executable, "-m", "stages.train"],
        2: [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        + ["-m", "stages.train"],
    }
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_train_ddp_") as tmp:
        workdir = make_workdir(Path(tmp) / "run", args)
        tokens = training_tokens(workdir, args.epochs)
        for repeat in range(args.repeats):
            for processes, cmd in commands.items():  # alternating: a change in load hits both alike
                result = run_stage(cmd, workdir, args.threads)
                runs[processes].append(result)
                print(
                    f"repeat {repeat + 1}, {processes} process(es): {tokens / result['train_s']:.0f} tokens/s "
                    f"(training {result['train_s']:.1f} s, evaluations {result['eval_s']:.1f} s, "
                    f"wall {result['wall_s']:.1f} s)",
                    flush=True,
                )
    summary: dict[str, Any] = {
        "command": " ".join(["python bench/bench_train_ddp.py", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
        "pairs": args.pairs,
        "epochs": args.epochs,
        "global_batch": global_batch,
        "threads_per_process": args.threads,
        "training_tokens": tokens,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # 1-minute, before and after
    }
    for processes, results in runs.items():
        speeds = [tokens / r["train_s"] for r in results]
        summary[f"tokens_per_s_{processes}"] = round(statistics.median(speeds), 1)
        summary[f"tokens_per_s_{processes}_each"] = [round(v) for v in speeds]
        summary[f"wall_s_{processes}"] = round(statistics.median(r["wall_s"] for r in results), 1)
    summary["speedup"] = round(summary["tokens_per_s_2"] / summary["tokens_per_s_1"], 2)
    gaps = [
        abs(a - b)
        for one, two in zip(runs[1], runs[2], strict=True)
        for a, b in zip(one["curve"], two["curve"], strict=True)
    ]
    summary["logged_steps"] = len(runs[1][0]["curve"])
    summary["max_abs_loss_diff"] = max(gaps)
    import torch

    summary["torch"] = torch.__version__
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.write:
        args.write.write_text(report(summary), encoding="utf-8")


def report(s: dict[str, Any]) -> str:
    return "\n".join(
        [
            "# Training on 2 CPU processes (DDP) vs 1 (`bench/bench_train_ddp.py`)",
            "",
            f"Command (repository root): `{s['command']}`. Machine: {s['machine']}, torch {s['torch']}.",
            "",
            f"The train stage on the built-in model, {s['pairs']} training pairs x {s['epochs']:g} epochs "
            f"({s['training_tokens']:,} tokens), train.global_batch {s['global_batch']}, LoRA dropout off, "
            f"{s['threads_per_process']} torch thread(s) per process; runs alternate, median of the repeats. "
            f"Load average (1 min) {s['load_average'][0]} before, {s['load_average'][1]} after.",
            "",
            "| processes | tokens/s (median) | each repeat | wall s (whole stage, median) |",
            "|---:|---:|---|---:|",
            f"| 1 | {s['tokens_per_s_1']:,.0f} | {', '.join(map(str, s['tokens_per_s_1_each']))} | {s['wall_s_1']} |",
            f"| 2 | {s['tokens_per_s_2']:,.0f} ({s['speedup']}x) | {', '.join(map(str, s['tokens_per_s_2_each']))} "
            f"| {s['wall_s_2']} |",
            "",
            f"Largest |loss difference| between the two loss curves over {s['logged_steps']} logged steps: "
            f"{s['max_abs_loss_diff']:.1e}.",
            "",
        ]
    )


if __name__ == "__main__":
    main()
