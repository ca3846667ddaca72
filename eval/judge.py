"""Judge models for RAGAs' LLM-judged metrics: an OpenAI-compatible endpoint or a local GGUF.

Configured by flags or the environment: ``RAG_JUDGE_URL`` (base URL, e.g. ``http://127.0.0.1:8080/v1``),
``RAG_JUDGE_MODEL``, ``RAG_JUDGE_API_KEY`` (optional), or ``RAG_JUDGE_GGUF`` (``packaged`` or a .gguf path)
for a local llama.cpp judge. With neither, no judge is configured and judged metrics are skipped.
Calls go through the `openai` client (timeouts, retries with backoff on connection errors, 408, 429 and
5xx); replies are cut down to their JSON (code fences, lead-in prose and trailing text removed, slips
such as trailing commas repaired by `json_repair`) before RAGAs parses them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Protocol

import json_repair


class Judge(Protocol):
    name: str

    def complete(self, prompt: str) -> str: ...


@dataclass(frozen=True)
class JudgeSettings:
    url: str | None = None
    model: str | None = None
    api_key: str | None = None
    gguf: str | None = None
    timeout_s: float = 60.0
    retries: int = 2
    max_tokens: int = 512

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **flags: object) -> "JudgeSettings":
        """Flags win over ``RAG_JUDGE_*`` variables; None flags are ignored."""
        values = {
            "url": env.get("RAG_JUDGE_URL"), "model": env.get("RAG_JUDGE_MODEL"),
            "api_key": env.get("RAG_JUDGE_API_KEY"), "gguf": env.get("RAG_JUDGE_GGUF"),
        }
        if env.get("RAG_JUDGE_TIMEOUT"):
            values["timeout_s"] = float(env["RAG_JUDGE_TIMEOUT"])
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def configured(self) -> bool:
        return bool(self.url or self.gguf)


class JudgeError(RuntimeError):
    """The judge did not answer after all retries."""


class OpenAICompatibleJudge:
    """``{url}/chat/completions`` with temperature 0, through the `openai` client (it retries timeouts,
    connection errors, 408, 429 and 5xx with backoff, `settings.retries` times)."""

    def __init__(self, settings: JudgeSettings) -> None:
        if not settings.url:
            raise ValueError("OpenAICompatibleJudge needs a URL (RAG_JUDGE_URL or --judge-url)")
        import openai

        self.settings = settings
        self.name = f"{settings.model or 'default'} @ {settings.url}"
        self._client = openai.OpenAI(
            base_url=settings.url.rstrip("/"), api_key=settings.api_key or "no-key",
            timeout=settings.timeout_s, max_retries=settings.retries,
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

    def __init__(self, settings: JudgeSettings) -> None:
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


def make_judge(settings: JudgeSettings) -> Judge | None:
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
