"""One question through `RAG.stream` with the sidebar's settings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from rag.answering.answerer import Answer, Token
from rag.api import RAG


@dataclass(frozen=True)
class AskSettings:
    """What the sidebar controls."""

    mode: str = "extractive"
    """``llm`` or ``extractive``."""
    top_k: int = 10
    rerank: bool = True


def answer_events(rag: RAG, question: str, settings: AskSettings) -> Iterator[Token | Answer]:
    """`Token` events (LLM mode), then the final `Answer`, whose timings include every stage."""
    return rag.stream(question, mode=settings.mode, k=settings.top_k, rerank=settings.rerank)
