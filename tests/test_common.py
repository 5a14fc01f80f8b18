"""The shared helpers every stage relies on: typed params, JSONL that survives a killed writer, hashing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stages.core.files import append_jsonl, read_jsonl, stable_hash, write_jsonl
from stages.core.params import ParamsError, build_params, load_params


@dataclass(frozen=True)
class DemoParams:
    max_tokens: int = 350
    ratio: float = 0.5
    name: str = ""
    modules: tuple[str, ...] = ("q_proj",)
    strict: bool = False

    def problems(self) -> list[str]:
        return [f"demo.max_tokens must be > 0, got {self.max_tokens}"] if self.max_tokens <= 0 else []


def test_defaults_and_coercions() -> None:
    p = build_params("demo", DemoParams, {"ratio": 1, "modules": "all-linear"})
    assert p == DemoParams(ratio=1.0, modules=("all-linear",))
    assert isinstance(p.ratio, float)
    assert build_params("demo", DemoParams, None) == DemoParams()


def test_every_problem_is_listed_in_one_error() -> None:
    with pytest.raises(ParamsError) as e:
        build_params("demo", DemoParams, {"max_tokens": "many", "strict": "yes", "typo": 1, "modules": [1]})
    msg = str(e.value)
    for needle in (
        "demo.max_tokens must be int",
        "demo.strict must be true or false",
        "demo.typo is not a known",
    ):
        assert needle in msg
    assert "demo.modules[0]" in msg


def test_bool_is_not_an_int_and_problems_run_after_types() -> None:
    with pytest.raises(ParamsError, match="demo.max_tokens must be int"):
        build_params("demo", DemoParams, {"max_tokens": True})
    with pytest.raises(ParamsError, match="must be > 0, got -1"):
        build_params("demo", DemoParams, {"max_tokens": -1})


def test_load_params_names_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not found"):
        load_params("demo", DemoParams, path=tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("demo: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params("demo", DemoParams, path=broken)
    good = tmp_path / "good.yaml"
    good.write_text("demo:\n  max_tokens: 12\nother: {}\n")
    assert load_params("demo", DemoParams, path=good).max_tokens == 12


def test_jsonl_round_trip_is_byte_stable(tmp_path: Path) -> None:
    records = [{"id": "b", "text": "Art. 5º R$ 1.000,00"}, {"id": "a", "n": 2}]
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    assert write_jsonl(first, records) == 2
    write_jsonl(second, list(read_jsonl(first)))
    assert first.read_bytes() == second.read_bytes()
    assert "Art. 5º" in first.read_text(encoding="utf-8")  # UTF-8 kept readable
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


def test_torn_last_line_is_skipped_but_corruption_elsewhere_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        append_jsonl(f, {"k": 1})
        append_jsonl(f, {"k": 2})
        f.write('{"k": 3, "te')  # a writer killed mid-line
    assert [r["k"] for r in read_jsonl(path)] == [1, 2]
    path.write_text('{"k": 1}\nnot json\n{"k": 2}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="cache.jsonl:2"):
        list(read_jsonl(path))


def test_stable_hash_depends_on_content_not_key_order() -> None:
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash(DemoParams()) == stable_hash(DemoParams())
    assert stable_hash(DemoParams()) != stable_hash(DemoParams(max_tokens=351))
    assert len(stable_hash("x", length=12)) == 12


def test_records_are_read_through_their_declared_types() -> None:
    from stages.records.base import RecordError, from_dict, to_dict
    from stages.records.pages import OcrDocument, OcrPage
    from stages.records.pairs import QAPair

    page = {"page": 1, "method": "ocr", "text": "Art. 1º", "confidence": 91.5}
    doc = from_dict(OcrDocument, {"doc": "a", "source": "a.pdf", "sha256": "x", "pages": [page]})
    assert isinstance(doc.pages[0], OcrPage) and doc.failed_pages == []  # nested records, defaults
    assert from_dict(OcrDocument, to_dict(doc)) == doc
    with pytest.raises(RecordError, match="OcrDocument lacks the field 'sha256'"):
        from_dict(OcrDocument, {"doc": "a", "source": "a.pdf", "pages": []})
    with pytest.raises(RecordError, match=r"OcrPage.page has the wrong type: '1'"):
        from_dict(OcrPage, {**page, "page": "1"})
    with pytest.raises(RecordError, match="expected a JSON object for a QAPair, got list"):
        from_dict(QAPair, [])
