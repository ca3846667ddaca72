"""A generator behind an OpenAI-compatible HTTP API: vLLM, llama.cpp's server, or any such endpoint.

Spec: ``openai:<base-url>#<model>``, e.g. ``openai:http://127.0.0.1:8080/v1#qwen``. The API key comes from
``RAG_OPENAI_API_KEY``, else ``OPENAI_API_KEY``, else a placeholder (local servers started without a key
accept any). Requests go through the `openai` client, which sets the timeouts and retries (with backoff)
connection errors, 408/409/429 and 5xx answers.

The server applies the model's own chat template, so answers are asked for through the chat API with the
messages of :func:`rag.answering.prompts.chat_messages` (`stream_chat`); `stream` continues a plain text prompt
through the completions API, as the in-process generator does. The citation check and the extractive
fallback downstream are the same for both generators.

Token counts are estimated, not exact (the API has no tokenizer endpoint): one token per non-ASCII
character and one per three ASCII characters, more than BPE/SentencePiece tokenizers use on Chinese and
English prose, so prompts fitted to `n_ctx` with it fit the server's context. Set `n_ctx` to (at most) the
context the server runs with.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlparse

from rag.core.errors import ConfigError, ModelLoadError
from rag.generation.base import DEFAULT_N_CTX, PromptTooLongError

SCHEME = "openai:"
API_KEY_VARIABLES = ("RAG_OPENAI_API_KEY", "OPENAI_API_KEY")
NO_KEY = "no-key"
"""Sent when no key variable is set: local servers started without a key accept any."""


class GeneratorServerError(ModelLoadError):
    """The generation server could not be reached, or refused or failed a request."""


def parse_openai_spec(spec: str) -> tuple[str, str]:
    """``openai:<base-url>#<model>`` -> ``(base_url, model)``; ConfigError naming the spec when malformed."""
    if not spec.startswith(SCHEME):
        raise ConfigError(f"Generator '{spec}' is not an openai: spec; use openai:<base-url>#<model>.")
    base_url, _, model = spec[len(SCHEME):].partition("#")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or not model.strip():
        raise ConfigError(
            f"Generator '{spec}' should be openai:<base-url>#<model>, e.g. openai:http://127.0.0.1:8080/v1#qwen "
            "(the base URL ends where the API's /chat/completions path starts; the model is the name the server serves)."
        )
    return base_url.rstrip("/"), model.strip()


def api_key() -> str:
    """The key from the first set variable of :data:`API_KEY_VARIABLES`, else :data:`NO_KEY`."""
    return next((os.environ[name] for name in API_KEY_VARIABLES if os.environ.get(name)), NO_KEY)


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens `text` takes: 1 per non-ASCII character, 1 per 3 ASCII characters."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (len(text) - ascii_chars) + math.ceil(ascii_chars / 3)


class OpenAIGenerator:
    """A model served over an OpenAI-compatible API (see the module docstring).

    `timeout` (seconds) bounds each request's wait for the server (the connection and every read while
    streaming); `max_retries` is the `openai` client's retry count. Decoding is greedy (`temperature` 0)
    with a fixed `seed`; a `repeat_penalty` is sent as llama.cpp's ``repeat_penalty`` and vLLM's
    ``repetition_penalty`` (servers ignore the one they don't know); None leaves the server's default.
    """

    chat_api = True
    """Answers go through `stream_chat` (the server renders the chat template)."""

    def __init__(
        self,
        spec: str,
        n_ctx: int = DEFAULT_N_CTX,
        temperature: float = 0.0,
        repeat_penalty: float | None = None,
        seed: int = 0,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        self.spec = spec
        self.base_url, self.model = parse_openai_spec(spec)
        self.n_ctx = n_ctx
        self.temperature = temperature
        self.repeat_penalty = repeat_penalty
        self.seed = seed
        self.timeout = timeout
        self.max_retries = max_retries
        self._client: Any = None

    # -- the Generator interface ------------------------------------------------------------

    def warm_up(self) -> None:
        """Create the client and check that the server answers and serves the model (GET /models)."""
        if self._client is not None:
            return
        try:
            import openai
        except ImportError as exc:
            raise ModelLoadError("The openai: generator needs the openai package: pip install openai") from exc
        client = openai.OpenAI(base_url=self.base_url, api_key=api_key(), timeout=self.timeout, max_retries=self.max_retries)
        try:
            served = [model.id for model in client.models.list()]
        except openai.NotFoundError:
            served = []  # some servers have no /models; the first request will tell
        except openai.OpenAIError as exc:
            raise self._error(exc, "list the models") from exc
        if served and self.model not in served:
            raise GeneratorServerError(
                f"The server at {self.base_url} does not serve a model named '{self.model}'; it serves: "
                f"{', '.join(served)}. Use one of them after the # in the generator spec."
            )
        self._client = client

    @property
    def context_size(self) -> int:
        return self.n_ctx

    @property
    def chat_template(self) -> str | None:
        """None: the server applies the model's template itself (see `chat_api`)."""
        return None

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        """Continue a plain text prompt (the completions API), piece by piece."""
        yield from self._pieces("completions", dict(prompt=prompt), max_tokens, stop)

    def stream_chat(self, messages: Sequence[Mapping[str, str]], max_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        """The assistant's reply to `messages` (the chat API), piece by piece."""
        yield from self._pieces("chat", dict(messages=[dict(m) for m in messages]), max_tokens, stop)

    def complete(self, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> str:
        return "".join(self.stream(prompt, max_tokens=max_tokens, stop=stop))

    # -- requests ---------------------------------------------------------------------------

    def _pieces(self, api: str, payload: dict[str, Any], max_tokens: int, stop: Sequence[str]) -> Iterator[str]:
        import openai

        self.warm_up()
        settings: dict[str, Any] = dict(
            model=self.model, max_tokens=max_tokens, temperature=self.temperature, seed=self.seed, stream=True, **payload
        )
        if stop:
            settings["stop"] = list(stop)[:4]  # the API takes at most four
        if self.repeat_penalty is not None:
            settings["extra_body"] = {"repeat_penalty": self.repeat_penalty, "repetition_penalty": self.repeat_penalty}
        endpoint = self._client.chat.completions if api == "chat" else self._client.completions
        finished = None
        try:
            chunks = endpoint.create(**settings)
            with chunks:
                for chunk in chunks:
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finished = choice.finish_reason or finished
                    text = choice.delta.content if api == "chat" else choice.text
                    if text:
                        yield text
        except openai.OpenAIError as exc:
            raise self._error(exc, "generate") from exc
        if finished is None:
            # llama.cpp's Python server reports a failure that comes after the headers (such as a prompt
            # over its context) only in its log, ending the stream early.
            raise GeneratorServerError(
                f"The generation server at {self.base_url} (model '{self.model}') ended the answer without "
                "finishing it: it failed mid-request. Check the server's log; if the prompt was over the "
                f"server's context, set answer.n_ctx (now {self.n_ctx}) to the context the server runs with."
            )

    def _error(self, exc: Exception, doing: str) -> Exception:
        """A message naming the server and what to do, for an `openai` client error."""
        import openai

        where = f"the generation server at {self.base_url} (model '{self.model}')"
        if isinstance(exc, openai.APITimeoutError):
            return GeneratorServerError(
                f"Timed out after {self.timeout:g} s waiting for {where} to {doing}. Is it overloaded? "
                "Raise the timeout, or use a local generator (answer.generator = a packaged model)."
            )
        if isinstance(exc, openai.APIConnectionError):
            return GeneratorServerError(
                f"Could not reach {where} to {doing} ({exc.__cause__ or exc}). Start the server (e.g. "
                "python -m llama_cpp.server --model <file.gguf>), check the URL in the generator spec, "
                "or use a local generator (answer.generator = a packaged model)."
            )
        if isinstance(exc, openai.APIStatusError):
            detail = _detail(exc)
            if exc.status_code == 400 and "context" in detail.lower():
                return PromptTooLongError(
                    f"{where} refused the prompt as too long for its context: {detail}. Set answer.n_ctx to "
                    "(at most) the context the server runs with."
                )
            hint = {
                401: f"Set the API key in {API_KEY_VARIABLES[0]} (or {API_KEY_VARIABLES[1]}).",
                403: f"The key in {API_KEY_VARIABLES[0]} (or {API_KEY_VARIABLES[1]}) is not allowed to use this model.",
                404: "Check the base URL (it usually ends in /v1) and the model name after the #.",
                429: "The server is rate-limiting; retry later or lower the load.",
            }.get(exc.status_code, "Check the server's log." if exc.status_code >= 500 else "Check the generator spec and settings.")
            return GeneratorServerError(f"{where} answered HTTP {exc.status_code} when asked to {doing}: {detail}. {hint}")
        return GeneratorServerError(f"{where} failed to {doing}: {exc}")


def _detail(exc: Any) -> str:
    """The server's own error message, shortened."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body["error"] if isinstance(body.get("error"), dict) else body
        message = inner.get("message") or inner.get("detail")
        if message:
            return str(message)[:300]
    return str(getattr(exc, "message", "") or exc)[:300]
