"""Stage `dataset`: data/qa/qa.jsonl -> data/dataset/{train,eval}.jsonl, with two evaluation sets.

- `unseen`: whole source chunks held out. Pairs from one chunk always land on the same side, and so do
  near-duplicate questions (same numbers, near-identical wording) even when they come from different
  chunks. Groups are ordered by a seeded hash and taken until `eval_fraction` of the pairs is reached.
- `seen`: of the facts left for training that have two or more phrasings (pairs sharing `fact_id`; without
  one, pairs of one chunk with the same answer), `seen_fraction` lend one phrasing to evaluation: the fact
  is trained, that wording is not. A phrasing that is a near-duplicate of a training question is not held
  out (it would test the wording, not the fact).

Every line also carries the pair as chat `messages` (system/user/assistant), the format LLaMA-Factory, axolotl
and TRL read. The split is deterministic and byte-stable.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from stages.core.files import read_jsonl, stable_hash, write_json, write_jsonl
from stages.core.params import load_params
from stages.core.run import MissingInputError, require_input, run_main
from stages.model.prompt_format import chat_messages
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.pairs import QAPair, SplitPair
from stages.records.paths import EVAL_FILE, QA_FILE, TRAIN_FILE, metrics_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetParams:
    eval_fraction: float = 0.2  # share of pairs (whole chunk groups) held out as the `unseen` set
    # share of the trained facts with >= 2 phrasings that give one phrasing to the `seen` set
    seen_fraction: float = 1.0
    seed: int = 13  # orders the groups and picks held-out phrasings; change it for a different split
    near_dup_ratio: float = (
        90.0  # rapidfuzz ratio (0-100) at which two questions with the same numbers are one
    )

    def problems(self) -> list[str]:
        out = []
        if not 0.0 < self.eval_fraction < 1.0:
            out.append(f"dataset.eval_fraction must be in (0, 1), got {self.eval_fraction}")
        if not 0.0 <= self.seen_fraction <= 1.0:
            out.append(f"dataset.seen_fraction must be in [0, 1], got {self.seen_fraction}")
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


def fact_key(r: QAPair) -> str:
    """The fact a pair asks about: its fact_id, or (older Q&A files) its chunk and normalized answer."""
    return r.fact_id or f"{r.chunk_id}\x00{question_key(r.answer)}"


def near_duplicate(question: str, others: list[str], ratio: float) -> bool:
    """Is `question` (by question_key) at least `ratio` alike to one of `others` with the same numbers?"""
    from rapidfuzz import fuzz

    key, numbers = question_key(question), numbers_of(question)
    return any(numbers_of(o) == numbers and fuzz.ratio(key, question_key(o)) >= ratio for o in others)


def hold_out_phrasings(
    records: list[QAPair], p: DatasetParams
) -> tuple[list[QAPair], list[QAPair], dict[str, int]]:
    """(train, seen, stats): one phrasing of `seen_fraction` of the multi-phrasing facts moves to `seen`."""
    by_fact: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_fact[fact_key(r)].append(i)
    multi = sorted((k for k, idx in by_fact.items() if len(idx) >= 2), key=lambda k: stable_hash(p.seed, k))
    chosen = multi[: round(p.seen_fraction * len(multi))]
    held: set[int] = set()
    near_dups = 0
    for key in chosen:
        candidates = sorted(by_fact[key], key=lambda i: stable_hash(p.seed, records[i].id))
        for i in candidates:
            rest = [records[j].question for j in by_fact[key] if j != i]
            if not near_duplicate(records[i].question, rest, p.near_dup_ratio):
                held.add(i)
                break
        else:
            near_dups += 1
    # a held-out phrasing must not be a near-duplicate of any training question either
    train_questions = [r.question for i, r in enumerate(records) if i not in held]
    for i in sorted(held):
        if near_duplicate(records[i].question, train_questions, p.near_dup_ratio):
            held.discard(i)
            near_dups += 1
    stats = {
        "facts": len(by_fact),
        "multi_phrasing_facts": len(multi),
        "seen_skipped_near_duplicate": near_dups,
    }
    return [r for i, r in enumerate(records) if i not in held], [records[i] for i in sorted(held)], stats


def split_pair(r: QAPair, eval_set: str) -> SplitPair:
    return SplitPair(**to_dict(r), eval_set=eval_set, messages=chat_messages(r.question, r.answer))


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
    pool, unseen, stats = split_records(records, p)
    train, seen, fact_stats = hold_out_phrasings(pool, p)
    stats.update(fact_stats)
    if not train or not unseen:
        raise MissingInputError(
            QA_FILE,
            "synth",
            what=f"holds {len(records)} usable pairs in {stats['groups']} chunk group(s), too few for non-empty "
            "train and eval sets (synthesize pairs from more chunks or documents)",
        )
    if not seen:
        log.warning(
            "dataset: the `seen` eval set is empty (no trained fact has two phrasings): evaluation will measure "
            "only unseen chunks; synthesize >= 2 questions per fact (synth) for a knowledge test"
        )
    write_jsonl(TRAIN_FILE, (to_dict(split_pair(r, "")) for r in train))
    write_jsonl(
        EVAL_FILE,
        [to_dict(split_pair(r, "unseen")) for r in unseen] + [to_dict(split_pair(r, "seen")) for r in seen],
    )
    chunks = {side: len({r.chunk_id for r in rows}) for side, rows in (("train", train), ("eval", unseen))}
    write_json(
        metrics_file("dataset"),
        {
            "pairs_in": len(raw),
            "train_pairs": len(train),
            "eval_pairs": len(unseen) + len(seen),
            "unseen_pairs": len(unseen),
            "seen_pairs": len(seen),
            "train_chunks": chunks["train"],
            "eval_chunks": chunks["eval"],
            **stats,
            **{f"skipped_{k}": v for k, v in skipped.items()},
        },
    )
    log.info(
        "dataset: %d train / %d unseen + %d seen eval pairs (%d / %d chunks), %d skipped",
        len(train),
        len(unseen),
        len(seen),
        chunks["train"],
        chunks["eval"],
        sum(skipped.values()),
    )


if __name__ == "__main__":
    run_main(main)
