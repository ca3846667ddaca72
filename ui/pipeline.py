"""One question through `RAG.stream` with the sidebar's settings and the conversation so far."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from rag.answering.answerer import Answer, AnswerEvent
from rag.api import RAG
from rag.conversation.history import Turn


@dataclass(frozen=True)
class AskSettings:
    """What the sidebar controls."""

    mode: str = "extractive"
    """``llm`` or ``extractive``."""
    top_k: int = 10
    rerank: bool = True


def answer_events(
    rag: RAG, question: str, settings: AskSettings, earlier: Sequence[Answer] = ()
) -> Iterator[AnswerEvent]:
    """`Reading`, `Progress`, `Token` and `Retelling` events (LLM mode), then the final `Answer`, whose timings include every stage.
    `earlier` answers (the chat so far, oldest first) make `question` a possible follow-up (see `rag.conversation`)."""
    history = [Turn.from_answer(answer) for answer in earlier]
    return rag.stream(question, mode=settings.mode, k=settings.top_k, rerank=settings.rerank, history=history)
