"""Judge models for RAGAs' LLM-judged metrics: an OpenAI-compatible endpoint or a local GGUF.

Configured by flags or the environment: ``RAG_JUDGE_URL`` (base URL, e.g. ``http://127.0.0.1:8080/v1``),
``RAG_JUDGE_MODEL``, ``RAG_JUDGE_API_KEY`` (optional), or ``RAG_JUDGE_GGUF`` (``packaged`` or a .gguf path)
for a local llama.cpp judge. With neither, no judge is configured and judged metrics are skipped.
Calls time out and are retried with backoff; replies are cut down to their JSON object (code fences,
lead-in prose and trailing text removed) before RAGAs parses them.
"""
from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Mapping, Protocol


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
    """``POST {url}/chat/completions`` with temperature 0; retries on timeouts, connection errors, 429 and 5xx."""

    def __init__(self, settings: JudgeSettings, sleep=time.sleep) -> None:
        if not settings.url:
            raise ValueError("OpenAICompatibleJudge needs a URL (RAG_JUDGE_URL or --judge-url)")
        self.settings = settings
        self.name = f"{settings.model or 'default'} @ {settings.url}"
        self._sleep = sleep
        self.calls = 0
        self.failures = 0

    def complete(self, prompt: str) -> str:
        body = {"messages": [{"role": "user", "content": prompt}], "temperature": 0, "max_tokens": self.settings.max_tokens}
        if self.settings.model:
            body["model"] = self.settings.model
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        url = self.settings.url.rstrip("/") + "/chat/completions"
        last: Exception | None = None
        for attempt in range(self.settings.retries + 1):
            self.calls += 1
            try:
                request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                    return json.loads(response.read())["choices"][0]["message"]["content"] or ""
            except urllib.error.HTTPError as exc:
                last = exc
                if exc.code not in (408, 429) and exc.code < 500:
                    break  # a client error will not go away on retry
            except (urllib.error.URLError, TimeoutError, OSError, KeyError, IndexError, ValueError) as exc:
                last = exc
            self.failures += 1
            if attempt < self.settings.retries:
                self._sleep(min(2.0 ** attempt, 10.0))
        raise JudgeError(f"judge {self.name} failed after {self.settings.retries + 1} attempts: {last}")


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


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def repair_json(text: str) -> str:
    """The JSON object or array in `text`: fenced block first, else the first balanced ``{...}``/``[...]``.

    Returns `text` unchanged when nothing parses, so the caller's parser reports the failure.
    """
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        for start, char in enumerate(candidate):
            if char not in "{[":
                continue
            end = _balanced_end(candidate, start)
            if end is not None:
                piece = candidate[start:end]
                try:
                    json.loads(piece)
                    return piece
                except json.JSONDecodeError:
                    try:  # a common slip: trailing commas
                        fixed = re.sub(r",\s*([}\]])", r"\1", piece)
                        json.loads(fixed)
                        return fixed
                    except json.JSONDecodeError:
                        continue
    return text


def _balanced_end(text: str, start: int) -> int | None:
    """Index after the bracket closing the one at `start` (strings respected), or None."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None
