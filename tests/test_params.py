"""params.yaml and the typed params objects agree: every key is a field, every field is in params.yaml, and
params.yaml ships exactly the dataclass defaults (so a stage run with no params.yaml value, a test that
builds `XParams()`, and `dvc repro` on a fresh clone all mean the same thing)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from stages.base import BaseParams
from stages.chunk import ChunkParams
from stages.clean import CleanParams
from stages.common import build_params
from stages.dataset import DatasetParams
from stages.evaluate import EvaluateParams
from stages.modeling import ModelParams
from stages.ocr import OcrParams
from stages.synth import SynthParams
from stages.train import LoraParams, TrainParams

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
