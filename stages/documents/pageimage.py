"""Page-image helpers shared by the searches that clean a page before tesseract reads it (stages/documents/struck.py,
stages/documents/leaders.py): the paper's brightness block by block, ink relative to it, runs, reduction."""

from __future__ import annotations

import numpy as np

INK = 0.6  # darker than this share of the local paper brightness: ink
LINE_INK = 0.8  # ... and this: faint ink (a photo's blurred thin line: 0.66-0.74 of the paper)


def paper_blocks(grey: np.ndarray, dpi: int) -> tuple[np.ndarray, int]:
    """The brightest pixel of each ~0.16-inch block (a text line is thinner, so every block holds some paper),
    and the block size."""
    b = max(8, int(dpi * 0.16))
    h, w = grey.shape
    hb, wb = -(-h // b), -(-w // b)
    padded = np.pad(grey, ((0, hb * b - h), (0, wb * b - w)), mode="edge")
    return padded.reshape(hb, b, wb, b).max(axis=(1, 3)), b


def full_size(blocks: np.ndarray, b: int, shape: tuple[int, ...]) -> np.ndarray:
    """Per-block values spread back over the pixels of an image of `shape`."""
    return np.repeat(np.repeat(blocks, b, axis=0), b, axis=1)[: shape[0], : shape[1]]


def dark_mask(grey: np.ndarray, blocks: tuple[np.ndarray, int], share: float) -> np.ndarray:
    """Pixels darker than `share` of the paper around them (`blocks`: paper_blocks; the threshold is made per
    block and compared in uint8, the same as grey < share * paper)."""
    paper, b = blocks
    return grey < full_size(np.ceil(paper * share).astype(np.uint8), b, grey.shape)


def true_runs(row: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the True runs of a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], row, [False])).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def darkest(grey: np.ndarray, f: int) -> np.ndarray:
    """`grey` with each f x f block one pixel, as dark as its darkest (a dot or a thin line stays)."""
    h, w = grey.shape
    h, w = h - h % f, w - w % f
    out = grey[:h:f, :w:f].copy()
    for dy in range(f):
        for dx in range(f):
            if dy or dx:
                np.minimum(out, grey[dy:h:f, dx:w:f], out=out)
    return out
