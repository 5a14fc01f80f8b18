"""The synth stage's params ([synth] in params.yaml), checked once; how to talk to the server is ClientSettings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.qa.client import ClientSettings


@dataclass(frozen=True)
class SynthParams(ClientSettings):
    backend: str = "rules"  # rules | lmstudio
    # LM Studio's default local server; a list of URLs spreads the chunks over several servers (stages/qa/pool.py)
    base_url: str | tuple[str, ...] = "http://localhost:1234/v1"
    model: str = ""  # "" = the model the server reports as loaded
    prompt: str = "prompts/qa_pt.txt"  # instruction prompt (prompt_style chat)
    completion_prompt: str = "prompts/qa_pt_completion.txt"  # text to continue (prompt_style completion)
    prompt_style: str = "chat"  # chat (instruct models) | completion (base models: no chat template)
    pairs_per_chunk: int = 2
    paraphrases: int = (
        3  # chat: other wordings asked per parsed question, in a second request per chunk; 0 = off
    )
    temperature: float = 0.2
    max_tokens: int = 768
    stop: tuple[str, ...] = ()  # extra stop strings (completion style adds its own and the model family's)
    max_failure_rate: float = 0.2
    min_grounding: float = 0.5

    @property
    def base_urls(self) -> tuple[str, ...]:
        """synth.base_url as a list: one URL or several."""
        return (self.base_url,) if isinstance(self.base_url, str) else tuple(self.base_url)

    def problems(self) -> list[str]:
        out = super().problems()
        if self.backend not in ("rules", "lmstudio"):
            out.append(f"synth.backend must be rules or lmstudio, got {self.backend!r}")
        if self.prompt_style not in ("chat", "completion"):
            out.append(f"synth.prompt_style must be chat or completion, got {self.prompt_style!r}")
        if self.backend == "lmstudio":
            if not self.base_urls:
                out.append("synth.base_url must name at least one server")
            for url in self.base_urls:
                if not re.match(r"https?://", url):
                    out.append(f"synth.base_url must start with http:// or https://, got {url!r}")
            if len({url.rstrip("/") for url in self.base_urls}) < len(self.base_urls):
                out.append(f"synth.base_url lists a server twice: {list(self.base_urls)}")
        for name in ("pairs_per_chunk", "max_tokens"):
            if getattr(self, name) < 1:
                out.append(f"synth.{name} must be >= 1, got {getattr(self, name)}")
        if self.paraphrases < 0:
            out.append(f"synth.paraphrases must be >= 0, got {self.paraphrases}")
        if not 0 <= self.temperature <= 2:
            out.append(f"synth.temperature must be in [0, 2], got {self.temperature}")
        for name in ("max_failure_rate", "min_grounding"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"synth.{name} must be in [0, 1], got {getattr(self, name)}")
        return out
