"""A fact and how it is asked: the question in the act's own name, the phrasings of one fact."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.qa.rules.pt_clause import (
    contract,
)
from stages.text.fold import squash_ws
from stages.text.legis.acts import ActName


@dataclass(frozen=True)
class Fact:
    """One answer and the differently worded questions it answers."""

    kind: str
    questions: tuple[str, ...]
    answer: str


# ------------------------------------------------------------------------------------------------- phrasing


def q(text: str) -> str:
    """A question as written: one line, capitalised, ending in '?'."""
    text = re.sub(r"\s+,", ",", squash_ws(text)).rstrip(" ,;:.")
    return text[:1].upper() + text[1:] + "?"


class Asker:
    """Cites the act and the provision: the first phrasing of a fact names the act, the second the provision
    in the act, so the two differ in wording and a reader can find the answer."""

    def __init__(self, act: ActName, where: str, repeated: frozenset[str] = frozenset()) -> None:
        self.act, self.where = act, where
        self.repeated = repeated  # subjects the document has several rules about: asked with their provision

    def two(self, first: str, second: str, kind: str, answer: str, names_act: bool = False) -> Fact:
        """`first` + ", segundo a Lei ..." (unless it `names_act` already), and "Segundo o Art. 7º da Lei ..., "
        + `second`."""
        first = first if names_act else f"{first}, {self.act.per}"
        return Fact(kind, (q(first), q(f"segundo {self.where} {self.act.of}, {second}")), answer)

    def where_in(self) -> str:  # "no Art. 7º da Resolução nº 023/2017"
        return f"{contract('em', self.where)} {self.act.of}"


def where_of_item(name: str, where: str) -> str:
    """'o inciso II do Art. 7º', 'a alínea b do § 1º do Art. 7º'."""
    return f"{'a' if name.startswith('alínea') else 'o'} {name} {contract('de', where)}"
