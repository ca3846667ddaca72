"""Where things live on disk: the per-user cache (default index, assembled models, evaluation caches), the
per-user knowledge base, and the bundled corpus. Per-user folders follow each platform's convention
(platformdirs: ``$XDG_CACHE_HOME/rag`` or ``~/.cache/rag`` on Linux, ``~/Library/Caches/rag`` on macOS,
``%LOCALAPPDATA%\\rag\\Cache`` on Windows)."""
from __future__ import annotations

import json
from pathlib import Path

from platformdirs import user_cache_path, user_data_path

from rag.core.errors import IndexNotFoundError

APP_NAME = "rag"
CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"


def cache_dir() -> Path:
    """The per-user cache folder (``~/.cache/rag`` on Linux): everything in it can be rebuilt."""
    return user_cache_path(APP_NAME, appauthor=False)


def default_index_dir() -> Path:
    """The bundled corpus's own index (``~/.cache/rag/default-index`` on Linux): what the evaluation measures, and
    the seed of a new knowledge base (its vectors are reused)."""
    return cache_dir() / "default-index"


def models_dir() -> Path:
    """Where packaged GGUFs are assembled (``~/.cache/rag/models`` on Linux)."""
    return cache_dir() / "models"


def default_data_dir() -> Path:
    """The knowledge base the chat UI and the HTTP server share (``~/.local/share/rag/collection`` on Linux):
    the documents people add, and their index."""
    return user_data_path(APP_NAME, appauthor=False) / "collection"


def knowledge_base_index(data_dir: str | Path | None = None) -> Path:
    """The index of the knowledge base in `data_dir` (default: `default_data_dir`): ``<data_dir>/index``."""
    return (Path(data_dir).expanduser() if data_dir else default_data_dir()) / "index"


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
