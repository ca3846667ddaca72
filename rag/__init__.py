"""Local, offline question answering over your documents: `from rag import RAG` (and `Conversation` for follow-ups)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.api import RAG
    from rag.conversation.history import Turn
    from rag.conversation.session import Conversation

__all__ = ["RAG", "Conversation", "Turn"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import rag.core.config` stays light (no faiss/bm25s/model code until RAG is used).
    if name == "RAG":
        from rag.api import RAG

        return RAG
    if name == "Conversation":
        from rag.conversation.session import Conversation

        return Conversation
    if name == "Turn":
        from rag.conversation.history import Turn

        return Turn
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
