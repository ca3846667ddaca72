"""The embedded default: the bundled corpus and where its index is kept."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from rag.core.errors import IndexNotFoundError

log = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"


def default_index_dir() -> Path:
    """``$XDG_CACHE_HOME/rag/default-index`` (``~/.cache/rag/default-index``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rag" / "default-index"


def default_corpus_files() -> list[Path]:
    """The documents the corpus manifest lists, in its order."""
    manifest = CORPUS_DIR / "manifest.json"
    if not manifest.is_file():
        raise IndexNotFoundError(
            f"The bundled corpus is not at {CORPUS_DIR} (install the project from its source tree with "
            "pip install -e .), or give --index DIR for an index of your own documents."
        )
    documents = json.loads(manifest.read_text(encoding="utf-8"))["documents"]
    return [CORPUS_DIR / entry["file"] for entry in documents]
