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
    "anterior posterior exterior interior maior menor melhor pior mulher dever poder prazer lazer domiciliar "
    "exemplar peculiar celular vulgar".split()
)
# Words that never end a well-formed question (a clause cut after them) and never open a proper name.
FUNCTION_WORDS = frozenset(
    "o a os as um uma uns umas de do da dos das em no na nos nas num numa ao à aos às para por pelo pela pelos "
    "pelas com sem sob sobre entre até desde e ou nem que se cujo cuja cujos cujas seu sua seus suas".split()
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

# A segment that opens a new clause ends what a question quotes: ", exceto ...", ", desde que ...", ", quando ..."
_CLAUSE_BOUNDARY = re.compile(r"^(?:exceto|salvo|desde|quando|caso|se|que|ressalvad|sendo|podendo|devendo)\b")


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


def lower_lead(text: str) -> str:
    """A clause taken from the text, its first word in lower case unless it starts a proper name or is an
    acronym: 'Acompanhar as atividades' -> 'acompanhar as atividades', 'O Conselho' -> 'o Conselho';
    'Conselho Universitário', 'Colegiado de Curso', 'UFAM' are kept."""
    words = text.split()
    if not words:
        return text
    first = words[0]
    if not first[:1].isupper() or sum(ch.isupper() for ch in first) > 1:
        return text
    if first.lower() not in DETERMINERS and first.lower() not in FUNCTION_WORDS:
        after = words[1:3]
        if after and (
            after[0][:1].isupper()
            or (after[0] in ("de", "do", "da", "dos", "das") and after[1:2] and after[1][:1].isupper())
        ):
            return text  # a proper name
    return first.lower() + text.lstrip()[len(first) :]


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


def _unspelled(text: str) -> str:
    """'3 (três) vezes' -> '3 vezes': a question quotes the number once."""
    return re.sub(r"(\d)\s*\([^()\d]{2,40}\)", r"\1", text)


def first_clause(text: str, limit: int = 12) -> str:
    """The text up to its first comma, semicolon, colon, parenthesis or dash, if at most `limit` words."""
    clause = re.split(r"[,;:]| \(| – | - ", _unspelled(tidy(text)), maxsplit=1)[0].strip().rstrip(".")
    return lower_lead(clause) if 0 < len(clause.split()) <= limit else ""


def compact(text: str, limit: int = 16) -> str:
    """The text without the comma-set adjuncts in its middle: 'uma mesma pessoa ocupar, na condição de
    estudante, simultaneamente, 2 (duas) vagas, ...' -> 'uma mesma pessoa ocupar 2 (duas) vagas'."""
    segments = [seg.strip() for seg in re.split(r"[,;:]", tidy(text))]
    out = [segments[0]]
    for seg in segments[1:]:
        if _CLAUSE_BOUNDARY.match(seg):
            break
        if seg and not _ADJUNCT_SEGMENT.match(seg):
            out.append(seg)
            break
    words = " ".join(out).rstrip(".").split()
    return lower_lead(" ".join(words)) if 0 < len(words) <= limit else ""


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


# A noun phrase a question can be about: "o termo de compromisso", "as áreas verdes", "a bolsa de monitoria".
_NOUN_PHRASE = re.compile(
    r"(?<![\w-])(?:[DdNn]|[Pp]el)?(?P<det>[Oo]s?|[Aa]s?|[Àà]s?)\s+(?P<words>[A-Za-zÀ-ú][\w-]{3,}(?:\s+(?:(?:d[eoa]s?|em|n[oa]s?|para)\s+"
    r"(?:(?:o|a|os|as)\s+)?)?[A-Za-zÀ-ú][\w-]{2,}){0,4})"
)
_NOT_HEADS = frozenset(
    "disposto presente mesmo mesma mesmos mesmas caso forma partir qual quais seguinte seguintes respectivo "
    "respectiva referido referida previsto prevista termos âmbito hipótese hipóteses data fins efeitos prazo "
    "outro outra outros outras demais resolução lei portaria decreto instrução deliberação".split()
)
# Words that end a noun phrase: adverbs and connectives ("a jornada de estágio não excederá")
_PHRASE_BREAKS = frozenset(
    "não nunca após antes depois quando como mais menos também já ainda só somente apenas sempre entre sobre até "
    "conforme segundo exceto salvo inclusive mediante durante desde cada todo toda todos todas qualquer que cujo "
    "cuja cujos cujas onde enquanto porém contudo pois porque bem assim nem se".split()
)


def _agrees(det: str, noun: str) -> bool:
    """A determiner that can go with the noun: not 'a requerimento', not 'o frequência'."""
    feminine = noun.endswith(("ção", "ções", "são", "sões", "dade", "dades", "ência", "ências"))
    masculine = noun.endswith(("o", "os")) and not feminine
    plural = noun.endswith(("ções", "sões", "dades", "ências", "os", "as", "es"))
    if (det in ("o", "a") and plural) or (det in ("os", "as") and not noun.endswith("s")):
        return False  # "a instituições": a preposition, not an article
    return not ((det in ("a", "as") and masculine) or (det in ("o", "os") and feminine))


def noun_phrases(text: str, limit: int = 3) -> list[str]:
    """The first `limit` distinct noun phrases of `text`, in order."""
    found: list[str] = []
    rest = tidy(text)
    while len(found) < limit and (phrase := noun_phrase(rest)):
        if phrase not in found:
            found.append(phrase)
        last = phrase.split()[-1]
        rest = rest[rest.index(last) + len(last) :] if last in rest else ""
    return found


def noun_phrase(text: str, max_words: int = 6) -> str:
    """The first noun phrase of `text` a question can ask about ('Integram o campus as áreas verdes' -> 'o
    campus'), cut before a verb and after no preposition; '' when there is none."""
    for m in _NOUN_PHRASE.finditer(tidy(text)):
        words = m.group("words").split()
        if words[0].lower() in _NOT_HEADS or is_infinitive(words[0]) or is_finite(words[0]):
            continue
        det = m.group("det").lower().replace("à", "a")
        if not _agrees(det, words[0].lower()):
            continue  # "ou a requerimento de": not a noun phrase
        kept = [words[0]]
        for word in words[1:]:
            if (
                word.lower() in _PHRASE_BREAKS
                or is_finite(word)
                or (is_infinitive(word) and not word[:1].isupper())
            ):
                break
            kept.append(word)
        while kept and kept[-1].lower() in FUNCTION_WORDS:
            kept.pop()
        kept = kept[:max_words]
        while kept and kept[-1].lower() in FUNCTION_WORDS:
            kept.pop()
        if kept:
            return f"{det} {' '.join(kept)}"
    return ""
