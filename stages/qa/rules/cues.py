"""The vocabulary the rules read a sentence with: decisions, agents, durations, limits, documents."""

from __future__ import annotations

import re

# ------------------------------------------------------------------------------------------------- sentences

_DECISION = (
    r"aprovad|homologad|decidid|resolvid|deferid|designad|indicad|nomead|julgad|apreciad|autorizad|definid|fixad"
    r"|coordenad|exercid|presidid|analisad|avaliad|elaborad|baixad|instituíd|convocad|escolhid|eleit|concedid"
    r"|emitid|expedid|assinad|registrad|regulamentad|disciplinad|supervisionad|orientad|dirimid|estabelecid"
    r"|organizad|fiscalizad|conferid|outorgad|ratificad|referendad|credenciad|dirigid|administrad|gerid|mantid"
    r"|promovid|encaminhad|submetid|substituíd|representad|atribuíd|realizad|ministrad|aplicad"
)
AGENT = re.compile(
    rf"^(?:(?:previamente|anualmente|formalmente|obrigatoriamente|exclusivamente|ainda)\s+)?"
    rf"(?P<part>(?:{_DECISION})[oa]s?)\s*,?\s+(?:(?:previamente|exclusivamente)\s+)?(?:pel[oa]s?|por)\s+(?P<agent>[^,;.]{{3,90}})"
)
# An agent is someone: a capitalised name ("pelo Conselho Universitário") or a role ("pelos colegiados");
# "pela razão entre os recursos" is not.
_ROLES = re.compile(
    r"^(?:(?:o|a|os|as|seu|sua|seus|suas|respectiv[oa]s?|própri[oa]s?)\s+)*(?:[A-ZÀ-Ý]|(?:colegiado|professor|"
    r"coordenador|coordenação|diretor|diretoria|reitor|reitoria|chefe|chefia|presidente|presidência|comissão|"
    r"conselho|câmara|departamento|secretári|ministr|instituiç|universidade|unidade|órgão|docente|tutor|alun|"
    r"estudante|discente|servidor|banca|plenário|assembleia|relator|pares|membros|maioria|comitê|núcleo|"
    r"pró-reitor|autoridade|ministério|entidade|poder|gestor|orientador|supervisor|bibliotec|usuário|interessad|"
    r"requerente|candidat))"
)
DURATION = re.compile(
    r"(?P<n>\d+(?:[.,]\d+)?)\s*(?:\([^)]{2,40}\)\s*)?(?P<unit>dias?|horas?|meses|mês|anos?|semanas?|semestres?)"
    r"(?P<qual>\s+(?:úteis|corridos|letivos|consecutivos))?\b",
    re.IGNORECASE,
)
DEADLINE_CUE = re.compile(
    r"\b(?:prazo|até|dentro d[eo]|antecedência|após|antes|depois|a contar|contados?|no máximo|em até|decorridos?)\b",
    re.IGNORECASE,
)
DEADLINE_PHRASE = re.compile(
    r"\s*(?:,|\bcom\s+\d|\bno prazo\b|\bem até\b|\baté\b|\bdentro d[eo]\b|\bcom antecedência\b|\bno máximo\b|\bapós\b|\bem \d"
    r"|\bdurante\b|\bpor\s+\d|\bpor um período|\bpor prazo\b|\bpelo prazo\b|\bpelo período\b|\bno período\b"
    r"|\bantes\b|\bdepois\b|\ba partir\b)"
)
HOW_MANY = {"dia": "Quantos dias", "hora": "Quantas horas", "mês": "Quantos meses", "mese": "Quantos meses",
             "ano": "Quantos anos", "semana": "Quantas semanas", "semestre": "Quantos semestres"}  # fmt: skip
LIMIT = re.compile(
    r"\b(?P<noun>(?:carga horária|duração|frequência|freqüência|limite|número|quantidade|valor|média|nota|idade|"
    r"tempo|percentual|jornada|intervalo|prazo)(?:\s+(?!mínim|máxim)[a-zà-ú]+){0,3}?)\s+(?P<mm>mínim[oa]s?|máxim[oa]s?)\b",
    re.IGNORECASE,
)
COUNT = re.compile(
    r"\b(?:no máximo|no mínimo|até|mais de|menos de)\s+(?P<n>\d+)\s*(?:\([^)]{2,40}\)\s*)?(?P<noun>[a-zà-ú]{3,}(?:\s+[a-zà-ú]{4,})?)",
    re.IGNORECASE,
)
PERCENT = re.compile(r"\d+(?:,\d+)?\s*%|por cento", re.IGNORECASE)
MONEY = re.compile(r"R\$\s*[\d.,]+")
DOCUMENTS = re.compile(
    r"\b(?:mediante\s+(?:a\s+)?(?:apresentação|entrega)\s+d[eoa]s?|instruíd[oa]s?\s+com|acompanhad[oa]s?\s+d[eoa]s?"
    r"|anexando|anexar)\s+(?:(?:o|a|os|as|um|uma|seu|sua|respectiv[oa]s?)\s+)*(?:d[eoa]s?\s+)?"
    r"(?:documento|comprovante|cópia|declaração|certidão|atestado|requerimento|formulário|projeto|plano|relatório"
    r"|histórico|diploma|identidade|carteira|termo|parecer|laudo|curriculum|currículo)",
    re.IGNORECASE,
)
_GENERIC_SUBJECTS = re.compile(
    r"^(?:[oa]s? )?(?:disposto|presente|mesm[oa]|referid[oa]|previst[oa]|caput|este|esta|esse|essa)\b"
)
_VAGUE_HEADS = frozenset(
    "normas disposições casos regras dispositivos medidas atividades modificações alterações mesmos mesmas".split()
)
VIGOR = re.compile(
    r"^(?:Esta|Este|O presente|A presente|À presente)\s+[\w-]+(?:\s+[\w-]+)?\s+entra(?:rá)?\s+em\s+vigor",
    re.I,
)
DEFINES = re.compile(
    r"(?:considera-se|consideram-se|define-se|definem-se|entende-se por|entendem-se por)\s*:$", re.I
)
# "estágio obrigatório: aquele definido ..." / Portugal's "«Estudante», a pessoa inscrita ..."
DEFINITION_ITEM = re.compile(r"^(?:«([^»]{2,60})»,?|([^:;]{2,60}):)\s*.{5,}")


def is_agent(agent: str) -> bool:
    return bool(_ROLES.match(agent.strip()))


def is_specific(subject: str) -> bool:
    """A subject a question can be about: not 'o disposto', not a bare 'as normas'."""
    words = subject.split()
    if _GENERIC_SUBJECTS.match(subject) or len(words) < 2 or re.search(r"\d", subject):
        return False
    return not (len(words) <= 2 and words[-1] in _VAGUE_HEADS)
