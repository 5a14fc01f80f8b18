"""chunk: cleaned documents (data/clean/<doc>.txt) -> data/chunks/chunks.jsonl, chunks that fit the
synthesis model's context and follow the structure of legislation.

A document is read as units: the title block (everything before the first heading or article), then one
unit per article, carrying the CAPÍTULO/SEÇÃO headings just above it. Units are packed greedily into
chunks of at most `max_tokens`. A unit that fits no chunk is split at its §s, then at its paragraphs
(incisos, alíneas), then at sentences, then at spaces: never inside a word. Each chunk after a document's
first starts with the previous chunk's last whole sentences (up to `overlap` tokens); the total still
fits `max_tokens`. Output is deterministic: documents in name order, ids a hash of document and text.
"""

from __future__ import annotations

import logging
import statistics
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages.core.files import write_json, write_jsonl
from stages.core.params import load_params
from stages.core.run import require_input, run_main
from stages.records.base import to_dict
from stages.records.chunks import Chunk
from stages.records.paths import CHUNKS_FILE, CLEAN_DIR, metrics_file
from stages.text.chunking import ChunkParams, chunk_document, make_token_counter

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------
def run(clean_dir: Path, chunks_file: Path, metrics_file: Path, p: ChunkParams) -> dict[str, Any]:
    """Chunk every clean_dir/<doc>.txt (sub-folders included) into one JSONL; returns (and writes) the metrics."""
    require_input(clean_dir, "clean")
    count_tokens = make_token_counter(p.tokenizer)
    records: list[Chunk] = []
    per_doc: dict[str, dict[str, int]] = {}
    for path in tqdm(sorted(clean_dir.rglob("*.txt")), desc="chunk", unit="doc"):
        doc = path.relative_to(clean_dir).with_suffix("").as_posix()  # ufam/RES_1 for ufam/RES_1.txt
        doc_chunks = chunk_document(doc, path.read_text(encoding="utf-8"), p, count_tokens)
        records.extend(doc_chunks)
        per_doc[doc] = {"chunks": len(doc_chunks), "tokens": sum(r.n_tokens for r in doc_chunks)}
    write_jsonl(chunks_file, (to_dict(r) for r in records))
    tokens = [r.n_tokens for r in records]
    metrics = {
        "documents": len(per_doc),
        "chunks": len(records),
        "tokens_mean": round(statistics.fmean(tokens), 1) if tokens else 0,
        "tokens_max": max(tokens, default=0),
        "over_limit": sum(t > p.max_tokens for t in tokens),
        "tokenizer": p.tokenizer or "approximate",
        "per_document": per_doc,
    }
    write_json(metrics_file, metrics)
    return metrics


def main() -> None:
    p = load_params("chunk", ChunkParams)
    log.info("chunk: %s -> %s (max_tokens=%d, overlap=%d)", CLEAN_DIR, CHUNKS_FILE, p.max_tokens, p.overlap)
    m = run(CLEAN_DIR, CHUNKS_FILE, metrics_file("chunk"), p)
    log.info(
        "chunk: %d documents -> %d chunks, %s tokens mean, %d max",
        m["documents"],
        m["chunks"],
        m["tokens_mean"],
        m["tokens_max"],
    )


if __name__ == "__main__":
    run_main(main)
