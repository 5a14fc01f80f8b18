"""Stage `dataset`: data/qa/qa.jsonl -> data/dataset/{train,eval}.jsonl, with four evaluation sets.

- `unseen`: whole source chunks held out. Pairs from one chunk always land on the same side, and so do
  near-duplicate questions (same numbers, near-identical wording) even when they come from different
  chunks. Groups are ordered by a seeded hash and taken until `eval_fraction` of the pairs is reached.
- `seen`: of the facts left for training that have two or more phrasings (pairs sharing `fact_id`; without
  one, pairs of one chunk with the same answer), `seen_fraction` lend one phrasing to evaluation: the fact
  is trained, that wording is not. A phrasing that is a near-duplicate of a training question is not held
  out (it would test the wording, not the fact).
- `paraphrase`: the phrasings synth marks family "heldout" (frames no training phrasing uses) of facts that are
  trained; never trained themselves. A heldout phrasing of a fact in an `unseen` chunk joins `unseen`.
- `unanswerable`: questions the rules do not answer (kind "unanswerable", answered with the refusal sentence):
  `unanswerable_eval_fraction` of them (whole facts) are held out, the rest are trained, so the model learns to
  refuse without learning the eval questions.

Every line also carries the pair as chat `messages` (system/user/assistant), the format LLaMA-Factory, axolotl
and TRL read. The split is deterministic and byte-stable.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from stages.core.files import read_jsonl, stable_hash, write_json, write_jsonl
from stages.core.params import load_params
from stages.core.run import MissingInputError, require_input, run_main
from stages.model.prompt_format import chat_messages
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.pairs import HELDOUT_FAMILY, UNANSWERABLE, QAPair, SplitPair
from stages.records.paths import EVAL_FILE, QA_FILE, TRAIN_FILE, metrics_file
from stages.text.fold import question_key
from stages.text.near_dups import near_duplicate_questions

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
    # share of the unanswerable questions (whole facts) held out as the `unanswerable` set; the rest are trained
    unanswerable_eval_fraction: float = 0.3

    def problems(self) -> list[str]:
        out = []
        if not 0.0 < self.eval_fraction < 1.0:
            out.append(f"dataset.eval_fraction must be in (0, 1), got {self.eval_fraction}")
        if not 0.0 <= self.seen_fraction <= 1.0:
            out.append(f"dataset.seen_fraction must be in [0, 1], got {self.seen_fraction}")
        if not 0.0 <= self.unanswerable_eval_fraction <= 1.0:
            out.append(
                f"dataset.unanswerable_eval_fraction must be in [0, 1], got {self.unanswerable_eval_fraction}"
            )
        if not 0.0 < self.near_dup_ratio <= 100.0:
            out.append(f"dataset.near_dup_ratio must be in (0, 100], got {self.near_dup_ratio}")
        return out


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
    uf = _UnionFind(len(records))
    first_of_chunk: dict[str, int] = {}
    for i, r in enumerate(records):
        uf.union(first_of_chunk.setdefault(r.chunk_id, i), i)
    links = 0
    for a, b in near_duplicate_questions([r.question for r in records], near_dup_ratio):
        links += uf.union(a, b)
    return [uf.find(i) for i in range(len(records))], links


def split_records(
    records: list[QAPair], p: DatasetParams
) -> tuple[list[QAPair], list[QAPair], dict[str, int]]:
    """(train, eval, stats): whole groups go to eval, in seeded-hash order, until eval_fraction is met.

    A group that would carry eval past half as much again as its share is passed over (it stays in training):
    on a large corpus, near-duplicate questions can chain most chunks into one group (the same question asked
    of acts with the same title), which would otherwise become nearly all of eval. When every group is that
    large, the smallest one goes to eval."""
    groups, links = group_pairs(records, p.near_dup_ratio)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)

    def order(g: int) -> str:
        return stable_hash(p.seed, sorted(records[i].chunk_id for i in members[g]))

    target = max(1, round(p.eval_fraction * len(records)))
    most = target + target // 2
    eval_idx: set[int] = set()
    passed_over = []
    for g in sorted(members, key=order) if len(members) >= 2 else []:
        if len(eval_idx) >= target:
            break
        if len(eval_idx) + len(members[g]) >= len(records):
            continue  # never take everything
        if len(eval_idx) + len(members[g]) > most:
            passed_over.append(len(members[g]))
            continue
        eval_idx.update(members[g])
    if not eval_idx and len(members) >= 2:
        eval_idx.update(members[min(members, key=lambda g: (len(members[g]), order(g)))])
    if passed_over:
        log.warning(
            "dataset: %d group(s) of chunks joined by their questions (the largest %d pairs, %.0f%% of %d) "
            "too large for the eval share (dataset.eval_fraction %.2f): kept in training",
            len(passed_over),
            max(passed_over),
            100 * max(passed_over) / len(records),
            len(records),
            p.eval_fraction,
        )
    train = [r for i, r in enumerate(records) if i not in eval_idx]
    evals = [r for i, r in enumerate(records) if i in eval_idx]
    stats = {
        "groups": len(members),
        "near_dup_links": links,
        "largest_group_pairs": max(len(m) for m in members.values()) if members else 0,
        "groups_kept_in_training": len(passed_over),
    }
    return train, evals, stats


def fact_key(r: QAPair) -> str:
    """The fact a pair asks about: its fact_id, or (older Q&A files) its chunk and normalized answer."""
    return r.fact_id or f"{r.chunk_id}\x00{question_key(r.answer)}"


def hold_out_phrasings(
    records: list[QAPair], p: DatasetParams
) -> tuple[list[QAPair], list[QAPair], dict[str, int]]:
    """(train, seen, stats): one phrasing of `seen_fraction` of the multi-phrasing facts moves to `seen`."""
    by_fact: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_fact[fact_key(r)].append(i)
    multi = sorted((k for k, idx in by_fact.items() if len(idx) >= 2), key=lambda k: stable_hash(p.seed, k))
    chosen = multi[: round(p.seen_fraction * len(multi))]
    alike: dict[int, set[int]] = defaultdict(set)  # near-duplicate questions, as `ratio >= near_dup_ratio`
    for a, b in near_duplicate_questions([r.question for r in records], p.near_dup_ratio):
        alike[a].add(b)
        alike[b].add(a)
    held: set[int] = set()
    near_dups = 0
    for key in chosen:
        candidates = sorted(by_fact[key], key=lambda i: stable_hash(p.seed, records[i].id))
        for i in candidates:
            if alike[i].isdisjoint(by_fact[key]):  # not a near-duplicate of another phrasing of the fact
                held.add(i)
                break
        else:
            near_dups += 1
    # a held-out phrasing must not be a near-duplicate of any training question either
    chosen_held = frozenset(held)  # checked against the training questions before any is put back
    for i in sorted(chosen_held):
        if alike[i] - chosen_held:
            held.discard(i)
            near_dups += 1
    stats = {
        "facts": len(by_fact),
        "multi_phrasing_facts": len(multi),
        "seen_skipped_near_duplicate": near_dups,
    }
    return [r for i, r in enumerate(records) if i not in held], [records[i] for i in sorted(held)], stats


def set_aside(records: list[QAPair]) -> tuple[list[QAPair], list[QAPair], list[QAPair]]:
    """(answerable, heldout phrasings, unanswerable): the last two never enter the chunk split."""
    unanswerable = [r for r in records if r.kind == UNANSWERABLE]
    heldout = [r for r in records if r.kind != UNANSWERABLE and r.family == HELDOUT_FAMILY]
    answerable = [r for r in records if r.kind != UNANSWERABLE and r.family != HELDOUT_FAMILY]
    return answerable, heldout, unanswerable


def split_unanswerable(records: list[QAPair], p: DatasetParams) -> tuple[list[QAPair], list[QAPair]]:
    """(train, eval): whole facts (all phrasings of one unanswerable question), in seeded-hash order, until
    `unanswerable_eval_fraction` of the facts are held out."""
    facts = sorted({fact_key(r) for r in records}, key=lambda k: stable_hash(p.seed, k))
    held = set(facts[: round(p.unanswerable_eval_fraction * len(facts))])
    return [r for r in records if fact_key(r) not in held], [r for r in records if fact_key(r) in held]


def route_heldout(heldout: list[QAPair], trained: list[QAPair]) -> tuple[list[QAPair], list[QAPair]]:
    """(paraphrase, unseen): a heldout phrasing asks a trained fact (paraphrase) or a fact of an unseen chunk."""
    trained_facts = {fact_key(r) for r in trained}
    paraphrase = [r for r in heldout if fact_key(r) in trained_facts]
    return paraphrase, [r for r in heldout if fact_key(r) not in trained_facts]


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
    answerable, heldout, unanswerable = set_aside(records)
    pool, unseen, stats = split_records(answerable, p)
    train, seen, fact_stats = hold_out_phrasings(pool, p)
    stats.update(fact_stats)
    paraphrase, heldout_unseen = route_heldout(heldout, train)
    unseen += heldout_unseen
    refusals_trained, refusals_eval = split_unanswerable(unanswerable, p)
    train += refusals_trained
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
    eval_sets = {"unseen": unseen, "seen": seen, "paraphrase": paraphrase, UNANSWERABLE: refusals_eval}
    write_jsonl(EVAL_FILE, [to_dict(split_pair(r, name)) for name, rows in eval_sets.items() for r in rows])
    chunks = {side: len({r.chunk_id for r in rows}) for side, rows in (("train", train), ("eval", unseen))}
    write_json(
        metrics_file("dataset"),
        {
            "pairs_in": len(raw),
            "train_pairs": len(train),
            "eval_pairs": sum(len(rows) for rows in eval_sets.values()),
            "unseen_pairs": len(unseen),
            "seen_pairs": len(seen),
            "paraphrase_pairs": len(paraphrase),
            "unanswerable_pairs": len(refusals_eval),
            "unanswerable_trained": len(refusals_trained),
            "train_chunks": chunks["train"],
            "eval_chunks": chunks["eval"],
            **stats,
            **{f"skipped_{k}": v for k, v in skipped.items()},
        },
    )
    log.info(
        "dataset: %d train (%d refusals) / %d unseen + %d seen + %d paraphrase + %d unanswerable eval pairs "
        "(%d / %d chunks), %d skipped",
        len(train),
        len(refusals_trained),
        len(unseen),
        len(seen),
        len(paraphrase),
        len(refusals_eval),
        chunks["train"],
        chunks["eval"],
        sum(skipped.values()),
    )


if __name__ == "__main__":
    run_main(main)
