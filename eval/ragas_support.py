"""Lazy access to the optional ``ragas`` package, with an install hint when it is missing."""
from __future__ import annotations

import os
from typing import Any

INSTALL_HINT = "pip install 'rag-local[eval]' (ragas==0.4.3, langchain-community<0.4, rapidfuzz)"


class RagasUnavailable(RuntimeError):
    """ragas (or one of its dependencies) cannot be imported."""


def import_ragas() -> Any:
    """The ``ragas`` module, with telemetry off; `RagasUnavailable` says how to install it."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    try:
        import ragas
        import ragas.metrics  # noqa: F401  (fails when langchain-community is too new)
    except Exception as exc:  # ImportError, or an incompatible dependency failing at import time
        raise RagasUnavailable(f"ragas unavailable ({type(exc).__name__}: {exc}): {INSTALL_HINT}") from exc
    return ragas
