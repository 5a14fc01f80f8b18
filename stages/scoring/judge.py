"""Optional LLM judge for `evaluate` (evaluate.judge: true): the OpenAI-compatible server synth uses (LM Studio)
grades each answer against the reference and the source chunk as correct / partial / wrong.

The server and model are evaluate.judge_base_url / evaluate.judge_model; timeouts, retries and concurrency are
synth's client settings (a read-only view of [synth], none of which changes a grade); requests go through synth's
client (stages/qa/client.py: pooled session, retries with backoff, response_format dropped if
refused). Grades are cached in data/cache/judge/grades.jsonl keyed by prompt + model, so a rerun (or a killed
run) asks only for what it has not graded. A grade that cannot be read is counted as `ungraded`, never guessed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stages.core.files import append_jsonl, read_jsonl, stable_hash
from stages.qa.client import ChatClient, ClientSettings, RequestFailed, ServerUnavailable, resolve_model
from stages.records.paths import JUDGE_CACHE_FILE

log = logging.getLogger(__name__)

GRADES = {"correta": 1.0, "parcial": 0.5, "errada": 0.0}  # the score judge_score averages
ENGLISH = ("correct", "partial", "wrong")
PROMPT = """Você avalia respostas a perguntas sobre normas de uma instituição.
Compare a RESPOSTA com a REFERÊNCIA, usando o TRECHO da norma para decidir.
- correta: diz o mesmo que a referência (prazos, valores, percentuais, condições e artigos iguais);
- parcial: acerta parte do que a referência diz e não contradiz o trecho;
- errada: contradiz a referência ou o trecho, fala de outra coisa ou não responde.
Responda apenas com JSON: {{"nota": "correta" | "parcial" | "errada", "motivo": "<uma frase>"}}

TRECHO:
\"\"\"
{chunk}
\"\"\"

PERGUNTA: {question}
REFERÊNCIA: {reference}
RESPOSTA: {answer}"""
SCHEMA = {
    "name": "nota",
    "schema": {
        "type": "object",
        "properties": {"nota": {"type": "string", "enum": list(GRADES)}, "motivo": {"type": "string"}},
        "required": ["nota"],
    },
}
_GRADE_RE = re.compile(r"\b(correta|parcial|errada)\b", re.IGNORECASE)


def parse_grade(reply: str) -> str | None:
    """'correta' / 'parcial' / 'errada' from a JSON reply (or, failing that, the first grade word); else None."""
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        grade = json.loads(text).get("nota")
        if isinstance(grade, str) and grade.strip().lower() in GRADES:
            return grade.strip().lower()
    except (ValueError, AttributeError):
        pass
    found = _GRADE_RE.search(reply)
    return found.group(1).lower() if found else None


class Judge:
    """Grades answers through one ChatClient, concurrently, with a persistent cache."""

    def __init__(
        self, server: ClientSettings, base_url: str, model: str = "", cache_file: Path = JUDGE_CACHE_FILE
    ) -> None:
        self.client = ChatClient.from_settings(base_url, server)
        self.concurrency = server.concurrency
        try:  # the same choice as synth's: synth.model if the server has it, else the loaded model
            self.model = resolve_model(self.client, model, who="evaluate.judge", param="evaluate.judge_model")
        except ServerUnavailable as e:
            raise ServerUnavailable(f"{e} (or set evaluate.judge: false)") from None
        self.cache_file = cache_file
        self.cache: dict[str, dict[str, Any]] = {}
        if cache_file.exists():
            self.cache = {r["key"]: r for r in read_jsonl(cache_file)}
        self._lock = threading.Lock()

    def _grade_one(self, prompt: str) -> str | None:
        key = stable_hash(prompt, self.model)
        if key in self.cache:
            return self.cache[key]["grade"]
        payload = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": 200,
        }
        try:
            reply = self.client.complete(payload, SCHEMA).content
        except RequestFailed as e:
            log.warning("judge request failed for good (%s): %s", e.kind, e)
            return None  # not cached: a rerun asks again
        grade = parse_grade(reply)
        record = {"key": key, "grade": grade, "reply": reply[:500]}
        with self._lock:
            self.cache[key] = record
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.cache_file, "a", encoding="utf-8") as f:
                append_jsonl(f, record)
        return grade

    def grade(self, items: list[dict[str, str]]) -> list[str | None]:
        """One grade (or None) per item {question, reference, chunk, answer}, in order."""
        from tqdm import tqdm

        prompts = [PROMPT.format(**item) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(
                tqdm(pool.map(self._grade_one, prompts), total=len(prompts), desc="judge", mininterval=5)
            )

    def close(self) -> None:
        self.client.close()


def judge_summary(grades: list[str | None]) -> dict[str, float]:
    """Shares of correct / partial / wrong among graded answers, the mean score (1 / 0.5 / 0) and how many
    could not be graded."""
    graded = [g for g in grades if g is not None]
    n = max(1, len(graded))
    out = {f"judge_{name}": sum(x == g for x in graded) / n for g, name in zip(GRADES, ENGLISH, strict=True)}
    out["judge_ungraded"] = len(grades) - len(graded)
    return out
