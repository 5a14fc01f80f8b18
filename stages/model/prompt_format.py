"""The prompt format, in one place: what training, evaluation, `ask`, the dataset's chat records and an
exported GGUF's chat template all agree on.

A tokenizer with a chat template gets system/user turns through it; one without (a base model such as
gemma-3-270m or Llama 2) gets the fixed Portuguese template below, and generation stops at EOS (learned at
the end of every training answer) or, for a model that never learned it, at the template's next `###`.
"""

from __future__ import annotations

from typing import Any

from stages.records.chunks import Chunk

# The one sentence a model answers when the rules do not say (training targets of unanswerable questions,
# evaluate's abstention rate, `ask`); stages/scoring/refusal.py also reads other phrasings of it as refusals.
REFUSAL = "As normas disponíveis não tratam dessa questão."
SYSTEM_PROMPT = (
    "Você é um assistente que responde a perguntas sobre legislação brasileira "
    "de forma breve e fiel ao texto da norma. Diga de qual norma vem a resposta. "
    f"Se as normas não disserem, responda apenas: {REFUSAL}"
)
# Used when the tokenizer has no chat template (e.g. a base, non-instruct Llama 2).
FALLBACK_TEMPLATE = "### Instrução:\n{system}\n\n### Pergunta:\n{question}\n\n### Resposta:\n"
# Where a model that did not learn to stop starts a new section of the fallback template.
STOP_STRINGS = ("###",)
# FALLBACK_TEMPLATE as a Jinja chat template (written into exported GGUF files, so LM Studio and llama.cpp
# format a chat exactly as the model was trained; the assistant turn ends with EOS).
FALLBACK_CHAT_TEMPLATE = (
    "{{ bos_token }}{% set system = namespace(text='" + SYSTEM_PROMPT + "') %}"
    "{% for m in messages %}{% if m['role'] == 'system' %}{% set system.text = m['content'] %}{% endif %}{% endfor %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}{{ '### Instrução:\\n' + system.text + '\\n\\n### Pergunta:\\n' + m['content'] "
    "+ '\\n\\n### Resposta:\\n' }}"
    "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token + '\\n\\n' }}{% endif %}"
    "{% endfor %}"
)
# The open-book prompt: the retrieved passage, then the question (same template as above).
CONTEXT_TEMPLATE = "Trecho da norma:\n{context}\n\nCom base no trecho acima: {question}"


def passage_text(chunk: Chunk) -> str:
    """A chunk as a model reads it (open-book prompt, passage training): its act's title, then its text."""
    title = chunk.title.strip()
    if not title or chunk.text.lstrip().startswith(title[:60]):
        return chunk.text
    return f"{title}\n\n{chunk.text}"


def with_context(question: str, context: str) -> str:
    return CONTEXT_TEMPLATE.format(context=context.strip(), question=question.strip())


def retrieval_prompt(question: str, chunk: Chunk) -> str:
    """The question with a retrieved chunk before it: evaluate's open_book and adapter_retrieval, `ask --retrieve`."""
    return with_context(question, passage_text(chunk))


def chat_messages(question: str, answer: str | None = None) -> list[dict[str, str]]:
    """The pair as system/user(/assistant) turns: the `messages` format of LLaMA-Factory, axolotl and TRL."""
    turns = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
    if answer is not None:
        turns.append({"role": "assistant", "content": answer})
    return turns


def prompt_text(tokenizer: Any, question: str) -> str:
    """The text before the answer: chat template with a generation prompt, else the fixed template."""
    if getattr(tokenizer, "chat_template", None):
        messages = chat_messages(question)
        try:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception as e:  # noqa: BLE001 - jinja raises its own types (e.g. "system role not supported")
            if "system" not in str(e).lower():
                raise
            messages = [{"role": "user", "content": f"{SYSTEM_PROMPT}\n\n{question}"}]
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    text = FALLBACK_TEMPLATE.format(system=SYSTEM_PROMPT, question=question.strip())
    bos = tokenizer.bos_token or ""
    return bos + text


def cut_at_stop(text: str) -> str:
    """The answer up to a stop string (a base model running on into the template's next section)."""
    for stop in STOP_STRINGS:
        text = text.split(stop, 1)[0]
    return text.strip()
