"""Greedy decoding of a batch that drops each answer as it ends.

`model.generate` runs a batch until its longest answer ends: a refusal of a dozen tokens keeps paying for every
step of a 96-token answer beside it, and at gemma-3-270m's size most of a step is the 262k-token output layer,
paid once per row. Here a row leaves the batch (its cached keys and values too) the step its answer ends, at an
end-of-answer token or a stop string, so a batch costs the sum of its answers' lengths instead of its size times
the longest. The tokens chosen are the same argmax over the same logits as `generate(do_sample=False)`:
left padding, positions counted from the first real token, the cache extended one token a step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def greedy_continuations(
    model: Any,
    input_ids: Any,
    attention_mask: Any,
    max_new_tokens: int,
    stop_ids: Sequence[int],
    ended: Callable[[list[int]], bool],
) -> list[list[int]]:
    """Each row's greedy continuation of a left-padded batch: at most `max_new_tokens` tokens, without the
    end-of-answer token (`stop_ids`) that closed it; a row also ends once `ended(its tokens)` says so."""
    import torch

    rows = input_ids.shape[0]
    out: list[list[int]] = [[] for _ in range(rows)]
    alive = torch.arange(rows)
    positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 1)
    length = input_ids.shape[1]
    stops = set(stop_ids)
    with torch.no_grad():
        step = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=positions,
            cache_position=torch.arange(length, device=input_ids.device),
            use_cache=True,
            logits_to_keep=1,
        )
        # transformers 5 names the cache `cache` (`past_key_values` before, deprecated since)
        name = "cache" if "cache" in getattr(step, "__dataclass_fields__", {}) else "past_key_values"
        cache, logits, position = getattr(step, name), step.logits[:, -1, :], positions[:, -1]
        for n in range(max_new_tokens):
            tokens = logits.argmax(-1)
            keep = []
            for row, token in enumerate(tokens.tolist()):
                if token in stops:
                    continue
                answer = out[int(alive[row])]
                answer.append(token)
                if n + 1 < max_new_tokens and not ended(answer):
                    keep.append(row)
            if not keep:
                break
            if len(keep) < len(alive):
                index = torch.tensor(keep, device=tokens.device)
                cache.batch_select_indices(index)
                alive, tokens = alive[index.cpu()], tokens[index]
                attention_mask, position = attention_mask[index], position[index]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(keep), 1))], dim=1)
            position = position + 1
            step = model(
                input_ids=tokens[:, None],
                attention_mask=attention_mask,
                position_ids=position[:, None],
                cache_position=torch.tensor([length + n], device=tokens.device),
                use_cache=True,
                **{name: cache},
            )
            cache, logits = getattr(step, name), step.logits[:, -1, :]
    return out
