"""CPU-friendly causal-LM training: the output layer only where the loss needs it, and no padding.

With a 262k-token vocabulary (Gemma 3) the output layer is most of a small model's work and memory: the
plain path computes logits for every position of every padded row and keeps them (batch x length x vocab
floats) for the backward pass. Here the decoder runs over the batch packed into a few rows of at most
train.max_seq_len tokens (balanced_rows; sequences separated by restarting position_ids, the way
DataCollatorWithFlattening packs them, so attention never crosses from one pair into another), and the output
layer runs only at the positions whose next token is a label (answer tokens and the closing EOS). The loss is
the same number as the model's own, up to float rounding (tests/test_answer_loss.py).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


def pack_rows(lengths: list[int], max_len: int) -> list[list[int]]:
    """Indices of the pairs in each row: first-fit by decreasing length into rows of at most `max_len` tokens
    (a longer pair gets a row of its own). Attention over a packed row costs its length squared, so one row of
    a whole batch of 512-token passages would cost 8x eight rows."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        slot = next((r for r, free in enumerate(room) if free >= lengths[i]), None)
        if slot is None:
            rows.append([i])
            room.append(max_len - lengths[i])
        else:
            rows[slot].append(i)
            room[slot] -= lengths[i]
    return rows


def balanced_rows(lengths: list[int], max_len: int) -> list[list[int]]:
    """pack_rows with the row width that leaves the fewest padded positions: every row is padded to the widest,
    so packing a batch into rows of max_len tokens can leave the last row mostly padding (8 pairs of
    80-140 tokens in rows of 512: 950 positions for 840 tokens; balanced: 4 rows of 220, 880). Tries every width from the longest pair to max_len
    and keeps the one with the smallest rows x width (ties: the narrower, whose attention costs less)."""
    if not lengths:
        return []
    longest = max(lengths)
    best: tuple[int, int, list[list[int]]] | None = None
    for width in range(min(longest, max_len), max(max_len, longest) + 1):
        rows = pack_rows(lengths, width)
        widest = max(sum(lengths[i] for i in row) for row in rows)
        area = len(rows) * widest
        if best is None or (area, widest) < best[:2]:
            best = (area, widest, rows)
        if area == sum(lengths):
            break  # no padding at all: nothing narrower can do better
    return best[2]


def pack_batch(
    features: list[dict[str, list[int]]], max_len: int | None = None, pad_id: int = 0
) -> dict[str, Any]:
    """Pairs packed into rows of <= max_len tokens (balanced_rows; one row when max_len is None): input_ids,
    labels (each pair's first token masked) and position_ids restarting at 0 for every pair. A row shorter
    than the longest is filled with pad_id as one more sequence of its own, with no labels."""
    import torch

    lengths = [len(f["input_ids"]) for f in features]
    groups = balanced_rows(lengths, max_len) if max_len else [list(range(len(features)))]
    rows = []
    for group in groups:
        ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        for i in group:
            ids += list(features[i]["input_ids"])
            labels += [IGNORE_INDEX] + list(features[i]["labels"])[1:]  # not predicted from the previous pair
            positions += range(lengths[i])
        rows.append((ids, labels, positions))
    width = max(len(ids) for ids, _, _ in rows)
    for ids, labels, positions in rows:
        gap = width - len(ids)
        ids += [pad_id] * gap
        labels += [IGNORE_INDEX] * gap
        positions += range(gap)
    return {
        "input_ids": torch.tensor([r[0] for r in rows], dtype=torch.long),
        "labels": torch.tensor([r[1] for r in rows], dtype=torch.long),
        "position_ids": torch.tensor([r[2] for r in rows], dtype=torch.long),
    }


class PackCollator:
    """Picklable collator for the Trainer: encoded pairs -> packed rows of at most `max_len` tokens."""

    def __init__(self, max_len: int | None = None, pad_id: int = 0) -> None:
        self.max_len, self.pad_id = max_len, pad_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        rows = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in features]
        return pack_batch(rows, self.max_len, self.pad_id)


def causal_lm(model: Any) -> Any:
    """The *ForCausalLM inside a PeftModel (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supports_answer_only(model: Any) -> bool:
    """True for the usual decoder + lm_head layout (Llama, Gemma, Qwen, Mistral ...)."""
    lm = causal_lm(model)
    return (
        hasattr(lm, "get_decoder")
        and lm.get_output_embeddings() is not None
        and getattr(lm.config, "logit_scale", None)
        is None  # Cohere-style scaled logits: use the model's own loss
        and getattr(lm.config, "logits_scaling", None) is None  # Granite
    )


def label_logits(model: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(logits at the label positions [N, vocab], their targets [N], the [batch, length-1] mask of them)."""
    import torch

    lm = causal_lm(model)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
    if supports_answer_only(model):
        # use_cache=False also matters for packing: transformers builds the per-sequence mask from
        # position_ids only when there is no cache (with one, packed pairs would attend to each other).
        hidden = lm.get_decoder()(**inputs, use_cache=False).last_hidden_state
        targets = batch["labels"][:, 1:]
        keep = targets != IGNORE_INDEX
        logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
        cap = getattr(lm.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
    else:  # scaled logits: the model's own forward, every position
        targets = batch["labels"][:, 1:]
        keep = targets != IGNORE_INDEX
        logits = model(**inputs, use_cache=False).logits[:, :-1][keep]
    return logits.float(), targets[keep], keep


def answer_only_loss(model: Any, batch: dict[str, Any], num_items: Any = None) -> Any:
    """Summed cross-entropy over label positions / num_items (or their count), logits only at those positions."""
    import torch

    logits, targets, keep = label_logits(model, batch)
    loss = torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
    return loss / (num_items if num_items is not None else keep.sum().clamp(min=1))


def answer_losses(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """Per row of a padded batch: (summed cross-entropy over its label positions, how many). Logits only at
    those positions: for a 262k vocabulary, 8 rows x 300 positions of logits would be 2.5 GB of float32."""
    import torch

    logits, targets, keep = label_logits(model, batch)
    token_losses = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    sums = torch.zeros(keep.shape[0], dtype=torch.float32, device=logits.device)
    sums.index_add_(0, keep.nonzero()[:, 0], token_losses)
    return sums, keep.sum(dim=1)
