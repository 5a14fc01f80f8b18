"""The synth stage's params ([synth] in params.yaml), checked once; also the LLM client's settings."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SynthParams:
    backend: str = "rules"  # rules | lmstudio
    base_url: str = "http://localhost:1234/v1"  # LM Studio's default local server
    model: str = ""  # "" = the model the server reports as loaded
    prompt: str = "prompts/qa_pt.txt"  # instruction prompt (prompt_style chat)
    completion_prompt: str = "prompts/qa_pt_completion.txt"  # text to continue (prompt_style completion)
    prompt_style: str = "chat"  # chat (instruct models) | completion (base models: no chat template)
    pairs_per_chunk: int = 2
    structured: bool = (
        True  # chat: send response_format=json_schema; dropped if the server rejects the schema
    )
    stream: bool = True  # stream replies: timeout_s then bounds the silence, budget_s the whole reply
    temperature: float = 0.2
    max_tokens: int = 768
    stop: tuple[str, ...] = ()  # extra stop strings (completion style adds its own and the model family's)
    concurrency: int = 4  # LM Studio's default number of parallel predictions
    max_retries: int = 4
    retry_backoff_s: float = 1.0  # first backoff cap; doubles per retry (full jitter)
    timeout_s: float = 120.0  # seconds without a byte from the server (waiting for the first token included)
    budget_s: float = 1800.0  # seconds one reply may take in all (768 tokens at ~0.5 tokens/s)
    max_failure_rate: float = 0.2
    min_grounding: float = 0.5

    def problems(self) -> list[str]:
        out = []
        if self.backend not in ("rules", "lmstudio"):
            out.append(f"synth.backend must be rules or lmstudio, got {self.backend!r}")
        if self.prompt_style not in ("chat", "completion"):
            out.append(f"synth.prompt_style must be chat or completion, got {self.prompt_style!r}")
        if self.backend == "lmstudio" and not re.match(r"https?://", self.base_url):
            out.append(f"synth.base_url must start with http:// or https://, got {self.base_url!r}")
        for name in ("pairs_per_chunk", "max_tokens", "concurrency"):
            if getattr(self, name) < 1:
                out.append(f"synth.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_retries < 0:
            out.append(f"synth.max_retries must be >= 0, got {self.max_retries}")
        if self.timeout_s <= 0 or self.budget_s <= 0 or self.retry_backoff_s < 0:
            out.append("synth.timeout_s and synth.budget_s must be > 0, synth.retry_backoff_s >= 0")
        if not 0 <= self.temperature <= 2:
            out.append(f"synth.temperature must be in [0, 2], got {self.temperature}")
        for name in ("max_failure_rate", "min_grounding"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"synth.{name} must be in [0, 1], got {getattr(self, name)}")
        return out
