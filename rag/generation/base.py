"""What every text generator offers the answer stage (`Generator`), and what a served chat model adds
(`ChatGenerator`). Implementations: `rag.generation.llama_cpp` (in-process GGUF) and
`rag.generation.openai_compatible` (a model on an OpenAI-compatible server)."""
from __future__ import annotations

from typing import Any, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from rag.core.errors import RagError

PACKAGED = "packaged"
DEFAULT_N_CTX = 2048


class PromptTooLongError(RagError):
    """A prompt does not fit the model's context window (with room for the answer)."""


@runtime_checkable
class Generator(Protocol):
    """A causal language model that continues a prompt, token by token."""

    spec: str

    def warm_up(self) -> None: ...

    @property
    def context_size(self) -> int: ...

    @property
    def chat_template(self) -> str | None:
        """The model's Jinja chat template; None for base models (use a plain completion prompt)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]: ...

    def complete(self, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> str: ...


@runtime_checkable
class ChatGenerator(Generator, Protocol):
    """A generator whose server applies the model's chat template: answers are asked for as messages."""

    chat_api: bool

    def stream_chat(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int = 256, stop: Sequence[str] = ()
    ) -> Iterator[str]: ...


@runtime_checkable
class ScriptKeepingGenerator(Generator, Protocol):
    """A generator that can keep what it writes to one language's script (an in-process model masks the tokens of
    the other script): small models often answer Chinese passages in Chinese although the question is English."""

    def stream_in(
        self, language: str, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        """`stream`, writing only `language`'s script (``en``: no CJK characters or full-width punctuation); any other
        language streams unconstrained."""
        ...


def serves_chat(generator: Any) -> bool:
    """Whether `generator` takes chat messages (`ChatGenerator.stream_chat`) rather than a rendered prompt."""
    return bool(getattr(generator, "chat_api", False)) and callable(getattr(generator, "stream_chat", None))
