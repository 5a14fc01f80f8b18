"""params.yaml and the typed params objects agree: every key is a field, every field is in params.yaml, and
params.yaml ships exactly the dataclass defaults (so a stage run with no params.yaml value, a test that
builds `XParams()`, and `dvc repro` on a fresh clone all mean the same thing)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from stages.core.params import build_params
from stages.dataset import DatasetParams
from stages.documents.settings import OcrParams
from stages.evaluate import EvaluateParams
from stages.model.finetune import LoraParams, TrainParams
from stages.model.loading import ModelParams
from stages.model.tiny_llama import BaseParams
from stages.qa.settings import SynthParams
from stages.text.chunking import ChunkParams
from stages.text.clean.furniture import CleanParams

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text(encoding="utf-8"))
SECTIONS = {
    "ocr": OcrParams,
    "clean": CleanParams,
    "chunk": ChunkParams,
    "synth": SynthParams,
    "dataset": DatasetParams,
    "model": ModelParams,
    "base": BaseParams,
    "lora": LoraParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
}


def test_every_section_has_a_params_class() -> None:
    assert set(PARAMS) == set(SECTIONS)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_params_yaml_ships_the_dataclass_defaults(section: str) -> None:
    cls = SECTIONS[section]
    assert set(PARAMS[section]) == {f.name for f in dataclasses.fields(cls)}, section
    assert build_params(section, cls, PARAMS[section]) == cls(), (
        f"params.yaml [{section}] != {cls.__name__}()"
    )
