"""Just enough Portuguese for question templates: where a legal sentence's subject ends and its verb begins,
and the morphology a question needs (future -> present, participle -> present, "de" + article -> "do").

Legal Portuguese states rules in a few shapes: "O aluno poderá requerer ...", "Os calendários serão aprovados
pelos colegiados", "No caso de ..., o usuário ...". `parse_clause` reads the first two; qa_rules handles the
impersonal ones itself. Pure functions on strings; no legislation grammar here (that is stages/text/legis/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.text.fold import squash_ws

DETERMINERS = frozenset(
    "o a os as cada todo toda todos todas nenhum nenhuma qualquer este esta estes estas esse essa tal um uma".split()
)
_PLURAL_DETERMINERS = frozenset("os as todos todas estes estas".split())
_FINITE_WORDS = frozenset(
    "é são será serão está estão estará estarão fica ficam ficará ficarão tem têm terá terão pode podem poderá "
    "poderão deve devem deverá deverão cabe cabem caberá compete competirá há haverá constitui constituem "
    "compreende compreendem consiste consistem integra integram abrange abrangem inclui incluem envolve envolvem "
    "obedece obedecem depende dependem corresponde correspondem implica implicam visa visam destina-se "
    "destinam-se aplica-se aplicam-se rege-se regem-se funciona funcionam ocorre ocorrem equivale equivalem "
    "responde respondem goza gozam possui possuem exige exigem permite permitem".split()
)
_PLURAL_VERBS = frozenset(
    "são serão estão estarão ficam ficarão têm terão podem poderão devem deverão cabem constituem compreendem "
    "consistem integram abrangem incluem envolvem obedecem dependem correspondem implicam visam".split()
)
_FUTURE = re.compile(r"^[a-zà-ú]{2,}(?:-se-)?(?:rá|rão)$|^[a-zà-ú]+-se-(?:á|ão)$")
FUTURE_TO_PRESENT = {
    "poderá": "pode", "poderão": "podem", "deverá": "deve", "deverão": "devem", "será": "é", "serão": "são",
    "terá": "tem", "terão": "têm", "ficará": "fica", "ficarão": "ficam", "caberá": "cabe", "competirá": "compete",
    "estará": "está", "estarão": "estão", "haverá": "há",
}  # fmt: skip
SUBJUNCTIVE = {
    "é": "seja",
    "são": "sejam",
    "pode": "possa",
    "podem": "possam",
    "deve": "deva",
    "devem": "devam",
}
_ADVERBS = frozenset("não só somente também apenas ainda".split())
_PARTICIPLE_IRREGULAR = {
    "eleito": "elege", "feito": "faz", "posto": "põe", "proposto": "propõe", "aberto": "abre",
    "composto": "compõe", "disposto": "dispõe", "imposto": "impõe", "previsto": "prevê",
}  # fmt: skip
# Words ending like infinitives (-ar, -er, -ir) that are adjectives or nouns in legal text.
_NOT_INFINITIVES = frozenset(
    "escolar regular curricular disciplinar particular familiar militar titular similar popular complementar "
    "elementar preliminar singular modular circular nuclear lugar mar par lar bar auxiliar superior inferior "
    "anterior posterior exterior interior maior menor melhor pior mulher dever poder prazer".split()
)
# A sentence may open with an adjunct before its subject: "No Distrito Federal, as instituições ..."
_ADJUNCT_START = re.compile(
    r"^(?:No|Na|Nos|Nas|Para|Em|Após|Durante|Antes|Depois|Quando|Desde|De acordo|Nos termos|Sem prejuízo|Além|"
    r"Observad[oa]s?|Respeitad[oa]s?|Ressalvad[oa]s?|Excepcionalmente|Anualmente|Semestralmente)\b"
)
_GENDER_MARK = re.compile(r"\s?\((?:a|as|o|os|s|es|ões|ns)\)")  # "o (a) aluno (a)"
_LABEL_O = re.compile(r"^o\s+(?=[A-ZÀ-Ý])")  # "Art. 4 o O Conselho": the label's º read as a separate "o"
# "os títulos referidos neste artigo", "as normas desta Resolução": the question names the act anyway.
_REFERENCE = re.compile(
    r"\s+(?:(?:referid|previst|mencionad|enumerad|citad)[oa]s?\s+)?(?:n|d)?(?:est|ess)[ea]s?\s+(?:artigo|"
    r"Resolução|Portaria|Lei|Decreto|Regimento|Decisão|Instrução|parágrafo|inciso|Regulamento|Estatuto|"
    r"capítulo|seção)\b"
)
# Comma-set adjuncts dropped from a clause a question quotes: ", na condição de estudante, simultaneamente,"
_ADJUNCT_SEGMENT = re.compile(
    r"^(?:n[oa]s?|em|de|d[oa]s?|pel[oa]s?|para|por|com|sem|sob|inclusive|ainda|conforme|observad|[a-zà-ú]+mente)\b"
)


@dataclass(frozen=True)
class Clause:
    """A declarative sentence read as adjunct, subject, verb group and rest."""

    adjunct: str  # "No Distrito Federal" ("" when none)
    subject: str  # "os diplomas de cursos de educação profissional" (determiner in lower case)
    verb: str  # "terão", "deverá ser", "não poderá", "só será"
    rest: str  # what follows the verb group

    @property
    def plural(self) -> bool:
        """Number agreement follows the verb (a compound subject cut at its comma is still plural)."""
        last = next((w for w in reversed(self.verb.split()) if w not in ("ser", "estar", "haver")), "")
        return last in _PLURAL_VERBS or (
            last not in _FINITE_WORDS and self.subject.split()[0] in _PLURAL_DETERMINERS
        )

    @property
    def feminine(self) -> bool:
        return self.subject.split()[0] in (
            "a",
            "as",
            "toda",
            "todas",
            "esta",
            "estas",
            "essa",
            "nenhuma",
            "uma",
        )

    @property
    def present(self) -> str:
        """The verb group in the present: 'deverá ser' -> 'deve ser', 'serão' -> 'são'."""
        return " ".join(FUTURE_TO_PRESENT.get(w, w) for w in self.verb.split())


def is_finite(word: str) -> bool:
    w = word.lower().strip(",;:.")
    return w in _FINITE_WORDS or bool(_FUTURE.match(w))


def is_infinitive(word: str) -> bool:
    """'requerer', 'candidatar-se', 'propor'; not 'escolar' or 'superior'."""
    w = word.lower().strip(",;:.")
    if w in _NOT_INFINITIVES:
        return False
    w = w.split("-")[0]
    return len(w) >= 4 and w.isalpha() and (w.endswith(("ar", "er", "ir")) or w.endswith(("por", "pôr")))


def tidy(text: str) -> str:
    """Text as a question quotes it: one line, no gender marks ('o (a) aluno'), no OCR specks or stray label
    'o' before the first word."""
    text = re.sub(r"^[^\wÀ-ú(\"“]+", "", squash_ws(text))
    return _LABEL_O.sub("", _GENDER_MARK.sub("", text))


def lower_first(text: str) -> str:
    """'O aluno' -> 'o aluno'; a proper name ('Conselho Universitário', 'UFAM') keeps its case."""
    first, _, rest = text.partition(" ")
    low = first.lower()
    if low in DETERMINERS or low in (
        "ao",
        "aos",
        "à",
        "às",
        "caso",
        "se",
        "quando",
        "havendo",
        "no",
        "na",
        "nos",
        "nas",
        "em",
    ):
        return f"{low} {rest}".strip()
    return text


_CONTRACTIONS = {
    "de": {"o": "do", "a": "da", "os": "dos", "as": "das", "um": "de um", "uma": "de uma"},
    "a": {"o": "ao", "a": "à", "os": "aos", "as": "às"},
    "em": {"o": "no", "a": "na", "os": "nos", "as": "nas", "um": "num", "uma": "numa"},
    "por": {"o": "pelo", "a": "pela", "os": "pelos", "as": "pelas"},
}


def contract(prep: str, np: str) -> str:
    """'de' + 'o aluno' -> 'do aluno'; 'a' + 'os alunos' -> 'aos alunos'; 'em' + 'a Lei' -> 'na Lei'."""
    first, _, rest = np.partition(" ")
    table = _CONTRACTIONS[prep]
    return f"{table[first]} {rest}" if first in table else f"{prep} {np}"


def future_to_present(verb: str) -> str:
    """'apresentará' -> 'apresenta', 'receberão' -> 'recebem', 'cumprirá' -> 'cumpre' ('' if not a future)."""
    if verb in FUTURE_TO_PRESENT:
        return FUTURE_TO_PRESENT[verb]
    if m := re.fullmatch(r"([a-zà-ú]{2,})([aei])r(á|ão)", verb):
        stem, vowel, ending = m.groups()
        present = stem + ("a" if vowel == "a" else "e")
        return present + ("m" if ending == "ão" else "")
    return ""


def participle_to_present(participle: str) -> str:
    """'aprovados' -> 'aprova', 'decidido' -> 'decide', 'instituída' -> 'institui', 'eleito' -> 'elege'."""
    base = re.sub(r"[oa]s?$", "o", participle.lower())
    if base in _PARTICIPLE_IRREGULAR:
        return _PARTICIPLE_IRREGULAR[base]
    if base.endswith("uído"):
        return base[:-4] + "ui"
    if base.endswith("ado"):
        stem = base[:-3]
        return stem + ("ia" if stem.endswith("e") else "a")
    if base.endswith("ido"):
        return base[:-3] + "e"
    return base


def agree(adjective: str, feminine: bool, plural: bool) -> str:
    """'obrigado' for 'a educação escolar' -> 'obrigada'; for 'os cursos' -> 'obrigados'."""
    stem = adjective[:-1]
    return stem + ("a" if feminine else "o") + ("s" if plural else "")


def first_clause(text: str, limit: int = 12) -> str:
    """The text up to its first comma, semicolon, colon, parenthesis or dash, if at most `limit` words."""
    clause = re.split(r"[,;:]| \(| – | - ", tidy(text), maxsplit=1)[0].strip().rstrip(".")
    return clause if 0 < len(clause.split()) <= limit else ""


def compact(text: str, limit: int = 16) -> str:
    """The text without the comma-set adjuncts in its middle: 'uma mesma pessoa ocupar, na condição de
    estudante, simultaneamente, 2 (duas) vagas, ...' -> 'uma mesma pessoa ocupar 2 (duas) vagas'."""
    segments = [seg.strip() for seg in re.split(r"[,;:]", tidy(text))]
    out = [segments[0]]
    for seg in segments[1:]:
        if seg and not _ADJUNCT_SEGMENT.match(seg):
            out.append(seg)
            break
    words = " ".join(out).rstrip(".").split()
    return " ".join(words) if 0 < len(words) <= limit else ""


def parse_clause(sentence: str, max_subject_words: int = 14) -> Clause | None:
    """Subject, verb group and rest of a sentence that starts with its subject (after an optional adjunct
    ending in a comma); None when the sentence is not shaped so."""
    s = tidy(sentence).rstrip(".;")
    adjunct = ""
    if _ADJUNCT_START.match(s) and "," in s[:160]:
        adjunct, _, s = s.partition(",")
        s = s.strip()
    words = s.split()
    if not words or words[0].lower() not in DETERMINERS:
        return None
    depth, verb_start = 0, -1
    for i, word in enumerate(words[1 : max_subject_words + 9], 1):
        if depth == 0 and (
            is_finite(word) or (word.lower() in _ADVERBS and i + 1 < len(words) and is_finite(words[i + 1]))
        ):
            verb_start = i
            break
        depth += word.count("(") - word.count(")")
    if verb_start < 0:
        return None
    verb, j = [words[verb_start]], verb_start + 1
    if words[verb_start].lower() in _ADVERBS:
        verb.append(words[j])
        j += 1
    if j < len(words) and words[j] in ("ser", "estar", "haver"):
        verb.append(words[j])
        j += 1
    subject = " ".join(words[:verb_start])
    if "," in subject:  # "Os diplomas ..., quando registrados, terão": keep the head, drop the aside
        head, _, tail = subject.partition(",")
        if not tail.rstrip().endswith(","):
            return None
        subject = head
    subject = _REFERENCE.sub("", subject)
    if not 2 <= len(subject.split()) <= max_subject_words or " que " in f" {subject} ":
        return None
    return Clause(adjunct, lower_first(subject), " ".join(verb).lower(), " ".join(words[j:]))
