"""Helpers for the synth tests: chunk records from regulation texts, a work dir laid out like the repo."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from stages.core.files import write_jsonl
from stages.records.base import to_dict
from stages.records.chunks import Chunk

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SRC = REPO_ROOT / "data" / "sample" / "src"

# Used when the sample corpus is not there: two short acts in the same shape.
FALLBACK_DOCS = {
    "portaria_teste": """PORTARIA Nº 9, DE 3 DE MARÇO DE 2024

Art. 1º Esta Portaria regulamenta o uso dos laboratórios de informática da Universidade.

Art. 2º Para os fins desta Portaria, considera-se:
I – usuário: o estudante ou servidor cadastrado no sistema de laboratórios;
II – reserva: o agendamento prévio de uma estação de trabalho.

Art. 3º A reserva deverá ser feita com antecedência mínima de 2 (dois) dias úteis.

§ 1º Cada usuário poderá manter no máximo 3 (três) reservas ativas.

§ 2º O não comparecimento sem aviso gera multa de R$ 5,00 (cinco reais).

Art. 4º Esta Portaria entra em vigor na data de sua publicação.
""",
    "resolucao_teste": """RESOLUÇÃO Nº 4, DE 1º DE ABRIL DE 2024

Art. 1º Monitoria é a atividade de apoio ao ensino exercida por estudante de graduação selecionado.

Art. 2º São deveres do monitor:
I – auxiliar o professor nas aulas práticas;
II – atender os estudantes em horário fixo;
III – entregar relatório semestral.

Art. 3º A bolsa de monitoria corresponde a 50% (cinquenta por cento) do valor da bolsa de iniciação científica.
""",
}


def source_docs() -> dict[str, str]:
    files = sorted(SAMPLE_SRC.glob("*.txt")) if SAMPLE_SRC.is_dir() else []
    return {f.stem: f.read_text(encoding="utf-8") for f in files} or dict(FALLBACK_DOCS)


def chunk_by_articles(doc: str, text: str, articles_per_chunk: int = 2) -> list[dict[str, Any]]:
    """Chunk records like the chunk stage's: the preamble, then a few articles each."""
    parts = re.split(r"(?m)^(?=Art\.\s*\d)", text)
    groups = [parts[0]] + [
        "".join(parts[i : i + articles_per_chunk]) for i in range(1, len(parts), articles_per_chunk)
    ]
    chunks = []
    for index, group in enumerate(g for g in groups if g.strip()):
        labels = [f"Art. {n}º" for n in re.findall(r"(?m)^Art\.\s*(\d+)", group)]
        chunk = Chunk(
            id=f"{doc}-{index:04d}",
            doc=doc,
            index=index,
            text=group.strip(),
            n_tokens=len(group.split()),
            articles=labels,
            title=groups[0].strip().split("\n")[0],
            overlap_chars=0,
        )
        chunks.append(to_dict(chunk))
    return chunks


def sample_chunks(articles_per_chunk: int = 2) -> list[dict[str, Any]]:
    return [
        c for doc, text in source_docs().items() for c in chunk_by_articles(doc, text, articles_per_chunk)
    ]


def make_workdir(root: Path, chunks: list[dict[str, Any]], **synth: Any) -> Path:
    """A directory laid out like the repo (params.yaml, prompts/, data/chunks) for running the stage in."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["synth"].update(synth)
    (root / "prompts").mkdir(parents=True, exist_ok=True)
    for template in (REPO_ROOT / "prompts").glob("*.txt"):
        shutil.copy(template, root / "prompts" / template.name)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    write_jsonl(root / "data" / "chunks" / "chunks.jsonl", chunks)
    return root


def set_synth_params(root: Path, **synth: Any) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["synth"].update(synth)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
