"""Dataset split: grouped by chunk, near-duplicate questions on one side, deterministic, bad records counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_qa_records, sample_texts
from rapidfuzz import fuzz

from stages import dataset as ds
from stages.core.params import ParamsError, build_params
from stages.core.run import MissingInputError
from stages.records.base import from_dict, to_dict
from stages.records.pairs import QAPair
from stages.text.fold import question_key


def _rec(i: int, chunk: str, question: str, answer: str = "Resposta qualquer.") -> dict:
    pair = QAPair(f"q{i}", question, f"{answer} {i}", chunk, "doc", [], "test", "")
    return to_dict(pair)


def _pairs(records: list[dict]) -> list[QAPair]:
    return [from_dict(QAPair, r) for r in records]


def test_no_chunk_on_both_sides_and_fraction_close() -> None:
    records = _pairs(make_qa_records(sample_texts()))
    train, evals, stats = ds.split_records(records, ds.DatasetParams(eval_fraction=0.25, seed=3))
    assert {r.chunk_id for r in train}.isdisjoint({r.chunk_id for r in evals})
    assert len(train) + len(evals) == len(records)
    assert abs(len(evals) / len(records) - 0.25) < 0.1
    assert stats["groups"] >= 10


def _near_dup_records() -> list[QAPair]:
    """Two chunks whose questions are the same up to accents/punctuation, among many unrelated chunks."""
    records = [
        _rec(0, "lei-a#1", "Qual é o prazo de renovação previsto no artigo 5.º?"),
        _rec(1, "lei-b#7", "Qual e o prazo de renovacao previsto no artigo 5º"),
    ]
    topics = ["bolsas", "estágio", "biblioteca", "avaliação", "matrícula", "diplomas", "férias", "multas"]
    for i, topic in enumerate(topics * 3, start=2):
        records.append(_rec(i, f"outro#{i}", f"Quem decide sobre {topic} no caso {i}?"))
    return _pairs(records)


def test_near_duplicate_questions_never_straddle() -> None:
    records = _near_dup_records()
    straddled_without_linking = 0
    for seed in range(30):
        train, evals, stats = ds.split_records(records, ds.DatasetParams(eval_fraction=0.3, seed=seed))
        sides = {r.id: ("eval" if r in evals else "train") for r in records}
        assert sides["q0"] == sides["q1"], f"seed {seed} split near-duplicates"
        assert stats["near_dup_links"] == 1
        # the same data with matching off (ratio 100 = identical keys only) does split them for some seed
        train2, evals2, _ = ds.split_records(
            records, ds.DatasetParams(eval_fraction=0.3, seed=seed, near_dup_ratio=100)
        )
        straddled_without_linking += (records[0] in evals2) != (records[1] in evals2)
    assert straddled_without_linking > 0


def test_questions_with_different_numbers_are_not_duplicates() -> None:
    records = _pairs([_rec(0, "c1", "O que diz o artigo 5.º?"), _rec(1, "c2", "O que diz o artigo 6.º?")])
    groups, links = ds.group_pairs(records, near_dup_ratio=90)
    assert links == 0 and groups[0] != groups[1]


def test_question_key_folds_case_accents_punctuation() -> None:
    assert ds.question_key("Qual é o PRAZO, afinal?") == ds.question_key("qual e o prazo afinal")


def test_bad_records_are_skipped_and_counted() -> None:
    raw = [_rec(0, "c1", "Pergunta um?"), {"id": "x", "question": "", "answer": "a", "chunk_id": "c2"}]
    raw.append(dict(raw[0]))  # exact duplicate
    raw.append({"id": "y", "answer": "sem pergunta", "chunk_id": "c3"})
    kept, skipped = ds.clean_records(raw)
    assert [r.id for r in kept] == ["q0"]
    assert skipped == {"missing_field": 2, "duplicate": 1}


def test_params_problems_listed_together() -> None:
    with pytest.raises(ParamsError) as e:
        build_params("dataset", ds.DatasetParams, {"eval_fraction": 1.5, "near_dup_ratio": 0})
    assert "eval_fraction" in str(e.value) and "near_dup_ratio" in str(e.value)


def _run_stage(workdir: Path, monkeypatch: pytest.MonkeyPatch, records: list[dict]) -> dict[str, bytes]:
    (workdir / "data/qa").mkdir(parents=True, exist_ok=True)
    (workdir / "data/qa/qa.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    )
    (workdir / "params.yaml").write_text("dataset:\n  eval_fraction: 0.2\n  seed: 13\n")
    monkeypatch.chdir(workdir)
    ds.main()
    return {p: (workdir / p).read_bytes() for p in ("data/dataset/train.jsonl", "data/dataset/eval.jsonl")}


def test_stage_output_is_byte_identical_across_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = make_qa_records(sample_texts())
    first = _run_stage(tmp_path / "a", monkeypatch, records)
    second = _run_stage(tmp_path / "b", monkeypatch, records)
    assert first == second
    assert first["data/dataset/eval.jsonl"].strip()
    metrics = json.loads((tmp_path / "b/metrics/dataset.json").read_text())
    assert metrics["train_pairs"] + metrics["eval_pairs"] == len(records)


def test_single_chunk_cannot_be_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [_rec(i, "only#0", f"Pergunta {i}?") for i in range(5)]
    with pytest.raises(MissingInputError, match="too few for non-empty train and eval"):
        _run_stage(tmp_path, monkeypatch, records)


def _facts_records() -> list[dict]:
    """12 chunks; in each, a fact asked two ways (sharing fact_id) and a fact asked once."""
    out = []
    for c in range(12):
        fact = f"chunk{c}-deadline"
        out.append(
            _phrased(f"{c}a", f"c{c}", f"Qual o prazo do pedido {c} no regulamento?", f"prazo {c}", fact)
        )
        out.append(
            _phrased(
                f"{c}b", f"c{c}", f"Em quantos dias se pede o item {c}, segundo a norma?", f"prazo {c}", fact
            )
        )
        out.append(_phrased(f"{c}c", f"c{c}", f"Quem aprova o caso {c}?", f"o conselho {c}", f"chunk{c}-who"))
    return out


def _phrased(i: str, chunk: str, question: str, answer: str, fact_id: str) -> dict:
    return {**to_dict(QAPair(f"q{i}", question, answer, chunk, "doc", [], "test", "", fact_id))}


def test_seen_holds_one_phrasing_of_trained_facts_and_unseen_whole_chunks() -> None:
    records = [from_dict(QAPair, r) for r in _facts_records()]
    pool, unseen, _ = ds.split_records(records, ds.DatasetParams(eval_fraction=0.25))
    train, seen, stats = ds.hold_out_phrasings(pool, ds.DatasetParams())
    train_chunks = {r.chunk_id for r in train}
    assert unseen and {r.chunk_id for r in unseen}.isdisjoint(train_chunks)
    assert len(seen) == stats["multi_phrasing_facts"] == len(pool) // 3  # one per two-phrasing fact
    for r in seen:
        siblings = [t for t in train if t.fact_id == r.fact_id]
        assert len(siblings) == 1 and siblings[0].question != r.question  # fact trained, wording not
        assert r.chunk_id in train_chunks
    assert not {r.id for r in seen} & {r.id for r in train}
    half = ds.hold_out_phrasings(pool, ds.DatasetParams(seen_fraction=0.5))[1]
    assert len(half) == round(len(seen) / 2)
    assert ds.hold_out_phrasings(pool, ds.DatasetParams(seen_fraction=0.0))[1] == []


def test_without_fact_id_pairs_of_one_chunk_with_the_same_answer_are_one_fact() -> None:
    records = [from_dict(QAPair, {**r, "fact_id": ""}) for r in _facts_records()]
    _, seen, stats = ds.hold_out_phrasings(records, ds.DatasetParams())
    assert stats["facts"] == 24 and stats["multi_phrasing_facts"] == 12 and len(seen) == 12


def test_a_near_duplicate_phrasing_is_not_held_out() -> None:
    a = _phrased("1", "c1", "Qual é o prazo de renovação previsto no artigo 5.º?", "quinze dias", "f")
    b = _phrased("2", "c1", "Qual e o prazo de renovacao previsto no artigo 5º", "quinze dias", "f")
    train, seen, stats = ds.hold_out_phrasings([from_dict(QAPair, r) for r in (a, b)], ds.DatasetParams())
    assert seen == [] and len(train) == 2 and stats["seen_skipped_near_duplicate"] == 1


def test_split_files_carry_sets_and_chat_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stages.model.prompt_format import SYSTEM_PROMPT
    from stages.records.pairs import SplitPair

    out = _run_stage(tmp_path, monkeypatch, _facts_records())
    train = [from_dict(SplitPair, json.loads(line)) for line in out["data/dataset/train.jsonl"].splitlines()]
    evals = [from_dict(SplitPair, json.loads(line)) for line in out["data/dataset/eval.jsonl"].splitlines()]
    assert {r.eval_set for r in train} == {""} and {r.eval_set for r in evals} == {"seen", "unseen"}
    for r in train + evals:
        assert r.messages == [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": r.question},
            {"role": "assistant", "content": r.answer},
        ]
    metrics = json.loads((tmp_path / "metrics/dataset.json").read_text())
    assert metrics["seen_pairs"] == sum(r.eval_set == "seen" for r in evals) > 0
    assert metrics["train_pairs"] + metrics["eval_pairs"] == len(_facts_records())
    # TRL / datasets read the messages column as is
    from datasets import load_dataset

    loaded = load_dataset(
        "json",
        data_files=str(tmp_path / "data/dataset/train.jsonl"),
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert loaded[0]["messages"][2]["role"] == "assistant"


def _with_heldout_and_refusals() -> list[dict]:
    """_facts_records, plus a heldout phrasing of every deadline fact and 10 unanswerable questions (2 phrasings each)."""
    from stages.model.prompt_format import REFUSAL

    out = _facts_records()
    for c in range(12):
        pair = QAPair(
            f"q{c}h",
            f"Você sabe me dizer o prazo {c} do pedido?",
            f"prazo {c}",
            f"c{c}",
            "doc",
            [],
            "test",
            "",
            f"chunk{c}-deadline",
            family="heldout",
        )
        out.append(to_dict(pair))
    for u in range(10):
        for k, question in enumerate((f"Na UFMG, qual o prazo {u}?", f"Qual o prazo {u} na UFMG, afinal?")):
            pair = QAPair(
                f"u{u}{k}",
                question,
                REFUSAL,
                f"c{u}",
                "doc",
                [],
                "test",
                "",
                f"refusal-{u}",
                kind="unanswerable",
            )
            out.append(to_dict(pair))
    return out


def test_heldout_phrasings_are_never_trained_and_refusals_split_by_fact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stages.records.pairs import SplitPair

    records = _with_heldout_and_refusals()
    out = _run_stage(tmp_path, monkeypatch, records)
    train = [from_dict(SplitPair, json.loads(line)) for line in out["data/dataset/train.jsonl"].splitlines()]
    evals = [from_dict(SplitPair, json.loads(line)) for line in out["data/dataset/eval.jsonl"].splitlines()]
    assert not [r for r in train if r.family == "heldout"]
    trained_facts = {r.fact_id for r in train}
    paraphrase = [r for r in evals if r.eval_set == "paraphrase"]
    assert paraphrase and all(r.fact_id in trained_facts and r.family == "heldout" for r in paraphrase)
    # a heldout phrasing of an unseen chunk's fact is an unseen question, not a paraphrase of a trained one
    unseen_chunks = {r.chunk_id for r in evals if r.eval_set == "unseen" and r.family != "heldout"}
    assert all(r.eval_set == "unseen" for r in evals if r.family == "heldout" and r.chunk_id in unseen_chunks)
    refusals_eval = [r for r in evals if r.eval_set == "unanswerable"]
    refusals_train = [r for r in train if r.kind == "unanswerable"]
    assert len({r.fact_id for r in refusals_eval}) == 3 and len({r.fact_id for r in refusals_train}) == 7
    assert not {r.fact_id for r in refusals_eval} & {r.fact_id for r in refusals_train}  # whole facts
    assert all(r.kind != "unanswerable" for r in evals if r.eval_set != "unanswerable")
    metrics = json.loads((tmp_path / "metrics/dataset.json").read_text())
    assert metrics["paraphrase_pairs"] == len(paraphrase) and metrics["unanswerable_pairs"] == 6
    assert metrics["train_pairs"] + metrics["eval_pairs"] == len(records)


def test_questions_that_differ_in_their_subject_are_not_duplicates() -> None:
    frame = "Gostaria de saber o que a Instrução Normativa sobre a realização de estágio obrigatório diz sobre {}?"
    records = _pairs(
        [
            _rec(0, "c1", frame.format("o estagiário")),
            _rec(1, "c2", frame.format("o estágio")),
            _rec(2, "c3", frame.format("o estagiaro")),  # a misspelt copy of the first: one question
        ]
    )
    assert fuzz.ratio(question_key(records[0].question), question_key(records[1].question)) > 90
    groups, links = ds.group_pairs(records, near_dup_ratio=90)
    assert links == 1 and groups[0] == groups[2] != groups[1]


def test_a_group_chained_over_most_chunks_stays_in_training() -> None:
    """The same number-less question asked of many acts chains their chunks into one group holding most pairs:
    for every seed, eval keeps close to its share and that group is trained, counted and named in the stats."""
    records = [
        _rec(i, f"ato-{i}#1", "Quem resolve os casos omissos da norma sobre estágio?") for i in range(60)
    ]
    records += [_rec(100 + i, f"ato-{i}#1", f"Qual o prazo do pedido número {i}?") for i in range(60)]
    records += [_rec(200 + i, f"outro-{i}#2", f"Qual a multa do caso número {i}?") for i in range(40)]
    records = _pairs(records)
    passed_over = 0
    for seed in range(10):
        train, evals, stats = ds.split_records(records, ds.DatasetParams(eval_fraction=0.2, seed=seed))
        assert stats["largest_group_pairs"] == 120
        assert all(r.chunk_id.startswith("outro-") for r in evals)
        assert 0.2 * len(records) <= len(evals) <= 0.3 * len(records)
        passed_over += stats["groups_kept_in_training"]
    assert passed_over > 0, "the chained group never came before eval was full: the test does not test it"
    # two groups, each over the eval share: the smaller one is held out
    two = _pairs([_rec(i, "a#1", f"Qual a regra número {i}?") for i in range(50)])
    two += _pairs([_rec(100 + i, "b#1", f"Qual a multa número {i}?") for i in range(60)])
    train, evals, stats = ds.split_records(two, ds.DatasetParams(eval_fraction=0.2))
    assert {r.chunk_id for r in evals} == {"a#1"} and len(train) == 60
    assert stats["groups_kept_in_training"] == 2
