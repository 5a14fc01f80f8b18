"""bench/bench_ufam_gemma.py's report: targets checked against metrics/eval.json entries, intervals printed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

bench = importlib.import_module("bench.bench_ufam_gemma")


def eval_metrics(seen_recall: float, delta_low: float) -> dict:
    adapter = {
        "key_fact_recall": seen_recall,
        "key_fact_recall_low": seen_recall - 0.1,
        "key_fact_recall_high": seen_recall + 0.1,
        "key_fact_precision": 0.95,
        "wrong_act": 0.0,
        "false_refusal": 0.02,
        "answer_loss": 0.4,
    }
    return {
        "sets": {
            "seen": {
                "pairs": 40,
                "adapter": adapter,
                "adapter_vs_open_book": {"key_fact_recall": 0.2, "key_fact_recall_low": delta_low},
            },
            "unanswerable": {"pairs": 10, "adapter": {"abstention": 0.8}},
        }
    }


def test_targets_pass_and_fail_on_the_measured_values() -> None:
    ev = eval_metrics(0.8, 0.05)
    assert bench.check(ev["sets"]["seen"]["adapter"], "key_fact_recall", ">=", 0.75) == (0.8, True)
    assert bench.check(ev["sets"]["seen"]["adapter_vs_open_book"], "key_fact_recall_low", ">", 0.0) == (
        0.05,
        True,
    )
    low = eval_metrics(0.7, -0.01)
    assert bench.check(low["sets"]["seen"]["adapter"], "key_fact_recall", ">=", 0.75) == (0.7, False)
    assert (
        bench.check(low["sets"]["seen"]["adapter_vs_open_book"], "key_fact_recall_low", ">", 0.0)[1] is False
    )
    assert bench.check(None, "key_fact_recall", ">=", 0.75) == (None, False)  # a system not evaluated fails


def test_report_names_sets_systems_and_unmet_targets() -> None:
    result = {
        "preset": "gemma-3-270m",
        "acts": ["A", "B"],
        "chunks": 5,
        "seconds": {"train": 600.0, "evaluate": 300.0},
        "dataset": {"pairs_in": 100, "train_pairs": 60, "seen_pairs": 40, "unanswerable_pairs": 10},
        "eval": eval_metrics(0.7, -0.01),
        "targets": [{"target": "seen adapter key_fact_recall >= 0.75", "value": 0.7, "met": False}],
    }
    report = bench.markdown(result, "python -m bench.bench_ufam_gemma --corpus ../ufam")
    assert "| seen (40) | adapter | 0.70 [0.60, 0.80] |" in report
    assert "| unanswerable (10) | adapter | — | — | — | 0.80 |" in report
    assert "train + evaluate 15.0 min" in report and "| 0.70 | **no** |" in report


def test_an_unknown_act_is_named(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    with pytest.raises(SystemExit, match="NOPE.pdf: no such PDF"):
        bench.prepare(tmp_path / "corpus", ["NOPE"], tmp_path / "work", "gemma-3-270m")
