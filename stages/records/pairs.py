"""synth -> dataset -> train, evaluate: data/qa/qa.jsonl and data/dataset/{train,eval}.jsonl."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QAPair:
    """One line of data/qa/qa.jsonl and of the dataset splits."""

    id: str  # <chunk id>-<index of the pair in its chunk>
    question: str
    answer: str
    chunk_id: str
    doc: str
    articles: list[str]
    backend: str  # rules | lmstudio
    model: str  # the rules generator's version or the server's model id
    fact_id: str = ""  # the phrasings of one fact share it (synth); "" = the pair is its own fact
    kind: str = ""  # what the question asks (rules backend: prazo, competencia, ...; see stages/qa/rules/)
    family: str = ""  # how the question is phrased (rules backend); "heldout": for eval `paraphrase` only


# The eval sets `dataset` can write, in the order evaluate reports them:
# - seen: a held-out phrasing of a trained fact;
# - unseen: a pair from a chunk no training pair comes from;
# - paraphrase: a trained fact asked by a question generator training never used;
# - unanswerable: a question the rules do not answer (reference answer: prompt_format.REFUSAL).
EVAL_SETS = ("seen", "unseen", "paraphrase", "unanswerable")
UNANSWERABLE = "unanswerable"  # the set, and the kind of a question the rules do not answer
HELDOUT_FAMILY = "heldout"  # QAPair.family of phrasings that only the `paraphrase` set asks, never training


@dataclass(frozen=True)
class SplitPair(QAPair):
    """One line of data/dataset/{train,eval}.jsonl: the pair, which eval set holds it, and its chat form.

    `messages` is the pair as system/user/assistant turns, the format LLaMA-Factory, axolotl and TRL read.
    """

    eval_set: str = ""  # "" in train.jsonl; in eval.jsonl one of EVAL_SETS
    messages: list[dict] = field(default_factory=list)  # [{"role": ..., "content": ...}, ...]


def by_eval_set(records: list[SplitPair]) -> dict[str, list[SplitPair]]:
    """Eval pairs grouped by set: EVAL_SETS in order, then any other set in order of appearance; empty sets left
    out (an eval.jsonl from before the sets existed has no eval_set: all its pairs are from held-out chunks,
    i.e. unseen)."""
    names = dict.fromkeys([*EVAL_SETS, *(r.eval_set or "unseen" for r in records)])
    groups = {name: [r for r in records if (r.eval_set or "unseen") == name] for name in names}
    return {name: rows for name, rows in groups.items() if rows}
