"""Facts read from an enumeration: its lead and items, answered as one list."""

from __future__ import annotations

import re
from collections.abc import Sequence

from stages.qa.rules.articles import Provision
from stages.qa.rules.asking import Asker, Fact
from stages.qa.rules.cues import _DEFINES, _DEFINITION_ITEM
from stages.qa.rules.pt_clause import (
    agree,
    contract,
    first_clause,
    future_to_present,
    is_infinitive,
    lower_first,
    parse_clause,
    squash,
    tidy,
)
from stages.qa.rules.sentences import topic_fact

MAX_ANSWER_CHARS = 600  # a list answer stops at the item that would pass this; sentences are kept whole


# ------------------------------------------------------------------------------------------------- lists


def _list_answer(lead: str, items: Sequence[tuple[str, str, str]]) -> str:
    """The lead and as many items (with their own numerals) as fit MAX_ANSWER_CHARS (at least one)."""
    out = squash(lead)
    for _, marker, text in items:
        part = f"{marker} {text}".strip()
        if out and len(out) + len(part) + 1 > MAX_ANSWER_CHARS:
            break
        out = f"{out} {part}".strip()
    return out


def list_facts(p: Provision, ask: Asker) -> list[Fact]:
    """A lead ending in ':' with its items: what the list answers (competences, conditions, requirements,
    composition, definitions, ...), and one fact per item where each item answers on its own."""
    lead = p.lead.rstrip()
    answer = _list_answer(lead, p.items)
    body = lead[:-1].strip()
    if _DEFINES.search(lead):  # "Para os fins desta Portaria, considera-se: I - usuário: o estudante ..."
        facts = []
        for _, _, item in p.items:
            if m := _DEFINITION_ITEM.match(item):
                term = (m.group(1) or m.group(2)).strip()
                facts.append(
                    ask.two(
                        f"O que se entende por {term}",
                        f"como se define {term}",
                        "definicao",
                        item.rstrip(";."),
                    )
                )
        return facts
    m = re.match(
        r"^(?:.*?,\s*)?(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?P<who>(?:ao|à|aos|às)\s+[^:;]{3,120}?)(?:,\s+(?:além|entre|dentre|sem|no|na|em|dentro)\b.*)?$",
        body,
    ) or re.match(
        r"^(?P<who>(?:Ao|À|Aos|Às)\s+[^:;]{3,120}?)\s*(?:,[^:]*)?\s+(?:compete|competirá|cabe|caberá|incumbe)\b.*$",
        body,
    )
    clause = parse_clause(body)
    if m or (clause and re.search(r"\b(?:competindo|cabendo|incumbindo)-lhes?\b", body)):
        who = lower_first(m.group("who")).rstrip(",") if m else contract("a", clause.subject)  # type: ignore[union-attr]
        of_who = contract(
            "de",
            re.sub(
                r"^(?:ao|à|aos|às) ",
                lambda x: {"ao ": "o ", "à ": "a ", "aos ": "os ", "às ": "as "}[x.group()],
                who,
            ),
        )
        facts = [ask.two(f"O que compete {who}", f"quais são as atribuições {of_who}", "competencia", answer)]
        for _, _, item in p.items:
            if (vp := first_clause(item, 14)) and is_infinitive(vp.split()[0]):
                facts.append(
                    ask.two(
                        f"A quem compete {vp}",
                        f"quem tem a atribuição de {vp}",
                        "competencia",
                        f"{lead} {item}",
                    )
                )
        return facts
    nouns = "atribuições|competências|deveres|direitos|obrigações|objetivos|finalidades|princípios|requisitos|órgãos|modalidades|instrumentos|diretrizes|critérios|formas"
    if m := re.match(rf"^São\s+(?P<noun>{nouns})(?P<of>\s+d[eoa]s?\s+[^:,]{{3,90}})?(?:,.*)?$", body, re.I):
        noun, of = m.group("noun").lower(), (m.group("of") or "").strip()
        art = "as" if noun.endswith(("ções", "ências", "dades", "etrizes", "formas")) else "os"
        kind = "competencia" if noun in ("atribuições", "competências", "deveres") else "enumeracao"
        for_whom = re.sub(r"^d([oa]s?) ", r"para \1 ", of) if of.startswith("d") else of
        listed = f"previst{art[0]}s {for_whom}".strip()
        return [ask.two(f"Quais são {art} {noun} {of}", f"que {noun} estão {listed}", kind, answer)]
    if m := re.match(
        r"^(?:São|É|Ficam|Fica)\s+(?:vedad|proibid)[oa]s?(?P<to>\s+(?:ao|à|aos|às)\s+[^:]{3,80})?(?:,.*)?$",
        body,
        re.I,
    ):
        to = (m.group("to") or "").strip()
        who = re.sub(r"^à", "a", re.sub(r"^a(os?) ", r"\1 ", to)) if to else ""
        second = f"o que {who} não pode fazer" if who else "o que não é permitido"
        return [ask.two(f"O que é vedado {to}".strip(), second, "vedacao", answer)]
    if m := re.match(
        r"^(?P<main>.+?)\s*,?\s*\b(?:quando|nos seguintes casos|nas seguintes hipóteses|nos casos|nas hipóteses|se)$",
        body,
    ):
        if main := _present_clause(m.group("main")):
            return [ask.two(f"Em que casos {main}", f"quando {main}", "condicao", answer)]
    if m := re.match(
        r"^(?:Somente|Só|Apenas)?\s*(?:poderá|poderão|podem|pode)\s+(?P<vp>.+?)\s+(?P<who>(?:o|a|os|as)\s+[^,]+?|[a-zà-ú]+)\s+que\b.*$",
        body,
        re.I,
    ):
        vp = tidy(m.group("vp"))
        return [ask.two(f"Quem pode {vp}", f"que requisitos são exigidos para {vp}", "requisito", answer)]
    if not clause:
        return []
    subj, present = clause.subject, clause.present
    if re.match(
        r"^(?:a seguinte composição|(?:compost|constituíd|integrad)[oa]s?\s+(?:por|pel[oa]s?|de))$",
        clause.rest,
    ):
        composed = agree("composto", clause.feminine, clause.plural)
        return [ask.two(f"Como é {composed} {subj}", f"quem compõe {subj}", "composicao", answer)]
    if m := re.match(
        r"^(?P<verb>.*?)\s*(?P<prep>\b(?:os|as|aos|às|nos|nas|dos|das|pelos|pelas|em|a)\b)?\s*seguintes\s+(?P<noun>[a-zà-ú]+)$",
        clause.rest,
    ):
        prep = {
            "aos": "A",
            "às": "A",
            "nos": "Em",
            "nas": "Em",
            "dos": "De",
            "das": "De",
            "pelos": "Por",
            "pelas": "Por",
        }.get(m.group("prep") or "", "")
        verb = f"{present} {m.group('verb')}".strip()
        return [
            ask.two(
                f"{prep} quais {m.group('noun')} {subj} {verb}".strip(),
                f"{prep.lower()} que {m.group('noun')} {subj} {verb}".strip(),
                "enumeracao",
                answer,
            )
        ]
    if present.split()[-1] in (
        "compreende",
        "compreendem",
        "abrange",
        "abrangem",
        "inclui",
        "incluem",
        "envolve",
        "envolvem",
        "constitui",
        "constituem",
    ):
        return [ask.two(f"O que {present} {subj}", f"o que {subj} {present}", "enumeracao", answer)]
    if present.split()[-1] in ("deve", "devem", "pode", "podem"):
        vp = first_clause(clause.rest, 6) or "fazer"
        if vp == "fazer" or is_infinitive(vp.split()[0]):
            return [
                ask.two(f"O que {subj} {present} {vp}", f"o que {present} {vp} {subj}", "enumeracao", answer)
            ]
    if not clause.rest and not clause.verb.startswith("não") and (verb := future_to_present(clause.verb)):
        # "Para a inscrição, o candidato apresentará:" -> "O que o candidato apresenta para a inscrição?"
        where = f" {clause.adjunct[:1].lower()}{clause.adjunct[1:]}" if clause.adjunct else ""
        kind = "documentos" if re.match(r"(?:apresent|entreg|anex|junt)", verb) else "enumeracao"
        return [ask.two(f"O que {subj} {verb}{where}", f"o que {verb} {subj}{where}", kind, answer)]
    topic = topic_fact(body, ask)
    return [Fact(topic.kind, topic.questions, answer)] if topic else []


def _present_clause(text: str) -> str:
    """'O aluno poderá trancar a matrícula, a pedido' -> 'o aluno pode trancar a matrícula';
    'Não será concedido trancamento' -> 'não é concedido trancamento'."""
    if clause := parse_clause(text):
        rest = first_clause(clause.rest, 12)
        return f"{clause.subject} {clause.present} {rest}" if rest else ""
    m = re.match(
        r"^(?P<neg>Não\s+)?(?P<verb>será|serão|poderá|poderão|deverá|deverão|é|são|terá|terão)\s+(?P<rest>.+)$",
        squash(text),
    )
    if not m or not (rest := first_clause(m.group("rest"), 10)):
        return ""
    return f"{'não ' if m.group('neg') else ''}{future_to_present(m.group('verb')) or m.group('verb')} {rest}"
