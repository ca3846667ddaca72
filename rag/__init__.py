"""Local, offline question answering over your documents: `from rag import RAG`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.api import RAG

__all__ = ["RAG"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import rag.core.config` stays light (no faiss/bm25s/model code until RAG is used).
    if name == "RAG":
        from rag.api import RAG

        return RAG
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
