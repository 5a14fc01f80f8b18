"""Accuracy measures used by the benchmarks and the accuracy tests (not by any stage)."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from stages.textutil import normalize_ws


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: Levenshtein(ws-normalized hyp, ws-normalized ref) / len(ref)."""
    ref = normalize_ws(reference)
    hyp = normalize_ws(hypothesis)
    return Levenshtein.distance(hyp, ref) / max(1, len(ref))
