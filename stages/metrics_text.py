"""Answer metrics: exact match, token F1 and ROUGE-L (LCS F-measure), SQuAD-style, for Portuguese.

Normalization: lower case, punctuation removed, Portuguese articles dropped, whitespace collapsed.
Accents are kept: in Portuguese they change meaning (e.g. "é" / "e", "pôr" / "por").
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

ARTICLES = frozenset({"o", "a", "os", "as", "um", "uma", "uns", "umas"})
_PUNCT = re.compile(r"[^\w\s]")


def normalize_answer(text: str) -> str:
    """'O Artigo 5.º, n.º 2!' -> 'artigo 5 º n º 2' (NFC, accents kept, articles dropped)."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _PUNCT.sub(" ", text)
    return " ".join(w for w in text.split() if w not in ARTICLES)


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (bag of normalized tokens)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over normalized tokens (longest common subsequence)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    lcs = _lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def score_answers(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean exact_match / f1 / rouge_l over aligned lists."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    n = max(1, len(references))
    return {
        "exact_match": sum(map(exact_match, predictions, references)) / n,
        "f1": sum(map(token_f1, predictions, references)) / n,
        "rouge_l": sum(map(rouge_l, predictions, references)) / n,
    }
