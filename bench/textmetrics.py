"""Accuracy measures used by the benchmarks and the accuracy tests (not by any stage)."""

from __future__ import annotations

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from stages.textutil import normalize_ws


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: Levenshtein(ws-normalized hyp, ws-normalized ref) / len(ref)."""
    ref = normalize_ws(reference)
    hyp = normalize_ws(hypothesis)
    return Levenshtein.distance(hyp, ref) / max(1, len(ref))


def _segments(text: str) -> list[str]:
    return [line for line in (normalize_ws(raw) for raw in text.splitlines()) if line]


def _fit(short: str, long: str, start: int, end: int) -> tuple[int, int, int]:
    """(start, end, edits) of the stretch of `long` that `short` fits best near long[start:end] (rapidfuzz's
    partial alignment, whose window is as long as `short`, widened and then trimmed of what `short` lacks at
    either end)."""
    margin = max(3, len(short) // 10)
    lo, hi = max(0, start - margin), min(len(long), end + margin)
    ops = Levenshtein.opcodes(short, long[lo:hi])
    edits = Levenshtein.distance(short, long[lo:hi])
    head = ops[0].dest_end - ops[0].dest_start if ops and ops[0].tag == "insert" else 0
    tail = ops[-1].dest_end - ops[-1].dest_start if len(ops) > 1 and ops[-1].tag == "insert" else 0
    return lo + head, hi - tail, edits - head - tail


def flexible_cer(hypothesis: str, reference: str, min_score: float = 70.0) -> float:
    """Character error rate with the reading order of lines left aside (after Clausner, Pletschacher and
    Antonacopoulos's flexible character accuracy, Pattern Recognition Letters 131, 2020; our own, simpler
    matching): each line of the reference, longest first, is matched with the stretch of a hypothesis line that
    fits it best (at least `min_score` of rapidfuzz's partial ratio), or with a hypothesis line that fits in a
    stretch of it; the edits between the two count, and what is left of either line on both sides of the match
    goes back to be matched on its own. What nothing matches counts whole, as deleted (reference) or inserted
    (hypothesis). A table whose cells a text layer gives column by column and OCR row by row costs nothing here
    for its order, and every misread character still costs one."""
    pending = _segments(reference)
    hyps = _segments(hypothesis)
    errors = 0
    while pending:
        pending.sort(key=len)
        ref = pending.pop()
        best = process.extractOne(ref, hyps, scorer=fuzz.partial_ratio, score_cutoff=min_score)
        if best is None:
            errors += len(ref)
            continue
        hyp = hyps.pop(best[2])
        at = fuzz.partial_ratio_alignment(ref, hyp)
        if len(ref) <= len(hyp):
            r0, r1 = 0, len(ref)
            h0, h1, edits = _fit(ref, hyp, at.dest_start, at.dest_end)
        else:
            h0, h1 = 0, len(hyp)
            r0, r1, edits = _fit(hyp, ref, at.src_start, at.src_end)
        errors += edits
        pending += [rest for rest in (ref[:r0].strip(), ref[r1:].strip()) if rest]
        hyps += [rest for rest in (hyp[:h0].strip(), hyp[h1:].strip()) if rest]
    errors += sum(len(hyp) for hyp in hyps)
    return errors / max(1, len(normalize_ws(reference)))
