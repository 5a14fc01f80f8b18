"""Facts read from one sentence: competence, rights and duties, prohibitions, conditions, numbers."""

from __future__ import annotations

import re

from stages.qa.rules.asking import Asker, Fact
from stages.qa.rules.cues import (
    AGENT,
    COUNT,
    DEADLINE_CUE,
    DEADLINE_PHRASE,
    DOCUMENTS,
    DURATION,
    HOW_MANY,
    LIMIT,
    MONEY,
    PERCENT,
    is_agent,
    is_specific,
)
from stages.qa.rules.pt_clause import (
    SUBJUNCTIVE,
    Clause,
    agree,
    compact,
    contract,
    first_clause,
    future_to_present,
    is_infinitive,
    lower_first,
    noun_phrase,
    parse_clause,
    participle_to_present,
    tidy,
)
from stages.text.fold import squash_ws


def sentence_facts(sentence: str, ask: Asker) -> list[Fact]:
    """Content facts of one sentence or inciso (its answer is the sentence itself)."""
    s = squash_ws(sentence).rstrip(";")
    if len(s) < 15:
        return []
    out: list[Fact] = []
    clause = parse_clause(s)
    out += _competence_facts(s, ask)
    if clause and not clause.verb.startswith("não"):
        out += _clause_facts(s, clause, ask)
    out += _right_and_duty_facts(s, clause, ask, bool(out))
    out += _prohibition_facts(s, clause, ask)
    out += _condition_facts(s, clause, ask)
    out += _definition_facts(s, ask)
    if (docs := DOCUMENTS.search(s)) and clause and is_specific(clause.subject):
        out += _document_facts(s, docs, clause, ask)
    out += _number_facts(s, clause, ask)
    return out


def _competence_facts(s: str, ask: Asker) -> list[Fact]:
    """'Cabe à Coordenação de Curso homologar ...', 'Caberá aos órgãos ... a fiscalização de ...'."""
    m = re.match(r"^(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?P<who>(?:ao|à|aos|às)\s+.+)$", s)
    if not m:
        return []
    words = m.group("who").split()
    for i, word in enumerate(words[2:], 2):
        if word[:1].islower() and is_infinitive(word) and words[i - 1] not in ("de", "da", "do", "e"):
            if vp := first_clause(" ".join(words[i:]), 14):
                return [ask.two(f"A quem compete {vp}", f"quem é responsável por {vp}", "competencia", s)]
            return []
    m = re.match(
        r"^(?:Compete|Competirá|Cabe|Caberá|Incumbe)\s+(?:ao|à|aos|às)\s+[^;]{3,120}?\s+(?P<what>(?:o|a|os|as)\s+[a-zà-ú]{4,}.*)$",
        s,
    )
    if m and (what := first_clause(m.group("what"), 12)) and not is_infinitive(what.split()[1]):
        return [ask.two(f"A quem cabe {what}", f"quem é responsável por {what}", "competencia", s)]
    return []


def _clause_facts(s: str, c: Clause, ask: Asker) -> list[Fact]:
    """Facts read off a subject-verb sentence: who approves, who is responsible, purpose, composition,
    definitions, permissions with a condition."""
    out: list[Fact] = []
    subj, present = c.subject, c.present
    be = "são" if c.plural else "é"
    if (
        present.split()[-1] in ("é", "são", "ser", "fica", "ficam")
        and (m := AGENT.match(c.rest))
        and is_agent(m.group("agent"))
    ):
        verb = participle_to_present(m.group("part"))
        out.append(ask.two(f"Quem {verb} {subj}", f"por quem {be} {m.group('part')} {subj}", "aprovacao", s))
    if present in ("é", "são", "fica", "ficam") and (
        m := re.match(r"^responsáve(?:l|is)\s+(?P<what>(?:pel[oa]s?|por)\s+.+)$", c.rest)
    ):
        if what := first_clause(m.group("what"), 12):
            of_what = re.sub(r"^pel([oa]s?) ", r"d\1 ", what).replace("por ", "de ", 1)
            out.append(
                ask.two(
                    f"Quem é responsável {what}",
                    f"a quem cabe a responsabilidade {of_what}",
                    "competencia",
                    s,
                )
            )
    if (
        present in ("tem", "têm") and re.match(r"^(?:por|como)\s+(?:objetivos?|finalidades?)\b", c.rest)
    ) or present in ("visa", "visam", "destina-se", "destinam-se"):
        out.append(
            ask.two(f"Qual é a finalidade {contract('de', subj)}", f"para que serve {subj}", "finalidade", s)
        )
    if present in ("é", "são") and re.match(
        r"^(?:compost|constituíd|integrad|formad)[oa]s?\s+(?:por|pel[oa]s?|de)\b", c.rest
    ):
        composed = agree("composto", c.feminine, c.plural)
        out.append(ask.two(f"Como {be} {composed} {subj}", f"quem compõe {subj}", "composicao", s))
    if (
        present in ("é", "são")
        and re.match(r"^(?:o|a|os|as|um|uma|aquele|aquela)\s", c.rest)
        and len(subj.split()) <= 6
        and not c.adjunct
    ):
        out.append(ask.two(f"O que {present} {subj}", f"como se define {subj}", "definicao", s))
    if (m := re.search(r",?\s+(?:desde que|somente se|apenas se|contanto que)\s+", c.rest)) and (
        rest := first_clause(c.rest[: m.start()], 12)
    ):
        main = f"{subj} {present} {rest}"
        out.append(ask.two(f"Em que condições {main}", f"sob qual condição {main}", "condicao", s))
    return out


def _right_and_duty_facts(s: str, c: Clause | None, ask: Asker, found: bool) -> list[Fact]:
    """'É dever dos pais efetuar ...', 'É assegurado aos estudantes o acesso ...', 'S terá direito a ...',
    and, when nothing else was found, 'S poderá ...' (permission) and 'S deverá ...' (obligation)."""
    m = re.match(
        r"^(?:É|Será|Constitui)\s+(?P<noun>dever|obrigação|direito|atribuição|competência|responsabilidade)\s+(?P<who>d[oa]s?\s+[^,;]{3,80}?)\s+(?P<vp>[a-zà-ú]+(?:-se)?\b.*)$",
        s,
    )
    if m and is_infinitive(m.group("vp").split()[0]) and (vp := first_clause(m.group("vp"), 12)):
        noun = m.group("noun")
        art = "o" if noun in ("dever", "direito") else "a"
        kind = "direito" if noun == "direito" else "competencia"
        return [
            ask.two(
                f"De quem é {art} {noun} de {vp}",
                f"quem {'tem direito a' if kind == 'direito' else 'deve'} {vp}",
                kind,
                s,
            )
        ]
    m = re.match(
        r"^(?:É|São|Será|Serão|Fica|Ficam)\s+(?:assegurad|garantid)[oa]s?\s+(?P<to>(?:a|ao|aos|à|às)\s+[^;]{3,80}?),?\s+(?P<what>(?:o|a|os|as)\s.+)$",
        s,
    )
    if m and (what := first_clause(m.group("what"), 12)):
        return [
            ask.two(f"O que é assegurado {m.group('to')}", f"o que se garante {m.group('to')}", "direito", s)
        ]
    if c is None or c.verb.startswith("não") or not is_specific(c.subject):
        return []
    if (
        c.present in ("tem", "têm")
        and re.match(r"^direito\s+(?:a|ao|aos|à|às|de)\b", c.rest)
        and (what := first_clause(c.rest, 12))
    ):
        return [
            ask.two(f"A que {c.subject} {c.present} direito", f"{c.subject} {c.present} {what}", "direito", s)
        ]
    if found:
        return []
    vp = compact(c.rest, 14)
    if not vp or not is_infinitive(vp.split()[0]):
        return []
    has = "têm" if c.plural else "tem"
    if c.present in ("pode", "podem"):
        return [
            ask.two(f"{c.subject} {c.present} {vp}", f"{c.subject} {has} permissão para {vp}", "permissao", s)
        ]
    if c.present in ("deve", "devem") and not vp.startswith(("ser ", "estar ")):
        obliged = agree("obrigado", c.feminine, c.plural)
        return [
            ask.two(
                f"{c.subject} {'são' if c.plural else 'é'} {obliged} a {vp}",
                f"{c.subject} {has} o dever de {vp}",
                "obrigacao",
                s,
            )
        ]
    return []


def _prohibition_facts(s: str, c: Clause | None, ask: Asker) -> list[Fact]:
    """'É vedado ...', 'S não poderá ...', 'Não será permitido ...'."""
    m = re.match(
        r"^(?:É|Fica|Ficam|São|Será|Serão)\s+(?:expressamente\s+)?(?:vedad[oa]s?|proibid[oa]s?)\s+(?P<what>.+)$",
        s,
        re.I,
    )
    if m and (what := compact(m.group("what"))):
        to = re.match(r"^(?P<to>(?:ao|à|aos|às)\s+[^,]{2,60}?)\s+(?P<vp>[a-zà-ú]+(?:-se)?\b.*)$", what)
        if to and is_infinitive(
            to.group("vp").split()[0]
        ):  # "ao professor divulgar" -> "o professor pode divulgar"
            who = re.sub(r"^à", "a", re.sub(r"^a(os?) ", r"\1 ", to.group("to")))
            second = f"{who} {'podem' if who.split()[0] in ('os', 'as', 'às') else 'pode'} {to.group('vp')}"
            second = re.sub(r"^às ", "as ", second)
        elif is_infinitive(what.split()[0]):
            second = f"pode-se {what}"
        else:
            second = f"há proibição de {what}"
        return [ask.two(f"É permitido {what}", second, "vedacao", s)]
    if (
        c
        and c.verb.startswith("não")
        and c.present.split()[1:2] in (["pode"], ["podem"])
        and is_specific(c.subject)
    ):
        modal, tail = c.present.split()[1], " ".join(c.present.split()[2:])
        if vp := compact(c.rest, 14):
            vp = f"{tail} {vp}".strip()
            return [
                ask.two(
                    f"{c.subject} {modal} {vp}",
                    f"é permitido que {c.subject} {SUBJUNCTIVE[modal]} {vp}",
                    "vedacao",
                    s,
                )
            ]
    m = re.match(
        r"^Não\s+(?:será|serão|é|são)\s+(?:permitid|admitid|aceit|concedid)[oa]s?\s+(?P<what>.+)$", s
    )
    if m and (what := compact(m.group("what"), 14)) and not what.endswith(" quando"):
        return [ask.two(f"É permitido {what}", f"pode haver {what}", "vedacao", s)]
    return []


def _condition_facts(s: str, c: Clause | None, ask: Asker) -> list[Fact]:
    """Exceptions (', salvo ...'), consequences ('Caso ...,', 'O não cumprimento ... acarretará ...')."""
    out: list[Fact] = []
    if (
        c
        and re.search(r",\s+(?:salvo|exceto|ressalvad[oa]s?|com exceção d[eoa]s?)\s+", s)
        and (rest := first_clause(c.rest, 12))
    ):
        main = f"{c.subject} {c.present} {rest}"
        out.append(
            ask.two(
                f"Há exceção à regra de que {main}",
                f"em que caso não se aplica a regra de que {main}",
                "excecao",
                s,
            )
        )
    if m := re.match(
        r"^(?P<cue>Caso|Se|Na hipótese de|Em caso de|No caso de|Havendo|Em não havendo)\s+(?P<cond>[^,]{8,140}),\s*.{10,}$",
        s,
    ):
        cond = f"{m.group('cue').lower()} {tidy(m.group('cond'))}"
        out.append(ask.two(f"O que acontece {cond}", f"{cond}, o que ocorre", "consequencia", s))
    elif m := re.match(
        r"^(?P<subj>O\s+(?:não\s+[a-zà-ú]+|descumprimento|atraso|abandono)[^,;]{0,80}?)\s+(?P<verb>acarretará|implicará|importará|sujeitará|resultará|ensejará|acarreta|implica|sujeita)\b",
        s,
    ):
        subj = lower_first(tidy(m.group("subj")))
        out.append(
            ask.two(
                f"Qual a consequência {contract('de', subj)}",
                f"o que {m.group('verb')} {subj}",
                "consequencia",
                s,
            )
        )
    return out


def _definition_facts(s: str, ask: Asker) -> list[Fact]:
    """'Considera-se trabalho voluntário as atividades ...', 'Entende-se por X, para os efeitos desta Lei, a ...'."""
    m = re.match(
        r"^(?:Considera-se|Consideram-se|Entende-se por|Entendem-se por|Entender-se-á por|Define-se|Definem-se)\s+"
        r"(?:como\s+)?(?P<term>[^,;:]{3,60}?)(?:,[^,]{3,60},)?\s+(?:o|a|os|as|aquele|aquela|aqueles|aquelas|um|uma)\s+.{10,}$",
        s,
    )
    if not m or len(m.group("term")) < 4:
        return []
    term = m.group("term")
    return [ask.two(f"O que se entende por {term}", f"como se define {term}", "definicao", s)]


def _document_facts(s: str, docs: re.Match[str], c: Clause, ask: Asker) -> list[Fact]:
    """'Alterações de senhas serão realizadas mediante apresentação de documento ...' -> 'O que é preciso
    apresentar para que alterações de senhas sejam realizadas?'."""
    if re.match(r"(?:instruíd|acompanhad)", docs.group()):  # "O requerimento será instruído com cópia ..."
        be, done = ("são" if c.plural else "é"), agree("instruído", c.feminine, c.plural)
        first = f"Que documentos devem acompanhar {c.subject}"
        return [ask.two(first, f"com que documentos {c.subject} {be} {done}", "documentos", s)]
    before = first_clause(tidy(s)[: docs.start()].split(c.verb, 1)[-1], 12) if c.verb in s else ""
    verbs = c.present.split()
    if not before or verbs[-1] not in SUBJUNCTIVE:
        return []
    main = " ".join([c.subject, *verbs[:-1], SUBJUNCTIVE[verbs[-1]], before])
    return [
        ask.two(
            f"O que é preciso apresentar para que {main}",
            f"que documento é exigido para que {main}",
            "documentos",
            s,
        )
    ]


def _number_facts(s: str, c: Clause | None, ask: Asker) -> list[Fact]:
    """Deadlines, limits, counts, percentages and values."""
    if (dur := DURATION.search(s)) and DEADLINE_CUE.search(s):
        return [_deadline_fact(s, dur, c, ask)]
    if lim := LIMIT.search(s):
        return [_limit_fact(s, lim, c, ask)]
    if cnt := COUNT.search(s):
        return [_count_fact(s, cnt, c, ask)]
    if PERCENT.search(s) or MONEY.search(s):
        what = "o percentual" if PERCENT.search(s) else "o valor"
        if c and is_specific(c.subject) and c.subject.split()[1] in ("valor", "percentual", "taxa", "índice"):
            return [ask.two(f"Qual é {c.subject}", f"quanto é {c.subject}", "quantidade", s)]
        about = c.subject if c and is_specific(c.subject) else about_of(s, ask.context)
        if about.split()[1:2] in (["valor"], ["percentual"], ["taxa"]):
            return [ask.two(f"Qual é {about} {ask.where_in()}", f"quanto é {about}", "quantidade", s)]
        if not about:
            cores = (
                f"Qual {what} fixado {ask.where_in()}",
                f"{ask.act.per}, qual {what} que {ask.where} prevê",
            )
            return [ask.fact("quantidade", cores, s)]
        return [
            ask.two(
                f"Qual {what} fixado para {about} {ask.where_in()}",
                f"qual {what} previsto para {about}",
                "quantidade",
                s,
            )
        ]
    return []


def _deadline_fact(s: str, dur: re.Match[str], c: Clause | None, ask: Asker) -> Fact:
    unit = dur.group("unit").lower().rstrip("s")
    how_many = HOW_MANY.get(unit, "")
    if how_many and dur.group("qual"):
        how_many += " " + dur.group("qual").strip()
    if c and is_specific(c.subject) and not c.verb.startswith("não"):
        subj, present = c.subject, c.present
        m = re.search(r"\bprazo\b[^,;]*?\bpara\s+(?P<vp>.+)$", s)
        if (
            m and present in ("tem", "têm") and (vp := first_clause(m.group("vp"), 12))
        ):  # "S terá o prazo de N para VP"
            second = (
                f"{how_many.lower()} {subj} {present} para {vp}"
                if how_many
                else f"em quanto tempo {subj} deve {vp}"
            )
            return ask.two(f"Qual o prazo para {subj} {vp}", second, "prazo", s)
        if vp := first_clause(DEADLINE_PHRASE.split(c.rest, maxsplit=1)[0], 10):
            last = present.split()[-1]
            if (last in ("é", "são") or present.endswith(" ser")) and re.match(
                r"[a-zà-ú]+(?:ad|id|íd|ost|eit|ert)[oa]s?\b", vp
            ):
                aux = "devem ser" if c.plural else "deve ser"
                be = "sejam" if c.plural else "seja"
                return ask.two(
                    f"Em que prazo {subj} {aux} {vp}", f"qual o prazo para que {subj} {be} {vp}", "prazo", s
                )
            if last in ("deve", "devem", "pode", "podem") and is_infinitive(vp.split()[0]):
                return ask.two(
                    f"Qual o prazo para {subj} {vp}", f"em quanto tempo {subj} {present} {vp}", "prazo", s
                )
    cores = [f"Qual o prazo previsto {ask.where_in()}", f"{ask.act.per}, que prazo {ask.where} estabelece"]
    if about := about_of(s, ask.context):
        cores += [
            f"que prazo {ask.act.the} fixa para {about}",
            f"qual o prazo relativo {contract('a', about)}",
        ]
    return ask.fact("prazo", tuple(cores), s)


def _limit_fact(s: str, lim: re.Match[str], c: Clause | None, ask: Asker) -> Fact:
    noun = squash_ws(lim.group("noun")).lower().replace("freqüência", "frequência")
    head = noun.split()[0]
    art = "a" if head.endswith(("a", "ade", "ção", "gem")) or head in ("nota", "média", "idade") else "o"
    mm = re.sub(r"[oa]s?$", art, lim.group("mm").lower())  # "a quantidade mínima", whatever the text's number
    if c and is_specific(c.subject) and noun not in c.subject:
        phrase = f"{art} {noun} {mm} {contract('de', c.subject)}"
        return ask.two(f"Qual é {phrase}", f"qual {phrase}", "quantidade", s)
    phrase = f"{art} {noun} {mm}"
    foreseen = "prevista" if art == "a" else "previsto"
    cores = [
        f"Qual é {phrase} {foreseen} {ask.where_in()}",
        f"{ask.act.per}, qual {phrase} que {ask.where} estabelece",
    ]
    if (about := about_of(s, ask.context)) and head not in about:
        cores += [
            f"qual é {phrase} {foreseen} para {about}",
            f"qual {phrase} se aplica {contract('a', about)}",
        ]
    return ask.fact("quantidade", tuple(cores), s)


def _count_fact(s: str, cnt: re.Match[str], c: Clause | None, ask: Asker) -> Fact:
    noun = cnt.group("noun").lower()
    if (
        c
        and c.present.split()[-1] in ("pode", "podem", "deve", "devem")
        and not c.verb.startswith("não")
        and is_specific(c.subject)
    ):
        before = tidy(s[: cnt.start()]).split(c.verb, 1)[-1].strip(" ,")
        if before and is_infinitive(before.split()[0]) and len(before.split()) <= 6:
            how = (
                "Quantas"
                if noun.split()[0].endswith(("a", "as", "ção", "ções", "dade", "dades", "gem", "gens"))
                else "Quantos"
            )
            return ask.two(
                f"{how} {noun} {c.subject} {c.present} {before}",
                f"qual o limite de {noun} que {c.subject} {c.present} {before}",
                "quantidade",
                s,
            )
    cores = [f"Qual o limite previsto {ask.where_in()}", f"{ask.act.per}, que limite {ask.where} estabelece"]
    if about := about_of(s, ask.context):
        cores += [f"qual o limite fixado para {about}", f"há limite para {about}"]
    return ask.fact("quantidade", tuple(cores), s)


def topic_of(sentence: str) -> str:
    """What a rule is about: its subject ('os diplomas de cursos ...') or the place it opens with ('Nos cursos
    de mestrado, ...' -> 'os cursos de mestrado'); '' when neither is specific."""
    clause = parse_clause(sentence)
    subject = clause.subject if clause else ""
    if not clause:
        m = re.match(r"^(?:No|Na|Nos|Nas)\s+(?P<np>[^,;:]{4,80}?),", tidy(sentence))
        if m and not re.search(
            r"\d|\b(?:caso|hipótese|prazo|termos|forma|âmbito|momento|ato|período)\b", m.group("np")
        ):
            article = {"no": "o", "na": "a", "nos": "os", "nas": "as"}[tidy(sentence).split()[0].lower()]
            subject = f"{article} {m.group('np')}"
    return subject if subject and is_specific(subject) else ""


_PARTICIPLE = re.compile(r"[a-zà-ú]{3,}(?:ad|id|íd)[oa]s?\b")  # "será oferecida em"
# Verbs a "what does S do" question does not fit (copulas, auxiliaries).
_NOT_ACTIONS = frozenset("é são tem têm há pode podem deve devem fica ficam está estão cabe compete".split())


def about_of(text: str, context: str | None = None) -> str:
    """What a provision is about, for questions that do not cite it: its subject, else its first noun phrase;
    an inciso's own head with what its list is about ('estudante de graduação, quanto aos limites de
    empréstimo')."""
    if context is not None and (m := re.match(r"^([^:;,()\d]{3,60}?)\s*[:,]", tidy(text))):
        head = lower_first(m.group(1).strip())
        if len(head.split()) <= 6 and not is_infinitive(head.split()[0]):
            return f"{head}, quanto {contract('a', context)}" if context else head
    return topic_of(text) or noun_phrase(text)


def topic_fact(sentence: str, ask: Asker) -> Fact | None:
    """'O que a Lei nº 9.394/1996 estabelece sobre os diplomas ...?' for a rule about a named subject; a subject
    the document has several rules about is asked with the provision ('O que o Art. 15 da Lei ... estabelece
    sobre os sistemas de ensino?') or with a second thing the rule names ('O que a Lei ... diz sobre os sistemas
    de ensino e a gestão democrática?'), so no two rules share a question."""
    if not (subject := topic_of(sentence)):
        return None
    s = squash_ws(sentence)
    if subject not in ask.repeated:
        cores = (f"O que {ask.act.the} estabelece sobre {subject}", f"qual é a regra para {subject}")
        return ask.fact("regra", cores, s)
    where = f"{ask.where} {ask.act.of}"
    cores = [
        f"O que {where} estabelece sobre {subject}",
        f"{ask.act.per}, o que {ask.where} diz sobre {subject}",
    ]
    clause = parse_clause(s)
    other = noun_phrase(clause.rest if clause else s)
    verb = clause.verb if clause else ""
    if (
        (present := future_to_present(verb))
        and present not in _NOT_ACTIONS
        and not clause.rest.startswith(("a ", "de ", "em ", "com ", "por ", "para "))
    ):
        infinitive = verb[:-2] if verb.endswith("ão") else verb[:-1]
        cores += [f"o que {subject} {present}, segundo {ask.act.the}", f"o que {subject} deve {infinitive}"]
    elif clause and clause.present in ("é", "são") and (m := _PARTICIPLE.match(clause.rest)):
        cores += [
            f"como {subject} {clause.present} {m.group()}",
            f"de que forma {subject} {clause.present} {m.group()}",
        ]
    elif other and other.lower() != subject.lower():
        cores += [
            f"o que {ask.act.the} diz sobre {subject} e {other}",
            f"qual é a regra {ask.act.of} para {subject} quanto {contract('a', other)}",
        ]
    return ask.fact("regra", tuple(cores), s)
