"""Ask the fine-tuned model one question, or merge the adapter into a full model: a folder, or a GGUF file.

legis-lora ask "O que regula o artigo 3.º?"       # or: python -m stages.ask "…" (also legis-ask "…")
legis-lora ask --retrieve "Qual o prazo …?"      # + the best BM25 chunk of data/chunks in the prompt; names its act
legis-lora export models/merged                  # then: transformers serve models/merged
legis-lora export models/legis.gguf              # F16 GGUF for LM Studio / llama.cpp (--gguf-type q8_0: half)
legis-lora doctor                                # tesseract, poppler, word lists, torch/CUDA, LM Studio server

`python -m stages.ask --merge-to PATH` (with or without a question) still merges, as `export PATH` does.

With --retrieve the question is asked as evaluate's `adapter_retrieval` system asks it (the same retriever and
prompt), and the answer is printed with the act of the chunk it was given. An answer that says the rules do not
answer (stages/scoring/refusal.py) is printed as the one refusal sentence, prompt_format.REFUSAL.

A GGUF export is loaded back with transformers and its logits compared with the merged model's on a few
prompts (limits in stages/model/gguf_io.py LOGIT_TOLERANCE); a file outside them is reported and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from stages.core.files import read_jsonl
from stages.core.params import PARAMS_FILE
from stages.core.run import EXIT_NO_INPUT, MissingInputError, require_input, setup_logging
from stages.model.adapted import base_source, load_adapted, merge_to, merge_to_gguf
from stages.model.gguf_io import (
    OUT_TYPES,
    GgufError,
)
from stages.model.loading import (
    ModelUnavailableError,
    generate_answers,
)
from stages.model.prompt_format import REFUSAL, retrieval_prompt
from stages.records.base import from_dict
from stages.records.chunks import Chunk
from stages.records.paths import ADAPTER_DIR, CHUNKS_FILE
from stages.scoring.citations import chunk_act_name, document_acts
from stages.scoring.refusal import is_refusal
from stages.scoring.retrieval import best_chunks

log = logging.getLogger(__name__)


# `legis-lora export` with no path: a 16-bit model for `transformers serve`
MERGED_DIR = Path("models/merged")
COMMANDS = ("ask", "export", "doctor")


def retrieved_prompt(question: str, chunks_file: Path) -> tuple[str, str]:
    """(prompt, source): the question after its best BM25 chunk, as evaluate's adapter_retrieval asks it, and
    that chunk's act and document ("Portaria nº 245/2024 (portaria_biblioteca)")."""
    chunks = [from_dict(Chunk, c) for c in read_jsonl(require_input(chunks_file, "chunk"))]
    chunk = best_chunks(chunks, [question])[0]
    acts = document_acts([c for c in chunks if c.doc == chunk.doc])
    return retrieval_prompt(question, chunk), f"{chunk_act_name(chunk, acts)} ({chunk.doc})"


def shown_answer(answer: str, source: str | None) -> str:
    """What `ask` prints: the refusal sentence for a refusal; else the answer, then the act it comes from."""
    if is_refusal(answer):
        return REFUSAL
    return answer if source is None else f"{answer}\n\nFonte: {source}"


def run(
    question: str | None,
    adapter_dir: Path,
    base: str | None,
    out: Path | None,
    gguf_type: str = "f16",
    verify: bool = True,
    max_new_tokens: int = 128,
    chunks_file: Path | None = None,
) -> None:
    """Answer `question` with base + adapter (with the best chunk of `chunks_file` in the prompt, when given),
    then merge them into `out` (a directory, or a .gguf file); either may be None. Exits 66 without an adapter
    or the chunks, 2 when the base cannot be loaded or written as GGUF, 1 when the GGUF does not reproduce the
    merged model."""
    to_gguf = out is not None and out.suffix.lower() == ".gguf"
    prompt, source = question, None
    try:
        if question and chunks_file is not None:
            prompt, source = retrieved_prompt(question, chunks_file)
        source_model = base_source(adapter_dir, base)
        model, tokenizer = load_adapted(
            adapter_dir, source_model, merge=out is not None, full_precision=to_gguf
        )
    except MissingInputError as e:
        log.error("%s", e)
        raise SystemExit(EXIT_NO_INPUT) from None
    except ModelUnavailableError as e:
        log.error("%s", e)
        raise SystemExit(2) from None
    if prompt:
        model.eval()
        answer = generate_answers(model, tokenizer, [prompt], max_new_tokens, batch_size=1)[0]
        print(shown_answer(answer, source))
    if out is not None and to_gguf:
        try:
            info = merge_to_gguf(model, tokenizer, source_model, out, gguf_type, verify=verify)
        except GgufError as e:
            log.error("%s", e)
            raise SystemExit(2) from None
        log.info(
            "GGUF written: %s (%s, %d tensors, %.0f MB)",
            info["file"],
            info["type"],
            info["tensors"],
            info["bytes"] / 1e6,
        )
        if "check" in info:
            log.info("reload check: %s", json.dumps({k: round(v, 6) for k, v in info["check"].items()}))
            if info["problems"]:
                log.error(
                    "the GGUF file does not reproduce the merged model: %s", "; ".join(info["problems"])
                )
                raise SystemExit(1)
    elif out is not None:
        merge_to(model, tokenizer, out)
        log.info("merged model written to %s (serve it with `transformers serve %s`)", out, out)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--adapter and --base: which adapter, on which base."""
    parser.add_argument(
        "--adapter", default=ADAPTER_DIR, type=Path, help="adapter directory (default %(default)s)"
    )
    parser.add_argument("--base", default=None, help="base model (default: the one recorded in the adapter)")


def add_gguf_options(parser: argparse.ArgumentParser) -> None:
    """--gguf-type and --no-verify: how a .gguf output is written and checked."""
    parser.add_argument(
        "--gguf-type", choices=OUT_TYPES, default="f16", help="GGUF weights (default %(default)s)"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip reloading the GGUF to compare logits")


def add_ask_options(parser: argparse.ArgumentParser) -> None:
    """The options `python -m stages.ask` has always had (legis-ask, legis-lora ask)."""
    parser.add_argument("question", nargs="?", help="a question in Portuguese")
    add_model_options(parser)
    parser.add_argument(
        "--merge-to",
        type=Path,
        default=None,
        help="write base+adapter merged: a directory (16-bit safetensors) or a .gguf file (for LM Studio)",
    )
    add_gguf_options(parser)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument(
        "--retrieve",
        action="store_true",
        help="put the best-matching chunk (BM25) in the prompt and name the act the answer comes from",
    )
    parser.add_argument(
        "--chunks", type=Path, default=CHUNKS_FILE, help="chunks --retrieve searches (default %(default)s)"
    )


def run_ask(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A question and/or --merge-to (a usage error when neither is given)."""
    if not args.question and not args.merge_to:
        parser.error("give a question, --merge-to DIR, or both")
    if args.retrieve and not args.question:
        parser.error("--retrieve needs a question")
    run(
        args.question,
        args.adapter,
        args.base,
        args.merge_to,
        args.gguf_type,
        verify=not args.no_verify,
        max_new_tokens=args.max_new_tokens,
        chunks_file=args.chunks if args.retrieve else None,
    )


def build_cli() -> argparse.ArgumentParser:
    """`legis-lora ask | export | doctor`."""
    parser = argparse.ArgumentParser(
        prog="legis-lora", description="Ask the fine-tuned model, export it, or check the installation."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{ask,export,doctor}")
    ask = commands.add_parser(
        "ask",
        help="answer a question with the base model + adapter",
        description="Answer a question with the base model + adapter (and/or merge them with --merge-to).",
    )
    add_ask_options(ask)
    ask.set_defaults(parser=ask)  # its usage in the error of a call with neither question nor --merge-to
    export = commands.add_parser(
        "export",
        help="merge the adapter into a full model: a directory or a .gguf file",
        description="Merge base + adapter into a plain 16-bit model (a directory, for `transformers serve`) or "
        "a GGUF file (a path ending in .gguf, for LM Studio / llama.cpp), checked by reloading it.",
    )
    export.add_argument(
        "out",
        nargs="?",
        type=Path,
        default=MERGED_DIR,
        help="output: a directory, or a file ending in .gguf (default %(default)s)",
    )
    add_model_options(export)
    add_gguf_options(export)
    doctor = commands.add_parser(
        "doctor",
        help="check tesseract, poppler, word lists, torch/CUDA and the LLM server",
        description="One line per check (ok/warn/FAIL, and what to do); exit 1 when a required check fails.",
    )
    doctor.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server to check (default: synth.base_url)"
    )
    doctor.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the server (default 2)"
    )
    doctor.add_argument("--params", type=Path, default=PARAMS_FILE, help="params file (default %(default)s)")
    return parser


def cli(argv: list[str] | None = None) -> int:
    """The `legis-lora` command; returns the exit code."""
    setup_logging()
    parser = build_cli()
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from stages.tools import doctor  # pytesseract imports pandas (~1 s): only for this command

        checks = doctor.run_checks(args.params, args.base_url, args.timeout)
        print(doctor.format_report(checks))
        return doctor.exit_code(checks)
    if args.command == "export":
        run(None, args.adapter, args.base, args.out, args.gguf_type, verify=not args.no_verify)
    else:
        run_ask(args.parser, args)
    return 0


def main(argv: list[str] | None = None) -> None:
    """`legis-ask` and `python -m stages.ask`: one question and/or --merge-to, no sub-command."""
    setup_logging()
    parser = argparse.ArgumentParser(prog="python -m stages.ask", description=__doc__.splitlines()[0])
    add_ask_options(parser)
    run_ask(parser, parser.parse_args(argv))


if __name__ == "__main__":
    # `python -m stages.ask doctor` (or ask, export) runs the sub-command; anything else is the old interface
    if sys.argv[1:2] and sys.argv[1] in COMMANDS:
        raise SystemExit(cli(sys.argv[1:]))
    main()
