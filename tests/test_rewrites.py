"""Passage rewrites: every paragraph kept once, article heads first and named with the act, list items with
their lead, headings in place, distinct rewrites only."""

from __future__ import annotations

from collections import Counter

from stages.model.rewrites import passage_rewrites, rewrite

TEXT = """CAPÍTULO I
DA MONITORIA

Art. 1º Monitoria é a atividade de apoio ao ensino.

Art. 2º São deveres do monitor:

I - auxiliar o professor nas aulas práticas;

II - entregar relatório semestral.

§ 1º O monitor cumpre 12 (doze) horas semanais.

§ 2º A bolsa é paga por 4 (quatro) meses.

§ 3º O relatório é entregue à coordenação.

CAPÍTULO II
DISPOSIÇÕES FINAIS

Art. 3º Esta Resolução entra em vigor na data de sua publicação."""
ACT = "Resolução nº 4/2024"


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def test_rewrites_keep_every_paragraph_and_name_the_act_at_each_article() -> None:
    found = passage_rewrites(TEXT, ACT, 4, seed=13)
    assert len(found) == 4 and len(set(found)) == 4 and TEXT not in found
    original = Counter(paragraphs(TEXT))
    for text in found:
        ps = paragraphs(text)
        assert Counter(p.removeprefix(f"{ACT}, ") for p in ps) == original
        assert [p for p in ps if p.startswith(ACT)] == [
            f"{ACT}, Art. 1º Monitoria é a atividade de apoio ao ensino.",
            f"{ACT}, Art. 2º São deveres do monitor:",
            f"{ACT}, Art. 3º Esta Resolução entra em vigor na data de sua publicação.",
        ]
        assert ps[:2] == ["CAPÍTULO I\nDA MONITORIA", ps[1]] and ps[-2] == "CAPÍTULO II\nDISPOSIÇÕES FINAIS"
        lead = ps.index(f"{ACT}, Art. 2º São deveres do monitor:")
        assert ps[lead + 1 : lead + 3] == [
            "I - auxiliar o professor nas aulas práticas;",
            "II - entregar relatório semestral.",
        ]
    assert found[0] == rewrite(TEXT, ACT, None)  # the first only names the act: the text's order
    assert passage_rewrites(TEXT, ACT, 4, seed=13) == found


def test_little_to_reorder_gives_fewer_rewrites() -> None:
    text = "Art. 1º Monitoria é a atividade de apoio ao ensino.\n\nArt. 2º A bolsa é mensal."
    assert passage_rewrites(text, ACT, 3, seed=1) == [
        f"{ACT}, Art. 1º Monitoria é a atividade de apoio ao ensino.\n\n{ACT}, Art. 2º A bolsa é mensal."
    ]
    assert passage_rewrites(text, "", 3, seed=1) == []  # no act to name, nothing to reorder: the text itself


def test_the_train_stage_adds_rewrites_of_the_training_chunks_only(tmp_path, monkeypatch) -> None:
    from stages import train
    from stages.core.files import write_jsonl
    from stages.records.base import to_dict
    from stages.records.chunks import Chunk
    from stages.records.pairs import SplitPair

    title = "RESOLUÇÃO Nº 4, DE 1º DE ABRIL DE 2024"
    chunks = [Chunk(f"c{i}", "res", i, f"{title}\n\n{TEXT}", 90, ["Art. 1º"], title, 0) for i in range(2)]
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data/chunks/chunks.jsonl", (to_dict(c) for c in chunks))
    pair = SplitPair("p", "Quem é monitor?", "O estudante.", "c0", "res", [], "rules", "")
    assert len(train.training_passages([pair])) == 1
    with_rewrites = train.training_passages([pair], rewrites=2, seed=13)
    assert len(with_rewrites) == 3 and with_rewrites[0] == chunks[0].text
    assert all("Resolução nº 4/2024, Art. 2º" in text for text in with_rewrites[1:])
