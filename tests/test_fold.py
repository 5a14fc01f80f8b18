"""fold and strip_accents drop exactly the characters unicodedata.combining names, whatever the script."""

from __future__ import annotations

import random
import unicodedata

from stages.text.fold import fold, strip_accents


def reference_fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def reference_strip(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def test_every_character_of_the_first_three_planes() -> None:
    text = "".join(chr(i) for i in range(0x20, 0x30000) if not 0xD800 <= i < 0xE000)
    assert fold(text) == reference_fold(text) and strip_accents(text) == reference_strip(text)


def test_random_mixes_of_portuguese_and_other_marks() -> None:
    rng = random.Random(7)
    alphabet = "aáàâãéêíóôõúüçÇÁÉ ºª§ﬁ\u0301\u0327\u034f\u0360\u20d7abcXYZ12.,;–\u200b😀ᾅ한ǅ"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert fold(text) == reference_fold(text), text
        assert strip_accents(text) == reference_strip(text), text
    assert fold("Nº Único ÓRGÃO") == "no unico orgao" and strip_accents("Órgãos") == "Orgaos"
