"""Answer metrics: exact match, token F1 and ROUGE-L (LCS F-measure), SQuAD-style, for Portuguese; key-fact
recall and precision; bootstrap confidence intervals for their means and for paired differences.

Normalization: lower case, punctuation removed, Portuguese articles dropped, whitespace collapsed.
Accents are kept: in Portuguese they change meaning (e.g. "é" / "e", "pôr" / "por").

Key-fact recall asks whether the answer carries what matters in a rule: of the numbers, dates, deadlines,
percentages, amounts and article/§ references in the reference answer (stages/text/legis/ key_facts) that the
question does not already state, the share found in the answer. Word overlap (F1, ROUGE-L) rewards an answer
that copies the right article's wording with the wrong deadline; this does not. Key-fact precision is its
other half: of the facts the answer states, the share the reference holds (a made-up deadline lowers it).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from stages.scoring.citations import strip_citations
from stages.scoring.key_facts import key_facts
from stages.text.fold import squash_ws

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


def key_fact_recall(prediction: str, reference: str, question: str = "") -> float | None:
    """Share of the reference's key facts, less those the question states, found in the prediction; None when
    the reference has none (the pair then does not count towards the mean)."""
    wanted = key_facts(reference) - key_facts(question)
    if not wanted:
        return None
    return len(wanted & key_facts(prediction)) / len(wanted)


def key_fact_precision(prediction: str, reference: str, question: str = "") -> float | None:
    """Share of the key facts the prediction states, less those the question states, that are among the
    reference's: a number, date, amount or reference the reference does not give is a wrong fact. Act citations
    ("Resolução nº 23/2017") are not facts here (citations.wrong_act scores them). None when the prediction
    states none (a refusal, an answer in words only): such answers do not count towards the mean."""
    stated = key_facts(strip_citations(prediction)) - key_facts(strip_citations(question))
    if not stated:
        return None
    return len(stated & key_facts(reference)) / len(stated)


def _resamples(n: int, n_boot: int, seed: int):  # noqa: ANN202 - numpy array
    import numpy as np

    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _stat(values, weights, idx):  # noqa: ANN001, ANN202 - numpy arrays
    return (values[idx] * weights[idx]).sum(axis=-1) / weights[idx].sum(axis=-1)


def bootstrap_ci(
    values: Sequence[float],
    weights: Sequence[float] | None = None,
    n_boot: int = 2000,
    seed: int = 13,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(mean, low, high): the (weighted) mean and its percentile-bootstrap interval, resampling pairs
    (paired_delta_ci against zeros: the same resamples, mean - 0)."""
    return paired_delta_ci(values, [0.0] * len(values), weights, n_boot, seed, level)


def paired_delta_ci(
    a: Sequence[float],
    b: Sequence[float],
    weights: Sequence[float] | None = None,
    n_boot: int = 2000,
    seed: int = 13,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high): both means on the same resampled pairs (a paired bootstrap)."""
    import numpy as np

    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(va) != len(vb):
        raise ValueError(f"paired samples of different sizes: {len(va)} and {len(vb)}")
    if len(va) == 0:
        return float("nan"), float("nan"), float("nan")
    wa = np.ones_like(va) if weights is None else np.asarray(weights, dtype=float)
    idx = _resamples(len(va), n_boot, seed)
    deltas = _stat(va, wa, idx) - _stat(vb, wa, idx)
    full = np.arange(len(va))
    tail = (1 - level) / 2
    return (
        float(_stat(va, wa, full) - _stat(vb, wa, full)),
        float(np.quantile(deltas, tail)),
        float(np.quantile(deltas, 1 - tail)),
    )


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: Levenshtein(ws-normalized hyp, ws-normalized ref) / len(ref)."""
    ref = squash_ws(reference)
    hyp = squash_ws(hypothesis)
    return Levenshtein.distance(hyp, ref) / max(1, len(ref))
