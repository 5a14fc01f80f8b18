"""Is an answer a refusal? The canonical sentence (prompt_format.REFUSAL) and the other ways a Portuguese answer
says that the rules do not answer the question.

A refusal names its source ("as normas não tratam", "o trecho não menciona"), says nothing was found ("não
encontrei", "não foi possível encontrar"), or says there is no information ("não há informação", "não consta
nas normas", "não sei"). A bare "não há" or "não consta" is not one: "Não há limite de trancamentos" and "o nome
não consta da lista" answer the question. Text is case- and accent-folded first, so "NÃO HÁ INFORMAÇÃO" and
"nao ha informacao" read the same.
"""

from __future__ import annotations

import re

from stages.text.fold import fold

_SOURCE = (
    r"(?:normas?|regras?|legislacao|leis?|resolucao|resolucoes|portarias?|instrucao|instrucoes|regulamentos?|"
    r"regimentos?|estatutos?|documentos?|textos?|trechos?|normativos?|dispositivos?)"
)
_SAYS = (
    r"(?:tratam|trata|dispoem|dispoe|preveem|preve|mencionam|menciona|abordam|aborda|regulam|regula|falam|fala|"
    r"especificam|especifica|estabelecem|estabelece|informam|informa|respondem|responde|contem|definem|define|"
    r"dizem|diz|explicitam|explicita|esclarecem|esclarece|determinam|determina|indicam|indica)"
)
_INFO = (
    r"(?:informac|previsao|disposicao|disposicoes|mencao|referencia|regra|norma|dados|resposta|registro|"
    r"indicacao|especificacao)"
)
REFUSAL_PATTERNS = (
    # "As normas disponíveis não tratam dessa questão", "o trecho acima não menciona", "a norma nada diz"
    rf"\b{_SOURCE}(?:\s+\w+){{0,3}}?\s+(?:nao|nada)\s+(?:\w+\s+)?{_SAYS}\b",
    # "não encontrei", "não foi possível encontrar/identificar"
    r"\bnao\s+(?:encontrei|encontro|localizei|achei|identifiquei)\b",
    r"\bnao\s+(?:foi|e)\s+possivel\s+(?:encontrar|localizar|identificar|determinar|responder|afirmar|informar|saber)",
    # "não há informação", "não existe previsão", "não há nenhuma menção"
    rf"\bnao\s+(?:ha|existe|existem|temos|tenho)\s+(?:nenhuma?\s+|qualquer\s+|tal\s+|essa\s+|esta\s+)?{_INFO}",
    # "não consta nas normas", "essa informação não consta"
    rf"\bnao\s+consta(?:m)?\s+(?:\w+\s+){{0,2}}?(?:n|d)(?:as|os|a|o)\s+(?:\w+\s+)?{_SOURCE}\b",
    r"\b(?:informac\w*|resposta|questao|assunto)\s+nao\s+consta",
    # "não é tratado nas normas", "não está previsto no texto"
    rf"\bnao\s+(?:e|sao|esta|estao|foi|foram)\s+(?:tratad|previst|mencionad|abordad|regulad|especificad|definid|"
    rf"disciplinad)\w*\s+(?:n|pel)(?:as|os|a|o)\s+(?:\w+\s+)?{_SOURCE}\b",
    # "não sei", "não tenho como responder", "não posso responder"
    r"\bnao\s+(?:sei|tenho\s+como|posso\s+(?:responder|afirmar|informar))\b",
    r"\b(?:sem|nenhuma)\s+(?:informac\w*|previsao|mencao)\s+(?:sobre|a\s+respeito|n(?:as|os|a|o)\s)",
    r"\bfora\s+do\s+(?:escopo|alcance)\s+d",
)
_REFUSAL_RE = re.compile("|".join(f"(?:{p})" for p in REFUSAL_PATTERNS))


def is_refusal(answer: str) -> bool:
    """Does the answer say that the rules do not answer the question?"""
    return bool(_REFUSAL_RE.search(fold(answer)))
