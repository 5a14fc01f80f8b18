"""The chunker: structure, limits, overlap, labels, determinism; property tests on generated legislation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stages.chunk import run
from stages.core.params import ParamsError, build_params
from stages.text.chunking import ChunkParams, chunk_document, make_token_counter, parse_units
from stages.text.fold import squash_ws
from stages.text.legis.grammar import article_label
from stages.text.legis.sentences import split_sentences
from stages.text.tokens import approx_token_count

count = approx_token_count

DOC = """RESOLUÇÃO Nº 12, DE 15 DE MARÇO DE 2024

Dispõe sobre a avaliação da aprendizagem nos cursos de graduação.

RESOLVE:

CAPÍTULO I
DAS DISPOSIÇÕES GERAIS

Art. 1º Esta Resolução estabelece as normas de avaliação da aprendizagem aplicáveis a todos os cursos.

Art. 2º Considera-se avaliação o processo contínuo de acompanhamento do desempenho do estudante.

Parágrafo único. São instrumentos de avaliação, entre outros:
I - provas escritas, orais ou práticas;
II - trabalhos individuais ou em grupo.

CAPÍTULO II
DA APROVAÇÃO

Art. 10. Será aprovado o estudante com média igual ou superior a 7,0 (sete), conforme o art. 2º.

Art. 11-A. Os casos omissos serão resolvidos pela Pró-Reitoria de Graduação.
"""


def content(record: dict) -> str:
    return record.text[record.overlap_chars :]


# --- labels and structure -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "label"),
    [("Art. 7º O prazo", "Art. 7º"), ("Art. 7° O prazo", "Art. 7º"), ("Art 7o O prazo", "Art. 7º"),
     ("Art. 10. O prazo", "Art. 10"), ("Art. 10 O prazo", "Art. 10"), ("Art. 1º-A Fica", "Art. 1º-A"),
     ("Artigo 3º Fica", "Art. 3º"), ("Art.125. Fica", "Art. 125"), ("Artes plásticas", None),
     ("conforme o art. 5º", None), ("§ 1º O plano", None)],
)  # fmt: skip
def test_article_labels(line: str, label: str | None) -> None:
    assert article_label(line) == label


def test_units_title_block_then_articles_with_their_headings() -> None:
    units = parse_units(DOC)
    assert [u[0].text[:12] for u in units] == [
        "RESOLUÇÃO Nº",
        "CAPÍTULO I",
        "Art. 2º Cons",
        "CAPÍTULO II",
        "Art. 11-A. O",
    ]
    assert [u[-1].article for u in units] == [None, "Art. 1º", "Art. 2º", "Art. 10", "Art. 11-A"]
    assert [a.sep for a in units[2]] == ["\n\n", "\n\n", "\n", "\n"]


def test_whole_document_in_one_chunk_when_it_fits() -> None:
    (only,) = chunk_document("res", DOC, ChunkParams(max_tokens=2000), count)
    assert only.text == DOC.strip()
    assert only.articles == [
        "Art. 1º",
        "Art. 2º",
        "Art. 10",
        "Art. 11-A",
    ]  # "art. 2º" in Art. 10 is a mention
    assert only.index == 0 and only.overlap_chars == 0 and only.n_tokens == count(DOC.strip())
    assert only.title == "RESOLUÇÃO Nº 12, DE 15 DE MARÇO DE 2024"


def test_chunks_break_at_articles_and_keep_headings_with_the_next_article() -> None:
    chunks = chunk_document("res", DOC, ChunkParams(max_tokens=100, overlap=0), count)
    assert all(c.n_tokens <= 100 for c in chunks)
    assert chunks[0].text.startswith("RESOLUÇÃO Nº 12")  # title with the first chunk
    for c in chunks[1:]:
        assert re.match(r"(Art\. |CAPÍTULO |Parágrafo único)", c.text), c.text[:40]
        assert not c.text.rstrip().endswith(("CAPÍTULO I", "CAPÍTULO II", "GERAIS", "APROVAÇÃO"))
    assert squash_ws(" ".join(map(content, chunks))) == squash_ws(DOC)


def test_title_kept_with_the_first_article() -> None:
    head, rest = DOC.split("Art. 2º")
    caput = head + "Art. 2º" + rest.split("\n\n")[0]
    text = caput + "\n\n§ 1º Um parágrafo longo " + "com muitas palavras " * 20 + ".\n\n" + "Art. 3º Fim."
    chunks = chunk_document("res", text, ChunkParams(max_tokens=count(caput) + 3, overlap=0), count)
    assert chunks[0].text == caput.strip()  # title, Art. 1º and Art. 2º's caput; Art. 2º's § goes on
    assert chunks[1].text.startswith("§ 1º")


def _long_article(n_paragraphs: int, words: int) -> str:
    body = " ".join(f"palavra{i}" for i in range(words))
    paras = [f"Art. 5º O caput do artigo tem {body}."]
    paras += [f"§ {k}º O parágrafo {k} traz {body} e termina aqui." for k in range(1, n_paragraphs + 1)]
    return "\n\n".join(paras)


def test_oversized_article_splits_at_paragraphs_before_sentences() -> None:
    text = _long_article(3, 30)
    limit = count(text.split("\n\n")[1]) + 5  # each § fits alone, two do not
    chunks = chunk_document("d", text, ChunkParams(max_tokens=limit, overlap=0), count)
    assert [c.text[:4] for c in chunks] == ["Art.", "§ 1º", "§ 2º", "§ 3º"]
    assert all(c.articles == ["Art. 5º"] for c in chunks)


def test_oversized_paragraph_splits_at_sentences_then_words_never_inside_a_word() -> None:
    sentences = [f"Frase {k} com " + " ".join(f"termo{k}x{i}" for i in range(12)) + "." for k in range(6)]
    text = "Art. 8º " + " ".join(sentences)
    chunks = chunk_document("d", text, ChunkParams(max_tokens=count(sentences[0]) + 12, overlap=0), count)
    assert len(chunks) > 1
    for c in chunks[1:]:
        assert c.text.startswith("Frase "), c.text[:30]  # sentence boundaries
    words = set(text.split())
    small = chunk_document("d", text, ChunkParams(max_tokens=20, overlap=5), count)
    for c in small:
        assert c.n_tokens <= 20
        assert set(c.text.split()) <= words  # only whole words


def test_overlap_is_whole_trailing_sentences_within_the_limit() -> None:
    paras = [f"Art. {k}º Primeira frase do artigo {k}. Segunda frase curta {k}." for k in range(1, 9)]
    text = "\n\n".join(paras)
    p = ChunkParams(max_tokens=45, overlap=12)
    chunks = chunk_document("d", text, p, count)
    assert len(chunks) > 2
    assert chunks[0].overlap_chars == 0
    for prev, cur in zip(chunks, chunks[1:], strict=False):
        assert cur.n_tokens <= p.max_tokens
        overlap = cur.text[: cur.overlap_chars].strip()
        if overlap:
            assert content(prev).endswith(overlap)
            assert count(overlap) <= p.overlap
            assert split_sentences(overlap)[0] in split_sentences(content(prev))  # starts at a sentence
    assert any(c.overlap_chars for c in chunks)


def test_ids_stable_unique_and_depend_on_doc_and_text() -> None:
    p = ChunkParams(max_tokens=60, overlap=10)
    a = chunk_document("res", DOC, p, count)
    assert a == chunk_document("res", DOC, p, count)
    assert len({c.id for c in a}) == len(a)
    b = chunk_document("outra", DOC, p, count)
    assert not {c.id for c in a} & {c.id for c in b}
    same = "Art. 1º Igual a outro artigo igual."
    repeated = chunk_document(
        "d", f"{same}\n\n{same}", ChunkParams(max_tokens=count(same) + 1, overlap=0), count
    )
    assert len({c.id for c in repeated}) == len(repeated) == 2


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document("d", "", ChunkParams(), count) == []
    assert chunk_document("d", "\n\n  \n", ChunkParams(), count) == []


def test_params_checked() -> None:
    with pytest.raises(ParamsError, match="max_tokens must be >= 16.*overlap must be in"):
        build_params("chunk", ChunkParams, {"max_tokens": 8, "overlap": 9})
    with pytest.raises(ParamsError, match="overlap must be in"):
        build_params("chunk", ChunkParams, {"max_tokens": 100, "overlap": 60})


# --- the approximate counter --------------------------------------------------------------------


def test_approximate_counter_counts_digits_and_punctuation() -> None:
    assert count("") == 0
    assert count("R$ 1.500,00") == count("R") + count("$") + 8  # one per digit and mark
    assert count("avaliação") >= count("avaliacao")  # accents cost extra
    assert count("a b c") == 3


# --- property tests -----------------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijlmnopqrstuvxzáéíóúâêôãõç", min_size=1, max_size=14)
SENTENCE = st.lists(WORD, min_size=1, max_size=25).map(lambda ws: " ".join(ws).capitalize() + ".")
PARA_BODY = st.lists(SENTENCE, min_size=1, max_size=6).map(" ".join)


@st.composite
def legislation(draw: st.DrawFn) -> str:
    blocks = [draw(SENTENCE).upper().rstrip(".")]  # title
    article = 0
    for kind in draw(
        st.lists(st.sampled_from(["art", "art", "par", "incisos", "chapter", "plain"]), max_size=14)
    ):
        if kind == "chapter":
            blocks.append(f"CAPÍTULO {draw(st.sampled_from(['I', 'II', 'IV']))}\nDAS {draw(WORD).upper()}")
        elif kind == "art":
            article += 1
            blocks.append(f"Art. {article}{'º' if article < 10 else '.'} {draw(PARA_BODY)}")
        elif kind == "par":
            blocks.append(f"§ {draw(st.integers(1, 9))}º {draw(PARA_BODY)}")
        elif kind == "incisos":
            items = draw(st.lists(SENTENCE, min_size=1, max_size=5))
            blocks.append(
                f"Art. {article + 1}º Lista:\n"
                + "\n".join(f"{r} - {s}" for r, s in zip(["I", "II", "III", "IV", "V"], items, strict=False))
            )
            article += 1
        else:
            blocks.append(draw(PARA_BODY))
    return "\n\n".join(blocks) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=legislation(), max_tokens=st.integers(24, 400), overlap_share=st.floats(0, 0.5))
def test_chunker_properties(text: str, max_tokens: int, overlap_share: float) -> None:
    p = ChunkParams(max_tokens=max_tokens, overlap=int(overlap_share * max_tokens))
    chunks = chunk_document("doc", text, p, count)
    # nothing over the limit (overlap included), and the count is the real count of the text
    assert all(c.n_tokens == count(c.text) <= max_tokens for c in chunks)
    # no text lost or duplicated, modulo whitespace and the overlap
    assert squash_ws(" ".join(content(c) for c in chunks)) == squash_ws(text)
    # no word split: every chunk is made of the document's whole words
    words = set(text.split())
    assert all(set(c.text.split()) <= words for c in chunks)
    # overlap repeats the end of the previous chunk
    for prev, cur in zip(chunks, chunks[1:], strict=False):
        assert content(prev).endswith(cur.text[: cur.overlap_chars].strip())
    # the title is in the first chunk; indexes in order; deterministic
    assert not chunks or chunks[0].text.startswith(text.split("\n")[0][:20])
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunk_document("doc", text, p, count) == chunks
    # labels: exactly the articles whose text is in the chunk's own content
    for c in chunks:
        for label in c.articles:
            assert label in {article_label(line) for line in text.split("\n")}


# --- a real Hugging Face tokenizer --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level BPE (vocab 400) trained on the test document, saved as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([DOC] * 3, trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>"]))
    out = tmp_path_factory.mktemp("tokenizer")
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>").save_pretrained(out)
    return out


def test_hf_tokenizer_counts_and_limits(tiny_tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    counter = make_token_counter(str(tiny_tokenizer_dir))
    reference = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir), local_files_only=True)
    assert counter("Art. 1º Esta Resolução") == len(
        reference.encode("Art. 1º Esta Resolução", add_special_tokens=False)
    )
    chunks = chunk_document("res", DOC, ChunkParams(max_tokens=60, overlap=15), counter)
    assert len(chunks) > 1
    assert all(c.n_tokens == counter(c.text) <= 60 for c in chunks)
    assert squash_ws(" ".join(map(content, chunks))) == squash_ws(DOC)


def test_missing_or_broken_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="chunk.tokenizer: .*nope is not a directory"):
        make_token_counter(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParamsError, match="cannot load a tokenizer"):
        make_token_counter(str(tmp_path / "empty"))


# --- the stage's I/O ----------------------------------------------------------------------------


def test_run_writes_sorted_byte_identical_jsonl_and_metrics(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "b_res.txt").write_text(DOC, encoding="utf-8")
    (clean / "a_outra.txt").write_text("PORTARIA Nº 1\n\nArt. 1º Única regra.\n", encoding="utf-8")
    out, metrics_file = tmp_path / "chunks/chunks.jsonl", tmp_path / "metrics/chunk.json"
    p = ChunkParams(max_tokens=80, overlap=10)
    metrics = run(clean, out, metrics_file, p)
    first = out.read_bytes()
    records = [json.loads(line) for line in first.decode("utf-8").splitlines()]
    assert [r["doc"] for r in records][0] == "a_outra" and {r["doc"] for r in records} == {"a_outra", "b_res"}
    assert list(records[0])[:6] == ["id", "doc", "index", "text", "n_tokens", "articles"]
    assert metrics["chunks"] == len(records) and metrics["documents"] == 2
    assert metrics["tokens_max"] == max(r["n_tokens"] for r in records) <= 80
    assert metrics["per_document"]["a_outra"] == {"chunks": 1, "tokens": records[0]["n_tokens"]}
    assert json.loads(metrics_file.read_text(encoding="utf-8")) == metrics
    run(clean, out, metrics_file, p)
    assert out.read_bytes() == first
