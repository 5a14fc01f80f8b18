"""Generate a corpus of small born-digital acts (PDFs with a text layer) for the scaling benchmark.

    python -m bench.make_acts --acts 1000 --out .bench/acts-1000

Writes <out>/<institution>/<act>.pdf for two institutions (`ufvv`: resoluções of its councils and portarias;
`ifsl`: resoluções of its superior council and instruções normativas) and <out>/planted.json, which lists the
planted copies as [copy, original] paths relative to <out>:

- `exact`: an act's PDF copied byte for byte into the other institution's folder, under another name;
- `near`: an act re-rendered with a few words changed (`--near-words`), also in the other folder.

`--acts` counts the distinct acts; the copies (`--exact-share`, `--near-share` of them) come on top. Every act is
built from a seeded random draw of topic, organs, deadlines, definitions and duties, so two acts are not alike
and a rerun writes the same bytes (reportlab's invariant mode). One or two A4 pages each, DejaVu Serif
embedded (Helvetica where the font is not installed).
"""

from __future__ import annotations

import argparse
import io
import json
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN_L, MARGIN_R, BODY_TOP, BODY_BOTTOM = 71.0, 57.0, 110.0, 770.0
FONT_PT, LEADING = 11.0, 1.45

INSTITUTIONS = {
    "ufvv": ("UNIVERSIDADE FEDERAL DO VALE VERDE", (("RESOLUÇÃO", "CONSEPE"), ("PORTARIA", ""))),
    "ifsl": ("INSTITUTO FEDERAL DO SERTÃO LESTE", (("RESOLUÇÃO", "CONSUP"), ("INSTRUÇÃO NORMATIVA", ""))),
}
COUNCILS = {
    "CONSEPE": "O CONSELHO DE ENSINO, PESQUISA E EXTENSÃO",
    "CONSUP": "O CONSELHO SUPERIOR",
    "": "O REITOR",
}
MONTHS = "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split()
NUMBERS_PT = {
    2: "dois",
    3: "três",
    5: "cinco",
    7: "sete",
    10: "dez",
    15: "quinze",
    20: "vinte",
    30: "trinta",
    45: "quarenta e cinco",
    60: "sessenta",
    90: "noventa",
}
TOPICS = [
    ("o estágio supervisionado", "o estagiário", "o termo de compromisso"),
    ("a monitoria acadêmica", "o monitor", "o plano de monitoria"),
    ("as bolsas de permanência estudantil", "o bolsista", "o relatório de frequência"),
    ("o uso da biblioteca", "o usuário", "o cadastro do leitor"),
    ("a avaliação da aprendizagem", "o estudante", "o plano de ensino"),
    ("o trancamento de matrícula", "o requerente", "o requerimento de trancamento"),
    ("o aproveitamento de estudos", "o discente", "o histórico escolar"),
    ("a mobilidade acadêmica", "o estudante em mobilidade", "o plano de estudos"),
    ("o trabalho de conclusão de curso", "o orientando", "a monografia"),
    ("as atividades complementares", "o aluno", "o comprovante de participação"),
    ("a iniciação científica", "o pesquisador iniciante", "o projeto de pesquisa"),
    ("os programas de extensão", "o coordenador do programa", "o relatório final"),
    ("a concessão de diárias", "o servidor", "a prestação de contas"),
    ("o uso dos laboratórios", "o responsável técnico", "o registro de uso"),
    ("a revalidação de diplomas", "o interessado", "o processo de revalidação"),
    ("o regime de trabalho docente", "o docente", "o plano individual de trabalho"),
    ("a progressão funcional", "o servidor técnico", "a avaliação de desempenho"),
    ("o auxílio alimentação estudantil", "o beneficiário", "o cartão de acesso"),
    ("a moradia estudantil", "o morador", "o termo de ocupação"),
    ("o processo seletivo de transferência", "o candidato", "o edital de seleção"),
    ("a colação de grau", "o formando", "a ata de colação"),
    ("o calendário acadêmico", "o colegiado", "o cronograma de atividades"),
    ("a oferta de disciplinas optativas", "o departamento", "a lista de oferta"),
    ("o afastamento para capacitação", "o servidor afastado", "o relatório de capacitação"),
    ("a gestão de documentos", "o arquivista", "o plano de classificação"),
    ("o uso de veículos oficiais", "o condutor", "a requisição de transporte"),
    ("a segurança nos laboratórios", "o técnico de laboratório", "o mapa de riscos"),
    ("a acessibilidade pedagógica", "o núcleo de acessibilidade", "o plano de atendimento"),
    ("o programa de tutoria", "o tutor", "o registro de encontros"),
    ("as ligas acadêmicas", "o presidente da liga", "o estatuto da liga"),
]
CAMPI = (
    "Serra Azul, Rio Claro, Pedra Branca, Vale do Sol, Porto Novo, Campo Alegre, Lagoa Seca, Boa Vista, Barra Mansa, "
    "Monte Alto, Águas Belas, Santa Luzia, São Bento, Cruzeiro, Alto Alegre, Riacho Fundo, Palmares, Ouro Verde"
).split(", ")
ORGANS = [
    "à Pró-Reitoria de Graduação",
    "à Pró-Reitoria de Extensão",
    "à Coordenação do Curso",
    "ao Colegiado do Curso",
    "à Direção do Campus",
    "à Comissão Permanente de Avaliação",
    "ao Núcleo de Assuntos Estudantis",
    "à Diretoria de Registro Acadêmico",
    "à Pró-Reitoria de Gestão de Pessoas",
    "ao Conselho do Departamento",
]
DUTIES = [
    "apresentar {doc} devidamente assinado",
    "comunicar qualquer alteração de endereço ou de dados bancários",
    "cumprir a carga horária prevista no plano aprovado",
    "zelar pela conservação dos bens e equipamentos sob sua guarda",
    "comparecer às reuniões de acompanhamento convocadas",
    "manter atualizado {doc} no sistema acadêmico",
    "devolver os materiais emprestados ao fim do período letivo",
    "observar as normas de segurança e de convivência",
    "entregar {doc} à coordenação responsável",
    "informar a desistência por escrito",
    "participar das atividades de formação oferecidas",
    "prestar informações verdadeiras no requerimento",
]
POWERS = [
    "aprovar {doc} e suas alterações",
    "designar os membros da comissão de acompanhamento",
    "publicar o resultado da seleção no sítio institucional",
    "decidir sobre os recursos interpostos",
    "fiscalizar o cumprimento desta norma",
    "emitir os certificados de participação",
    "homologar os pedidos deferidos pela coordenação",
    "elaborar o relatório anual de atividades",
    "definir o número de vagas de cada período",
    "arquivar {doc} pelo prazo legal",
]
TERMS = [
    ("carga horária", "o total de horas de atividade previsto para o período"),
    ("orientador", "o docente responsável pelo acompanhamento das atividades"),
    ("período letivo", "o intervalo de tempo fixado no calendário acadêmico para as aulas"),
    ("frequência mínima", "a presença exigida em pelo menos setenta e cinco por cento das atividades"),
    ("unidade acadêmica", "o instituto, a faculdade ou o campus a que o curso está vinculado"),
    ("parte concedente", "a pessoa jurídica que oferece a vaga ou o espaço de atividade"),
    ("plano de trabalho", "o documento que descreve as atividades, os prazos e as metas"),
    ("supervisor", "o profissional que acompanha o estudante no local das atividades"),
    ("vulnerabilidade socioeconômica", "a renda familiar per capita de até um salário mínimo e meio"),
    ("comissão de seleção", "o grupo de servidores designado para avaliar as candidaturas"),
    ("crédito", "a unidade de contagem das atividades acadêmicas equivalente a quinze horas"),
    ("regime especial", "o atendimento domiciliar concedido por motivo de saúde comprovado"),
]
PENALTIES = [
    "advertência escrita",
    "suspensão do benefício por até trinta dias",
    "cancelamento do vínculo com o programa",
    "devolução dos valores recebidos indevidamente",
    "impedimento de participar de novas seleções por um ano",
]
CHANGES = {  # a near-duplicate's changed words: a republished act with corrections
    "deverá": "poderá",
    "mínima": "máxima",
    "escrita": "formal",
    "anual": "semestral",
    "institucional": "oficial",
    "assinado": "rubricado",
    "pedidos": "requerimentos",
    "membros": "integrantes",
}


@dataclass(frozen=True)
class Act:
    path: str  # relative to the corpus folder: <institution>/<stem>.pdf
    institution: str  # the letterhead
    text: str
    copy_of: str = ""  # a planted copy: the original's path


def proper_name(letterhead: str) -> str:
    """ "UNIVERSIDADE FEDERAL DO VALE VERDE" -> "Universidade Federal do Vale Verde"."""
    return " ".join(w.lower() if w in ("DO", "DA", "DE") else w.capitalize() for w in letterhead.split())


def _days(rng: random.Random) -> str:
    n = rng.choice(sorted(NUMBERS_PT))
    return f"{n} ({NUMBERS_PT[n]}) dias"


def _fill(template: str, doc: str) -> str:
    return template.replace("{doc}", doc)


def act_text(rng: random.Random, kind: str, council: str, number: int, year: int, institution: str) -> str:
    """The text of one act: heading, ementa, enacting clause, 7 to 9 articles with incisos and paragraphs."""
    topic, actor, doc = rng.choice(TOPICS)
    campus = rng.choice(CAMPI)
    day, month = rng.randint(1, 28), rng.choice(MONTHS)
    issuer = f" {council}" if council else ""
    name = {"RESOLUÇÃO": "Resolução", "PORTARIA": "Portaria", "INSTRUÇÃO NORMATIVA": "Instrução Normativa"}[
        kind
    ]
    organs = rng.sample(ORGANS, 4)
    process = f"{rng.randint(10000, 99999)}.{rng.randint(100000, 999999)}/{year}-{rng.randint(10, 99)}"
    of = "da" if "UNIVERSIDADE" in institution else "do"
    lines = [
        f"{kind}{issuer} Nº {number}, DE {day} DE {month.upper()} DE {year}",
        "",
        f"Dispõe sobre {topic} no Campus {campus} e dá outras providências.",
        "",
        f"{COUNCILS[council]} {of} {proper_name(institution)}, no uso de suas atribuições, tendo em vista o que "
        f"consta do Processo nº {process},",
        "",
        "RESOLVE:",
        "",
    ]
    articles: list[list[str]] = [
        [f"Esta {name} estabelece as normas sobre {topic} no âmbito do Campus {campus}."],
    ]
    terms = rng.sample(TERMS, rng.randint(2, 4))
    articles.append(
        [f"Para os efeitos desta {name}, considera-se:"]
        + [
            f"{roman} - {term}: {meaning}{';' if k < len(terms) - 1 else '.'}"
            for k, (roman, (term, meaning)) in enumerate(zip(("I", "II", "III", "IV"), terms, strict=False))
        ]
    )
    duties = rng.sample(DUTIES, rng.randint(3, 5))
    articles.append(
        [f"São deveres d{actor[0]} {actor[2:]}:"]
        + [
            f"{roman} - {_fill(duty, doc)}{';' if k < len(duties) - 1 else '.'}"
            for k, (roman, duty) in enumerate(zip(("I", "II", "III", "IV", "V"), duties, strict=False))
        ]
    )
    powers = rng.sample(POWERS, rng.randint(2, 4))
    articles.append(
        [f"Compete {organs[0]}:"]
        + [
            f"{roman} - {_fill(power, doc)}{';' if k < len(powers) - 1 else '.'}"
            for k, (roman, power) in enumerate(zip(("I", "II", "III", "IV"), powers, strict=False))
        ]
    )
    articles.append(
        [
            f"{actor[0].upper()}{actor[1:]} deverá apresentar {doc} {organs[1]} no prazo de {_days(rng)}, "
            f"contados do início das atividades.",
            f"§ 1º O pedido de prorrogação do prazo será dirigido {organs[2]}, com antecedência mínima de "
            f"{_days(rng)}.",
            f"§ 2º A análise d{doc} será concluída em até {_days(rng)}.",
        ]
    )
    if rng.random() < 0.6:
        penalties = rng.sample(PENALTIES, 2)
        articles.append(
            [
                f"O descumprimento do disposto desta {name} sujeita {actor} às penalidades de {penalties[0]} "
                f"ou de {penalties[1]}, conforme a gravidade da falta.",
                f"Parágrafo único. Da decisão caberá recurso {organs[3]} no prazo de {_days(rng)}.",
            ]
        )
    if rng.random() < 0.5:
        articles.append(
            [
                f"A carga horária máxima das atividades será de {rng.choice((8, 12, 16, 20))} horas semanais, "
                f"distribuídas conforme o plano aprovado."
            ]
        )
    by = "pela" + organs[0][1:] if organs[0].startswith("à") else "pelo" + organs[0][2:]
    articles.append([f"Os casos omissos serão resolvidos {by}."])
    articles.append([f"Esta {name} entra em vigor na data de sua publicação."])
    for n, body in enumerate(articles, 1):
        label = f"Art. {n}º" if n < 10 else f"Art. {n}."
        lines.append(f"{label} {body[0]}")
        lines += body[1:]
        lines.append("")
    signer = (
        rng.choice(("Maria", "João", "Ana", "Carlos", "Helena", "Paulo"))
        + " "
        + rng.choice(("da Silva", "Souza", "Oliveira", "Pereira", "Lima", "Costa"))
    )
    lines += [signer.upper(), "Presidente" if council else "Reitor"]
    return "\n".join(lines) + "\n"


def plan_corpus(
    acts: int, seed: int, exact_share: float, near_share: float, near_words: int, flat: bool = False
) -> list[Act]:
    """The acts, then the planted copies (see the module docstring); deterministic for a seed. `flat`: one folder,
    the institution a prefix of the name (ufvv__portaria-004-2015.pdf) instead of a sub-folder."""
    rng = random.Random(seed)
    sep = "__" if flat else "/"
    numbers: dict[tuple[str, str, int], int] = {}
    out: list[Act] = []
    codes = sorted(INSTITUTIONS)
    for k in range(acts):
        code = codes[k % 2]
        letterhead, series = INSTITUTIONS[code]
        kind, council = series[rng.randrange(2)]
        year = rng.randint(2010, 2024)
        number = numbers[(code, kind, year)] = numbers.get((code, kind, year), 0) + 1
        text = act_text(rng, kind, council, number, year, letterhead)
        stem = "-".join(w.lower() for w in (kind.split()[0], council, f"{number:03d}", str(year)) if w)
        stem = stem.replace("resolução", "resolucao").replace("instrução", "instrucao")
        out.append(Act(f"{code}{sep}{stem}.pdf", letterhead, text))
    picks = rng.sample(range(acts), round((exact_share + near_share) * acts))
    for m, k in enumerate(picks):
        original = out[k]
        code, stem = original.path.removesuffix(".pdf").split(sep)
        other = codes[1 - codes.index(code)]
        if m < round(exact_share * acts):
            out.append(
                Act(f"{other}{sep}{stem}-copia.pdf", original.institution, original.text, original.path)
            )
        else:
            text = changed(original.text, rng, near_words)
            out.append(Act(f"{other}{sep}{stem}-republicada.pdf", original.institution, text, original.path))
    return out


def changed(text: str, rng: random.Random, words: int) -> str:
    """`text` with `words` of its changeable words swapped (CHANGES), chosen at random among their occurrences."""
    tokens = text.split(" ")
    spots = [k for k, t in enumerate(tokens) if t in CHANGES]
    for k in rng.sample(spots, min(words, len(spots))):
        tokens[k] = CHANGES[tokens[k]]
    return " ".join(tokens)


def _wrap(paragraph: str, width: float, measure) -> list[str]:  # noqa: ANN001 (a reportlab width function)
    lines, current = [], ""
    for word in paragraph.split():
        trial = f"{current} {word}".strip()
        if current and measure(trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines


def render(act: Act) -> bytes:
    """A born-digital PDF of the act: letterhead and "Página N de M" on every page, text left-aligned."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    face = "Helvetica"
    if (FONT_DIR / "DejaVuSerif.ttf").exists():
        if "Serif" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("Serif", str(FONT_DIR / "DejaVuSerif.ttf")))
        face = "Serif"
    width = PAGE_W - MARGIN_L - MARGIN_R
    pages: list[list[tuple[float, str]]] = [[]]
    y = 0.0
    for paragraph in act.text.split("\n"):
        if not paragraph.strip():
            y += 0.8 * FONT_PT
            continue
        for line in _wrap(paragraph, width, lambda s: pdfmetrics.stringWidth(s, face, FONT_PT)):
            if y + LEADING * FONT_PT > BODY_BOTTOM - BODY_TOP:
                pages.append([])
                y = 0.0
            pages[-1].append((y, line))
            y += LEADING * FONT_PT
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=1)
    for number, page in enumerate(pages, 1):
        c.setFont(face, 9)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 60, act.institution)
        c.setFont(face, FONT_PT)
        for y, line in page:
            c.drawString(MARGIN_L, PAGE_H - BODY_TOP - y - FONT_PT, line)
        c.setFont(face, 9)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 808, f"Página {number} de {len(pages)}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _write(job: tuple[Path, Act]) -> None:
    out, act = job
    (out / act.path).write_bytes(render(act))


def write_corpus(
    out: Path,
    acts: int,
    seed: int = 1,
    exact_share: float = 0.02,
    near_share: float = 0.02,
    near_words: int = 3,
    flat: bool = False,
    workers: int = 2,
) -> dict[str, list[list[str]]]:
    """Write the corpus and planted.json into `out` (emptied of PDFs first); the planted copies."""
    planned = plan_corpus(acts, seed, exact_share, near_share, near_words, flat)
    for old in out.rglob("*.pdf") if out.is_dir() else ():
        old.unlink()
    for code in INSTITUTIONS:
        (out / ("" if flat else code)).mkdir(parents=True, exist_ok=True)
    exact = [
        a for a in planned if a.copy_of and a.text == next(o.text for o in planned if o.path == a.copy_of)
    ]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write, [(out, a) for a in planned if a not in exact], chunksize=16))
    for a in exact:
        (out / a.path).write_bytes((out / a.copy_of).read_bytes())
    planted = {
        "exact": [[a.path, a.copy_of] for a in exact],
        "near": [[a.path, a.copy_of] for a in planned if a.copy_of and a not in exact],
    }
    (out / "planted.json").write_text(json.dumps(planted, indent=1) + "\n", encoding="utf-8")
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--acts", type=int, default=1000, help="distinct acts (the planted copies come on top)"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exact-share", type=float, default=0.02, help="acts copied byte for byte")
    parser.add_argument("--near-share", type=float, default=0.02, help="acts copied with a few words changed")
    parser.add_argument("--near-words", type=int, default=3, help="words changed in a near copy")
    parser.add_argument("--flat", action="store_true", help="one folder, names prefixed by the institution")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    planted = write_corpus(
        args.out,
        args.acts,
        args.seed,
        args.exact_share,
        args.near_share,
        args.near_words,
        args.flat,
        args.workers,
    )
    print(
        f"{args.acts} acts + {len(planted['exact'])} exact and {len(planted['near'])} near copies in {args.out}"
    )


if __name__ == "__main__":
    main()
