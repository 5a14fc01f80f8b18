"""Stage synth: chunks -> synthetic question/answer pairs (data/qa/qa.jsonl, data/qa/rejected.jsonl).

Backends: `rules` (offline, deterministic: stages/qa/rules/, each fact in about ten phrasings and a heldout
one, plus questions the corpus does not answer) or `lmstudio` (any OpenAI-compatible server, or several: LM
Studio, llama.cpp's server, Ollama, vLLM, `transformers serve`; stages/qa/server.py), which also asks the model
for other wordings of each question (synth.paraphrases; stages/qa/paraphrase.py). Every pair is validated
(non-empty, length, is a question, a well-formed sentence for the rules, no unreadable glyph, not an echo of
the prompt's example, grounded in its chunk, not a duplicate of any earlier question); whatever is dropped goes
to rejected.jsonl with its reason, and metrics/synth.json counts the chunks that gave no pair, by why.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.core.files import read_jsonl, write_json, write_jsonl, write_timings
from stages.core.params import load_params
from stages.core.run import MissingInputError, require_input, run_main
from stages.qa.cache import ReplyCache
from stages.qa.client import ServerUnavailable
from stages.qa.paraphrase import PARAPHRASE_FAMILY, parse_paraphrases
from stages.qa.rules.asking import UNANSWERABLE_KIND
from stages.qa.rules.document import document_facts
from stages.qa.rules.phrasings import CITES_PROVISION, HELDOUT, ask_facts, corpus_refs
from stages.qa.rules.unanswerable import (
    UNANSWERABLE_SHARE,
    act_scopes,
    other_institutions,
    stems_of,
    unanswerable_facts,
)
from stages.qa.server import parsed_record, server_results
from stages.qa.settings import SynthParams
from stages.qa.validate import grounding_score, validate_pair
from stages.records.base import RecordError, from_dict, to_dict
from stages.records.chunks import Chunk
from stages.records.pairs import QAPair
from stages.records.paths import (
    CHUNKS_FILE,
    QA_FILE,
    REJECTED_FILE,
    SYNTH_CACHE_DIR,
    SYNTH_CACHE_FILE,
    metrics_file,
)
from stages.text.fold import question_key

log = logging.getLogger("stages.synth")


RULES_MODEL = "qa_rules-v3"  # bump when stages/qa/rules/ (or legis' act names) changes its output


# ---------------------------------------------------------------- candidates per chunk


@dataclass(frozen=True)
class Candidate:
    question: str
    answer: str
    fact_id: str = ""  # the phrasings of one rules fact share it; "" = its own fact
    kind: str = ""  # the rules' question kind (stages/qa/rules/); "" for model-written pairs
    family: str = ""  # the rules' phrasing family ("heldout": not for training); "" for model-written pairs
    quoted: str | None = None  # the part of the answer taken from the chunk (rules); None: the whole answer


def rules_results(chunks: list[Chunk]) -> dict[str, dict[str, Any]]:
    """The rules backend's candidates per chunk: each document read in order (rules.document.document_facts),
    every fact asked in its phrasings with the act named as the corpus allows (rules.phrasings), then the
    questions the corpus does not answer (rules.unanswerable), carried by a chunk of the act they name."""
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc, []).append(chunk)
    found = {cid: facts for doc in by_doc.values() for cid, facts in document_facts(doc).items()}
    located = [(cid, fact) for cid, facts in found.items() for fact in facts.facts]
    refs = corpus_refs(fact.act for _, fact in located if fact.act)
    asked = ask_facts([fact for _, fact in located], refs)
    answerable = sum(map(len, asked))
    wanted = round(answerable * UNANSWERABLE_SHARE / (1 - UNANSWERABLE_SHARE))
    unanswerable = unanswerable_facts(
        act_scopes(chunks, located),
        located,
        other_institutions([c.text for c in chunks]),
        wanted,
        lambda fact: len(ask_facts([fact], refs)[0]),
        frozenset().union(*(stems_of(c.text) for c in chunks)),
    )
    refused = ask_facts([fact for _, fact in unanswerable], refs)
    out: dict[str, dict[str, Any]] = {
        cid: {"candidates": [], "why_none": facts.why_none} for cid, facts in found.items()
    }
    index: Counter = Counter()
    for (cid, fact), phrasings in [
        *zip(located, asked, strict=True),
        *zip(unanswerable, refused, strict=True),
    ]:
        prefix = "u" if fact.kind == UNANSWERABLE_KIND else "f"
        fact_id = f"{cid}-{prefix}{index[(cid, prefix)]:02d}"
        index[(cid, prefix)] += 1
        quoted = "" if fact.kind == UNANSWERABLE_KIND else fact.answer
        out[cid]["candidates"] += [
            Candidate(p.question, p.answer, fact_id, fact.kind, p.family, quoted) for p in phrasings
        ]
    return out


def server_candidates(
    chunk_id: str, record: dict[str, Any], reply_prefix: str, stats: Counter
) -> tuple[list[Candidate], str]:
    """Pairs parsed from one reply, each its own fact (`<chunk id>-l<NN>`), and why there are none when there
    are none; a reply cut by max_tokens keeps what was complete, one whose reasoning never closed gives nothing
    (stages/qa/parse.py)."""
    parsed = parsed_record(record, reply_prefix)
    if record.get("finish_reason") == "length" and parsed.pairs:
        stats["truncated_recovered"] += 1
    candidates = [Candidate(q, a, f"{chunk_id}-l{i:02d}") for i, (q, a) in enumerate(parsed.pairs)]
    return candidates, parsed.why_none


def paraphrase_candidates(
    asked: dict[str, Any], candidates: list[Candidate], paraphrases: int, stats: Counter
) -> tuple[dict[int, list[Candidate]], str]:
    """The paraphrases of a chunk's pairs by the position of the pair they rewrite, each with that pair's answer
    and fact_id, and why there are none when there are none. `asked`: the paraphrase pass's record."""
    targets = asked["targets"]
    cut = asked.get("finish_reason") == "length"
    parsed = parse_paraphrases(asked.get("reply", ""), len(targets), paraphrases, cut)
    stats["paraphrases_out_of_range"] += parsed.out_of_range
    out = {
        target: [
            Candidate(q, candidates[target].answer, candidates[target].fact_id, family=PARAPHRASE_FAMILY)
            for q in listed
        ]
        for target, listed in zip(targets, parsed.by_question, strict=True)
        if listed
    }
    return out, parsed.why_none


# ---------------------------------------------------------------- assembly


def check_pair(
    c: Candidate,
    chunk_text: str,
    min_grounding: float,
    examples: frozenset[str],
    well_formed: bool,
    seen: set[str],
) -> str | None:
    """Why `c` is rejected (validate_pair, or a question asked before: "duplicate"); None when it is kept,
    and then its question is added to `seen`."""
    reason = validate_pair(c.question, c.answer, chunk_text, min_grounding, examples, c.quoted, well_formed)
    key = question_key(c.question)
    if reason is None and key in seen:
        reason = "duplicate"
    if reason is None:
        seen.add(key)
    return reason


def rejected_row(chunk: Chunk, c: Candidate, reason: str) -> dict[str, Any]:
    """One line of rejected.jsonl for a pair; a paraphrase's names its fact."""
    row = {
        "chunk_id": chunk.id,
        "doc": chunk.doc,
        "reason": reason,
        "question": c.question,
        "answer": c.answer,
        "grounding": round(grounding_score(c.answer if c.quoted is None else c.quoted, chunk.text), 3),
    }
    if c.family == PARAPHRASE_FAMILY:
        row |= {"fact_id": c.fact_id, "family": c.family}
    return row


def to_pair(pair_id: str, c: Candidate, family: str, chunk: Chunk, backend: str, model: str) -> QAPair:
    return QAPair(
        id=pair_id,
        question=c.question,
        answer=c.answer,
        chunk_id=chunk.id,
        doc=chunk.doc,
        articles=list(chunk.articles),
        backend=backend,
        model=model,
        fact_id=c.fact_id,
        kind=c.kind,
        family=family,
    )


def assemble(
    chunks: list[Chunk],
    results: dict[str, dict],
    p: SynthParams,
    model: str,
    stats: Counter,
    reply_prefix: str = "",
    examples: frozenset[str] = frozenset(),
) -> tuple[list[QAPair], list[dict]]:
    """Validate every pair in chunk order, so ids, duplicates and order do not depend on timing. A question
    asked before, in any document, is a duplicate (two documents with the same text give each question once).
    A model-written pair is followed by its paraphrases, validated the same way; when two or more of a fact's
    are valid, the last is its heldout phrasing."""
    accepted: list[QAPair] = []
    rejected: list[dict] = []
    seen: set[str] = set()
    failures, reasons, no_pairs = Counter(), Counter(), Counter()
    paraphrase_failures, paraphrase_reasons, paraphrase_none = Counter(), Counter(), Counter()
    for chunk in chunks:
        where = {"chunk_id": chunk.id, "doc": chunk.doc}
        record = results[chunk.id]
        if "error" in record:
            failures[record["error"]["kind"]] += 1
            no_pairs["request_failed"] += 1
            rejected.append({**where, "reason": "request_failed", "error": record["error"]})
            continue
        parsed_why = ""
        if "candidates" in record:
            candidates = record["candidates"]
        else:
            stats["chunks_answered"] += 1
            candidates, parsed_why = server_candidates(chunk.id, record, reply_prefix, stats)
        if not candidates:
            why = record.get("why_none") or parsed_why or "no_pairs_parsed"
            reason = "no_facts" if "candidates" in record else why
            reasons[reason] += 1
            no_pairs[why] += 1
            rejected.append(
                {
                    **where,
                    "reason": reason,
                    "why": why,
                    **({"reply": record["reply"][:500]} if "reply" in record else {}),
                }
            )
            continue
        stats["chunks_with_pairs"] += "candidates" not in record
        stats["pairs_parsed"] += len(candidates)
        variants: dict[int, list[Candidate]] = {}
        if asked := record.get("paraphrase"):
            stats["paraphrase_requests"] += 1
            if "error" in asked:
                paraphrase_failures[asked["error"]["kind"]] += 1
                rejected.append({**where, "reason": "paraphrase_request_failed", "error": asked["error"]})
            else:
                variants, why = paraphrase_candidates(asked, candidates, p.paraphrases, stats)
                if why:
                    paraphrase_none[why] += 1
                    rejected.append(
                        {
                            **where,
                            "reason": "no_paraphrases",
                            "why": why,
                            "reply": asked.get("reply", "")[:500],
                        }
                    )

        chunk_reasons: Counter = Counter()
        kept = 0
        well_formed = (
            "candidates" in record
        )  # the rules' questions are built from clauses: well-formed or out
        for index, c in enumerate(candidates):
            if reason := check_pair(c, chunk.text, p.min_grounding, examples, well_formed, seen):
                reasons[reason] += 1
                chunk_reasons[reason] += 1
                rejected.append(rejected_row(chunk, c, reason))
            else:
                kept += 1
                accepted.append(to_pair(f"{chunk.id}-{index:02d}", c, c.family, chunk, p.backend, model))
            rewrites = variants.get(index, [])
            stats["paraphrases_parsed"] += len(rewrites)
            verdicts = [check_pair(v, chunk.text, p.min_grounding, examples, False, seen) for v in rewrites]
            valid = [j for j, reason in enumerate(verdicts) if reason is None]
            heldout = valid[-1] if len(valid) >= 2 else None
            for j, (v, reason) in enumerate(zip(rewrites, verdicts, strict=True)):
                if reason:
                    paraphrase_reasons[reason] += 1
                    rejected.append(rejected_row(chunk, v, reason))
                    continue
                kept += 1
                stats["paraphrases_accepted"] += 1
                stats["paraphrases_heldout"] += j == heldout
                family = HELDOUT if j == heldout else v.family
                accepted.append(to_pair(f"{c.fact_id}-p{j:02d}", v, family, chunk, p.backend, model))
        if not kept:  # every pair of the chunk was rejected: named by the commonest reason
            no_pairs[f"all_{chunk_reasons.most_common(1)[0][0]}"] += 1
    stats["failures"], stats["rejected"], stats["chunks_without_pairs"] = failures, reasons, no_pairs
    stats["paraphrase_failures"], stats["paraphrases_rejected"] = paraphrase_failures, paraphrase_reasons
    stats["paraphrase_replies_without_paraphrases"] = paraphrase_none
    return accepted, rejected


def paraphrase_metrics(stats: Counter) -> dict[str, Any]:
    """What the paraphrase pass asked and gave (backend lmstudio)."""
    return {
        "paraphrase_requests": stats["paraphrase_requests"],
        "paraphrase_failed_chunks": sum(stats["paraphrase_failures"].values()),
        "paraphrase_failures": dict(sorted(stats["paraphrase_failures"].items())),
        "paraphrase_replies_without_paraphrases": dict(
            sorted(stats["paraphrase_replies_without_paraphrases"].items())
        ),
        "paraphrases_parsed": stats["paraphrases_parsed"],
        "paraphrases_out_of_range": stats["paraphrases_out_of_range"],
        "paraphrases_accepted": stats["paraphrases_accepted"],
        "paraphrases_heldout": stats["paraphrases_heldout"],
        "paraphrases_rejected": dict(sorted(stats["paraphrases_rejected"].items())),
    }


def pair_metrics(accepted: list[QAPair], rejected: Counter | None = None) -> dict[str, Any]:
    """Kinds of question, facts and their phrasings (rules backend): the share of questions that cite an
    article/§/inciso number, the answerable facts asked at least twice without one, the heldout phrasings and
    unanswerable pairs, the malformed questions rejected (by reason)."""
    kinds = Counter(pair.kind for pair in accepted if pair.kind)
    phrasings = Counter(pair.fact_id for pair in accepted if pair.fact_id)
    out: dict[str, Any] = {"kinds": dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))}
    if phrasings:
        citing = [bool(CITES_PROVISION.search(pair.question)) for pair in accepted]
        uncited = Counter(
            p.fact_id for p, cites in zip(accepted, citing, strict=True) if p.fact_id and not cites
        )
        answerable = {p.fact_id for p in accepted if p.fact_id and p.kind != UNANSWERABLE_KIND}
        heldout = Counter(pair.fact_id for pair in accepted if pair.family == HELDOUT)
        several = [f for f, n in phrasings.items() if n >= 2]
        counts = sorted(phrasings.values())
        out["facts"] = len(phrasings)
        out["facts_with_2_phrasings"] = round(len(several) / len(phrasings), 4)
        out["phrasings_per_fact"] = {"min": counts[0], "median": statistics.median(counts), "max": counts[-1]}
        out["questions_citing_provision"] = round(sum(citing) / len(accepted), 4)
        out["facts_with_2_uncited_questions"] = round(
            sum(uncited[f] >= 2 for f in answerable) / max(1, len(answerable)), 4
        )
        out["unanswerable_share"] = round(kinds[UNANSWERABLE_KIND] / len(accepted), 4)
        out["heldout_phrasings"] = sum(heldout.values())
        out["facts_with_heldout"] = round(sum(heldout[f] > 0 for f in several) / max(1, len(several)), 4)
    out["malformed_rejected"] = {
        reason: n for reason, n in sorted((rejected or Counter()).items()) if reason.startswith("malformed_")
    }
    return out


def read_chunks(path: Path, stats: Counter) -> list[Chunk]:
    """Chunk records; one that is not a Chunk (or repeats an id) is skipped, counted and logged."""
    require_input(path, "chunk")
    try:
        records = list(read_jsonl(path))
    except ValueError as e:  # a broken line in the middle: the chunk stage must be rerun
        raise MissingInputError(path, "chunk", what=f"is not valid JSONL ({e})") from None
    chunks, ids = [], set()
    for i, record in enumerate(records, 1):
        try:
            chunk = from_dict(Chunk, record)
        except RecordError as e:
            log.warning("%s: record %d skipped: %s", path, i, e)
            stats["bad_chunks"] += 1
            continue
        if not chunk.id or chunk.id in ids:
            log.warning("%s: record %d has an empty or repeated id %r; skipped", path, i, chunk.id)
            stats["bad_chunks"] += 1
            continue
        ids.add(chunk.id)
        chunks.append(chunk)
    return chunks


def main() -> None:
    p = load_params("synth", SynthParams)
    started = time.monotonic()
    stats: Counter = Counter()
    chunks = read_chunks(CHUNKS_FILE, stats)
    log.info("synth: %d chunks from %s, backend %s", len(chunks), CHUNKS_FILE, p.backend)
    SYNTH_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    SYNTH_CACHE_FILE.touch()  # the DVC output is not an empty folder even when the rules backend asks nothing
    prefix, examples = "", frozenset()
    try:
        if p.backend == "rules":
            results, model = rules_results(chunks), RULES_MODEL
        else:
            cache = ReplyCache(SYNTH_CACHE_DIR, legacy=SYNTH_CACHE_FILE)
            results, model, prompts = server_results(chunks, p, cache, stats)
            prefix, examples = prompts.reply_prefix, prompts.examples
    except ServerUnavailable as e:
        log.error("%s", e)
        raise SystemExit(1) from None
    accepted, rejected = assemble(chunks, results, p, model, stats, prefix, examples)
    write_jsonl(QA_FILE, (to_dict(pair) for pair in accepted))
    write_jsonl(REJECTED_FILE, rejected)
    seconds = time.monotonic() - started
    failed = sum(stats["failures"].values())
    metrics = {
        "backend": p.backend,
        "model": model,
        "chunks": len(chunks),
        "bad_chunks": stats["bad_chunks"],
        "chunks_failed": failed,
        "failures": dict(stats["failures"]),
        "structured_fallback": bool(stats["structured_fallback"]),
        "pairs_parsed": stats["pairs_parsed"],
        "accepted": len(accepted),
        "rejected": dict(sorted(stats["rejected"].items())),
        "chunks_without_pairs": dict(sorted(stats["chunks_without_pairs"].items())),
        "parse_yield": round(stats["chunks_with_pairs"] / stats["chunks_answered"], 4)
        if stats["chunks_answered"]
        else 0.0,
        "truncated_recovered": stats["truncated_recovered"],
        **(paraphrase_metrics(stats) if p.backend == "lmstudio" else {}),
        **pair_metrics(accepted, stats["rejected"]),
    }
    write_json(metrics_file("synth"), metrics)
    write_timings(
        "synth",
        {
            "chunks_cached": stats["chunks_cached"],
            **({"paraphrases_cached": stats["paraphrases_cached"]} if p.backend == "lmstudio" else {}),
            "requests": stats["requests"],
            "retries": stats["retries"],
            "seconds": round(seconds, 2),
            "pairs_per_minute": round(len(accepted) / seconds * 60, 1) if seconds > 0 else 0.0,
            **(
                {
                    "requests_by_server": stats["requests_by_server"],
                    "servers_lost": stats["servers_lost"],
                    "chunks_requeued": stats["requeued"],
                }
                if "requests_by_server" in stats
                else {}
            ),
        },
    )
    paraphrase_failed = sum(stats["paraphrase_failures"].values())
    log.info(
        "synth: %d accepted (%d paraphrases), %d rejected, %d of %d chunks gave no pair (%s), %d failed -> %s",
        len(accepted),
        stats["paraphrases_accepted"],
        sum(stats["rejected"].values()) + sum(stats["paraphrases_rejected"].values()),
        sum(stats["chunks_without_pairs"].values()),
        len(chunks),
        json.dumps(dict(stats["chunks_without_pairs"])),
        failed,
        QA_FILE,
    )
    if paraphrase_failed:
        log.warning(
            "synth: the paraphrase request of %d of %d chunks failed (%s); their first-pass pairs are kept, and "
            "a rerun asks again for their paraphrases only (see %s)",
            paraphrase_failed,
            stats["paraphrase_requests"],
            json.dumps(dict(stats["paraphrase_failures"])),
            REJECTED_FILE,
        )
    if chunks and failed / len(chunks) > p.max_failure_rate:
        log.error(
            "synth: %d of %d chunks failed (%s), more than synth.max_failure_rate=%s; see %s",
            failed,
            len(chunks),
            json.dumps(dict(stats["failures"])),
            p.max_failure_rate,
            REJECTED_FILE,
        )
        raise SystemExit(1)


if __name__ == "__main__":
    run_main(main)
