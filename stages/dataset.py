"""Stage `dataset`: data/qa/qa.jsonl -> data/dataset/{train,eval}.jsonl, split by source chunk.

Pairs from one chunk always land on the same side, and so do near-duplicate questions (same numbers,
near-identical wording) even when they come from different chunks: otherwise the eval set would measure
memorisation. Groups are ordered by a seeded hash and taken into eval until `eval_fraction` of the pairs
is reached, so the split is deterministic and byte-stable.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from stages.common import (
    MissingInputError,
    load_params,
    read_jsonl,
    require_input,
    run_main,
    stable_hash,
    write_json,
    write_jsonl,
)
from stages.records import (
    EVAL_FILE,
    QA_FILE,
    TRAIN_FILE,
    QAPair,
    RecordError,
    from_dict,
    metrics_file,
    to_dict,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetParams:
    eval_fraction: float = 0.2  # share of pairs (whole chunk groups) held out for evaluation
    seed: int = 13  # orders the groups; change it for a different split
    near_dup_ratio: float = (
        90.0  # rapidfuzz ratio (0-100) at which two questions with the same numbers are one
    )

    def problems(self) -> list[str]:
        out = []
        if not 0.0 < self.eval_fraction < 1.0:
            out.append(f"dataset.eval_fraction must be in (0, 1), got {self.eval_fraction}")
        if not 0.0 < self.near_dup_ratio <= 100.0:
            out.append(f"dataset.near_dup_ratio must be in (0, 100], got {self.near_dup_ratio}")
        return out


def question_key(question: str) -> str:
    """Casefolded, accent-free, punctuation-free question for near-duplicate matching."""
    text = unicodedata.normalize("NFKD", question.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def numbers_of(question: str) -> tuple[str, ...]:
    """The digit runs of a question: 'artigo 5' and 'artigo 6' are different questions however alike."""
    return tuple(re.findall(r"\d+", question))


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def group_pairs(records: list[QAPair], near_dup_ratio: float) -> tuple[list[int], int]:
    """Group index per record (same chunk or near-duplicate question), and how many near-dup links joined groups."""
    from rapidfuzz import fuzz, process

    uf = _UnionFind(len(records))
    first_of_chunk: dict[str, int] = {}
    for i, r in enumerate(records):
        uf.union(first_of_chunk.setdefault(r.chunk_id, i), i)
    buckets: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        buckets[numbers_of(r.question)].append(i)
    links = 0
    for members in buckets.values():
        if len(members) < 2:
            continue
        keys = [question_key(records[i].question) for i in members]
        scores = process.cdist(keys, keys, scorer=fuzz.ratio, score_cutoff=near_dup_ratio, workers=1)
        for a, b in zip(*scores.nonzero(), strict=True):
            if a < b and uf.union(members[a], members[b]):
                links += 1
    return [uf.find(i) for i in range(len(records))], links


def split_records(
    records: list[QAPair], p: DatasetParams
) -> tuple[list[QAPair], list[QAPair], dict[str, int]]:
    """(train, eval, stats): whole groups go to eval, in seeded-hash order, until eval_fraction is met."""
    groups, links = group_pairs(records, p.near_dup_ratio)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)

    def order(g: int) -> str:
        return stable_hash(p.seed, sorted(records[i].chunk_id for i in members[g]))

    target = round(p.eval_fraction * len(records))
    eval_idx: set[int] = set()
    for g in sorted(members, key=order):
        if len(eval_idx) >= max(1, target) or len(members) < 2:
            break
        if len(eval_idx) + len(members[g]) >= len(records):
            continue  # never take everything
        eval_idx.update(members[g])
    train = [r for i, r in enumerate(records) if i not in eval_idx]
    evals = [r for i, r in enumerate(records) if i in eval_idx]
    stats = {"groups": len(members), "near_dup_links": links}
    return train, evals, stats


def clean_records(raw: list[dict[str, Any]]) -> tuple[list[QAPair], dict[str, int]]:
    """QA pairs from raw records, dropping any that is not a QAPair (or has an empty question, answer or
    chunk id) or repeats an earlier (question, answer); counts why."""
    kept, seen = [], set()
    skipped = {"missing_field": 0, "duplicate": 0}
    for i, raw_record in enumerate(raw, 1):
        try:
            r = from_dict(QAPair, raw_record)
            if not (r.question.strip() and r.answer.strip() and r.chunk_id.strip()):
                raise RecordError("empty question, answer or chunk_id")
        except RecordError as e:
            log.warning("%s record %d skipped: %s", QA_FILE, i, e)
            skipped["missing_field"] += 1
            continue
        key = (question_key(r.question), question_key(r.answer))
        if key in seen:
            skipped["duplicate"] += 1
            continue
        seen.add(key)
        kept.append(r)
    return kept, skipped


def main() -> None:
    p = load_params("dataset", DatasetParams)
    raw = list(read_jsonl(require_input(QA_FILE, "synth")))
    log.info("dataset: %d pairs from %s", len(raw), QA_FILE)
    records, skipped = clean_records(raw)
    train, evals, stats = split_records(records, p)
    if not train or not evals:
        raise MissingInputError(
            QA_FILE,
            "synth",
            what=f"holds {len(records)} usable pairs in {stats['groups']} chunk group(s), too few for non-empty "
            "train and eval sets (synthesize pairs from more chunks or documents)",
        )
    write_jsonl(TRAIN_FILE, (to_dict(r) for r in train))
    write_jsonl(EVAL_FILE, (to_dict(r) for r in evals))
    chunks = {side: len({r.chunk_id for r in rows}) for side, rows in (("train", train), ("eval", evals))}
    write_json(
        metrics_file("dataset"),
        {
            "pairs_in": len(raw),
            "train_pairs": len(train),
            "eval_pairs": len(evals),
            "train_chunks": chunks["train"],
            "eval_chunks": chunks["eval"],
            **stats,
            **{f"skipped_{k}": v for k, v in skipped.items()},
        },
    )
    log.info(
        "dataset: %d train / %d eval pairs (%d / %d chunks), %d skipped",
        len(train),
        len(evals),
        chunks["train"],
        chunks["eval"],
        sum(skipped.values()),
    )


if __name__ == "__main__":
    run_main(main)
