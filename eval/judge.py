"""Judge models for RAGAs' LLM-judged metrics: an OpenAI-compatible endpoint or a local GGUF.

Configured by the ``[judge]`` settings (`rag.core.config.JudgeConfig`: ``RAG_JUDGE_URL``, ``RAG_JUDGE_MODEL``,
``RAG_JUDGE_API_KEY``, or ``RAG_JUDGE_GGUF`` = ``packaged`` or a .gguf path for a local llama.cpp judge; or
``rag eval --judge-url/--judge-model/--judge-gguf``). With neither a URL nor a GGUF, judged metrics are skipped.
Calls go through the `openai` client (timeouts, retries with backoff on connection errors, 408, 429 and
5xx); replies are cut down to their JSON (code fences, lead-in prose and trailing text removed, slips
such as trailing commas repaired by `json_repair`) before RAGAs parses them.
"""
from __future__ import annotations

from typing import Protocol

import json_repair

from rag.core.config import JudgeConfig


class Judge(Protocol):
    name: str

    def complete(self, prompt: str) -> str: ...


class JudgeError(RuntimeError):
    """The judge did not answer after all retries."""


class OpenAICompatibleJudge:
    """``{url}/chat/completions`` with temperature 0, through the `openai` client (it retries timeouts,
    connection errors, 408, 429 and 5xx with backoff, `settings.retries` times)."""

    def __init__(self, settings: JudgeConfig) -> None:
        if not settings.url:
            raise ValueError("OpenAICompatibleJudge needs a URL (judge.url: RAG_JUDGE_URL or --judge-url)")
        import openai

        self.settings = settings
        self.name = f"{settings.model or 'default'} @ {settings.url}"
        key = settings.api_key.get_secret_value() if settings.api_key else "no-key"
        self._client = openai.OpenAI(
            base_url=settings.url.rstrip("/"), api_key=key, timeout=settings.timeout, max_retries=settings.retries
        )

    def complete(self, prompt: str) -> str:
        import openai

        try:
            reply = self._client.chat.completions.create(
                model=self.settings.model or "default", messages=[{"role": "user", "content": prompt}],
                temperature=0, max_tokens=self.settings.max_tokens,
            )
        except openai.OpenAIError as exc:
            raise JudgeError(f"judge {self.name} failed after {self.settings.retries + 1} attempts: {exc}") from exc
        return (reply.choices[0].message.content or "") if reply.choices else ""


class LlamaCppJudge:
    """A local GGUF (a packaged model name, ``packaged`` = Qwen2.5-Coder-1.5B-Instruct, or a path) through llama.cpp."""

    def __init__(self, settings: JudgeConfig) -> None:
        from rag.generation.factory import make_generator

        self.settings = settings
        self.generator = make_generator(settings.gguf or "packaged", n_ctx=4096)
        self.name = f"llama.cpp:{settings.gguf}"

    def complete(self, prompt: str) -> str:
        self.generator.warm_up()
        template = self.generator.chat_template
        if template:  # instruction-tuned: let llama.cpp apply the model's chat template
            llm = self.generator.llama
            reply = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}],
                                               max_tokens=self.settings.max_tokens, temperature=0)
            return reply["choices"][0]["message"]["content"] or ""
        return self.generator.complete(prompt, max_tokens=self.settings.max_tokens)


def make_judge(settings: JudgeConfig) -> Judge | None:
    """The configured judge, or None when none is configured."""
    if settings.url:
        return OpenAICompatibleJudge(settings)
    if settings.gguf:
        return LlamaCppJudge(settings)
    return None


def repair_json(text: str) -> str:
    """The JSON in a judge's reply (a fenced block, or the object or array inside prose), repaired where a
    model slips (trailing commas, unquoted keys). Returns `text` unchanged when it holds no JSON, so the
    caller's parser reports the failure."""
    repaired = json_repair.repair_json(text, ensure_ascii=False)
    return repaired if isinstance(repaired, str) and repaired.strip() not in ("", '""') else text
