"""Retrieval-style training prompts (RAFT, Zhang et al. 2024): some training questions are asked with a chunk in
the prompt, the way `adapter_retrieval` and `ask --retrieve` ask them.

A model fine-tuned only on bare questions can get worse when a passage is put before the question; trained with
passages it learns to read them. Of the training pairs, `fraction` (picked by a seeded hash of the pair's id)
get the retrieval prompt (prompt_format.retrieval_prompt):
- most with their own chunk (the gold passage): the answer is in the prompt;
- `distractor_share` of them with the best BM25 chunk that is not their own: the answer is not in the prompt,
  so the model keeps answering from what it learnt instead of copying whatever passage it is shown;
- an unanswerable question with the chunk BM25 ranks first for it: the passage does not answer, the target
  stays the refusal sentence.
The chunk index holds every chunk of data/chunks, as at evaluation; `unseen` chunks are shown only as
distractors, never with their own questions (none of which is a training pair).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from stages.core.files import stable_hash
from stages.model.prompt_format import retrieval_prompt
from stages.records.chunks import Chunk
from stages.records.pairs import UNANSWERABLE, QAPair

GOLD, DISTRACTOR, RETRIEVED, BARE = "gold", "distractor", "retrieved", "bare"


def _share(seed: int, *parts: str) -> float:
    """A deterministic number in [0, 1) for `parts`."""
    return int(stable_hash(seed, *parts), 16) / 16**16


def _best_other(scorer: Callable[[str], list[float]], question: str, own: int | None) -> int:
    """The best-scoring chunk for `question` that is not `own` (the first on ties)."""
    scores = scorer(question)
    return max((i for i in range(len(scores)) if i != own), key=lambda i: (scores[i], -i))


def training_prompts(
    records: Sequence[QAPair],
    chunks: Sequence[Chunk],
    scorer: Callable[[str], list[float]],
    fraction: float,
    distractor_share: float,
    seed: int,
) -> tuple[list[str], Counter[str]]:
    """The prompt each record is trained with (its question, or a retrieval prompt) and how many of each kind
    (bare, gold, distractor, retrieved). `scorer(question)` scores every chunk, in order, as retrieval at
    evaluation does (scoring.retrieval.BM25(...).scores over the chunks' passage_text)."""
    kinds: Counter[str] = Counter()
    if fraction <= 0 or len(chunks) < 2:
        kinds[BARE] = len(records)
        return [r.question for r in records], kinds
    position = {c.id: i for i, c in enumerate(chunks)}
    prompts = []
    for r in records:
        if _share(seed, "raft", r.id) >= fraction:
            prompts.append(r.question)
            kinds[BARE] += 1
            continue
        own = position.get(r.chunk_id)
        if r.kind == UNANSWERABLE or own is None:
            chosen, kind = _best_other(scorer, r.question, None), RETRIEVED
        elif _share(seed, "distractor", r.id) < distractor_share:
            chosen, kind = _best_other(scorer, r.question, own), DISTRACTOR
        else:
            chosen, kind = own, GOLD
        prompts.append(retrieval_prompt(r.question, chunks[chosen]))
        kinds[kind] += 1
    return prompts, kinds
