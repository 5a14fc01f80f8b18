"""A fact and how it is asked: the answer's span, the cores of its questions, the act and the provision.

A core is a question without its act: "qual o prazo para o discente solicitar a revisão da avaliação". Where
the act sits inside the wording ("quando {ato} entra em vigor", "o que estabelece o Art. 7º {do_ato}"), the
core holds ACT's slots, filled by each phrasing with one of the act's names (stages/qa/rules/phrasings.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.qa.rules.pt_clause import (
    contract,
    lower_lead,
    noun_phrases,
)
from stages.records.pairs import UNANSWERABLE
from stages.text.fold import squash_ws
from stages.text.legis.acts import ActName

UNANSWERABLE_KIND = UNANSWERABLE  # a question the corpus does not answer (stages/qa/rules/unanswerable.py)


class ActSlot:
    """Where a core names its act; the names are filled in per phrasing."""

    the = "{ato}"  # "a Resolução nº 023/2017"
    of = "{do_ato}"  # "da Resolução nº 023/2017"
    in_ = "{no_ato}"  # "na Resolução nº 023/2017"
    per = "segundo {ato}"


ACT = ActSlot()


@dataclass(frozen=True)
class Fact:
    """One answer (the smallest span of the text that answers) and the cores of the questions it answers."""

    kind: str
    cores: tuple[str, ...]  # each a question without "?", lead in lower case; ACT's slots where the act sits
    answer: str
    act: ActName | None = None  # None: a question about no act of the corpus (another institution's rules)
    where: str = ""  # "o Art. 7º", "o § 1º do Art. 7º" ("" for the act as a whole)
    reversible: bool = True  # may be asked without its act ("Que norma diz …?"): no other act answers it
    spares: tuple[str, ...] = ()  # cores by what the answer names, for when every other core cites a number


# ------------------------------------------------------------------------------------------------- phrasing


def q(text: str) -> str:
    """A question as written: one line, capitalised, ending in '?'."""
    text = re.sub(r"\s+,", ",", squash_ws(text)).rstrip(" ,;:.")
    return text[:1].upper() + text[1:] + "?"


def core(text: str) -> str:
    """A core as stored: one line, no closing punctuation, its lead in lower case unless a proper name."""
    return lower_lead(re.sub(r"\s+,", ",", squash_ws(text)).rstrip(" ,;:.?"))


class Asker:
    """Builds the facts of one provision: its cores, its act and where it sits."""

    def __init__(
        self, act: ActName, where: str, repeated: frozenset[str] = frozenset(), context: str | None = None
    ) -> None:
        self.name, self.where = act, where
        self.act = ACT  # questions name the act through its slots
        self.repeated = repeated  # subjects the document has several rules about: asked with their provision
        self.context = context  # an inciso's: what its list's lead is about ("os limites de empréstimo", "")

    def two(self, first: str, second: str, kind: str, answer: str) -> Fact:
        """A fact asked by two cores."""
        return self.fact(kind, (first, second), answer)

    def fact(self, kind: str, cores: tuple[str, ...], answer: str) -> Fact:
        topics = noun_phrases(answer) + ([self.context] if self.context else [])
        spares = tuple(core(f"o que {self.act.the} diz sobre {topic}") for topic in topics)
        return Fact(
            kind, tuple(core(c) for c in cores if c.strip()), answer, self.name, self.where, spares=spares
        )

    def where_in(self) -> str:  # "no Art. 7º {do_ato}"
        return f"{contract('em', self.where)} {self.act.of}"


def where_of_item(name: str, where: str) -> str:
    """'o inciso II do Art. 7º', 'a alínea b do § 1º do Art. 7º'."""
    return f"{'a' if name.startswith('alínea') else 'o'} {name} {contract('de', where)}"
